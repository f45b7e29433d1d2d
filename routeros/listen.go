package routeros

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/thehomelab/homelab/internal/netctx"
)

// EventKind says what an Event reports.
type EventKind int

// The kinds of Event. A Listener reports EventChanged and EventRemoved; a
// Client's WithOnEvent callback EventDisconnected and EventReconnected.
const (
	// EventChanged: an item of the listened menu was added or changed.
	EventChanged EventKind = iota + 1
	// EventRemoved: an item of the listened menu was removed (.dead).
	EventRemoved
	// EventDisconnected: the client's connection broke; Err says why.
	EventDisconnected
	// EventReconnected: the client dialled again and logged in.
	EventReconnected
)

// String implements fmt.Stringer.
func (k EventKind) String() string {
	switch k {
	case EventChanged:
		return "changed"
	case EventRemoved:
		return "removed"
	case EventDisconnected:
		return "disconnected"
	case EventReconnected:
		return "reconnected"
	}
	return "EventKind(" + strconv.Itoa(int(k)) + ")"
}

// Event is a change streamed by a Listener, or a connection event passed to
// the WithOnEvent callback.
type Event struct {
	Kind   EventKind
	Time   time.Time
	Err    error  // why the connection broke (EventDisconnected)
	Menu   string // the listened menu (EventChanged, EventRemoved)
	Record Record // the item after the change; its .id for a removal
}

// Listener streams the changes of one menu over a connection of its own,
// so a slow consumer never blocks other calls (go-routeros' shared async
// reader does). Close it when done; Client.Close closes it too.
type Listener struct {
	c    *Client // private session for this stream
	menu string
	tag  string

	mu     sync.Mutex // serialises Next
	closed chan struct{}
	once   sync.Once
	parent *Client
}

// Listen starts streaming changes of menu (e.g. "/ip/dhcp-server/lease")
// on a new connection, logged in within ctx. Only clients made by Dial can
// open the extra connection.
//
// RouterOS API: <menu>/listen
func (c *Client) Listen(ctx context.Context, menu string) (*Listener, error) {
	op := "listen " + menu
	if c.dial == nil {
		return nil, &Error{Op: op, Code: -1, Message: "listen needs a client made by Dial", kinds: []error{ErrInvalid}}
	}
	if !strings.HasPrefix(menu, "/") || strings.ContainsAny(menu, " =?") {
		return nil, &Error{Op: op, Code: -1, Message: "menu must be a path like /ip/address", kinds: []error{ErrInvalid}}
	}
	if c.closed.Load() {
		return nil, &Error{Op: op, Code: -1, kinds: []error{ErrClosed}}
	}
	cfg := c.cfg
	cfg.onEvent = nil // the stream reports its own end through Next
	sub := bareClient(cfg)
	sub.dial = c.dial
	sub.broken = errors.New("not connected") // ready() dials
	ctx2, cancel := c.withTimeout(ctx)
	defer cancel()
	if err := sub.acquire(ctx2); err != nil {
		return nil, &Error{Op: op, Code: -1, Err: err, kinds: kindsOf(err)}
	}
	err := sub.ready(ctx2)
	if err == nil {
		sub.tagSeq++
		err = netctx.Do(ctx2, sub.conn, func() error {
			sub.w.BeginSentence()
			sub.w.WriteWord(menu + "/listen")
			sub.w.WriteWord(".tag=l")
			return sub.w.EndSentence()
		})
	}
	sub.release()
	if err != nil {
		_ = sub.Close()
		return nil, wrapOp(err, op)
	}
	l := &Listener{c: sub, menu: menu, tag: "l", closed: make(chan struct{}), parent: c}
	c.lmu.Lock()
	if c.listeners == nil {
		c.listeners = map[*Listener]struct{}{}
	}
	c.listeners[l] = struct{}{}
	c.lmu.Unlock()
	if c.closed.Load() {
		// Close ran while we dialled and may have missed this listener.
		_ = l.Close()
		return nil, &Error{Op: op, Code: -1, kinds: []error{ErrClosed}}
	}
	return l, nil
}

// Next waits for the next change. An error ends the stream: a trap from
// the router (e.g. the menu cannot be listened to), a broken connection,
// ctx ending while Next waits (the connection may hold half a sentence, so
// it is closed) or Close (ErrClosed). A ctx already done when Next is
// called only returns its error.
//
// RouterOS API: <menu>/listen (reads its next !re sentence)
func (l *Listener) Next(ctx context.Context) (Event, error) {
	op := "listen " + l.menu
	l.mu.Lock()
	defer l.mu.Unlock()
	select {
	case <-l.closed:
		return Event{}, &Error{Op: op, Code: -1, kinds: []error{ErrClosed}}
	default:
	}
	if l.c.broken != nil {
		return Event{}, &Error{Op: op, Code: -1, Err: l.c.broken, kinds: []error{ErrConnection}}
	}
	var ev Event
	var trap *sentence
	started := false
	err := netctx.Do(ctx, l.c.conn, func() error {
		started = true
		for {
			s, err := readSentenceLimited(l.c.br, readLimits{word: l.c.cfg.maxWord, sentence: l.c.cfg.maxSentence})
			if err != nil {
				return err
			}
			switch {
			case s.word == "!fatal":
				return errors.New("fatal: " + strings.Join(append(s.bare, s.attrs["message"]), " "))
			case s.tag != l.tag:
				return &protocolError{"reply with unexpected tag"}
			case s.word == "!re":
				ev = Event{Kind: EventChanged, Time: time.Now(), Menu: l.menu, Record: Record(s.attrs)}
				if d := s.attrs[".dead"]; d == "true" || d == "yes" {
					ev.Kind = EventRemoved
				}
				delete(ev.Record, ".dead")
				return nil
			case s.word == "!trap":
				trap = s
			case s.word == "!done":
				if trap != nil {
					return nil
				}
				return &protocolError{"listen ended without a trap"}
			case s.word == "!empty":
			default:
				return &protocolError{"unknown reply word"}
			}
		}
	})
	if err != nil && !started {
		// ctx was done before anything was read: the stream is intact.
		return Event{}, &Error{Op: op, Code: -1, Err: err}
	}
	if err != nil {
		l.c.markBroken(err)
		select {
		case <-l.closed:
			return Event{}, &Error{Op: op, Code: -1, Err: err, kinds: []error{ErrClosed}}
		default:
		}
		if ctx.Err() != nil {
			return Event{}, &Error{Op: op, Code: -1, Err: err}
		}
		return Event{}, connError(op, l.menu+"/listen", err)
	}
	if trap != nil {
		l.c.markBroken(errors.New("listen ended"))
		return Event{}, trapError(op, l.menu+"/listen", trap)
	}
	return ev, nil
}

// Close ends the stream and its connection. It is idempotent.
func (l *Listener) Close() error {
	var err error
	l.once.Do(func() {
		close(l.closed)
		err = l.c.Close()
		l.parent.lmu.Lock()
		delete(l.parent.listeners, l)
		l.parent.lmu.Unlock()
	})
	return err
}
