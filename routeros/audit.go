package routeros

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// IsolationReport is the verdict of AuditIsolation.
type IsolationReport struct {
	From, To netip.Prefix
	// Isolated is true when no new connection from From reaches To through
	// the forward chain, and no management service of the router
	// (/ip/service) is open to From through the input chain — in IPv4 and,
	// where From has IPv6, in IPv6.
	Isolated bool
	// Rule is the rule that decides the IPv4 forward chain when one rule
	// does (the drop that isolates, or the accept that leaks); nil when
	// several do, or none (the default policy accepts).
	Rule *FilterRule
	// Rules are the drops that together isolate the forward chain when no
	// single one does (two halves of the network, tcp and !tcp…).
	Rules []*FilterRule
	// Reason says in one paragraph what decides, what still passes and
	// what came closest to stopping it.
	Reason string
	// Chains are the chains audited: "ip forward", "ip input", and
	// "ipv6 forward", "ipv6 input" where From has IPv6.
	Chains []string
	// Passes is the traffic that still passes (empty when isolated).
	Passes []Passage
	// Services are the router's management services From can reach.
	Services []ServiceExposure
	// Closest is, when not isolated, the drop rule (enabled or not) that
	// would have stopped the most of what passes; nil when none would.
	Closest *FilterRule
}

// Passage is traffic a chain lets through: protocols, ports and addresses.
type Passage struct {
	Chain     string   // "ip forward", "ipv6 input"…
	Protocols []string // "tcp", "udp", "icmp", "other protocols"
	Ports     string   // "all ports" or "22, 8000-8999" (tcp/udp-like protocols only)
	From, To  []string // address ranges, as prefixes where they are
}

// String implements fmt.Stringer: "ip forward: tcp ports 22 from 10.1.1.0/24 to 192.168.1.0/24".
func (p Passage) String() string { return p.Chain + ": " + p.describe() }

func (p Passage) describe() string {
	var b strings.Builder
	b.WriteString(joinAnd(p.Protocols))
	if p.Ports != "" && p.Ports != "all ports" {
		b.WriteString(" ports " + p.Ports)
	}
	b.WriteString(" from " + strings.Join(p.From, ", ") + " to " + strings.Join(p.To, ", "))
	return b.String()
}

// ServiceExposure is a router service From can open a connection to.
type ServiceExposure struct {
	Chain string // "ip input" or "ipv6 input"
	Name  string // the /ip/service name: ssh, winbox, api…
	Port  int
	From  []string    // the part of From that reaches it
	Rule  *FilterRule // the accept that lets it in; nil: no rule drops it
}

// String implements fmt.Stringer.
func (s ServiceExposure) String() string {
	by := "no input rule drops it"
	if s.Rule != nil {
		by = "rule " + ruleName(s.Rule) + " accepts it"
	}
	return fmt.Sprintf("%s (tcp %d) from %s: %s", s.Name, s.Port, strings.Join(s.From, ", "), by)
}

func ruleName(r *FilterRule) string {
	if r.Comment == "" {
		return string(r.ID)
	}
	return string(r.ID) + " (" + r.Comment + ")"
}

func joinAnd(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}

// AuditIsolation reports whether network from (e.g. Guest 10.1.1.0/24) is
// isolated from network to (e.g. LAN 192.168.1.0/24) and from the router
// itself. It walks the filter rules in order, as the router does for a
// new connection, following jumps into custom chains (a return goes back
// to the caller), for every kind of traffic the rules tell apart
// (addresses, protocols, ports): coverage adds up across rules and
// address-list entries, so two drops that each cover half the network, or
// protocol=tcp and protocol=!tcp, isolate together.
//
// It audits the forward chain from → to and the input chain from → the
// router's addresses for every enabled service of /ip/service (an
// address restriction on the service counts), in IPv4 and, where the
// from network's interface has a global IPv6 prefix, in IPv6 as well
// (/ipv6/firewall/filter); Chains says which. Interfaces come from the
// networks' addresses, interface lists from their members, address lists
// from their entries. What the audit cannot know counts against isolation:
// a matcher it does not model (a mark, a rate limit), a list built with
// include/exclude, a DNS name entry or a dynamic entry (it expires) may
// match or not, so a drop relying on it does not isolate and an accept
// relying on it leaks. When not isolated, the report says what still
// passes and names the drop that came closest (a disabled one, one that
// covers only tcp, one that covers half the network).
//
// It costs one pipelined round trip, plus one for the address lists when
// the rules name any.
//
// RouterOS API: /ip/address/print, /ip/firewall/filter/print,
// /interface/list/print, /interface/list/member/print, /ip/service/print,
// /ipv6/address/print, /ipv6/firewall/filter/print,
// /ip/firewall/address-list/print ?list=, /ipv6/firewall/address-list/print ?list=
func (s *FirewallService) AuditIsolation(ctx context.Context, from, to netip.Prefix) (IsolationReport, error) {
	const op = "audit isolation"
	if !from.IsValid() || !to.IsValid() {
		return IsolationReport{From: from, To: to}, invalid(op, "both networks are required")
	}
	from, to = from.Masked(), to.Masked()
	rep := IsolationReport{From: from, To: to}
	cmds := []cmd{
		{"/ip/address/print", "=.proplist=address,interface,disabled,invalid"},
		{"/ip/firewall/filter/print"},
		{"/interface/list/print", "=.proplist=name,include,exclude"},
		{"/interface/list/member/print", "=.proplist=list,interface,disabled"},
		{"/ip/service/print", "=.proplist=name,port,address,disabled,dynamic"},
		{"/ipv6/address/print", "=.proplist=address,interface,disabled,invalid"},
		{"/ipv6/firewall/filter/print"},
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
	in := auditInput{rules4: filterRulesFrom(res[1].re), addrs4: res[0].re}
	if res[2].trap == nil && res[3].trap == nil {
		// Without the lists (an old router, a restricted user) every
		// list matcher stays unknown.
		in.lists = resolveLists(res[2].re, res[3].re)
	}
	if res[4].trap == nil {
		in.services = res[4].re
		in.servicesKnown = true
	}
	if res[5].trap == nil && res[6].trap == nil {
		// A router without IPv6 (or a user who may not read it) has no
		// IPv6 path to audit.
		in.addrs6, in.rules6 = res[5].re, filterRulesFrom(res[6].re)
	}
	// The address lists the rules name, read in a second pipelined round
	// trip (only when there are any: lists can be long blocklists).
	var lcmds []cmd
	var lnames []string
	for fam, rules := range map[string][]FilterRule{"/ip": in.rules4, "/ipv6": in.rules6} {
		for _, r := range rules {
			for _, l := range []string{r.SrcAddressList, r.DstAddressList} {
				key := fam + " " + strings.TrimPrefix(l, "!")
				if l = strings.TrimPrefix(l, "!"); l != "" && !slices.Contains(lnames, key) {
					lnames = append(lnames, key)
					lcmds = append(lcmds, cmd{fam + "/firewall/address-list/print", "?list=" + l, "=.proplist=address,disabled,dynamic"})
				}
			}
		}
	}
	if len(lcmds) > 0 {
		lres, err := s.c.do(ctx, op, lcmds...)
		if err != nil {
			return rep, err
		}
		in.lists.addr, in.lists.addr6 = map[string][]Record{}, map[string][]Record{}
		for i, key := range lnames {
			if lres[i].trap != nil {
				continue
			}
			fam, name, _ := strings.Cut(key, " ")
			if fam == "/ip" {
				in.lists.addr[name] = lres[i].re
			} else {
				in.lists.addr6[name] = lres[i].re
			}
		}
	}
	return in.audit(from, to), nil
}

// auditInput is what AuditIsolation read; audit is the pure part.
type auditInput struct {
	rules4, rules6 []FilterRule
	addrs4, addrs6 []Record
	lists          auditLists
	services       []Record
	servicesKnown  bool
}

// ifaceOf returns the interface holding an address in p.
func ifaceOf(addrs []Record, p netip.Prefix) string {
	for _, a := range addrs {
		if ap, err := parsePrefix(a["address"]); err == nil && !a.Bool("disabled") && ap.Masked() == p {
			return a["interface"]
		}
	}
	return ""
}

// prefixOn returns the global IPv6 prefix on iface, if any.
func prefixOn(addrs []Record, iface string) netip.Prefix {
	for _, a := range addrs {
		if a["interface"] != iface || a.Bool("disabled") || a.Bool("invalid") {
			continue
		}
		if p, err := parsePrefix(a["address"]); err == nil && p.Addr().Is6() && !p.Addr().IsLinkLocalUnicast() {
			return p.Masked()
		}
	}
	return netip.Prefix{}
}

// routerAddrs returns the router's own enabled addresses.
func routerAddrs(addrs []Record, v6 bool) []netip.Addr {
	var out []netip.Addr
	for _, a := range addrs {
		if a.Bool("disabled") || a.Bool("invalid") {
			continue
		}
		if p, err := parsePrefix(a["address"]); err == nil && p.Addr().Is6() == v6 && !p.Addr().IsLinkLocalUnicast() {
			out = append(out, p.Addr())
		}
	}
	return out
}

func (in auditInput) audit(from, to netip.Prefix) IsolationReport {
	rep := IsolationReport{From: from, To: to, Isolated: true}
	fromIf, toIf := ifaceOf(in.addrs4, from), ifaceOf(in.addrs4, to)
	var reasons []string

	fwd := newAuditor("ip forward", in.rules4, in.lists, false)
	fv := fwd.forward(from, to, fromIf, toIf)
	rep.Chains = append(rep.Chains, fwd.name)
	rep.Rule, rep.Rules = fv.rule, fv.rules
	reasons = append(reasons, fv.reason)
	rep.Passes = append(rep.Passes, fv.passes...)
	rep.Closest = fv.closest
	rep.Isolated = fv.isolated

	if in.servicesKnown {
		inp := newAuditor("ip input", in.rules4, in.lists, false)
		rep.Chains = append(rep.Chains, inp.name)
		iv := inp.input(from, fromIf, routerAddrs(in.addrs4, false), in.services)
		in.merge(&rep, iv, &reasons)
	}

	// IPv6, where the from network's interface has a global prefix.
	if from6 := prefixOn(in.addrs6, fromIf); from6.IsValid() && fromIf != "" {
		if to6 := prefixOn(in.addrs6, toIf); to6.IsValid() {
			f6 := newAuditor("ipv6 forward", in.rules6, in.lists, true)
			rep.Chains = append(rep.Chains, f6.name)
			in.merge(&rep, f6.forward(from6, to6, fromIf, toIf), &reasons)
		}
		if in.servicesKnown {
			i6 := newAuditor("ipv6 input", in.rules6, in.lists, true)
			rep.Chains = append(rep.Chains, i6.name)
			in.merge(&rep, i6.input(from6, fromIf, routerAddrs(in.addrs6, true), in.services), &reasons)
		}
	}
	rep.Reason = strings.Join(slices.DeleteFunc(reasons, func(s string) bool { return s == "" }), "; ")
	return rep
}

func (in auditInput) merge(rep *IsolationReport, v chainVerdict, reasons *[]string) {
	rep.Passes = append(rep.Passes, v.passes...)
	rep.Services = append(rep.Services, v.services...)
	if !v.isolated {
		rep.Isolated = false
		*reasons = append(*reasons, v.reason)
		if rep.Closest == nil {
			rep.Closest = v.closest
		}
	}
}

// tri is what is known of a rule matching a kind of traffic.
type tri int8

const (
	no tri = iota
	maybe
	yes
)

func (t tri) not() tri { return yes - t }

// The outcomes a walk of the rules can have for one kind of traffic.
const (
	oDrop   = 1
	oAccept = 2
	oReturn = 4 // fell off the end of a chain (or returned)
)

// span is an inclusive address range.
type span struct{ lo, hi netip.Addr }

func spanOf(p netip.Prefix) span { return span{p.Masked().Addr(), prefixLast(p)} }

func (s span) within(o span) bool { return o.lo.Compare(s.lo) <= 0 && s.hi.Compare(o.hi) <= 0 }

func (s span) overlaps(o span) bool { return s.lo.Compare(o.hi) <= 0 && o.lo.Compare(s.hi) <= 0 }

// size is how many addresses s holds (approximate beyond 2^53).
func (s span) size() float64 {
	a, b := s.lo.As16(), s.hi.As16()
	var n float64
	for i := range 16 {
		n = n*256 + float64(int(b[i])-int(a[i]))
	}
	return n + 1
}

// parseSpan reads an address, a prefix or a range a-b.
func parseSpan(s string) (span, bool) {
	if lo, hi, ok := parseRange(s); ok {
		return span{lo, hi}, true
	}
	if p, err := parsePrefix(s); err == nil {
		return spanOf(p), true
	}
	return span{}, false
}

// strings renders spans as prefixes where they are exact.
func spanStrings(ss []span) []string {
	var out []string
	for _, s := range ss {
		out = append(out, spanString(s))
	}
	return out
}

func spanString(s span) string {
	if s.lo == s.hi {
		return s.lo.String()
	}
	for bits := 0; bits <= s.lo.BitLen(); bits++ {
		p := netip.PrefixFrom(s.lo, bits)
		if p.Masked().Addr() == s.lo && prefixLast(p) == s.hi {
			return p.String()
		}
	}
	return s.lo.String() + "-" + s.hi.String()
}

// mergeSpans sorts spans and joins adjacent ones.
func mergeSpans(ss []span) []span {
	slices.SortFunc(ss, func(a, b span) int { return a.lo.Compare(b.lo) })
	var out []span
	for _, s := range ss {
		if n := len(out); n > 0 && (out[n-1].hi.Next() == s.lo || out[n-1].overlaps(s)) {
			if s.hi.Compare(out[n-1].hi) > 0 {
				out[n-1].hi = s.hi
			}
			continue
		}
		out = append(out, s)
	}
	return out
}

// cut splits whole at every boundary of the spans given.
func cut(whole span, by []span) []span {
	points := []netip.Addr{whole.lo}
	for _, b := range by {
		if !b.overlaps(whole) || b.lo.Is4() != whole.lo.Is4() {
			continue
		}
		if whole.lo.Compare(b.lo) < 0 {
			points = append(points, b.lo)
		}
		if n := b.hi.Next(); n.IsValid() && n.Compare(whole.hi) <= 0 {
			points = append(points, n)
		}
	}
	slices.SortFunc(points, func(a, b netip.Addr) int { return a.Compare(b) })
	points = slices.Compact(points)
	out := make([]span, len(points))
	for i, p := range points {
		hi := whole.hi
		if i+1 < len(points) {
			hi = points[i+1].Prev()
		}
		out[i] = span{p, hi}
	}
	return out
}

// flow is one kind of new connection, uniform for every rule: no rule
// matches part of it.
type flow struct {
	src, dst span
	proto    string // tcp, udp, icmp, …, or "" for the protocols no rule names
	plo, phi int    // destination ports (-1 for protocols without ports)
	in, out  string // interfaces ("" unknown)
	input    bool   // to the router itself
	service  int    // index into the services, for input flows
	weight   float64
}

// portProtocols carry ports (a port matcher needs one of them).
var portProtocols = []string{"tcp", "udp", "udp-lite", "dccp", "sctp"}

// protoNumbers maps numbers RouterOS may print to the names it uses.
var protoNumbers = map[string]string{"1": "icmp", "6": "tcp", "17": "udp", "58": "icmpv6", "47": "gre", "50": "ipsec-esp", "51": "ipsec-ah", "132": "sctp", "33": "dccp", "136": "udp-lite"}

func protoName(p string) string {
	if n, ok := protoNumbers[p]; ok {
		return n
	}
	return p
}

type auditor struct {
	name   string
	rules  []FilterRule
	chains map[string][]*FilterRule // enabled rules by chain
	lists  auditLists
	v6     bool
	memo   map[[2]int]walkResult
	chainN map[string]int
}

type walkResult struct {
	o    int
	rule *FilterRule // the rule that decides when one does
}

type chainVerdict struct {
	isolated bool
	rule     *FilterRule
	rules    []*FilterRule
	reason   string
	passes   []Passage
	services []ServiceExposure
	closest  *FilterRule
}

func newAuditor(name string, rules []FilterRule, lists auditLists, v6 bool) *auditor {
	a := &auditor{name: name, rules: rules, chains: map[string][]*FilterRule{}, lists: lists, v6: v6, chainN: map[string]int{}}
	for i := range rules {
		r := &rules[i]
		if r.Disabled || r.Invalid {
			continue
		}
		if _, ok := a.chainN[r.Chain]; !ok {
			a.chainN[r.Chain] = len(a.chainN)
		}
		a.chains[r.Chain] = append(a.chains[r.Chain], r)
	}
	return a
}

// boundaries are every address range the rules and their lists name.
func (a *auditor) boundaries() []span {
	var out []span
	add := func(v string) {
		if s, ok := parseSpan(strings.TrimPrefix(v, "!")); ok {
			out = append(out, s)
		}
	}
	for _, r := range a.rules {
		add(r.SrcAddress)
		add(r.DstAddress)
		for _, l := range []string{r.SrcAddressList, r.DstAddressList} {
			for _, e := range a.lists.entries(strings.TrimPrefix(l, "!"), a.v6) {
				add(e["address"])
			}
		}
	}
	return out
}

// protocolAtoms returns the protocols the rules name, those with ports
// split at every port boundary the rules name.
func (a *auditor) protocolAtoms() []flow {
	protos := []string{"tcp", "udp", "icmp"}
	if a.v6 {
		protos[2] = "icmpv6"
	}
	points := []int{0}
	for i := range a.rules {
		r := &a.rules[i]
		if p := protoName(strings.TrimPrefix(r.Protocol, "!")); p != "" && !slices.Contains(protos, p) {
			protos = append(protos, p)
		}
		for _, k := range []string{"dst-port", "port"} {
			for _, pr := range parsePorts(strings.TrimPrefix(prop(r, k), "!")) {
				points = append(points, pr[0], pr[1]+1)
			}
		}
	}
	slices.Sort(points)
	points = slices.Compact(points)
	var out []flow
	named := 0
	for _, p := range protos {
		named++
		if !slices.Contains(portProtocols, p) {
			out = append(out, flow{proto: p, plo: -1, phi: -1, weight: 1})
			continue
		}
		for i, lo := range points {
			if lo > 65535 {
				break
			}
			hi := 65535
			if i+1 < len(points) {
				hi = min(points[i+1]-1, 65535)
			}
			out = append(out, flow{proto: p, plo: lo, phi: hi, weight: float64(hi-lo+1) / 65536})
		}
	}
	out = append(out, flow{proto: "", plo: -1, phi: -1, weight: float64(256 - named)})
	return out
}

// parsePorts reads "22,80-90" (without a leading "!").
func parsePorts(s string) [][2]int {
	var out [][2]int
	if s == "" {
		return nil
	}
	for part := range strings.SplitSeq(s, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err1 := strconv.Atoi(lo)
		b := a
		var err2 error
		if isRange {
			b, err2 = strconv.Atoi(hi)
		}
		if err1 != nil || err2 != nil || a < 0 || b > 65535 || b < a {
			return nil
		}
		out = append(out, [2]int{a, b})
	}
	return out
}

// maxFlows bounds the kinds of traffic one chain is evaluated for.
const maxFlows = 200000

// forward audits from → to through the forward chain.
func (a *auditor) forward(from, to netip.Prefix, inIf, outIf string) chainVerdict {
	b := a.boundaries()
	srcs, dsts, protos := cut(spanOf(from), b), cut(spanOf(to), b), a.protocolAtoms()
	var flows []flow
	if len(srcs)*len(dsts)*len(protos) > maxFlows {
		return chainVerdict{reason: fmt.Sprintf("%s: too many distinct ranges to audit", a.name)}
	}
	for _, s := range srcs {
		for _, d := range dsts {
			for _, p := range protos {
				f := p
				f.src, f.dst, f.in, f.out = s, d, inIf, outIf
				f.weight *= s.size() * d.size()
				flows = append(flows, f)
			}
		}
	}
	v := a.verdict(flows, "forward", nil)
	if v.isolated {
		switch {
		case v.rule != nil:
			v.reason = fmt.Sprintf("rule %s %ss all traffic from %s to %s", ruleName(v.rule), v.rule.Action, from, to)
		default:
			names := make([]string, len(v.rules))
			for i, r := range v.rules {
				names[i] = ruleName(r)
			}
			v.reason = fmt.Sprintf("rules %s together drop all traffic from %s to %s", joinAnd(names), from, to)
		}
		if a.v6 {
			v.reason = ""
		}
		return v
	}
	var why string
	switch {
	case v.rule != nil && v.rule.Action != "drop":
		why = fmt.Sprintf("rule %s accepts traffic from %s to %s", ruleName(v.rule), from, to)
	case v.rule != nil:
		why = fmt.Sprintf("traffic from %s to %s passes", from, to)
	default:
		why = fmt.Sprintf("no %s rule blocks all of %s to %s; the default policy accepts", a.name, from, to)
	}
	parts := []string{why}
	for _, p := range v.passes {
		parts = append(parts, "passing: "+p.describe())
	}
	if v.closest != nil {
		parts = append(parts, "closest: "+a.shortfall(v.closest, flows, v))
	}
	v.reason = strings.Join(parts, "; ")
	return v
}

// input audits from → the router's addresses, for every enabled service.
func (a *auditor) input(from netip.Prefix, inIf string, addrs []netip.Addr, services []Record) chainVerdict {
	b := a.boundaries()
	srcs := cut(spanOf(from), b)
	var flows []flow
	for si, svc := range services {
		port, err := strconv.Atoi(svc["port"])
		// RouterOS 7.19 also lists open connections under /ip/service as
		// dynamic rows (terraform-routeros#769): they are not services.
		if svc.Bool("disabled") || svc.Bool("dynamic") || err != nil {
			continue
		}
		for _, s := range srcs {
			if !serviceAllows(svc["address"], s) {
				continue
			}
			for _, d := range addrs {
				flows = append(flows, flow{src: s, dst: span{d, d}, proto: "tcp", plo: port, phi: port,
					in: inIf, input: true, service: si, weight: s.size() / float64(max(len(addrs), 1))})
			}
		}
	}
	v := a.verdict(flows, "input", services)
	if v.isolated {
		v.reason, v.rule, v.rules = "", nil, nil
		return v
	}
	// One clause per source and deciding rule: "ssh (tcp 22) and api
	// (tcp 8728) from 10.1.1.0/24: no input rule drops them".
	type key struct {
		from string
		rule *FilterRule
	}
	var keys []key
	byKey := map[key][]string{}
	for _, e := range v.services {
		k := key{strings.Join(e.From, ", "), e.Rule}
		if _, ok := byKey[k]; !ok {
			keys = append(keys, k)
		}
		byKey[k] = append(byKey[k], fmt.Sprintf("%s (tcp %d)", e.Name, e.Port))
	}
	parts := []string{fmt.Sprintf("%s: %s can reach the router's services", a.name, from)}
	for _, k := range keys {
		by := "no input rule drops them"
		if k.rule != nil {
			by = "rule " + ruleName(k.rule) + " accepts them"
		}
		parts = append(parts, joinAnd(byKey[k])+" from "+k.from+": "+by)
	}
	if v.closest != nil {
		parts = append(parts, "closest: "+a.shortfall(v.closest, flows, v))
	}
	v.reason = strings.Join(parts, "; ")
	v.rule, v.rules, v.passes = nil, nil, nil
	return v
}

// serviceAllows reports whether /ip/service address (a comma list of
// prefixes; empty: any) admits every address of s.
func serviceAllows(list string, s span) bool {
	if strings.TrimSpace(list) == "" {
		return true
	}
	for part := range strings.SplitSeq(list, ",") {
		if p, ok := parseSpan(strings.TrimSpace(part)); ok && s.overlaps(p) {
			return true
		}
	}
	return false
}

// verdict walks every flow through chain and sums up.
func (a *auditor) verdict(flows []flow, chain string, services []Record) chainVerdict {
	v := chainVerdict{isolated: true}
	type leak struct {
		f    flow
		rule *FilterRule
	}
	var leaks []leak
	deciders := map[*FilterRule]bool{}
	var order []*FilterRule
	single := true
	var first *FilterRule
	for i, f := range flows {
		a.memo = map[[2]int]walkResult{}
		r := a.walk(chain, 0, &flows[i], nil)
		if r.o&oReturn != 0 {
			r.o = r.o&^oReturn | oAccept // the built-in chain's policy accepts
			if r.o != oAccept {
				r.rule = nil
			}
		}
		if r.o == oDrop {
			if r.rule != nil && !deciders[r.rule] {
				deciders[r.rule] = true
				order = append(order, r.rule)
			}
			if i == 0 {
				first = r.rule
			}
			if r.rule == nil || r.rule != first {
				single = false
			}
			continue
		}
		v.isolated = false
		leaks = append(leaks, leak{f, r.rule})
	}
	if v.isolated {
		if single && first != nil {
			v.rule = first
		} else {
			v.rules = order
		}
		return v
	}
	// The rule that lets most of the leak through names the leak.
	weights := map[*FilterRule]float64{}
	var seen []*FilterRule
	for _, l := range leaks {
		if _, ok := weights[l.rule]; !ok {
			seen = append(seen, l.rule)
		}
		weights[l.rule] += l.f.weight
	}
	best := seen[0]
	for _, r := range seen[1:] {
		if weights[r] > weights[best] {
			best = r
		}
	}
	v.rule = best
	lf := make([]flow, len(leaks))
	lr := map[int]*FilterRule{}
	for i, l := range leaks {
		lf[i], lr[i] = l.f, l.rule
	}
	if services != nil {
		v.services = summarizeServices(a.name, lf, lr, services)
	} else {
		v.passes = summarizePasses(a.name, lf)
	}
	v.closest = a.closestDrop(chain, flows)
	return v
}

// walk evaluates chain from rule i for f: the set of possible outcomes
// and, when one rule decides, that rule.
func (a *auditor) walk(chain string, i int, f *flow, stack []string) walkResult {
	n, ok := a.chainN[chain]
	if !ok {
		return walkResult{o: oReturn} // a chain without enabled rules returns
	}
	key := [2]int{n, i}
	if r, ok := a.memo[key]; ok {
		return r
	}
	rules := a.chains[chain]
	res := walkResult{o: oReturn}
	for j := i; j < len(rules); j++ {
		r := rules[j]
		m := a.match(r, f)
		if m == no {
			continue
		}
		var act walkResult
		switch r.Action {
		case "accept", "fasttrack-connection":
			act = walkResult{oAccept, r}
		case "drop", "reject", "tarpit":
			act = walkResult{oDrop, r}
		case "return":
			act = walkResult{oReturn, r}
		case "jump":
			if r.JumpTarget == "" || slices.Contains(stack, r.JumpTarget) || len(stack) >= maxJumpDepth ||
				slices.Contains([]string{"forward", "input", "output"}, r.JumpTarget) {
				// A loop or a jump the router refuses: anything may happen.
				act = walkResult{oAccept | oDrop, r}
				break
			}
			t := a.walk(r.JumpTarget, 0, f, append(stack, chain))
			if t.o&oReturn != 0 {
				rest := a.walk(chain, j+1, f, stack)
				o := t.o&^oReturn | rest.o
				rule := rest.rule
				if t.o&^oReturn != 0 {
					rule = nil
				}
				act = walkResult{o, rule}
			} else {
				act = t
			}
			if m == yes {
				a.memo[key] = act
				return act
			}
			rest := a.walk(chain, j+1, f, stack)
			res = walkResult{act.o | rest.o, nil}
			a.memo[key] = res
			return res
		default:
			continue // log, passthrough, add-*-to-address-list: the walk goes on
		}
		if m == yes {
			res = act
			break
		}
		rest := a.walk(chain, j+1, f, stack)
		res = walkResult{act.o | rest.o, nil}
		break
	}
	a.memo[key] = res
	return res
}

// prop returns a filter property by its RouterOS name.
func prop(r *FilterRule, k string) string {
	switch k {
	case "dst-port":
		return r.DstPort
	case "protocol":
		return r.Protocol
	}
	return r.Other[k]
}

// match says whether r matches all of f, none, or may.
func (a *auditor) match(r *FilterRule, f *flow) tri {
	m := yes
	and := func(t tri) { m = min(m, t) }
	if cs := r.ConnectionState; cs != "" {
		neg := strings.HasPrefix(cs, "!")
		hasNew := slices.Contains(strings.Split(strings.TrimPrefix(cs, "!"), ","), "new")
		if neg == hasNew {
			return no
		}
	}
	and(spanMatch(r.SrcAddress, f.src))
	and(spanMatch(r.DstAddress, f.dst))
	and(a.lists.spanListMatch(r.SrcAddressList, f.src, a.v6))
	and(a.lists.spanListMatch(r.DstAddressList, f.dst, a.v6))
	and(ifaceTri(r.InInterface, f.in))
	and(a.lists.ifaceListTri(r.InInterfaceList, f.in))
	if f.input {
		// The input chain has no out-interface: a matcher on it never
		// matches (and its negation always does).
		for _, v := range []string{r.OutInterface, r.OutInterfaceList} {
			if v != "" && !strings.HasPrefix(v, "!") {
				return no
			}
		}
	} else {
		and(ifaceTri(r.OutInterface, f.out))
		and(a.lists.ifaceListTri(r.OutInterfaceList, f.out))
	}
	if m == no {
		return no
	}
	if p := r.Protocol; p != "" {
		neg := strings.HasPrefix(p, "!")
		t := no
		if f.proto != "" && protoName(strings.TrimPrefix(p, "!")) == f.proto {
			t = yes
		}
		if neg {
			t = t.not()
		}
		and(t)
	}
	for _, k := range []string{"dst-port", "port"} {
		v := prop(r, k)
		if v == "" {
			continue
		}
		if f.plo < 0 {
			and(no)
			continue
		}
		neg := strings.HasPrefix(v, "!")
		t := no
		for _, pr := range parsePorts(strings.TrimPrefix(v, "!")) {
			if pr[0] <= f.plo && f.phi <= pr[1] {
				t = yes
			} else if pr[0] <= f.phi && f.plo <= pr[1] {
				t = max(t, maybe)
			}
		}
		if neg {
			t = t.not()
		}
		if k == "port" && t == no {
			t = maybe // the source port may match instead
		}
		and(t)
	}
	for k, v := range r.Other {
		if v == "" || filterNonMatchers[k] {
			continue
		}
		neg := strings.HasPrefix(v, "!")
		val := strings.TrimPrefix(v, "!")
		var t tri
		switch k {
		case "connection-nat-state":
			// A new connection between the networks was not NATed
			// (destination NAT is another question the audit leaves
			// out; source NAT happens after the filter).
			t = no
		case "ipsec-policy":
			t = no
			if strings.HasSuffix(val, ",none") {
				t = yes
			}
		case "src-address-type":
			t = no
			if slices.Contains(strings.Split(val, ","), "unicast") {
				t = yes
			}
		case "dst-address-type":
			want := "unicast"
			if f.input {
				want = "local"
			}
			t = no
			if slices.Contains(strings.Split(val, ","), want) {
				t = yes
			}
		case "dst-port", "port":
			continue
		default:
			and(maybe)
			continue
		}
		if neg {
			t = t.not()
		}
		and(t)
	}
	return m
}

func spanMatch(rule string, s span) tri {
	if rule == "" {
		return yes
	}
	neg := strings.HasPrefix(rule, "!")
	r, ok := parseSpan(strings.TrimPrefix(rule, "!"))
	if !ok || r.lo.Is4() != s.lo.Is4() {
		return maybe
	}
	t := no
	switch {
	case s.within(r):
		t = yes
	case s.overlaps(r):
		t = maybe
	}
	if neg {
		t = t.not()
	}
	return t
}

func ifaceTri(rule, iface string) tri {
	if rule == "" {
		return yes
	}
	if iface == "" {
		return maybe
	}
	neg := strings.HasPrefix(rule, "!")
	if (strings.TrimPrefix(rule, "!") == iface) != neg {
		return yes
	}
	return no
}

func (l auditLists) ifaceListTri(rule, iface string) tri {
	switch l.match(rule, iface) {
	case matchAll:
		return yes
	case matchNone:
		return no
	}
	return maybe
}

// entries returns an address list's entries, if it was read.
func (l auditLists) entries(name string, v6 bool) []Record {
	if v6 {
		return l.addr6[name]
	}
	return l.addr[name]
}

// spanListMatch matches an address-list matcher against s: enabled static
// entries match for sure; dynamic entries (timeouts, resolved DNS names)
// and DNS name entries may; a list that was not read may.
func (l auditLists) spanListMatch(rule string, s span, v6 bool) tri {
	if rule == "" {
		return yes
	}
	neg := strings.HasPrefix(rule, "!")
	name := strings.TrimPrefix(rule, "!")
	m := l.addr
	if v6 {
		m = l.addr6
	}
	entries, ok := m[name]
	t := no
	if !ok {
		t = maybe
	}
	for _, e := range entries {
		if e.Bool("disabled") || e["address"] == "" {
			continue
		}
		r, ok := parseSpan(e["address"])
		switch {
		case !ok:
			t = max(t, maybe) // a DNS name: whatever it resolves to
		case s.within(r) && !e.Bool("dynamic"):
			t = yes
		case s.overlaps(r):
			t = max(t, maybe)
		}
		if t == yes {
			break
		}
	}
	if neg {
		t = t.not()
	}
	return t
}

// closestDrop is the drop (enabled or not) that matches for sure the
// largest share of the traffic audited.
func (a *auditor) closestDrop(chain string, leaks []flow) *FilterRule {
	var best *FilterRule
	bestW := 0.0
	for i := range a.rules {
		r := &a.rules[i]
		if r.Invalid || !slices.Contains([]string{"drop", "reject", "tarpit"}, r.Action) {
			continue
		}
		if r.Chain != chain && slices.Contains([]string{"forward", "input", "output"}, r.Chain) {
			continue
		}
		w := 0.0
		for j := range leaks {
			if a.match(r, &leaks[j]) == yes {
				w += leaks[j].weight
			}
		}
		if w > bestW {
			best, bestW = r, w
		}
	}
	return best
}

// leaking returns the flows that get through.
func (a *auditor) leaking(flows []flow) []flow {
	var out []flow
	chain := "forward"
	if len(flows) > 0 && flows[0].input {
		chain = "input"
	}
	for i := range flows {
		a.memo = map[[2]int]walkResult{}
		if a.walk(chain, 0, &flows[i], nil).o != oDrop {
			out = append(out, flows[i])
		}
	}
	return out
}

// shortfall says why the closest drop does not isolate.
func (a *auditor) shortfall(r *FilterRule, flows []flow, v chainVerdict) string {
	leaks := a.leaking(flows)
	var why []string
	if r.Disabled {
		why = append(why, "it is disabled")
	}
	if r.Protocol != "" {
		why = append(why, "it covers only protocol "+r.Protocol)
	}
	if r.DstPort != "" {
		why = append(why, "it covers only ports "+r.DstPort)
	}
	for _, x := range []struct{ what, v string }{{"source", r.SrcAddress}, {"destination", r.DstAddress},
		{"source list", r.SrcAddressList}, {"destination list", r.DstAddressList}} {
		if x.v == "" {
			continue
		}
		all := true
		for i := range flows {
			if (x.what == "source" || x.what == "destination") && spanMatch(x.v, pick(x.what, &flows[i])) != yes {
				all = false
			}
			if (x.what == "source list" || x.what == "destination list") &&
				a.lists.spanListMatch(x.v, pick(x.what, &flows[i]), a.v6) != yes {
				all = false
			}
		}
		if !all {
			why = append(why, "it covers only the "+x.what+" "+x.v)
		}
	}
	if !r.Disabled && v.rule != nil && v.rule.Chain == r.Chain && slices.Index(a.chains[r.Chain], v.rule) < slices.Index(a.chains[r.Chain], r) {
		why = append(why, "rule "+ruleName(v.rule)+" accepts first")
	}
	for k, val := range r.Other {
		if val != "" && !filterNonMatchers[k] && k != "connection-nat-state" && k != "ipsec-policy" {
			why = append(why, "its "+k+"="+val+" cannot be checked")
		}
	}
	if len(why) == 0 {
		why = append(why, "it does not cover all of it")
	}
	covered, total := 0.0, 0.0
	for i := range leaks {
		total += leaks[i].weight
		if a.match(r, &leaks[i]) == yes {
			covered += leaks[i].weight
		}
	}
	switch {
	case covered >= total:
		return "rule " + ruleName(r) + " would " + r.Action + " all of it, but " + joinAnd(why)
	case covered == 0:
		return "rule " + ruleName(r) + " " + r.Action + "s only part of the traffic: " + joinAnd(why)
	}
	return "rule " + ruleName(r) + " would " + r.Action + " part of it, but " + joinAnd(why)
}

func pick(what string, f *flow) span {
	if strings.HasPrefix(what, "source") {
		return f.src
	}
	return f.dst
}

// summarizePasses groups leaking flows by protocol and ports.
func summarizePasses(chain string, flows []flow) []Passage {
	type key struct {
		proto    string
		plo, phi int
	}
	srcs, dsts := map[key][]span{}, map[key][]span{}
	var keys []key
	for _, f := range flows {
		k := key{f.proto, f.plo, f.phi}
		if _, ok := srcs[k]; !ok {
			keys = append(keys, k)
		}
		srcs[k] = append(srcs[k], f.src)
		dsts[k] = append(dsts[k], f.dst)
	}
	// Ports of one protocol with the same addresses join; protocols with
	// all ports and the same addresses join.
	type group struct {
		protos []string
		ports  [][2]int
		from   []string
		to     []string
	}
	var groups []*group
	find := func(from, to []string, proto string, ported bool) *group {
		for _, g := range groups {
			if slices.Equal(g.from, from) && slices.Equal(g.to, to) && (!ported || (len(g.protos) == 1 && g.protos[0] == proto)) {
				if ported || len(g.ports) == 0 || (len(g.ports) == 1 && g.ports[0] == [2]int{0, 65535}) {
					return g
				}
			}
		}
		return nil
	}
	for _, k := range keys {
		from, to := spanStrings(mergeSpans(srcs[k])), spanStrings(mergeSpans(dsts[k]))
		name := k.proto
		if name == "" {
			name = "other protocols"
		}
		if k.plo < 0 {
			if g := find(from, to, name, false); g != nil && len(g.ports) == 0 {
				g.protos = append(g.protos, name)
				continue
			}
			groups = append(groups, &group{protos: []string{name}, from: from, to: to})
			continue
		}
		if g := find(from, to, name, true); g != nil {
			if n := len(g.ports); n > 0 && g.ports[n-1][1]+1 == k.plo {
				g.ports[n-1][1] = k.phi
			} else {
				g.ports = append(g.ports, [2]int{k.plo, k.phi})
			}
			continue
		}
		groups = append(groups, &group{protos: []string{name}, ports: [][2]int{{k.plo, k.phi}}, from: from, to: to})
	}
	// Protocols whose ports are all open join the port-less ones.
	var out []Passage
	for _, g := range groups {
		p := Passage{Chain: chain, Protocols: g.protos, From: g.from, To: g.to}
		if len(g.ports) > 0 {
			var ps []string
			for _, pr := range g.ports {
				if pr[0] == pr[1] {
					ps = append(ps, strconv.Itoa(pr[0]))
				} else {
					ps = append(ps, strconv.Itoa(pr[0])+"-"+strconv.Itoa(pr[1]))
				}
			}
			p.Ports = strings.Join(ps, ", ")
			if p.Ports == "0-65535" {
				p.Ports = "all ports"
			}
		}
		if n := len(out); n > 0 && p.Ports == "all ports" && slices.Equal(out[n-1].From, p.From) && slices.Equal(out[n-1].To, p.To) &&
			(out[n-1].Ports == "all ports" || out[n-1].Ports == "") {
			out[n-1].Protocols = append(out[n-1].Protocols, p.Protocols...)
			out[n-1].Ports = "all ports"
			continue
		}
		out = append(out, p)
	}
	// Every protocol with all its ports between the same networks: one line.
	var merged []Passage
	for _, p := range out {
		whole := p.Ports == "" || p.Ports == "all ports"
		if whole {
			if i := slices.IndexFunc(merged, func(m Passage) bool {
				return (m.Ports == "" || m.Ports == "all ports") && slices.Equal(m.From, p.From) && slices.Equal(m.To, p.To)
			}); i >= 0 {
				merged[i].Protocols = append(merged[i].Protocols, p.Protocols...)
				merged[i].Ports = "all ports"
				continue
			}
		}
		merged = append(merged, p)
	}
	out = merged
	for i := range out {
		// "other protocols" reads best last.
		ps := out[i].Protocols
		if j := slices.Index(ps, "other protocols"); j >= 0 && j != len(ps)-1 {
			ps = append(slices.Delete(ps, j, j+1), "other protocols")
			out[i].Protocols = ps
		}
		if out[i].Ports == "all ports" && !slices.ContainsFunc(out[i].Protocols, func(p string) bool { return slices.Contains(portProtocols, p) }) {
			out[i].Ports = ""
		}
	}
	return out
}

// summarizeServices lists the services leaking input flows reach.
func summarizeServices(chain string, flows []flow, rules map[int]*FilterRule, services []Record) []ServiceExposure {
	bySvc := map[int][]span{}
	rule := map[int]*FilterRule{}
	var order []int
	for i, f := range flows {
		if _, ok := bySvc[f.service]; !ok {
			order = append(order, f.service)
			rule[f.service] = rules[i]
		}
		bySvc[f.service] = append(bySvc[f.service], f.src)
		if rules[i] != rule[f.service] {
			rule[f.service] = nil
		}
	}
	var out []ServiceExposure
	for _, si := range order {
		port, _ := strconv.Atoi(services[si]["port"])
		out = append(out, ServiceExposure{Chain: chain, Name: services[si]["name"], Port: port,
			From: spanStrings(mergeSpans(bySvc[si])), Rule: rule[si]})
	}
	return out
}

// auditLists is what the audit knows of /interface/list membership and of
// the address lists the rules name; the zero value knows nothing.
type auditLists struct {
	known   bool
	members map[string]map[string]bool // list → interfaces, enabled members only
	opaque  map[string]bool            // lists built with include/exclude
	addr    map[string][]Record        // address list → its entries, if read
	addr6   map[string][]Record        // the same for /ipv6/firewall/address-list
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

// auditForward audits the IPv4 forward chain alone (from → to): the pure
// core of AuditIsolation's forward verdict.
func auditForward(rules []FilterRule, from, to netip.Prefix, inIface, outIface string, lists auditLists) (bool, *FilterRule, string) {
	if !from.IsValid() || !to.IsValid() {
		return false, nil, "both networks are required"
	}
	v := newAuditor("ip forward", rules, lists, false).forward(from.Masked(), to.Masked(), inIface, outIface)
	return v.isolated, v.rule, v.reason
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
