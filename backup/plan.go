package backup

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Check is one pre-check of a plan.
type Check struct {
	// Guest is the VMID the check is about (0 for the whole plan).
	Guest int
	// Name says what was checked: "share active", "local space",
	// "passthrough disks", "guest exists", "offsite".
	Name string
	OK   bool
	// Detail is the reason, in words, either way.
	Detail string
}

// String returns e.g. "guest 100: local space: ok (120.0 GiB free ≥ 2.5 GiB)".
func (c Check) String() string {
	verdict := "ok"
	if !c.OK {
		verdict = "FAILED"
	}
	s := c.Name + ": " + verdict
	if c.Detail != "" {
		s += " (" + c.Detail + ")"
	}
	if c.Guest != 0 {
		s = fmt.Sprintf("guest %d: %s", c.Guest, s)
	}
	return s
}

// GuestPlan is what tonight does with one guest.
type GuestPlan struct {
	VMID int
	Name string
	Type string // "qemu" or "lxc"
	Node string
	// Running guests are dumped in Config.Mode; stopped ones in stop mode
	// (vzdump decides that itself).
	Running bool
	Method  Method
	// Why says why the guest goes in two steps ("it serves storage backups:
	// its address 192.168.1.5 is the share's server").
	Why string
	// DumpStorage is where vzdump writes (the local storage for two-step
	// guests); Storage is where the archive ends up.
	DumpStorage string
	Storage     string
	// Keep is the retention applied on Storage after the backup.
	Keep Keep
	// Retention previews it over the archives on Storage plus tonight's
	// (Tonight marks that one).
	Retention []Decision
	Tonight   string
	// NewestSize is the size of the guest's newest archive, the estimate of
	// tonight's.
	NewestSize int64
	// Checks are this guest's pre-checks; the guest is skipped if one
	// fails.
	Checks []Check
}

// OK reports whether every pre-check of the guest passed.
func (g GuestPlan) OK() bool {
	for _, c := range g.Checks {
		if !c.OK {
			return false
		}
	}
	return true
}

// Removes lists the archives retention will remove after tonight's backup.
func (g GuestPlan) Removes() []Decision { return Removed(g.Retention) }

// NightPlan is tonight's backup, printable, changing nothing. Apply executes it.
type NightPlan struct {
	// Time is when the plan was made; tonight's archives are named after it
	// in the preview.
	Time time.Time
	// Storage is the share all archives end up on.
	Storage string
	Guests  []GuestPlan
	// Offsite are the copies that passed their checks; they run after the
	// guests.
	Offsite []OffsiteSpec
	// Checks are plan-wide pre-checks (unknown guests, off-site sanity).
	Checks []Check

	cfg Config
	c   cluster
}

// OK reports whether every pre-check passed. Apply still runs the guests
// whose own checks passed when some did not.
func (p NightPlan) OK() bool {
	for _, c := range p.Checks {
		if !c.OK {
			return false
		}
	}
	for _, g := range p.Guests {
		if !g.OK() {
			return false
		}
	}
	return true
}

// Failed returns every failing pre-check.
func (p NightPlan) Failed() []Check {
	var out []Check
	for _, c := range p.Checks {
		if !c.OK {
			out = append(out, c)
		}
	}
	for _, g := range p.Guests {
		for _, c := range g.Checks {
			if !c.OK {
				out = append(out, c)
			}
		}
	}
	return out
}

// String prints the plan: one line per guest, then why, the checks, what
// retention removes, the off-site copies and what is refused.
func (p NightPlan) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "backup plan %s: %s to storage %s\n", p.Time.Format("2006-01-02 15:04 MST"), plural(len(p.Guests), "guest"), p.Storage)
	if len(p.Guests) > 0 {
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "GUEST\tNAME\tNODE\tMETHOD\tTARGET\tRETENTION\tREMOVES\tCHECKS")
		for _, g := range p.Guests {
			target := g.Storage
			if g.DumpStorage != g.Storage {
				target = g.DumpStorage + " → " + g.Storage
			}
			checks := "ok"
			if !g.OK() {
				checks = "REFUSED"
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", g.VMID, dash(g.Name), g.Node, g.Method, target, g.Keep, len(g.Removes()), checks)
		}
		tw.Flush()
	}
	for _, g := range p.Guests {
		if g.Why != "" {
			fmt.Fprintf(&b, "  %d: two-step: %s\n", g.VMID, g.Why)
		}
		for _, c := range g.Checks {
			fmt.Fprintf(&b, "  %d: %s\n", g.VMID, strings.TrimPrefix(c.String(), fmt.Sprintf("guest %d: ", g.VMID)))
		}
		for _, d := range g.Removes() {
			fmt.Fprintf(&b, "  %d: retention removes %s\n", g.VMID, baseName(d.Volid))
		}
	}
	for _, o := range p.Offsite {
		mode := "copy"
		if o.Sync {
			mode = fmt.Sprintf("sync, at most %d deletes", o.MaxDelete)
		}
		fmt.Fprintf(&b, "offsite: %s → %s (%s)\n", o.Source, o.Remote, mode)
	}
	for _, c := range p.Checks {
		fmt.Fprintf(&b, "check %s\n", c)
	}
	if failed := p.Failed(); len(failed) > 0 {
		fmt.Fprintf(&b, "refused: %s\n", plural(len(failed), "pre-check")+" failed")
	}
	return b.String()
}

// The cluster as Plan reads it: plain values, so that planning is a pure
// function of them.
type (
	invGuest struct {
		VMID     int
		Name     string
		Type     string // qemu, lxc
		Node     string
		Running  bool
		Template bool
		// Config is the guest's current configuration (disk keys, net,
		// ipconfig, hostname).
		Config map[string]string
		// Addrs are addresses the guest agent reported, if any.
		Addrs []netip.Addr
	}
	invStorage struct {
		Node    string
		ID      string
		Type    string // dir, cifs, lvmthin …
		Active  bool
		Enabled bool
		Avail   int64
		// Server is a CIFS/NFS storage's server (IP or name).
		Server string
		// Keep is the storage's prune-backups, nil when it has none.
		Keep *Keep
	}
	inventory struct {
		Guests   []invGuest
		Storages []invStorage
		// Archives lists backup volumes per storage id.
		Archives map[string][]Archive
	}
)

func (inv inventory) storage(node, id string) (invStorage, bool) {
	for _, s := range inv.Storages {
		if s.ID == id && (s.Node == node || s.Node == "") {
			return s, true
		}
	}
	return invStorage{}, false
}

// buildPlan decides tonight's work from the inventory, changing nothing.
func buildPlan(inv inventory, cfg Config, now time.Time) NightPlan {
	cfg = cfg.withDefaults()
	p := NightPlan{Time: now.In(cfg.Location), Storage: cfg.Storage, cfg: cfg}

	byID := map[int]invGuest{}
	for _, g := range inv.Guests {
		byID[g.VMID] = g
	}
	var ids []int
	if len(cfg.Guests) > 0 {
		for _, id := range cfg.Guests {
			if _, ok := byID[id]; !ok {
				p.Checks = append(p.Checks, Check{Guest: id, Name: "guest exists", Detail: fmt.Sprintf("no guest %d in the cluster", id)})
				continue
			}
			ids = append(ids, id)
		}
	} else {
		for _, g := range inv.Guests {
			if !g.Template {
				ids = append(ids, g.VMID)
			}
		}
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)

	for _, id := range ids {
		if slices.Contains(cfg.Exclude, id) {
			continue
		}
		p.Guests = append(p.Guests, planGuest(inv, cfg, byID[id], now))
	}

	for _, o := range cfg.Offsite {
		c := Check{Name: "offsite", OK: true, Detail: o.Source + " → " + o.Remote}
		switch {
		case o.Source == "" || o.Remote == "":
			c.OK, c.Detail = false, "source and remote are both required"
		case o.Sync && o.MaxDelete <= 0:
			c.OK, c.Detail = false, fmt.Sprintf("sync to %s without a max-delete guard could wipe the remote; set MaxDelete or use copy", o.Remote)
		}
		p.Checks = append(p.Checks, c)
		if c.OK { // a refused copy is not run
			p.Offsite = append(p.Offsite, o)
		}
	}
	return p
}

func planGuest(inv inventory, cfg Config, g invGuest, now time.Time) GuestPlan {
	gp := GuestPlan{VMID: g.VMID, Name: g.Name, Type: g.Type, Node: g.Node, Running: g.Running,
		Method: Direct, DumpStorage: cfg.Storage, Storage: cfg.Storage}
	check := func(name string, ok bool, detail string, args ...any) {
		gp.Checks = append(gp.Checks, Check{Guest: g.VMID, Name: name, OK: ok, Detail: fmt.Sprintf(detail, args...)})
	}

	share, ok := inv.storage(g.Node, cfg.Storage)
	switch {
	case !ok:
		check("share active", false, "storage %s is not available on node %s", cfg.Storage, g.Node)
	case !share.Enabled:
		check("share active", false, "storage %s is disabled", cfg.Storage)
	case !share.Active:
		check("share active", false, "storage %s is not active (mounted) on node %s", cfg.Storage, g.Node)
	default:
		check("share active", true, "%s active on %s", cfg.Storage, g.Node)
	}

	if slices.Contains(cfg.TwoStep, g.VMID) {
		gp.Method, gp.Why = TwoStep, "configured"
	} else if why, ok := servesShare(g, share); ok {
		gp.Method, gp.Why = TwoStep, why
	}

	// Retention: the configured policy, else the share's own.
	switch {
	case cfg.Keep != nil:
		gp.Keep = *cfg.Keep
	case share.Keep != nil:
		gp.Keep = *share.Keep
	}
	var mine []Archive
	var newest time.Time
	for _, a := range inv.Archives[cfg.Storage] {
		n, ok := ParseArchiveName(a.Volid, cfg.Location)
		if !ok || n.VMID != g.VMID || n.Type != g.Type {
			continue
		}
		mine = append(mine, a)
		if n.Time.After(newest) {
			newest, gp.NewestSize = n.Time, a.Size
		}
	}
	ext := ".vma.zst"
	if g.Type == "lxc" {
		ext = ".tar.zst"
	}
	gp.Tonight = fmt.Sprintf("%s:backup/vzdump-%s-%d-%s%s", cfg.Storage, g.Type, g.VMID, now.In(cfg.Location).Format("2006_01_02-15_04_05"), ext)
	gp.Retention = Retention(append(mine, Archive{Volid: gp.Tonight, Size: gp.NewestSize}), gp.Keep, cfg.Location)

	if gp.Method == TwoStep {
		gp.DumpStorage = cfg.LocalStorage
		local, ok := inv.storage(g.Node, cfg.LocalStorage)
		need := int64(float64(gp.NewestSize) * cfg.SpaceFactor)
		switch {
		case !ok || !local.Enabled || !local.Active:
			check("local space", false, "local storage %s is not available on node %s", cfg.LocalStorage, g.Node)
		case gp.NewestSize == 0:
			check("local space", true, "%s free on %s; no earlier archive to size against", humanBytes(local.Avail), cfg.LocalStorage)
		case local.Avail < need:
			check("local space", false, "%s free on %s < %s (%.1f × newest archive %s)", humanBytes(local.Avail), cfg.LocalStorage, humanBytes(need), cfg.SpaceFactor, humanBytes(gp.NewestSize))
		default:
			check("local space", true, "%s free on %s ≥ %s (%.1f × newest archive %s)", humanBytes(local.Avail), cfg.LocalStorage, humanBytes(need), cfg.SpaceFactor, humanBytes(gp.NewestSize))
		}
		bad, excluded := includedPassthrough(g)
		switch {
		case len(bad) > 0:
			check("passthrough disks", false, "%s passed through and not flagged backup=0: vzdump would read %s in full into the archive", strings.Join(bad, ", "), pronoun(len(bad)))
		case len(excluded) > 0:
			check("passthrough disks", true, "%s flagged backup=0", strings.Join(excluded, ", "))
		default:
			check("passthrough disks", true, "none")
		}
	}
	return gp
}

func pronoun(n int) string {
	if n == 1 {
		return "it"
	}
	return "them"
}

var (
	reQemuDisk = regexp.MustCompile(`^(ide|sata|scsi|virtio)\d+$|^efidisk0$|^tpmstate0$`)
	reLXCMount = regexp.MustCompile(`^mp\d+$`)
)

// includedPassthrough names the guest's disks that are host devices passed
// through and that vzdump would include, and those flagged out: qemu drives whose volume is a
// /dev path without backup=0 (qemu-server PVE/QemuConfig.pm
// get_backup_volumes includes every drive unless backup=0 or a cdrom).
// Container mount points backed by a host path are never in a vzdump
// archive (pve-container: only volumes, and mpN only with backup=1), so
// only qemu guests are checked.
func includedPassthrough(g invGuest) (included, excluded []string) {
	if g.Type != "qemu" {
		return nil, nil
	}
	for key, val := range g.Config {
		if !reQemuDisk.MatchString(key) {
			continue
		}
		parts := strings.Split(val, ",")
		vol := strings.TrimPrefix(parts[0], "file=")
		if !strings.HasPrefix(vol, "/dev/") {
			continue
		}
		in := true
		for _, p := range parts[1:] {
			k, v, _ := strings.Cut(p, "=")
			switch {
			case k == "media" && v == "cdrom":
				in = false
			case k == "backup" && isFalse(v):
				in = false
			}
		}
		if in {
			included = append(included, key+" ("+vol+")")
		} else {
			excluded = append(excluded, key)
		}
	}
	slices.Sort(included)
	slices.Sort(excluded)
	return included, excluded
}

func isFalse(v string) bool {
	switch strings.ToLower(v) {
	case "0", "no", "off", "false":
		return true
	}
	return false
}

var reIP = regexp.MustCompile(`(?:^|,)ip=([0-9a-fA-F.:]+)(?:/\d+)?(?:,|$)`)

// servesShare reports whether the guest is the server of the share: its
// address (from the guest agent, a cloud-init ipconfigN or a container's
// netN ip=) or its name is the storage's server. Dumping such a guest onto
// its own share freezes the share under the backup.
func servesShare(g invGuest, share invStorage) (string, bool) {
	server := strings.ToLower(strings.TrimSpace(share.Server))
	if server == "" {
		return "", false
	}
	if addr, err := netip.ParseAddr(server); err == nil {
		addrs := slices.Clone(g.Addrs)
		for key, val := range g.Config {
			if strings.HasPrefix(key, "ipconfig") || (g.Type == "lxc" && strings.HasPrefix(key, "net")) {
				if m := reIP.FindStringSubmatch(val); m != nil {
					if a, err := netip.ParseAddr(m[1]); err == nil {
						addrs = append(addrs, a)
					}
				}
			}
		}
		for _, a := range addrs {
			if a.Unmap() == addr.Unmap() {
				return fmt.Sprintf("it serves storage %s: its address %s is the share's server", share.ID, addr), true
			}
		}
		return "", false
	}
	host, _, _ := strings.Cut(server, ".")
	for _, name := range []string{g.Name, g.Config["hostname"]} {
		if name = strings.ToLower(name); name != "" && (name == server || name == host) {
			return fmt.Sprintf("it serves storage %s: its name %s is the share's server %s", share.ID, name, share.Server), true
		}
	}
	return "", false
}
