package backup

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/thehomelab/homelab/internal/netctx"
	"github.com/thehomelab/homelab/secret"
)

// SSHConfig says how DialSSH reaches and trusts a node. The host key is
// always verified: set KnownHostsFile or HostKeyFingerprint (or both, then
// both must accept the key). Authentication is by PrivateKey, Password or
// both (the key is tried first).
type SSHConfig struct {
	// User is the login name on the node, usually root on Proxmox.
	User string
	// Password authenticates with the "password" method.
	Password secret.Secret
	// PrivateKey is a private key in PEM or OpenSSH form.
	PrivateKey secret.Secret
	// Passphrase decrypts PrivateKey when it is encrypted.
	Passphrase secret.Secret
	// KnownHostsFile is an OpenSSH known_hosts file holding the node's key.
	KnownHostsFile string
	// HostKeyFingerprint pins the node's host key in the form
	// ssh.FingerprintSHA256 prints and ssh-keygen -lf shows: "SHA256:…".
	HostKeyFingerprint string
	// Timeout bounds dialing and the handshake when ctx has no deadline;
	// 0 means 30 s.
	Timeout time.Duration
	// MaxOutput caps the standard output kept per command; 0 means
	// DefaultMaxOutput.
	MaxOutput int64
	// KeepAlive is how often an idle connection is checked; a node that
	// does not answer within another KeepAlive (at least 10 s) is dropped
	// and dialled again on the next Run. 0 means 30 s, negative turns it
	// off.
	KeepAlive time.Duration
	// Logger receives one Debug line per command; nil discards.
	Logger *slog.Logger
}

// HostKeyError is the cause of an ErrHostKey failure: the key the node
// showed and the keys that were trusted. errors.As reaches it through the
// *Error DialSSH returns; errors.Is(err, ErrHostKey) matches it.
type HostKeyError struct {
	// Host is the address dialled.
	Host string
	// Type and Got are the key the node presented: its algorithm and its
	// SHA-256 fingerprint ("SHA256:…").
	Type, Got string
	// Want lists the fingerprints trusted for Host; empty when the host is
	// not in known_hosts at all.
	Want []string
	// Revoked is set when known_hosts marks the key @revoked.
	Revoked bool
}

// Error implements error.
func (e *HostKeyError) Error() string {
	switch {
	case e.Revoked:
		return fmt.Sprintf("host key %s %s of %s is revoked", e.Type, e.Got, e.Host)
	case len(e.Want) == 0:
		return fmt.Sprintf("host %s is not trusted: its key %s %s is in neither known_hosts nor the pin", e.Host, e.Type, e.Got)
	}
	return fmt.Sprintf("host key of %s changed: it shows %s %s, trusted %s", e.Host, e.Type, e.Got, strings.Join(e.Want, ", "))
}

// Unwrap makes errors.Is(err, ErrHostKey) hold.
func (e *HostKeyError) Unwrap() error { return ErrHostKey }

// SSHRunner runs commands on a node over one SSH connection, each in its own
// session. A connection that was lost (the node rebooted, a firewall dropped
// it while a long vzdump ran) is dialled again, with the same checks, on the
// next Run. It is safe for concurrent use. Close it when done.
type SSHRunner struct {
	addr string
	cfg  SSHConfig
	max  int64
	log  *slog.Logger

	mu     sync.Mutex
	client *ssh.Client

	closeOnce sync.Once
	closed    chan struct{}
}

// DialSSH connects to a node's sshd at addr ("host" or "host:port"; the
// port defaults to 22), verifies its host key and logs in. A key that is not
// the trusted one fails with an error matching ErrHostKey whose cause is a
// *HostKeyError naming the key seen; refused credentials match ErrAuth.
func DialSSH(ctx context.Context, addr string, cfg SSHConfig) (*SSHRunner, error) {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		addr = net.JoinHostPort(addr, "22")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &SSHRunner{addr: addr, cfg: cfg, max: outputLimit(cfg.MaxOutput), log: log, closed: make(chan struct{})}
	cl, err := r.dial(ctx)
	if err != nil {
		return nil, err
	}
	r.client = cl
	return r, nil
}

// hostKeyTypes are the host key algorithms tried, by key type, when a
// pinned key's type is not the one the node offers first.
var hostKeyTypes = [][]string{
	{ssh.KeyAlgoED25519},
	{ssh.KeyAlgoECDSA256},
	{ssh.KeyAlgoECDSA384},
	{ssh.KeyAlgoECDSA521},
	{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA},
}

// dial connects, verifies the host key, logs in and starts the keepalive.
func (r *SSHRunner) dial(ctx context.Context) (*ssh.Client, error) {
	op := "ssh dial " + r.addr
	ccfg, err := clientConfig(op, r.addr, r.cfg)
	if err != nil {
		return nil, err
	}
	if _, ok := ctx.Deadline(); !ok {
		t := r.cfg.Timeout
		if t <= 0 {
			t = 30 * time.Second
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t)
		defer cancel()
	}
	// A node has several host keys and shows the one the client prefers;
	// a pin names one of them. When the key shown is of another type than
	// the pinned one, ask again for the other types, until the pinned
	// key shows up or every type was seen.
	var firstErr error
	seen := map[string]bool{}
	for {
		cl, hk, err := r.handshake(ctx, op, ccfg)
		if err == nil {
			return r.start(cl), nil
		}
		retry := hk != nil && !hk.Revoked && r.cfg.HostKeyFingerprint != "" && r.cfg.KnownHostsFile == ""
		if firstErr == nil {
			firstErr = err
		}
		if !retry || ctx.Err() != nil {
			return nil, firstErr
		}
		seen[hk.Type] = true
		ccfg.HostKeyAlgorithms = nil
		for _, algos := range hostKeyTypes {
			if !seen[algos[len(algos)-1]] {
				ccfg.HostKeyAlgorithms = append(ccfg.HostKeyAlgorithms, algos...)
			}
		}
		if len(ccfg.HostKeyAlgorithms) == 0 {
			return nil, firstErr
		}
	}
}

// handshake makes one connection attempt. A host key refused is returned
// as hk too.
func (r *SSHRunner) handshake(ctx context.Context, op string, ccfg *ssh.ClientConfig) (cl *ssh.Client, hk *HostKeyError, err error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", r.addr)
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		return nil, nil, &Error{Op: op, Message: err.Error(), Err: ErrUnavailable}
	}
	cfg := *ccfg
	cfg.HostKeyCallback = func(host string, remote net.Addr, key ssh.PublicKey) error {
		err := ccfg.HostKeyCallback(host, remote, key)
		errors.As(err, &hk)
		return err
	}
	var (
		c     ssh.Conn
		chans <-chan ssh.NewChannel
		reqs  <-chan *ssh.Request
	)
	err = netctx.Do(ctx, conn, func() error {
		var herr error
		c, chans, reqs, herr = ssh.NewClientConn(conn, r.addr, &cfg)
		return herr
	})
	if err != nil {
		_ = conn.Close()
		switch {
		case ctx.Err() != nil:
			return nil, nil, ctx.Err()
		case hk != nil:
			return nil, hk, &Error{Op: op, Err: hk}
		case strings.Contains(err.Error(), "unable to authenticate"):
			return nil, nil, &Error{Op: op, Message: "login as " + r.cfg.User + " refused", Err: ErrAuth}
		}
		return nil, nil, &Error{Op: op, Message: err.Error(), Err: ErrUnavailable}
	}
	return ssh.NewClient(c, chans, reqs), nil, nil
}

// start starts the keepalive of a new connection.
func (r *SSHRunner) start(cl *ssh.Client) *ssh.Client {
	if every := r.cfg.KeepAlive; every >= 0 {
		if every == 0 {
			every = 30 * time.Second
		}
		go r.keepAlive(cl, every)
	}
	return cl
}

// keepAlive asks the node for a reply every interval and closes the
// connection when none comes within another interval (at least 10 s), so
// that the next Run dials again instead of hanging on a dead socket. It
// ends with the connection. It is a heartbeat bound to the runner
// (r.closed), not to a ctx, on a ticker's steady cadence, with a watchdog
// per probe; so it does not use internal/poll, which polls work to its end
// under a ctx.
func (r *SSHRunner) keepAlive(cl *ssh.Client, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-r.closed:
			return
		case <-t.C:
		}
		reply := make(chan error, 1)
		go func() {
			_, _, err := cl.SendRequest("keepalive@openssh.com", true, nil)
			reply <- err
		}()
		// A loaded node may answer late; only silence for a while
		// means the connection is gone.
		timeout := time.NewTimer(max(every, 10*time.Second))
		select {
		case err := <-reply:
			timeout.Stop()
			if err != nil {
				return
			}
		case <-timeout.C:
			_ = cl.Close()
			return
		case <-r.closed:
			timeout.Stop()
			return
		}
	}
}

// session opens a session, dialling again once when the connection was
// lost.
func (r *SSHRunner) session(ctx context.Context, op string) (*ssh.Session, error) {
	isClosed := func() bool {
		select {
		case <-r.closed:
			return true
		default:
			return false
		}
	}
	if isClosed() {
		return nil, &Error{Op: op, Message: "runner closed", Err: ErrClosed}
	}
	r.mu.Lock()
	cl := r.client
	r.mu.Unlock()
	if cl != nil {
		if s, err := cl.NewSession(); err == nil {
			return s, nil
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if isClosed() {
		return nil, &Error{Op: op, Message: "runner closed", Err: ErrClosed}
	}
	if r.client == cl {
		// Nobody dialled again since: this Run does.
		if cl != nil {
			_ = cl.Close()
		}
		r.client = nil
		ncl, err := r.dial(ctx)
		if err != nil {
			return nil, err
		}
		r.client = ncl
		r.log.DebugContext(ctx, "backup: ssh connection dialled again", "host", r.addr)
	}
	s, err := r.client.NewSession()
	if err != nil {
		return nil, &Error{Op: op, Message: "new session: " + err.Error(), Err: ErrUnavailable}
	}
	return s, nil
}

func clientConfig(op, addr string, cfg SSHConfig) (*ssh.ClientConfig, error) {
	if strings.TrimSpace(cfg.User) == "" {
		return nil, &Error{Op: op, Message: "no user: set SSHConfig.User", Err: ErrInvalid}
	}
	var auth []ssh.AuthMethod
	if !cfg.PrivateKey.IsZero() {
		var (
			signer ssh.Signer
			err    error
		)
		if cfg.Passphrase.IsZero() {
			signer, err = ssh.ParsePrivateKey([]byte(cfg.PrivateKey.Reveal()))
		} else {
			signer, err = ssh.ParsePrivateKeyWithPassphrase([]byte(cfg.PrivateKey.Reveal()), []byte(cfg.Passphrase.Reveal()))
		}
		if err != nil {
			// The parser's message never holds key material.
			return nil, &Error{Op: op, Message: "private key: " + err.Error(), Err: ErrInvalid}
		}
		auth = append(auth, ssh.PublicKeys(signer))
	}
	if !cfg.Password.IsZero() {
		pw := cfg.Password
		auth = append(auth, ssh.PasswordCallback(func() (string, error) { return pw.Reveal(), nil }))
	}
	if len(auth) == 0 {
		return nil, &Error{Op: op, Message: "no credentials: set SSHConfig.PrivateKey or SSHConfig.Password", Err: ErrInvalid}
	}
	if cfg.KnownHostsFile == "" && cfg.HostKeyFingerprint == "" {
		return nil, &Error{Op: op, Message: "no trusted host key: set SSHConfig.KnownHostsFile or SSHConfig.HostKeyFingerprint", Err: ErrInvalid}
	}
	var checks []ssh.HostKeyCallback
	var algos []string
	if fp := cfg.HostKeyFingerprint; fp != "" {
		if !validFingerprint(fp) {
			return nil, &Error{Op: op, Message: fmt.Sprintf("host key fingerprint %q: want SHA256:<43 base64 characters> as ssh-keygen -lf prints it", fp), Err: ErrInvalid}
		}
		checks = append(checks, func(host string, _ net.Addr, key ssh.PublicKey) error {
			if got := ssh.FingerprintSHA256(key); got != fp {
				return &HostKeyError{Host: host, Type: key.Type(), Got: got, Want: []string{fp}}
			}
			return nil
		})
	}
	if cfg.KnownHostsFile != "" {
		cb, err := knownhosts.New(cfg.KnownHostsFile)
		if err != nil {
			return nil, &Error{Op: op, Message: "known_hosts: " + err.Error(), Err: ErrInvalid}
		}
		algos = knownAlgorithms(cb, addr)
		checks = append(checks, func(host string, remote net.Addr, key ssh.PublicKey) error {
			err := cb(host, remote, key)
			var ke *knownhosts.KeyError
			var re *knownhosts.RevokedError
			switch {
			case err == nil:
				return nil
			case errors.As(err, &ke):
				e := &HostKeyError{Host: host, Type: key.Type(), Got: ssh.FingerprintSHA256(key)}
				for _, w := range ke.Want {
					e.Want = append(e.Want, ssh.FingerprintSHA256(w.Key))
				}
				return e
			case errors.As(err, &re):
				return &HostKeyError{Host: host, Type: key.Type(), Got: ssh.FingerprintSHA256(key), Revoked: true}
			}
			return err
		})
	}
	return &ssh.ClientConfig{
		User: cfg.User,
		Auth: auth,
		HostKeyCallback: func(host string, remote net.Addr, key ssh.PublicKey) error {
			for _, c := range checks {
				if err := c(host, remote, key); err != nil {
					return err
				}
			}
			return nil
		},
		HostKeyAlgorithms: algos,
	}, nil
}

// knownAlgorithms asks known_hosts which key types it holds for addr, so the
// handshake asks the node for one of those. Without it a node offering
// several host keys may present one whose type known_hosts lacks, which
// would read as a changed key. The question is put with a random key that
// cannot match; the answer lists every trusted key of the host.
func knownAlgorithms(cb ssh.HostKeyCallback, addr string) []string {
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil
	}
	probe, err := ssh.NewPublicKey(pub)
	if err != nil {
		return nil
	}
	tcp, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		tcp = &net.TCPAddr{IP: net.IPv4zero}
	}
	var ke *knownhosts.KeyError
	if !errors.As(cb(addr, tcp, probe), &ke) {
		return nil
	}
	var out []string
	for _, w := range ke.Want {
		switch t := w.Key.Type(); t {
		case ssh.KeyAlgoRSA:
			out = append(out, ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA)
		default:
			out = append(out, t)
		}
	}
	return out
}

func validFingerprint(fp string) bool {
	b64, ok := strings.CutPrefix(fp, "SHA256:")
	if !ok {
		return false
	}
	raw, err := base64.RawStdEncoding.DecodeString(b64)
	return err == nil && len(raw) == 32
}

// Run runs argv on the node in a new session (SSH "exec" request, RFC 4254
// §6.5). The words are quoted for the node's shell, so
// no word is interpreted (a file name with spaces or quotes stays one
// word). When ctx ends the remote command is sent SIGKILL, its session is
// closed and Run returns ctx.Err().
func (r *SSHRunner) Run(ctx context.Context, argv ...string) ([]byte, error) {
	op := "run " + shortArgv(argv) + " on " + r.addr
	if len(argv) == 0 || argv[0] == "" {
		return nil, &Error{Op: "run", Message: "empty command", Err: ErrInvalid}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	start := time.Now()
	s, err := r.session(ctx, op)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	stdout := &capWriter{max: r.max}
	stderr := &capWriter{max: maxStderr, truncate: true}
	s.Stdout, s.Stderr = stdout, stderr
	if err := s.Start(shellQuote(argv)); err != nil {
		return nil, &Error{Op: op, Message: "start: " + err.Error(), Err: ErrUnavailable}
	}
	done := make(chan error, 1)
	go func() { done <- s.Wait() }()
	select {
	case err = <-done:
	case <-ctx.Done():
		// OpenSSH's sshd honours the "signal" request; closing the
		// channel alone would leave a command that never writes running.
		_ = s.Signal(ssh.SIGKILL)
		_ = s.Close()
		// Wait returns once the node closes the channel; a command whose
		// children keep its output open may hold it, so don't wait long.
		// (ctx is done here, so poll.Sleep would not wait at all.)
		t := time.NewTimer(time.Second)
		select {
		case <-done:
		case <-t.C:
		}
		t.Stop()
		r.log.DebugContext(ctx, "backup: ssh run cancelled", "host", r.addr, "cmd", shortArgv(argv))
		return nil, ctx.Err()
	}
	r.log.DebugContext(ctx, "backup: ssh run", "host", r.addr, "cmd", shortArgv(argv), "took", time.Since(start))
	if stdout.over {
		return nil, tooLarge(op, stdout.max)
	}
	if err != nil {
		var ee *ssh.ExitError
		if errors.As(err, &ee) {
			return stdout.buf.Bytes(), exitError(op, ee.ExitStatus(), stderr.buf.String(), nil)
		}
		var missing *ssh.ExitMissingError
		if errors.As(err, &missing) || errors.Is(err, io.EOF) {
			return nil, &Error{Op: op, Message: "connection lost before the command's exit status", Err: ErrUnavailable}
		}
		return nil, &Error{Op: op, Message: err.Error(), Err: ErrUnavailable}
	}
	return stdout.buf.Bytes(), nil
}

// Close closes the connection; commands still running are ended. Close is
// idempotent.
func (r *SSHRunner) Close() error {
	var err error
	r.closeOnce.Do(func() {
		close(r.closed)
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.client != nil {
			// A connection already lost has nothing left to close.
			if err = r.client.Close(); errors.Is(err, net.ErrClosed) || errors.Is(err, io.EOF) {
				err = nil
			}
			r.client = nil
		}
	})
	return err
}
