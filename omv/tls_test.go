package omv_test

import (
	"crypto/x509"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/internal/tlspin"
	"github.com/thehomelab/homelab/omv"
	"github.com/thehomelab/homelab/omv/omvtest"
	"github.com/thehomelab/homelab/secret"
)

func TestTLSPinningAndRoots(t *testing.T) {
	t.Parallel()
	srv := omvtest.NewServer(omvtest.WithTLS())
	t.Cleanup(srv.Close)
	creds := omv.WithCredentials(omvtest.AdminUser, secret.New(omvtest.AdminPassword))

	// Unverified certificate: refused, never skipped.
	c, err := omv.NewClient(srv.URL, creds, omv.WithRetries(0))
	require.NoError(t, err)
	err = c.Login(t.Context())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "certificate")

	// Pinned: accepted.
	pin := "sha256:" + tlspin.Of(srv.Certificate()).String()
	c, err = omv.NewClient(srv.URL, creds, omv.WithFingerprint(pin))
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	_, err = c.Info(t.Context())
	require.NoError(t, err)

	// Wrong pin: MismatchError shows what was seen.
	wrong := "sha256:" + tlspin.Fingerprint{1, 2, 3}.String()
	c2, err := omv.NewClient(srv.URL, creds, omv.WithFingerprint(wrong), omv.WithRetries(0))
	require.NoError(t, err)
	err = c2.Login(t.Context())
	var mm *tlspin.MismatchError
	require.True(t, errors.As(err, &mm), "%v", err)
	var fm *omv.FingerprintMismatchError
	require.ErrorAs(t, err, &fm, "errors.As reaches the fingerprint seen")
	assert.Equal(t, srv.Fingerprint(), fm.Got)
	assert.ErrorIs(t, err, omv.ErrUnavailable)

	// The fake's own pin works as it is printed.
	c4, err := omv.NewClient(srv.URL, creds, omv.WithFingerprint(srv.Fingerprint()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = c4.Close() })
	require.NoError(t, c4.Login(t.Context()))

	// Root CA.
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	c3, err := omv.NewClient(srv.URL, creds, omv.WithRootCAs(pool))
	require.NoError(t, err)
	t.Cleanup(func() { _ = c3.Close() })
	require.NoError(t, c3.Login(t.Context()))
}

func TestJobFromCall(t *testing.T) {
	t.Parallel()
	_, c := newPair(t, nil)
	var file string
	require.NoError(t, c.Call(t.Context(), "Config", "applyChangesBg", map[string]any{"modules": []string{}, "force": false}, &file))
	job := c.Job(file)
	require.NoError(t, job.Wait(t.Context()))
	assert.Empty(t, job.Output(), "applyChangesBg writes no output")
}
