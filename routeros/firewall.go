package routeros

import (
	"context"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// FirewallService manages /ip/firewall address lists and reads filter rules.
type FirewallService struct{ c *Client }

// AddressListEntry is an /ip/firewall/address-list entry.
type AddressListEntry struct {
	ID       ID
	List     string
	Address  string // address, prefix, range a-b or DNS name, as RouterOS prints it
	Timeout  time.Duration
	Comment  string
	Dynamic  bool // entries with a timeout, or added by rules
	Disabled bool
}

// NormalizeListAddress returns the form RouterOS prints for an address-list
// address: a bare address for a single host (10.0.0.1/32 → 10.0.0.1), a
// masked prefix otherwise; ranges and DNS names are kept as given.
func NormalizeListAddress(s string) string {
	s = strings.TrimSpace(s)
	if a, err := netip.ParseAddr(s); err == nil {
		return a.String()
	}
	if p, err := netip.ParsePrefix(s); err == nil {
		if p.IsSingleIP() {
			return p.Addr().String()
		}
		return p.Masked().String()
	}
	return s
}

// AddressList lists the entries of one address list.
//
// RouterOS API: /ip/firewall/address-list/print ?list=<list>
func (s *FirewallService) AddressList(ctx context.Context, list string) ([]AddressListEntry, error) {
	recs, err := s.c.print(ctx, "list address-list "+list, "/ip/firewall/address-list", "?list="+list)
	if err != nil {
		return nil, err
	}
	out := make([]AddressListEntry, 0, len(recs))
	for _, r := range recs {
		out = append(out, AddressListEntry{ID: r.ID(), List: r["list"], Address: r["address"],
			Timeout: r.Duration("timeout"), Comment: r["comment"], Dynamic: r.Bool("dynamic"), Disabled: r.Bool("disabled")})
	}
	return out, nil
}

// AddressOptions are optional settings of an address-list entry.
type AddressOptions struct {
	Timeout time.Duration // 0: permanent; else the entry is dynamic and expires
	Comment string
}

func addressCmd(list, address string, o AddressOptions) cmd {
	c := cmd{"/ip/firewall/address-list/add", kv("list", list), kv("address", NormalizeListAddress(address))}
	if o.Timeout > 0 {
		c = append(c, kv("timeout", FormatDuration(o.Timeout)))
	}
	if o.Comment != "" {
		c = append(c, kv("comment", o.Comment))
	}
	return c
}

// AddAddress adds address to list; a duplicate is ErrConflict.
//
// RouterOS API: /ip/firewall/address-list/add
func (s *FirewallService) AddAddress(ctx context.Context, list, address string, o AddressOptions) (ID, error) {
	r, err := s.c.one(ctx, "add "+address+" to address-list "+list, addressCmd(list, address, o))
	if err != nil {
		return "", err
	}
	return ID(r.done["ret"]), nil
}

// RemoveAddress removes address from list; ErrNotFound if absent.
//
// RouterOS API: /ip/firewall/address-list/print + remove
func (s *FirewallService) RemoveAddress(ctx context.Context, list, address string) error {
	op := "remove " + address + " from address-list " + list
	norm := NormalizeListAddress(address)
	recs, err := s.c.print(ctx, op, "/ip/firewall/address-list", "?list="+list, "?address="+norm, "=.proplist=.id")
	if err != nil {
		return err
	}
	if len(recs) == 0 {
		return notFound(op, "no such entry")
	}
	ids := make([]string, 0, len(recs))
	for _, r := range recs {
		ids = append(ids, r[".id"])
	}
	_, err = s.c.one(ctx, op, cmd{"/ip/firewall/address-list/remove", kv(".id", strings.Join(ids, ","))})
	return err
}

// AddressListResult is what EnsureAddressList did: the static addresses
// of the list as it ends up, the Action and one Change per address added
// or removed ("added 10.1.1.5"). Only what the router accepted is
// reported, also when an error is returned.
type AddressListResult struct {
	List    string
	Entries []string // static addresses in effect afterwards, sorted
	Action  Action   // Created: the list had no static entry; Deleted: it has none left
	Changes []Change
	Added   []string // addresses added or enabled, sorted
	Removed []string // addresses removed, sorted
}

// Changed reports whether anything was added or removed.
func (r AddressListResult) Changed() bool { return len(r.Added)+len(r.Removed) > 0 }

func (r *AddressListResult) finish(before []string) {
	r.Changes = r.Changes[:0]
	for _, a := range r.Added {
		r.Changes = append(r.Changes, Change{New: a})
	}
	for _, a := range r.Removed {
		r.Changes = append(r.Changes, Change{Old: a})
	}
	if len(r.Changes) == 0 {
		r.Changes = nil
	}
	set := map[string]bool{}
	for _, a := range before {
		set[a] = true
	}
	for _, a := range r.Removed {
		delete(set, a)
	}
	for _, a := range r.Added {
		set[a] = true
	}
	r.Entries = slices.Sorted(maps.Keys(set))
	switch {
	case !r.Changed():
		r.Action = Unchanged
	case len(before) == 0:
		r.Action = Created
	case len(r.Entries) == 0:
		r.Action = Deleted
	default:
		r.Action = Updated
	}
}

// EnsureAddressList makes the static entries of list equal to desired (a
// set; order and duplicates do not matter). It reads the list once, then
// sends the enables, removals and additions pipelined over the same
// connection: two round trips whatever the size. Dynamic entries (with a
// timeout) are left alone and count as present; a disabled static entry of
// a desired address is enabled (and reported as added: it was not in
// effect). Running it twice changes nothing the second time.
//
// RouterOS API: /ip/firewall/address-list/print, enable, remove, add
func (s *FirewallService) EnsureAddressList(ctx context.Context, list string, desired []string) (AddressListResult, error) {
	op := "ensure address-list " + list
	want := make(map[string]bool, len(desired))
	for _, d := range desired {
		want[NormalizeListAddress(d)] = true
	}
	recs, err := s.c.print(ctx, op, "/ip/firewall/address-list", "?list="+list, "=.proplist=.id,address,dynamic,disabled")
	if err != nil {
		return AddressListResult{List: list}, err
	}
	res := AddressListResult{List: list}
	var before []string // static addresses in effect
	for _, r := range recs {
		if !r.Bool("dynamic") && !r.Bool("disabled") {
			before = append(before, r["address"])
		}
	}
	var removeIDs, enableIDs, enabled []string
	have := make(map[string]bool, len(recs))
	for _, r := range recs {
		a := r["address"]
		if r.Bool("dynamic") {
			// Not ours to remove, and the router refuses a static twin.
			if want[a] {
				have[a] = true
			}
			continue
		}
		if want[a] && !have[a] {
			have[a] = true
			if r.Bool("disabled") {
				enableIDs = append(enableIDs, r[".id"])
				enabled = append(enabled, a)
			}
			continue
		}
		removeIDs = append(removeIDs, r[".id"])
		res.Removed = append(res.Removed, a)
	}
	// cmds[i] changes the addresses changes[i]; reported once accepted.
	var cmds []cmd
	var changes [][]string
	if len(enableIDs) > 0 {
		cmds = append(cmds, cmd{"/ip/firewall/address-list/enable", kv(".id", strings.Join(enableIDs, ","))})
		changes = append(changes, enabled)
	}
	if len(removeIDs) > 0 {
		cmds = append(cmds, cmd{"/ip/firewall/address-list/remove", kv(".id", strings.Join(removeIDs, ","))})
		changes = append(changes, res.Removed)
	}
	var added []string
	for a := range want {
		if !have[a] {
			added = append(added, a)
		}
	}
	slices.Sort(added)
	for _, a := range added {
		cmds = append(cmds, addressCmd(list, a, AddressOptions{}))
		changes = append(changes, []string{a})
	}
	if len(cmds) == 0 {
		res.finish(before)
		return res, nil
	}
	results, err := s.c.batch(ctx, op, cmds)
	if results == nil {
		// Nothing is known to have happened (connection broken or ctx
		// done: read the list back before assuming either way).
		return AddressListResult{List: list}, err
	}
	res = AddressListResult{List: list}

	for i, r := range results {
		if r.trap != nil {
			continue
		}
		switch cmds[i][0] {
		case "/ip/firewall/address-list/add":
			if !strings.HasPrefix(r.done["ret"], "*") {
				res.finish(before)
				return res, &Error{Op: op, Command: cmds[i][0], Code: -1, Message: "add returned no id", kinds: []error{ErrConnection}}
			}
			res.Added = append(res.Added, changes[i]...)
		case "/ip/firewall/address-list/enable":
			res.Added = append(res.Added, changes[i]...)
		default:
			res.Removed = append(res.Removed, changes[i]...)
		}
	}
	slices.Sort(res.Added)
	slices.Sort(res.Removed)
	res.finish(before)
	return res, err
}

// FilterRule is an /ip/firewall/filter rule. Matchers the SDK does not
// model are kept in Other.
type FilterRule struct {
	ID               ID
	Chain            string
	Action           string
	JumpTarget       string // the chain a jump rule continues in
	SrcAddress       string
	DstAddress       string
	SrcAddressList   string
	DstAddressList   string
	InInterface      string
	OutInterface     string
	InInterfaceList  string
	OutInterfaceList string
	ConnectionState  string
	Protocol         string
	DstPort          string
	Comment          string
	Disabled         bool
	Dynamic          bool
	Invalid          bool
	Other            map[string]string
}

var filterKnown = map[string]bool{".id": true, "chain": true, "action": true, "jump-target": true, "src-address": true,
	"dst-address": true, "src-address-list": true, "dst-address-list": true, "in-interface": true, "out-interface": true,
	"in-interface-list": true, "out-interface-list": true, "connection-state": true, "protocol": true,
	"dst-port": true, "comment": true, "disabled": true, "dynamic": true, "invalid": true, "bytes": true, "packets": true}

// filterNonMatchers are properties RouterOS prints on filter rules that do
// not select packets: logging and the parameters of actions. Every rule
// carries log and log-prefix, so counting them as matchers would make
// every rule look partial.
var filterNonMatchers = map[string]bool{"log": true, "log-prefix": true, "reject-with": true, "address-list": true,
	"address-list-timeout": true, "hw-offload": true, ".about": true, ".nextid": true}

// FilterRules lists the filter rules in order.
//
// RouterOS API: /ip/firewall/filter/print
func (s *FirewallService) FilterRules(ctx context.Context) ([]FilterRule, error) {
	recs, err := s.c.print(ctx, "list filter rules", "/ip/firewall/filter")
	if err != nil {
		return nil, err
	}
	return filterRulesFrom(recs), nil
}

func filterRulesFrom(recs []Record) []FilterRule {
	out := make([]FilterRule, 0, len(recs))
	for _, r := range recs {
		fr := FilterRule{ID: r.ID(), Chain: r["chain"], Action: r["action"], JumpTarget: r["jump-target"], SrcAddress: r["src-address"],
			DstAddress: r["dst-address"], SrcAddressList: r["src-address-list"], DstAddressList: r["dst-address-list"],
			InInterface: r["in-interface"], OutInterface: r["out-interface"], InInterfaceList: r["in-interface-list"],
			OutInterfaceList: r["out-interface-list"], ConnectionState: r["connection-state"], Protocol: r["protocol"],
			DstPort: r["dst-port"], Comment: r["comment"], Disabled: r.Bool("disabled"), Dynamic: r.Bool("dynamic"), Invalid: r.Bool("invalid")}
		for k, v := range r {
			if !filterKnown[k] {
				if fr.Other == nil {
					fr.Other = map[string]string{}
				}
				fr.Other[k] = v
			}
		}
		out = append(out, fr)
	}
	return out
}
