package backup

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/thehomelab/homelab/internal/poll"
)

// RestoreOptions says which drill VerifyRestore runs.
type RestoreOptions struct {
	// VMID is the guest whose newest archive is restored. Required.
	VMID int
	// ScratchVMID is the throw-away guest the archive is restored into; it
	// must not exist. Required.
	ScratchVMID int
	// Storage receives the restored disks, e.g. a scratch thin pool.
	// Required.
	Storage string
	// ArchiveStorage holds the archives; default Config.Storage.
	ArchiveStorage string
	// Boot starts the restored VM (its links still down) and waits for its
	// guest agent to answer. Only for VMs with the agent enabled.
	Boot bool
	// AgentTimeout bounds that wait; default 5 minutes.
	AgentTimeout time.Duration
}

// restorer is what a drill needs from Proxmox on top of cluster.
type restorer interface {
	cluster
	// guestNode finds where a guest lives and its type, or ErrNotFound.
	guestNode(ctx context.Context, vmid int) (node, typ string, err error)
	// guestConfig reads a guest's configuration.
	guestConfig(ctx context.Context, node, typ string, vmid int) (map[string]string, error)
	// archivedConfig reads the guest configuration stored in a backup
	// archive; ok is false (no error) when PVE refuses the call as
	// unsupported.
	archivedConfig(ctx context.Context, node, volid string) (conf map[string]string, ok bool, err error)
	// restore creates vmid from archive on storage (unique=1, start=0)
	// and waits for the task. For a container, disks are the rootfs= and
	// mpN= to create (see ctRestoreDisks); nil restores in storage-only
	// mode.
	restore(ctx context.Context, node, typ string, vmid int, archive, storage string, disks map[string]string) error
	// setConfig changes keys of a guest's configuration.
	setConfig(ctx context.Context, node, typ string, vmid int, set map[string]string) error
	// start and stop the guest, waiting for the task.
	start(ctx context.Context, node, typ string, vmid int) error
	stop(ctx context.Context, node, typ string, vmid int) error
	// agentPing asks the VM's guest agent to answer.
	agentPing(ctx context.Context, node string, vmid int) error
	// destroy removes the guest with its disks (purge=1,
	// destroy-unreferenced-disks=1) and waits for the task.
	destroy(ctx context.Context, node, typ string, vmid int) error
}

// diskKeys lists the configuration keys that hold a guest's disks that a
// vzdump archive carries: qemu drives other than cdroms, passthrough
// devices and backup=0 ones; a container's rootfs and the mount points
// with backup=1 (qemu-server PVE/QemuConfig.pm get_backup_volumes,
// pve-container PVE/LXC/Config.pm get_backup_volumes).
func diskKeys(typ string, conf map[string]string) []string {
	var out []string
	for key, val := range conf {
		parts := strings.Split(val, ",")
		vol := strings.TrimPrefix(parts[0], "volume=")
		opts := map[string]string{}
		for _, p := range parts[1:] {
			k, v, _ := strings.Cut(p, "=")
			opts[k] = v
		}
		switch {
		case typ == "qemu" && reQemuDisk.MatchString(key):
			vol = strings.TrimPrefix(vol, "file=")
			if opts["media"] == "cdrom" || isFalse(opts["backup"]) || strings.HasPrefix(vol, "/dev/") || vol == "none" {
				continue
			}
		case typ == "lxc" && key == "rootfs":
		case typ == "lxc" && reLXCMount.MatchString(key):
			if strings.HasPrefix(vol, "/") || isFalse(opts["backup"]) || opts["backup"] == "" {
				continue
			}
		default:
			continue
		}
		out = append(out, key)
	}
	slices.Sort(out)
	return out
}

// ctPathMount reports whether a container configuration has a bind or
// device mount point (its volume is a host path; pve-container
// src/PVE/LXC/Config.pm classify_mountpoint).
func ctPathMount(conf map[string]string) bool {
	for key, val := range conf {
		if key == "rootfs" || reLXCMount.MatchString(key) {
			if vol, _ := splitMount(val); strings.HasPrefix(vol, "/") {
				return true
			}
		}
	}
	return false
}

// ctRestoreDisks is the rootfs= and mpN= of a container restore that
// brings back only the disks vzdump archived (diskKeys: the rootfs and
// the volume mount points with backup=1), each a new STORAGE:SIZE volume
// (SIZE in GiB, from the size= of conf) with the mount point's other
// options (mp=, backup=, acl=, …). Bind and device mount points are left
// out: vzdump never archives their content (pve-container
// src/PVE/VZDump/LXC.pm prepare → PVE/LXC/Config.pm
// mountpoint_backup_enabled: "not a volume"), and given rootfs= the
// restore takes no mount point from the archive (src/PVE/API2/LXC.pm
// create_vm: storage-only mode is off; src/PVE/LXC/Create.pm
// sanitize_and_merge_config: "don't recover mountpoints"). So neither is
// a root@pam-only bind mount asked for nor a host path of the original
// attached to the scratch guest.
func ctRestoreDisks(conf map[string]string, storage string) (map[string]string, error) {
	if vol, _ := splitMount(conf["rootfs"]); strings.HasPrefix(vol, "/") {
		// create_vm's storage-only mode refuses it the same way.
		return nil, fmt.Errorf("its rootfs %s is a host path, not a volume a backup carries", vol)
	}
	out := map[string]string{}
	for _, key := range diskKeys("lxc", conf) {
		_, opts := splitMount(conf[key])
		size, ok := parseDiskSize(opts["size"])
		if !ok || size <= 0 {
			// create_vm's storage-only mode: "unable to detect disk size".
			return nil, fmt.Errorf("%s has no size= to restore it with: %q", key, conf[key])
		}
		delete(opts, "size")
		// create_disks takes GiB and rounds down to MiB (pve-container
		// src/PVE/LXC.pm create_disks: int($size_gb * 1024) * 1024 KiB);
		// a size rounded up to whole MiB first is exact in GiB and never
		// smaller than the original.
		mib := (size + 1<<20 - 1) >> 20
		val := storage + ":" + strconv.FormatFloat(float64(mib)/1024, 'f', -1, 64)
		if mp, ok := opts["mp"]; ok && key != "rootfs" {
			val += ",mp=" + mp
		}
		for _, k := range slices.Sorted(maps.Keys(opts)) {
			if k != "mp" {
				val += "," + k + "=" + opts[k]
			}
		}
		out[key] = val
	}
	return out, nil
}

// splitMount splits a mount point property string into its volume (the
// first value without a key, or volume=) and its other options.
func splitMount(v string) (string, map[string]string) {
	vol, opts := "", map[string]string{}
	for i, part := range strings.Split(v, ",") {
		k, val, ok := strings.Cut(part, "=")
		switch {
		case !ok && i == 0:
			vol = part
		case k == "volume":
			vol = val
		case ok:
			opts[k] = val
		}
	}
	return vol, opts
}

// parseDiskSize reads a disk-size option (pve-common
// src/PVE/JSONSchema.pm parse_size): a number with an optional K, M, G or
// T suffix, binary units, in bytes.
func parseDiskSize(v string) (int64, bool) {
	m := reDiskSize.FindStringSubmatch(v)
	if m == nil {
		return 0, false
	}
	n, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, false
	}
	n *= float64(uint64(1) << map[string]uint{"": 0, "K": 10, "M": 20, "G": 30, "T": 40}[m[2]])
	if n > 1<<60 {
		return 0, false
	}
	return int64(n), true
}

var reDiskSize = regexp.MustCompile(`^(\d+(?:\.\d+)?)([KMGT]?)$`)

var reNet = func(key string) bool {
	if !strings.HasPrefix(key, "net") {
		return false
	}
	return allDigits(key[3:])
}

// verifyRestore proves a guest's newest backup restores: it restores the
// archive into o.ScratchVMID on o.Storage with unique MAC addresses and
// without starting it (a container with a bind or device mount point
// with only the disks its backup carries, ctRestoreDisks), turns every
// network link down and autostart off before anything could start it,
// checks that the guest exists with the disks the original's backup
// carries (per the archive's own config, see VerifyRestore), optionally
// boots it and waits for its guest agent, and destroys it again, whatever
// happened.
//
// The RestoreReport says what was seen; the error is nil when the drill
// passed.
func verifyRestore(ctx context.Context, c restorer, cfg Config, o RestoreOptions) (rr RestoreReport, err error) {
	cfg = cfg.withDefaults()
	if o.ArchiveStorage == "" {
		o.ArchiveStorage = cfg.Storage
	}
	if o.AgentTimeout == 0 {
		o.AgentTimeout = 5 * time.Minute
	}
	rr = RestoreReport{VMID: o.VMID, ScratchVMID: o.ScratchVMID, Storage: o.Storage}
	emit := func(e Event) {
		if cfg.OnEvent != nil {
			e.Time = time.Now()
			cfg.OnEvent(e)
		}
	}
	op := fmt.Sprintf("restore drill of %d into %d", o.VMID, o.ScratchVMID)
	start := time.Now()
	// Registered first, so it runs last: after the scratch guest is gone.
	defer func() {
		rr.Duration = time.Since(start)
		emit(Event{Kind: EventRestoreDone, Guest: o.VMID, ScratchVMID: o.ScratchVMID, Archive: rr.Archive, Err: rr.Err})
		if ctx.Err() != nil {
			err = ctx.Err()
		}
	}()
	finish := func(err error) (RestoreReport, error) {
		if err != nil {
			var be *Error
			if !errors.As(err, &be) && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
				err = &Error{Op: op, Err: err}
			}
			rr.Status, rr.Err = StatusFailed, err
			return rr, err
		}
		rr.Status = StatusOK
		return rr, nil
	}
	switch {
	case o.VMID <= 0 || o.ScratchVMID <= 0 || o.Storage == "":
		return finish(&Error{Op: op, Message: "VMID, ScratchVMID and Storage are required", Err: ErrInvalid})
	case o.VMID == o.ScratchVMID:
		return finish(&Error{Op: op, Message: "the scratch VMID is the guest's own", Err: ErrInvalid})
	}
	if _, _, err := c.guestNode(ctx, o.ScratchVMID); err == nil {
		return finish(&Error{Op: op, Message: fmt.Sprintf("scratch VMID %d exists; refusing to touch it", o.ScratchVMID), Err: ErrConflict})
	} else if !errors.Is(err, ErrNotFound) {
		return finish(err)
	}
	node, typ, err := c.guestNode(ctx, o.VMID)
	if err != nil {
		return finish(err)
	}
	if o.Boot && typ != "qemu" {
		return finish(&Error{Op: op, Message: "boot checks need a VM with the guest agent", Err: ErrInvalid})
	}
	as, err := c.archives(ctx, node, o.ArchiveStorage, o.VMID)
	if err != nil {
		return finish(err)
	}
	var newest time.Time
	for _, a := range as {
		if n, ok := ParseArchiveName(a.Volid, cfg.Location); ok && n.VMID == o.VMID && n.Type == typ && n.Time.After(newest) {
			newest, rr.Archive = n.Time, a.Volid
		}
	}
	if rr.Archive == "" {
		return finish(&Error{Op: op, Message: fmt.Sprintf("no archive of %d on %s", o.VMID, o.ArchiveStorage), Err: ErrNotFound})
	}
	// The disks the backup carries are those of the config in the
	// archive; the current config only if PVE cannot read it out.
	orig, ok, err := c.archivedConfig(ctx, node, rr.Archive)
	if err != nil {
		return finish(err)
	}
	if !ok {
		rr.CurrentConfig = true
		if orig, err = c.guestConfig(ctx, node, typ, o.VMID); err != nil {
			return finish(err)
		}
	}

	// A container with a bind or device mount point is restored with the
	// disks its backup carries named one by one (ctRestoreDisks): in
	// storage-only mode PVE brings the bind mount back too, which only
	// root@pam may do. The others stay in storage-only mode, which takes
	// the mount points and sizes from the archive's own config.
	var disks map[string]string
	if typ == "lxc" && ctPathMount(orig) {
		if disks, err = ctRestoreDisks(orig, o.Storage); err != nil {
			return finish(&Error{Op: op, Message: err.Error(), Err: ErrInvalid})
		}
	}

	emit(Event{Kind: EventRestoreStarted, Guest: o.VMID, ScratchVMID: o.ScratchVMID, Archive: rr.Archive})
	restoreErr := c.restore(ctx, node, typ, o.ScratchVMID, rr.Archive, o.Storage, disks)
	// From here on the scratch guest may exist, even half-made: destroy it
	// whatever happens, on a context of its own so that a cancelled drill
	// still cleans up.
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
		defer cancel()
		if _, _, err := c.guestNode(cctx, o.ScratchVMID); errors.Is(err, ErrNotFound) {
			rr.Destroyed = true
			return
		}
		_ = c.stop(cctx, node, typ, o.ScratchVMID)
		if derr := c.destroy(cctx, node, typ, o.ScratchVMID); derr != nil {
			if rr.Err == nil {
				rr.Status = StatusFailed
				rr.Err = &Error{Op: op, Message: fmt.Sprintf("scratch guest %d could not be destroyed: %v", o.ScratchVMID, derr), Err: ErrConflict}
				err = rr.Err
			}
			return
		}
		rr.Destroyed = true
	}()
	if restoreErr != nil {
		return finish(restoreErr)
	}

	conf, err := c.guestConfig(ctx, node, typ, o.ScratchVMID)
	if err != nil {
		return finish(err)
	}
	set := map[string]string{"onboot": "0"}
	for key, val := range conf {
		if reNet(key) && !strings.Contains(val, "link_down=1") {
			set[key] = val + ",link_down=1"
		}
	}
	if err := c.setConfig(ctx, node, typ, o.ScratchVMID, set); err != nil {
		return finish(err)
	}
	if conf, err = c.guestConfig(ctx, node, typ, o.ScratchVMID); err != nil {
		return finish(err)
	}
	for key, val := range conf {
		if reNet(key) && !strings.Contains(val, "link_down=1") {
			return finish(&Error{Op: op, Message: fmt.Sprintf("%s of the scratch guest is still linked", key), Err: ErrConflict})
		}
	}

	want, got := diskKeys(typ, orig), diskKeys(typ, conf)
	for _, k := range got {
		rr.Disks = append(rr.Disks, k+": "+conf[k])
	}
	if missing := difference(want, got); len(missing) > 0 {
		return finish(&Error{Op: op, Message: "restored guest lacks " + strings.Join(missing, ", "), Err: ErrVerify})
	}
	if len(got) == 0 {
		return finish(&Error{Op: op, Message: "restored guest has no disks", Err: ErrVerify})
	}

	if o.Boot {
		if !strings.HasPrefix(conf["agent"], "1") && !strings.Contains(conf["agent"], "enabled=1") {
			return finish(&Error{Op: op, Message: "the guest agent is not enabled in the guest's configuration", Err: ErrInvalid})
		}
		if err := c.start(ctx, node, typ, o.ScratchVMID); err != nil {
			return finish(err)
		}
		rr.Booted = true
		if err := waitAgent(ctx, c, node, o.ScratchVMID, o.AgentTimeout, cfg.pollInterval()); err != nil {
			return finish(err)
		}
		rr.Agent = true
	}
	return finish(nil)
}

func difference(want, got []string) []string {
	var out []string
	for _, w := range want {
		if !slices.Contains(got, w) {
			out = append(out, w)
		}
	}
	return out
}

// waitAgent polls the guest agent every interval until it answers.
func waitAgent(ctx context.Context, c restorer, node string, vmid int, timeout, every time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	err := poll.Until(ctx, poll.Backoff{Initial: every, Max: every, Factor: 1, Jitter: -1}, func(ctx context.Context) (bool, error) {
		err := c.agentPing(ctx, node, vmid)
		if err == nil {
			return true, nil
		}
		if ctx.Err() == nil {
			last = err // not the cut-short last attempt
		}
		return false, nil
	})
	if errors.Is(err, context.DeadlineExceeded) {
		return &Error{Op: fmt.Sprintf("wait for the guest agent of %d", vmid), Message: fmt.Sprintf("no answer after %s: %v", timeout, last), Err: ErrUnavailable}
	}
	return err
}
