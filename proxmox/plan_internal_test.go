package proxmox

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBuildPlan holds the pure plan builder to PVE's stopall/startall
// ordering without any server: groups by startup order (ascending to
// start, descending to stop, "no order" last to start and first to stop),
// guests of a group by vmid, down= timeouts, the Last guests, onboot for
// start-up, and the local node powered off last.
func TestBuildPlan(t *testing.T) {
	t.Parallel()
	vm := func(id VMID, name, status string) Guest {
		return Guest{GuestRef: GuestRef{Node: "pve1", Type: TypeVM, VMID: id}, Name: name, Status: status}
	}
	cfg := func(g Guest, startup string, onboot bool) GuestConfig {
		raw := map[string]string{"startup": startup}
		if onboot {
			raw["onboot"] = "1"
		}
		st, _ := parseStartup(startup)
		return GuestConfig{Ref: g.GuestRef, Startup: st, OnBoot: onboot, Raw: raw}
	}
	nas := vm(100, "nas", "running")
	web := vm(101, "web", "running")
	db := vm(102, "db", "running")
	free := vm(103, "free", "running")
	off := vm(104, "off", "stopped")
	tmpl := vm(105, "tmpl", "stopped")
	tmpl.Template = true
	other := Guest{GuestRef: GuestRef{Node: "pve2", Type: TypeCT, VMID: 200}, Name: "other", Status: "running"}
	all := []Guest{nas, web, db, free, off, tmpl, other}
	configs := map[GuestRef]GuestConfig{
		nas.GuestRef: cfg(nas, "order=1,down=300", true), web.GuestRef: cfg(web, "order=2", true),
		db.GuestRef: cfg(db, "order=1", true), free.GuestRef: cfg(free, "", false),
		off.GuestRef: cfg(off, "order=3,up=20", true), other.GuestRef: cfg(other, "order=2", true),
	}
	type group struct {
		label string
		vmids []VMID
	}
	groupsOf := func(p PowerPlan) []group {
		var out []group
		for _, g := range p.Groups {
			gr := group{label: g.label()}
			for _, s := range g.Steps {
				gr.vmids = append(gr.vmids, s.Guest.VMID)
			}
			out = append(out, gr)
		}
		return out
	}
	tests := []struct {
		name    string
		o       PlanOptions
		start   bool
		in      planInput
		groups  []group
		skipped []VMID
		nodes   []string
		timeout map[VMID]time.Duration
	}{
		{name: "shutdown by descending order, no order first",
			o: PlanOptions{}, in: planInput{guests: all, configs: configs},
			groups:  []group{{"no order", []VMID{103}}, {"order 2", []VMID{200, 101}}, {"order 1", []VMID{102, 100}}},
			skipped: []VMID{104, 105},
			timeout: map[VMID]time.Duration{100: 300 * time.Second, 102: 180 * time.Second}},
		{name: "one node, Last at the end, own default timeout",
			o:  PlanOptions{Nodes: []string{"pve1"}, Last: []string{"nas"}, DefaultTimeout: time.Minute},
			in: planInput{guests: all, configs: configs},
			groups: []group{{"no order", []VMID{103}}, {"order 2", []VMID{101}}, {"order 1", []VMID{102}},
				{"last", []VMID{100}}},
			skipped: []VMID{104, 105},
			timeout: map[VMID]time.Duration{100: 300 * time.Second, 101: time.Minute}},
		{name: "start-up: onboot only, ascending, Last first",
			start: true, o: PlanOptions{Last: []string{"off"}},
			in: planInput{guests: []Guest{vm(100, "nas", "stopped"), vm(103, "free", "stopped"), off}, configs: map[GuestRef]GuestConfig{
				nas.GuestRef: cfg(nas, "order=1", true), free.GuestRef: cfg(free, "", false), off.GuestRef: configs[off.GuestRef]}},
			groups:  []group{{"last", []VMID{104}}, {"order 1", []VMID{100}}},
			skipped: []VMID{103}},
		{name: "nodes: the local one last, offline ones left out",
			o:     PlanOptions{ShutdownNodes: true},
			in:    planInput{guests: []Guest{}, configs: configs, online: []string{"pve3", "pve1", "pve2"}, local: "pve1"},
			nodes: []string{"pve2", "pve3", "pve1"}},
		{name: "named nodes kept as given",
			o:      PlanOptions{ShutdownNodes: true, Nodes: []string{"pve2"}},
			in:     planInput{guests: []Guest{other}, configs: configs, online: []string{"pve1", "pve2"}, local: "pve1"},
			groups: []group{{"order 2", []VMID{200}}}, nodes: []string{"pve2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := buildPlan(tt.o, tt.start, tt.in)
			require.NoError(t, err)
			assert.Equal(t, tt.groups, groupsOf(p))
			var skipped []VMID
			for _, g := range p.Skipped {
				skipped = append(skipped, g.VMID)
			}
			assert.Equal(t, tt.skipped, skipped)
			assert.Equal(t, tt.nodes, p.Nodes)
			for _, g := range p.Groups {
				for _, s := range g.Steps {
					if want, ok := tt.timeout[s.Guest.VMID]; ok {
						assert.Equal(t, want, s.Timeout, "timeout of %d", s.Guest.VMID)
					}
				}
			}
			assert.Equal(t, !tt.o.NoForceStop, p.ForceStop)
		})
	}

	t.Run("an unreadable startup fails the plan", func(t *testing.T) {
		t.Parallel()
		bad := map[GuestRef]GuestConfig{nas.GuestRef: {Ref: nas.GuestRef, Raw: map[string]string{"startup": "order=x"}}}
		_, err := buildPlan(PlanOptions{}, false, planInput{guests: []Guest{nas}, configs: bad})
		require.ErrorIs(t, err, ErrInvalid)
		assert.Contains(t, err.Error(), "vm 100 on pve1")
	})
}
