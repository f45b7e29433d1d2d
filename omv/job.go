package omv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/thehomelab/homelab/internal/poll"
)

// Job is a background job started by one of OMV's …Bg or async methods.
// Its output is read by byte offset with Exec.getOutput.
type Job struct {
	c *Client
	// Filename is OMV's bgstatus file that names the job.
	Filename string
	op       string

	waitMu sync.Mutex // one Wait at a time; held across polls
	mu     sync.Mutex // guards the fields below, never held across I/O
	pos    int64
	out    strings.Builder
	sink   io.Writer
	done   bool
	err    error
}

func (c *Client) newJob(op, filename string) *Job {
	return &Job{c: c, Filename: filename, op: op}
}

// Stream makes Wait copy the job's output to w as it arrives. It returns j.
func (j *Job) Stream(w io.Writer) *Job {
	j.mu.Lock()
	j.sink = w
	j.mu.Unlock()
	return j
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

// maxJobOutput caps how much job output is kept in memory.
const maxJobOutput = 16 << 20

// Wait polls until the job has finished and all output is read. A job
// that failed returns an error matching ErrJobFailed that wraps OMV's
// *Error. Calling Wait again after completion returns the same result
// without contacting OMV (which deletes the job after the last read).
//
// OMV API: Exec.getOutput {filename, pos}
func (j *Job) Wait(ctx context.Context) error {
	j.waitMu.Lock()
	defer j.waitMu.Unlock()
	for {
		j.mu.Lock()
		done, jerr, pos, sink := j.done, j.err, j.pos, j.sink
		j.mu.Unlock()
		if done {
			return jerr
		}
		var r execOutput
		err := j.c.call(ctx, callOpts{passive: true, read: true}, "Exec", "getOutput",
			map[string]any{"filename": j.Filename, "pos": pos}, &r)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			var e *Error
			if errors.As(err, &e) && e.Status == 500 && !strings.HasPrefix(e.Message, "Failed to open file") {
				j.mu.Lock()
				j.done = true
				j.err = fmt.Errorf("omv: %s: job %s: %w: %w", j.op, j.Filename, ErrJobFailed, err)
				j.mu.Unlock()
				return j.err
			}
			return fmt.Errorf("omv: %s: job %s: %w", j.op, j.Filename, err)
		}
		j.mu.Lock()
		if r.Pos >= j.pos {
			j.pos = r.Pos
		}
		if r.Output != "" && j.out.Len() < maxJobOutput {
			j.out.WriteString(r.Output)
		}
		finished := !r.Running && !r.PendingOutput
		j.done = finished
		j.mu.Unlock()
		if r.Output != "" && sink != nil {
			if _, err := io.WriteString(sink, r.Output); err != nil {
				return fmt.Errorf("omv: %s: job %s: write output: %w", j.op, j.Filename, err)
			}
		}
		if finished {
			return nil
		}
		if r.PendingOutput {
			continue
		}
		if err := poll.Sleep(ctx, j.c.poll); err != nil {
			return err
		}
	}
}

// Stop terminates the job (OMV sends SIGTERM and removes its files). A
// later Wait fails because the job is gone.
//
// OMV API: Exec.stop {filename}
func (j *Job) Stop(ctx context.Context) error {
	if err := j.c.call(ctx, callOpts{}, "Exec", "stop", map[string]any{"filename": j.Filename}, nil); err != nil {
		return fmt.Errorf("omv: %s: stop job %s: %w", j.op, j.Filename, err)
	}
	return nil
}

// Job returns a handle for a background job started through Call (any
// OMV method that returns a bgstatus file name), so it can be waited for.
func (c *Client) Job(filename string) *Job {
	return c.newJob("job", filename)
}
