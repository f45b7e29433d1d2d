package tlspin

import (
	"crypto/x509"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func server(t *testing.T) (*httptest.Server, Fingerprint) {
	t.Helper()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok"))
	}))
	t.Cleanup(srv.Close)
	return srv, Of(srv.Certificate())
}

func get(t *testing.T, url string, o Options) error {
	t.Helper()
	cfg, err := Config(o)
	require.NoError(t, err)
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
	resp, err := c.Get(url)
	if err == nil {
		_ = resp.Body.Close()
	}
	return err
}

func TestParseFingerprintForms(t *testing.T) {
	t.Parallel()
	hexs := strings.Repeat("ab", 32)
	colon := strings.ToUpper(strings.TrimSuffix(strings.Repeat("AB:", 32), ":"))
	want, err := ParseFingerprint(hexs)
	require.NoError(t, err)
	for _, in := range []string{hexs, strings.ToUpper(hexs), colon, strings.ToLower(colon), "sha256:" + hexs, "SHA256:" + colon, " " + hexs + " "} {
		got, err := ParseFingerprint(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, bad := range []string{"", "abc", strings.Repeat("zz", 32), strings.Repeat("ab", 31), "sha1:" + hexs} {
		_, err := ParseFingerprint(bad)
		assert.ErrorIs(t, err, ErrBadFingerprint, bad)
	}
	assert.Equal(t, colon, want.String())
}

func TestPinAccepted(t *testing.T) {
	t.Parallel()
	srv, fp := server(t)
	for _, form := range []string{fp.String(), "sha256:" + strings.ReplaceAll(strings.ToLower(fp.String()), ":", "")} {
		assert.NoError(t, get(t, srv.URL, Options{Fingerprint: form}))
	}
}

func TestWrongPinRejectedWithSeenFingerprint(t *testing.T) {
	t.Parallel()
	srv, fp := server(t)
	err := get(t, srv.URL, Options{Fingerprint: strings.Repeat("00", 32)})
	require.Error(t, err)
	var mm *MismatchError
	require.True(t, errors.As(err, &mm), "got %v", err)
	assert.Equal(t, "sha256:"+fp.String(), mm.Got)
	assert.Contains(t, err.Error(), fp.String(), "error must show the fingerprint seen")
}

func TestNoPinNoCARejected(t *testing.T) {
	t.Parallel()
	srv, _ := server(t)
	err := get(t, srv.URL, Options{})
	require.Error(t, err)
	var uerr x509.UnknownAuthorityError
	assert.True(t, errors.As(err, &uerr), "got %v", err)
}

func TestRootCAsAccepted(t *testing.T) {
	t.Parallel()
	srv, _ := server(t)
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	assert.NoError(t, get(t, srv.URL, Options{RootCAs: pool}))
}

func TestBadPinOption(t *testing.T) {
	t.Parallel()
	_, err := Config(Options{Fingerprint: "nope"})
	assert.ErrorIs(t, err, ErrBadFingerprint)
}
