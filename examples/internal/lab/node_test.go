package lab

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/backup"
	"github.com/thehomelab/homelab/proxmox/proxmoxtest"
)

// The node double serves backup.CopyVerified end to end: the archive the
// fake lists on local is copied to the share, verified and listed there; a
// flipped byte is caught and leaves nothing behind.
func TestNodeCopyVerified(t *testing.T) {
	t.Parallel()
	l, err := Start(t.Context())
	require.NoError(t, err)
	t.Cleanup(l.Close)
	srv, n := l.ProxmoxServer, l.Node
	at := time.Date(2026, 12, 1, 4, 0, 0, 0, time.UTC)
	vol := srv.AddBackup(proxmoxtest.Backup{Storage: "local", VMID: 100, Type: "qemu", Time: at})
	src := "/var/lib/vz/dump/vzdump-qemu-100-2026_12_01-04_00_00.vma.zst"
	require.Equal(t, "local:backup/vzdump-qemu-100-2026_12_01-04_00_00.vma.zst", vol)

	res, err := backup.CopyVerified(t.Context(), n, src, "/mnt/pve/backups/dump", backup.CopyOptions{Sidecars: true, ChunkSize: 100 << 10})
	require.NoError(t, err)
	assert.Equal(t, int64(ArchiveSize), res.Size)
	assert.Equal(t, "/mnt/pve/backups/dump/vzdump-qemu-100-2026_12_01-04_00_00.vma.zst", res.Path)
	assert.Contains(t, srv.Backups("backups"), "backups:backup/vzdump-qemu-100-2026_12_01-04_00_00.vma.zst", "the moved archive is listed")
	copied, ok := n.File(res.Path)
	require.True(t, ok)
	original, _ := n.File(src)
	assert.Equal(t, original, copied)

	// Again: the same archive is already there, nothing is copied.
	again, err := backup.CopyVerified(t.Context(), n, src, "/mnt/pve/backups/dump", backup.CopyOptions{})
	require.NoError(t, err)
	assert.Equal(t, res.SHA256, again.SHA256)

	// A flipped byte on the way fails the copy and leaves no temporary file.
	srv.AddBackup(proxmoxtest.Backup{Storage: "local", VMID: 101, Type: "lxc", Time: at})
	n.CorruptNextCopy()
	_, err = backup.CopyVerified(t.Context(), n, "/var/lib/vz/dump/vzdump-lxc-101-2026_12_01-04_00_00.tar.zst", "/mnt/pve/backups/dump", backup.CopyOptions{})
	require.ErrorIs(t, err, backup.ErrVerify)
	assert.Contains(t, err.Error(), "sha-256 of the copy")
	n.mu.Lock()
	for p := range n.files {
		assert.NotContains(t, p, ".tmp-", "temporary file left behind")
	}
	n.mu.Unlock()
	assert.NotContains(t, srv.Backups("backups"), "backups:backup/vzdump-lxc-101-2026_12_01-04_00_00.tar.zst")

	// An archive deleted through the API is gone from the node too.
	_, ok = n.File(src)
	require.True(t, ok)
	require.NoError(t, l.Proxmox.Backups.Delete(t.Context(), proxmoxtest.Node, vol))
	_, ok = n.File(src)
	assert.False(t, ok, "deleted through the API")
}

// The double answers like coreutils where CopyVerified reads the answer,
// and refuses what it does not implement.
func TestNodeCommands(t *testing.T) {
	t.Parallel()
	l, err := Start(t.Context())
	require.NoError(t, err)
	t.Cleanup(l.Close)
	n := l.Node
	exit := func(err error) string {
		var e *backup.Error
		if !errors.As(err, &e) {
			return ""
		}
		return e.Code + ": " + e.Message
	}

	_, err = n.Run(t.Context(), "stat", "-L", "-c", "%s", "--", "/var/lib/vz/dump/nothing")
	assert.Equal(t, "exit 1: stat: cannot statx '/var/lib/vz/dump/nothing': No such file or directory", exit(err))
	_, err = n.Run(t.Context(), "test", "-d", "/mnt/pve/elsewhere")
	assert.Equal(t, "exit 1: exit status 1", exit(err))
	out, err := n.Run(t.Context(), "test", "-d", "/mnt/pve/backups/dump")
	require.NoError(t, err)
	assert.Empty(t, out)
	out, err = n.Run(t.Context(), "df", "--output=avail", "-B1", "--", "/mnt/pve/backups/dump")
	require.NoError(t, err)
	assert.Equal(t, []string{"Avail", "1099511627776"}, strings.Fields(string(out)))
	_, err = n.Run(t.Context(), "cp", "a", "b")
	assert.Equal(t, "exit 127: cp: command not found", exit(err))

	// zstd -t: the magic and the length in the header.
	srv := l.ProxmoxServer
	srv.AddBackup(proxmoxtest.Backup{Storage: "local", VMID: 102, Type: "qemu", Time: time.Date(2026, 12, 1, 4, 0, 0, 0, time.UTC)})
	src := "/var/lib/vz/dump/vzdump-qemu-102-2026_12_01-04_00_00.vma.zst"
	_, err = n.Run(t.Context(), "zstd", "-q", "-t", "--", src)
	require.NoError(t, err)
	_, err = n.Run(t.Context(), "dd", "if="+src, "of=/var/lib/vz/dump/half", "bs=4M", "iflag=skip_bytes,count_bytes,fullblock", "oflag=seek_bytes",
		"skip=0", "seek=0", "count=1000", "status=none", "conv=notrunc")
	require.NoError(t, err)
	_, err = n.Run(t.Context(), "zstd", "-q", "-t", "--", "/var/lib/vz/dump/half")
	assert.Contains(t, exit(err), "exit 1: zstd: /var/lib/vz/dump/half : Read error (39) : premature end")
	out, err = n.Run(t.Context(), "sha256sum", "-b", "--", "/var/lib/vz/dump/half")
	require.NoError(t, err)
	assert.Regexp(t, `^[0-9a-f]{64} \*/var/lib/vz/dump/half\n$`, string(out))

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = n.Run(ctx, "test", "-d", "/")
	assert.ErrorIs(t, err, context.Canceled)
}
