package backup

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/thehomelab/homelab/proxmox"
)

// Plan reads the cluster (guests and their configuration, storages as each
// node sees them, the archives on Config.Storage) and returns tonight's
// plan: which guests go where (direct or two-step, and why), what
// retention will remove, what goes off-site, and every pre-check with its
// reason. It changes nothing; print it for a dry run, Apply it to run it.
//
// Proxmox API: GET /cluster/resources, GET /nodes/{node}/{qemu|lxc}/{vmid}/config,
// GET /storage/{storage}, GET /nodes/{node}/storage, GET /nodes/{node}/storage/{storage}/content
func Plan(ctx context.Context, cfg Config) (NightPlan, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return NightPlan{}, err
	}
	c, err := cfg.pve()
	if err != nil {
		return NightPlan{}, err
	}
	inv, err := c.inventory(ctx, cfg)
	if err != nil {
		if ctx.Err() != nil {
			return NightPlan{}, ctx.Err()
		}
		return NightPlan{}, err
	}
	p := buildPlan(inv, cfg, cfg.Now())
	p.c = c
	return p, nil
}

// VerifyRestore proves a guest's newest backup restores: it restores the
// archive into opts.ScratchVMID on opts.Storage (unique MAC addresses, not
// started), turns every network link down and autostart off before
// anything could start it, checks that the guest exists with the disks the
// original's backup carries, optionally boots it and waits for its guest
// agent, and destroys it again whatever happened, even when ctx is
// cancelled. The RestoreReport says what was seen; the error is nil when
// the drill passed.
//
// The disks the backup carries are read from the config stored in the
// archive (GET /nodes/{node}/vzdump/extractconfig, which needs what the
// restore needs: VM.Backup on the guest and Datastore.AllocateSpace on
// the archive's storage), so a disk added or removed since that backup is
// judged by the backup. Only when PVE refuses that call as unsupported
// (an old release answering 501) does the drill fall back to the
// original's current config, and RestoreReport.CurrentConfig says so.
//
// A container is restored in PVE's storage-only mode (storage=, no
// rootfs=), which takes every mount point and its size from the archived
// config. A container with a bind or device mount point (NAS data
// bind-mounted into it) is restored differently, because storage-only
// mode would bring the bind mount back too, which PVE lets only root@pam
// do (pve-container create_vm: "restoring 'mpN' to bind mount is only
// possible for root"): the drill names the disks the backup carries,
// rootfs=STORAGE:SIZE and mpN=STORAGE:SIZE,mp=PATH,… for each volume
// mount point with backup=1, sizes and options from the archive's config
// (the current one only in the fallback above), and PVE makes just those
// and restores the rest of the archived config. So such a drill works with an API token (needing VM.Config.Disk
// on the scratch VMID), and the scratch guest never gets a host path of
// the original. Bind and device mount points, and volume ones without
// backup=1, are not on the scratch guest: vzdump archives none of their
// data, and the check leaves them out as always.
//
// Proxmox API: POST /nodes/{node}/qemu (archive=, unique=1, start=0),
// POST /nodes/{node}/lxc (ostemplate=, restore=1, unique=1, start=0),
// PUT …/config, POST …/status/start, POST /nodes/{node}/qemu/{vmid}/agent/ping,
// DELETE /nodes/{node}/{qemu|lxc}/{vmid} (purge=1, destroy-unreferenced-disks=1)
func VerifyRestore(ctx context.Context, cfg Config, opts RestoreOptions) (RestoreReport, error) {
	c, err := cfg.pve()
	if err != nil {
		return RestoreReport{VMID: opts.VMID, ScratchVMID: opts.ScratchVMID, Status: StatusFailed, Err: err}, err
	}
	return verifyRestore(ctx, c, cfg, opts)
}

func (cfg Config) pve() (*pve, error) {
	if cfg.Client == nil {
		return nil, &Error{Op: "plan", Message: "no Proxmox client in Config.Client", Err: ErrInvalid}
	}
	return &pve{c: cfg.Client}, nil
}

// pve is the cluster and restorer seams on a *proxmox.Client.
type pve struct{ c *proxmox.Client }

// pveError keeps the proxmox error (and its text) while matching this
// package's class sentinel too.
type pveError struct {
	class error
	err   error
	op    string // the backup operation it stands under
}

// Error is the proxmox text, less an operation the backup *Error already
// names: "find guest 9: proxmox: unavailable", not "find guest 9:
// proxmox: find guest 9: unavailable".
func (e *pveError) Error() string {
	s := e.err.Error()
	if rest, ok := strings.CutPrefix(s, "proxmox: "+e.op+": "); ok && e.op != "" {
		return "proxmox: " + rest
	}
	return s
}
func (e *pveError) Unwrap() []error { return []error{e.class, e.err} }

var pveClasses = []struct{ theirs, ours error }{
	{proxmox.ErrNotFound, ErrNotFound}, {proxmox.ErrAuth, ErrAuth}, {proxmox.ErrPermission, ErrPermission},
	{proxmox.ErrConflict, ErrConflict}, {proxmox.ErrInvalid, ErrInvalid}, {proxmox.ErrUnavailable, ErrUnavailable},
	{proxmox.ErrClosed, ErrClosed}, {proxmox.ErrNodeUnreachable, ErrUnavailable}, {proxmox.ErrTaskFailed, ErrUnavailable},
	{proxmox.ErrRootRequired, ErrPermission},
}

// wrap turns a proxmox error into a *Error of this package with the same
// class; the context's own error passes through.
func wrap(ctx context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	if cerr := ctx.Err(); cerr != nil {
		return cerr
	}
	class := ErrUnavailable
	for _, c := range pveClasses {
		if errors.Is(err, c.theirs) {
			class = c.ours
			break
		}
	}
	return &Error{Op: op, Err: &pveError{class: class, err: err, op: op}}
}

func ref(node, typ string, vmid int) proxmox.GuestRef {
	return proxmox.GuestRef{Node: node, Type: proxmox.GuestType(typ), VMID: proxmox.VMID(vmid)}
}

func pruneSpec(k Keep) *proxmox.PruneSpec {
	return &proxmox.PruneSpec{KeepAll: k.KeepsAll(), Last: k.Last, Hourly: k.Hourly, Daily: k.Daily, Weekly: k.Weekly, Monthly: k.Monthly, Yearly: k.Yearly}
}

func (p *pve) inventory(ctx context.Context, cfg Config) (inventory, error) {
	var inv inventory
	all, err := p.c.Inventory(ctx)
	if err != nil {
		return inv, wrap(ctx, "read the cluster", err)
	}
	st, err := p.c.Storage.Get(ctx, cfg.Storage)
	if err != nil {
		return inv, wrap(ctx, "read storage "+cfg.Storage, err)
	}
	var shareKeep *Keep
	if s := st.Raw["prune-backups"]; s != "" {
		if k, err := ParseKeep(s); err == nil {
			shareKeep = &k
		}
	}
	var nodes []string
	for _, g := range all.Guests {
		if g.Type != proxmox.TypeVM && g.Type != proxmox.TypeCT {
			continue
		}
		ig := invGuest{VMID: int(g.VMID), Name: g.Name, Type: string(g.Type), Node: g.Node, Running: g.Running(), Template: g.Template}
		if !g.Template {
			conf, err := p.c.Guests.Config(ctx, g.GuestRef)
			if err != nil {
				return inv, wrap(ctx, fmt.Sprintf("read config of %d", g.VMID), err)
			}
			ig.Config = conf.Raw
		}
		inv.Guests = append(inv.Guests, ig)
		if !slices.Contains(nodes, g.Node) {
			nodes = append(nodes, g.Node)
		}
	}
	slices.Sort(nodes)
	for _, n := range nodes {
		sts, err := p.c.Storage.Usage(ctx, n, "")
		if err != nil {
			return inv, wrap(ctx, "list storage of "+n, err)
		}
		for _, s := range sts {
			is := invStorage{Node: n, ID: s.ID, Type: s.Type, Active: s.Active, Enabled: s.Enabled, Avail: int64(s.Avail)}
			if s.ID == cfg.Storage {
				is.Server, is.Keep = st.Raw["server"], shareKeep
			}
			inv.Storages = append(inv.Storages, is)
		}
	}
	inv.Archives = map[string][]Archive{}
	for _, n := range nodes {
		if s, ok := inv.storage(n, cfg.Storage); !ok || !s.Active {
			continue
		}
		vols, err := p.c.Backups.List(ctx, n, cfg.Storage, proxmox.ListOptions{})
		if err != nil {
			return inv, wrap(ctx, "list backups on "+cfg.Storage, err)
		}
		for _, v := range vols {
			inv.Archives[cfg.Storage] = append(inv.Archives[cfg.Storage], Archive{Volid: v.VolID, Protected: v.Protected, Size: int64(v.Size)})
		}
		break // one node's view of a shared storage is enough
	}
	return inv, nil
}

func (p *pve) vzdump(ctx context.Context, node string, vmids []int, o dumpOptions) (dumpTask, error) {
	ids := make([]proxmox.VMID, len(vmids))
	for i, id := range vmids {
		ids[i] = proxmox.VMID(id)
	}
	// Retention is applied afterwards, once Apply agrees with the node's
	// preview, so vzdump itself never prunes (remove=0).
	v, err := p.c.Backups.StartVzdump(ctx, ids, proxmox.VzdumpOptions{Storage: o.Storage, Mode: o.Mode, Compress: o.Compress,
		NotesTemplate: o.NotesTemplate, Protected: o.Protected, NoPrune: true})
	if err != nil {
		return nil, wrap(ctx, fmt.Sprintf("vzdump %v on %s", vmids, node), err)
	}
	if len(v.Tasks) == 0 {
		return nil, &Error{Op: fmt.Sprintf("vzdump %v on %s", vmids, node), Message: "the node started no task (guests not on it)", Err: ErrNotFound}
	}
	return v, nil
}

func (p *pve) guestRunning(ctx context.Context, node string, vmid int) (bool, error) {
	g, err := p.c.Guests.Get(ctx, proxmox.VMID(vmid))
	if err != nil {
		return false, wrap(ctx, fmt.Sprintf("status of %d", vmid), err)
	}
	return g.Running(), nil
}

func (p *pve) storageActive(ctx context.Context, node, storage string) (bool, error) {
	s, err := p.c.Storage.Status(ctx, node, storage)
	if err != nil {
		return false, wrap(ctx, "status of "+storage, err)
	}
	return s.Enabled && s.Active, nil
}

func (p *pve) storagePath(ctx context.Context, storage string) (string, error) {
	st, err := p.c.Storage.Get(ctx, storage)
	if err != nil {
		return "", wrap(ctx, "read storage "+storage, err)
	}
	if path := st.Raw["path"]; path != "" {
		return path, nil
	}
	switch st.Type {
	case "cifs", "nfs", "cephfs", "glusterfs":
		// pve-storage mounts network storages at /mnt/pve/<id>.
		return "/mnt/pve/" + storage, nil
	}
	return "", &Error{Op: "locate storage " + storage, Message: "storage type " + st.Type + " has no directory on the node", Err: ErrInvalid}
}

func (p *pve) archives(ctx context.Context, node, storage string, vmid int) ([]Archive, error) {
	vols, err := p.c.Backups.List(ctx, node, storage, proxmox.ListOptions{VMID: proxmox.VMID(vmid)})
	if err != nil {
		return nil, wrap(ctx, "list backups on "+storage, err)
	}
	out := make([]Archive, 0, len(vols))
	for _, v := range vols {
		out = append(out, Archive{Volid: v.VolID, Protected: v.Protected, Size: int64(v.Size)})
	}
	return out, nil
}

func (p *pve) prunePreview(ctx context.Context, node, storage string, keep Keep, typ string, vmid int) (map[string]Mark, error) {
	marks, err := p.c.Backups.PrunePreview(ctx, node, storage, proxmox.PruneOptions{Spec: pruneSpec(keep), Type: proxmox.GuestType(typ), VMID: proxmox.VMID(vmid)})
	if err != nil {
		return nil, wrap(ctx, "prune preview on "+storage, err)
	}
	out := map[string]Mark{}
	for _, m := range marks {
		mk, err := ParseMark(m.Mark)
		if err != nil {
			return nil, err
		}
		out[m.VolID] = mk
	}
	return out, nil
}

func (p *pve) prune(ctx context.Context, node, storage string, keep Keep, typ string, vmid int) error {
	return wrap(ctx, "prune "+storage, p.c.Backups.Prune(ctx, node, storage, proxmox.PruneOptions{Spec: pruneSpec(keep), Type: proxmox.GuestType(typ), VMID: proxmox.VMID(vmid)}))
}

func (p *pve) deleteVolume(ctx context.Context, node, volid string) error {
	return wrap(ctx, "delete "+volid, p.c.Backups.Delete(ctx, node, volid))
}

func (p *pve) guestNode(ctx context.Context, vmid int) (string, string, error) {
	g, err := p.c.Guests.Get(ctx, proxmox.VMID(vmid))
	if err != nil {
		return "", "", wrap(ctx, fmt.Sprintf("find guest %d", vmid), err)
	}
	return g.Node, string(g.Type), nil
}

func (p *pve) guestConfig(ctx context.Context, node, typ string, vmid int) (map[string]string, error) {
	conf, err := p.c.Guests.Config(ctx, ref(node, typ, vmid))
	if err != nil {
		return nil, wrap(ctx, fmt.Sprintf("read config of %d", vmid), err)
	}
	return conf.Raw, nil
}

// archivedConfig reads the guest config stored in a backup archive
// (proxmox Backups.Config, GET /nodes/{node}/vzdump/extractconfig). ok is
// false, with no error, when PVE refuses the call as unsupported (501: no
// such endpoint).
func (p *pve) archivedConfig(ctx context.Context, node, volid string) (map[string]string, bool, error) {
	ac, err := p.c.Backups.Config(ctx, node, volid)
	if err != nil && ctx.Err() == nil && errors.Is(err, errors.ErrUnsupported) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, wrap(ctx, "read the config in "+volid, err)
	}
	return ac.Config.Raw, true, nil
}

// task runs an API call that answers with a UPID and waits for the task.
func (p *pve) task(ctx context.Context, op, method, path string, params url.Values) error {
	var raw string
	if err := p.c.Do(ctx, method, path, params, &raw); err != nil {
		return wrap(ctx, op, err)
	}
	if raw == "" { // some calls finish synchronously
		return nil
	}
	u, err := proxmox.ParseUPID(raw)
	if err != nil {
		return wrap(ctx, op, err)
	}
	if _, err := p.c.Tasks.Task(u).Wait(ctx); err != nil {
		return wrap(ctx, op, err)
	}
	return nil
}

func (p *pve) restore(ctx context.Context, node, typ string, vmid int, archive, storage string, disks map[string]string) error {
	params := url.Values{"vmid": {strconv.Itoa(vmid)}, "storage": {storage}, "unique": {"1"}, "start": {"0"}}
	if typ == "lxc" {
		// pve-container src/PVE/API2/LXC.pm: a restore is a create with
		// ostemplate=<archive> and restore=1; rootfs= and mpN= (disks)
		// make exactly those disks, without them storage-only mode
		// restores every archived mount point.
		params.Set("ostemplate", archive)
		params.Set("restore", "1")
		for k, v := range disks {
			params.Set(k, v)
		}
	} else {
		// qemu-server src/PVE/API2/Qemu.pm create_vm: archive=<volid>.
		params.Set("archive", archive)
	}
	return p.task(ctx, fmt.Sprintf("restore %s into %d", archive, vmid), http.MethodPost, "/nodes/"+node+"/"+typ, params)
}

func (p *pve) setConfig(ctx context.Context, node, typ string, vmid int, set map[string]string) error {
	params := url.Values{}
	for k, v := range set {
		params.Set(k, v)
	}
	return wrap(ctx, fmt.Sprintf("configure %d", vmid), p.c.Do(ctx, http.MethodPut, fmt.Sprintf("/nodes/%s/%s/%d/config", node, typ, vmid), params, nil))
}

func (p *pve) start(ctx context.Context, node, typ string, vmid int) error {
	_, err := p.c.Guests.Start(ctx, ref(node, typ, vmid))
	return wrap(ctx, fmt.Sprintf("start %d", vmid), err)
}

func (p *pve) stop(ctx context.Context, node, typ string, vmid int) error {
	_, err := p.c.Guests.Stop(ctx, ref(node, typ, vmid))
	return wrap(ctx, fmt.Sprintf("stop %d", vmid), err)
}

func (p *pve) agentPing(ctx context.Context, node string, vmid int) error {
	return wrap(ctx, fmt.Sprintf("ping the guest agent of %d", vmid), p.c.Do(ctx, http.MethodPost, fmt.Sprintf("/nodes/%s/qemu/%d/agent/ping", node, vmid), nil, nil))
}

func (p *pve) destroy(ctx context.Context, node, typ string, vmid int) error {
	params := url.Values{"purge": {"1"}, "destroy-unreferenced-disks": {"1"}}
	return p.task(ctx, fmt.Sprintf("destroy %d", vmid), http.MethodDelete, fmt.Sprintf("/nodes/%s/%s/%d", node, typ, vmid), params)
}
