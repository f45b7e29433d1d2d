package backup

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func parseLogFile(t *testing.T, name string) VzdumpLog {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "vzdump", name))
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	l, err := ParseVzdumpLog(f, madrid(t))
	require.NoError(t, err)
	return l
}

func TestParseVzdumpLogOneGuestFails(t *testing.T) {
	t.Parallel()
	loc := madrid(t)
	l := parseLogFile(t, "night-job-errors.log")
	assert.True(t, l.Done)
	assert.Equal(t, "job errors", l.ExitStatus)
	require.Len(t, l.Guests, 3)

	ct := l.Guests[0]
	assert.Equal(t, 101, ct.VMID)
	assert.Equal(t, "lxc", ct.Type)
	assert.Equal(t, "docker", ct.Name)
	assert.Equal(t, StatusOK, ct.Status)
	assert.Equal(t, "/mnt/pve/backups/dump/vzdump-lxc-101-2026_11_25-03_00_02.tar.zst", ct.Archive)
	assert.Equal(t, int64(1202590842), ct.Size)
	assert.Equal(t, 65*time.Second, ct.Duration)
	assert.Equal(t, time.Date(2026, 11, 25, 3, 0, 2, 0, loc), ct.Started)
	assert.Equal(t, time.Date(2026, 11, 25, 3, 1, 7, 0, loc), ct.Finished)
	assert.Equal(t, []string{"backups:backup/vzdump-lxc-101-2026_10_31-03_00_01.tar.zst"}, ct.Pruned)
	assert.Equal(t, 100, ct.Percent)

	vm := l.Guests[1]
	assert.Equal(t, "homeassistant", vm.Name)
	assert.Equal(t, StatusOK, vm.Status)
	assert.True(t, vm.Protected)
	assert.Equal(t, 89*time.Second, vm.Duration)
	assert.Equal(t, int64(5765993594), vm.Size)

	bad := l.Guests[2]
	assert.Equal(t, 103, bad.VMID)
	assert.Equal(t, StatusFailed, bad.Status)
	assert.Equal(t, "job failed with err -5 - Input/output error", bad.Error)
	assert.Equal(t, 9, bad.Percent)
	assert.Equal(t, time.Date(2026, 11, 25, 3, 2, 51, 0, loc), bad.Finished)
	assert.Empty(t, bad.Size)

	g, ok := l.Guest(102)
	require.True(t, ok)
	assert.Equal(t, "homeassistant", g.Name)
	_, ok = l.Guest(104)
	assert.False(t, ok)
}

func TestParseVzdumpLogWarnings(t *testing.T) {
	t.Parallel()
	l := parseLogFile(t, "night-warnings.log")
	assert.Equal(t, "WARNINGS: 1", l.ExitStatus)
	require.Len(t, l.Guests, 1)
	g := l.Guests[0]
	assert.Equal(t, StatusWarnings, g.Status)
	require.Len(t, g.Warnings, 1)
	assert.True(t, strings.HasPrefix(g.Warnings[0], "unable to add notes - "))
	assert.Equal(t, "/var/lib/vz/dump/vzdump-qemu-100-2026_11_25-04_00_01.vma.zst", g.Archive)
	assert.Equal(t, 37*time.Second, g.Duration)
}

func TestParseVzdumpLogGuestFile(t *testing.T) {
	t.Parallel()
	l := parseLogFile(t, "guest-file.log")
	assert.False(t, l.Done)
	require.Len(t, l.Guests, 1)
	assert.Equal(t, StatusOK, l.Guests[0].Status)
	assert.Equal(t, "docker", l.Guests[0].Name)
	assert.Equal(t, "/mnt/pve/backups/dump/vzdump-lxc-101-2026_11_25-03_00_02.tar.zst", l.Guests[0].Archive)
}

func TestParseVzdumpLogMissingGuestAndJobFailure(t *testing.T) {
	t.Parallel()
	l := parseLogFile(t, "missing-guest.log")
	require.Len(t, l.Guests, 2)
	assert.Equal(t, 999, l.Guests[0].VMID)
	assert.Equal(t, StatusFailed, l.Guests[0].Status)
	assert.Equal(t, "unable to find VM '999'", l.Guests[0].Error)
	assert.Equal(t, StatusOK, l.Guests[1].Status)
	assert.Equal(t, int64(812<<20), l.Guests[1].Size)

	l = parseLogFile(t, "job-failed.log")
	assert.Empty(t, l.Guests)
	assert.Equal(t, []string{"could not activate storage 'backups': storage 'backups' is not online"}, l.Errors)
	assert.Equal(t, "could not activate storage 'backups': storage 'backups' is not online", l.ExitStatus)
}

func TestParseVzdumpLogCutShort(t *testing.T) {
	t.Parallel()
	l, err := ParseVzdumpLog(strings.NewReader("INFO: Starting Backup of VM 100 (qemu)\nINFO:  42% (1 GiB of 2 GiB) in 1s, read: 1 GiB/s, write: 1 GiB/s\n"), time.UTC)
	require.NoError(t, err)
	require.Len(t, l.Guests, 1)
	assert.Equal(t, StatusPending, l.Guests[0].Status)
	assert.Equal(t, 42, l.Guests[0].Percent)
}

// Some writers (and older fakes) leave the duration off the Finished line.
func TestParseVzdumpLogFinishedWithoutDuration(t *testing.T) {
	t.Parallel()
	l, err := ParseVzdumpLog(strings.NewReader("INFO: Starting Backup of VM 100 (qemu)\nINFO: creating vzdump archive 'backups:backup/vzdump-qemu-100-2026_11_25-03_00_00.vma.zst'\nINFO: Finished Backup of VM 100\nTASK OK\n"), time.UTC)
	require.NoError(t, err)
	require.Len(t, l.Guests, 1)
	assert.Equal(t, StatusOK, l.Guests[0].Status)
	assert.Zero(t, l.Guests[0].Duration)
}

func TestParseVzdumpLogBounds(t *testing.T) {
	t.Parallel()
	_, err := ParseVzdumpLog(strings.NewReader("INFO: "+strings.Repeat("x", 70<<10)+"\n"), time.UTC)
	require.ErrorIs(t, err, ErrInvalid)
	assert.Contains(t, err.Error(), "too large")

	var b strings.Builder
	for i := 0; i < maxLogGuests+1; i++ {
		b.WriteString("INFO: Starting Backup of VM 100 (qemu)\n")
	}
	_, err = ParseVzdumpLog(strings.NewReader(b.String()), time.UTC)
	require.ErrorIs(t, err, ErrInvalid)

	var w strings.Builder
	w.WriteString("INFO: Starting Backup of VM 100 (qemu)\n")
	for i := 0; i < maxLogMessages+10; i++ {
		w.WriteString("WARN: again\n")
	}
	l, err := ParseVzdumpLog(strings.NewReader(w.String()), time.UTC)
	require.NoError(t, err)
	assert.Len(t, l.Guests[0].Warnings, maxLogMessages)
}

func TestStatusText(t *testing.T) {
	t.Parallel()
	for s := StatusPending; s <= StatusSkipped; s++ {
		b, err := s.MarshalText()
		require.NoError(t, err)
		var got Status
		require.NoError(t, got.UnmarshalText(b))
		assert.Equal(t, s, got)
	}
	var s Status
	assert.ErrorIs(t, s.UnmarshalText([]byte("fine")), ErrInvalid)
}
