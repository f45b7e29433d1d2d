package backup

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/secret"
)

// requirePeerBinary skips when a real peer binary is missing, except under
// HOMELAB_REQUIRE_PEERS=1 where a missing peer fails the test.
func requirePeerBinary(t testing.TB, bin, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(bin)
	if err == nil {
		return p
	}
	if os.Getenv("HOMELAB_REQUIRE_PEERS") == "1" {
		t.Fatalf("%s not found and HOMELAB_REQUIRE_PEERS=1: apt-get install -y %s", bin, pkg)
	}
	t.Skipf("%s not found: apt-get install -y %s to run this test", bin, pkg)
	return ""
}

func TestLocalRunner(t *testing.T) {
	t.Parallel()
	var r LocalRunner
	ctx := t.Context()

	out, err := r.Run(ctx, "printf", "%s|", "a b", "c'd")
	require.NoError(t, err)
	assert.Equal(t, "a b|c'd|", string(out))

	_, err = r.Run(ctx, "sh", "-c", "echo broken >&2; exit 3")
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, "exit 3", e.Code)
	assert.Equal(t, "broken", e.Message)
	assert.Equal(t, 3, exitCode(err))

	_, err = r.Run(ctx, "no-such-binary-homelab")
	assert.ErrorIs(t, err, ErrUnavailable)

	_, err = r.Run(ctx)
	assert.ErrorIs(t, err, ErrInvalid)

	small := LocalRunner{MaxOutput: 10}
	_, err = small.Run(ctx, "head", "-c", "11", "/dev/zero")
	assert.ErrorIs(t, err, ErrInvalid)
	assert.ErrorContains(t, err, "too large")
	out, err = small.Run(ctx, "head", "-c", "10", "/dev/zero")
	require.NoError(t, err)
	assert.Len(t, out, 10)
}

func TestLocalRunnerCancel(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	// The shell's child must die with it: the whole group is killed.
	_, err := LocalRunner{}.Run(ctx, "sh", "-c", "sleep 30; echo never")
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 5*time.Second)
}

func TestShellQuote(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "zstd -t -- /var/lib/vz/dump/a.vma.zst", shellQuote([]string{"zstd", "-t", "--", "/var/lib/vz/dump/a.vma.zst"}))
	assert.Equal(t, `'a=b' c=d '' 'it'\''s' '$(reboot)'`, shellQuote([]string{"a=b", "c=d", "", "it's", "$(reboot)"}))

	// What the shell sees is exactly the words given.
	words := []string{"plain", "two words", "it's", `back\slash`, "$HOME", "`id`", "*", "a;b", "new\nline", "", "-n", "ü"}
	out, err := LocalRunner{}.Run(t.Context(), "sh", "-c", "printf '%s\\0' "+shellQuote(words))
	require.NoError(t, err)
	assert.Equal(t, words, strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00"))
}

func TestErrorsCarryClass(t *testing.T) {
	t.Parallel()
	for _, s := range []error{ErrNotFound, ErrAuth, ErrPermission, ErrConflict, ErrInvalid, ErrUnavailable, ErrClosed} {
		err := error(&Error{Op: "x", Err: s})
		assert.True(t, errors.Is(err, s))
	}
	assert.ErrorIs(t, &HostKeyError{Host: "h"}, ErrHostKey)
}

// No password or key reaches formatted output.
func TestSecretsNotPrinted(t *testing.T) {
	t.Parallel()
	cfg := SSHConfig{User: "root", Password: secret.New("ssh-pass-123"), PrivateKey: secret.New("-----BEGIN OPENSSH PRIVATE KEY-----abc"), Passphrase: secret.New("phrase-456")}
	n := Notifier{Addr: "mail.lab:587", User: "u", Password: secret.New("mail-pass-789")}
	for _, out := range []string{fmt.Sprintf("%v %+v %#v", cfg, cfg, cfg), fmt.Sprintf("%v %+v %#v", n, n, n)} {
		for _, s := range []string{"ssh-pass-123", "BEGIN OPENSSH", "phrase-456", "mail-pass-789"} {
			assert.NotContains(t, out, s)
		}
	}
	// A key that does not parse is refused without echoing it.
	_, err := DialSSH(t.Context(), "127.0.0.1:1", SSHConfig{User: "root", PrivateKey: secret.New("not-a-key-secret"), HostKeyFingerprint: "SHA256:" + strings.Repeat("A", 43)})
	require.ErrorIs(t, err, ErrInvalid)
	assert.NotContains(t, err.Error(), "not-a-key-secret")
}
