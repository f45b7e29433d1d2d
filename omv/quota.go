package omv

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
)

// QuotaService manages per-user and per-group hard quotas on a filesystem.
// OMV cannot set soft or inode limits over RPC.
type QuotaService struct{ c *Client }

// Quota is the hard block limit of one user or group on a filesystem.
//
// OMV stores limits in KiB but reports them like its web UI shows them:
// in the largest binary unit up to TiB, cut (not rounded) to two decimals
// at each step of 1024. So a limit of 1500 MiB reads back as 1.46 GiB and
// HardLimit is then below the stored limit by less than 0.01 of that unit.
// Limits that are whole numbers of KiB, MiB, GiB or TiB read back exactly.
type Quota struct {
	Type      string // "user" or "group"
	Name      string
	HardLimit int64  // bytes; 0 = no limit
	Used      string // OMV's human-readable usage, e.g. "1.20 GiB"

	shown float64 // bhardlimit as OMV reported it
	unit  string  // bunit as OMV reported it
}

var quotaUnits = []struct {
	name string
	size int64
}{{"EiB", 1 << 60}, {"PiB", 1 << 50}, {"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}}

// toUnit expresses bytes in the largest binary unit that holds it
// exactly, after rounding up to KiB (OMV stores KiB).
func toUnit(b int64) (int64, string) {
	if b <= 0 {
		return 0, "MiB"
	}
	kib := (b + 1023) / 1024 * 1024
	for _, u := range quotaUnits {
		if kib%u.size == 0 {
			return kib / u.size, u.name
		}
	}
	return kib, "B"
}

func fromUnit(n float64, unit string) (int64, error) {
	for _, u := range quotaUnits {
		if u.name == unit {
			v := n * float64(u.size)
			if v < 0 || v >= 1<<62 {
				return 0, fmt.Errorf("quota %v %s out of range", n, unit)
			}
			return int64(math.Round(v)), nil
		}
	}
	return 0, fmt.Errorf("unknown quota unit %q", unit)
}

// shownAs is how OMV's Quota.get reports a limit of kib KiB: PHP
// binary_format(kib, fromPrefix KiB, maxPrefix TiB), which divides by 1024
// with bcdiv at scale 2 (cutting, not rounding) while the value is at
// least 1024. It returns the value in hundredths and the unit.
func shownAs(kib int64) (int64, string) {
	units := [...]string{"KiB", "MiB", "GiB", "TiB"}
	cents, i := kib*100, 0
	for cents >= 1024*100 && i < len(units)-1 {
		cents /= 1024
		i++
	}
	return cents, units[i]
}

// matches reports whether OMV shows this entry as a limit of b bytes.
func (q Quota) matches(b int64) bool {
	if b <= 0 || q.shown == 0 {
		return b <= 0 && q.shown == 0
	}
	cents, unit := shownAs((b + 1023) / 1024)
	return unit == q.unit && int64(math.Round(q.shown*100)) == cents
}

// wire returns the bhardlimit and bunit that store q's limit as closely
// as OMV allows: Quota.set cuts bhardlimit to a whole number before
// converting (binary_convert at scale 0), so a shown 1.46 GiB must go
// back as KiB, not as 1 GiB.
func (q Quota) wire() (int64, string) {
	if q.unit != "" && q.shown == math.Trunc(q.shown) {
		return int64(q.shown), q.unit
	}
	if q.unit != "" {
		if b, err := fromUnit(q.shown, q.unit); err == nil {
			return (b + 512) / 1024, "KiB"
		}
	}
	return toUnit(q.HardLimit)
}

// Get reads the quotas of all non-system users and groups on the
// filesystem with the given filesystem UUID.
//
// OMV API: Quota.get {uuid}
func (s *QuotaService) Get(ctx context.Context, fsUUID string) ([]Quota, error) {
	var raw []struct {
		Type  string          `json:"type"`
		Name  string          `json:"name"`
		Used  string          `json:"bused"`
		Limit json.RawMessage `json:"bhardlimit"`
		Unit  string          `json:"bunit"`
	}
	if err := s.c.call(ctx, callOpts{read: true}, "Quota", "get", map[string]any{"uuid": fsUUID}, &raw); err != nil {
		return nil, wrap(fmt.Sprintf("quotas on %s", fsUUID), err)
	}
	out := make([]Quota, 0, len(raw))
	for _, r := range raw {
		var n flexInt
		var f float64
		if json.Unmarshal(r.Limit, &f) != nil {
			if err := json.Unmarshal(r.Limit, &n); err != nil {
				return nil, errf("quotas on "+fsUUID, ErrInvalid, fmt.Sprintf("%s: bad limit %s", r.Name, r.Limit))
			}
			f = float64(n)
		}
		unit := r.Unit
		if unit == "" {
			unit = "MiB"
		}
		b, err := fromUnit(f, unit)
		if err != nil {
			return nil, errf("quotas on "+fsUUID, ErrInvalid, r.Name+": "+err.Error())
		}
		out = append(out, Quota{Type: r.Type, Name: r.Name, HardLimit: b, Used: r.Used, shown: f, unit: unit})
	}
	return out, nil
}

// SetUser sets the hard limit (bytes, rounded up to KiB; 0 removes it) of
// one user, keeping the other entries, and reports whether it wrote.
//
// OMV API: Quota.get, Quota.set {uuid, quota}
func (s *QuotaService) SetUser(ctx context.Context, fsUUID, user string, limit int64) (bool, error) {
	cur, err := s.Get(ctx, fsUUID)
	if err != nil {
		return false, err
	}
	return s.setUser(ctx, fsUUID, user, limit, cur)
}

func (s *QuotaService) setUser(ctx context.Context, fsUUID, user string, limit int64, cur []Quota) (bool, error) {
	if limit < 0 {
		return false, errf("set quota", ErrInvalid, "negative limit")
	}
	// Compare in the form OMV reports, which is lossy (see Quota): a
	// limit of 1500 MiB shows as 1.46 GiB and must count as unchanged.
	idx := slices.IndexFunc(cur, func(q Quota) bool { return q.Type == "user" && q.Name == user })
	if idx >= 0 && cur[idx].matches(limit) {
		return false, nil
	}
	if idx < 0 && limit == 0 {
		return false, nil
	}
	cur = slices.Clone(cur)
	if idx < 0 {
		cur = append(cur, Quota{Type: "user", Name: user})
		idx = len(cur) - 1
	}
	cur[idx] = Quota{Type: "user", Name: user, HardLimit: limit}
	// Quota.set replaces the whole list: send the other entries back as
	// OMV showed them.
	list := make([]map[string]any, 0, len(cur))
	for _, q := range cur {
		v, u := q.wire()
		if v == 0 {
			continue
		}
		list = append(list, map[string]any{"type": q.Type, "name": q.Name, "bhardlimit": v, "bunit": u})
	}
	if err := s.c.call(ctx, callOpts{}, "Quota", "set", map[string]any{"uuid": fsUUID, "quota": list}, nil); err != nil {
		return false, wrap(fmt.Sprintf("set quota of %s on %s", user, fsUUID), err)
	}
	return true, nil
}

// formatLimit renders a limit for change reports.
func formatLimit(b int64) string {
	n, u := toUnit(b)
	return strconv.FormatInt(n, 10) + " " + u
}
