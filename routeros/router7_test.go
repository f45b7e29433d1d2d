package routeros

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/routeros/routerostest"
)

// What RouterOS 7 does that the client models (issue 13).

func TestCloudDDNSThreeValued(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		version, set string
		want         DDNSMode
	}{
		{"7.16.2", "no", DDNSOff},
		{"7.16.2", "yes", DDNSOn},
		{"7.17", "auto", DDNSAuto},
		{"7.20.5", "no", DDNSOff},
		{"7.20.5", "yes", DDNSOn},
	} {
		srv, c := lab(t, routerostest.WithVersion(tc.version))
		_, err := srv.Run("/ip/cloud/set", "=ddns-enabled="+tc.set)
		require.NoError(t, err)
		cl, err := c.WAN.Cloud(t.Context())
		require.NoError(t, err)
		assert.Equal(t, tc.want, cl.DDNSEnabled, "%s %s", tc.version, tc.set)
	}
}

func TestOnboardFillsClientFields(t *testing.T) {
	t.Parallel()
	srv, c := lab(t, routerostest.WithVersion("7.21"))
	ctx := t.Context()
	ob, err := c.WireGuard.Onboard(ctx, "tablet", OnboardOptions{})
	require.NoError(t, err)
	out, err := srv.Run("/interface/wireguard/peers/print", "?public-key="+ob.PublicKey,
		"=.proplist=client-address,client-dns,client-endpoint,client-keepalive,client-allowed-address,private-key")
	require.NoError(t, err)
	assert.Equal(t, []string{"!re", "=client-address=192.168.100.4/32", "=client-dns=192.168.100.1",
		"=client-endpoint=" + routerostest.LabDNSName + ":13231", "=client-keepalive=25s",
		"=client-allowed-address=0.0.0.0/0,::/0"}, out[0], "no private-key: it stays off the router by default")
	peers, err := c.WireGuard.Peers(ctx, "wireguard1")
	require.NoError(t, err)
	p := peers[len(peers)-1]
	assert.Equal(t, []netip.Prefix{ob.Address}, p.ClientAddress)
	assert.Equal(t, []string{"192.168.100.1"}, p.ClientDNS)
	assert.Equal(t, routerostest.LabDNSName+":13231", p.ClientEndpoint)
	assert.Equal(t, 25*time.Second, p.ClientKeepalive)
	assert.False(t, p.HasPrivateKey)

	ob2, err := c.WireGuard.Onboard(ctx, "laptop2", OnboardOptions{KeyOnRouter: true})
	require.NoError(t, err)
	out, err = srv.Run("/interface/wireguard/peers/print", "?public-key="+ob2.PublicKey, "=.proplist=private-key")
	require.NoError(t, err)
	assert.Equal(t, []string{"!re", "=private-key=" + ob2.PrivateKey.Reveal()}, out[0], "on request the router's own QR is complete")
	assert.True(t, ob2.Peer.HasPrivateKey)
}

func TestClientFieldsByVersion(t *testing.T) {
	t.Parallel()
	srv, c := lab(t, routerostest.WithVersion("7.11"))
	ob, err := c.WireGuard.Onboard(t.Context(), "old", OnboardOptions{KeyOnRouter: true})
	require.NoError(t, err, "a router before 7.12 does not know the client fields: they are not sent")
	for _, r := range srv.Requests() {
		for _, w := range r.Words {
			assert.False(t, strings.HasPrefix(w, "=client-") || strings.HasPrefix(w, "=private-key="), w)
		}
	}
	assert.NotEmpty(t, ob.Config.Reveal())

	srv2, c2 := lab(t, routerostest.WithVersion("7.20.5"))
	_, err = c2.WireGuard.Onboard(t.Context(), "mid", OnboardOptions{})
	require.NoError(t, err)
	for _, r := range srv2.Requests() {
		for _, w := range r.Words {
			assert.False(t, strings.HasPrefix(w, "=client-allowed-address="), "client-allowed-address is 7.21+")
		}
	}
}

func TestEnsurePeerClientFields(t *testing.T) {
	t.Parallel()
	_, c := lab(t)
	kp, err := GenerateKeyPair()
	require.NoError(t, err)
	spec := PeerSpec{Name: "nas", PublicKey: kp.Public, AllowedAddress: []netip.Prefix{mustPrefix("192.168.100.60/32")},
		ClientAddress: []netip.Prefix{mustPrefix("192.168.100.60/32")}, ClientKeepalive: 25 * time.Second, ClientEndpoint: "vpn.example.org:13231",
		PrivateKey: kp.Private}
	res, err := c.WireGuard.EnsurePeer(t.Context(), spec)
	require.NoError(t, err)
	assert.Equal(t, Created, res.Action)
	res, err = c.WireGuard.EnsurePeer(t.Context(), spec)
	require.NoError(t, err)
	assert.Equal(t, Unchanged, res.Action, "%v", res.Changes)
	spec.ClientKeepalive = 30 * time.Second
	kp2, err := GenerateKeyPair()
	require.NoError(t, err)
	spec.PrivateKey = kp2.Private // compared because the router shows it
	res, err = c.WireGuard.EnsurePeer(t.Context(), spec)
	require.NoError(t, err)
	assert.Equal(t, []string{"client-keepalive", "private-key"}, changedFields(res.Changes))
	assert.Equal(t, "private-key: REDACTED → REDACTED", res.Changes[1].String())
}

func TestOnboardingQRIsASecret(t *testing.T) {
	t.Parallel()
	_, c := lab(t)
	ob, err := c.WireGuard.Onboard(t.Context(), "tablet", OnboardOptions{})
	require.NoError(t, err)
	png := ob.QR.Reveal()
	require.True(t, strings.HasPrefix(png, "\x89PNG"))
	j, err := json.Marshal(ob)
	require.NoError(t, err)
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("onboarded", "onboarding", ob, "qr", ob.QR)
	for _, out := range []string{fmt.Sprintf("%v %+v %#v %s", ob, ob, ob, ob.QR), string(j), logged.String()} {
		assert.NotContains(t, out, "PNG")
		assert.NotContains(t, out, ob.PrivateKey.Reveal())
		assert.NotContains(t, out, ob.PresharedKey.Reveal())
	}
}

func TestFilterRuleLifecycle(t *testing.T) {
	t.Parallel()
	_, c := lab(t)
	ctx := t.Context()
	rules, err := c.Firewall.FilterRules(ctx)
	require.NoError(t, err)
	var guestRule ID
	for _, r := range rules {
		if r.Comment == routerostest.LabGuestRule {
			guestRule = r.ID
		}
	}
	require.NotEmpty(t, guestRule)

	id, err := c.Firewall.AddFilterRule(ctx, FilterRuleSpec{Chain: "forward", Action: "drop", SrcAddress: "10.1.1.0/24",
		DstAddress: "!192.168.1.0/24", Protocol: "tcp", DstPort: "25", Comment: "no smtp from guests", Log: true, LogPrefix: "smtp",
		Other: map[string]string{"connection-nat-state": "!dstnat"}}, FilterRuleOptions{PlaceBefore: guestRule})
	require.NoError(t, err)
	pos := func() int {
		rules, err := c.Firewall.FilterRules(ctx)
		require.NoError(t, err)
		return slices.IndexFunc(rules, func(r FilterRule) bool { return r.ID == id })
	}
	guestPos := func() int {
		rules, err := c.Firewall.FilterRules(ctx)
		require.NoError(t, err)
		return slices.IndexFunc(rules, func(r FilterRule) bool { return r.ID == guestRule })
	}
	assert.Equal(t, guestPos()-1, pos(), "placed before the guest rule")

	require.NoError(t, c.Firewall.SetFilterRule(ctx, id, FilterRuleSpec{DstPort: "25,465,587"}))
	require.NoError(t, c.Firewall.DisableFilterRule(ctx, id))
	rules, err = c.Firewall.FilterRules(ctx)
	require.NoError(t, err)
	r := rules[pos()]
	assert.Equal(t, "25,465,587", r.DstPort)
	assert.Equal(t, "!192.168.1.0/24", r.DstAddress)
	assert.Equal(t, "tcp", r.Protocol, "set leaves the other properties")
	assert.True(t, r.Disabled)
	assert.Equal(t, "!dstnat", r.Other["connection-nat-state"])
	require.NoError(t, c.Firewall.EnableFilterRule(ctx, id))

	require.NoError(t, c.Firewall.MoveFilterRule(ctx, id, ""))
	rules, err = c.Firewall.FilterRules(ctx)
	require.NoError(t, err)
	assert.Equal(t, len(rules)-1, pos(), "moved to the end")
	require.NoError(t, c.Firewall.MoveFilterRule(ctx, id, rules[0].ID))
	assert.Equal(t, 0, pos())

	_, err = c.Firewall.AddFilterRule(ctx, FilterRuleSpec{Chain: "forward", Action: "frob"}, FilterRuleOptions{})
	assert.ErrorIs(t, err, ErrInvalid)
	_, err = c.Firewall.AddFilterRule(ctx, FilterRuleSpec{Chain: "forward", Action: "drop", DstPort: "22"}, FilterRuleOptions{})
	assert.ErrorIs(t, err, ErrInvalid, "a port without a protocol")
	_, err = c.Firewall.AddFilterRule(ctx, FilterRuleSpec{Chain: "forward"}, FilterRuleOptions{})
	assert.ErrorIs(t, err, ErrInvalid)

	require.NoError(t, c.Firewall.RemoveFilterRule(ctx, id))
	assert.Equal(t, -1, pos())
	assert.ErrorIs(t, c.Firewall.RemoveFilterRule(ctx, id), ErrNotFound)
}

// TestPublicAddressFollowsTheISP: the fake's knob moves pppoe-out1 as the
// ISP does; the client reads the new address, and a listener sees it.
func TestPublicAddressFollowsTheISP(t *testing.T) {
	t.Parallel()
	srv, c := lab(t)
	ctx := t.Context()
	l, err := c.Listen(ctx, "/ip/address")
	require.NoError(t, err)
	defer l.Close()
	// The fake registers the stream when it has read /listen.
	require.Eventually(t, func() bool {
		return slices.ContainsFunc(srv.Requests(), func(r routerostest.Request) bool { return r.Method == "/ip/address/listen" })
	}, 5*time.Second, 5*time.Millisecond)
	require.NoError(t, srv.SetPublicAddress("198.51.100.23"))
	nctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	ev, err := l.Next(nctx)
	require.NoError(t, err)
	assert.Equal(t, EventChanged, ev.Kind)
	assert.Equal(t, "198.51.100.23/32", ev.Record["address"])
	ip, err := c.WAN.PublicIP(ctx, "")
	require.NoError(t, err)
	assert.Equal(t, "198.51.100.23", ip.String())
	st, err := c.WAN.PPPoE(ctx, "")
	require.NoError(t, err)
	assert.Equal(t, "198.51.100.23", st.LocalAddress.String())
	cl, err := c.WAN.Cloud(ctx)
	require.NoError(t, err)
	assert.Equal(t, "198.51.100.23", cl.PublicAddress.String())
}

// TestWordWithFourBytePrefix: a script source over 2 MiB arrives in a word
// with a 4-byte length prefix and is read whole.
func TestWordWithFourBytePrefix(t *testing.T) {
	t.Parallel()
	srv, c := lab(t)
	big := strings.Repeat("# a long script\n", (0x200000/16)+64)
	_, err := srv.Run("/system/script/add", "=name=big", "=source="+big)
	require.NoError(t, err)
	scripts, err := c.Scripts.Scripts(t.Context())
	require.NoError(t, err)
	var got string
	for _, s := range scripts {
		if s.Name == "big" {
			got = s.Source
		}
	}
	assert.Equal(t, len(big), len(got))
	assert.Equal(t, big, got)
}
