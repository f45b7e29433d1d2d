package routeros

import "strconv"

// Action is what an Ensure call did to the resource.
type Action int

// The actions of an Ensure call; the zero value is Unchanged.
const (
	Unchanged Action = iota
	Created
	Updated
	Deleted
)

// String implements fmt.Stringer.
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
	return "Action(" + strconv.Itoa(int(a)) + ")"
}

// Change is one difference an Ensure call removed. Field is a RouterOS
// property ("allowed-address"), or empty for an entry added or removed as a
// whole (New or Old is then the entry). A secret property shows neither
// value.
type Change struct {
	Field, Old, New string
}

// String implements fmt.Stringer: one human line such as
// "allowed-address: 192.168.100.2/32 → 192.168.100.9/32",
// "added 10.1.1.5" or "removed 10.1.1.5".
func (c Change) String() string {
	switch {
	case c.Field == "" && c.Old == "":
		return "added " + c.New
	case c.Field == "" && c.New == "":
		return "removed " + c.Old
	case c.Field == "":
		return c.Old + " → " + c.New
	}
	old, nw := c.Old, c.New
	if old == "" {
		old = `""`
	}
	if nw == "" {
		nw = `""`
	}
	return c.Field + ": " + old + " → " + nw
}
