package backup

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/thehomelab/homelab/secret"
)

// sshdPeer is Debian's real sshd, started for one test on 127.0.0.1.
type sshdPeer struct {
	addr         string
	hostKey      ssh.PublicKey
	hostKeyECDSA ssh.PublicKey
	dir          string
	// user logs in with key (the user running the tests).
	user string
	key  secret.Secret
	// pwUser logs in with pwPass (a throwaway account; only when the
	// tests run as root, which can create one).
	pwUser string
	pwPass secret.Secret
}

func newSSHKey(t testing.TB) (ssh.Signer, []byte) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	block, err := ssh.MarshalPrivateKey(priv, "")
	require.NoError(t, err)
	s, err := ssh.NewSignerFromKey(priv)
	require.NoError(t, err)
	return s, pem.EncodeToMemory(block)
}

func startSSHD(t *testing.T) *sshdPeer {
	t.Helper()
	bin := "/usr/sbin/sshd"
	if _, err := os.Stat(bin); err != nil {
		bin = requirePeerBinary(t, "sshd", "openssh-server")
	}
	// Not t.TempDir (0700): sshd reads authorized_keys as the user
	// logging in, who may be a throwaway account.
	dir, err := os.MkdirTemp("", "backup-sshd-")
	require.NoError(t, err)
	require.NoError(t, os.Chmod(dir, 0o755))
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	p := &sshdPeer{dir: dir}

	host, hostPEM := newSSHKey(t)
	p.hostKey = host.PublicKey()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "host_ed25519"), hostPEM, 0o600))
	// A second host key of another type, as every Debian sshd has.
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	ecBlock, err := ssh.MarshalPrivateKey(ecKey, "")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "host_ecdsa"), pem.EncodeToMemory(ecBlock), 0o600))
	ecPub, err := ssh.NewPublicKey(&ecKey.PublicKey)
	require.NoError(t, err)
	p.hostKeyECDSA = ecPub
	client, clientPEM := newSSHKey(t)
	p.key = secret.New(string(clientPEM))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "authorized_keys"), ssh.MarshalAuthorizedKey(client.PublicKey()), 0o644))

	me, err := user.Current()
	require.NoError(t, err)
	p.user = me.Username
	allow := []string{me.Username}
	if os.Geteuid() == 0 {
		if _, err := exec.LookPath("useradd"); err == nil {
			var b [4]byte
			_, _ = rand.Read(b[:])
			name := "hlbk" + hex.EncodeToString(b[:])
			pass := "pw-" + hex.EncodeToString(b[:]) + "'\"$x"
			require.NoError(t, accountCmd(nil, "useradd", "-M", "-d", "/", "-s", "/bin/sh", name))
			t.Cleanup(func() { _ = accountCmd(nil, "userdel", name) })
			require.NoError(t, accountCmd(strings.NewReader(name+":"+pass+"\n"), "chpasswd"))
			p.pwUser, p.pwPass = name, secret.New(pass)
			// The throwaway account logs in with the key too: its
			// /bin/sh starts fast, where root's shell may source a
			// slow .bashrc on every command.
			p.user = name
			allow = append(allow, name)
		}
		// sshd refuses to start without its privilege separation
		// directory, which the package's init script would create.
		require.NoError(t, os.MkdirAll("/run/sshd", 0o755))
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p.addr = l.Addr().String()
	_, port, _ := net.SplitHostPort(p.addr)
	require.NoError(t, l.Close())

	cfg := fmt.Sprintf(`Port %s
ListenAddress 127.0.0.1
HostKey %s
HostKey %s
PidFile %s
AuthorizedKeysFile %s
StrictModes no
PubkeyAuthentication yes
PasswordAuthentication yes
KbdInteractiveAuthentication no
UsePAM no
PermitRootLogin yes
AllowUsers %s
MaxStartups 50
LogLevel ERROR
`, port, filepath.Join(dir, "host_ed25519"), filepath.Join(dir, "host_ecdsa"), filepath.Join(dir, "sshd.pid"), filepath.Join(dir, "authorized_keys"), strings.Join(allow, " "))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "sshd_config"), []byte(cfg), 0o644))

	var stderr strings.Builder
	cmd := exec.Command(bin, "-D", "-e", "-f", filepath.Join(dir, "sshd_config"))
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})

	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(10 * time.Second)
	for {
		if c, err := net.DialTimeout("tcp", p.addr, time.Second); err == nil {
			_ = c.Close()
			return p
		}
		select {
		case <-exited:
			t.Fatalf("sshd exited: %s", stderr.String())
		case <-deadline:
			t.Fatalf("sshd did not listen on %s: %s", p.addr, stderr.String())
		case <-tick.C:
		}
	}
}

// accountMu serializes this package's edits of /etc/passwd; other
// packages' tests (omv's Samba users) may hold its lock too, so a busy lock
// is retried.
var accountMu sync.Mutex

func accountCmd(stdin io.Reader, argv ...string) error {
	accountMu.Lock()
	defer accountMu.Unlock()
	var in []byte
	if stdin != nil {
		in, _ = io.ReadAll(stdin)
	}
	var err error
	for range 20 {
		cmd := exec.Command(argv[0], argv[1:]...)
		if in != nil {
			cmd.Stdin = bytes.NewReader(in)
		}
		var out []byte
		if out, err = cmd.CombinedOutput(); err == nil {
			return nil
		}
		err = fmt.Errorf("%s: %v: %s", argv[0], err, out)
		if !bytes.Contains(out, []byte("lock")) {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
	return err
}

func (p *sshdPeer) knownHosts(t *testing.T, key ssh.PublicKey) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "known_hosts")
	line := knownhosts.Line([]string{knownhosts.Normalize(p.addr)}, key)
	require.NoError(t, os.WriteFile(f, []byte(line+"\n"), 0o644))
	return f
}

func (p *sshdPeer) config(t *testing.T) SSHConfig {
	return SSHConfig{User: p.user, PrivateKey: p.key, KnownHostsFile: p.knownHosts(t, p.hostKey)}
}

func TestSSHRunner(t *testing.T) {
	t.Parallel()
	p := startSSHD(t)
	ctx := t.Context()

	r, err := DialSSH(ctx, p.addr, p.config(t))
	require.NoError(t, err)
	t.Cleanup(func() { _ = r.Close() })

	// Words reach the remote command unchanged, whatever the shell
	// would make of them.
	words := []string{"two words", "it's", "$HOME", "`id`", "*", "a;b", "", `back\slash`}
	out, err := r.Run(ctx, append([]string{"printf", "%s|"}, words...)...)
	require.NoError(t, err)
	assert.Equal(t, strings.Join(words, "|")+"|", string(out))

	_, err = r.Run(ctx, "sh", "-c", "echo broken >&2; exit 4")
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, "exit 4", e.Code)
	assert.Equal(t, "broken", e.Message)

	// Sessions run side by side on the one connection.
	errs := make(chan error, 4)
	for range 4 {
		go func() { _, err := r.Run(ctx, "true"); errs <- err }()
	}
	for range 4 {
		assert.NoError(t, <-errs)
	}

	// A lost connection is dialled again on the next Run.
	r.mu.Lock()
	lost := r.client
	r.mu.Unlock()
	require.NoError(t, lost.Close())
	out, err = r.Run(ctx, "echo", "again")
	require.NoError(t, err)
	assert.Equal(t, "again\n", string(out))

	require.NoError(t, r.Close())
	require.NoError(t, r.Close(), "Close is idempotent")
	_, err = r.Run(ctx, "true")
	assert.ErrorIs(t, err, ErrClosed)
}

func TestSSHRunnerPinnedKey(t *testing.T) {
	t.Parallel()
	p := startSSHD(t)
	ctx := t.Context()
	fp := ssh.FingerprintSHA256(p.hostKey)

	r, err := DialSSH(ctx, p.addr, SSHConfig{User: p.user, PrivateKey: p.key, HostKeyFingerprint: fp})
	require.NoError(t, err)
	_ = r.Close()

	other, _ := newSSHKey(t)
	_, err = DialSSH(ctx, p.addr, SSHConfig{User: p.user, PrivateKey: p.key, HostKeyFingerprint: ssh.FingerprintSHA256(other.PublicKey())})
	require.ErrorIs(t, err, ErrHostKey)
	var hk *HostKeyError
	require.ErrorAs(t, err, &hk)
	// The error names a key the node showed (it has two).
	assert.Contains(t, []string{fp, ssh.FingerprintSHA256(p.hostKeyECDSA)}, hk.Got)
	assert.Equal(t, []string{ssh.FingerprintSHA256(other.PublicKey())}, hk.Want)
	assert.Contains(t, err.Error(), hk.Got)

	// A pin of the node's other key type works too.
	r, err = DialSSH(ctx, p.addr, SSHConfig{User: p.user, PrivateKey: p.key, HostKeyFingerprint: ssh.FingerprintSHA256(p.hostKeyECDSA)})
	require.NoError(t, err)
	_ = r.Close()

	_, err = DialSSH(ctx, p.addr, SSHConfig{User: p.user, PrivateKey: p.key, HostKeyFingerprint: "MD5:aa:bb"})
	assert.ErrorIs(t, err, ErrInvalid)
}

func TestSSHRunnerHostKeyChanged(t *testing.T) {
	t.Parallel()
	p := startSSHD(t)
	ctx := t.Context()
	old, _ := newSSHKey(t)

	cfg := p.config(t)
	cfg.KnownHostsFile = p.knownHosts(t, old.PublicKey())
	_, err := DialSSH(ctx, p.addr, cfg)
	require.ErrorIs(t, err, ErrHostKey)
	var hk *HostKeyError
	require.ErrorAs(t, err, &hk)
	assert.Equal(t, ssh.FingerprintSHA256(p.hostKey), hk.Got)
	assert.Equal(t, []string{ssh.FingerprintSHA256(old.PublicKey())}, hk.Want)
	assert.Contains(t, err.Error(), "changed")

	// known_hosts holding only the node's ECDSA key: the handshake asks
	// for that type, and does not mistake the Ed25519 key for a change.
	cfg.KnownHostsFile = p.knownHosts(t, p.hostKeyECDSA)
	r, err := DialSSH(ctx, p.addr, cfg)
	require.NoError(t, err)
	_ = r.Close()

	// A host missing from known_hosts is refused too, never trusted on
	// first use.
	f := filepath.Join(t.TempDir(), "known_hosts")
	require.NoError(t, os.WriteFile(f, []byte(knownhosts.Line([]string{"pve.example"}, old.PublicKey())+"\n"), 0o644))
	cfg.KnownHostsFile = f
	_, err = DialSSH(ctx, p.addr, cfg)
	require.ErrorIs(t, err, ErrHostKey)
	require.ErrorAs(t, err, &hk)
	assert.Empty(t, hk.Want)

	// No way to trust a key is a configuration error, not a silent
	// accept.
	_, err = DialSSH(ctx, p.addr, SSHConfig{User: p.user, PrivateKey: p.key})
	assert.ErrorIs(t, err, ErrInvalid)
}

func TestSSHRunnerPassword(t *testing.T) {
	t.Parallel()
	p := startSSHD(t)
	if p.pwUser == "" {
		t.Skip("password login needs a throwaway account, which only root can create")
	}
	ctx := t.Context()
	kh := p.knownHosts(t, p.hostKey)

	r, err := DialSSH(ctx, p.addr, SSHConfig{User: p.pwUser, Password: p.pwPass, KnownHostsFile: kh})
	require.NoError(t, err)
	out, err := r.Run(ctx, "id", "-un")
	require.NoError(t, err)
	assert.Equal(t, p.pwUser, strings.TrimSpace(string(out)))
	_ = r.Close()

	wrong := "wrong-" + p.pwPass.Reveal()
	_, err = DialSSH(ctx, p.addr, SSHConfig{User: p.pwUser, Password: secret.New(wrong), KnownHostsFile: kh})
	require.ErrorIs(t, err, ErrAuth)
	assert.NotContains(t, err.Error(), wrong)
	assert.NotContains(t, fmt.Sprintf("%+v %#v", err, err), wrong)
}

func TestSSHRunnerCancel(t *testing.T) {
	t.Parallel()
	p := startSSHD(t)
	r, err := DialSSH(t.Context(), p.addr, p.config(t))
	require.NoError(t, err)
	t.Cleanup(func() { _ = r.Close() })

	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = r.Run(ctx, "sleep", "31.25")
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 5*time.Second)
	// The remote command was killed, not left running.
	assert.Eventually(t, func() bool {
		return exec.Command("pgrep", "-f", "sleep 31[.]25").Run() != nil
	}, 5*time.Second, 50*time.Millisecond, "remote sleep still running")

	// The connection stays usable after a cancelled command.
	out, err := r.Run(t.Context(), "echo", "ok")
	require.NoError(t, err)
	assert.Equal(t, "ok\n", string(out))

	// Keepalives on an idle connection leave it usable.
	ka, err := DialSSH(t.Context(), p.addr, SSHConfig{User: p.user, PrivateKey: p.key, HostKeyFingerprint: ssh.FingerprintSHA256(p.hostKey), KeepAlive: 20 * time.Millisecond})
	require.NoError(t, err)
	defer ka.Close()
	idle := time.NewTimer(150 * time.Millisecond)
	<-idle.C
	_, err = ka.Run(t.Context(), "true")
	require.NoError(t, err)

	small, err := DialSSH(t.Context(), p.addr, SSHConfig{User: p.user, PrivateKey: p.key, HostKeyFingerprint: ssh.FingerprintSHA256(p.hostKey), MaxOutput: 100})
	require.NoError(t, err)
	defer small.Close()
	_, err = small.Run(t.Context(), "head", "-c", "1000", "/dev/zero")
	assert.ErrorContains(t, err, "too large")

	// A dial whose context ends is cut short too.
	dctx, dcancel := context.WithCancel(t.Context())
	dcancel()
	_, err = DialSSH(dctx, p.addr, p.config(t))
	assert.ErrorIs(t, err, context.Canceled)
}

func TestCopyVerifiedOverSSH(t *testing.T) {
	t.Parallel()
	p := startSSHD(t)
	r, err := DialSSH(t.Context(), p.addr, p.config(t))
	require.NoError(t, err)
	t.Cleanup(func() { _ = r.Close() })

	// Directories the login (maybe a throwaway account) can use.
	shared := func() string {
		d, err := os.MkdirTemp("", "backup-ssh-")
		require.NoError(t, err)
		require.NoError(t, os.Chmod(d, 0o777))
		t.Cleanup(func() { _ = os.RemoveAll(d) })
		return d
	}
	orig := writeZstdArchive(t, 1<<20)
	srcDir := shared()
	for _, f := range []string{orig, orig + ".notes", sidecarLogName(orig)} {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(srcDir, filepath.Base(f)), b, 0o644))
	}
	src := filepath.Join(srcDir, testArchiveName)
	before := fileSnapshot(t, src)
	dst := shared()
	res, err := CopyVerified(t.Context(), r, src, dst, CopyOptions{Sidecars: true})
	require.NoError(t, err)
	assert.Equal(t, hex.EncodeToString(before.sum[:]), res.SHA256)
	assert.Len(t, res.Sidecars, 2)
	assert.Equal(t, before, fileSnapshot(t, src))
	assertNoTempFiles(t, dst)
}
