package proxmox_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/proxmox"
	"github.com/thehomelab/homelab/proxmox/proxmoxtest"
	"github.com/thehomelab/homelab/secret"
)

func TestNilOptionIsSkipped(t *testing.T) {
	t.Parallel()
	srv, _ := newLab(t)
	c, err := proxmox.NewClient(srv.URL, nil, proxmox.WithFingerprint(srv.Fingerprint()), nil,
		proxmox.WithAPIToken(proxmoxtest.TokenID, secret.New(proxmoxtest.TokenSecret)), nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	_, err = c.Version(t.Context())
	require.NoError(t, err)
}

func TestNewClientRejectsMissingCredentials(t *testing.T) {
	t.Parallel()
	_, err := proxmox.NewClient("https://pve", proxmox.WithFingerprint(strings.Repeat("AB:", 31)+"AB"))
	require.ErrorIs(t, err, proxmox.ErrInvalid)
	assert.Contains(t, err.Error(), "no credentials")
	assert.Equal(t, 1, strings.Count(err.Error(), "proxmox:"), err.Error())
	_, err = proxmox.NewClient("https://pve", proxmox.WithCredentials("root@pam", secret.Secret{}))
	require.ErrorIs(t, err, proxmox.ErrInvalid)
	assert.Equal(t, 1, strings.Count(err.Error(), "proxmox:"), err.Error())
}

func TestErrorsMatchClassSentinels(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		fault proxmoxtest.Fault
		is    error
	}{
		{"401", proxmoxtest.Fault{Status: 401, Reason: "No ticket"}, proxmox.ErrAuth},
		{"403", proxmoxtest.Fault{Status: 403, Reason: "Permission check failed (/, Sys.Audit)"}, proxmox.ErrPermission},
		{"404", proxmoxtest.Fault{Status: 404, Reason: "Not Found"}, proxmox.ErrNotFound},
		{"400", proxmoxtest.Fault{Status: 400, Reason: "Parameter verification failed."}, proxmox.ErrInvalid},
		{"locked", proxmoxtest.Fault{Status: 500, Reason: "VM is locked (backup)"}, proxmox.ErrConflict},
		{"503", proxmoxtest.Fault{Status: 503, Reason: "Service Unavailable"}, proxmox.ErrUnavailable},
		{"595", proxmoxtest.Unreachable595, proxmox.ErrUnavailable},
		{"596 node", proxmoxtest.Timeout596, proxmox.ErrNodeUnreachable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, c := newLab(t)
			f := tt.fault
			f.Path = "^/cluster/resources$"
			srv.Inject(f)
			_, err := c.Inventory(t.Context())
			require.ErrorIs(t, err, tt.is)
			var pe *proxmox.Error
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, tt.fault.Status, pe.StatusCode)
			assert.Equal(t, 1, strings.Count(err.Error(), "proxmox:"), err.Error())
		})
	}

	t.Run("closed", func(t *testing.T) {
		t.Parallel()
		_, c := newLab(t)
		require.NoError(t, c.Close())
		_, err := c.Inventory(t.Context())
		require.ErrorIs(t, err, proxmox.ErrClosed)
		var pe *proxmox.Error
		require.ErrorAs(t, err, &pe)
	})
	t.Run("unreachable", func(t *testing.T) {
		t.Parallel()
		srv, _ := newLab(t)
		c := newClient(t, srv)
		srv.Close()
		_, err := c.Inventory(t.Context())
		require.ErrorIs(t, err, proxmox.ErrUnavailable)
		var pe *proxmox.Error
		require.ErrorAs(t, err, &pe)
	})
	t.Run("root required is a permission", func(t *testing.T) {
		t.Parallel()
		_, c := newLab(t)
		_, err := c.Disks.Attach(t.Context(), nas, "x", proxmox.AttachOptions{})
		require.ErrorIs(t, err, proxmox.ErrRootRequired)
		require.ErrorIs(t, err, proxmox.ErrPermission)
	})
}

func TestFingerprintMismatchReachable(t *testing.T) {
	t.Parallel()
	srv, _ := newLab(t)
	c, err := proxmox.NewClient(srv.URL, proxmox.WithFingerprint(strings.Repeat("AB:", 31)+"AB"), proxmox.WithRetries(0),
		proxmox.WithAPIToken(proxmoxtest.TokenID, secret.New(proxmoxtest.TokenSecret)))
	require.NoError(t, err)
	_, err = c.Version(t.Context())
	var mm *proxmox.FingerprintMismatchError
	require.ErrorAs(t, err, &mm)
	assert.Equal(t, "sha256:"+srv.Fingerprint(), mm.Got)
	assert.False(t, errors.Is(err, proxmox.ErrAuth))
}

func TestDoEscapeHatch(t *testing.T) {
	t.Parallel()
	_, c := newLab(t)
	var v struct {
		Release string `json:"release"`
	}
	require.NoError(t, c.Do(t.Context(), http.MethodGet, "/version", nil, &v))
	assert.Equal(t, "9.0", v.Release)
	assert.ErrorIs(t, c.Do(t.Context(), "PATCH", "/version", nil, nil), proxmox.ErrInvalid)
	assert.ErrorIs(t, c.Do(t.Context(), http.MethodGet, "/version?x=1", nil, nil), proxmox.ErrInvalid)
}
