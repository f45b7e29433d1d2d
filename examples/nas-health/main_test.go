package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/omv/omvtest"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

var nasEnv = env(map[string]string{"OMV_PASSWORD": omvtest.AdminPassword})

func TestNASHealth(t *testing.T) {
	t.Parallel()
	srv := omvtest.Start(t)
	var out, errOut bytes.Buffer
	require.Equal(t, 0, run(t.Context(), []string{"-nas", srv.URL}, &out, &errOut, nasEnv), errOut.String())
	assert.Contains(t, out.String(), "Array md0 raid1 clean")
	assert.Contains(t, out.String(), "The NAS is healthy.\n")

	// A failed member is a problem: status 1, said once on stderr.
	require.NoError(t, srv.FailMember("md0", "sdb"))
	out.Reset()
	assert.Equal(t, 1, run(t.Context(), []string{"-nas", srv.URL}, &out, &errOut, nasEnv))
	assert.Equal(t, "nas-health: unhealthy: array md0 is degraded\n", errOut.String())
}

func TestNASHealthFailures(t *testing.T) {
	t.Parallel()
	srv := omvtest.Start(t)
	tests := []struct {
		name string
		args []string
		env  func(string) string
		code int
		want string
	}{
		{"full", []string{"-nas", srv.URL, "-full", "20"}, nasEnv, 1, "filesystem /dev/md0 is 25% full"},
		{"wrong password", []string{"-nas", srv.URL}, env(map[string]string{"OMV_PASSWORD": "wrong-password"}), 3, "nas-health: omv:"},
		{"no password", []string{"-nas", srv.URL}, env(nil), 2, "set OMV_PASSWORD"},
		{"stray argument", []string{"now"}, nasEnv, 2, "unexpected arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out, errOut bytes.Buffer
			assert.Equal(t, tt.code, run(t.Context(), tt.args, &out, &errOut, tt.env))
			assert.Contains(t, errOut.String(), tt.want)
			assert.NotContains(t, errOut.String(), "wrong-password")
		})
	}
}

// An untrusted certificate: status 3, and the error shows the flag and the
// fingerprint that pin it.
func TestNASHealthUnknownCertificate(t *testing.T) {
	t.Parallel()
	srv := omvtest.Start(t, omvtest.WithTLS())
	var out, errOut bytes.Buffer
	assert.Equal(t, 3, run(t.Context(), []string{"-nas", srv.URL}, &out, &errOut, nasEnv))
	assert.Contains(t, errOut.String(), "(the examples: -nas-fingerprint "+srv.Fingerprint()+")")
	assert.Equal(t, 1, strings.Count(errOut.String(), "pin it"), "the advice is given once")

	errOut.Reset()
	assert.Equal(t, 0, run(t.Context(), []string{"-nas", srv.URL, "-nas-fingerprint", srv.Fingerprint()}, &out, &errOut, nasEnv), errOut.String())
}
