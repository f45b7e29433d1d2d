package main

import (
	"bytes"
	"crypto/tls"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/examples/internal/command"
	"github.com/thehomelab/homelab/internal/fakeserver"
	"github.com/thehomelab/homelab/internal/tlspin"
	"github.com/thehomelab/homelab/ups"
	"github.com/thehomelab/homelab/ups/upstest"
)

var fingerprintLine = regexp.MustCompile(`(?m)^  fingerprint  (sha256:[0-9A-F:]+)$`)

func trust(t *testing.T, arg string) (code int, out, errOut string) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(t.Context(), []string{"trust", arg}, &o, &e, noEnv)
	return code, o.String(), e.String()
}

func TestTrustHTTPS(t *testing.T) {
	t.Parallel()
	var requests atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { requests.Add(1) }))
	// The aborted handshakes are the point: keep them out of the log.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)

	code, out, errOut := trust(t, srv.URL+"/api2/json")
	require.Equal(t, command.ExitOK, code, errOut)
	t.Log("\n" + out)
	m := fingerprintLine.FindStringSubmatch(out)
	require.NotNil(t, m, out)
	assert.Equal(t, "sha256:"+tlspin.Of(srv.Certificate()).String(), m[1])
	assert.Contains(t, out, "subject      O=Acme Co")
	assert.Contains(t, out, "issuer       O=Acme Co")
	assert.Contains(t, out, "names        example.com")
	assert.Regexp(t, `valid        \d{4}-\d\d-\d\d to \d{4}-\d\d-\d\d`, out)
	assert.Contains(t, out, "  fingerprint: "+m[1])
	assert.Zero(t, requests.Load(), "trust sent a request")

	// The printed form is what the SDK's pinning takes: a pinned client
	// now connects.
	cfg, err := tlspin.Config(tlspin.Options{Fingerprint: m[1]})
	require.NoError(t, err)
	conn, err := tls.Dial("tcp", srv.Listener.Addr().String(), cfg)
	require.NoError(t, err)
	require.NoError(t, conn.Close())
}

// TestTrustRawListener: an API-SSL-like socket. The handshake is aborted by
// the client, so the server reads no byte of application data.
func TestTrustRawListener(t *testing.T) {
	t.Parallel()
	cert, fp, err := fakeserver.SelfSigned()
	require.NoError(t, err)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	serverErr := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			serverErr <- err
			return
		}
		defer c.Close()
		tc := c.(*tls.Conn)
		if err := tc.Handshake(); err != nil {
			serverErr <- err
			return
		}
		_, err = tc.Read(make([]byte, 1))
		serverErr <- err
	}()

	code, out, errOut := trust(t, ln.Addr().String())
	require.Equal(t, command.ExitOK, code, errOut)
	m := fingerprintLine.FindStringSubmatch(out)
	require.NotNil(t, m, out)
	assert.Equal(t, fp, m[1])
	assert.Contains(t, out, "127.0.0.1")
	assert.Contains(t, out, "days left")
	err = <-serverErr
	require.Error(t, err, "the server must not see a completed connection")
	assert.Contains(t, err.Error(), "bad certificate")
}

func TestTrustRefused(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())

	code, _, errOut := trust(t, addr)
	assert.Equal(t, command.ExitUnchecked, code)
	assert.Contains(t, errOut, addr)

	for _, arg := range []string{"http://nas.lan", "nas.lan", "ftp://x:21"} {
		code, _, errOut = trust(t, arg)
		assert.Equal(t, command.ExitUsage, code, arg)
		assert.NotEmpty(t, strings.TrimSpace(errOut))
	}
}

// TestTrustNUT: upsd speaks plain text until STARTTLS; trust asks for it
// and reads the certificate, which the SDK's ups client then pins.
func TestTrustNUT(t *testing.T) {
	t.Parallel()
	cert, fp, err := fakeserver.SelfSigned()
	require.NoError(t, err)
	srv := upstest.Start(t, upstest.WithTLS(cert))
	code, out, errOut := trust(t, "nut://"+srv.Addr())
	require.Equal(t, command.ExitOK, code, errOut)
	m := fingerprintLine.FindStringSubmatch(out)
	require.NotNil(t, m, out)
	assert.Equal(t, fp, m[1])

	c, err := ups.Dial(t.Context(), srv.Addr(), ups.WithStartTLS(), ups.WithFingerprint(m[1]))
	require.NoError(t, err)
	require.NoError(t, c.Close())
}
