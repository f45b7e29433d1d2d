package proxmox

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/thehomelab/homelab/internal/poll"
)

// GuestService starts, stops and reads guests (VMs and containers alike).
type GuestService struct{ c *Client }

// Outcome says what a lifecycle call did. The "Already…" and NotRunning
// outcomes are not errors: PVE's VM and CT endpoints disagree on whether a
// no-op is a synchronous 500, a failed task or a success, and all of them
// map to these.
type Outcome string

// Lifecycle outcomes.
const (
	Started        Outcome = "started"
	AlreadyRunning Outcome = "already running"
	ShutDown       Outcome = "shut down"
	ForceStopped   Outcome = "force-stopped"
	Stopped        Outcome = "stopped"
	AlreadyStopped Outcome = "already stopped"
	Rebooted       Outcome = "rebooted"
	NotRunning     Outcome = "not running"
)

// Changed reports whether the call changed the guest's state.
func (o Outcome) Changed() bool {
	return o == Started || o == ShutDown || o == ForceStopped || o == Stopped || o == Rebooted
}

// GuestStatus is a guest's live state.
type GuestStatus struct {
	Ref       GuestRef
	Name      string
	Status    string // running, stopped
	QMPStatus string // VMs: running, paused, prelaunch …
	Uptime    time.Duration
	// HAManaged says the HA stack manages the guest; HAState is the state
	// requested of it ("started", "stopped" …).
	HAManaged bool
	HAState   string
	Lock      string
}

// Running reports whether the guest runs.
func (s GuestStatus) Running() bool { return s.Status == "running" }

type statusWire struct {
	Name      string `json:"name"`
	Status    string `json:"status"`
	QMPStatus string `json:"qmpstatus"`
	Uptime    num    `json:"uptime"`
	Lock      string `json:"lock"`
	HA        *struct {
		Managed num    `json:"managed"`
		State   string `json:"state"`
	} `json:"ha"`
}

// Status reads a guest's live state.
//
// Proxmox API: GET /nodes/{node}/{qemu|lxc}/{vmid}/status/current
func (s *GuestService) Status(ctx context.Context, ref GuestRef) (GuestStatus, error) {
	op := "status of " + ref.String()
	if err := ref.validate(op); err != nil {
		return GuestStatus{}, err
	}
	var w statusWire
	if err := s.c.call(ctx, nil, http.MethodGet, ref.path()+"/status/current", nil, &w, nil); err != nil {
		return GuestStatus{}, opError(op, err)
	}
	st := GuestStatus{Ref: ref, Name: w.Name, Status: w.Status, QMPStatus: w.QMPStatus,
		Uptime: time.Duration(w.Uptime.i64()) * time.Second, Lock: w.Lock}
	if w.HA != nil {
		st.HAManaged, st.HAState = w.HA.Managed.bool(), w.HA.State
	}
	return st, nil
}

func isMsg(err error, sub string) bool {
	var pe *Error
	if !errors.As(err, &pe) {
		return false
	}
	return strings.Contains(strings.ToLower(pe.Reason+" "+pe.Message+" "+pe.Code), sub)
}

// Start starts a guest; a running guest gives AlreadyRunning.
//
// Proxmox API: POST /nodes/{node}/{qemu|lxc}/{vmid}/status/start
func (s *GuestService) Start(ctx context.Context, ref GuestRef) (Outcome, error) {
	op := "start " + ref.String()
	st, err := s.Status(ctx, ref)
	if err != nil {
		return "", opError(op, err)
	}
	if st.Running() {
		return AlreadyRunning, nil
	}
	if st.HAManaged {
		if err := s.viaHA(ctx, op, ref, "started", haStartBound); err != nil {
			return "", err
		}
		return Started, nil
	}
	_, err = s.c.runTask(ctx, nil, op, http.MethodPost, ref.path()+"/status/start", nil)
	switch {
	case err == nil:
		return Started, nil
	case isMsg(err, "already running"): // CT: sync 500; VM: failed task
		return AlreadyRunning, nil
	}
	return "", err
}

// ShutdownOptions tune a clean shutdown.
type ShutdownOptions struct {
	// Timeout bounds the clean shutdown; 0 means the guest's startup
	// down= value, else 60 s. (qemu-server applies down= itself;
	// pve-container's shutdown ignores it and waits 60 s, so for a
	// container the SDK reads down= and sends it.)
	Timeout time.Duration
	// ForceStop hard-stops the guest when the timeout passes. Without it a
	// timeout is an error matching ErrTimeout.
	ForceStop bool
}

// Shutdown asks a guest to shut down (ACPI or agent for VMs, lxc-stop for
// containers); a stopped guest gives AlreadyStopped.
//
// Proxmox API: POST /nodes/{node}/{qemu|lxc}/{vmid}/status/shutdown
func (s *GuestService) Shutdown(ctx context.Context, ref GuestRef, o ShutdownOptions) (Outcome, error) {
	op := "shut down " + ref.String()
	st, err := s.Status(ctx, ref)
	if err != nil {
		return "", opError(op, err)
	}
	if !st.Running() {
		return AlreadyStopped, nil
	}
	if st.HAManaged {
		bound := o.Timeout
		if bound <= 0 {
			bound = 180 * time.Second
		}
		if err := s.viaHA(ctx, op, ref, "stopped", bound+haGrace); err != nil {
			return "", err
		}
		return ShutDown, nil
	}
	p := params{}
	timeout := o.Timeout
	if timeout <= 0 && ref.Type == TypeCT {
		// pve-container PVE/API2/LXC/Status.pm vm_shutdown: timeout // 60,
		// startup down= is not looked at (qemu-server's vm_stop does)
		cfg, err := s.c.config(ctx, ref)
		if err != nil {
			return "", opError(op, err)
		}
		timeout = cfg.Startup.Down
	}
	if timeout > 0 {
		p.Set("timeout", strconv.Itoa(int((timeout+time.Second-1)/time.Second)))
	}
	setBool(p, "forceStop", o.ForceStop)
	_, err = s.c.runTask(ctx, nil, op, http.MethodPost, ref.path()+"/status/shutdown", p)
	switch {
	case err == nil:
		return ShutDown, nil
	case isMsg(err, "not running"):
		return AlreadyStopped, nil
	// Only PVE's shutdown-timeout texts: "can't lock file … - got timeout"
	// is a lock conflict, and must not lead to a force stop.
	case isMsg(err, "quit/powerdown failed - got timeout") || isMsg(err, "container did not stop"):
		return "", err // matches ErrTimeout by its text
	}
	return "", err
}

// Stop hard-stops a guest; a stopped guest gives AlreadyStopped.
//
// Proxmox API: POST /nodes/{node}/{qemu|lxc}/{vmid}/status/stop
func (s *GuestService) Stop(ctx context.Context, ref GuestRef) (Outcome, error) {
	op := "stop " + ref.String()
	st, err := s.Status(ctx, ref)
	if err != nil {
		return "", opError(op, err)
	}
	if !st.Running() {
		return AlreadyStopped, nil
	}
	if st.HAManaged {
		if err := s.viaHA(ctx, op, ref, "stopped", haStopBound); err != nil {
			return "", err
		}
		return Stopped, nil
	}
	p := params{}
	// abort a pending qmshutdown/vzshutdown; the parameter came with
	// qemu-server 8.1.2 and pve-container 5.0.10 (PVE 8.2), and older
	// releases refuse parameters they do not know
	if v, err := s.c.version(ctx); err != nil {
		return "", opError(op, err)
	} else if v.AtLeast(8, 2) {
		setBool(p, "overrule-shutdown", true)
	}
	_, err = s.c.runTask(ctx, nil, op, http.MethodPost, ref.path()+"/status/stop", p)
	switch {
	case err == nil:
		return Stopped, nil
	case isMsg(err, "not running"):
		return AlreadyStopped, nil
	}
	return "", err
}

// Reboot reboots a running guest; a stopped guest gives NotRunning and is
// left stopped.
//
// Proxmox API: POST /nodes/{node}/{qemu|lxc}/{vmid}/status/reboot
func (s *GuestService) Reboot(ctx context.Context, ref GuestRef) (Outcome, error) {
	op := "reboot " + ref.String()
	st, err := s.Status(ctx, ref)
	if err != nil {
		return "", opError(op, err)
	}
	if !st.Running() {
		return NotRunning, nil
	}
	_, err = s.c.runTask(ctx, nil, op, http.MethodPost, ref.path()+"/status/reboot", nil)
	switch {
	case err == nil:
		return Rebooted, nil
	case isMsg(err, "not running"):
		return NotRunning, nil
	}
	return "", err
}

// Bounds of the waits for the HA stack to act.
const (
	haGrace      = 30 * time.Second
	haStopBound  = 60*time.Second + haGrace
	haStartBound = 5 * time.Minute
)

// viaHA treats an HA-managed guest the way PVE's own tools do: its start,
// shutdown and stop endpoints only queue a request with the HA stack (a
// "hastart"/"hastop" task that ends at once, qemu-server PVE/API2/Qemu.pm),
// and the HA stack keeps the requested state across power cycles. So it
// sets the HA resource's requested state and waits, up to bound, for the
// guest to be running (started) or stopped.
//
// Proxmox API: PUT /cluster/ha/resources/{sid}, GET /nodes/{node}/{qemu|lxc}/{vmid}/status/current
func (s *GuestService) viaHA(ctx context.Context, op string, ref GuestRef, state string, bound time.Duration) error {
	sid := "vm:" + ref.VMID.String()
	if ref.Type == TypeCT {
		sid = "ct:" + ref.VMID.String()
	}
	var raw jsonRaw
	if err := s.c.call(ctx, nil, http.MethodPut, "/cluster/ha/resources/"+sid, params{"state": {state}}, &raw, nil); err != nil {
		return opError(op, err)
	}
	wantRunning := state == "started"
	wctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	err := poll.Until(wctx, s.c.backoff(), func(ctx context.Context) (bool, error) {
		st, err := s.Status(ctx, ref)
		if err != nil {
			if errors.Is(err, ErrNodeUnreachable) {
				return false, nil
			}
			return false, err
		}
		return st.Running() == wantRunning, nil
	})
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(err, context.DeadlineExceeded):
		return &Error{Op: op, Message: fmt.Sprintf("the HA stack did not reach %q within %s", state, bound), Err: ErrTimeout}
	}
	return opError(op, err)
}

// ConfigChange is a set of config keys to set and delete.
type ConfigChange struct {
	Set    map[string]string
	Delete []string
}

// ConfigResult is what Update and SetStartup did.
type ConfigResult struct {
	// Ref names the guest.
	Ref GuestRef
	// Action is Updated or Unchanged.
	Action Action
	// Changes lists the keys sent, with old and new values.
	Changes []Change
}

// Changed reports whether anything was sent.
func (r ConfigResult) Changed() bool { return r.Action != Unchanged }

// Update changes a VM's or container's config the idempotent way: it
// reads the config, sends only the keys whose value differs (and deletes
// only keys that exist; an empty value in Set deletes the key too),
// guarded by the digest; nothing to change sends nothing. A new-volume
// request ("scsi1": "local-lvm:32", "mp0": "tank:8,mp=/data",
// "ide2": "local-lvm:cloudinit") counts as done once the key holds a
// volume on that storage of that size with the same options, whichever
// shape the storage gives its volume IDs, so a second Update allocates no
// second disk. Keys PVE
// reserves for root@pam (raw disk paths, hostpci, LXC features beyond
// nesting, bind mounts) go through the root@pam login, or fail with
// ErrRootRequired before sending.
//
// Proxmox API: GET /nodes/{node}/{qemu|lxc}/{vmid}/config,
// POST /nodes/{node}/qemu/{vmid}/config (async), PUT /nodes/{node}/lxc/{vmid}/config
func (s *GuestService) Update(ctx context.Context, ref GuestRef, ch ConfigChange) (ConfigResult, error) {
	op := "update config of " + ref.String()
	res := ConfigResult{Ref: ref}
	if err := ref.validate(op); err != nil {
		return res, err
	}
	want := make(map[string]string, len(ch.Set)+len(ch.Delete))
	for k, v := range ch.Set {
		want[k] = v
	}
	for _, k := range ch.Delete {
		if _, set := ch.Set[k]; set {
			return res, refuse(op, ErrInvalid, "key %s both set and deleted", k)
		}
		want[k] = ""
	}
	cur, err := s.c.config(ctx, ref)
	if err != nil {
		return res, opError(op, err)
	}
	res.Changes = DiffConfig(cur.Raw, want, sameDiskSpec)
	if len(res.Changes) == 0 {
		return res, nil
	}
	id := s.c.def
	if why := rootOnly(ref.Type, cur.Raw, res.Changes, ref.Type == TypeCT && cur.Raw["unprivileged"] != "1"); why != "" {
		r, err := s.c.rootFor(op, why)
		if err != nil {
			return ConfigResult{Ref: ref}, err
		}
		id = r
	}
	p := changeParams(res.Changes)
	p.Set("digest", cur.Digest)
	if ref.Type == TypeVM {
		// The async POST: a hotplug can outlast pveproxy's 30 s proxy
		// timeout, after which the sync PUT answers 596 whatever happened.
		if _, err := s.c.runTask(ctx, id, op, http.MethodPost, ref.path()+"/config", p); err != nil {
			return ConfigResult{Ref: ref}, err
		}
		res.Action = Updated
		return res, nil
	}
	var raw jsonRaw // containers have only the synchronous PUT
	if err := s.c.call(ctx, id, http.MethodPut, ref.path()+"/config", p, &raw, nil); err != nil {
		return ConfigResult{Ref: ref}, opError(op, err)
	}
	res.Action = Updated
	return res, nil
}

// SetStartup sets a guest's startup order and delays (the input of
// ordered shutdown and start-up plans); an unchanged value sends nothing,
// the zero Startup deletes the option.
//
// Proxmox API: GET /nodes/{node}/{qemu|lxc}/{vmid}/config,
// POST /nodes/{node}/qemu/{vmid}/config, PUT /nodes/{node}/lxc/{vmid}/config
func (s *GuestService) SetStartup(ctx context.Context, ref GuestRef, st Startup) (ConfigResult, error) {
	return s.Update(ctx, ref, ConfigChange{Set: map[string]string{"startup": st.String()}})
}
