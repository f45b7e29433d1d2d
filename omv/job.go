package omv

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strings"
	"sync"

	"github.com/thehomelab/homelab/internal/poll"
)

// Job is a background job started by one of OMV's …Bg or async methods
// (StartApply, StartCreate). Wait waits for it; Log streams its output
// lines. Its output is read by byte offset with Exec.getOutput.
type Job struct {
	c *Client
	// Filename is OMV's bgstatus file that names the job.
	Filename string
	op       string

	pollMu sync.Mutex // one reader of the job at a time; held across a poll
	mu     sync.Mutex // guards the fields below, never held across I/O
	pos    int64
	out    strings.Builder
	polls  int
	more   bool // the last read said output is pending
	done   bool
	err    error
}

func (c *Client) newJob(op, filename string) *Job {
	return &Job{c: c, Filename: filename, op: op}
}

// Output returns the output read so far.
func (j *Job) Output() string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.out.String()
}

type execOutput struct {
	Filename      string `json:"filename"`
	Pos           int64  `json:"pos"`
	Output        string `json:"output"`
	PendingOutput bool   `json:"pendingOutput"`
	Running       bool   `json:"running"`
}

// maxLogLine caps one line Log yields: the part of a line still waiting
// for its end is held in memory.
const maxLogLine = 1 << 20

// maxJobOutput caps how much job output is kept in memory.
const maxJobOutput = 16 << 20

// next reads the next chunk of output, waiting the poll interval first
// unless the previous read said more output is pending. It reports the
// chunk and whether the job has finished; once finished it returns the
// job's result without contacting OMV (which deletes the job after the
// last read).
//
// OMV API: Exec.getOutput {filename, pos}
func (j *Job) next(ctx context.Context, wait bool) (string, bool, error) {
	j.pollMu.Lock()
	defer j.pollMu.Unlock()
	j.mu.Lock()
	done, jerr, pos, polls, more := j.done, j.err, j.pos, j.polls, j.more
	j.mu.Unlock()
	if done {
		return "", true, jerr
	}
	if wait && !more {
		if err := poll.Sleep(ctx, j.c.cfg.Backoff().Delay(polls)); err != nil {
			return "", false, err
		}
	}
	op := j.op + ": job " + j.Filename
	var r execOutput
	err := j.c.call(ctx, callOpts{passive: true, read: true}, "Exec", "getOutput",
		map[string]any{"filename": j.Filename, "pos": pos}, &r)
	if err != nil {
		if ctx.Err() != nil {
			return "", false, ctx.Err()
		}
		var e *Error
		if errors.As(err, &e) && e.StatusCode == 500 && !strings.HasPrefix(e.Message, "Failed to open file") {
			// The job itself failed: OMV re-raises its error on the
			// final read.
			cp := *e
			cp.Op = op + ": " + e.Op
			cp.Err = ErrJobFailed
			j.mu.Lock()
			j.done, j.err = true, &cp
			j.mu.Unlock()
			return "", true, &cp
		}
		return "", false, wrap(op, err)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if r.Pos >= j.pos {
		j.pos = r.Pos
	}
	if r.Output != "" && j.out.Len() < maxJobOutput {
		j.out.WriteString(r.Output)
	}
	j.done = !r.Running && !r.PendingOutput
	j.more = r.PendingOutput
	if r.PendingOutput || r.Output != "" {
		j.polls = 0 // output flows: keep reading at the fast pace
	} else {
		j.polls++
	}
	return r.Output, j.done, nil
}

// Wait polls until the job has finished and all output is read. A job
// that failed returns an error matching ErrJobFailed with OMV's message.
// Calling Wait again after completion returns the same result without
// contacting OMV. Polls start at the WithPollInterval minimum and back off
// to its maximum while the job stays silent.
//
// OMV API: Exec.getOutput {filename, pos}
func (j *Job) Wait(ctx context.Context) error {
	for wait := false; ; wait = true {
		_, done, err := j.next(ctx, wait)
		if err != nil || done {
			return err
		}
	}
}

// Log streams the job's output line by line (without the line break) as
// it arrives, until the job finishes; a failed job, or a failed read,
// ends the stream with ("", err). A later Wait returns the same result.
//
// OMV API: Exec.getOutput {filename, pos}
func (j *Job) Log(ctx context.Context) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		var partial strings.Builder
		for wait := false; ; wait = true {
			chunk, done, err := j.next(ctx, wait)
			partial.WriteString(chunk)
			buf := partial.String()
			for {
				i := strings.IndexByte(buf, '\n')
				if i < 0 {
					break
				}
				if !yield(strings.TrimSuffix(buf[:i], "\r"), nil) {
					return
				}
				buf = buf[i+1:]
			}
			if len(buf) > maxLogLine {
				// A job that never ends its line must not grow partial
				// without bound: each getOutput is capped, their sum not.
				yield("", &Error{Op: j.op + ": job " + j.Filename, Message: fmt.Sprintf("output line longer than %d bytes", maxLogLine), Err: ErrInvalid})
				return
			}
			partial.Reset()
			partial.WriteString(buf)
			if done || err != nil {
				if buf != "" && !yield(buf, nil) {
					return
				}
				if err != nil {
					yield("", err)
				}
				return
			}
		}
	}
}

// Stop terminates the job (OMV sends SIGTERM and removes its files). A
// later Wait fails because the job is gone.
//
// OMV API: Exec.stop {filename}
func (j *Job) Stop(ctx context.Context) error {
	if err := j.c.call(ctx, callOpts{}, "Exec", "stop", map[string]any{"filename": j.Filename}, nil); err != nil {
		return wrap(j.op+": stop job "+j.Filename, err)
	}
	return nil
}

// Job returns a handle for a background job started through Call (any
// OMV method that returns a bgstatus file name), so it can be waited for.
func (c *Client) Job(filename string) *Job {
	return c.newJob("job", filename)
}
