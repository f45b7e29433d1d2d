package proxmox

import (
	"sort"
	"strconv"
	"strings"
)

// Action says what an idempotent call did to its resource.
type Action int

// Actions, Unchanged being the zero value.
const (
	Unchanged Action = iota
	Created
	Updated
	Deleted
)

// String returns "unchanged", "created", "updated" or "deleted".
func (a Action) String() string {
	switch a {
	case Unchanged:
		return "unchanged"
	case Created:
		return "created"
	case Updated:
		return "updated"
	case Deleted:
		return "deleted"
	}
	return "action(" + strconv.Itoa(int(a)) + ")"
}

// Change is one config key an idempotent call set or deleted. Old is empty
// for a key that was unset, New for a key that is deleted.
type Change struct {
	Field string
	Old   string
	New   string
}

// String gives one human line: "cores: 2 → 4", "onboot: set to 1",
// "description: removed (was old text)".
func (c Change) String() string {
	switch {
	case c.Old == "" && c.New == "":
		return c.Field + ": unchanged"
	case c.Old == "":
		return c.Field + ": set to " + c.New
	case c.New == "":
		return c.Field + ": removed (was " + c.Old + ")"
	}
	return c.Field + ": " + c.Old + " → " + c.New
}

// DiffConfig compares a config as it is (have) with how it should be
// (want) over the keys of want, the way PVE's config maps work: an empty
// wanted value means the key should be absent. It returns the changes in
// key order; nil means nothing differs. same, when not nil, decides that
// two different strings mean the same value for a key (comma lists
// compared as sets, a normalised property string). It changes nothing and
// sends nothing: callers turn the changes into a request (set the keys
// with a New value, delete the others).
func DiffConfig(have, want map[string]string, same func(key, have, want string) bool) []Change {
	var out []Change
	for k, w := range want {
		h := have[k]
		if h == w || (same != nil && same(k, h, w)) {
			continue
		}
		out = append(out, Change{Field: k, Old: h, New: w})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Field < out[j].Field })
	return out
}

// changeParams turns changes into PVE's update parameters: the keys to
// set, and "delete" listing the keys to remove.
func changeParams(changes []Change) params {
	p := params{}
	var del []string
	for _, c := range changes {
		if c.New == "" {
			del = append(del, c.Field)
		} else {
			p.Set(c.Field, c.New)
		}
	}
	if len(del) > 0 {
		sort.Strings(del)
		p.Set("delete", strings.Join(del, ","))
	}
	return p
}

// createChanges lists the keys a create sets, old values empty.
func createChanges(want map[string]string) []Change {
	return DiffConfig(nil, want, nil)
}
