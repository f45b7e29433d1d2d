package routeros

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/routeros/routerostest"
)

// addRules adds filter rules (RouterOS words after the command) through the
// fake's direct entry point.
func addRules(t *testing.T, srv *routerostest.Server, menu string, rules ...[]string) {
	t.Helper()
	for _, r := range rules {
		out, err := srv.Run(append([]string{menu + "/add"}, r...)...)
		require.NoError(t, err, "%v: %v", r, out)
	}
}

// TestAuditInputChainInSeededLab: with the rule that keeps guests off the
// router disabled (the lab as issue 13 found it), a guest reaches the
// router's API, WinBox and SSH, and the audit says so.
func TestAuditInputChainInSeededLab(t *testing.T) {
	t.Parallel()
	guest, lan := mustPrefix(routerostest.LabGuest), mustPrefix(routerostest.LabLAN)
	srv, c := lab(t)
	rep, err := c.Firewall.AuditIsolation(t.Context(), guest, lan)
	require.NoError(t, err)
	assert.True(t, rep.Isolated, rep.Reason)
	assert.Equal(t, []string{"ip forward", "ip input"}, rep.Chains)
	assert.Empty(t, rep.Services)

	_, err = srv.Run("/ip/firewall/filter/disable", "=.id="+ruleID(t, srv, routerostest.LabGuestInputRule))
	require.NoError(t, err)
	rep, err = c.Firewall.AuditIsolation(t.Context(), guest, lan)
	require.NoError(t, err)
	assert.False(t, rep.Isolated, "the forward drop alone is not isolation")
	require.NotNil(t, rep.Rule)
	assert.Equal(t, routerostest.LabGuestRule, rep.Rule.Comment, "the forward chain is still decided by its drop")
	var names []string
	for _, s := range rep.Services {
		names = append(names, s.Name)
		assert.Equal(t, []string{routerostest.LabGuest}, s.From)
		assert.Nil(t, s.Rule, "no rule accepts: nothing drops it")
	}
	assert.Equal(t, []string{"telnet", "ftp", "www", "ssh", "api", "winbox", "api-ssl"}, names, "www-ssl is disabled")
	assert.Contains(t, rep.Reason, "ip input: 10.1.1.0/24 can reach the router's services; telnet (tcp 23), ftp (tcp 21), www (tcp 80), "+
		"ssh (tcp 22), api (tcp 8728), winbox (tcp 8291) and api-ssl (tcp 8729) from 10.1.1.0/24: no input rule drops them")
	require.NotNil(t, rep.Closest)
	assert.Equal(t, routerostest.LabGuestInputRule, rep.Closest.Comment)
	assert.Contains(t, rep.Reason, "would drop all of it, but it is disabled")

	// A service closed to the guest network by its own address list, or
	// disabled, is not reachable.
	_, err = srv.Run("/ip/service/set", "=numbers=api", "=address=192.168.1.0/24")
	require.NoError(t, err)
	_, err = srv.Run("/ip/service/set", "=numbers=telnet", "=disabled=yes")
	require.NoError(t, err)
	rep, err = c.Firewall.AuditIsolation(t.Context(), guest, lan)
	require.NoError(t, err)
	names = nil
	for _, s := range rep.Services {
		names = append(names, s.Name)
	}
	assert.Equal(t, []string{"ftp", "www", "ssh", "winbox", "api-ssl"}, names)

	// A dynamic row (RouterOS 7.19 lists connections there) is no service.
	v := newAuditor("ip input", nil, auditLists{}, false).input(guest, "bridge-guest",
		[]netip.Addr{netip.MustParseAddr("10.1.1.1")}, []Record{{"name": "ssh", "port": "22"}, {"name": "ssh", "port": "22", "dynamic": "true"}})
	require.Len(t, v.services, 1)
}

func TestAuditIPv6WhereTheGuestHasIt(t *testing.T) {
	t.Parallel()
	guest, lan := mustPrefix(routerostest.LabGuest), mustPrefix(routerostest.LabLAN)
	srv, c := lab(t)
	addRules(t, srv, "/ipv6/address",
		[]string{"=address=2001:db8:0:10::1/64", "=interface=bridge-guest"},
		[]string{"=address=2001:db8:0:1::1/64", "=interface=bridge-lan"})
	rep, err := c.Firewall.AuditIsolation(t.Context(), guest, lan)
	require.NoError(t, err)
	assert.Equal(t, []string{"ip forward", "ip input", "ipv6 forward", "ipv6 input"}, rep.Chains)
	assert.False(t, rep.Isolated, "no IPv6 rule: the guest reaches the LAN over IPv6")
	require.NotEmpty(t, rep.Passes)
	assert.Equal(t, "ipv6 forward: tcp, udp, icmpv6 and other protocols from 2001:db8:0:10::/64 to 2001:db8:0:1::/64", rep.Passes[0].String())
	assert.NotEmpty(t, rep.Services, "and the router's services over IPv6")

	addRules(t, srv, "/ipv6/firewall/filter",
		[]string{"=chain=forward", "=action=drop", "=in-interface=bridge-guest", "=out-interface=bridge-lan", "=comment=guest6"},
		[]string{"=chain=input", "=action=drop", "=in-interface=bridge-guest", "=comment=guest6 to router"})
	rep, err = c.Firewall.AuditIsolation(t.Context(), guest, lan)
	require.NoError(t, err)
	assert.True(t, rep.Isolated, rep.Reason)
	assert.Equal(t, routerostest.LabGuestRule, rep.Rule.Comment, "Rule is the IPv4 forward decision")
}

func TestAuditCoverageAddsUp(t *testing.T) {
	t.Parallel()
	guest, lan := mustPrefix("10.1.1.0/24"), mustPrefix("192.168.1.0/24")
	halves := auditLists{addr: map[string][]Record{
		"lo": {{"address": "10.1.1.0/25"}}, "hi": {{"address": "10.1.1.128-10.1.1.255"}},
		"both": {{"address": "10.1.1.0/25"}, {"address": "10.1.1.128/25"}},
	}}
	for _, tc := range []struct {
		name     string
		rules    []FilterRule
		isolated bool
		n        int // rules named as deciding together
	}{
		{"two halves of the network", []FilterRule{{Chain: "forward", Action: "drop", SrcAddress: "10.1.1.0/25"},
			{Chain: "forward", Action: "drop", SrcAddress: "10.1.1.128/25"}, {Chain: "forward", Action: "accept"}}, true, 2},
		{"tcp and not tcp", []FilterRule{{Chain: "forward", Action: "drop", Protocol: "tcp"},
			{Chain: "forward", Action: "drop", Protocol: "!tcp"}, {Chain: "forward", Action: "accept"}}, true, 2},
		{"two address-list entries", []FilterRule{{Chain: "forward", Action: "drop", SrcAddressList: "both"}}, true, 0},
		{"two lists", []FilterRule{{Chain: "forward", Action: "drop", SrcAddressList: "lo"},
			{Chain: "forward", Action: "reject", SrcAddressList: "hi"}, {Chain: "forward", Action: "accept"}}, true, 2},
		{"ports split over rules", []FilterRule{{Chain: "forward", Action: "drop", Protocol: "tcp", DstPort: "0-1023"},
			{Chain: "forward", Action: "drop", Protocol: "tcp", DstPort: "1024-65535"}, {Chain: "forward", Action: "drop", Protocol: "!tcp"}}, true, 3},
		{"a gap in the ports leaks", []FilterRule{{Chain: "forward", Action: "drop", Protocol: "tcp", DstPort: "0-1023"},
			{Chain: "forward", Action: "drop", Protocol: "tcp", DstPort: "1025-65535"}, {Chain: "forward", Action: "drop", Protocol: "!tcp"}}, false, 0},
		{"a jump to an empty chain returns", []FilterRule{{Chain: "forward", Action: "jump", JumpTarget: "empty"},
			{Chain: "forward", Action: "drop"}}, true, 0},
		{"a jump to a chain of disabled rules returns", []FilterRule{{Chain: "forward", Action: "jump", JumpTarget: "off"},
			{Chain: "off", Action: "accept", Disabled: true}, {Chain: "forward", Action: "drop"}}, true, 0},
		{"halves, one too late", []FilterRule{{Chain: "forward", Action: "drop", SrcAddress: "10.1.1.0/25"},
			{Chain: "forward", Action: "accept", SrcAddress: "10.1.1.200"}, {Chain: "forward", Action: "drop", SrcAddress: "10.1.1.128/25"}}, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := newAuditor("ip forward", tc.rules, halves, false).forward(guest, lan, "bridge-guest", "bridge-lan")
			assert.Equal(t, tc.isolated, v.isolated, v.reason)
			if tc.n > 0 {
				assert.Len(t, v.rules, tc.n, v.reason)
				assert.Contains(t, v.reason, "together drop all traffic")
			}
		})
	}

	t.Run("a gap names what passes and the closest drop", func(t *testing.T) {
		rules := []FilterRule{{ID: "*1", Chain: "forward", Action: "drop", Protocol: "tcp", Comment: "tcp only"}, {ID: "*2", Chain: "forward", Action: "accept"}}
		v := newAuditor("ip forward", rules, auditLists{}, false).forward(guest, lan, "bridge-guest", "bridge-lan")
		require.False(t, v.isolated)
		require.Len(t, v.passes, 1)
		assert.Equal(t, "ip forward: udp, icmp and other protocols from 10.1.1.0/24 to 192.168.1.0/24", v.passes[0].String())
		require.NotNil(t, v.closest)
		assert.Equal(t, "tcp only", v.closest.Comment)
		assert.Contains(t, v.reason, "rule *2 accepts traffic")
		assert.Contains(t, v.reason, "it covers only protocol tcp")

		rules = []FilterRule{{ID: "*1", Chain: "forward", Action: "drop", SrcAddress: "10.1.1.0/25", Comment: "half"}}
		v = newAuditor("ip forward", rules, auditLists{}, false).forward(guest, lan, "bridge-guest", "bridge-lan")
		require.False(t, v.isolated)
		assert.Equal(t, []string{"10.1.1.128/25"}, v.passes[0].From)
		assert.Contains(t, v.reason, "it covers only the source 10.1.1.0/25")
		assert.Contains(t, v.reason, "the default policy accepts")

		rules = []FilterRule{{ID: "*1", Chain: "forward", Action: "accept", Protocol: "tcp", DstPort: "22,8291"}, {ID: "*2", Chain: "forward", Action: "drop"}}
		v = newAuditor("ip forward", rules, auditLists{}, false).forward(guest, lan, "bridge-guest", "bridge-lan")
		require.False(t, v.isolated)
		assert.Equal(t, "ip forward: tcp ports 22, 8291 from 10.1.1.0/24 to 192.168.1.0/24", v.passes[0].String())
	})
}

// defconf is the default firewall of RouterOS 7 as `/system
// default-configuration print` shows it on a hAP ax² (MikroTik docs,
// "Default configurations" → AP Router, configuration preview; the rule
// text as in MikroTik's exports of 7.x, where the IPv6 traceroute rule uses
// dst-port since 7.14).
var defconf4 = [][]string{
	{"=chain=input", "=action=accept", "=connection-state=established,related,untracked", "=comment=defconf: accept established,related,untracked"},
	{"=chain=input", "=action=drop", "=connection-state=invalid", "=comment=defconf: drop invalid"},
	{"=chain=input", "=action=accept", "=protocol=icmp", "=comment=defconf: accept ICMP"},
	{"=chain=input", "=action=accept", "=dst-address=127.0.0.1", "=comment=defconf: accept to local loopback (for CAPsMAN)"},
	{"=chain=input", "=action=drop", "=in-interface-list=!LAN", "=comment=defconf: drop all not coming from LAN"},
	{"=chain=forward", "=action=accept", "=ipsec-policy=in,ipsec", "=comment=defconf: accept in ipsec policy"},
	{"=chain=forward", "=action=accept", "=ipsec-policy=out,ipsec", "=comment=defconf: accept out ipsec policy"},
	{"=chain=forward", "=action=fasttrack-connection", "=connection-state=established,related", "=hw-offload=yes", "=comment=defconf: fasttrack"},
	{"=chain=forward", "=action=accept", "=connection-state=established,related,untracked", "=comment=defconf: accept established,related, untracked"},
	{"=chain=forward", "=action=drop", "=connection-state=invalid", "=comment=defconf: drop invalid"},
	{"=chain=forward", "=action=drop", "=connection-state=new", "=connection-nat-state=!dstnat", "=in-interface-list=WAN", "=comment=defconf: drop all from WAN not DSTNATed"},
}

var defconf6List = []string{"::/128", "::1/128", "fec0::/10", "::ffff:0.0.0.0/96", "::/96", "100::/64", "2001:db8::/32",
	"2001:10::/28", "3ffe::/16", "::224.0.0.0/100", "::127.0.0.0/104", "::/104", "::255.0.0.0/104"}

var defconf6 = [][]string{
	{"=chain=input", "=action=accept", "=connection-state=established,related,untracked", "=comment=defconf: accept established,related,untracked"},
	{"=chain=input", "=action=drop", "=connection-state=invalid", "=comment=defconf: drop invalid"},
	{"=chain=input", "=action=accept", "=protocol=icmpv6", "=comment=defconf: accept ICMPv6"},
	{"=chain=input", "=action=accept", "=protocol=udp", "=dst-port=33434-33534", "=comment=defconf: accept UDP traceroute"},
	{"=chain=input", "=action=accept", "=protocol=udp", "=dst-port=546", "=src-address=fe80::/10", "=comment=defconf: accept DHCPv6-Client prefix delegation."},
	{"=chain=input", "=action=accept", "=protocol=udp", "=dst-port=500,4500", "=comment=defconf: accept IKE"},
	{"=chain=input", "=action=accept", "=protocol=ipsec-ah", "=comment=defconf: accept ipsec AH"},
	{"=chain=input", "=action=accept", "=protocol=ipsec-esp", "=comment=defconf: accept ipsec ESP"},
	{"=chain=input", "=action=accept", "=ipsec-policy=in,ipsec", "=comment=defconf: accept all that matches ipsec policy"},
	{"=chain=input", "=action=drop", "=in-interface-list=!LAN", "=comment=defconf: drop everything else not coming from LAN"},
	{"=chain=forward", "=action=accept", "=connection-state=established,related,untracked", "=comment=defconf: accept established,related,untracked"},
	{"=chain=forward", "=action=drop", "=connection-state=invalid", "=comment=defconf: drop invalid"},
	{"=chain=forward", "=action=drop", "=src-address-list=bad_ipv6", "=comment=defconf: drop packets with bad src ipv6"},
	{"=chain=forward", "=action=drop", "=dst-address-list=bad_ipv6", "=comment=defconf: drop packets with bad dst ipv6"},
	{"=chain=forward", "=action=drop", "=protocol=icmpv6", "=hop-limit=equal:1", "=comment=defconf: rfc4890 drop hop-limit=1"},
	{"=chain=forward", "=action=accept", "=protocol=icmpv6", "=comment=defconf: accept ICMPv6"},
	{"=chain=forward", "=action=accept", "=protocol=139", "=comment=defconf: accept HIP"},
	{"=chain=forward", "=action=accept", "=protocol=udp", "=dst-port=500,4500", "=comment=defconf: accept IKE"},
	{"=chain=forward", "=action=accept", "=protocol=ipsec-ah", "=comment=defconf: accept ipsec AH"},
	{"=chain=forward", "=action=accept", "=protocol=ipsec-esp", "=comment=defconf: accept ipsec ESP"},
	{"=chain=forward", "=action=accept", "=ipsec-policy=in,ipsec", "=comment=defconf: accept all that matches ipsec policy"},
	{"=chain=forward", "=action=drop", "=in-interface-list=!LAN", "=comment=defconf: drop everything else not coming from LAN"},
}

// TestDefconfFirewallAudited loads the whole hAP ax² default firewall
// (IPv4 and IPv6) in place of the lab's, and audits it: defconf does not
// isolate a guest network that is in the LAN list — the default forward
// chain only stops the WAN — and the audit says what passes.
func TestDefconfFirewallAudited(t *testing.T) {
	t.Parallel()
	guest, lan := mustPrefix(routerostest.LabGuest), mustPrefix(routerostest.LabLAN)
	srv, c := lab(t)
	out, err := srv.Run("/ip/firewall/filter/print", "=.proplist=.id")
	require.NoError(t, err)
	for _, re := range out[:len(out)-1] {
		_, err := srv.Run("/ip/firewall/filter/remove", re[1])
		require.NoError(t, err)
	}
	addRules(t, srv, "/ip/firewall/filter", defconf4...)
	for _, a := range defconf6List {
		addRules(t, srv, "/ipv6/firewall/address-list", []string{"=list=bad_ipv6", "=address=" + a, "=comment=defconf"})
	}
	addRules(t, srv, "/ipv6/firewall/filter", defconf6...)
	addRules(t, srv, "/ipv6/address",
		[]string{"=address=2001:db8:0:10::1/64", "=interface=bridge-guest"},
		[]string{"=address=2001:db8:0:1::1/64", "=interface=bridge-lan"})
	rules, err := c.Firewall.FilterRules(t.Context())
	require.NoError(t, err)
	require.Len(t, rules, len(defconf4), "the IPv4 defconf loads whole")
	assert.Equal(t, "true", rules[7].Other["hw-offload"])
	assert.Equal(t, "!dstnat", rules[10].Other["connection-nat-state"])

	// The guest bridge is not in the LAN list: defconf drops it at input,
	// but forwards it (defconf's forward chain only drops the WAN).
	rep, err := c.Firewall.AuditIsolation(t.Context(), guest, lan)
	require.NoError(t, err)
	assert.Equal(t, []string{"ip forward", "ip input", "ipv6 forward", "ipv6 input"}, rep.Chains)
	assert.False(t, rep.Isolated)
	assert.Empty(t, rep.Services, "defconf keeps non-LAN interfaces off the router: %s", rep.Reason)
	require.NotEmpty(t, rep.Passes)
	assert.Equal(t, "ip forward: tcp, udp, icmp and other protocols from 10.1.1.0/24 to 192.168.1.0/24", rep.Passes[0].String())
	assert.Contains(t, rep.Reason, "the default policy accepts")
	// IPv6: the drop of everything not from the LAN list stops the guest.
	for _, p := range rep.Passes {
		assert.NotEqual(t, "ipv6 forward", p.Chain, p.String())
	}

	// No defconf drop covers the guest; putting the guest into the WAN
	// list makes defconf isolate it in IPv4 too.
	assert.Nil(t, rep.Closest)
	_, err = srv.Run("/interface/list/member/add", "=list=WAN", "=interface=bridge-guest")
	require.NoError(t, err)
	rep, err = c.Firewall.AuditIsolation(t.Context(), guest, lan)
	require.NoError(t, err)
	assert.True(t, rep.Isolated, rep.Reason)
	assert.Equal(t, "defconf: drop all from WAN not DSTNATed", rep.Rule.Comment)
	assert.True(t, strings.HasPrefix(rep.Reason, "rule "), rep.Reason)
}
