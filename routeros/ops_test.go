package routeros

import (
	"bytes"
	"fmt"
	"image/png"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/skip2/go-qrcode"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/routeros/routerostest"
	"github.com/thehomelab/homelab/secret"
)

func TestSystem(t *testing.T) {
	t.Parallel()
	_, c := lab(t)
	ctx := t.Context()
	r, err := c.System.Resource(ctx)
	require.NoError(t, err)
	assert.Equal(t, "hAP ax^2", r.Board)
	assert.Equal(t, "7.20.5 (stable)", r.Version)
	assert.GreaterOrEqual(t, r.Uptime, 76*time.Hour)
	assert.Equal(t, 7, r.CPULoad)
	assert.Equal(t, 4, r.CPUCount)
	assert.Equal(t, uint64(1073741824), r.TotalMemory)
	assert.Equal(t, uint64(705699840), r.FreeMemory)
	assert.Equal(t, time.Date(2025, 11, 27, 8, 17, 4, 0, time.UTC), r.BuildTime)

	require.NoError(t, c.System.SetIdentity(ctx, "router2"))
	name, err := c.System.Identity(ctx)
	require.NoError(t, err)
	assert.Equal(t, "router2", name)

	clk, err := c.System.Clock(ctx)
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now(), clk.Time, 5*time.Second)
	assert.Equal(t, "UTC", clk.TimeZone)
}

func TestClockOldDateFormat(t *testing.T) {
	t.Parallel()
	_, c := lab(t, routerostest.WithVersion("7.9"))
	clk, err := c.System.Clock(t.Context())
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now(), clk.Time, 5*time.Second)
}

func TestWAN(t *testing.T) {
	t.Parallel()
	_, c := lab(t)
	ctx := t.Context()
	ip, err := c.WAN.PublicIP(ctx, "")
	require.NoError(t, err)
	assert.Equal(t, netip.MustParseAddr(routerostest.LabPublicIP), ip)
	ip, err = c.WAN.PublicIP(ctx, "pppoe-out1")
	require.NoError(t, err)
	assert.Equal(t, routerostest.LabPublicIP, ip.String())
	_, err = c.WAN.PublicIP(ctx, "ether5")
	assert.ErrorIs(t, err, ErrNotFound)

	st, err := c.WAN.PPPoE(ctx, "")
	require.NoError(t, err)
	assert.True(t, st.Connected())
	assert.Equal(t, routerostest.LabPublicIP, st.LocalAddress.String())
	assert.Equal(t, routerostest.LabGateway, st.RemoteAddress.String())
	assert.Equal(t, 1492, st.MTU)
	assert.Positive(t, st.Uptime)
	_, err = c.WAN.PPPoE(ctx, "pppoe-nope")
	assert.ErrorIs(t, err, ErrInvalid)

	cl, err := c.WAN.Cloud(ctx)
	require.NoError(t, err)
	assert.Equal(t, DDNSOn, cl.DDNSEnabled)
	assert.Equal(t, routerostest.LabCloudIP, cl.PublicAddress.String())
	assert.Equal(t, routerostest.LabDNSName, cl.DNSName)
	assert.Equal(t, "updated", cl.Status)
}

func TestAddressesAndRoutes(t *testing.T) {
	t.Parallel()
	_, c := lab(t)
	addrs, err := c.IP.Addresses(t.Context())
	require.NoError(t, err)
	require.Len(t, addrs, 4)
	assert.Equal(t, "192.168.1.1/24", addrs[0].Address.String())
	assert.Equal(t, "192.168.1.0", addrs[0].Network.String())
	assert.Equal(t, "bridge-lan", addrs[0].Interface)
	wan := addrs[3]
	assert.True(t, wan.Dynamic)
	assert.Equal(t, routerostest.LabPublicIP+"/32", wan.Address.String())
	assert.Equal(t, routerostest.LabGateway, wan.Network.String())

	routes, err := c.IP.Routes(t.Context())
	require.NoError(t, err)
	require.Len(t, routes, 4)
	assert.Equal(t, "0.0.0.0/0", routes[0].Dst.String())
	assert.Equal(t, "pppoe-out1", routes[0].Gateway)
	assert.True(t, routes[0].Active)
}

func TestDHCPLeases(t *testing.T) {
	t.Parallel()
	_, c := lab(t)
	ctx := t.Context()
	leases, err := c.DHCP.Leases(ctx)
	require.NoError(t, err)
	require.Len(t, leases, 3)
	laptop := leases[1]
	assert.Equal(t, "laptop", laptop.HostName)
	assert.True(t, laptop.Dynamic)
	assert.Equal(t, "aa:bb:cc:00:00:23", laptop.MAC.String())
	assert.Equal(t, 9*time.Minute+12*time.Second, laptop.ExpiresAfter)

	err = c.DHCP.SetComment(ctx, laptop.ID, "work laptop")
	require.Error(t, err, "dynamic leases cannot be changed")
	require.NoError(t, c.DHCP.MakeStatic(ctx, laptop.ID))
	require.NoError(t, c.DHCP.SetComment(ctx, laptop.ID, "work laptop"))
	leases, err = c.DHCP.Leases(ctx)
	require.NoError(t, err)
	assert.False(t, leases[1].Dynamic)
	assert.Equal(t, "work laptop", leases[1].Comment)

	assert.ErrorIs(t, c.DHCP.MakeStatic(ctx, "*FFFF"), ErrNotFound)
}

func TestAddressList(t *testing.T) {
	t.Parallel()
	_, c := lab(t)
	ctx := t.Context()
	list, err := c.Firewall.AddressList(ctx, "blocklist")
	require.NoError(t, err)
	require.Len(t, list, 2)
	assert.Equal(t, "scanner", list[0].Comment)

	id, err := c.Firewall.AddAddress(ctx, "blocklist", "203.0.113.99/32", AddressOptions{Comment: "x"})
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(id), "*"))
	_, err = c.Firewall.AddAddress(ctx, "blocklist", "203.0.113.99", AddressOptions{})
	assert.ErrorIs(t, err, ErrConflict)
	_, err = c.Firewall.AddAddress(ctx, "temp", "203.0.113.5", AddressOptions{Timeout: time.Hour})
	require.NoError(t, err)
	tmp, err := c.Firewall.AddressList(ctx, "temp")
	require.NoError(t, err)
	require.Len(t, tmp, 1)
	assert.True(t, tmp[0].Dynamic)
	assert.Equal(t, time.Hour, tmp[0].Timeout)

	require.NoError(t, c.Firewall.RemoveAddress(ctx, "blocklist", "203.0.113.99/32"))
	assert.ErrorIs(t, c.Firewall.RemoveAddress(ctx, "blocklist", "203.0.113.99"), ErrNotFound)
}

func TestEnsureAddressList(t *testing.T) {
	t.Parallel()
	srv, c := lab(t)
	ctx := t.Context()
	_, err := c.Firewall.AddAddress(ctx, "blocklist", "192.0.2.1", AddressOptions{Timeout: time.Minute})
	require.NoError(t, err)

	desired := []string{"198.51.100.7", "192.0.2.10/32", "192.0.2.128/25", "192.0.2.10", "192.0.2.1"}
	before := c.roundTrips()
	res, err := c.Firewall.EnsureAddressList(ctx, "blocklist", desired)
	require.NoError(t, err)
	assert.Equal(t, int64(2), c.roundTrips()-before, "read + one pipelined batch")
	assert.Equal(t, []string{"192.0.2.10", "192.0.2.128/25"}, res.Added)
	assert.Equal(t, []string{"198.51.100.0/28"}, res.Removed)

	list, err := c.Firewall.AddressList(ctx, "blocklist")
	require.NoError(t, err)
	var got []string
	for _, e := range list {
		got = append(got, e.Address)
	}
	slices.Sort(got)
	assert.Equal(t, []string{"192.0.2.1", "192.0.2.10", "192.0.2.128/25", "198.51.100.7"}, got, "dynamic entry untouched")

	// Idempotent: a second run reads once and changes nothing.
	n := len(srv.Requests())
	before = c.roundTrips()
	res, err = c.Firewall.EnsureAddressList(ctx, "blocklist", desired)
	require.NoError(t, err)
	assert.False(t, res.Changed())
	assert.Equal(t, int64(1), c.roundTrips()-before)
	assert.Len(t, srv.Requests(), n+1)

	// Emptying a list is one remove command.
	res, err = c.Firewall.EnsureAddressList(ctx, "blocklist", nil)
	require.NoError(t, err)
	assert.Len(t, res.Removed, 3)
	tr := srv.Requests()
	last := tr[len(tr)-1].Words
	assert.Equal(t, "/ip/firewall/address-list/remove", last[0])
}

func TestEnsureAddressListEnablesDisabledEntries(t *testing.T) {
	t.Parallel()
	srv, c := lab(t)
	ctx := t.Context()
	// A disabled entry is not in effect: a sync that wants the address
	// must enable it (the router refuses a second entry for it).
	for _, a := range []string{"10.0.0.5", "10.0.0.6"} {
		_, err := srv.Run("/ip/firewall/address-list/add", "=list=x", "=address="+a, "=disabled=yes")
		require.NoError(t, err)
	}
	before := c.roundTrips()
	res, err := c.Firewall.EnsureAddressList(ctx, "x", []string{"10.0.0.5"})
	require.NoError(t, err)
	assert.Equal(t, int64(2), c.roundTrips()-before)
	assert.Equal(t, []string{"10.0.0.5"}, res.Added, "enabling puts the address in effect")
	assert.Equal(t, []string{"10.0.0.6"}, res.Removed)
	list, err := c.Firewall.AddressList(ctx, "x")
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, "10.0.0.5", list[0].Address)
	assert.False(t, list[0].Disabled)

	res, err = c.Firewall.EnsureAddressList(ctx, "x", []string{"10.0.0.5"})
	require.NoError(t, err)
	assert.False(t, res.Changed(), "second run changes nothing")
}

func TestEnsureAddressListReportsRefusals(t *testing.T) {
	t.Parallel()
	_, c := lab(t)
	res, err := c.Firewall.EnsureAddressList(t.Context(), "x", []string{"10.0.0.1", "not an address"})
	assert.ErrorIs(t, err, ErrInvalid)
	assert.Equal(t, []string{"10.0.0.1"}, res.Added, "only what the router accepted")
	list, err := c.Firewall.AddressList(t.Context(), "x")
	require.NoError(t, err)
	assert.Len(t, list, 1, "the valid entry was still added")
}

func TestFilterRules(t *testing.T) {
	t.Parallel()
	_, c := lab(t)
	rules, err := c.Firewall.FilterRules(t.Context())
	require.NoError(t, err)
	require.Len(t, rules, 9, "seven, and the two that keep guests off the router")
	g := rules[5]
	assert.Equal(t, "forward", g.Chain)
	assert.Equal(t, "drop", g.Action)
	assert.Equal(t, routerostest.LabGuest, g.SrcAddress)
	assert.Equal(t, routerostest.LabLAN, g.DstAddress)
	assert.Equal(t, routerostest.LabGuestRule, g.Comment)
}

func TestAuditIsolation(t *testing.T) {
	t.Parallel()
	guest, lan := mustPrefix(routerostest.LabGuest), mustPrefix(routerostest.LabLAN)

	t.Run("seed lab is isolated", func(t *testing.T) {
		t.Parallel()
		_, c := lab(t)
		rep, err := c.Firewall.AuditIsolation(t.Context(), guest, lan)
		require.NoError(t, err)
		assert.True(t, rep.Isolated, rep.Reason)
		require.NotNil(t, rep.Rule)
		assert.Equal(t, routerostest.LabGuestRule, rep.Rule.Comment)
		// The other direction is not isolated by that rule.
		rep, err = c.Firewall.AuditIsolation(t.Context(), lan, guest)
		require.NoError(t, err)
		assert.False(t, rep.Isolated)
	})
	t.Run("without the drop rule it fails", func(t *testing.T) {
		t.Parallel()
		srv, c := lab(t)
		removeRule(t, srv, routerostest.LabGuestRule)
		rep, err := c.Firewall.AuditIsolation(t.Context(), guest, lan)
		require.NoError(t, err)
		assert.False(t, rep.Isolated)
		require.NotNil(t, rep.Rule)
		assert.Equal(t, "allow forward", rep.Rule.Comment)
	})
	t.Run("disabled drop rule fails", func(t *testing.T) {
		t.Parallel()
		srv, c := lab(t)
		_, err := srv.Run("/ip/firewall/filter/disable", "=.id="+ruleID(t, srv, routerostest.LabGuestRule))
		require.NoError(t, err)
		rep, err := c.Firewall.AuditIsolation(t.Context(), guest, lan)
		require.NoError(t, err)
		assert.False(t, rep.Isolated)
	})
	t.Run("a port opened before the drop leaks", func(t *testing.T) {
		t.Parallel()
		srv, c := lab(t)
		removeRule(t, srv, routerostest.LabGuestRule)
		removeRule(t, srv, "allow forward")
		for _, r := range [][]string{
			{"/ip/firewall/filter/add", "=chain=forward", "=action=accept", "=protocol=tcp", "=dst-port=445", "=src-address=10.1.1.0/24", "=dst-address=192.168.1.10", "=comment=smb for guests"},
			{"/ip/firewall/filter/add", "=chain=forward", "=action=drop", "=in-interface=bridge-guest", "=out-interface=bridge-lan", "=comment=iface drop"},
		} {
			_, err := srv.Run(r...)
			require.NoError(t, err)
		}
		rep, err := c.Firewall.AuditIsolation(t.Context(), guest, lan)
		require.NoError(t, err)
		assert.False(t, rep.Isolated)
		assert.Equal(t, "smb for guests", rep.Rule.Comment)
		assert.Contains(t, rep.Reason, "passing: tcp ports 445 from 10.1.1.0/24 to 192.168.1.10")

		removeRule(t, srv, "smb for guests")
		rep, err = c.Firewall.AuditIsolation(t.Context(), guest, lan)
		require.NoError(t, err)
		assert.True(t, rep.Isolated, "an interface-based drop isolates too")
		assert.Equal(t, "iface drop", rep.Rule.Comment)
	})
	t.Run("rule order: a drop below the accept-all fails", func(t *testing.T) {
		t.Parallel()
		srv, c := lab(t)
		removeRule(t, srv, routerostest.LabGuestRule)
		// add appends, so the drop lands after "allow forward".
		_, err := srv.Run("/ip/firewall/filter/add", "=chain=forward", "=action=drop", "=src-address="+routerostest.LabGuest,
			"=dst-address="+routerostest.LabLAN, "=comment=too late")
		require.NoError(t, err)
		rep, err := c.Firewall.AuditIsolation(t.Context(), guest, lan)
		require.NoError(t, err)
		assert.False(t, rep.Isolated)
		require.NotNil(t, rep.Rule)
		assert.Equal(t, "allow forward", rep.Rule.Comment)
	})
	t.Run("custom chains are followed", func(t *testing.T) {
		t.Parallel()
		srv, c := lab(t)
		removeRule(t, srv, routerostest.LabGuestRule)
		id := ruleID(t, srv, "allow forward")
		for _, r := range [][]string{
			{"/ip/firewall/filter/add", "=chain=forward", "=action=jump", "=jump-target=guest-in", "=in-interface=bridge-guest", "=comment=to guest chain", "=place-before=" + id},
			{"/ip/firewall/filter/add", "=chain=guest-in", "=action=drop", "=dst-address=" + routerostest.LabLAN, "=comment=guest chain drop"},
		} {
			_, err := srv.Run(r...)
			require.NoError(t, err)
		}
		rep, err := c.Firewall.AuditIsolation(t.Context(), guest, lan)
		require.NoError(t, err)
		assert.True(t, rep.Isolated, rep.Reason)
		require.NotNil(t, rep.Rule)
		assert.Equal(t, "guest chain drop", rep.Rule.Comment)

		// An accept for one port ahead of the drop in the custom chain leaks.
		_, err = srv.Run("/ip/firewall/filter/add", "=chain=guest-in", "=action=accept", "=protocol=tcp", "=dst-port=80",
			"=comment=guest web", "=place-before="+ruleID(t, srv, "guest chain drop"))
		require.NoError(t, err)
		rep, err = c.Firewall.AuditIsolation(t.Context(), guest, lan)
		require.NoError(t, err)
		assert.False(t, rep.Isolated)
		assert.Equal(t, "guest web", rep.Rule.Comment)
	})
}

func ruleID(t *testing.T, srv *routerostest.Server, comment string) string {
	t.Helper()
	r, err := srv.Run("/ip/firewall/filter/print", "?comment="+comment, "=.proplist=.id")
	require.NoError(t, err)
	require.Equal(t, "!re", r[0][0])
	return strings.TrimPrefix(r[0][1], "=.id=")
}

func removeRule(t *testing.T, srv *routerostest.Server, comment string) {
	t.Helper()
	_, err := srv.Run("/ip/firewall/filter/remove", "=.id="+ruleID(t, srv, comment))
	require.NoError(t, err)
}

func TestAuditForwardPure(t *testing.T) {
	t.Parallel()
	guest, lan := mustPrefix("10.1.1.0/24"), mustPrefix("192.168.1.0/24")
	for _, tc := range []struct {
		name     string
		rules    []FilterRule
		isolated bool
	}{
		{"no rules", nil, false},
		{"drop all forward", []FilterRule{{Chain: "forward", Action: "drop"}}, true},
		{"established only accept is skipped", []FilterRule{{Chain: "forward", Action: "accept", ConnectionState: "established,related"}, {Chain: "forward", Action: "drop", SrcAddress: "10.0.0.0/8"}}, true},
		{"drop of part of the guest net", []FilterRule{{Chain: "forward", Action: "drop", SrcAddress: "10.1.1.0/25", DstAddress: "192.168.1.0/24"}}, false},
		{"drop of a wider net", []FilterRule{{Chain: "forward", Action: "reject", SrcAddress: "10.0.0.0/8", DstAddress: "192.168.0.0/16"}}, true},
		{"negated source", []FilterRule{{Chain: "forward", Action: "drop", SrcAddress: "!192.168.1.0/24", DstAddress: "192.168.1.0/24"}}, true},
		{"input chain does not count", []FilterRule{{Chain: "input", Action: "drop"}}, false},
		{"drop new only", []FilterRule{{Chain: "forward", Action: "drop", ConnectionState: "new"}}, true},
		{"unrelated accept", []FilterRule{{Chain: "forward", Action: "accept", SrcAddress: "192.168.100.0/24"}, {Chain: "forward", Action: "drop"}}, true},
		{"address-list accept leaks", []FilterRule{{Chain: "forward", Action: "accept", SrcAddressList: "vip"}, {Chain: "forward", Action: "drop"}}, false},
		{"wrong in-interface drop", []FilterRule{{Chain: "forward", Action: "drop", InInterface: "bridge-lan"}}, false},
		// RouterOS prints log and log-prefix on every rule: not matchers.
		{"log fields do not make a drop partial", []FilterRule{{Chain: "forward", Action: "drop", SrcAddress: "10.1.1.0/24",
			Other: map[string]string{"log": "false", "log-prefix": "", "src-port": ""}}}, true},
		{"an unmodelled matcher makes a drop partial", []FilterRule{{Chain: "forward", Action: "drop",
			Other: map[string]string{"packet-mark": "guest"}}}, false},
		// connection-nat-state is modelled (issue 13): a new connection
		// between the networks is not dst-NATed.
		{"a drop of what is not dst-NATed isolates", []FilterRule{{Chain: "forward", Action: "drop",
			Other: map[string]string{"connection-nat-state": "!dstnat"}}}, true},
		{"drop after a full accept", []FilterRule{{Chain: "forward", Action: "accept"}, {Chain: "forward", Action: "drop", SrcAddress: "10.1.1.0/24"}}, false},
		{"jump to a chain that drops", []FilterRule{{Chain: "forward", Action: "jump", JumpTarget: "guest", InInterface: "bridge-guest"},
			{Chain: "guest", Action: "drop", DstAddress: "192.168.1.0/24"}, {Chain: "forward", Action: "accept"}}, true},
		{"partial jump to a chain that accepts leaks", []FilterRule{{Chain: "forward", Action: "jump", JumpTarget: "svc", Protocol: "tcp"},
			{Chain: "svc", Action: "accept", DstPort: "445"}, {Chain: "forward", Action: "drop"}}, false},
		{"partial jump to a chain that drops all does not isolate", []FilterRule{{Chain: "forward", Action: "jump", JumpTarget: "svc", Protocol: "tcp"},
			{Chain: "svc", Action: "drop"}, {Chain: "forward", Action: "accept"}}, false},
		{"chain falling through returns to the caller", []FilterRule{{Chain: "forward", Action: "jump", JumpTarget: "noop"},
			{Chain: "noop", Action: "accept", SrcAddress: "172.16.0.0/12"}, {Chain: "forward", Action: "drop"}}, true},
		{"partial return escapes a later drop", []FilterRule{{Chain: "forward", Action: "jump", JumpTarget: "c"},
			{Chain: "c", Action: "return", Protocol: "udp"}, {Chain: "c", Action: "drop"}, {Chain: "forward", Action: "accept"}}, false},
		{"full return then drop in forward", []FilterRule{{Chain: "forward", Action: "jump", JumpTarget: "c"},
			{Chain: "c", Action: "return"}, {Chain: "c", Action: "accept"}, {Chain: "forward", Action: "drop"}}, true},
		{"jump loop is not followed forever", []FilterRule{{Chain: "forward", Action: "jump", JumpTarget: "a"},
			{Chain: "a", Action: "jump", JumpTarget: "b"}, {Chain: "b", Action: "jump", JumpTarget: "a"}, {Chain: "forward", Action: "drop"}}, false},
		{"disabled jump is skipped", []FilterRule{{Chain: "forward", Action: "jump", JumpTarget: "c", Disabled: true},
			{Chain: "c", Action: "accept"}, {Chain: "forward", Action: "drop"}}, true},
		{"accept by an in-interface list leaks (lists are not resolved)", []FilterRule{{Chain: "forward", Action: "accept", InInterfaceList: "LAN"},
			{Chain: "forward", Action: "drop"}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, _, reason := auditForward(tc.rules, guest, lan, "bridge-guest", "bridge-lan", auditLists{})
			assert.Equal(t, tc.isolated, got, reason)
		})
	}
}

func TestAuditInterfaceLists(t *testing.T) {
	t.Parallel()
	guest, lan := mustPrefix("10.1.1.0/24"), mustPrefix("192.168.1.0/24")
	lists := resolveLists(
		[]Record{{"name": "LAN"}, {"name": "WAN"}, {"name": "GUEST"}, {"name": "INNER", "include": "LAN,GUEST"}},
		[]Record{{"list": "LAN", "interface": "bridge-lan"}, {"list": "WAN", "interface": "pppoe-out1"},
			{"list": "GUEST", "interface": "bridge-guest"}, {"list": "WAN", "interface": "bridge-guest", "disabled": "true"}})
	for _, tc := range []struct {
		name     string
		rules    []FilterRule
		isolated bool
	}{
		{"drop guest list to lan list", []FilterRule{{Chain: "forward", Action: "drop", InInterfaceList: "GUEST", OutInterfaceList: "LAN"}}, true},
		{"accept from lan list does not cover the guest", []FilterRule{{Chain: "forward", Action: "accept", InInterfaceList: "LAN"},
			{Chain: "forward", Action: "drop", InInterface: "bridge-guest"}}, true},
		{"accept from not-wan covers the guest", []FilterRule{{Chain: "forward", Action: "accept", InInterfaceList: "!WAN"},
			{Chain: "forward", Action: "drop"}}, false},
		{"disabled member does not count", []FilterRule{{Chain: "forward", Action: "accept", InInterfaceList: "WAN"},
			{Chain: "forward", Action: "drop"}}, true},
		{"drop from wan list does not isolate the guest", []FilterRule{{Chain: "forward", Action: "drop", InInterfaceList: "WAN"}}, false},
		{"a list built with include is not resolved", []FilterRule{{Chain: "forward", Action: "drop", InInterfaceList: "INNER"}}, false},
		{"built-in all", []FilterRule{{Chain: "forward", Action: "drop", InInterfaceList: "all", OutInterfaceList: "!none"}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, _, reason := auditForward(tc.rules, guest, lan, "bridge-guest", "bridge-lan", lists)
			assert.Equal(t, tc.isolated, got, reason)
		})
	}

	t.Run("against the fake", func(t *testing.T) {
		t.Parallel()
		srv, c := lab(t)
		removeRule(t, srv, routerostest.LabGuestRule)
		allow := ruleID(t, srv, "allow forward")
		for _, r := range [][]string{
			{"/ip/firewall/filter/add", "=chain=forward", "=action=accept", "=in-interface-list=LAN", "=comment=lan out", "=place-before=" + allow},
			{"/ip/firewall/filter/add", "=chain=forward", "=action=drop", "=in-interface=bridge-guest", "=out-interface-list=LAN", "=comment=guest to lan", "=place-before=" + allow},
		} {
			_, err := srv.Run(r...)
			require.NoError(t, err)
		}
		before := c.roundTrips()
		rep, err := c.Firewall.AuditIsolation(t.Context(), guest, lan)
		require.NoError(t, err)
		assert.Equal(t, int64(2), c.roundTrips()-before, "rules and lists, then the address list the rules name")
		assert.True(t, rep.Isolated, rep.Reason)
		assert.Equal(t, "guest to lan", rep.Rule.Comment)

		// Put the guest bridge into the LAN list: the accept now covers it.
		_, err = srv.Run("/interface/list/member/add", "=list=LAN", "=interface=bridge-guest")
		require.NoError(t, err)
		rep, err = c.Firewall.AuditIsolation(t.Context(), guest, lan)
		require.NoError(t, err)
		assert.False(t, rep.Isolated)
		assert.Equal(t, "lan out", rep.Rule.Comment)
	})
}

func TestAuditAddressLists(t *testing.T) {
	t.Parallel()
	guest, lan := mustPrefix("10.1.1.0/24"), mustPrefix("192.168.1.0/24")
	t.Run("zero prefixes are refused, matchers never panic", func(t *testing.T) {
		_, c := lab(t)
		_, err := c.Firewall.AuditIsolation(t.Context(), netip.Prefix{}, lan)
		assert.ErrorIs(t, err, ErrInvalid)
		assert.Equal(t, matchSome, addrMatch("10.0.0.1-10.0.0.9", netip.Prefix{}))
		assert.False(t, prefixLast(netip.Prefix{}).IsValid())
		assert.Equal(t, "10.1.1.255", prefixLast(guest).String())
		assert.Equal(t, "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", prefixLast(mustPrefix("2001:db8::/32")).String())
	})
	lists := auditLists{addr: map[string][]Record{
		"vip":        {{"address": "192.168.1.50"}, {"address": "10.1.1.7", "disabled": "true"}},
		"vip-guest":  {{"address": "192.168.1.50"}, {"address": "10.1.1.7"}},
		"guests":     {{"address": "10.1.1.0/24"}},
		"guest-rng":  {{"address": "10.1.1.0-10.1.1.255"}},
		"guest-half": {{"address": "10.1.1.0-10.1.1.127"}},
		"temp":       {{"address": "10.0.0.0/8", "dynamic": "true"}},
		"lan":        {{"address": "192.168.0.0/16"}},
		"dns":        {{"address": "guest.example.net"}},
	}}
	for _, tc := range []struct {
		name     string
		rules    []FilterRule
		isolated bool
	}{
		{"accept for a list without guests is skipped", []FilterRule{{Chain: "forward", Action: "accept", SrcAddressList: "vip"},
			{Chain: "forward", Action: "drop", SrcAddress: "10.1.1.0/24"}}, true},
		{"accept for a list holding a guest leaks", []FilterRule{{Chain: "forward", Action: "accept", SrcAddressList: "vip-guest"},
			{Chain: "forward", Action: "drop"}}, false},
		{"drop by lists covering both networks", []FilterRule{{Chain: "forward", Action: "drop", SrcAddressList: "guests", DstAddressList: "lan"}}, true},
		{"drop by a range covering the network", []FilterRule{{Chain: "forward", Action: "drop", SrcAddressList: "guest-rng", DstAddressList: "lan"}}, true},
		{"drop by a range covering half", []FilterRule{{Chain: "forward", Action: "drop", SrcAddressList: "guest-half"}}, false},
		{"drop by a dynamic entry does not last", []FilterRule{{Chain: "forward", Action: "drop", SrcAddressList: "temp"}}, false},
		{"a DNS name entry is unknown", []FilterRule{{Chain: "forward", Action: "accept", SrcAddressList: "dns"}, {Chain: "forward", Action: "drop"}}, false},
		{"an unread list is unknown", []FilterRule{{Chain: "forward", Action: "accept", SrcAddressList: "unread"}, {Chain: "forward", Action: "drop"}}, false},
		{"negated list", []FilterRule{{Chain: "forward", Action: "drop", SrcAddressList: "!vip"}}, true},
		{"drop by an address range", []FilterRule{{Chain: "forward", Action: "drop", SrcAddress: "10.1.0.0-10.1.255.255"}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, _, reason := auditForward(tc.rules, guest, lan, "bridge-guest", "bridge-lan", lists)
			assert.Equal(t, tc.isolated, got, reason)
		})
	}

	t.Run("against the fake", func(t *testing.T) {
		t.Parallel()
		srv, c := lab(t)
		removeRule(t, srv, routerostest.LabGuestRule)
		allow := ruleID(t, srv, "allow forward")
		for _, r := range [][]string{
			{"/ip/firewall/address-list/add", "=list=guest-nets", "=address=" + routerostest.LabGuest},
			{"/ip/firewall/address-list/add", "=list=lan-nets", "=address=" + routerostest.LabLAN},
			{"/ip/firewall/address-list/add", "=list=vip", "=address=192.168.1.50"},
			{"/ip/firewall/filter/add", "=chain=forward", "=action=accept", "=src-address-list=vip", "=comment=vip", "=place-before=" + allow},
			{"/ip/firewall/filter/add", "=chain=forward", "=action=drop", "=src-address-list=guest-nets", "=dst-address-list=lan-nets", "=comment=by lists", "=place-before=" + allow},
		} {
			_, err := srv.Run(r...)
			require.NoError(t, err)
		}
		rep, err := c.Firewall.AuditIsolation(t.Context(), guest, lan)
		require.NoError(t, err)
		assert.True(t, rep.Isolated, rep.Reason)
		assert.Equal(t, "by lists", rep.Rule.Comment)

		// A guest address on the vip list gets through.
		_, err = c.Firewall.AddAddress(t.Context(), "vip", "10.1.1.50", AddressOptions{})
		require.NoError(t, err)
		rep, err = c.Firewall.AuditIsolation(t.Context(), guest, lan)
		require.NoError(t, err)
		assert.False(t, rep.Isolated)
		assert.Equal(t, "vip", rep.Rule.Comment)
	})
}

func TestWireGuardInterfaces(t *testing.T) {
	t.Parallel()
	_, c := lab(t)
	ctx := t.Context()
	ifs, err := c.WireGuard.Interfaces(ctx)
	require.NoError(t, err)
	require.Len(t, ifs, 1)
	want, err := PublicKey(secret.New(routerostest.LabKey("wireguard1 private")))
	require.NoError(t, err)
	assert.Equal(t, want, ifs[0].PublicKey, "router derives the same X25519 public key")
	assert.Equal(t, 13231, ifs[0].ListenPort)

	kp, err := GenerateKeyPair()
	require.NoError(t, err)
	wg2, err := c.WireGuard.CreateInterface(ctx, "wg-lab", InterfaceOptions{ListenPort: 13232, PrivateKey: kp.Private})
	require.NoError(t, err)
	assert.Equal(t, kp.Public, wg2.PublicKey)
	assert.Equal(t, 13232, wg2.ListenPort)
	auto, err := c.WireGuard.CreateInterface(ctx, "wg-auto", InterfaceOptions{})
	require.NoError(t, err)
	assert.True(t, ValidKey(auto.PublicKey))
	_, err = c.WireGuard.CreateInterface(ctx, "wg-auto", InterfaceOptions{})
	assert.ErrorIs(t, err, ErrConflict)
	_, err = c.WireGuard.Interface(ctx, "wg-none")
	assert.ErrorIs(t, err, ErrNotFound)
}

func TestWireGuardPeers(t *testing.T) {
	t.Parallel()
	_, c := lab(t)
	ctx := t.Context()
	peers, err := c.WireGuard.Peers(ctx, "wireguard1")
	require.NoError(t, err)
	require.Len(t, peers, 2)
	assert.Equal(t, "phone", peers[0].Name)
	assert.True(t, peers[0].Responder)
	assert.Equal(t, []netip.Prefix{mustPrefix("192.168.100.2/32")}, peers[0].AllowedAddress)
	assert.Equal(t, 80*time.Second, peers[0].LastHandshake)

	next, err := c.WireGuard.NextFreeAddress(ctx, "", netip.Prefix{})
	require.NoError(t, err)
	assert.Equal(t, "192.168.100.4", next.String())

	kp, err := GenerateKeyPair()
	require.NoError(t, err)
	psk, err := GeneratePresharedKey()
	require.NoError(t, err)
	spec := PeerSpec{Name: "nas-backup", PublicKey: kp.Public, PresharedKey: psk,
		AllowedAddress: []netip.Prefix{netip.PrefixFrom(next, 32)}, Responder: true, PersistentKeepalive: 25 * time.Second}
	ch, err := c.WireGuard.EnsurePeer(ctx, spec)
	require.NoError(t, err)
	assert.True(t, ch.Action == Created)
	ch2, err := c.WireGuard.EnsurePeer(ctx, spec)
	require.NoError(t, err)
	assert.False(t, ch2.Action == Created)
	assert.Empty(t, changedFields(ch2.Changes), "second run changes nothing")
	assert.Equal(t, ch.Peer.ID, ch2.Peer.ID)
	spec.PersistentKeepalive = 0
	spec.Comment = "backup box"
	ch3, err := c.WireGuard.EnsurePeer(ctx, spec)
	require.NoError(t, err)
	assert.Equal(t, []string{"comment", "persistent-keepalive"}, changedFields(ch3.Changes))

	next, err = c.WireGuard.NextFreeAddress(ctx, "", netip.Prefix{})
	require.NoError(t, err)
	assert.Equal(t, "192.168.100.5", next.String())

	// Overlapping allowed-address is refused by the router.
	kp2, _ := GenerateKeyPair()
	_, err = c.WireGuard.AddPeer(ctx, PeerSpec{PublicKey: kp2.Public, AllowedAddress: []netip.Prefix{mustPrefix("192.168.100.2/32")}})
	assert.ErrorIs(t, err, ErrInvalid)
	_, err = c.WireGuard.AddPeer(ctx, PeerSpec{PublicKey: "short", AllowedAddress: []netip.Prefix{mustPrefix("192.168.100.9/32")}})
	assert.ErrorIs(t, err, ErrInvalid)

	require.NoError(t, c.WireGuard.RemovePeer(ctx, "", "nas-backup"))
	require.NoError(t, c.WireGuard.RemovePeer(ctx, "wireguard1", peers[1].PublicKey))
	assert.ErrorIs(t, c.WireGuard.RemovePeer(ctx, "", "nas-backup"), ErrNotFound)
	peers, err = c.WireGuard.Peers(ctx, "")
	require.NoError(t, err)
	require.Len(t, peers, 1)
	assert.Equal(t, "phone", peers[0].Name)
}

func TestWireGuardFieldNamesByVersion(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		version, want, absent string
	}{
		{"7.20.5", "=responder=yes", "=is-responder="},
		{"7.16", "=is-responder=yes", "=responder="},
		{"7.14", "=comment=p", "=name="},
	} {
		t.Run(tc.version, func(t *testing.T) {
			t.Parallel()
			srv, c := lab(t, routerostest.WithVersion(tc.version))
			kp, err := GenerateKeyPair()
			require.NoError(t, err)
			_, err = c.WireGuard.AddPeer(t.Context(), PeerSpec{Name: "p", PublicKey: kp.Public, Responder: true,
				AllowedAddress: []netip.Prefix{mustPrefix("192.168.100.50/32")}})
			require.NoError(t, err)
			tr := srv.Requests()
			words := strings.Join(tr[len(tr)-1].Words, " ")
			assert.Contains(t, words, tc.want)
			assert.NotContains(t, words, tc.absent)
			peers, err := c.WireGuard.Peers(t.Context(), "")
			require.NoError(t, err)
			assert.Equal(t, "p", peers[len(peers)-1].Name)
		})
	}
}

func TestOnboard(t *testing.T) {
	t.Parallel()
	srv, c := lab(t)
	ctx := t.Context()
	before := c.roundTrips()
	ob, err := c.WireGuard.Onboard(ctx, "tablet", OnboardOptions{})
	require.NoError(t, err)
	assert.LessOrEqual(t, c.roundTrips()-before, int64(3), "survey, version, add")
	assert.Equal(t, "192.168.100.4/32", ob.Address.String())
	assert.Len(t, ob.PublicKey, 44)
	pub, err := PublicKey(ob.PrivateKey)
	require.NoError(t, err)
	assert.Equal(t, ob.PublicKey, pub)

	conf := ob.Config.Reveal()
	ifs, err := c.WireGuard.Interfaces(ctx)
	require.NoError(t, err)
	for _, line := range []string{
		"[Interface]", "PrivateKey = " + ob.PrivateKey.Reveal(), "Address = 192.168.100.4/32", "DNS = 192.168.100.1",
		"[Peer]", "PublicKey = " + ifs[0].PublicKey, "PresharedKey = " + ob.PresharedKey.Reveal(),
		"Endpoint = " + routerostest.LabDNSName + ":13231", "AllowedIPs = 0.0.0.0/0, ::/0", "PersistentKeepalive = 25",
	} {
		assert.Contains(t, conf, line+"\n")
	}
	assert.True(t, bytes.HasPrefix([]byte(ob.QR.Reveal()), []byte("\x89PNG\r\n\x1a\n")))
	// The QR encodes exactly this config (skip2/go-qrcode is deterministic).
	img, err := png.Decode(bytes.NewReader([]byte(ob.QR.Reveal())))
	require.NoError(t, err)
	assert.Equal(t, 512, img.Bounds().Dx())
	want, err := qrcode.Encode(conf, qrcode.Medium, 512)
	require.NoError(t, err)
	assert.Equal(t, want, []byte(ob.QR.Reveal()))

	peers, err := c.WireGuard.Peers(ctx, "wireguard1")
	require.NoError(t, err)
	last := peers[len(peers)-1]
	assert.Equal(t, ob.PublicKey, last.PublicKey)
	assert.Equal(t, "tablet", last.Name)
	assert.True(t, last.Responder)
	assert.True(t, last.HasPresharedKey)
	assert.Equal(t, []netip.Prefix{ob.Address}, last.AllowedAddress)
	// Both ends hold the same preshared key.
	out, err := srv.Run("/interface/wireguard/peers/print", "?public-key="+ob.PublicKey, "=.proplist=preshared-key")
	require.NoError(t, err)
	assert.Equal(t, []string{"!re", "=preshared-key=" + ob.PresharedKey.Reveal()}, out[0])

	ob2, err := c.WireGuard.Onboard(ctx, "tv", OnboardOptions{Endpoint: "vpn.example.net:51820",
		AllowedIPs: []netip.Prefix{mustPrefix("192.168.1.0/24")}, DNS: []netip.Addr{netip.MustParseAddr("192.168.1.1")}})
	require.NoError(t, err)
	assert.Equal(t, "192.168.100.5/32", ob2.Address.String())
	assert.Contains(t, ob2.Config.Reveal(), "Endpoint = vpn.example.net:51820\n")
	assert.Contains(t, ob2.Config.Reveal(), "AllowedIPs = 192.168.1.0/24\n")

	_, err = c.WireGuard.Onboard(ctx, "tablet", OnboardOptions{})
	assert.ErrorIs(t, err, ErrConflict)
	_, err = c.WireGuard.Onboard(ctx, "", OnboardOptions{})
	assert.ErrorIs(t, err, ErrInvalid)
	_, err = c.WireGuard.Onboard(ctx, "x", OnboardOptions{Interface: "wg-none"})
	assert.ErrorIs(t, err, ErrNotFound)
	_, err = c.WireGuard.Onboard(ctx, "x", OnboardOptions{Network: mustPrefix("192.168.100.0/31")})
	assert.ErrorIs(t, err, ErrInvalid)

	// The client's private key never travels to the router.
	for _, sent := range srv.Requests() {
		assert.NotContains(t, strings.Join(sent.Words, " "), ob.PrivateKey.Reveal())
	}
}

func TestNextFreeAddressFull(t *testing.T) {
	t.Parallel()
	_, c := lab(t)
	// /30 has hosts .1 (router? no: 10.7.7.1) and .2; fill both.
	kp1, _ := GenerateKeyPair()
	kp2, _ := GenerateKeyPair()
	_, err := c.WireGuard.AddPeers(t.Context(), []PeerSpec{
		{PublicKey: kp1.Public, AllowedAddress: []netip.Prefix{mustPrefix("10.7.7.1/32")}},
		{PublicKey: kp2.Public, AllowedAddress: []netip.Prefix{mustPrefix("10.7.7.2/32")}},
	})
	require.NoError(t, err)
	_, err = c.WireGuard.NextFreeAddress(t.Context(), "", mustPrefix("10.7.7.0/30"))
	assert.ErrorIs(t, err, ErrNotFound)
}

func TestNextFreeAddressIgnoresOtherInterfacesDefaultRoute(t *testing.T) {
	t.Parallel()
	_, c := lab(t)
	ctx := t.Context()
	// The router is also a client of a VPN provider: a full-tunnel peer on
	// another interface.
	_, err := c.WireGuard.CreateInterface(ctx, "wg-provider", InterfaceOptions{ListenPort: 51820})
	require.NoError(t, err)
	kp, err := GenerateKeyPair()
	require.NoError(t, err)
	_, err = c.WireGuard.AddPeer(ctx, PeerSpec{Interface: "wg-provider", PublicKey: kp.Public,
		AllowedAddress: []netip.Prefix{mustPrefix("0.0.0.0/0")}})
	require.NoError(t, err)
	next, err := c.WireGuard.NextFreeAddress(ctx, "", netip.Prefix{})
	require.NoError(t, err)
	assert.Equal(t, "192.168.100.4", next.String())
	ob, err := c.WireGuard.Onboard(ctx, "tablet", OnboardOptions{})
	require.NoError(t, err)
	assert.Equal(t, "192.168.100.4/32", ob.Address.String())

	// A peer of another interface holding an address inside the network
	// still counts.
	_, err = c.WireGuard.CreateInterface(ctx, "wg-site", InterfaceOptions{ListenPort: 51821})
	require.NoError(t, err)
	kp2, err := GenerateKeyPair()
	require.NoError(t, err)
	_, err = c.WireGuard.AddPeer(ctx, PeerSpec{Interface: "wg-site", PublicKey: kp2.Public,
		AllowedAddress: []netip.Prefix{mustPrefix("192.168.100.5/32")}})
	require.NoError(t, err)
	next, err = c.WireGuard.NextFreeAddress(ctx, "", netip.Prefix{})
	require.NoError(t, err)
	assert.Equal(t, "192.168.100.6", next.String())
}

func TestKeys(t *testing.T) {
	t.Parallel()
	kp, err := GenerateKeyPair()
	require.NoError(t, err)
	assert.Len(t, kp.Public, 44)
	assert.Len(t, kp.Private.Reveal(), 44)
	assert.True(t, strings.HasSuffix(kp.Public, "="))
	assert.NotContains(t, fmt.Sprint(kp), kp.Private.Reveal())
	psk, err := GeneratePresharedKey()
	require.NoError(t, err)
	assert.True(t, ValidKey(psk.Reveal()))
	// RFC 7748 section 6.1 test vector (Alice).
	pub, err := PublicKey(secret.New(b64hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")))
	require.NoError(t, err)
	assert.Equal(t, b64hex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"), pub)
	_, err = PublicKey(secret.New("short"))
	assert.Error(t, err)
}

func TestScripts(t *testing.T) {
	t.Parallel()
	_, c := lab(t)
	ctx := t.Context()
	scripts, err := c.Scripts.Scripts(ctx)
	require.NoError(t, err)
	require.Len(t, scripts, 1)
	assert.Equal(t, "cloudflare-ddns", scripts[0].Name)
	assert.Equal(t, []string{"read", "write", "test"}, scripts[0].Policy)

	id, err := c.Scripts.AddScript(ctx, "hello", ":log info hello", ScriptOptions{Policy: []string{"read"}})
	require.NoError(t, err)
	assert.NotEmpty(t, id)
	_, err = c.Scripts.AddScript(ctx, "hello", "", ScriptOptions{})
	assert.ErrorIs(t, err, ErrConflict)
	require.NoError(t, c.Scripts.RunScript(ctx, "hello"))
	require.NoError(t, c.Scripts.RunScript(ctx, "hello"))
	assert.ErrorIs(t, c.Scripts.RunScript(ctx, "nope"), ErrNotFound)
	scripts, err = c.Scripts.Scripts(ctx)
	require.NoError(t, err)
	assert.Equal(t, 2, scripts[1].RunCount)
	assert.WithinDuration(t, time.Now(), scripts[1].LastStarted, 5*time.Second)

	sch, err := c.Scripts.Schedules(ctx)
	require.NoError(t, err)
	require.Len(t, sch, 1)
	assert.Equal(t, 5*time.Minute, sch[0].Interval)
	assert.Equal(t, "startup", sch[0].StartTime)
	_, err = c.Scripts.AddSchedule(ctx, "hello-hourly", "hello", ScheduleOptions{Interval: time.Hour})
	require.NoError(t, err)
	sch, err = c.Scripts.Schedules(ctx)
	require.NoError(t, err)
	require.Len(t, sch, 2)
	assert.Equal(t, time.Hour, sch[1].Interval)
}

func TestExportAndBackup(t *testing.T) {
	t.Parallel()
	srv, c := lab(t)
	ctx := t.Context()
	txt, err := c.System.Export(ctx, ExportOptions{ChunkSize: 100, Keep: true})
	require.NoError(t, err)
	assert.Contains(t, txt, "/ip firewall filter\n")
	assert.Contains(t, txt, `comment="guest isolation"`)
	assert.NotContains(t, txt, routerostest.LabKey("wireguard1 private"), "no private keys in exports")
	reads := 0
	for _, s := range srv.Requests() {
		if s.Words[0] == "/file/read" {
			reads++
		}
	}
	assert.Equal(t, len(txt)/100+1, reads, "read in 100-byte chunks")
	r, err := c.Run(ctx, "/file/print", "?name=homelab-export.rsc")
	require.NoError(t, err)
	require.Len(t, r.Records, 1)
	// The chunks join up to exactly the file on the router.
	out, err := srv.Run("/file/print", "?name=homelab-export.rsc", "=.proplist=contents")
	require.NoError(t, err)
	assert.Equal(t, []string{"!re", "=contents=" + txt}, out[0])
	assert.Greater(t, len(txt), 300, "several chunks")

	txt2, err := c.System.Export(ctx, ExportOptions{File: "again"})
	require.NoError(t, err)
	assert.Equal(t, strings.SplitN(txt, "\n", 2)[1][:50], strings.SplitN(txt2, "\n", 2)[1][:50])
	r, err = c.Run(ctx, "/file/print", "?name=again.rsc")
	require.NoError(t, err)
	assert.Empty(t, r.Records, "removed after reading")

	name, err := c.System.Backup(ctx, BackupOptions{Name: "nightly", Password: secret.New("backup-pw")})
	require.NoError(t, err)
	assert.Equal(t, "nightly.backup", name)
	r, err = c.Run(ctx, "/file/print", "?name=nightly.backup")
	require.NoError(t, err)
	require.Len(t, r.Records, 1)
	assert.Equal(t, "backup", r.Records[0]["type"])
}

func TestEnsurePeerUpdatesOnlyDifferences(t *testing.T) {
	t.Parallel()
	srv, c := lab(t)
	ctx := t.Context()
	peers, err := c.WireGuard.Peers(ctx, "wireguard1")
	require.NoError(t, err)
	phone := peers[0]
	spec := PeerSpec{Name: "phone", Comment: "phone", PublicKey: phone.PublicKey, Responder: true,
		AllowedAddress: phone.AllowedAddress}
	ch, err := c.WireGuard.EnsurePeer(ctx, spec)
	require.NoError(t, err)
	assert.False(t, ch.Action == Created)
	assert.Empty(t, changedFields(ch.Changes), "the seed already matches")

	spec.AllowedAddress = []netip.Prefix{mustPrefix("192.168.100.2/32"), mustPrefix("192.168.100.20/32")}
	spec.EndpointAddress, spec.EndpointPort = "198.51.100.9", 51820
	spec.Responder = false
	ch, err = c.WireGuard.EnsurePeer(ctx, spec)
	require.NoError(t, err)
	assert.Equal(t, []string{"allowed-address", "endpoint-address", "endpoint-port", "responder"}, changedFields(ch.Changes))
	tr := srv.Requests()
	set := tr[len(tr)-1].Words
	assert.Equal(t, "/interface/wireguard/peers/set", set[0])
	assert.Len(t, set, 2+4+1, "command, .id, four fields, .tag")

	// Same set in another order is no change.
	spec.AllowedAddress = []netip.Prefix{spec.AllowedAddress[1], spec.AllowedAddress[0]}
	ch, err = c.WireGuard.EnsurePeer(ctx, spec)
	require.NoError(t, err)
	assert.Empty(t, changedFields(ch.Changes))

	// A disabled peer does not work: ensuring it enables it, once.
	_, err = srv.Run("/interface/wireguard/peers/disable", "=.id="+string(phone.ID))
	require.NoError(t, err)
	ch, err = c.WireGuard.EnsurePeer(ctx, spec)
	require.NoError(t, err)
	assert.Equal(t, []string{"disabled"}, changedFields(ch.Changes))
	peers, err = c.WireGuard.Peers(ctx, "wireguard1")
	require.NoError(t, err)
	assert.False(t, peers[0].Disabled)
	ch, err = c.WireGuard.EnsurePeer(ctx, spec)
	require.NoError(t, err)
	assert.Empty(t, changedFields(ch.Changes))

	_, err = c.WireGuard.EnsurePeer(ctx, PeerSpec{PublicKey: phone.PublicKey})
	assert.ErrorIs(t, err, ErrInvalid, "no allowed address")
}

func TestRecordGetters(t *testing.T) {
	t.Parallel()
	r := Record{".id": "*1A", "a": "10.0.0.1", "b": "yes", "n": "42", "d": "1m", "p": "10.0.0.0/8"}
	assert.Equal(t, ID("*1A"), r.ID())
	a, err := r.Addr("a")
	require.NoError(t, err)
	assert.Equal(t, "10.0.0.1", a.String())
	_, err = r.Addr("missing")
	assert.Error(t, err)
	assert.True(t, r.Bool("b"))
	assert.False(t, r.Bool("missing"))
	assert.Equal(t, int64(42), r.Int("n"))
	assert.Equal(t, time.Minute, r.Duration("d"))
	p, err := r.Prefix("p")
	require.NoError(t, err)
	assert.Equal(t, "10.0.0.0/8", p.String())
}
