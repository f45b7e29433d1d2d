package main

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/omv/omvtest"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

var nasEnv = env(map[string]string{"OMV_PASSWORD": omvtest.AdminPassword, "SHARE_OWNER_PASSWORD": "correct horse"})

func TestShare(t *testing.T) {
	t.Parallel()
	srv := omvtest.Start(t)
	args := []string{"-nas", srv.URL, "-name", "photos", "-owner", "anna", "-quota-gib", "100", "-recycle-bin", "-poll", "10ms"}
	var out, errOut bytes.Buffer
	require.Equal(t, 0, run(t.Context(), args, &out, &errOut, nasEnv), errOut.String())
	assert.Contains(t, out.String(), "Wrote quota of anna = 100 GiB.")
	assert.Contains(t, srv.ExportedShares(), "photos")
	assert.Equal(t, int64(100<<20), srv.Quota(omvtest.FilesystemUUID, "anna"), "quota in KiB")
	assert.NotContains(t, out.String(), "correct horse")

	out.Reset()
	require.Equal(t, 0, run(t.Context(), args, &out, &errOut, nasEnv), errOut.String())
	assert.Contains(t, out.String(), "Share photos for anna is already as wanted: nothing changed.\n")
}

func TestShareFailures(t *testing.T) {
	t.Parallel()
	srv := omvtest.Start(t)
	tests := []struct {
		name string
		args []string
		env  func(string) string
		code int
		want string
	}{
		{"wrong password", []string{"-nas", srv.URL, "-name", "photos", "-owner", "anna"},
			env(map[string]string{"OMV_PASSWORD": "wrong-password"}), 3, "share: omv:"},
		{"no owner", []string{"-name", "photos"}, nasEnv, 2, "-name and -owner are required"},
		{"new owner without password", []string{"-nas", srv.URL, "-name", "photos", "-owner", "bob"},
			env(map[string]string{"OMV_PASSWORD": omvtest.AdminPassword}), 2, "set SHARE_OWNER_PASSWORD"},
		{"negative quota", []string{"-name", "photos", "-owner", "anna", "-quota-gib", "-1"}, nasEnv, 2, "-quota-gib"},
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
