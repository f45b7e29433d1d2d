package command

import (
	"bytes"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/backup"
	"github.com/thehomelab/homelab/proxmox"
)

func TestProgressPlainLinesWhenNotATerminal(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	p := newProgress(&buf)
	require.False(t, p.tty, "a bytes.Buffer is no terminal")
	for _, pct := range []int{3, 7, 12, 19, 55, 100, 100} {
		p.backupEvent(backup.Event{Kind: backup.EventGuestProgress, Guest: 101, Percent: pct})
	}
	p.backupEvent(backup.Event{Kind: backup.EventCopyProgress, Guest: 100, Bytes: 1 << 20, TotalBytes: 4 << 20})
	p.backupEvent(backup.Event{Kind: backup.EventCopyProgress, Guest: 100, Bytes: 1 << 20}) // no measure: left out
	_, _ = p.Write([]byte("   story line\n"))
	p.shutdownEvent(proxmox.Event{Kind: proxmox.EventGuestBegin, Group: 1, Guest: proxmox.GuestRef{Node: "proxmox1", Type: proxmox.TypeVM, VMID: 100}, Name: "nas"})
	p.shutdownEvent(proxmox.Event{Kind: proxmox.EventGuestDone, Group: 1, Guest: proxmox.GuestRef{Node: "proxmox1", Type: proxmox.TypeVM, VMID: 100}, Name: "nas"})
	p.done()

	assert.NotContains(t, buf.String(), "\r")
	assert.NotContains(t, buf.String(), "\033")
	assert.Equal(t, []string{
		"   guest 101: vzdump 3%",
		"   guest 101: vzdump 12%",
		"   guest 101: vzdump 55%",
		"   guest 101: vzdump 100%",
		"   guest 100: copying to the share, 1.0 MiB of 4.0 MiB (25%)",
		"   story line",
		"     vm 100 on proxmox1 (nas): shutdown sent",
	}, strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n"))
}

func TestProgressChangingLineOnATerminal(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	p := newProgress(&buf)
	p.tty = true // as isTerminal finds for a terminal
	p.backupEvent(backup.Event{Kind: backup.EventGuestProgress, Guest: 101, Percent: 3})
	p.backupEvent(backup.Event{Kind: backup.EventGuestProgress, Guest: 101, Percent: 4})
	_, _ = p.Write([]byte("   story line\n"))
	p.backupEvent(backup.Event{Kind: backup.EventGuestProgress, Guest: 101, Percent: 50})
	p.done()
	assert.Equal(t, "\r\033[K   guest 101: vzdump 3%"+
		"\r\033[K   guest 101: vzdump 4%"+
		"\r\033[K   story line\n"+
		"\r\033[K   guest 101: vzdump 50%"+
		"\r\033[K", buf.String())
}

func TestShutdownCommandShowsProgressAsPlainLines(t *testing.T) {
	t.Parallel()
	_, flags := pve(t)
	var out bytes.Buffer
	require.NoError(t, runShutdown(t.Context(), &out, &out, append(flags, "-dry-run=false"), pveEnv), out.String())
	assert.Contains(t, out.String(), "vm 100 on proxmox1 (nas): shutdown sent")
	assert.NotContains(t, out.String(), "\r")
}

func TestProgressElapsed(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	p := newProgress(&buf)
	p.tty = true
	stop := p.elapsed("issuing", time.Millisecond)
	_, _ = p.Write([]byte("   story line\n"))
	stop()
	out := buf.String()
	assert.True(t, strings.HasPrefix(out, "\r\033[K   issuing… 0s"), "%q", out)
	assert.Contains(t, out, "\r\033[K   story line\n")
	assert.Empty(t, p.status, "no status line left after stop: %q", out)
	if i := strings.LastIndex(out, "story line\n"); i+len("story line\n") < len(out) {
		assert.True(t, strings.HasSuffix(out, "\r\033[K"), "a line redrawn after the story is cleared at the end: %q", out)
	}
}

// Not on a terminal (a pipe, the journal, lego's log of a hook), work
// with no measure writes a plain line at the start and one every
// plainEvery, never a carriage return.
func TestProgressElapsedPlainLines(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var buf bytes.Buffer
		p := newProgress(&buf)
		stop := p.elapsed("issuing", time.Second)
		time.Sleep(2*plainEvery + plainEvery/2)
		stop()
		assert.Equal(t, "   issuing… 0s\n   issuing… 30s\n   issuing… 1m0s\n", buf.String())
	})
}

// Two waits with the same text in one process each write their first
// line: a plain line is dropped only when it repeats the same wait's
// last one.
func TestProgressElapsedTwiceSameText(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var buf bytes.Buffer
		p := newProgress(&buf)
		p.elapsed("waiting for Cloudflare", time.Second)()
		p.elapsed("waiting for Cloudflare", time.Second)()
		assert.Equal(t, "   waiting for Cloudflare… 0s\n   waiting for Cloudflare… 0s\n", buf.String())
		assert.Empty(t, p.lines, "a stopped wait forgets its last line")
	})
}
