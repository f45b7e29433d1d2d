package routerostest

import (
	"strconv"
	"time"
)

// FaultKind selects what an injected fault does.
type FaultKind int

const (
	// FaultTrap answers the command with !trap (Category, Message) then
	// !done, without executing it.
	FaultTrap FaultKind = iota + 1
	// FaultFatal sends "!fatal <Message>" (a bare-word reason, as RouterOS
	// does) and closes the connection.
	FaultFatal
	// FaultDrop executes the command, sends the first After reply
	// sentences and closes the connection.
	FaultDrop
	// FaultDropMidWord executes the command and closes the connection in
	// the middle of the reply's first word.
	FaultDropMidWord
	// FaultStall never answers the command; the connection stays open.
	FaultStall
	// FaultCorruptLength answers with a length prefix announcing a word of
	// about 2 GiB followed by a few bytes, and keeps the connection open.
	FaultCorruptLength
	// FaultUnknownReply answers with the reply word "!xyz".
	FaultUnknownReply
	// FaultDelay executes the command and delays its replies by Delay.
	FaultDelay
	// FaultWrongTag executes the command and sends its replies with a tag
	// the client never used.
	FaultWrongTag
	// FaultDuplicateDone executes the command and sends its final !done
	// twice.
	FaultDuplicateDone
)

// Fault is a failure injected into the reply to a command.
type Fault struct {
	Kind FaultKind
	// Command restricts the fault to one command word ("/ip/address/print");
	// empty matches any command after login.
	Command string
	// Nth fires the fault first on the Nth matching command counted from
	// the injection (1 or 0: the next one).
	Nth int
	// Times is how many matching commands the fault fires on, from the
	// Nth; 0 means every one until ClearFaults.
	Times int
	// Category and Message fill FaultTrap's !trap (Category -1: none) and
	// FaultFatal's reason.
	Category int
	Message  string
	// After is how many reply sentences FaultDrop lets through.
	After int
	// Delay is FaultDelay's extra delay.
	Delay time.Duration
}

// Inject arms a fault: it fires on the Nth matching command and then on
// the following ones, Times times in all (0: until ClearFaults). Every
// armed fault counts every command it matches, so faults armed together
// fire on the Nth command each names; when two are due at once, the one
// armed first fires and the other on the next matching command.
func (s *Server) Inject(f Fault) { s.faults.AddAfter(f, f.Nth-1, f.Times) }

// ClearFaults disarms every injected fault.
func (s *Server) ClearFaults() { s.faults.Clear() }

// takeFault returns the fault due for cmd, if any.
func (s *Server) takeFault(cmd string) *Fault {
	f, ok := s.faults.Take(func(f Fault) bool { return f.Command == "" || f.Command == cmd })
	if !ok {
		return nil
	}
	return &f
}

// sendWithFault encodes the replies, applying f (which may be nil).
func (c *conn) sendWithFault(due time.Time, f *Fault, tag string, replies [][]string) {
	if f == nil {
		c.send(due, tag, replies)
		return
	}
	switch f.Kind {
	case FaultTrap:
		c.send(due, tag, trapReply(&trapError{category: f.Category, message: f.Message}))
	case FaultFatal:
		c.enqueue(outItem{due: due, data: AppendSentence(nil, "!fatal", f.Message), close: true})
	case FaultDrop:
		n := min(f.After, len(replies))
		c.enqueue(outItem{due: due, data: encode(tag, replies[:n]), close: true})
	case FaultDropMidWord:
		b := encode(tag, replies)
		c.enqueue(outItem{due: due, data: b[:min(3, len(b))], close: true})
	case FaultStall:
	case FaultCorruptLength:
		c.enqueue(outItem{due: due, data: []byte{0xF0, 0x7F, 0xFF, 0xFF, 0xFF, '!', 'r', 'e'}})
	case FaultUnknownReply:
		c.send(due, tag, [][]string{{"!xyz"}, {"!done"}})
	case FaultDelay:
		c.send(due.Add(f.Delay), tag, replies)
	case FaultWrongTag:
		c.send(due, "wrong-"+tag, replies)
	case FaultDuplicateDone:
		c.send(due, tag, append(replies, replies[len(replies)-1]))
	default:
		c.send(due, tag, replies)
	}
}

func encode(tag string, replies [][]string) []byte {
	var b []byte
	for _, r := range replies {
		if tag != "" {
			r = append(r[:len(r):len(r)], ".tag="+tag)
		}
		b = AppendSentence(b, r...)
	}
	return b
}

func (c *conn) send(due time.Time, tag string, replies [][]string) {
	if len(replies) == 0 {
		return
	}
	c.enqueue(outItem{due: due, data: encode(tag, replies)})
}

func trapReply(e *trapError) [][]string {
	t := []string{"!trap"}
	if e.category >= 0 {
		t = append(t, "=category="+strconv.Itoa(e.category))
	}
	t = append(t, "=message="+e.message)
	return [][]string{t, {"!done"}}
}
