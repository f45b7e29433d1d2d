package proxmox_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/proxmox"
	"github.com/thehomelab/homelab/proxmox/proxmoxtest"
	"github.com/thehomelab/homelab/secret"
)

func names(p proxmox.PowerPlan) [][]string {
	var out [][]string
	for _, g := range p.Groups {
		var n []string
		for _, s := range g.Steps {
			n = append(n, s.Guest.Name)
		}
		out = append(out, n)
	}
	return out
}

func addOrdered(srv *proxmoxtest.Server) {
	for _, g := range []proxmoxtest.Guest{
		{VMID: 110, Name: "db", Config: map[string]string{"startup": "order=2", "onboot": "1"}},
		{VMID: 111, Name: "web", Config: map[string]string{"startup": "order=3,down=20", "onboot": "1"}},
		{VMID: 112, Name: "app", Config: map[string]string{"startup": "order=3", "onboot": "1"}},
		{VMID: 113, Name: "scratch", Config: map[string]string{}},
	} {
		g.Node, g.Type, g.Running = proxmoxtest.Node, "qemu", true
		srv.AddGuest(g)
	}
}

func TestPlanShutdownOrder(t *testing.T) {
	t.Parallel()
	srv, c := newLab(t)
	addOrdered(srv)
	srv.SetGuestStatus(102, "stopped")
	p, err := c.Power.PlanShutdown(t.Context(), proxmox.PlanOptions{Last: []string{"nas"}, DefaultTimeout: time.Minute, ShutdownNodes: true})
	require.NoError(t, err)
	assert.Equal(t, [][]string{{"scratch"}, {"app", "web"}, {"db", "docker"}, {"nas"}}, names(p))
	assert.False(t, p.Groups[0].HasOrder)
	assert.True(t, p.Groups[3].Last)
	assert.Equal(t, 20*time.Second, p.Groups[1].Steps[1].Timeout, "down= overrides the default")
	assert.Equal(t, time.Minute, p.Groups[1].Steps[0].Timeout)
	assert.Equal(t, 5*time.Minute, p.Groups[3].Steps[0].Timeout)
	require.Len(t, p.Skipped, 1)
	assert.Equal(t, "homeassistant", p.Skipped[0].Name)
	assert.Equal(t, []string{proxmoxtest.Node}, p.Nodes)
	assert.Contains(t, p.String(), "then shut down node proxmox1")
	for _, r := range srv.Requests() {
		assert.Equal(t, "GET", r.Method, "a plan changes nothing")
	}
}

func TestRunShutdownWithEventsForceStopAndNode(t *testing.T) {
	t.Parallel()
	srv, c := newLab(t)
	srv.AddGuest(proxmoxtest.Guest{VMID: 120, Node: proxmoxtest.Node, Type: "qemu", Name: "stuck", Running: true,
		ShutdownTime: -1, Config: map[string]string{"startup": "order=5,down=1"}})
	srv.AddGuest(proxmoxtest.Guest{VMID: 121, Node: proxmoxtest.Node, Type: "lxc", Name: "broken", Running: true,
		Config: map[string]string{"startup": "order=5"}})
	srv.Inject(proxmoxtest.Fault{Status: 500, Reason: "CT is locked (backup)"}.On("POST", "^/nodes/proxmox1/lxc/121/status/"))
	p, err := c.Power.PlanShutdown(t.Context(), proxmox.PlanOptions{Last: []string{"nas"}, ShutdownNodes: true})
	require.NoError(t, err)
	var mu sync.Mutex
	var events []string
	res, err := c.Power.Apply(t.Context(), p, proxmox.ApplyOptions{OnEvent: func(e proxmox.Event) {
		mu.Lock()
		defer mu.Unlock()
		switch e.Kind {
		case proxmox.EventGroupStart:
			events = append(events, fmt.Sprintf("group %d", e.Group))
		case proxmox.EventNode:
			events = append(events, "node "+e.Node)
		case proxmox.EventGuestDone, proxmox.EventForceStop, proxmox.EventGuestFail:
			events = append(events, fmt.Sprintf("%s %s %s", e.Kind, e.Name, e.Outcome))
		}
	}})
	require.Error(t, err, "the locked container fails")
	assert.ErrorIs(t, err, proxmox.ErrConflict)
	assert.Contains(t, res.Failed, proxmox.GuestRef{Node: proxmoxtest.Node, Type: proxmox.TypeCT, VMID: 121})
	assert.Equal(t, proxmox.ForceStopped, res.Outcomes[proxmox.GuestRef{Node: proxmoxtest.Node, Type: proxmox.TypeVM, VMID: 120}])
	assert.Equal(t, proxmox.ShutDown, res.Outcomes[nas])
	for _, id := range []int{100, 101, 102, 120} {
		assert.Equal(t, "stopped", srv.GuestStatus(id), id)
	}
	assert.False(t, srv.NodeOnline(proxmoxtest.Node))
	mu.Lock()
	defer mu.Unlock()
	require.NotEmpty(t, events)
	assert.Equal(t, "group 1", events[0])
	assert.Contains(t, events, "force-stop stuck ")
	assert.Contains(t, events, "failed broken ")
	assert.Equal(t, "done nas shut down", events[len(events)-2], "the NAS goes last")
	assert.Equal(t, "node proxmox1", events[len(events)-1])
}

func TestRunStopOnError(t *testing.T) {
	t.Parallel()
	srv, c := newLab(t)
	srv.Inject(proxmoxtest.Timeout596.On("POST", "^/nodes/proxmox1/qemu/102/status/shutdown$"))
	p, err := c.Power.PlanShutdown(t.Context(), proxmox.PlanOptions{Last: []string{"nas"}})
	require.NoError(t, err)
	_, err = c.Power.Apply(t.Context(), p, proxmox.ApplyOptions{StopOnError: true})
	require.ErrorIs(t, err, proxmox.ErrNodeUnreachable)
	assert.Equal(t, "running", srv.GuestStatus(100), "later groups did not run")
	assert.Equal(t, "running", srv.GuestStatus(101))
}

func TestStartUpInOrder(t *testing.T) {
	t.Parallel()
	srv, c := newLab(t)
	addOrdered(srv)
	for _, id := range []int{100, 101, 102, 110, 111, 112, 113} {
		srv.SetGuestStatus(id, "stopped")
	}
	p, err := c.Power.PlanStartUp(t.Context(), proxmox.PlanOptions{Last: []string{"nas"}})
	require.NoError(t, err)
	assert.Equal(t, [][]string{{"nas"}, {"docker", "db"}, {"web", "app"}, {"homeassistant"}}, names(p))
	assert.Len(t, p.Skipped, 1, "scratch has no onboot")
	p.Groups[0].Steps[0].Startup.Up = 0 // don't wait the nas's up=60 in a test
	res, err := c.Power.Apply(t.Context(), p, proxmox.ApplyOptions{})
	require.NoError(t, err)
	assert.Len(t, res.Outcomes, 6)
	for _, id := range []int{100, 101, 102, 110, 111, 112} {
		assert.Equal(t, "running", srv.GuestStatus(id))
	}
	assert.Equal(t, "stopped", srv.GuestStatus(113))
}

func TestStopAllAndStartAll(t *testing.T) {
	t.Parallel()
	srv, c := newLab(t)
	srv.AddGuest(proxmoxtest.Guest{VMID: 150, Node: proxmoxtest.Node, Type: "qemu", Name: "stubborn", Running: true, ShutdownTime: -1})
	require.NoError(t, c.Power.StopAll(t.Context(), proxmoxtest.Node, proxmox.BulkOptions{VMIDs: []proxmox.VMID{150}, Timeout: time.Second, NoForceStop: true}))
	assert.Equal(t, "running", srv.GuestStatus(150), "force-stop=0 was honoured")
	var sent string
	for _, r := range srv.Requests() {
		if r.Path == "/nodes/proxmox1/stopall" {
			sent = r.Params.Get("force-stop")
		}
	}
	assert.Equal(t, "0", sent)

	require.NoError(t, c.Power.StopAll(t.Context(), proxmoxtest.Node, proxmox.BulkOptions{Timeout: time.Second}))
	for _, id := range []int{100, 101, 102, 150} {
		assert.Equal(t, "stopped", srv.GuestStatus(id), id)
	}
	require.NoError(t, c.Power.StartAll(t.Context(), proxmoxtest.Node, proxmox.BulkOptions{}))
	for _, id := range []int{100, 101, 102} {
		assert.Equal(t, "running", srv.GuestStatus(id), id)
	}
	assert.Equal(t, "stopped", srv.GuestStatus(150), "no onboot")
}

func TestRunLockTimeoutIsNotForceStopped(t *testing.T) {
	t.Parallel()
	srv, c := newLab(t)
	srv.Inject(proxmoxtest.Fault{Status: 500,
		Reason: "can't lock file '/var/lock/qemu-server/lock-102.conf' - got timeout"}.On("POST", "^/nodes/proxmox1/qemu/102/status/"))
	_, err := c.Guests.Shutdown(t.Context(), ha, proxmox.ShutdownOptions{})
	require.ErrorIs(t, err, proxmox.ErrConflict)
	assert.NotErrorIs(t, err, proxmox.ErrTimeout, "a lock timeout is not a shutdown timeout")

	p, err := c.Power.PlanShutdown(t.Context(), proxmox.PlanOptions{Last: []string{"nas"}})
	require.NoError(t, err)
	res, err := c.Power.Apply(t.Context(), p, proxmox.ApplyOptions{})
	require.Error(t, err)
	assert.Contains(t, res.Failed, ha)
	assert.NotContains(t, res.Outcomes, ha)
	for _, r := range srv.Requests() {
		assert.NotEqual(t, "/nodes/proxmox1/qemu/102/status/stop", r.Path, "no force stop after a lock error")
	}
	assert.Equal(t, "stopped", srv.GuestStatus(100), "the rest proceeds, the NAS last")
	assert.Equal(t, "stopped", srv.GuestStatus(101))
	assert.Positive(t, res.Duration)
}

func TestRunForceStopsPausedVM(t *testing.T) {
	t.Parallel()
	srv, c := newLab(t)
	srv.SetGuestStatus(102, "paused")
	st, err := c.Guests.Status(t.Context(), ha)
	require.NoError(t, err)
	assert.True(t, st.Running(), "PVE reports a paused VM as running")
	assert.Equal(t, "paused", st.QMPStatus)
	p, err := c.Power.PlanShutdown(t.Context(), proxmox.PlanOptions{})
	require.NoError(t, err)
	assert.Empty(t, p.Skipped, "a paused VM is not already stopped")
	res, err := c.Power.Apply(t.Context(), p, proxmox.ApplyOptions{})
	require.NoError(t, err)
	assert.Equal(t, proxmox.ForceStopped, res.Outcomes[ha])
	assert.Equal(t, "stopped", srv.GuestStatus(102))
}

func TestRunHandlesAGroupInParallelAndGroupsInOrder(t *testing.T) {
	t.Parallel()
	srv := proxmoxtest.NewServer(proxmoxtest.WithoutLab())
	t.Cleanup(srv.Close)
	srv.AddNode(proxmoxtest.Node)
	c := newClient(t, srv)
	const took = 150 * time.Millisecond
	for i, order := range []int{1, 1, 1, 2, 2, 2} {
		srv.AddGuest(proxmoxtest.Guest{VMID: 300 + i, Node: proxmoxtest.Node, Type: "qemu", Name: fmt.Sprintf("g%d", i),
			Running: true, ShutdownTime: took, Config: map[string]string{"startup": fmt.Sprintf("order=%d", order)}})
	}
	p, err := c.Power.PlanShutdown(t.Context(), proxmox.PlanOptions{})
	require.NoError(t, err)
	require.Len(t, p.Groups, 2)
	var mu sync.Mutex
	var kinds []string
	res, err := c.Power.Apply(t.Context(), p, proxmox.ApplyOptions{OnEvent: func(e proxmox.Event) {
		mu.Lock()
		defer mu.Unlock()
		kinds = append(kinds, fmt.Sprintf("%s%d", e.Kind, e.Group))
	}})
	require.NoError(t, err)
	assert.Len(t, res.Outcomes, 6)
	// all guests of a group begin before any of them is done (parallel),
	// and a group starts only when the previous one is done (ordered)
	want := []string{"group1", "begin1", "begin1", "begin1", "done1", "done1", "done1",
		"group2", "begin2", "begin2", "begin2", "done2", "done2", "done2"}
	mu.Lock()
	assert.Equal(t, want, kinds)
	mu.Unlock()
	assert.GreaterOrEqual(t, res.Duration, 2*took, "two groups one after the other")
	assert.Less(t, res.Duration, 6*took, "not one guest after another")
	// order 2 stops before order 1
	var first string
	for _, r := range srv.Requests() {
		if r.Method == "POST" && first == "" {
			first = r.Path
		}
	}
	assert.Regexp(t, `/qemu/30[345]/status/shutdown$`, first)
}

func TestPlanRefusesAnUnreadableStartupOrder(t *testing.T) {
	t.Parallel()
	srv, c := newLab(t)
	// an unreadable order must not quietly put the guest in the "no
	// order" group, which stops first
	srv.AddGuest(proxmoxtest.Guest{VMID: 160, Node: proxmoxtest.Node, Type: "qemu", Name: "odd", Running: true,
		Config: map[string]string{"startup": "order=one"}})
	_, err := c.Power.PlanShutdown(t.Context(), proxmox.PlanOptions{Last: []string{"nas"}})
	require.ErrorIs(t, err, proxmox.ErrInvalid)
	assert.Contains(t, err.Error(), "vm 160 on proxmox1")
}

func TestPlanShutsTheAnsweringNodeDownLast(t *testing.T) {
	t.Parallel()
	srv, c := newLab(t)
	// "proxmox1" answers the API (local) and sorts before "proxmox2":
	// powering it off first would cut the client off from proxmox2.
	srv.AddNode("proxmox2")
	srv.AddGuest(proxmoxtest.Guest{VMID: 200, Node: "proxmox2", Type: "qemu", Name: "remote", Running: true})
	srv.AddNode("proxmox0") // no guests, still a node to power off
	srv.AddNode("proxmox9")
	srv.SetNodeOnline("proxmox9", false) // cannot be reached
	p, err := c.Power.PlanShutdown(t.Context(), proxmox.PlanOptions{Last: []string{"nas"}, ShutdownNodes: true})
	require.NoError(t, err)
	assert.Equal(t, []string{"proxmox0", "proxmox2", proxmoxtest.Node}, p.Nodes)
	assert.True(t, strings.HasSuffix(p.String(), "then shut down node proxmox2\nthen shut down node proxmox1\n"), p.String())
	_, err = c.Power.Apply(t.Context(), p, proxmox.ApplyOptions{})
	require.NoError(t, err)
	var order []string
	for _, r := range srv.Requests() {
		if r.Method == "POST" && strings.HasSuffix(r.Path, "/status") && r.Params.Get("command") == "shutdown" {
			order = append(order, r.Path)
		}
	}
	assert.Equal(t, []string{"/nodes/proxmox0/status", "/nodes/proxmox2/status", "/nodes/proxmox1/status"}, order)
	assert.False(t, srv.NodeOnline("proxmox2"))
	assert.False(t, srv.NodeOnline(proxmoxtest.Node))
}

func TestRunForceStopsAGuestWhoseShutdownCannotBeFollowed(t *testing.T) {
	t.Parallel()
	srv, c := newLab(t)
	srv.AddGuest(proxmoxtest.Guest{VMID: 120, Node: proxmoxtest.Node, Type: "qemu", Name: "silent", Running: true,
		ShutdownTime: -1, Config: map[string]string{"startup": "order=5,down=1"}})
	// the shutdown task's status cannot be read (pvedaemon busy, 596)
	srv.Inject(proxmoxtest.Timeout596.On("GET", "qmshutdown:120:.*/status$"))
	p, err := c.Power.PlanShutdown(t.Context(), proxmox.PlanOptions{Nodes: []string{proxmoxtest.Node}})
	require.NoError(t, err)
	for _, g := range p.Groups { // only the order=5 group
		if g.HasOrder && g.Order == 5 {
			p.Groups = []proxmox.PlanGroup{g}
		}
	}
	require.Len(t, p.Groups, 1)
	require.Len(t, p.Groups[0].Steps, 1)
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	res, err := c.Power.Apply(ctx, p, proxmox.ApplyOptions{})
	require.NoError(t, err)
	assert.Equal(t, proxmox.ForceStopped, res.Outcomes[proxmox.GuestRef{Node: proxmoxtest.Node, Type: proxmox.TypeVM, VMID: 120}])
	assert.Equal(t, "stopped", srv.GuestStatus(120))
	assert.Less(t, res.Duration, 10*time.Second)
}

// overrule-shutdown came with qemu-server 8.1.2 / pve-container 5.0.10
// (PVE 8.2) and stopall's force-stop and timeout with pve-manager 7.3-5:
// the client sends them only to releases that know them, and the fake,
// playing an older release, refuses them as its schema would.
func TestVersionAwareParameters(t *testing.T) {
	t.Parallel()
	sent := func(srv *proxmoxtest.Server, suffix, param string) (bool, bool) {
		for _, r := range srv.Requests() {
			if r.Method == "POST" && strings.HasSuffix(r.Path, suffix) {
				return true, r.Params.Has(param)
			}
		}
		return false, false
	}
	for _, tt := range []struct {
		version  string
		overrule bool
		force    bool
	}{{"9.0.3", true, true}, {"8.2.2", true, true}, {"8.1.4", false, true}, {"7.2-3", false, false}} {
		t.Run(tt.version, func(t *testing.T) {
			t.Parallel()
			srv, c := newLab(t, proxmoxtest.WithVersion(tt.version))
			out, err := c.Guests.Stop(t.Context(), ha)
			require.NoError(t, err)
			assert.Equal(t, proxmox.Stopped, out)
			posted, has := sent(srv, "/qemu/102/status/stop", "overrule-shutdown")
			require.True(t, posted)
			assert.Equal(t, tt.overrule, has)
			if !tt.overrule {
				err := c.Do(t.Context(), "POST", "/nodes/proxmox1/qemu/100/status/stop", url.Values{"overrule-shutdown": {"1"}}, nil)
				assert.ErrorIs(t, err, proxmox.ErrInvalid, "the older schema does not know it")
			}
			require.NoError(t, c.Power.StopAll(t.Context(), proxmoxtest.Node, proxmox.BulkOptions{}))
			_, has = sent(srv, "/stopall", "force-stop")
			assert.Equal(t, tt.force, has)
			srv.ResetRequests()
			err = c.Power.StopAll(t.Context(), proxmoxtest.Node, proxmox.BulkOptions{NoForceStop: true})
			if tt.force {
				assert.NoError(t, err)
			} else {
				assert.ErrorIs(t, err, proxmox.ErrInvalid)
				posted, _ := sent(srv, "/stopall", "force-stop")
				assert.False(t, posted, "refused before sending")
			}
		})
	}
}

// An HA-managed guest's start, shutdown and stop endpoints only queue a
// request with the HA stack (a "hastop" task that ends at once, qemu-server
// PVE/API2/Qemu.pm vm_shutdown), and HA keeps the requested state. Plans
// go through the HA resource state, say so, and wait for the guest itself.
func TestHAGuestsGoThroughTheirHAState(t *testing.T) {
	t.Parallel()
	srv := proxmoxtest.Start(t, proxmoxtest.WithoutLab())
	srv.AddNode(proxmoxtest.Node)
	c := newClient(t, srv)
	ctx := t.Context()
	srv.AddGuest(proxmoxtest.Guest{VMID: 170, Node: proxmoxtest.Node, Type: "qemu", Name: "dns", Running: true,
		HA: "started", ShutdownTime: 80 * time.Millisecond, StartTime: 40 * time.Millisecond})

	// what the SDK used to trust: the hastop task is OK while the guest runs on
	var upid string
	require.NoError(t, c.Do(ctx, "POST", "/nodes/proxmox1/qemu/170/status/shutdown", nil, &upid))
	u, err := proxmox.ParseUPID(upid)
	require.NoError(t, err)
	assert.Equal(t, "hastop", u.Type)
	_, err = c.Tasks.Task(u).Wait(ctx)
	require.NoError(t, err)
	assert.Equal(t, "running", srv.GuestStatus(170), "HA has only been asked")
	assert.Equal(t, "stopped", srv.HAState(170))
	require.NoError(t, c.Do(ctx, "PUT", "/cluster/ha/resources/vm:170", url.Values{"state": {"started"}}, nil))
	require.Eventually(t, func() bool {
		_, _ = c.Guests.Status(ctx, proxmox.GuestRef{Node: proxmoxtest.Node, Type: proxmox.TypeVM, VMID: 170})
		return srv.GuestStatus(170) == "running"
	}, 5*time.Second, 10*time.Millisecond)

	plan, err := c.Power.PlanShutdown(ctx, proxmox.PlanOptions{})
	require.NoError(t, err)
	assert.Contains(t, plan.String(), "vm 170 on proxmox1 (dns) timeout 3m0s via HA (request stopped)")
	srv.ResetRequests()
	res, err := c.Power.Apply(ctx, plan, proxmox.ApplyOptions{})
	require.NoError(t, err)
	ref := proxmox.GuestRef{Node: proxmoxtest.Node, Type: proxmox.TypeVM, VMID: 170}
	assert.Equal(t, proxmox.ShutDown, res.Outcomes[ref])
	assert.Equal(t, "stopped", srv.GuestStatus(170), "down when Apply returns")
	assert.Equal(t, "stopped", srv.HAState(170))
	var haPut bool
	for _, r := range srv.Requests() {
		assert.NotEqual(t, "/nodes/proxmox1/qemu/170/status/shutdown", r.Path, "not through the guest endpoint")
		if r.Method == "PUT" && r.Path == "/cluster/ha/resources/vm:170" {
			haPut = true
			assert.Equal(t, "stopped", r.Params.Get("state"))
		}
	}
	assert.True(t, haPut)

	// start-up asks HA for started, though the guest has no onboot
	up, err := c.Power.PlanStartUp(ctx, proxmox.PlanOptions{})
	require.NoError(t, err)
	assert.Contains(t, up.String(), "vm 170 on proxmox1 (dns) via HA (request started)")
	res, err = c.Power.Apply(ctx, up, proxmox.ApplyOptions{})
	require.NoError(t, err)
	assert.Equal(t, proxmox.Started, res.Outcomes[ref])
	assert.Equal(t, "running", srv.GuestStatus(170))
	assert.Equal(t, "started", srv.HAState(170))

	// a hard stop is an HA request too: overrule-shutdown is refused for HA resources
	err = c.Do(ctx, "POST", "/nodes/proxmox1/qemu/170/status/stop", url.Values{"overrule-shutdown": {"1"}}, nil)
	assert.ErrorIs(t, err, proxmox.ErrInvalid)
	out, err := c.Guests.Stop(ctx, ref)
	require.NoError(t, err)
	assert.Equal(t, proxmox.Stopped, out)
	assert.Equal(t, "stopped", srv.GuestStatus(170))
}

// pve-manager's startall (PVE/API2/Nodes.pm) starts the guests of an order
// one at a time in vmid order and pauses each guest's up= before the next;
// Apply does the same for start-up plans.
func TestStartUpGroupGoesOneByOneWithUpDelay(t *testing.T) {
	t.Parallel()
	srv := proxmoxtest.Start(t, proxmoxtest.WithoutLab())
	srv.AddNode(proxmoxtest.Node)
	c := newClient(t, srv)
	for i, up := range []string{",up=1", "", ""} {
		srv.AddGuest(proxmoxtest.Guest{VMID: 310 + i, Node: proxmoxtest.Node, Type: "qemu", Name: fmt.Sprintf("s%d", i),
			Config: map[string]string{"startup": "order=1" + up, "onboot": "1"}})
	}
	p, err := c.Power.PlanStartUp(t.Context(), proxmox.PlanOptions{})
	require.NoError(t, err)
	require.Len(t, p.Groups, 1)
	var mu sync.Mutex
	var seen []string
	var times []time.Time
	res, err := c.Power.Apply(t.Context(), p, proxmox.ApplyOptions{OnEvent: func(e proxmox.Event) {
		mu.Lock()
		defer mu.Unlock()
		if e.Kind == proxmox.EventGuestBegin || e.Kind == proxmox.EventGuestDone {
			seen = append(seen, fmt.Sprintf("%s %d", e.Kind, e.Guest.VMID))
			times = append(times, e.Time)
		}
	}})
	require.NoError(t, err)
	assert.Len(t, res.Outcomes, 3)
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []string{"begin 310", "done 310", "begin 311", "done 311", "begin 312", "done 312"}, seen)
	assert.GreaterOrEqual(t, times[2].Sub(times[1]), time.Second, "310's up=1 before 311")
	assert.Less(t, times[4].Sub(times[3]), time.Second, "311 has no up=")
}

// A guard checks at start that it could act (issue 11: a powerloss guard
// with a wrong token printed "watching" and shut nothing down).
func TestPreflightSaysWhetherThePlanCanBeApplied(t *testing.T) {
	t.Parallel()
	srv, c := newLab(t)
	plan, err := c.Power.PlanShutdown(t.Context(), proxmox.PlanOptions{ShutdownNodes: true})
	require.NoError(t, err)
	require.NoError(t, c.Power.Preflight(t.Context(), plan))

	srv.Deny(proxmoxtest.TokenID, "VM.PowerMgmt")
	srv.Deny(proxmoxtest.TokenID, "Sys.PowerMgmt")
	err = c.Power.Preflight(t.Context(), plan)
	require.ErrorIs(t, err, proxmox.ErrPermission)
	assert.Contains(t, err.Error(), "VM.PowerMgmt on /vms/100")
	assert.Contains(t, err.Error(), "Sys.PowerMgmt on /nodes/proxmox1")
	for _, r := range srv.Requests() {
		assert.NotEqual(t, "POST", r.Method, "preflight changes nothing")
	}

	bad := newClient(t, srv, proxmox.WithAPIToken(proxmoxtest.TokenID, secret.New("wrong")))
	assert.ErrorIs(t, bad.Power.Preflight(t.Context(), plan), proxmox.ErrAuth)
	srv.Close()
	assert.ErrorIs(t, c.Power.Preflight(t.Context(), plan), proxmox.ErrUnavailable)
}
