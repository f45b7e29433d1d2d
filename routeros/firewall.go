package routeros

import (
	"context"
	"fmt"
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

// IsolationReport is the verdict of AuditIsolation.
type IsolationReport struct {
	From, To netip.Prefix
	// Isolated is true when new connections from From to To are dropped
	// or rejected before anything accepts them.
	Isolated bool
	// Rule is the rule that decides (in forward or a chain it jumps to),
	// or nil when none does (the forward chain's default policy accepts).
	Rule   *FilterRule
	Reason string
}

// AuditIsolation reports whether network from (e.g. Guest 10.1.1.0/24) can
// open connections to network to (e.g. LAN 192.168.1.0/24) through the
// forward chain. It walks the enabled forward rules in order, as the
// router does for a new connection, and follows jumps into custom chains
// (a return goes back to the caller): a rule matching all such traffic
// decides; an accept rule matching some of it (a port, a protocol, an
// address list holding part of the network) is a leak; a drop matching only some of it does not
// isolate. Interfaces come from the networks' addresses, interface lists
// are resolved from their members and address lists from their entries
// (addresses, prefixes, ranges); an interface list defined with include or
// exclude, a DNS name entry and a dynamic entry (it expires) never count as
// covering a whole network. It costs one pipelined round trip, plus one for
// the address lists when the rules name any.
//
// RouterOS API: /ip/address/print, /ip/firewall/filter/print,
// /interface/list/print, /interface/list/member/print,
// /ip/firewall/address-list/print ?list=<list>
func (s *FirewallService) AuditIsolation(ctx context.Context, from, to netip.Prefix) (IsolationReport, error) {
	const op = "audit isolation"
	if !from.IsValid() || !to.IsValid() {
		return IsolationReport{From: from, To: to}, &Error{Op: op, Code: -1, Message: "both networks are required", kinds: []error{ErrInvalid}}
	}
	from, to = from.Masked(), to.Masked()
	rep := IsolationReport{From: from, To: to}
	cmds := []cmd{
		{"/ip/address/print", "=.proplist=address,interface,disabled"},
		{"/ip/firewall/filter/print"},
		{"/interface/list/print", "=.proplist=name,include,exclude"},
		{"/interface/list/member/print", "=.proplist=list,interface,disabled"},
	}
	res, err := s.c.do(ctx, op, cmds...)
	if err != nil {
		return rep, err
	}
	for i := range 2 {
		if res[i].trap != nil {
			return rep, trapError(op, cmds[i][0], res[i].trap)
		}
	}
	ifaceOf := func(p netip.Prefix) string {
		for _, a := range res[0].re {
			if ap, err := parsePrefix(a["address"]); err == nil && !a.Bool("disabled") && ap.Masked() == p {
				return a["interface"]
			}
		}
		return ""
	}
	var lists auditLists
	if res[2].trap == nil && res[3].trap == nil {
		// Without the lists (an old router, a restricted user) every
		// list matcher stays a partial match.
		lists = resolveLists(res[2].re, res[3].re)
	}
	rules := filterRulesFrom(res[1].re)
	// The address lists the rules name, read in a second pipelined round
	// trip (only when there are any: lists can be long blocklists).
	var names []string
	for _, r := range rules {
		for _, l := range []string{r.SrcAddressList, r.DstAddressList} {
			if l = strings.TrimPrefix(l, "!"); l != "" && !slices.Contains(names, l) {
				names = append(names, l)
			}
		}
	}
	if len(names) > 0 {
		lcmds := make([]cmd, len(names))
		for i, n := range names {
			lcmds[i] = cmd{"/ip/firewall/address-list/print", "?list=" + n, "=.proplist=address,disabled,dynamic"}
		}
		lres, err := s.c.do(ctx, op, lcmds...)
		if err != nil {
			return rep, err
		}
		lists.addr = map[string][]Record{}
		for i, n := range names {
			if lres[i].trap == nil {
				lists.addr[n] = lres[i].re
			}
		}
	}
	rep.Isolated, rep.Rule, rep.Reason = auditForward(rules, from, to, ifaceOf(from), ifaceOf(to), lists)
	return rep, nil
}

// addrListMatch says whether a src/dst-address-list matcher (possibly
// negated with !) matches all, some or none of network p. Only enabled
// static entries can cover p entirely: dynamic ones (timeouts, resolved
// DNS names) come and go. A DNS name entry, or a list that could not be
// read, makes an overlap unknown: some.
func (l auditLists) addrListMatch(rule string, p netip.Prefix) match {
	if rule == "" {
		return matchAll
	}
	neg := strings.HasPrefix(rule, "!")
	entries, ok := l.addr[strings.TrimPrefix(rule, "!")]
	if !ok {
		return matchSome
	}
	m := matchNone
	for _, e := range entries {
		if e.Bool("disabled") || e["address"] == "" {
			continue
		}
		switch addrMatch(e["address"], p) {
		case matchAll:
			if !e.Bool("dynamic") {
				m = matchAll
			} else {
				m = max(m, matchSome)
			}
		case matchSome:
			m = max(m, matchSome)
		}
		if m == matchAll {
			break
		}
	}
	if neg {
		m = matchAll - m
	}
	return m
}

// auditLists is what the audit knows of /interface/list membership and of
// the address lists the rules name; the zero value knows nothing.
type auditLists struct {
	known   bool
	members map[string]map[string]bool // list → interfaces, enabled members only
	opaque  map[string]bool            // lists built with include/exclude
	addr    map[string][]Record        // address list → its entries, if read
}

func resolveLists(lists, members []Record) auditLists {
	l := auditLists{known: true, members: map[string]map[string]bool{}, opaque: map[string]bool{}}
	for _, r := range lists {
		if r["include"] != "" || r["exclude"] != "" {
			l.opaque[r["name"]] = true
		}
	}
	for _, m := range members {
		if m.Bool("disabled") {
			continue
		}
		if l.members[m["list"]] == nil {
			l.members[m["list"]] = map[string]bool{}
		}
		l.members[m["list"]][m["interface"]] = true
	}
	return l
}

// match says whether an in/out-interface-list matcher (possibly negated
// with !) matches all, some or none of the traffic on iface.
func (l auditLists) match(rule, iface string) match {
	if rule == "" {
		return matchAll
	}
	neg := strings.HasPrefix(rule, "!")
	name := strings.TrimPrefix(rule, "!")
	if iface == "" || !l.known {
		return matchSome
	}
	var in bool
	switch name {
	case "all":
		in = true
	case "none":
		in = false
	case "dynamic", "static":
		return matchSome // built-in lists by interface kind: not modelled
	default:
		if l.opaque[name] {
			return matchSome
		}
		in = l.members[name][iface]
	}
	if in != neg {
		return matchAll
	}
	return matchNone
}

type match int

const (
	matchNone match = iota
	matchSome
	matchAll
)

// maxJumpDepth bounds how deep AuditIsolation follows jumps (a loop of
// jumps would otherwise never end).
const maxJumpDepth = 16

// auditForward is the pure part of AuditIsolation.
func auditForward(rules []FilterRule, from, to netip.Prefix, inIface, outIface string, lists auditLists) (bool, *FilterRule, string) {
	a := auditor{rules: rules, from: from, to: to, in: inIface, out: outIface, lists: lists}
	if v, decided := a.walk("forward", matchAll, 0); decided {
		return v.isolated, v.rule, v.reason
	}
	return false, nil, fmt.Sprintf("no forward rule blocks %s to %s; the default policy accepts", from, to)
}

type auditor struct {
	rules    []FilterRule
	from, to netip.Prefix
	in, out  string
	lists    auditLists
}

type verdict struct {
	isolated bool
	rule     *FilterRule
	reason   string
}

// walk evaluates chain for the traffic that reaches it: all of it, or only
// some when the jump into the chain matched part of it. It reports
// decided=false when the traffic falls off the chain's end or returns.
func (a *auditor) walk(chain string, scope match, depth int) (verdict, bool) {
	if depth > maxJumpDepth {
		return verdict{reason: fmt.Sprintf("jumps nest deeper than %d chains at %s; not followed", maxJumpDepth, chain)}, true
	}
	for i := range a.rules {
		r := &a.rules[i]
		if r.Chain != chain || r.Disabled || r.Invalid {
			continue
		}
		m := min(ruleMatch(r, a.from, a.to, a.in, a.out, a.lists), scope)
		if m == matchNone {
			continue
		}
		switch r.Action {
		case "drop", "reject", "tarpit":
			if m == matchAll {
				return verdict{true, r, fmt.Sprintf("rule %s (%s) %ss all traffic from %s to %s", r.ID, r.Comment, r.Action, a.from, a.to)}, true
			}
		case "accept", "fasttrack-connection":
			if m == matchAll {
				return verdict{false, r, fmt.Sprintf("rule %s (%s) accepts traffic from %s to %s", r.ID, r.Comment, a.from, a.to)}, true
			}
			return verdict{false, r, fmt.Sprintf("rule %s (%s) accepts some traffic from %s to %s", r.ID, r.Comment, a.from, a.to)}, true
		case "jump":
			if r.JumpTarget == "" || r.JumpTarget == chain || slices.Contains([]string{"forward", "input", "output"}, r.JumpTarget) {
				return verdict{false, r, fmt.Sprintf("rule %s (%s) jumps to chain %q; not followed", r.ID, r.Comment, r.JumpTarget)}, true
			}
			if v, decided := a.walk(r.JumpTarget, m, depth+1); decided {
				if v.rule == nil {
					v.rule = r
				}
				return v, true
			}
		case "return":
			if chain == "forward" {
				// Leaving the built-in chain: its default policy accepts.
				return verdict{false, r, fmt.Sprintf("rule %s (%s) returns from the forward chain; the default policy accepts", r.ID, r.Comment)}, true
			}
			if m == matchAll {
				return verdict{}, false
			}
			// Part of the traffic goes back to the caller; a later drop
			// here cannot cover it any more.
			scope = matchSome
		}
	}
	return verdict{}, false
}

// ruleMatch says whether r matches all, some or none of the new
// connections from → to.
func ruleMatch(r *FilterRule, from, to netip.Prefix, inIface, outIface string, lists auditLists) match {
	m := matchAll
	lower := func(x match) {
		if x < m {
			m = x
		}
	}
	if cs := r.ConnectionState; cs != "" {
		// Only the "new" state matters for whether a connection can start.
		neg := strings.HasPrefix(cs, "!")
		hasNew := slices.Contains(strings.Split(strings.TrimPrefix(cs, "!"), ","), "new")
		if neg == hasNew {
			return matchNone
		}
	}
	lower(addrMatch(r.SrcAddress, from))
	lower(addrMatch(r.DstAddress, to))
	lower(ifaceMatch(r.InInterface, inIface))
	lower(ifaceMatch(r.OutInterface, outIface))
	lower(lists.match(r.InInterfaceList, inIface))
	lower(lists.match(r.OutInterfaceList, outIface))
	lower(lists.addrListMatch(r.SrcAddressList, from))
	lower(lists.addrListMatch(r.DstAddressList, to))
	for _, other := range []string{r.Protocol, r.DstPort} {
		if other != "" {
			lower(matchSome)
		}
	}
	for k, v := range r.Other {
		if v != "" && !filterNonMatchers[k] {
			lower(matchSome)
		}
	}
	return m
}

func addrMatch(rule string, p netip.Prefix) match {
	if rule == "" {
		return matchAll
	}
	neg := strings.HasPrefix(rule, "!")
	var m match
	if !p.IsValid() {
		return matchSome
	}
	if lo, hi, ok := parseRange(strings.TrimPrefix(rule, "!")); ok && lo.Is4() == p.Addr().Is4() {
		first, last := p.Masked().Addr(), prefixLast(p)
		switch {
		case lo.Compare(first) <= 0 && last.Compare(hi) <= 0:
			m = matchAll
		case lo.Compare(last) <= 0 && first.Compare(hi) <= 0:
			m = matchSome
		default:
			m = matchNone
		}
	} else if rp, err := parsePrefix(strings.TrimPrefix(rule, "!")); err == nil {
		rp = rp.Masked()
		switch {
		case rp.Bits() <= p.Bits() && rp.Contains(p.Addr()):
			m = matchAll
		case rp.Overlaps(p):
			m = matchSome
		default:
			m = matchNone
		}
	} else {
		return matchSome // DNS name or unparsable: assume partial
	}
	if neg {
		m = matchAll - m
	}
	return m
}

// parseRange parses an address range "10.1.1.10-10.1.1.20".
func parseRange(s string) (lo, hi netip.Addr, ok bool) {
	a, b, found := strings.Cut(s, "-")
	if !found {
		return lo, hi, false
	}
	lo, err1 := netip.ParseAddr(strings.TrimSpace(a))
	hi, err2 := netip.ParseAddr(strings.TrimSpace(b))
	if err1 != nil || err2 != nil || lo.Is4() != hi.Is4() || hi.Less(lo) {
		return lo, hi, false
	}
	return lo, hi, true
}

// prefixLast returns the last address of p.
func prefixLast(p netip.Prefix) netip.Addr {
	if !p.IsValid() {
		return netip.Addr{}
	}
	b := p.Masked().Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

func ifaceMatch(rule, iface string) match {
	if rule == "" {
		return matchAll
	}
	neg := strings.HasPrefix(rule, "!")
	name := strings.TrimPrefix(rule, "!")
	if iface == "" {
		return matchSome
	}
	if (name == iface) != neg {
		return matchAll
	}
	return matchNone
}
