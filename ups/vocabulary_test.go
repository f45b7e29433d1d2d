package ups_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/internal/fakeserver"
	"github.com/thehomelab/homelab/secret"
	"github.com/thehomelab/homelab/ups"
	"github.com/thehomelab/homelab/ups/upstest"
)

func TestNilOptionIsSkipped(t *testing.T) {
	t.Parallel()
	s := newFake(t)
	c := dial(t, s, nil, ups.WithTimeout(5*time.Second), nil, ups.WithLogger(nil))
	_, err := c.Device("ups").Status(t.Context())
	require.NoError(t, err)
}

// Reading needs no login, as with upsc; a command that needs one fails at
// once, says which option is missing, and sends nothing.
func TestLoginNeededFailsClearly(t *testing.T) {
	t.Parallel()
	s := newFake(t)
	c := dial(t, s)
	d := c.Device("ups")
	ctx := t.Context()
	_, err := d.Snapshot(ctx)
	require.NoError(t, err, "reads need no credentials")
	before := len(s.Requests())
	for name, call := range map[string]func() error{
		"fsd":     func() error { return d.FSD(ctx) },
		"login":   func() error { return d.Login(ctx) },
		"primary": func() error { return d.Primary(ctx) },
		"set":     func() error { return d.Set(ctx, "ups.id", "x") },
		"instcmd": func() error { return d.InstCmd(ctx, "load.off") },
	} {
		err := call()
		assert.ErrorIs(t, err, ups.ErrAuth, name)
		assertCode(t, err, ups.CodeUsernameRequired, name)
		assert.Contains(t, err.Error(), "WithCredentials", name)
		assert.False(t, strings.HasPrefix(err.Error(), "ups: ups: "), err.Error())
	}
	assert.Len(t, s.Requests(), before, "nothing was sent")
}

func TestOptionErrorsAreInvalid(t *testing.T) {
	t.Parallel()
	for _, o := range []ups.Option{
		ups.WithCredentials("", secret.New("x")), ups.WithCredentials("u", secret.Secret{}), ups.WithKeepAlive(-1),
		ups.WithTimeout(0), ups.WithMaxLineLength(1), ups.WithRootCAs(nil), ups.WithFingerprint("zz"),
		ups.WithPollInterval(time.Second, time.Millisecond), ups.WithServerName(""), ups.WithMaxListItems(0),
	} {
		_, err := ups.Dial(t.Context(), "127.0.0.1:1", o)
		require.Error(t, err)
		assert.ErrorIs(t, err, ups.ErrInvalid, err.Error())
		var e *ups.Error
		assert.ErrorAs(t, err, &e)
		assert.True(t, strings.HasPrefix(err.Error(), "ups: ") && !strings.HasPrefix(err.Error(), "ups: ups: "), err.Error())
	}
}

func TestDialAddress(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"", "  ", "host:", "a b:1"} {
		_, err := ups.Dial(t.Context(), bad)
		require.Error(t, err)
		assert.ErrorIs(t, err, ups.ErrInvalid)
		assert.Contains(t, err.Error(), `"`+bad+`"`, "the error shows what was typed")
	}
	// Without a port, NUT's 3493 is filled in.
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	c, err := ups.Dial(ctx, "127.0.0.1")
	if err == nil {
		_ = c.Close()
		t.Skip("something answers on 127.0.0.1:3493")
	}
	assert.Contains(t, err.Error(), "127.0.0.1:3493")
	assert.ErrorIs(t, err, ups.ErrUnavailable)
}

func TestFingerprintMismatchErrorAs(t *testing.T) {
	t.Parallel()
	cert, fp := selfSigned(t)
	s := newFake(t, upstest.WithTLS(cert))
	_, err := ups.Dial(t.Context(), s.Addr(), ups.WithFingerprint("sha256:"+strings.Repeat("00", 32)))
	var mm *ups.FingerprintMismatchError
	require.ErrorAs(t, err, &mm)
	assert.Equal(t, strings.ToUpper(strings.TrimPrefix(fp, "sha256:")), strings.ReplaceAll(strings.TrimPrefix(mm.Got, "sha256:"), ":", ""))
	assert.ErrorIs(t, err, ups.ErrUnavailable)
}

func TestJobLog(t *testing.T) {
	t.Parallel()
	s := newFake(t)
	c := dial(t, s, admin(), ups.WithTracking(), ups.WithPollInterval(time.Millisecond, 5*time.Millisecond))
	d := c.Device("ups")
	job, err := d.StartInstCmd(t.Context(), "shutdown.return")
	require.NoError(t, err)
	var lines []string
	for line, err := range job.Log(t.Context()) {
		require.NoError(t, err)
		lines = append(lines, line)
	}
	require.NotEmpty(t, lines)
	assert.Equal(t, "instcmd ups shutdown.return: accepted, tracking "+job.ID, lines[0])
	assert.Equal(t, "instcmd ups shutdown.return: success", lines[len(lines)-1])

	s.FailCommand("ups", "load.off")
	job, err = d.StartInstCmd(t.Context(), "load.off")
	require.NoError(t, err)
	var last error
	for _, err := range job.Log(t.Context()) {
		last = err
	}
	assertCode(t, last, ups.CodeTrackingFailed)
	assert.ErrorIs(t, last, ups.ErrUnavailable)
	assertCode(t, d.InstCmd(t.Context(), "load.off"), ups.CodeTrackingFailed, "InstCmd is Start then Wait")

	_, err = d.StartInstCmd(t.Context(), "load.off", "1", "2")
	assert.ErrorIs(t, err, ups.ErrInvalid)

	untracked := dial(t, s, admin())
	job, err = untracked.Device("ups").StartInstCmd(t.Context(), "load.off")
	require.NoError(t, err)
	n := 0
	for line, err := range job.Log(t.Context()) {
		require.NoError(t, err)
		assert.Contains(t, line, "untracked")
		n++
	}
	assert.Equal(t, 1, n)
}

// A hanging upsd costs the monitor the policy's DeadTime, not the client's
// 30 s default timeout.
func TestMonitorPollBoundedByDeadTime(t *testing.T) {
	t.Parallel()
	s := newFake(t)
	c := dial(t, s, ups.WithKeepAlive(0))
	s.Inject(upstest.Fault{Kind: upstest.Hang})
	bad := make(chan ups.Event, 4)
	m, err := ups.NewMonitor(c.Device("ups"), ups.MonitorConfig{
		Interval: 20 * time.Millisecond, AlertInterval: 20 * time.Millisecond,
		Policy: ups.Policy{DeadTime: 200 * time.Millisecond},
		OnEvent: func(e ups.Event) {
			if e.Kind == ups.EventCommBad {
				bad <- e
			}
		},
	})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	go func() { _, _ = m.Run(ctx) }()
	select {
	case e := <-bad:
		assert.True(t, errors.Is(e.Err, context.DeadlineExceeded), "%v", e.Err)
		assert.False(t, e.Time.IsZero())
	case <-time.After(5 * time.Second):
		t.Fatal("a hanging poll was not cut at DeadTime")
	}
}

// Errors say what to do: an unknown authority shows the fingerprint and the
// option that pins it; a wrong name names WithServerName; a upsd without
// TLS says where its certificate is configured.
func TestStartTLSErrorsSayWhatToDo(t *testing.T) {
	t.Parallel()
	cert, fp, err := fakeserver.SelfSigned()
	require.NoError(t, err)
	s := newFake(t, upstest.WithTLS(cert))

	_, err = ups.Dial(t.Context(), s.Addr(), ups.WithStartTLS())
	require.Error(t, err)
	assert.Contains(t, err.Error(), fp)
	assert.Contains(t, err.Error(), `WithFingerprint("`+fp+`")`)
	assert.ErrorIs(t, err, ups.ErrUnavailable)

	pool := x509.NewCertPool()
	pool.AddCert(cert.Leaf)
	_, err = ups.Dial(t.Context(), s.Addr(), ups.WithRootCAs(pool), ups.WithServerName("ups.lan"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "WithServerName")
	c, err := ups.Dial(t.Context(), s.Addr(), ups.WithRootCAs(pool))
	require.NoError(t, err, "the certificate names 127.0.0.1")
	_ = c.Close()

	plain := newFake(t)
	_, err = ups.Dial(t.Context(), plain.Addr(), ups.WithStartTLS())
	assertCode(t, err, ups.CodeFeatureNotConfigured)
	assert.Contains(t, err.Error(), "CERTFILE")
}

// A server that hangs up without a word (a TLS-only port such as a stunnel
// in front of upsd, or not upsd at all) is named as such, not as a bare EOF.
func TestSilentHangUpSaysSo(t *testing.T) {
	t.Parallel()
	cert, _, err := fakeserver.SelfSigned()
	require.NoError(t, err)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				_ = conn.(*tls.Conn).Handshake()
			}()
		}
	}()
	c, err := ups.Dial(t.Context(), ln.Addr().String(), ups.WithKeepAlive(0))
	require.NoError(t, err, "nothing is sent at dial without options")
	defer c.Close()
	_, err = c.ProtocolVersion(t.Context())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "closed the connection without answering")
	assert.ErrorIs(t, err, io.EOF)
	assert.ErrorIs(t, err, ups.ErrUnavailable)
}
