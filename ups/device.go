package ups

import (
	"context"
	"errors"
	"iter"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/thehomelab/homelab/internal/poll"
)

// Device is the handle for one UPS on a Client. Its methods are the
// per-UPS commands of the protocol. It is as safe for concurrent use as the
// Client.
type Device struct {
	c    *Client
	name string
}

// Name returns the UPS name this handle addresses.
func (d *Device) Name() string { return d.name }

func (d *Device) op(verb string, args ...string) string {
	s := verb + " " + d.name
	for _, a := range args {
		s += " " + a
	}
	return s
}

func (d *Device) varList(ctx context.Context, kind string) (Variables, error) {
	op := d.op("list " + strings.ToLower(kind))
	var out Variables
	err := d.c.list(ctx, op, func() { out = out[:0] }, func(w []string) error {
		if len(w) < 4 || !strings.EqualFold(w[0], kind) {
			return errShape
		}
		out = append(out, Variable{Name: w[2], Value: w[3]})
		return nil
	}, "LIST", kind, d.name)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Variables returns every variable the UPS reports.
//
// NUT protocol: LIST VAR <ups>
func (d *Device) Variables(ctx context.Context) (Variables, error) {
	return d.varList(ctx, "VAR")
}

// Writable returns the variables that SET VAR may change, with their values.
//
// NUT protocol: LIST RW <ups>
func (d *Device) Writable(ctx context.Context) (Variables, error) {
	return d.varList(ctx, "RW")
}

// Commands returns the instant commands the UPS supports.
//
// NUT protocol: LIST CMD <ups>
func (d *Device) Commands(ctx context.Context) ([]string, error) {
	var out []string
	err := d.c.list(ctx, d.op("list cmd"), func() { out = out[:0] }, func(w []string) error {
		if len(w) < 3 || !strings.EqualFold(w[0], "CMD") {
			return errShape
		}
		out = append(out, w[2])
		return nil
	}, "LIST", "CMD", d.name)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Clients returns the addresses of the clients logged in to the UPS.
//
// NUT protocol: LIST CLIENT <ups>
func (d *Device) Clients(ctx context.Context) ([]netip.Addr, error) {
	var out []netip.Addr
	err := d.c.list(ctx, d.op("list client"), func() { out = out[:0] }, func(w []string) error {
		if len(w) < 3 || !strings.EqualFold(w[0], "CLIENT") {
			return errShape
		}
		a, err := netip.ParseAddr(w[2])
		if err != nil {
			return err
		}
		out = append(out, a)
		return nil
	}, "LIST", "CLIENT", d.name)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Enum returns the values an ENUM variable accepts (possibly none).
//
// NUT protocol: LIST ENUM <ups> <var>
func (d *Device) Enum(ctx context.Context, name string) ([]string, error) {
	var out []string
	err := d.c.list(ctx, d.op("list enum", name), func() { out = out[:0] }, func(w []string) error {
		if len(w) < 4 || !strings.EqualFold(w[0], "ENUM") {
			return errShape
		}
		out = append(out, w[3])
		return nil
	}, "LIST", "ENUM", d.name, name)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Ranges returns the numeric ranges a RANGE variable accepts (possibly none).
//
// NUT protocol: LIST RANGE <ups> <var>
func (d *Device) Ranges(ctx context.Context, name string) ([]Range, error) {
	var out []Range
	err := d.c.list(ctx, d.op("list range", name), func() { out = out[:0] }, func(w []string) error {
		if len(w) < 5 || !strings.EqualFold(w[0], "RANGE") {
			return errShape
		}
		lo, err1 := strconv.ParseFloat(w[3], 64)
		hi, err2 := strconv.ParseFloat(w[4], 64)
		if err := errors.Join(err1, err2); err != nil {
			return err
		}
		out = append(out, Range{Min: lo, Max: hi})
		return nil
	}, "LIST", "RANGE", d.name, name)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// getWords sends a GET and checks the reply starts with want and has at
// least n words.
func (d *Device) getWords(ctx context.Context, op, want string, n int, words ...string) ([]string, error) {
	line, err := d.c.single(ctx, op, true, words...)
	if err != nil {
		return nil, err
	}
	w, err := splitLine(line, nil)
	if err != nil || len(w) < n || !strings.EqualFold(w[0], want) {
		return nil, protoErr(op, line)
	}
	return w, nil
}

// Get returns the value of one variable. An absent variable fails with
// CodeVarNotSupported (ErrNotFound).
//
// NUT protocol: GET VAR <ups> <var>
func (d *Device) Get(ctx context.Context, name string) (string, error) {
	w, err := d.getWords(ctx, d.op("get var", name), "VAR", 4, "GET", "VAR", d.name, name)
	if err != nil {
		return "", err
	}
	return w[3], nil
}

// Status returns ups.status parsed.
//
// NUT protocol: GET VAR <ups> ups.status
func (d *Device) Status(ctx context.Context) (Status, error) {
	s, err := d.Get(ctx, "ups.status")
	if err != nil {
		return Status{}, err
	}
	return ParseStatus(s), nil
}

// Type returns the type of a variable.
//
// NUT protocol: GET TYPE <ups> <var>
func (d *Device) Type(ctx context.Context, name string) (VarType, error) {
	w, err := d.getWords(ctx, d.op("get type", name), "TYPE", 3, "GET", "TYPE", d.name, name)
	if err != nil {
		return VarType{}, err
	}
	return parseVarType(w[3:]), nil
}

// VariableDescription returns upsd's description of a variable
// ("Unavailable" when it has none).
//
// NUT protocol: GET DESC <ups> <var>
func (d *Device) VariableDescription(ctx context.Context, name string) (string, error) {
	w, err := d.getWords(ctx, d.op("get desc", name), "DESC", 4, "GET", "DESC", d.name, name)
	if err != nil {
		return "", err
	}
	return w[3], nil
}

// CommandDescription returns upsd's description of an instant command.
//
// NUT protocol: GET CMDDESC <ups> <cmd>
func (d *Device) CommandDescription(ctx context.Context, cmd string) (string, error) {
	w, err := d.getWords(ctx, d.op("get cmddesc", cmd), "CMDDESC", 4, "GET", "CMDDESC", d.name, cmd)
	if err != nil {
		return "", err
	}
	return w[3], nil
}

// Description returns the UPS description from ups.conf.
//
// NUT protocol: GET UPSDESC <ups>
func (d *Device) Description(ctx context.Context) (string, error) {
	w, err := d.getWords(ctx, d.op("get upsdesc"), "UPSDESC", 3, "GET", "UPSDESC", d.name)
	if err != nil {
		return "", err
	}
	return w[2], nil
}

// NumLogins returns how many clients are logged in to the UPS.
//
// NUT protocol: GET NUMLOGINS <ups>
func (d *Device) NumLogins(ctx context.Context) (int, error) {
	op := d.op("get numlogins")
	w, err := d.getWords(ctx, op, "NUMLOGINS", 3, "GET", "NUMLOGINS", d.name)
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(w[2])
	if err != nil {
		return 0, protoErr(op, strings.Join(w, " "))
	}
	return n, nil
}

// Snapshot reads ups.status, battery.charge, battery.runtime, ups.load and
// the voltages in one round trip (pipelined GET VARs). Variables the UPS
// does not report are left invalid; an error on ups.status (DATA-STALE,
// DRIVER-NOT-CONNECTED, UNKNOWN-UPS…) fails the whole read.
//
// NUT protocol: GET VAR <ups> <var> (pipelined)
func (d *Device) Snapshot(ctx context.Context) (Snapshot, error) {
	op := d.op("snapshot")
	var req []byte
	for _, v := range snapshotVars {
		req = append(req, "GET VAR "...)
		req = appendWord(req, d.name)
		req = append(req, ' ')
		req = append(req, v...)
		req = append(req, '\n')
	}
	if err := checkArg(d.name); err != nil {
		return Snapshot{}, badArg(op, err)
	}
	var s Snapshot
	err := d.c.do(ctx, op, true, req, func() error {
		s = Snapshot{}
		var first error
		for i := range snapshotVars {
			line, err := d.c.readReply(op)
			if err != nil && !isServerErr(err) {
				return err
			}
			if err != nil {
				if i == 0 && first == nil {
					first = err
				}
				continue
			}
			d.c.words, err = splitLineBuf(line, d.c.words[:0], &d.c.scratch)
			if err != nil || len(d.c.words) < 4 || !strings.EqualFold(d.c.words[0], "VAR") {
				if first == nil {
					first = protoErr(op, line)
				}
				continue
			}
			s.set(i, d.c.words[3])
		}
		return first
	})
	if err != nil {
		return Snapshot{}, err
	}
	return s, nil
}

// Job is a SET VAR or INSTCMD that upsd accepted. upsd hands it to the
// driver asynchronously; with WithTracking, Wait and Log follow it to the
// end with GET TRACKING.
type Job struct {
	c  *Client
	op string
	ID string // tracking ID; empty when the server did not track it
}

// Tracked reports whether the job has a tracking ID.
func (j *Job) Tracked() bool { return j.ID != "" }

// Wait polls GET TRACKING (at WithPollInterval) until the driver reports
// success (nil) or failure (an *Error with Code CodeTrackingFailed, or
// CodeTrackingUnknown when the driver does not implement the command it
// listed, as dummy-ups does for load.off), or ctx ends. An untracked job
// returns nil at once: upsd gives no way to follow it.
//
// NUT protocol: GET TRACKING <id>
func (j *Job) Wait(ctx context.Context) error {
	for _, err := range j.Log(ctx) {
		if err != nil {
			return err
		}
	}
	return nil
}

// Log streams the job's progress as lines: accepted (with the tracking ID),
// pending, success. A failure, or the end of ctx, is yielded as an error
// and ends the stream. An untracked job yields one line.
//
// NUT protocol: GET TRACKING <id>
func (j *Job) Log(ctx context.Context) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		if j.ID == "" {
			yield(j.op+": accepted, untracked (upsd gives no way to follow it; WithTracking turns tracking on)", nil)
			return
		}
		if !yield(j.op+": accepted, tracking "+j.ID, nil) {
			return
		}
		b := j.c.cfg.Backoff()
		pending := false
		for attempt := 0; ; attempt++ {
			if attempt > 0 {
				if err := poll.Sleep(ctx, b.Delay(attempt-1)); err != nil {
					yield("", err)
					return
				}
			}
			done, err := j.c.Tracking(ctx, j.ID)
			switch {
			case err != nil:
				yield("", err)
				return
			case done:
				yield(j.op+": success", nil)
				return
			case !pending:
				pending = true
				if !yield(j.op+": pending", nil) {
					return
				}
			}
		}
	}
}

func (d *Device) job(op, line string) *Job {
	j := &Job{c: d.c, op: op}
	w, _ := splitLine(line, nil)
	if len(w) >= 3 && strings.EqualFold(w[1], "TRACKING") {
		j.ID = w[2]
	}
	return j
}

func (d *Device) okCmd(ctx context.Context, op string, retry bool, words ...string) (string, error) {
	if err := d.c.needLogin(op); err != nil {
		return "", err
	}
	line, err := d.c.single(ctx, op, retry, words...)
	if err != nil {
		return "", err
	}
	if !hasPrefixFold(line, "OK") {
		return "", protoErr(op, line)
	}
	return line, nil
}

// StartSet asks upsd to change a writable variable and returns once upsd
// has accepted it. Needs "actions = SET" in upsd.users. upsd applies it
// asynchronously: a GET right after may still show the old value; the
// Job's Wait follows it when the client has WithTracking.
//
// NUT protocol: SET VAR <ups> <var> "<value>"
func (d *Device) StartSet(ctx context.Context, name, value string) (*Job, error) {
	op := d.op("set var", name)
	if err := d.c.needLogin(op); err != nil {
		return nil, err
	}
	req, err := request("SET", "VAR", d.name, name)
	if err == nil {
		err = checkArg(value)
	}
	if err != nil {
		return nil, badArg(op, err)
	}
	req = append(appendQuoted(append(req[:len(req)-1], ' '), value), '\n')
	var line string
	err = d.c.do(ctx, op, true, req, func() error {
		var rerr error
		line, rerr = d.c.readReply(op)
		return rerr
	})
	if err != nil {
		return nil, err
	}
	if !hasPrefixFold(line, "OK") {
		return nil, protoErr(op, line)
	}
	return d.job(op, line), nil
}

// Set changes a writable variable: StartSet, then Wait (which returns at
// once without WithTracking).
//
// NUT protocol: SET VAR <ups> <var> "<value>", GET TRACKING <id>
func (d *Device) Set(ctx context.Context, name, value string) error {
	j, err := d.StartSet(ctx, name, value)
	if err != nil {
		return err
	}
	return j.Wait(ctx)
}

// StartInstCmd sends an instant command, with at most one parameter
// (protocol 1.3), and returns once upsd has accepted it. Needs "instcmds"
// in upsd.users. It is never retried after a broken connection, since
// commands like beeper.toggle are not idempotent. The Job's Wait and Log
// follow it when the client has WithTracking.
//
// NUT protocol: INSTCMD <ups> <cmd> [<param>]
func (d *Device) StartInstCmd(ctx context.Context, cmd string, param ...string) (*Job, error) {
	op := d.op("instcmd", cmd)
	if len(param) > 1 {
		return nil, &Error{Op: op, Code: CodeInvalidArgument, local: true, Message: "an instant command takes at most one parameter"}
	}
	line, err := d.okCmd(ctx, op, false, append([]string{"INSTCMD", d.name, cmd}, param...)...)
	if err != nil {
		return nil, err
	}
	return d.job(op, line), nil
}

// InstCmd sends an instant command and waits for it: StartInstCmd, then
// Wait (which returns at once without WithTracking).
//
// NUT protocol: INSTCMD <ups> <cmd> [<param>], GET TRACKING <id>
func (d *Device) InstCmd(ctx context.Context, cmd string, param ...string) error {
	j, err := d.StartInstCmd(ctx, cmd, param...)
	if err != nil {
		return err
	}
	return j.Wait(ctx)
}

// FSD sets the forced-shutdown latch on the UPS, so every NUT client sees
// FSD and shuts down. Needs "upsmon primary" or "actions = FSD". upsd keeps
// the latch until it restarts.
//
// NUT protocol: FSD <ups>
func (d *Device) FSD(ctx context.Context) error {
	_, err := d.okCmd(ctx, d.op("fsd"), true, "FSD", d.name)
	return err
}

// Login registers this connection as a client of the UPS (counted by
// NUMLOGINS). Needs "upsmon primary|secondary". The client repeats it after a
// reconnect. A connection can log in to one UPS only.
//
// NUT protocol: LOGIN <ups>
func (d *Device) Login(ctx context.Context) error {
	_, err := d.okCmd(ctx, d.op("login"), true, "LOGIN", d.name)
	if err == nil || hasCode(err, CodeAlreadyLoggedIn) {
		d.c.mu.Lock()
		if d.c.login == "" {
			d.c.login = d.name
		}
		d.c.mu.Unlock()
	}
	return err
}

// Primary claims the primary role for the UPS (needs "upsmon primary"). It
// falls back to the legacy MASTER on servers older than protocol 1.3. The
// client repeats it after a reconnect.
//
// NUT protocol: PRIMARY <ups> (legacy: MASTER <ups>)
func (d *Device) Primary(ctx context.Context) error {
	op := d.op("primary")
	_, err := d.okCmd(ctx, op, true, "PRIMARY", d.name)
	legacy := false
	if hasCode(err, CodeUnknownCommand) {
		legacy = true
		_, err = d.okCmd(ctx, d.op("master"), true, "MASTER", d.name)
	}
	if err != nil {
		return err
	}
	d.c.mu.Lock()
	d.c.legacy = legacy
	if !slices.ContainsFunc(d.c.primaries, func(p string) bool { return strings.EqualFold(p, d.name) }) {
		d.c.primaries = append(d.c.primaries, d.name) // once: a redial repeats each
	}
	d.c.mu.Unlock()
	return nil
}

// CheckPrimary checks, changing nothing, that this client may act as the
// UPS's primary, and so may set FSD: upsd answers PRIMARY (an access check
// only, server/netuser.c) for an upsd.users account with "upsmon primary"
// and the right password. upsd accepts any password at USERNAME/PASSWORD
// and only refuses it when it is used, so without this check a wrong
// password shows up when the battery is already running out. It fails at
// once without WithCredentials (ErrAuth), and with ErrAccessDenied for a
// wrong password or a user without "upsmon primary" (a user with only
// "actions = FSD" may set FSD but fails this check). A guard that will set
// FSD calls it at start and now and then; Monitor does when ForwardFSD is
// set.
//
// NUT protocol: PRIMARY <ups> (legacy: MASTER <ups>)
func (d *Device) CheckPrimary(ctx context.Context) error {
	op := d.op("check primary")
	_, err := d.okCmd(ctx, op, true, "PRIMARY", d.name)
	if hasCode(err, CodeUnknownCommand) {
		_, err = d.okCmd(ctx, op, true, "MASTER", d.name)
	}
	var e *Error
	if errors.As(err, &e) && e.Code == CodeAccessDenied {
		e.Message = "(FSD would be refused: check the NUT password and that the user has \"upsmon primary\" in upsd.users)"
	}
	return err
}
