package clientcfg_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/internal/clientcfg"
	"github.com/thehomelab/homelab/internal/tlspin"
	"github.com/thehomelab/homelab/npm"
	"github.com/thehomelab/homelab/omv"
	"github.com/thehomelab/homelab/proxmox"
	"github.com/thehomelab/homelab/secret"
)

func ok(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, `{"data":{}}`) }

func get(t *testing.T, cfg clientcfg.Config, url string) (*http.Response, error) {
	t.Helper()
	cfg.Retries = 0
	hc, err := cfg.Client()
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	require.NoError(t, err)
	resp, err := hc.Do(req)
	if resp != nil {
		t.Cleanup(func() { _ = resp.Body.Close() })
	}
	return resp, err
}

func TestHintUnknownAuthorityShowsTheFingerprintToPin(t *testing.T) {
	t.Parallel()
	srv := httptest.NewTLSServer(http.HandlerFunc(ok))
	t.Cleanup(srv.Close)
	want := "sha256:" + tlspin.Of(srv.Certificate()).String()

	_, err := get(t, clientcfg.New("proxmox", time.Second, time.Second), srv.URL)
	require.Error(t, err)
	var he *clientcfg.HintError
	require.ErrorAs(t, err, &he)
	assert.Equal(t, want, he.Fingerprint)
	var ua x509.UnknownAuthorityError
	assert.ErrorAs(t, err, &ua, "errors.As still reaches the x509 error")
	var cve *tls.CertificateVerificationError
	assert.ErrorAs(t, err, &cve)
	assert.Contains(t, err.Error(), `WithFingerprint("`+want+`")`)
	assert.Contains(t, err.Error(), "-proxmox-fingerprint "+want)

	// the fingerprint shown is one WithFingerprint takes, and it works
	pinned := clientcfg.New("proxmox", time.Second, time.Second)
	require.NoError(t, pinned.SetFingerprint(he.Fingerprint))
	resp, err := get(t, pinned, srv.URL)
	require.NoError(t, err)
	assert.Equal(t, 200, resp.StatusCode)

	// a package without a device flag in the examples names no flag
	_, err = get(t, clientcfg.New("dns", time.Second, time.Second), srv.URL)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `WithFingerprint("`+want+`")`)
	assert.NotContains(t, err.Error(), "-fingerprint")
}

func TestHintHostnameMismatch(t *testing.T) {
	t.Parallel()
	srv := httptest.NewTLSServer(http.HandlerFunc(ok))
	t.Cleanup(srv.Close)
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	cfg := clientcfg.New("omv", time.Second, time.Second)
	require.NoError(t, cfg.SetRootCAs(pool))
	// httptest's certificate holds example.com, 127.0.0.1 and ::1, not localhost
	_, err := get(t, cfg, strings.Replace(srv.URL, "127.0.0.1", "localhost", 1))
	require.Error(t, err)
	var hn x509.HostnameError
	require.ErrorAs(t, err, &hn)
	var he *clientcfg.HintError
	require.ErrorAs(t, err, &he)
	assert.Equal(t, "sha256:"+tlspin.Of(srv.Certificate()).String(), he.Fingerprint)
	assert.Contains(t, err.Error(), "the certificate is for example.com, *.example.com, 127.0.0.1, ::1, not localhost")
	assert.Contains(t, err.Error(), "-nas-fingerprint sha256:")
}

func TestHintPlainHTTPPortOnHTTPS(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(ok))
	t.Cleanup(srv.Close)
	_, err := get(t, clientcfg.New("npm", time.Second, time.Second), strings.Replace(srv.URL, "http://", "https://", 1))
	require.Error(t, err)
	var he *clientcfg.HintError
	require.ErrorAs(t, err, &he)
	assert.ErrorIs(t, err, http.ErrSchemeMismatch)
	assert.Contains(t, err.Error(), "server gave HTTP response to HTTPS client")
	assert.Contains(t, err.Error(), "this port speaks plain http: use http://")
}

func TestHintTLSPortOnHTTP(t *testing.T) {
	t.Parallel()
	t.Run("tls alert", func(t *testing.T) {
		t.Parallel()
		// A TLS server that answers a plain request with a TLS alert record
		// (protocol version 3.1, level fatal, unexpected_message), as
		// servers without an HTTP fallback do.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		t.Cleanup(func() { _ = ln.Close() })
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				buf := make([]byte, 512)
				_, _ = c.Read(buf)
				_, _ = c.Write([]byte("\x15\x03\x01\x00\x02\x02\x0a"))
				_ = c.Close()
			}
		}()
		_, err = get(t, clientcfg.New("npm", time.Second, time.Second), "http://"+ln.Addr().String()+"/api")
		require.Error(t, err)
		var he *clientcfg.HintError
		require.ErrorAs(t, err, &he)
		assert.Contains(t, err.Error(), "this port speaks TLS: use https://"+ln.Addr().String())
	})
	t.Run("http fallback answer", func(t *testing.T) {
		t.Parallel()
		// Go's TLS server (and nginx) answer a plain request with a 400
		// that says so.
		srv := httptest.NewTLSServer(http.HandlerFunc(ok))
		t.Cleanup(srv.Close)
		_, err := get(t, clientcfg.New("npm", time.Second, time.Second), strings.Replace(srv.URL, "https://", "http://", 1))
		require.Error(t, err)
		var he *clientcfg.HintError
		require.ErrorAs(t, err, &he)
		assert.Contains(t, err.Error(), "Client sent an HTTP request to an HTTPS server")
		assert.Contains(t, err.Error(), "this port speaks TLS: use https://")
	})
	t.Run("an ordinary 400 is left alone", func(t *testing.T) {
		t.Parallel()
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "bad field: name", http.StatusBadRequest)
		}))
		t.Cleanup(srv.Close)
		resp, err := get(t, clientcfg.New("npm", time.Second, time.Second), srv.URL)
		require.NoError(t, err)
		assert.Equal(t, 400, resp.StatusCode)
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		assert.Equal(t, "bad field: name\n", string(b))
	})
}

// TestHintSurvivesThePackages checks that each HTTP package's own error
// wrapping keeps the hint and the x509 error reachable. (dns builds its
// own transport: it has no pin option, Cloudflare's certificates chain to
// public authorities.)
func TestHintSurvivesThePackages(t *testing.T) {
	t.Parallel()
	srv := httptest.NewTLSServer(http.HandlerFunc(ok))
	t.Cleanup(srv.Close)
	want := "sha256:" + tlspin.Of(srv.Certificate()).String()
	ctx := t.Context()
	calls := map[string]func() error{
		"proxmox": func() error {
			c, err := proxmox.NewClient(srv.URL, proxmox.WithAPIToken("root@pam!x", secret.New("s")), proxmox.WithRetries(0))
			require.NoError(t, err)
			defer c.Close()
			_, err = c.Access.Permissions(ctx, "")
			return err
		},
		"omv": func() error {
			c, err := omv.NewClient(srv.URL, omv.WithCredentials("admin", secret.New("pw")), omv.WithRetries(0))
			require.NoError(t, err)
			defer c.Close()
			return c.Login(ctx)
		},
		"npm": func() error {
			c, err := npm.NewClient(srv.URL, npm.WithCredentials("a@b.c", secret.New("pw")), npm.WithRetries(0))
			require.NoError(t, err)
			defer c.Close()
			_, err = c.Health(ctx)
			return err
		},
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			err := call()
			require.Error(t, err)
			var ua x509.UnknownAuthorityError
			assert.ErrorAs(t, err, &ua, "%v", err)
			assert.Contains(t, err.Error(), `WithFingerprint("`+want+`")`)
			assert.Equal(t, 1, strings.Count(err.Error(), name+":"), err.Error())
			assert.False(t, errors.Is(err, context.DeadlineExceeded))
		})
	}

	plain := httptest.NewServer(http.HandlerFunc(ok))
	t.Cleanup(plain.Close)
	https := strings.Replace(plain.URL, "http://", "https://", 1)
	t.Run("proxmox plain port", func(t *testing.T) {
		c, err := proxmox.NewClient(https, proxmox.WithAPIToken("root@pam!x", secret.New("s")), proxmox.WithRetries(0))
		require.NoError(t, err)
		defer c.Close()
		_, err = c.Access.Permissions(ctx, "")
		require.ErrorIs(t, err, proxmox.ErrUnavailable)
		assert.ErrorIs(t, err, http.ErrSchemeMismatch)
		assert.Contains(t, err.Error(), "this port speaks plain http")
	})
	t.Run("npm plain port", func(t *testing.T) {
		c, err := npm.NewClient(https, npm.WithCredentials("a@b.c", secret.New("pw")), npm.WithRetries(0))
		require.NoError(t, err)
		defer c.Close()
		_, err = c.Health(ctx)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "this port speaks plain http: use http://")
	})
}
