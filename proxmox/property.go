package proxmox

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

const maxProperty = 4096

// splitProperty splits a PVE property string "a=1,b=2" into pairs; a first
// item without "=" is returned under defaultKey.
func splitProperty(s, defaultKey string) (map[string]string, []string, error) {
	if len(s) > maxProperty {
		return nil, nil, fmt.Errorf("%w: property string longer than %d bytes", ErrInvalid, maxProperty)
	}
	m := map[string]string{}
	var order []string
	if strings.TrimSpace(s) == "" {
		return m, nil, nil
	}
	for i, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			if i != 0 || defaultKey == "" {
				return nil, nil, fmt.Errorf("%w: property %q has no value", ErrInvalid, part)
			}
			k, v = defaultKey, part
		}
		k = strings.TrimSpace(k)
		if k == "" {
			return nil, nil, fmt.Errorf("%w: empty property key", ErrInvalid)
		}
		if _, dup := m[k]; dup {
			return nil, nil, fmt.Errorf("%w: duplicate property %q", ErrInvalid, k)
		}
		m[k] = v
		order = append(order, k)
	}
	return m, order, nil
}

func parsePropBool(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "1", "yes", "on", "true":
		return true, nil
	case "0", "no", "off", "false":
		return false, nil
	}
	return false, fmt.Errorf("%w: %q is not a boolean", ErrInvalid, v)
}

func b01(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// Startup is a guest's "startup" option: [order=]N,up=N,down=N.
type Startup struct {
	// Order is the boot group; HasOrder false means "no order", which
	// PVE starts last and stops first.
	Order    int
	HasOrder bool
	Up       time.Duration // pause after starting; 0 = unset
	Down     time.Duration // shutdown timeout for this guest; 0 = unset
}

// ParseStartup parses a "startup" value strictly, as PVE does: an unknown
// key makes the whole value invalid. Errors match ErrInvalid.
func ParseStartup(s string) (Startup, error) {
	st, err := parseStartup(s)
	if err != nil {
		return Startup{}, &Error{Op: "parse startup", Err: err}
	}
	return st, nil
}

func parseStartup(s string) (Startup, error) {
	m, _, err := splitProperty(s, "order")
	if err != nil {
		return Startup{}, err
	}
	var st Startup
	for k, v := range m {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || len(v) > 10 {
			return Startup{}, fmt.Errorf("%w: startup %s=%q is not a non-negative integer", ErrInvalid, k, v)
		}
		switch k {
		case "order":
			st.Order, st.HasOrder = n, true
		case "up":
			st.Up = time.Duration(n) * time.Second
		case "down":
			st.Down = time.Duration(n) * time.Second
		default:
			return Startup{}, fmt.Errorf("%w: unable to parse startup options: unknown key %q", ErrInvalid, k)
		}
	}
	return st, nil
}

// String formats the value for the wire.
func (s Startup) String() string {
	var parts []string
	if s.HasOrder {
		parts = append(parts, "order="+strconv.Itoa(s.Order))
	}
	if s.Up > 0 {
		parts = append(parts, "up="+strconv.Itoa(int(s.Up/time.Second)))
	}
	if s.Down > 0 {
		parts = append(parts, "down="+strconv.Itoa(int(s.Down/time.Second)))
	}
	return strings.Join(parts, ",")
}

// PruneSpec is a retention policy ("prune-backups").
type PruneSpec struct {
	KeepAll                                      bool
	Last, Hourly, Daily, Weekly, Monthly, Yearly int
}

// ParsePruneSpec parses "keep-last=3,keep-daily=7,…". Errors match
// ErrInvalid.
func ParsePruneSpec(s string) (PruneSpec, error) {
	p, err := parsePruneSpec(s)
	if err != nil {
		return PruneSpec{}, &Error{Op: "parse prune-backups", Err: err}
	}
	return p, nil
}

func parsePruneSpec(s string) (PruneSpec, error) {
	m, _, err := splitProperty(s, "")
	if err != nil {
		return PruneSpec{}, err
	}
	var p PruneSpec
	for k, v := range m {
		if k == "keep-all" {
			b, err := parsePropBool(v)
			if err != nil {
				return PruneSpec{}, err
			}
			p.KeepAll = b
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || len(v) > 10 {
			return PruneSpec{}, fmt.Errorf("%w: prune-backups %s=%q is not a non-negative integer", ErrInvalid, k, v)
		}
		switch k {
		case "keep-last":
			p.Last = n
		case "keep-hourly":
			p.Hourly = n
		case "keep-daily":
			p.Daily = n
		case "keep-weekly":
			p.Weekly = n
		case "keep-monthly":
			p.Monthly = n
		case "keep-yearly":
			p.Yearly = n
		default:
			return PruneSpec{}, fmt.Errorf("%w: unknown prune-backups key %q", ErrInvalid, k)
		}
	}
	if p.KeepAll && (p.Last|p.Hourly|p.Daily|p.Weekly|p.Monthly|p.Yearly) != 0 {
		return PruneSpec{}, fmt.Errorf("%w: keep-all conflicts with other keep options", ErrInvalid)
	}
	return p, nil
}

// String formats the spec; an empty spec is "keep-all=1", as PVE normalises it.
func (p PruneSpec) String() string {
	var parts []string
	add := func(k string, n int) {
		if n > 0 {
			parts = append(parts, k+"="+strconv.Itoa(n))
		}
	}
	add("keep-last", p.Last)
	add("keep-hourly", p.Hourly)
	add("keep-daily", p.Daily)
	add("keep-weekly", p.Weekly)
	add("keep-monthly", p.Monthly)
	add("keep-yearly", p.Yearly)
	if len(parts) == 0 {
		return "keep-all=1"
	}
	return strings.Join(parts, ",")
}

// Drive is a VM disk property string (scsiN, sataN, virtioN, ideN).
type Drive struct {
	// File is the volume id, a raw path ("/dev/disk/by-id/…"), "none" or
	// "cdrom". A volume id has the shape of its storage: block storages
	// (lvmthin, zfspool, rbd) name a disk "local-lvm:vm-100-disk-0"
	// (base-/subvol- for templates and zfs container subvols), file
	// storages (dir, nfs, cifs, btrfs) "local:100/vm-100-disk-0.qcow2"
	// (raw, qcow2, vmdk; "local:101/subvol-101-disk-0.subvol"). Compare it
	// whole; its size is in Options["size"] (bytes or K, M, G, T).
	File string
	// Options holds every other key as sent, e.g. "backup": "0".
	Options map[string]string
}

// ParseDrive parses a drive value such as
// "/dev/disk/by-id/ata-X,backup=0,serial=X,ssd=1". Errors match ErrInvalid.
func ParseDrive(s string) (Drive, error) {
	d, err := parseDrive(s)
	if err != nil {
		return Drive{}, &Error{Op: "parse drive", Err: err}
	}
	return d, nil
}

func parseDrive(s string) (Drive, error) {
	m, _, err := splitProperty(s, "file")
	if err != nil {
		return Drive{}, err
	}
	if v, ok := m["volume"]; ok {
		if _, dup := m["file"]; dup {
			return Drive{}, fmt.Errorf("%w: drive has both file and volume", ErrInvalid)
		}
		m["file"] = v
		delete(m, "volume")
	}
	f, ok := m["file"]
	if !ok || f == "" {
		return Drive{}, fmt.Errorf("%w: drive has no file", ErrInvalid)
	}
	delete(m, "file")
	return Drive{File: f, Options: m}, nil
}

// IsPath reports whether the drive is a raw host path (passthrough).
func (d Drive) IsPath() bool { return strings.HasPrefix(d.File, "/") }

// String formats the drive with options in a stable order.
func (d Drive) String() string {
	keys := make([]string, 0, len(d.Options))
	for k := range d.Options {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	if strings.Contains(d.File, "=") {
		b.WriteString("file=")
	}
	b.WriteString(d.File)
	for _, k := range keys {
		b.WriteString(",")
		b.WriteString(k)
		b.WriteString("=")
		b.WriteString(d.Options[k])
	}
	return b.String()
}

// encodeSerial percent-encodes a drive serial for PVE's "urlencoded"
// format, which accepts only [-%a-zA-Z0-9_.!~*'()]: url.QueryEscape would
// turn a space into "+", which PVE rejects.
func encodeSerial(s string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', strings.IndexByte("-_.!~*'()", c) >= 0:
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		}
	}
	return b.String()
}
