package proxmox_test

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/proxmox"
	"github.com/thehomelab/homelab/proxmox/proxmoxtest"
)

// Backups.Config returns the config of when the backup was made: a disk
// added afterwards is not in it.
func TestBackupConfigIsTheArchivedOne(t *testing.T) {
	t.Parallel()
	srv, c := newLab(t)
	ctx := t.Context()
	srv.AddGuest(proxmoxtest.Guest{VMID: 150, Node: proxmoxtest.Node, Type: "qemu", Name: "web", Config: map[string]string{
		"scsi0": "local-lvm:vm-150-disk-0,size=8G", "cores": "2", "description": "the web\nserver"}})
	require.NoError(t, c.Backups.Vzdump(ctx, []proxmox.VMID{150}, proxmox.VzdumpOptions{Storage: "backups", Compress: "zstd", NoPrune: true}))
	vols, err := c.Backups.List(ctx, proxmoxtest.Node, "backups", proxmox.ListOptions{VMID: 150})
	require.NoError(t, err)
	require.Len(t, vols, 1)
	require.NoError(t, c.Do(ctx, http.MethodPut, "/nodes/"+proxmoxtest.Node+"/qemu/150/config", url.Values{"scsi1": {"local-lvm:4"}}, nil))

	ac, err := c.Backups.Config(ctx, proxmoxtest.Node, vols[0].VolID)
	require.NoError(t, err)
	assert.Equal(t, vols[0].VolID, ac.VolID)
	assert.Equal(t, "#the web\n#server\ncores: 2\nname: web\nscsi0: local-lvm:vm-150-disk-0,size=8G\n", ac.Text)
	assert.Equal(t, proxmox.GuestRef{Node: proxmoxtest.Node, Type: proxmox.TypeVM, VMID: 150}, ac.Config.Ref)
	assert.Equal(t, "web", ac.Config.Name)
	assert.Equal(t, 2, ac.Config.Cores)
	assert.Equal(t, "the web\nserver", ac.Config.Description)
	assert.Contains(t, ac.Config.Disks, "scsi0")
	assert.NotContains(t, ac.Config.Disks, "scsi1", "added after the backup")
	assert.NotContains(t, ac.Config.Raw, "scsi1")
}

func TestBackupConfigErrors(t *testing.T) {
	t.Parallel()
	srv, c := newLab(t)
	ctx := t.Context()
	missing := "backups:backup/vzdump-lxc-101-2026_01_01-00_00_00.tar.zst"
	_, err := c.Backups.Config(ctx, proxmoxtest.Node, missing)
	require.ErrorIs(t, err, proxmox.ErrNotFound)
	assert.Contains(t, err.Error(), "does not exist")
	var pe *proxmox.Error
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, 500, pe.StatusCode)

	_, err = c.Backups.Config(ctx, proxmoxtest.Node, "backups:backup/vzdump-qemu-100-2026_01_01-00_00_00.vma.zst")
	require.ErrorIs(t, err, proxmox.ErrNotFound, "zstd's \"No such file or directory\"")

	_, err = c.Backups.Config(ctx, proxmoxtest.Node, "no-storage-prefix")
	require.ErrorIs(t, err, proxmox.ErrInvalid)
	_, err = c.Backups.Config(ctx, "bad node!", missing)
	require.ErrorIs(t, err, proxmox.ErrInvalid)

	srv.SetPrivileges(proxmoxtest.TokenID, "/", "Datastore.AllocateSpace")
	_, err = c.Backups.Config(ctx, proxmoxtest.Node, missing)
	require.ErrorIs(t, err, proxmox.ErrPermission)
	assert.Contains(t, err.Error(), "Permission check failed (/vms/101, VM.Backup)")

	srv.Inject(proxmoxtest.Fault{Path: "/vzdump/extractconfig", Status: 501, Reason: "Method 'GET /nodes/proxmox1/vzdump/extractconfig' not implemented", Times: 1})
	_, err = c.Backups.Config(ctx, proxmoxtest.Node, missing)
	require.ErrorIs(t, err, errors.ErrUnsupported, "an older PVE")
	assert.NotErrorIs(t, err, proxmox.ErrNotFound)

	srv.Inject(proxmoxtest.Fault{Path: "/vzdump/extractconfig", Status: 200, Body: `{"data":"` + strings.Repeat("x", 2<<20) + `"}`, Times: 1})
	_, err = c.Backups.Config(ctx, proxmoxtest.Node, missing)
	require.ErrorIs(t, err, proxmox.ErrTooLarge)
}
