package npm_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/npm"
	"github.com/thehomelab/homelab/npm/npmtest"
	"github.com/thehomelab/homelab/secret"
)

func TestCertificateLifecycle(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := t.Context()
	cs, err := f.c.Certificates.List(ctx)
	require.NoError(t, err)
	require.Len(t, cs, 1)
	w := cs[0]
	assert.Equal(t, npm.ProviderLetsEncrypt, w.Provider)
	assert.True(t, w.DNSChallenge)
	assert.Equal(t, "cloudflare", w.DNSProvider)
	assert.True(t, w.Covers("nextcloud.thehomelab.site"))
	assert.True(t, w.Covers("thehomelab.site"))
	assert.False(t, w.Covers("a.b.thehomelab.site"))
	assert.False(t, w.Covers("example.com"))

	c, err := f.c.Certificates.CreateLetsEncrypt(ctx, npm.LetsEncryptRequest{
		Domains: []string{"*.lab.thehomelab.site", "lab.thehomelab.site"}, CloudflareToken: secret.New("cf-token-abcdef"), PropagationSeconds: 30, KeyType: "ecdsa",
	})
	require.NoError(t, err)
	assert.Equal(t, "*.lab.thehomelab.site, lab.thehomelab.site", c.NiceName)
	assert.WithinDuration(t, f.srv.Now().Add(90*24*time.Hour), c.ExpiresOn, time.Minute, "90 days (wall clock: a loaded machine may take seconds)")
	assert.Equal(t, "ecdsa", c.KeyType)

	f.srv.Advance(40 * 24 * time.Hour)
	r, err := f.c.Certificates.Renew(ctx, c.ID)
	require.NoError(t, err)
	assert.True(t, r.ExpiresOn.After(c.ExpiresOn))

	require.NoError(t, f.c.Certificates.Delete(ctx, c.ID))
	_, err = f.c.Certificates.Get(ctx, c.ID)
	require.ErrorIs(t, err, npm.ErrNotFound)

	// A wildcard without the DNS challenge is refused before sending.
	_, err = f.c.Certificates.CreateLetsEncrypt(ctx, npm.LetsEncryptRequest{Domains: []string{"*.x.thehomelab.site"}})
	require.ErrorIs(t, err, npm.ErrInvalid)

	// A token with a line break would add lines to certbot's credentials
	// file; it is refused before sending, and not echoed.
	f.n.n.Store(0)
	_, err = f.c.Certificates.CreateLetsEncrypt(ctx, npm.LetsEncryptRequest{Domains: []string{"inj.thehomelab.site"}, CloudflareToken: secret.New("tok-abcdef\ndns_cloudflare_email = x@y.z")})
	require.ErrorIs(t, err, npm.ErrInvalid)
	assert.NotContains(t, err.Error(), "tok-abcdef")
	assert.Zero(t, f.n.n.Load(), "nothing sent")
}

func TestCertificateFailureLeavesNoRow(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := t.Context()
	f.srv.FailCertificates(func([]string) error { return errors.New("DNS problem: NXDOMAIN looking up TXT") })
	_, err := f.c.Certificates.CreateLetsEncrypt(ctx, npm.LetsEncryptRequest{Domains: []string{"x.thehomelab.site"}, CloudflareToken: secret.New("cf-token-abcdef")})
	var ae *npm.Error
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, 500, ae.StatusCode)
	assert.Len(t, f.srv.Certificates(), 1, "only the seeded certificate")
}

func TestCertificateSlowIssuanceCancelled(t *testing.T) {
	t.Parallel()
	for _, detached := range []bool{false, true} {
		t.Run(fmt.Sprintf("server goes on: %v", detached), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, nil)
			require.NoError(t, f.c.Login(t.Context()))
			_, err := f.c.ServerVersion(t.Context())
			require.NoError(t, err)
			// A real NPM keeps running certbot after the client hangs up
			// and keeps the row it inserted first; the client must delete
			// it. The default fake aborts with the request.
			f.srv.DetachIssuance(detached)
			f.srv.SetCertificateLatency(400 * time.Millisecond)
			ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
			defer cancel()
			start := time.Now()
			_, err = f.c.Certificates.CreateLetsEncrypt(ctx, npm.LetsEncryptRequest{Domains: []string{"slow.thehomelab.site"}, CloudflareToken: secret.New("cf-token-abcdef")})
			require.ErrorIs(t, err, context.DeadlineExceeded)
			assert.Less(t, time.Since(start), 10*time.Second)
			assert.Eventually(t, func() bool { return len(f.srv.Certificates()) == 1 }, 5*time.Second, 10*time.Millisecond)
			// Once issuance would have finished, nothing came back.
			assert.Never(t, func() bool { return len(f.srv.Certificates()) != 1 }, time.Second, 20*time.Millisecond)
		})
	}
}

func TestCertificateVersionPayloads(t *testing.T) {
	t.Parallel()
	req := npm.LetsEncryptRequest{Domains: []string{"old.thehomelab.site"}, CloudflareToken: secret.New("cf-token-abcdef"), Email: "admin@thehomelab.site"}
	for _, v := range []string{"2.12.6", "2.13.0", "2.15.1"} {
		t.Run(v, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, []npmtest.Option{npmtest.WithVersion(v)})
			// letsencrypt_email goes only to ≤2.12 (newer servers reject it).
			_, err := f.c.Certificates.CreateLetsEncrypt(t.Context(), req)
			require.NoError(t, err)
		})
	}
	f := newFixture(t, []npmtest.Option{npmtest.WithVersion("2.12.6")})
	noMail := req
	noMail.Email = ""
	_, err := f.c.Certificates.CreateLetsEncrypt(t.Context(), noMail)
	require.ErrorIs(t, err, npm.ErrInvalid)
	keyed := req
	keyed.KeyType = "rsa"
	_, err = f.c.Certificates.CreateLetsEncrypt(t.Context(), keyed)
	require.ErrorIs(t, err, npm.ErrUnsupported)

	// The server itself rejects letsencrypt_email since 2.13.
	f13 := newFixture(t, []npmtest.Option{npmtest.WithVersion("2.13.0")}, npm.WithVersion("2.12.6"))
	_, err = f13.c.Certificates.CreateLetsEncrypt(t.Context(), req)
	require.ErrorIs(t, err, npm.ErrInvalid)
	assert.Contains(t, err.Error(), "data/meta must NOT have additional properties")
}

func selfSigned(t *testing.T, cn string, notAfter time.Time) ([]byte, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn}, DNSNames: []string{cn},
		NotBefore: notAfter.Add(-365 * 24 * time.Hour), NotAfter: notAfter}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	kd, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd})
}

func TestUploadCustomCertificate(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := t.Context()
	notAfter := f.srv.Now().Add(200 * 24 * time.Hour).Truncate(time.Second)
	certPEM, keyPEM := selfSigned(t, "internal.thehomelab.site", notAfter)
	c, err := f.c.Certificates.UploadCustom(ctx, npm.CustomCertificate{NiceName: "internal", Certificate: certPEM, Key: secret.New(string(keyPEM))})
	require.NoError(t, err)
	assert.Equal(t, npm.ProviderCustom, c.Provider)
	assert.Equal(t, []string{"internal.thehomelab.site"}, c.Domains)
	assert.True(t, c.ExpiresOn.Equal(notAfter))

	// A broken upload leaves no empty row.
	_, err = f.c.Certificates.UploadCustom(ctx, npm.CustomCertificate{NiceName: "broken", Certificate: []byte("not a pem"), Key: secret.New("nope")})
	require.ErrorIs(t, err, npm.ErrInvalid)
	assert.Len(t, f.srv.Certificates(), 2)

	// Renew is for Let's Encrypt only.
	_, err = f.c.Certificates.Renew(ctx, c.ID)
	require.ErrorIs(t, err, npm.ErrInvalid)
	assert.Contains(t, err.Error(), "Only Let'sEncrypt certificates can be renewed")
}

func TestUploadCustomFailedCleanupReported(t *testing.T) {
	t.Parallel()
	f := newFailingFixture(t, func(r *http.Request) bool { return r.Method == http.MethodDelete }, 1)
	_, err := f.c.Certificates.UploadCustom(t.Context(), npm.CustomCertificate{NiceName: "broken", Certificate: []byte("not a pem"), Key: secret.New("nope")})
	require.ErrorIs(t, err, npm.ErrInvalid)
	assert.Contains(t, err.Error(), "delete certificate", "the empty row left behind is reported")
	assert.Len(t, f.srv.Certificates(), 2)
}

func TestExpiringReport(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := t.Context()
	// The seeded wildcard expires 60 days from now.
	soon, err := f.c.Certificates.Expiring(ctx, 30*24*time.Hour)
	require.NoError(t, err)
	assert.Empty(t, soon)
	f.srv.Advance(45 * 24 * time.Hour)
	soon, err = f.c.Certificates.Expiring(ctx, 30*24*time.Hour)
	require.NoError(t, err)
	require.Len(t, soon, 1)
	assert.EqualValues(t, npmtest.WildcardCertificateID, soon[0].ID)
}

func TestUploadCustomCancelledLeavesNoRow(t *testing.T) {
	t.Parallel()
	srv := npmtest.NewServer()
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	lose := &losing{base: http.DefaultTransport, cancel: cancel, match: func(r *http.Request) bool {
		return r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/nginx/certificates")
	}}
	c, err := npm.NewClient(srv.URL, npm.WithCredentials(npmtest.AdminEmail, secret.New(npmtest.AdminPassword)),
		npm.WithHTTPClient(&http.Client{Transport: lose}))
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	certPEM, keyPEM := selfSigned(t, "internal.thehomelab.site", srv.Now().Add(200*24*time.Hour))
	_, err = c.Certificates.UploadCustom(ctx, npm.CustomCertificate{NiceName: "internal", Certificate: certPEM, Key: secret.New(string(keyPEM))})
	require.ErrorIs(t, err, context.Canceled)
	require.True(t, lose.done.Load(), "the create reached the server")
	assert.Len(t, srv.Certificates(), 1, "no empty row left")
}
