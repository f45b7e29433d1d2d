package omv

import (
	"slices"
	"strconv"
	"strings"
)

// Action says what an Ensure call did to the resource.
type Action int

// Actions of an Ensure call; the zero value is Unchanged.
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
	return "Action(" + strconv.Itoa(int(a)) + ")"
}

// Change is one difference an Ensure call wrote. Old and New are the
// values as OMV shows them; a password is never one of them.
type Change struct {
	Field string
	Old   string
	New   string
}

// String gives one human line: "email: a@x → b@x", "added user anna",
// "removed group member bob", or the Field alone when it says it all
// ("password reset").
func (c Change) String() string {
	switch {
	case c.Old == "" && c.New == "":
		return c.Field
	case c.Old == "":
		return "added " + c.Field + " " + c.New
	case c.New == "":
		return "removed " + c.Field + " " + c.Old
	}
	return c.Field + ": " + c.Old + " → " + c.New
}

// diff appends a Change when old and new differ.
func diff(cs []Change, field, old, new string) []Change {
	if old == new {
		return cs
	}
	if old == "" {
		old = `""`
	}
	if new == "" {
		new = `""`
	}
	return append(cs, Change{Field: field, Old: old, New: new})
}

// setDiff appends one Change per added and per removed element.
func setDiff(cs []Change, field string, old, new []string) []Change {
	for _, n := range sorted(new) {
		if !slices.Contains(old, n) {
			cs = append(cs, Change{Field: field, New: n})
		}
	}
	for _, o := range sorted(old) {
		if !slices.Contains(new, o) {
			cs = append(cs, Change{Field: field, Old: o})
		}
	}
	return cs
}

func sorted(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return slices.Compact(out)
}

// SharedFolderResult is what SharedFolders.Ensure did.
type SharedFolderResult struct {
	Folder  SharedFolder
	Action  Action
	Changes []Change
}

// Changed reports whether anything was written.
func (r SharedFolderResult) Changed() bool { return r.Action != Unchanged }

// UserResult is what Users.Ensure did.
type UserResult struct {
	User    User
	Action  Action
	Changes []Change
}

// Changed reports whether anything was written.
func (r UserResult) Changed() bool { return r.Action != Unchanged }

// GroupResult is what Users.EnsureGroup did.
type GroupResult struct {
	Group   Group
	Action  Action
	Changes []Change
}

// Changed reports whether anything was written.
func (r GroupResult) Changed() bool { return r.Action != Unchanged }

// SMBShareResult is what SMB.EnsureShare did.
type SMBShareResult struct {
	Share   SMBShare
	Action  Action
	Changes []Change
}

// Changed reports whether anything was written.
func (r SMBShareResult) Changed() bool { return r.Action != Unchanged }

func joinChanges(cs []Change) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = c.String()
	}
	return strings.Join(parts, "; ")
}
