package proxmox_test

import (
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/proxmox"
	"github.com/thehomelab/homelab/proxmox/proxmoxtest"
	"github.com/thehomelab/homelab/secret"
)

func TestCIFSStorageLifecycle(t *testing.T) {
	t.Parallel()
	srv, c := newLab(t)
	ctx := t.Context()
	st := proxmox.CIFSStorage{ID: "nas-backups", Server: "192.168.88.10", Share: "backups", Username: "proxmox",
		Password: secret.New("smb-pass"), SMBVersion: "3.0", Content: []string{"backup"},
		PruneBackups: &proxmox.PruneSpec{Daily: 7, Weekly: 4}}
	require.NoError(t, c.Storage.AddCIFS(ctx, st))
	assert.Equal(t, "smb-pass", srv.StoragePassword("nas-backups"))

	got, err := c.Storage.Get(ctx, "nas-backups")
	require.NoError(t, err)
	assert.Equal(t, "cifs", got.Type)
	assert.Equal(t, []string{"backup"}, got.Content)
	assert.Equal(t, "keep-daily=7,keep-weekly=4", got.Raw["prune-backups"])
	assert.NotContains(t, got.Raw, "password")

	err = c.Storage.AddCIFS(ctx, st)
	require.ErrorIs(t, err, proxmox.ErrConflict)
	assert.NotContains(t, err.Error(), "smb-pass")

	all, err := c.Storage.List(ctx, "cifs")
	require.NoError(t, err)
	assert.Len(t, all, 2)

	status, err := c.Storage.Status(ctx, proxmoxtest.Node, "nas-backups")
	require.NoError(t, err)
	assert.True(t, status.Active)
	assert.Equal(t, status.Total-status.Used, status.Avail)

	usage, err := c.Storage.Usage(ctx, proxmoxtest.Node, "backup")
	require.NoError(t, err)
	var ids []string
	for _, u := range usage {
		ids = append(ids, u.ID)
	}
	assert.ElementsMatch(t, []string{"backups", "local", "nas-backups"}, ids)

	require.NoError(t, c.Storage.Remove(ctx, "nas-backups"))
	_, err = c.Storage.Get(ctx, "nas-backups")
	assert.ErrorIs(t, err, proxmox.ErrNotFound)
	assert.ErrorIs(t, c.Storage.Remove(ctx, "nas-backups"), proxmox.ErrNotFound)
}

func TestCIFSMountFailureWritesNothing(t *testing.T) {
	t.Parallel()
	srv, c := newLab(t)
	srv.FailMount("NT_STATUS_LOGON_FAILURE")
	err := c.Storage.AddCIFS(t.Context(), proxmox.CIFSStorage{ID: "x1", Server: "h", Share: "s"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "create storage failed: mount error: NT_STATUS_LOGON_FAILURE")
	_, err = c.Storage.Get(t.Context(), "x1")
	assert.ErrorIs(t, err, proxmox.ErrNotFound)
	assert.ErrorIs(t, c.Storage.AddCIFS(t.Context(), proxmox.CIFSStorage{ID: "-bad", Server: "h", Share: "s"}), proxmox.ErrInvalid)
}

func TestEnsureCIFS(t *testing.T) {
	t.Parallel()
	srv, c := newLab(t)
	ctx := t.Context()
	st := proxmox.CIFSStorage{ID: "nas", Server: "192.168.88.10", Share: "backups", Username: "proxmox",
		Password: secret.New("pw1"), Content: []string{"backup", "iso"}, PruneBackups: &proxmox.PruneSpec{Daily: 7}}
	res, err := c.Storage.EnsureCIFS(ctx, st)
	changed := fieldsOf(res.Changes)
	require.NoError(t, err)
	assert.Contains(t, changed, "storage")
	srv.ResetRequests()
	res, err = c.Storage.EnsureCIFS(ctx, st)
	changed = fieldsOf(res.Changes)
	require.NoError(t, err)
	assert.Empty(t, changed)
	assert.Len(t, srv.Requests(), 1, "only the read")

	st.Content = []string{"iso", "backup"} // same set
	st.Username = ""
	st.SMBVersion = "3.11"
	res, err = c.Storage.EnsureCIFS(ctx, st)
	changed = fieldsOf(res.Changes)
	require.NoError(t, err)
	assert.Equal(t, []string{"smbversion", "username"}, changed)
	put := srv.Requests()[len(srv.Requests())-1]
	assert.Equal(t, "username", put.Params.Get("delete"))
	assert.Empty(t, put.Params.Get("password"), "password not resent")

	require.NoError(t, c.Storage.SetPassword(ctx, "nas", secret.New("pw2")))
	assert.Equal(t, "pw2", srv.StoragePassword("nas"))

	st.Share = "other"
	_, err = c.Storage.EnsureCIFS(ctx, st)
	assert.ErrorIs(t, err, proxmox.ErrConflict)
	// server is fixed too in PVE's CIFS plugin: refused before any write
	st.Share, st.Server = "backups", "192.168.88.11"
	srv.ResetRequests()
	_, err = c.Storage.EnsureCIFS(ctx, st)
	assert.ErrorIs(t, err, proxmox.ErrConflict)
	assert.Len(t, srv.Requests(), 1, "only the read")
	err = c.Do(ctx, "PUT", "/storage/nas", url.Values{"server": {"192.168.88.11"}}, nil)
	assert.ErrorContains(t, err, "can't change value of fixed parameter 'server'", "what PVE answers")
	_, err = c.Storage.EnsureCIFS(ctx, proxmox.CIFSStorage{ID: "local", Server: "x", Share: "y"})
	assert.ErrorIs(t, err, proxmox.ErrConflict)
}
