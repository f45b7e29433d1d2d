package ups_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/thehomelab/homelab/secret"
	"github.com/thehomelab/homelab/ups"
	"github.com/thehomelab/homelab/ups/upstest"
)

// Reading the status of a UPS. The upstest server stands in for upsd; its
// UPS reports no battery.runtime, like a Q1 PowerWalker.
func ExampleDevice_Snapshot() {
	srv := upstest.NewServer()
	defer srv.Close()
	vars := upstest.DefaultVars()
	delete(vars, "battery.runtime")
	srv.AddUPS("ups", "PowerWalker VI 1000 STL", vars)
	srv.SetStatus("ups", "OL CHRG")

	ctx := context.Background()
	c, err := ups.Dial(ctx, srv.Addr())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()

	s, err := c.Device("ups").Snapshot(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("status:", s.Status, "on line:", s.Status.Has(ups.OnLine), "charging:", s.Status.Has(ups.Charging))
	if charge, ok := s.Charge.Get(); ok {
		fmt.Printf("charge: %.0f%%\n", charge)
	}
	if rt, ok := s.Runtime.Get(); ok {
		fmt.Println("runtime:", rt)
	} else {
		fmt.Println("runtime: not reported")
	}
	fmt.Printf("input: %.1f V, load: %.0f%%\n", s.InputVoltage.Value, s.Load.Value)

	_, err = c.Device("nosuch").Status(ctx)
	fmt.Println(err)
	// Output:
	// status: OL CHRG on line: true charging: true
	// charge: 100%
	// runtime: not reported
	// input: 230.0 V, load: 25%
	// ups: get var nosuch ups.status: server said UNKNOWN-UPS
}

// guestStopper is what the caller's shutdown action needs from a hypervisor
// SDK (in the lab: proxmox's ordered shutdown). The ups package declares no
// such dependency; the caller wires it.
type guestStopper interface {
	ShutdownOrdered(ctx context.Context, dryRun bool) ([]string, error)
}

type fakeProxmox struct{}

func (fakeProxmox) ShutdownOrdered(_ context.Context, dryRun bool) ([]string, error) {
	steps := []string{"stop guests without order: 103 dev, 104 pbs", "stop late guests: 102 nextcloud", "stop nas (101) last", "shut down node proxmox1"}
	if dryRun {
		for i := range steps {
			steps[i] = "would " + steps[i]
		}
	}
	return steps, nil
}

// A policy drill: the monitor runs the whole path against a UPS that goes on
// battery and then low, decides, and calls the shutdown action in dry-run
// mode, so nothing is stopped and no FSD is sent.
func ExampleMonitor_drill() {
	srv := upstest.NewServer()
	defer srv.Close()
	srv.AddUPS("ups", "PowerWalker VI 1000 STL", upstest.DefaultVars())
	srv.SetStatus("ups", "OB DISCHRG") // mains just failed
	srv.Set("ups", "battery.charge", "60")

	ctx := context.Background()
	c, err := ups.Dial(ctx, srv.Addr())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()

	var hv guestStopper = fakeProxmox{}
	m, err := ups.NewMonitor(c.Device("ups"), ups.MonitorConfig{
		Interval: 20 * time.Millisecond, AlertInterval: 10 * time.Millisecond,
		Policy:     ups.Policy{DeadTime: time.Second},
		DryRun:     true,
		ForwardFSD: true, // skipped in a drill
		OnEvent: func(e ups.Event) {
			fmt.Println("event:", e.Kind, e.Status)
			if e.Kind == ups.EventOnBattery { // the fake UPS runs low once the outage is noticed
				srv.Set("ups", "battery.charge", "35")
				srv.SetStatus("ups", "OB DISCHRG LB")
			}
		},
		Shutdown: func(ctx context.Context, d ups.Decision) error {
			steps, err := hv.ShutdownOrdered(ctx, d.DryRun)
			for _, s := range steps {
				fmt.Println(" ", s)
			}
			return err
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	d, err := m.Run(ctx)
	fmt.Println("decision:", d.Trigger, "-", d.Reason, "- dry run:", d.DryRun, "- error:", err)
	fmt.Println("FSD sent:", srv.FSDSet("ups"))
	// Output:
	// event: ONBATT OB DISCHRG
	// event: LOWBATT OB DISCHRG LB
	// event: SHUTDOWN OB DISCHRG LB
	//   would stop guests without order: 103 dev, 104 pbs
	//   would stop late guests: 102 nextcloud
	//   would stop nas (101) last
	//   would shut down node proxmox1
	// decision: low battery - on battery with low battery (OB LB) - dry run: true - error: <nil>
	// FSD sent: false
}

// The policy alone, on a fake clock: a 10-minute outage of a UPS that
// reports neither runtime nor a falling charge ends at MaxOnBattery.
func ExampleMachine() {
	m := ups.NewMachine(ups.Policy{MaxOnBattery: 8 * time.Minute})
	start := time.Date(2026, 1, 1, 3, 0, 0, 0, time.UTC)
	var events []ups.Event
	for t := time.Duration(0); t <= 10*time.Minute; t += 2 * time.Second {
		status := "OL"
		if t >= time.Minute {
			status = "OB DISCHRG"
		}
		var d ups.Decision
		events, d = m.Observe(start.Add(t), ups.Snapshot{Status: ups.ParseStatus(status), Charge: ups.Some(100.0)}, nil, events[:0])
		for _, e := range events {
			fmt.Println(e.Time.Format("15:04:05"), e)
		}
		if d.Shutdown {
			fmt.Println("shutdown:", d.Reason)
			break
		}
	}
	// Output:
	// 03:01:00 ONBATT (OB DISCHRG)
	// 03:09:00 SHUTDOWN (max time on battery)
	// shutdown: on battery for 8m0s (limit 8m0s)
}

// An instant command followed to its end: StartInstCmd returns once upsd
// has accepted it, Log streams what TRACKING says. InstCmd is the same,
// waiting without the log.
func ExampleDevice_StartInstCmd() {
	srv := upstest.NewServer()
	defer srv.Close()
	srv.AddUPS("ups", "PowerWalker VI 1000 STL", upstest.DefaultVars())
	srv.AddCommand("ups", "beeper.mute", "Temporarily mute the UPS beeper")
	srv.AddUser("admin", upstest.User{Password: "s3cret", InstCmds: []string{"ALL"}})

	ctx := context.Background()
	c, err := ups.Dial(ctx, srv.Addr(), ups.WithCredentials("admin", secret.New("s3cret")), ups.WithTracking())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()

	job, err := c.Device("ups").StartInstCmd(ctx, "beeper.mute")
	if err != nil {
		fmt.Println(err)
		return
	}
	for line, err := range job.Log(ctx) {
		if err != nil {
			fmt.Println("failed:", err)
			break
		}
		fmt.Println(strings.Replace(line, job.ID, "<id>", 1))
	}
	// Output:
	// instcmd ups beeper.mute: accepted, tracking <id>
	// instcmd ups beeper.mute: success
}

// A guard that will set FSD checks at start that upsd will allow it: a
// wrong password would otherwise only show when the battery runs out.
func ExampleDevice_CheckPrimary() {
	srv := upstest.NewServer()
	defer srv.Close()
	srv.AddUPS("ups", "PowerWalker VI 1000 STL", upstest.DefaultVars())
	srv.AddUser("upsmon", upstest.User{Password: "right", Upsmon: "primary"})

	ctx := context.Background()
	c, err := ups.Dial(ctx, srv.Addr(), ups.WithCredentials("upsmon", secret.New("wrong")))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	err = c.Device("ups").CheckPrimary(ctx)
	fmt.Println(errors.Is(err, ups.ErrAccessDenied))
	fmt.Println(err)
	// Output:
	// true
	// ups: check primary ups: server said ACCESS-DENIED (FSD would be refused: check the NUT password and that the user has "upsmon primary" in upsd.users)
}
