package routeros

import (
	"context"
	"errors"
	"strings"
)

// Reply is the answer to one command: its !re records and the attributes
// of its !done (e.g. "ret" after add).
type Reply struct {
	Records []Record
	Done    Record
	// Empty reports that RouterOS 7.18+ said !empty (no data).
	Empty bool
}

// Run is the escape hatch: it sends one command — a menu path and verb such
// as "/ip/address/print" — with raw argument words ("=name=value",
// "?query", "=.proplist=a,b") and returns the records. A !trap becomes an
// *Error. Words starting with ".tag=" are refused: the client owns tags.
//
// RouterOS API: any command.
func (c *Client) Run(ctx context.Context, command string, args ...string) (*Reply, error) {
	op := "run " + command
	if !strings.HasPrefix(command, "/") || strings.ContainsAny(command, " =?") {
		return nil, &Error{Op: op, Code: -1, Message: "command must be a path like /ip/address/print", kinds: []error{ErrInvalid}}
	}
	for _, a := range args {
		if strings.HasPrefix(a, ".tag=") || (!strings.HasPrefix(a, "=") && !strings.HasPrefix(a, "?")) {
			return nil, &Error{Op: op, Command: command, Code: -1, Message: "argument words must start with = or ?", kinds: []error{ErrInvalid}}
		}
	}
	r, err := c.one(ctx, op, append(cmd{command}, args...))
	if err != nil {
		return nil, err
	}
	return &Reply{Records: r.re, Done: r.done, Empty: r.empty}, nil
}

// one runs a single command and turns a trap into an *Error.
func (c *Client) one(ctx context.Context, op string, cm cmd) (result, error) {
	res, err := c.do(ctx, op, cm)
	if err != nil {
		return result{}, err
	}
	if res[0].trap != nil {
		return res[0], trapError(op, cm[0], res[0].trap)
	}
	return res[0], nil
}

// print runs menu/print with query words and an optional proplist.
func (c *Client) print(ctx context.Context, op, menu string, words ...string) ([]Record, error) {
	r, err := c.one(ctx, op, append(cmd{menu + "/print"}, words...))
	return r.re, err
}

// batch runs independent commands pipelined and returns the first trap as
// an error (after all have completed) together with every result.
func (c *Client) batch(ctx context.Context, op string, cmds []cmd) ([]result, error) {
	res, err := c.do(ctx, op, cmds...)
	if err != nil {
		return nil, err
	}
	var errs []error
	for i, r := range res {
		if r.trap != nil {
			errs = append(errs, trapError(op, cmds[i][0], r.trap))
		}
	}
	return res, errors.Join(errs...)
}

// routerVersion returns the RouterOS version ("7.20.5"), read once per
// connection lifetime (markBroken forgets it: a reboot may be an upgrade).
func (c *Client) routerVersion(ctx context.Context) (major, minor int, err error) {
	v := c.cachedVersion.Load()
	if v == nil {
		recs, err := c.print(ctx, "read version", "/system/resource", "=.proplist=version")
		if err != nil {
			return 0, 0, err
		}
		if len(recs) == 0 {
			return 0, 0, notFound("read version", "no /system/resource record")
		}
		s := strings.Fields(recs[0]["version"] + " ")[0]
		v = &s
		c.cachedVersion.Store(v)
	}
	major, minor, err = parseVersion(*v)
	if err != nil {
		return 0, 0, &Error{Op: "read version", Command: "/system/resource/print", Code: -1, Err: err, kinds: []error{ErrInvalid}}
	}
	return major, minor, nil
}

func parseVersion(s string) (major, minor int, err error) {
	parts := strings.SplitN(s, ".", 3)
	if len(parts) < 2 {
		return 0, 0, errors.New("routeros: unparsable version " + truncate(s, 20))
	}
	ma, err1 := atoiSmall(parts[0])
	digits := parts[1]
	if i := strings.IndexFunc(digits, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
		digits = digits[:i] // "19rc2" → "19"
	}
	mi, err2 := atoiSmall(digits)
	if err1 != nil || err2 != nil {
		return 0, 0, errors.New("routeros: unparsable version " + truncate(s, 20))
	}
	return ma, mi, nil
}

func atoiSmall(s string) (int, error) {
	n := 0
	if s == "" || len(s) > 4 {
		return 0, errors.New("bad number")
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return 0, errors.New("bad number")
		}
		n = n*10 + int(r-'0')
	}
	return n, nil
}
