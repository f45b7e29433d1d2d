package command

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/thehomelab/homelab/backup"
	"github.com/thehomelab/homelab/proxmox"
)

// progress shows long work (a backup night, an ordered shutdown) below
// the workflow's story. On a terminal it keeps one status line that is
// rewritten in place (\r) as the work moves and cleared before the next
// line of the story; anywhere else (a pipe, a file, the journal) it writes
// plain lines, a percentage only when it crosses a tenth, so that logs stay
// short.
//
// It is an io.Writer: the workflow writes its story through it, so that
// the story and the status line never overwrite each other. It is safe
// for concurrent use.
type progress struct {
	mu      sync.Mutex
	w       io.Writer
	tty     bool
	status  string         // the status line shown (terminal)
	tenths  map[string]int // last tenth printed per key (plain)
	lines   map[string]string
	waiting []string // guests being shut down (status)
	waits   int      // elapsed calls so far: each has its own key
}

// newProgress returns the progress display for w: a changing line when w is
// a terminal, plain lines otherwise.
func newProgress(w io.Writer) *progress {
	return &progress{w: w, tty: isTerminal(w), tenths: map[string]int{}, lines: map[string]string{}}
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// Write writes story lines, clearing the status line first.
func (p *progress) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clear()
	return p.w.Write(b)
}

// clear removes the status line from the terminal. p.mu is held.
func (p *progress) clear() {
	if p.status != "" {
		fmt.Fprint(p.w, "\r\033[K")
		p.status = ""
	}
}

// step shows line as the progress of key. percent is 0–100, or -1 when the
// work has no measure: then a plain line is written each time line changes.
func (p *progress) step(key string, percent int, line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	line = "   " + line
	if p.tty {
		if line != p.status {
			fmt.Fprint(p.w, "\r\033[K"+line)
			p.status = line
		}
		return
	}
	if percent < 0 {
		if p.lines[key] == line {
			return
		}
		p.lines[key] = line
	} else {
		tenth := min(max(percent, 0), 100) / 10
		if last, ok := p.tenths[key]; ok && last >= tenth {
			return
		}
		p.tenths[key] = tenth
	}
	fmt.Fprintln(p.w, line)
}

// done clears the status line; the work is over.
func (p *progress) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clear()
}

// backupEvent shows the progress events of a backup night (the story
// tells the other events).
func (p *progress) backupEvent(e backup.Event) {
	switch e.Kind {
	case backup.EventGuestProgress:
		p.step(fmt.Sprintf("dump %d", e.Guest), e.Percent, fmt.Sprintf("guest %d: vzdump %d%%", e.Guest, e.Percent))
	case backup.EventCopyProgress:
		if e.TotalBytes <= 0 && !p.tty {
			return // no measure: the plain lines would be one per chunk
		}
		p.step(fmt.Sprintf("copy %d", e.Guest), percentOf(e.Bytes, e.TotalBytes),
			fmt.Sprintf("guest %d: copying to the share, %s", e.Guest, amount(e.Bytes, e.TotalBytes)))
	case backup.EventOffsiteProgress:
		if e.TotalBytes <= 0 && !p.tty {
			return
		}
		line := fmt.Sprintf("offsite %s: %s", e.Remote, amount(e.Bytes, e.TotalBytes))
		if e.TotalFiles > 0 {
			line += fmt.Sprintf(", %d of %d files", e.Files, e.TotalFiles)
		}
		p.step("offsite "+e.Remote, percentOf(e.Bytes, e.TotalBytes), line)
	}
}

// shutdownEvent shows which guests an ordered shutdown is waiting for.
func (p *progress) shutdownEvent(e proxmox.Event) {
	name := fmt.Sprintf("%s (%s)", e.Guest, e.Name)
	p.mu.Lock()
	switch e.Kind {
	case proxmox.EventGuestBegin:
		p.waiting = append(p.waiting, name)
	case proxmox.EventGuestDone, proxmox.EventGuestFail:
		p.waiting = slices.DeleteFunc(p.waiting, func(s string) bool { return s == name })
	case proxmox.EventNode:
		p.waiting = nil
	}
	waiting := slices.Clone(p.waiting)
	p.mu.Unlock()
	switch {
	case e.Kind == proxmox.EventGuestBegin && !p.tty:
		p.step(name, -1, "  "+name+": shutdown sent")
	case len(waiting) > 0 && p.tty:
		p.step("shutdown", -1, fmt.Sprintf("group %d: waiting for %s", e.Group, strings.Join(waiting, ", ")))
	case p.tty:
		p.done()
	}
}

// elapsed shows line with the time spent, for work with no measure (NPM
// issuing a certificate, minutes with DNS propagation; an ACME hook
// waiting for Cloudflare). On a terminal the line changes every interval
// until stop is called; anywhere else a plain line is written at the start
// and then every plainEvery, so a log shows the work is alive without a
// line per second. stop only clears the terminal's line: the story tells
// the outcome.
func (p *progress) elapsed(line string, every time.Duration) (stop func()) {
	start := time.Now()
	if !p.tty {
		every = plainEvery
	}
	// Each wait has its own key, so a second wait with the same text
	// still writes its first plain line.
	p.mu.Lock()
	p.waits++
	key := fmt.Sprintf("elapsed %d", p.waits)
	p.mu.Unlock()
	quit, exited := make(chan struct{}), make(chan struct{})
	show := func() {
		p.step(key, -1, fmt.Sprintf("%s… %s", line, time.Since(start).Round(time.Second)))
	}
	show()
	go func() {
		defer close(exited)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-t.C:
				show()
			}
		}
	}()
	return func() {
		close(quit)
		<-exited
		p.mu.Lock()
		delete(p.lines, key)
		p.mu.Unlock()
		p.done()
	}
}

// plainEvery is how often elapsed writes a plain line (not a terminal).
const plainEvery = 30 * time.Second

// Waiting shows what the work waits for, with the time spent, until stop
// (workflow.Waiter).
func (p *progress) Waiting(what string) (stop func()) { return p.elapsed(what, time.Second) }

func percentOf(done, total int64) int {
	if total <= 0 {
		return -1
	}
	return int(done * 100 / total)
}

func amount(done, total int64) string {
	if total <= 0 {
		return mib(done)
	}
	return fmt.Sprintf("%s of %s (%d%%)", mib(done), mib(total), done*100/total)
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
