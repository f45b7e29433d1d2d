package ups_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/ups"
	"github.com/thehomelab/homelab/ups/upstest"
)

// memConn answers every write with the same canned reply, so a benchmark
// measures the client's parsing, not the network.
type memConn struct {
	reply, pending []byte
	writes         int // each write is one request batch: a round trip
}

func (m *memConn) Read(p []byte) (int, error) {
	if len(m.pending) == 0 {
		return 0, io.EOF
	}
	n := copy(p, m.pending)
	m.pending = m.pending[n:]
	return n, nil
}
func (m *memConn) Write(p []byte) (int, error)      { m.writes++; m.pending = m.reply; return len(p), nil }
func (m *memConn) Close() error                     { return nil }
func (m *memConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (m *memConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (m *memConn) SetDeadline(time.Time) error      { return nil }
func (m *memConn) SetReadDeadline(time.Time) error  { return nil }
func (m *memConn) SetWriteDeadline(time.Time) error { return nil }

func listVarReply(n int) []byte {
	var b strings.Builder
	b.WriteString("BEGIN LIST VAR ups\n")
	for i := range n {
		fmt.Fprintf(&b, "VAR ups some.variable.%02d \"value %d with \\\"quotes\\\" #%d\"\n", i, i, i)
	}
	b.WriteString("END LIST VAR ups\n")
	return []byte(b.String())
}

// BenchmarkListVar60 parses a LIST VAR reply of 60 variables (target:
// < 50 µs), from memory and over loopback TCP against upstest.
func BenchmarkListVar60(b *testing.B) {
	b.Run("parse", func(b *testing.B) {
		mc := &memConn{reply: listVarReply(60)}
		c, err := ups.NewClient(mc, ups.WithKeepAlive(0))
		require.NoError(b, err)
		defer c.Close()
		d := c.Device("ups")
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			vars, err := d.Variables(ctx)
			if err != nil || len(vars) != 60 {
				b.Fatal(err, len(vars))
			}
		}
		b.ReportMetric(float64(mc.writes)/float64(b.N), "roundtrips/op")
	})
	b.Run("tcp", func(b *testing.B) {
		s := upstest.NewServer()
		defer s.Close()
		vars := map[string]string{}
		for i := range 59 {
			vars[fmt.Sprintf("some.variable.%02d", i)] = fmt.Sprintf("value %d", i)
		}
		vars["ups.status"] = "OL"
		s.AddUPS("ups", "", vars)
		c, err := ups.Dial(context.Background(), s.Addr(), ups.WithKeepAlive(0))
		require.NoError(b, err)
		defer c.Close()
		d := c.Device("ups")
		b.ReportAllocs()
		for b.Loop() {
			got, err := d.Variables(context.Background())
			if err != nil || len(got) != 60 {
				b.Fatal(err, len(got))
			}
		}
	})
}

// countConn counts writes: each write that waits for replies is a round trip.
type countConn struct {
	net.Conn
	writes atomic.Int64
}

func (c *countConn) Write(p []byte) (int, error) { c.writes.Add(1); return c.Conn.Write(p) }

// BenchmarkSnapshot reads status, charge, runtime, load and three voltages
// against upstest with 2 ms injected latency: pipelined (Device.Snapshot)
// side by side with the naive way, one GET VAR per variable.
func BenchmarkSnapshot(b *testing.B) {
	names := []string{"ups.status", "battery.charge", "battery.runtime", "ups.load", "input.voltage", "output.voltage", "battery.voltage"}
	for _, mode := range []string{"pipelined", "naive"} {
		b.Run(mode, func(b *testing.B) {
			s := upstest.NewServer(upstest.WithLatency(2 * time.Millisecond))
			defer s.Close()
			s.AddUPS("ups", "", upstest.DefaultVars())
			raw, err := net.Dial("tcp", s.Addr())
			require.NoError(b, err)
			cc := &countConn{Conn: raw}
			c, err := ups.NewClient(cc, ups.WithKeepAlive(0))
			require.NoError(b, err)
			defer c.Close()
			d := c.Device("ups")
			ctx := context.Background()
			for b.Loop() {
				if mode == "pipelined" {
					if _, err := d.Snapshot(ctx); err != nil {
						b.Fatal(err)
					}
					continue
				}
				for _, n := range names {
					if _, err := d.Get(ctx, n); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(cc.writes.Load())/float64(b.N), "roundtrips/op")
		})
	}
}

// countPoller counts polls.
type countPoller struct {
	ups.Poller
	polls int
}

func (p *countPoller) Snapshot(ctx context.Context) (ups.Snapshot, error) {
	p.polls++
	return p.Poller.Snapshot(ctx)
}

// BenchmarkDecisionLatency runs a Monitor against upstest whose UPS already
// shows OB LB: the decision must come from the first poll (polls/decision 1),
// so the latency is one snapshot round trip.
func BenchmarkDecisionLatency(b *testing.B) {
	s := upstest.NewServer()
	defer s.Close()
	s.AddUPS("ups", "", upstest.DefaultVars())
	s.SetStatus("ups", "OB DISCHRG LB")
	c, err := ups.Dial(context.Background(), s.Addr(), ups.WithKeepAlive(0))
	require.NoError(b, err)
	defer c.Close()
	p := &countPoller{Poller: c.Device("ups")}
	decisions := 0
	for b.Loop() {
		m, err := ups.NewMonitor(p, ups.MonitorConfig{})
		if err != nil {
			b.Fatal(err)
		}
		d, err := m.Run(context.Background())
		if err != nil || d.Trigger != ups.TriggerLowBattery {
			b.Fatal(err, d)
		}
		decisions++
	}
	b.ReportMetric(float64(p.polls)/float64(decisions), "polls/decision")
}

// BenchmarkMonitorPoll runs the Monitor loop against a poller that returns a
// fixed reply: allocs/op is what the monitor allocates per poll beyond the
// reply (target 0).
func BenchmarkMonitorPoll(b *testing.B) {
	reply := snap(state{status: "OL CHRG", charge: 100, runtime: 1200})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n, polls := b.N, 0
	p := pollFunc(func(context.Context) (ups.Snapshot, error) {
		polls++
		if polls >= n {
			cancel()
		}
		return reply, nil
	})
	m, err := ups.NewMonitor(p, ups.MonitorConfig{Interval: time.Nanosecond, AlertInterval: time.Nanosecond, Policy: ups.Policy{DeadTime: time.Second}})
	require.NoError(b, err)
	b.ReportAllocs()
	b.ResetTimer()
	_, _ = m.Run(ctx)
}

type pollFunc func(context.Context) (ups.Snapshot, error)

func (f pollFunc) Snapshot(ctx context.Context) (ups.Snapshot, error) { return f(ctx) }

// BenchmarkMachineObserve measures the pure policy step.
func BenchmarkMachineObserve(b *testing.B) {
	m := ups.NewMachine(ups.Policy{})
	ob := snap(state{status: "OB DISCHRG", charge: 90, runtime: 1000})
	ol := snap(state{status: "OL CHRG", charge: 100, runtime: 1200})
	evs := make([]ups.Event, 0, 8)
	at := t0
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		s := ol
		if i%100 >= 50 {
			s = ob
		}
		at = at.Add(time.Second)
		evs, _ = m.Observe(at, s, nil, evs[:0])
		i++
	}
}
