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
	"time"

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

// nutFake is a one-connection upsd stand-in on 127.0.0.1: it reads the
// client's "STARTTLS\n" (exactly those bytes, nothing after them) and hands
// the connection to then.
func nutFake(t *testing.T, then func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan struct{})
	t.Cleanup(func() { _ = ln.Close(); <-done })
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(30 * time.Second))
		cmd := make([]byte, len("STARTTLS\n"))
		if _, err := io.ReadFull(c, cmd); err != nil || string(cmd) != "STARTTLS\n" {
			return
		}
		then(c)
	}()
	return ln.Addr().String()
}

// TestTrustNUTReply: upsd answers STARTTLS with "OK STARTTLS\n" and goes
// straight into SSL_accept on the same socket (networkupstools/nut
// server/netssl.c, net_starttls). The reply is read without reading past
// it, and without end.
func TestTrustNUTReply(t *testing.T) {
	t.Parallel()
	cert, fp, err := fakeserver.SelfSigned()
	require.NoError(t, err)

	t.Run("then TLS", func(t *testing.T) {
		t.Parallel()
		addr := nutFake(t, func(c net.Conn) {
			if _, err := io.WriteString(c, "OK STARTTLS\n"); err != nil {
				return
			}
			_ = tls.Server(c, &tls.Config{Certificates: []tls.Certificate{cert}}).Handshake()
		})
		code, out, errOut := trust(t, "nut://"+addr)
		require.Equal(t, command.ExitOK, code, errOut)
		m := fingerprintLine.FindStringSubmatch(out)
		require.NotNil(t, m, out)
		assert.Equal(t, fp, m[1])
	})

	// The OK line and a TLS record in one write: the record (a fatal
	// handshake_failure alert, RFC 8446 section 6) must reach the TLS
	// client, not vanish in a read-ahead buffer.
	t.Run("TLS bytes in the same write", func(t *testing.T) {
		t.Parallel()
		alert := []byte{0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28}
		addr := nutFake(t, func(c net.Conn) {
			if _, err := c.Write(append([]byte("OK STARTTLS\n"), alert...)); err != nil {
				return
			}
			_, _ = io.Copy(io.Discard, c) // until the client hangs up
		})
		code, _, errOut := trust(t, "nut://"+addr)
		assert.Equal(t, command.ExitUnchecked, code)
		assert.Contains(t, errOut, "handshake failure")
	})

	t.Run("endless reply", func(t *testing.T) {
		t.Parallel()
		addr := nutFake(t, func(c net.Conn) {
			junk := bytes.Repeat([]byte("x"), 4096)
			for range 256 { // 1 MiB, no newline
				if _, err := c.Write(junk); err != nil {
					return
				}
			}
		})
		code, _, errOut := trust(t, "nut://"+addr)
		assert.Equal(t, command.ExitUnchecked, code)
		assert.Contains(t, errOut, "longer than 512 bytes")
	})
}

func TestReadLine(t *testing.T) {
	t.Parallel()
	r := strings.NewReader("OK STARTTLS\nrest")
	line, err := readLine(r, 512)
	require.NoError(t, err)
	assert.Equal(t, "OK STARTTLS", line)
	rest, err := io.ReadAll(r)
	require.NoError(t, err)
	assert.Equal(t, "rest", string(rest), "bytes after the line were consumed")

	_, err = readLine(strings.NewReader(strings.Repeat("x", 12)+"\n"), 12)
	require.NoError(t, err, "a line of exactly max bytes")
	_, err = readLine(strings.NewReader(strings.Repeat("x", 13)+"\n"), 12)
	require.ErrorContains(t, err, "longer than 12 bytes")
	_, err = readLine(strings.NewReader("OK"), 12)
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
}
