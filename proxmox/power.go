package proxmox

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/thehomelab/homelab/internal/poll"
)

// PowerService plans and applies ordered shutdown and start-up of guests,
// following each guest's startup order like PVE's stopall/startall, and
// powers nodes off.
type PowerService struct{ c *Client }

// PlanOptions select the guests of a plan and their timeouts.
type PlanOptions struct {
	// Nodes limits the plan to these nodes; empty means every node.
	Nodes []string
	// Last names guests (by name or vmid as text, e.g. "nas") that stop
	// after everything else and start before everything else.
	Last []string
	// DefaultTimeout is each guest's clean-shutdown timeout when its
	// startup option has no down= value; 0 means 180 s, as stopall.
	DefaultTimeout time.Duration
	// NoForceStop leaves a guest running when its timeout passes instead
	// of hard-stopping it (stopall's force-stop=0).
	NoForceStop bool
	// ShutdownNodes powers the planned nodes off after the guests.
	ShutdownNodes bool
}

// PlanStep is one guest in a plan.
type PlanStep struct {
	Guest   Guest
	Startup Startup
	// Timeout is the clean-shutdown timeout (shutdown plans).
	Timeout time.Duration
	// HA says the guest is HA-managed: it is stopped and started through
	// its HA resource's requested state, which PVE keeps across power
	// cycles, and the plan waits for the guest itself.
	HA     bool
	onBoot bool
}

// PlanGroup is the guests of one startup order: shut down in parallel,
// started one at a time with each guest's up= pause, as PVE's stopall and
// startall do.
type PlanGroup struct {
	// Order is the startup order shared by the group; HasOrder false is
	// the "no order" group; Last marks the group of PlanOptions.Last.
	Order    int
	HasOrder bool
	Last     bool
	Steps    []PlanStep
}

func (g PlanGroup) label() string {
	switch {
	case g.Last:
		return "last"
	case g.HasOrder:
		return fmt.Sprintf("order %d", g.Order)
	}
	return "no order"
}

// PowerPlan is an ordered shutdown or start-up: groups run one after
// another (see PlanGroup for the guests of a group). PlanShutdown and PlanStartUp
// build it without changing anything; print it for a dry run, Apply it to
// act.
type PowerPlan struct {
	Start     bool // start-up plan rather than shutdown
	Groups    []PlanGroup
	Skipped   []Guest // already in the target state, or templates
	ForceStop bool
	Nodes     []string // nodes to power off afterwards (shutdown plans)
}

// String renders the plan for a dry run.
func (p PowerPlan) String() string {
	var b strings.Builder
	n := 0
	for _, g := range p.Groups {
		n += len(g.Steps)
	}
	verb := "shutdown"
	if p.Start {
		verb = "start-up"
	}
	fmt.Fprintf(&b, "%s plan: %d guests in %d groups\n", verb, n, len(p.Groups))
	for i, g := range p.Groups {
		fmt.Fprintf(&b, "%d. %s:", i+1, g.label())
		for j, s := range g.Steps {
			if j > 0 {
				b.WriteString(",")
			}
			if p.Start {
				fmt.Fprintf(&b, " %s (%s)", s.Guest.GuestRef, s.Guest.Name)
				if s.Startup.Up > 0 {
					fmt.Fprintf(&b, " up %s", s.Startup.Up)
				}
				if s.HA {
					b.WriteString(" via HA (request started)")
				}
			} else {
				fmt.Fprintf(&b, " %s (%s) timeout %s", s.Guest.GuestRef, s.Guest.Name, s.Timeout)
				if s.HA {
					b.WriteString(" via HA (request stopped)")
				}
			}
		}
		b.WriteString("\n")
	}
	if !p.Start {
		if p.ForceStop {
			b.WriteString("guests still running after their timeout are force-stopped\n")
		} else {
			b.WriteString("guests still running after their timeout are left running\n")
		}
	}
	for _, s := range p.Skipped {
		fmt.Fprintf(&b, "skip %s (%s): %s\n", s.GuestRef, s.Name, s.Status)
	}
	for _, nd := range p.Nodes {
		fmt.Fprintf(&b, "then shut down node %s\n", nd)
	}
	return b.String()
}

// planInput is everything a plan is built from, as read from PVE.
type planInput struct {
	// guests is every guest of /cluster/resources.
	guests []Guest
	// configs holds the config of each guest the plan acts on.
	configs map[GuestRef]GuestConfig
	// online lists the online nodes (shutdown plans powering nodes off
	// without a node filter).
	online []string
	// local is the node answering the API ("" when not read).
	local string
}

// candidates splits the guests a plan may act on from those it skips
// (other nodes are left out entirely).
func candidates(o PlanOptions, start bool, guests []Guest) (todo, skipped []Guest) {
	for _, g := range guests {
		if len(o.Nodes) > 0 && !slices.Contains(o.Nodes, g.Node) {
			continue
		}
		if g.Template || g.Running() == start {
			skipped = append(skipped, g)
			continue
		}
		todo = append(todo, g)
	}
	return todo, skipped
}

// planNodes lists the nodes a shutdown plan powers off, before the local
// one is moved last.
func planNodes(o PlanOptions, online []string) []string {
	if len(o.Nodes) > 0 {
		return slices.Clone(o.Nodes)
	}
	out := slices.Clone(online)
	sort.Strings(out)
	return out
}

// fetchPlan reads what a plan is built from: the guests, the config of
// each guest it acts on, and for node shutdown the online nodes and the
// local one.
//
// Proxmox API: GET /cluster/resources, GET /nodes/{node}/{qemu|lxc}/{vmid}/config,
// GET /cluster/status
func (s *PowerService) fetchPlan(ctx context.Context, o PlanOptions, start bool) (planInput, error) {
	typ := "vm"
	if !start && o.ShutdownNodes && len(o.Nodes) == 0 {
		typ = "" // the node entries too: nodes without guests are powered off as well
	}
	rs, err := s.c.resources(ctx, typ)
	if err != nil {
		return planInput{}, err
	}
	in := planInput{configs: map[GuestRef]GuestConfig{}}
	for _, r := range rs {
		switch {
		case r.Type == "qemu" || r.Type == "lxc":
			in.guests = append(in.guests, r.guest())
		case r.Type == "node" && r.Status == "online" && !slices.Contains(in.online, r.Node):
			// an offline node cannot be reached to power it off
			in.online = append(in.online, r.Node)
		}
	}
	todo, _ := candidates(o, start, in.guests)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		ferr error
		sem  = make(chan struct{}, 8)
	)
	for _, g := range todo {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			cfg, err := s.c.config(ctx, g.GuestRef)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				ferr = errors.Join(ferr, err)
				return
			}
			in.configs[g.GuestRef] = cfg
		}()
	}
	wg.Wait()
	if cerr := ctx.Err(); cerr != nil {
		return planInput{}, cerr
	}
	if ferr != nil {
		return planInput{}, ferr
	}
	if !start && o.ShutdownNodes && len(planNodes(o, in.online)) > 1 {
		if in.local, err = s.localNode(ctx); err != nil {
			return planInput{}, err
		}
	}
	return in, nil
}

// buildPlan is the pure part of planning: which guests, in which groups
// and order, with which timeouts, then which nodes.
func buildPlan(o PlanOptions, start bool, in planInput) (PowerPlan, error) {
	plan := PowerPlan{Start: start, ForceStop: !o.NoForceStop}
	todo, skipped := candidates(o, start, in.guests)
	plan.Skipped = skipped
	steps := make([]PlanStep, 0, len(todo))
	var errs []error
	for _, g := range todo {
		cfg, ok := in.configs[g.GuestRef]
		if !ok {
			errs = append(errs, fmt.Errorf("%s: no config read", g.GuestRef))
			continue
		}
		if raw := cfg.Raw["startup"]; raw != "" {
			// A startup value we cannot read would silently move the
			// guest to the "no order" group, which stops first.
			if _, err := parseStartup(raw); err != nil {
				errs = append(errs, fmt.Errorf("%s: startup %q: %w", g.GuestRef, raw, err))
				continue
			}
		}
		steps = append(steps, PlanStep{Guest: g, Startup: cfg.Startup, onBoot: cfg.OnBoot, HA: g.HAState != ""})
	}
	if len(errs) > 0 {
		return PowerPlan{}, errors.Join(errs...)
	}
	def := o.DefaultTimeout
	if def <= 0 {
		def = 180 * time.Second
	}
	isLast := func(g Guest) bool {
		return slices.Contains(o.Last, g.Name) || slices.Contains(o.Last, g.VMID.String())
	}
	var last []PlanStep
	groups := map[string]*PlanGroup{}
	var keys []*PlanGroup
	for _, st := range steps {
		// startall semantics: only onboot guests are started; an HA guest
		// the HA stack holds stopped (as a shutdown plan leaves it) is
		// started through HA whatever its onboot, as HA ignores onboot.
		if start && !st.onBoot && !isLast(st.Guest) && st.Guest.HAState != "stopped" {
			plan.Skipped = append(plan.Skipped, st.Guest)
			continue
		}
		st.Timeout = def
		if st.Startup.Down > 0 {
			st.Timeout = st.Startup.Down
		}
		if isLast(st.Guest) {
			last = append(last, st)
			continue
		}
		k := "none"
		if st.Startup.HasOrder {
			k = fmt.Sprint(st.Startup.Order)
		}
		g := groups[k]
		if g == nil {
			g = &PlanGroup{Order: st.Startup.Order, HasOrder: st.Startup.HasOrder}
			groups[k] = g
			keys = append(keys, g)
		}
		g.Steps = append(g.Steps, st)
	}
	// start: ascending order, no order last; stop: the reverse.
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		less := (a.HasOrder && !b.HasOrder) || (a.HasOrder && b.HasOrder && a.Order < b.Order)
		if start {
			return less
		}
		greater := (!a.HasOrder && b.HasOrder) || (a.HasOrder && b.HasOrder && a.Order > b.Order)
		return greater
	})
	for _, g := range keys {
		sort.Slice(g.Steps, func(i, j int) bool {
			if start {
				return g.Steps[i].Guest.VMID < g.Steps[j].Guest.VMID
			}
			return g.Steps[i].Guest.VMID > g.Steps[j].Guest.VMID
		})
		plan.Groups = append(plan.Groups, *g)
	}
	if len(last) > 0 {
		lg := PlanGroup{Last: true, Steps: last}
		if start {
			plan.Groups = append([]PlanGroup{lg}, plan.Groups...)
		} else {
			plan.Groups = append(plan.Groups, lg)
		}
	}
	if !start && o.ShutdownNodes {
		plan.Nodes = planNodes(o, in.online)
		// the node that answers the API goes last: once it is powered
		// off, the other nodes cannot be reached through it any more
		if i := slices.Index(plan.Nodes, in.local); i >= 0 && len(plan.Nodes) > 1 {
			plan.Nodes = append(append(plan.Nodes[:i:i], plan.Nodes[i+1:]...), in.local)
		}
	}
	return plan, nil
}

// localNode names the node that answers the API.
//
// Proxmox API: GET /cluster/status
func (s *PowerService) localNode(ctx context.Context) (string, error) {
	var st []struct {
		Type  string `json:"type"`
		Name  string `json:"name"`
		Local num    `json:"local"`
	}
	if err := s.c.call(ctx, nil, http.MethodGet, "/cluster/status", nil, &st, nil); err != nil {
		return "", err
	}
	for _, e := range st {
		if e.Type == "node" && e.Local.bool() {
			return e.Name, nil
		}
	}
	return "", nil
}

func (s *PowerService) plan(ctx context.Context, o PlanOptions, start bool) (PowerPlan, error) {
	op := "plan shutdown"
	if start {
		op = "plan start-up"
	}
	in, err := s.fetchPlan(ctx, o, start)
	if err != nil {
		return PowerPlan{}, opError(op, err)
	}
	p, err := buildPlan(o, start, in)
	if err != nil {
		return PowerPlan{}, opError(op, err)
	}
	return p, nil
}

// PlanShutdown reads the running guests and their startup options and
// builds a shutdown plan without changing anything: groups in reverse
// start order (guests without order first), each guest with its down=
// timeout, the Last guests at the very end, then (ShutdownNodes) the
// nodes, the one answering the API last. Print it for a dry run.
//
// Proxmox API: GET /cluster/resources (type=vm unless nodes are powered off),
// GET /nodes/{node}/{qemu|lxc}/{vmid}/config, GET /cluster/status
func (s *PowerService) PlanShutdown(ctx context.Context, o PlanOptions) (PowerPlan, error) {
	return s.plan(ctx, o, false)
}

// PlanStartUp builds the mirror plan for stopped guests: the Last guests
// first, then ascending order, guests without order last.
//
// Proxmox API: GET /cluster/resources?type=vm, GET /nodes/{node}/{qemu|lxc}/{vmid}/config
func (s *PowerService) PlanStartUp(ctx context.Context, o PlanOptions) (PowerPlan, error) {
	return s.plan(ctx, o, true)
}

// EventKind classifies progress events.
type EventKind int

// Progress event kinds.
const (
	// EventGroupStart: a group begins.
	EventGroupStart EventKind = iota + 1
	// EventGuestBegin: a guest's shutdown or start is sent.
	EventGuestBegin
	// EventGuestDone: a guest reached the target state (Outcome says how).
	EventGuestDone
	// EventForceStop: a guest did not shut down in time and is stopped.
	EventForceStop
	// EventGuestFail: a guest failed (Err says why).
	EventGuestFail
	// EventNode: a node was told to power off (Err if it refused).
	EventNode
)

// String returns "group", "begin", "done", "force-stop", "failed" or
// "node-shutdown".
func (k EventKind) String() string {
	switch k {
	case EventGroupStart:
		return "group"
	case EventGuestBegin:
		return "begin"
	case EventGuestDone:
		return "done"
	case EventForceStop:
		return "force-stop"
	case EventGuestFail:
		return "failed"
	case EventNode:
		return "node-shutdown"
	}
	return "event(" + strconv.Itoa(int(k)) + ")"
}

// Event reports progress of a plan being applied.
type Event struct {
	Kind EventKind
	// Time is when it happened.
	Time time.Time
	// Err is the failure of EventGuestFail and EventNode.
	Err   error
	Group int // 1-based
	Guest GuestRef
	Name  string
	Node  string // EventNode
	// Outcome is what EventGuestDone did.
	Outcome Outcome
}

// ApplyOptions tune how a plan is applied.
type ApplyOptions struct {
	// OnEvent receives progress, one call at a time.
	OnEvent func(Event)
	// StopOnError stops after the first group with a failure instead of
	// carrying on (the default carries on: a power cut waits for nobody).
	StopOnError bool
	// MaxParallel bounds how many guests of a group are handled at once;
	// 0 means 16.
	MaxParallel int
}

// PowerResult summarises an applied plan.
type PowerResult struct {
	Outcomes map[GuestRef]Outcome
	Failed   map[GuestRef]error
	Duration time.Duration
}

// Apply executes a plan from PlanShutdown or PlanStartUp: groups in turn;
// a shutdown group in parallel (as stopall), a start-up group one guest
// at a time pausing each guest's up= (as startall). Shutdown steps use each guest's timeout
// and then hard-stop it unless the plan says otherwise; afterwards the
// plan's nodes are powered off. A failed guest is reported in Result and
// events; the returned error joins all failures.
//
// Proxmox API: POST /nodes/{node}/{qemu|lxc}/{vmid}/status/{shutdown|stop|start},
// POST /nodes/{node}/status
func (s *PowerService) Apply(ctx context.Context, p PowerPlan, o ApplyOptions) (res PowerResult, err error) {
	begin := time.Now()
	res = PowerResult{Outcomes: map[GuestRef]Outcome{}, Failed: map[GuestRef]error{}}
	defer func() { res.Duration = time.Since(begin) }()
	var emu sync.Mutex
	emit := func(e Event) {
		if o.OnEvent != nil {
			e.Time = time.Now()
			emu.Lock()
			o.OnEvent(e)
			emu.Unlock()
		}
	}
	var errs []error
	par := o.MaxParallel
	if par <= 0 {
		par = 16
	}
	sem := make(chan struct{}, par)
	for gi, g := range p.Groups {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		emit(Event{Kind: EventGroupStart, Group: gi + 1})
		var wg sync.WaitGroup
		var mu sync.Mutex
		run := func(st PlanStep) {
			emit(Event{Kind: EventGuestBegin, Group: gi + 1, Guest: st.Guest.GuestRef, Name: st.Guest.Name})
			out, err := s.step(ctx, p, st, func() {
				emit(Event{Kind: EventForceStop, Group: gi + 1, Guest: st.Guest.GuestRef, Name: st.Guest.Name})
			})
			mu.Lock()
			if err != nil {
				res.Failed[st.Guest.GuestRef] = err
				errs = append(errs, err)
			} else {
				res.Outcomes[st.Guest.GuestRef] = out
			}
			mu.Unlock()
			kind := EventGuestDone
			if err != nil {
				kind = EventGuestFail
			}
			emit(Event{Kind: kind, Group: gi + 1, Guest: st.Guest.GuestRef, Name: st.Guest.Name, Outcome: out, Err: err})
		}
		for si, st := range g.Steps {
			if p.Start {
				// startall starts a group one guest at a time in vmid
				// order, pausing each guest's up= before the next
				// (pve-manager PVE/API2/Nodes.pm startall)
				if prev := si - 1; prev >= 0 && g.Steps[prev].Startup.Up > 0 {
					if err := poll.Sleep(ctx, g.Steps[prev].Startup.Up); err != nil {
						return res, err
					}
				}
				run(st)
				continue
			}
			// stopall shuts a group down in parallel (up to max-workers)
			wg.Add(1)
			go func() {
				defer wg.Done()
				sem <- struct{}{}
				defer func() { <-sem }()
				run(st)
			}()
		}
		wg.Wait()
		if err := ctx.Err(); err != nil {
			return res, err
		}
		if o.StopOnError && len(errs) > 0 {
			return res, errors.Join(errs...)
		}
		if last := g.Steps[len(g.Steps)-1]; p.Start && last.Startup.Up > 0 && gi < len(p.Groups)-1 {
			if err := poll.Sleep(ctx, last.Startup.Up); err != nil {
				return res, err
			}
		}
	}
	for _, n := range p.Nodes {
		err := s.ShutdownNode(ctx, n)
		emit(Event{Kind: EventNode, Node: n, Err: err})
		if err != nil {
			errs = append(errs, err)
		}
	}
	return res, errors.Join(errs...)
}

func (s *PowerService) step(ctx context.Context, p PowerPlan, st PlanStep, forcing func()) (Outcome, error) {
	ref := st.Guest.GuestRef
	if p.Start {
		return s.c.Guests.Start(ctx, ref)
	}
	// PVE enforces the timeout in its task; the client deadline is a
	// backstop for when the task cannot be followed (59x while polling),
	// so a power cut never waits on one guest forever.
	grace := min(max(st.Timeout, time.Second), 30*time.Second)
	sctx, cancel := context.WithTimeout(ctx, st.Timeout+grace)
	out, err := s.c.Guests.Shutdown(sctx, ref, ShutdownOptions{Timeout: st.Timeout})
	cancel()
	if err != nil && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
		err = &Error{Op: "shut down " + ref.String(), Message: fmt.Sprintf("no result within %s", st.Timeout+grace),
			Err: fmt.Errorf("%w: %w", ErrTimeout, err)}
	}
	// A paused VM cannot shut down cleanly (PVE: "VM is paused - cannot
	// shutdown"); under the force-stop policy it is stopped like a guest
	// that timed out.
	if err != nil && (errors.Is(err, ErrTimeout) || isMsg(err, "is paused")) && p.ForceStop {
		forcing()
		out, err = s.c.Guests.Stop(ctx, ref)
		if err == nil && out == Stopped {
			out = ForceStopped
		}
	}
	return out, err
}

// ShutdownNode powers a node off. PVE answers before the host goes down;
// the host then stops its remaining guests itself.
//
// Proxmox API: POST /nodes/{node}/status (command=shutdown)
func (s *PowerService) ShutdownNode(ctx context.Context, node string) error {
	return s.nodeCommand(ctx, node, "shutdown")
}

// RebootNode reboots a node.
//
// Proxmox API: POST /nodes/{node}/status (command=reboot)
func (s *PowerService) RebootNode(ctx context.Context, node string) error {
	return s.nodeCommand(ctx, node, "reboot")
}

func (s *PowerService) nodeCommand(ctx context.Context, node, cmd string) error {
	op := cmd + " node " + node
	if err := checkNode(op, node); err != nil {
		return err
	}
	var raw jsonRaw
	err := s.c.call(ctx, nil, http.MethodPost, "/nodes/"+node+"/status", params{"command": {cmd}}, &raw, nil)
	return opError(op, err)
}

// BulkOptions tune PVE's own node-wide start and stop.
type BulkOptions struct {
	// VMIDs limits the guests (and for start-up includes HA-managed ones
	// and guests without onboot); empty means all.
	VMIDs []VMID
	// Force starts guests without onboot=1 too (start only).
	Force bool
	// Timeout is each guest's shutdown timeout unless its startup has
	// down=; 0 means PVE's 180 s (stop only).
	Timeout time.Duration
	// NoForceStop leaves guests running after their timeout (stop only);
	// go-proxmox v0.8.2 cannot send this.
	NoForceStop bool
	// MaxWorkers bounds parallelism; 0 means PVE's default.
	MaxWorkers int
}

func bulkParams(o BulkOptions, start bool, v Version) (params, error) {
	p := params{}
	if len(o.VMIDs) > 0 {
		ids := make([]string, len(o.VMIDs))
		for i, id := range o.VMIDs {
			ids[i] = id.String()
		}
		p.Set("vms", strings.Join(ids, ","))
	}
	if o.MaxWorkers > 0 {
		p.Set("max-workers", fmt.Sprint(o.MaxWorkers))
	}
	if start {
		if o.Force {
			setBool(p, "force", true)
		}
		return p, nil
	}
	// timeout and force-stop came with pve-manager 7.3-5 ("api: node
	// stop-all: expose setting force-stop behavior"); before, stopall
	// always force-stopped after 180 s and refused the parameters
	if !v.AtLeast(7, 3) {
		if o.Timeout > 0 || o.NoForceStop {
			return nil, fmt.Errorf("PVE %s cannot set the stop-all timeout or force-stop (needs 7.3)", v.Version)
		}
		return p, nil
	}
	if o.Timeout > 0 {
		p.Set("timeout", fmt.Sprint(int((o.Timeout+time.Second-1)/time.Second)))
	}
	setBool(p, "force-stop", !o.NoForceStop)
	return p, nil
}

// StopAll lets the node stop its guests itself, in reverse startup
// order, and waits for the stopall task.
//
// Proxmox API: POST /nodes/{node}/stopall
func (s *PowerService) StopAll(ctx context.Context, node string, o BulkOptions) error {
	op := "stop all guests on " + node
	if err := checkNode(op, node); err != nil {
		return err
	}
	v, err := s.c.version(ctx)
	if err != nil {
		return opError(op, err)
	}
	p, err := bulkParams(o, false, v)
	if err != nil {
		return &Error{Op: op, Message: err.Error(), Err: ErrInvalid}
	}
	_, err = s.c.runTask(ctx, nil, op, http.MethodPost, "/nodes/"+node+"/stopall", p)
	return err
}

// StartAll lets the node start its onboot guests in startup order and
// waits for the startall task.
//
// Proxmox API: POST /nodes/{node}/startall
func (s *PowerService) StartAll(ctx context.Context, node string, o BulkOptions) error {
	op := "start all guests on " + node
	if err := checkNode(op, node); err != nil {
		return err
	}
	p, _ := bulkParams(o, true, Version{})
	_, err := s.c.runTask(ctx, nil, op, http.MethodPost, "/nodes/"+node+"/startall", p)
	return err
}
