package routerostest

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// What a real RouterOS 7 accepts and refuses (issue 13), on the wire.

func TestFilterAcceptsNegatedMatchers(t *testing.T) {
	t.Parallel()
	r := dialRaw(t, Start(t), true)
	for _, words := range [][]string{
		{"=chain=forward", "=action=drop", "=src-address=!10.1.1.0/24"},
		{"=chain=forward", "=action=drop", "=dst-address=!192.168.1.0/24"},
		{"=chain=input", "=action=drop", "=in-interface=!bridge-lan"},
		{"=chain=forward", "=action=drop", "=out-interface-list=!WAN"},
		{"=chain=forward", "=action=drop", "=src-address-list=!blocklist", "=protocol=!tcp"},
		{"=chain=forward", "=action=drop", "=connection-state=!established,related"},
		{"=chain=forward", "=action=accept", "=protocol=tcp", "=dst-port=!22,80-90", "=src-port=1024-65535"},
	} {
		got := r.call(append([]string{"/ip/firewall/filter/add"}, words...)...)
		assert.Equal(t, "!done", got[0][0], "%v: %v", words, got)
	}
	got := r.call("/ip/firewall/filter/print", "?src-address=!10.1.1.0/24", "=.proplist=src-address")
	assert.Equal(t, []string{"!re", "=src-address=!10.1.1.0/24"}, got[0])
}

func TestFilterProperties(t *testing.T) {
	t.Parallel()
	r := dialRaw(t, Start(t), true)
	for _, kv := range []string{
		"=hw-offload=yes", "=connection-nat-state=!dstnat", "=port=53", "=src-port=53", "=dst-address-type=local",
		"=src-address-type=!unicast", "=tcp-flags=syn,!ack", "=ipsec-policy=in,ipsec", "=in-bridge-port=ether2",
		"=connection-mark=guest", "=packet-mark=!x", "=limit=10,5:packet", "=log=yes", "=log-prefix=guest",
	} {
		words := []string{"/ip/firewall/filter/add", "=chain=forward", "=action=accept", kv}
		if strings.Contains(kv, "port=") || strings.Contains(kv, "tcp-flags") {
			words = append(words, "=protocol=tcp")
		}
		got := r.call(words...)
		assert.Equal(t, "!done", got[0][0], "%s: %v", kv, got)
	}
}

func TestFilterRefusesWhatARouterRefuses(t *testing.T) {
	t.Parallel()
	r := dialRaw(t, Start(t), true)
	for _, tc := range []struct {
		words []string
		msg   string
	}{
		{[]string{"=chain=forward", "=action=frob"}, "input does not match any value of action"},
		{[]string{"=chain=forward", "=action=drop", "=in-interface=ether9"}, "input does not match any value of in-interface"},
		{[]string{"=chain=forward", "=action=drop", "=in-interface-list=NOPE"}, "input does not match any value of in-interface-list"},
		{[]string{"=chain=forward", "=action=drop", "=dst-port=22"}, "dst-port can be used only with protocol"},
		{[]string{"=chain=forward", "=action=drop", "=protocol=!tcp", "=dst-port=22"}, "dst-port can be used only with protocol"},
		{[]string{"=chain=forward", "=action=drop", "=protocol=bogus"}, "input does not match any value of protocol"},
		{[]string{"=chain=forward", "=action=jump"}, "jump-target not specified"},
		{[]string{"=chain=forward", "=action=drop", "=connection-state=sleepy"}, "connection-state"},
		{[]string{"=chain=forward", "=action=drop", "=src-address=!banana"}, "invalid value for argument src-address"},
	} {
		got := r.call(append([]string{"/ip/firewall/filter/add"}, tc.words...)...)
		require.Equal(t, "!trap", got[0][0], "%v", tc.words)
		assert.Contains(t, strings.Join(got[0], " "), tc.msg, "%v", tc.words)
	}
}

func TestFilterMove(t *testing.T) {
	t.Parallel()
	s := Start(t)
	r := dialRaw(t, s, true)
	first := r.call("/ip/firewall/filter/print", "=.proplist=.id")
	last := strings.TrimPrefix(first[len(first)-2][1], "=.id=")
	top := strings.TrimPrefix(first[0][1], "=.id=")
	assert.Equal(t, [][]string{{"!done"}}, r.call("/ip/firewall/filter/move", "=numbers="+last, "=destination="+top))
	got := r.call("/ip/firewall/filter/print", "=.proplist=.id")
	assert.Equal(t, "=.id="+last, got[0][1])
	assert.Equal(t, [][]string{{"!done"}}, r.call("/ip/firewall/filter/move", "=numbers="+last))
	got = r.call("/ip/firewall/filter/print", "=.proplist=.id")
	assert.Equal(t, "=.id="+last, got[len(got)-2][1], "without destination: to the end")
	assert.Equal(t, "!trap", r.call("/ip/address/move", "=numbers=*1")[0][0], "only ordered menus move")
}

func TestDDNSEnabledByVersion(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ version, seeded, set, want string }{
		{"7.16.2", "true", "yes", "true"},
		{"7.17", "yes", "auto", "auto"},
		{"7.20.5", "yes", "false", "no"},
	} {
		r := dialRaw(t, Start(t, WithVersion(tc.version)), true)
		assert.Equal(t, []string{"!re", "=ddns-enabled=" + tc.seeded}, r.call("/ip/cloud/print", "=.proplist=ddns-enabled")[0], tc.version)
		r.call("/ip/cloud/set", "=ddns-enabled="+tc.set)
		assert.Equal(t, []string{"!re", "=ddns-enabled=" + tc.want}, r.call("/ip/cloud/print", "=.proplist=ddns-enabled")[0], tc.version)
	}
	r := dialRaw(t, Start(t, WithVersion("7.16")), true)
	assert.Equal(t, "!trap", r.call("/ip/cloud/set", "=ddns-enabled=auto")[0][0], "auto is 7.17+")
}

func TestAddressListTakesDNSNames(t *testing.T) {
	t.Parallel()
	r := dialRaw(t, Start(t), true)
	assert.Equal(t, "!done", r.call("/ip/firewall/address-list/add", "=list=cloud", "=address=vpn.example.org")[0][0])
	assert.Equal(t, "!trap", r.call("/ip/firewall/address-list/add", "=list=cloud", "=address=not a name")[0][0])
	got := r.call("/ip/firewall/address-list/print", "?list=cloud", "=.proplist=address")
	assert.Equal(t, []string{"!re", "=address=vpn.example.org"}, got[0])
}

// TestFourByteLengthPrefix: a script source above 2 MiB goes out in a word
// whose length needs the 4-byte prefix (0xE0…).
func TestFourByteLengthPrefix(t *testing.T) {
	t.Parallel()
	s := Start(t)
	big := strings.Repeat("x", 0x200000+10)
	_, err := s.Run("/system/script/add", "=name=big", "=source="+big)
	require.NoError(t, err)
	r := dialRaw(t, s, true)
	r.send("/system/script/print", "?name=big", "=.proplist=source")
	b, err := r.br.Peek(5)
	require.NoError(t, err)
	assert.Equal(t, byte(0x03), b[0], "the reply word !re")
	word := "=source=" + big
	want := AppendLength(nil, len(word))
	require.Len(t, want, 4)
	assert.Equal(t, byte(0xE0), want[0]&0xF0)
	got, err := ReadSentence(r.br, 4<<20)
	require.NoError(t, err)
	assert.Equal(t, word, got[1])
}

func TestInterfacesServicesUsers(t *testing.T) {
	t.Parallel()
	s := Start(t, WithReadOnlyUser("viewer", "pw"))
	r := dialRaw(t, s, true)
	got := r.call("/interface/print", "=.proplist=name,type")
	var names []string
	for _, re := range got[:len(got)-1] {
		names = append(names, strings.TrimPrefix(re[1], "=name=")+"/"+strings.TrimPrefix(re[2], "=type="))
	}
	assert.Subset(t, names, []string{"ether1/ether", "bridge-lan/bridge", "bridge-guest/bridge", "wireguard1/wg", "pppoe-out1/pppoe-out"})
	assert.Equal(t, "!trap", r.call("/interface/add", "=name=x")[0][0])

	got = r.call("/ip/service/print", "?name=api", "=.proplist=name,port,disabled")
	assert.Equal(t, []string{"!re", "=name=api", "=port=8728", "=disabled=false"}, got[0])
	assert.Equal(t, [][]string{{"!done"}}, r.call("/ip/service/set", "=numbers=telnet", "=disabled=yes"))
	assert.Equal(t, "!trap", r.call("/ip/service/add", "=name=gopher")[0][0], "the service list is fixed")
	assert.Equal(t, "!trap", r.call("/ip/service/remove", "=numbers=ssh")[0][0])

	got = r.call("/user/print", "=.proplist=name,group,password")
	assert.Equal(t, []string{"!re", "=name=" + DefaultUser, "=group=full"}, got[0], "the password is never printed")
	assert.Equal(t, []string{"!re", "=name=viewer", "=group=read"}, got[1])
	assert.Equal(t, "!done", r.call("/user/add", "=name=ops", "=group=write", "=password=ops-pw")[0][0])
	assert.Equal(t, "!trap", r.call("/user/add", "=name=x", "=group=gods")[0][0])
	r2 := dialRaw(t, s, false)
	assert.Equal(t, [][]string{{"!done"}}, r2.call("/login", "=name=ops", "=password=ops-pw"), "a user added over the API logs in")
	r.call("/user/disable", "=numbers=ops")
	r3 := dialRaw(t, s, false)
	assert.Equal(t, "!trap", r3.call("/login", "=name=ops", "=password=ops-pw")[0][0], "a disabled user cannot")
}

func TestSetPublicAddress(t *testing.T) {
	t.Parallel()
	s := Start(t)
	r := dialRaw(t, s, true)
	require.NoError(t, s.SetPublicAddress("203.0.113.77"))
	got := r.call("/ip/address/print", "?interface=pppoe-out1", "=.proplist=address")
	assert.Equal(t, []string{"!re", "=address=203.0.113.77/32"}, got[0])
	got = r.call("/interface/pppoe-client/monitor", "=numbers=pppoe-out1", "=once=", "=.proplist=local-address")
	assert.Contains(t, got[0], "=local-address=203.0.113.77")
	got = r.call("/ip/cloud/print", "=.proplist=public-address")
	assert.Equal(t, []string{"!re", "=public-address=203.0.113.77"}, got[0])
	assert.Error(t, s.SetPublicAddress("banana"))
	assert.Error(t, s.SetPublicAddress("2001:db8::1"))
}
