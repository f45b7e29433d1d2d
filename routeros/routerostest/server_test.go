package routerostest

import (
	"bufio"
	"bytes"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	gorouteros "github.com/go-routeros/routeros/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type raw struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func dialRaw(t *testing.T, s *Server, login bool) *raw {
	t.Helper()
	c, err := net.Dial("tcp", s.Addr())
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	r := &raw{t: t, c: c, br: bufio.NewReader(c)}
	if login {
		r.send("/login", "=name="+DefaultUser, "=password="+DefaultPassword)
		require.Equal(t, []string{"!done"}, r.recv())
	}
	return r
}

func (r *raw) send(words ...string) {
	r.t.Helper()
	_, err := r.c.Write(AppendSentence(nil, words...))
	require.NoError(r.t, err)
}

func (r *raw) recv() []string {
	r.t.Helper()
	require.NoError(r.t, r.c.SetReadDeadline(time.Now().Add(5*time.Second)))
	s, err := ReadSentence(r.br, MaxWordSize)
	require.NoError(r.t, err)
	return s
}

// call sends a command and collects replies up to and including !done.
func (r *raw) call(words ...string) [][]string {
	r.t.Helper()
	r.send(words...)
	var out [][]string
	for {
		s := r.recv()
		out = append(out, s)
		if s[0] == "!done" {
			return out
		}
	}
}

func TestLengthPrefixes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		n      int
		prefix []byte
	}{
		{0x01, []byte{0x01}}, {0x7F, []byte{0x7F}}, {0x87, []byte{0x80, 0x87}}, {0x3FFF, []byte{0xBF, 0xFF}},
		{0x4321, []byte{0xC0, 0x43, 0x21}}, {0x2ACDEF, []byte{0xE0, 0x2A, 0xCD, 0xEF}},
		{0x10000080, []byte{0xF0, 0x10, 0x00, 0x00, 0x80}},
	} {
		assert.Equal(t, tc.prefix, AppendLength(nil, tc.n), "n=%#x", tc.n)
		if tc.n <= 0x2ACDEF {
			word := bytes.Repeat([]byte("x"), tc.n)
			enc := append(AppendLength(nil, tc.n), word...)
			got, err := ReadWord(bufio.NewReader(bytes.NewReader(enc)), 1<<22)
			require.NoError(t, err)
			assert.Len(t, got, tc.n)
		} else {
			_, err := ReadWord(bufio.NewReader(bytes.NewReader(tc.prefix)), MaxWordSize)
			assert.ErrorContains(t, err, "exceeds limit")
		}
	}
	_, err := ReadWord(bufio.NewReader(bytes.NewReader([]byte{0xF8})), MaxWordSize)
	assert.ErrorIs(t, err, errControlByte)
	// Empty sentences are skipped.
	s, err := ReadSentence(bufio.NewReader(bytes.NewReader(AppendSentence([]byte{0, 0}, "/a", "=b=c"))), 100)
	require.NoError(t, err)
	assert.Equal(t, []string{"/a", "=b=c"}, s)
}

func TestQueryStack(t *testing.T) {
	t.Parallel()
	item := map[string]string{"type": "ether", "mtu": "1500", "name": "ether1", "comment": ""}
	for _, tc := range []struct {
		q    []string
		want bool
	}{
		{nil, true},
		{[]string{"?type=ether"}, true},
		{[]string{"?=type=ether"}, true},
		{[]string{"?type=vlan"}, false},
		{[]string{"?type=vlan", "?type=ether", "?#|"}, true},
		{[]string{"?type=vlan", "?type=ether", "?#&"}, false},
		{[]string{"?type=vlan", "?type=ether", "?#|!"}, false},
		{[]string{"?type"}, true},
		{[]string{"?-type"}, false},
		{[]string{"?-missing"}, true},
		{[]string{"?missing"}, false},
		{[]string{"?>mtu=1400"}, true},
		{[]string{"?<mtu=1400"}, false},
		{[]string{"?>comment="}, false},
		{[]string{"?type=vlan", "?type=ether", "?#1"}, false}, // index at end replaces the stack
		{[]string{"?type=vlan", "?type=ether", "?#0"}, true},
		{[]string{"?type=ether", "?#.&"}, true},
	} {
		got, err := matchQuery(tc.q, item)
		require.NoError(t, err)
		assert.Equal(t, tc.want, got, "%v", tc.q)
	}
	_, err := matchQuery([]string{"?#x"}, item)
	assert.Error(t, err)
}

func TestProtocolBasics(t *testing.T) {
	t.Parallel()
	s := Start(t)
	t.Run("not logged in", func(t *testing.T) {
		r := dialRaw(t, s, false)
		r.send("/ip/address/print")
		assert.Equal(t, []string{"!fatal", "not logged in"}, r.recv())
	})
	t.Run("bad password", func(t *testing.T) {
		r := dialRaw(t, s, false)
		got := r.call("/login", "=name=admin", "=password=nope")
		assert.Equal(t, [][]string{{"!trap", "=message=invalid user name or password (6)"}, {"!done"}}, got)
	})
	t.Run("quit", func(t *testing.T) {
		r := dialRaw(t, s, true)
		r.send("/quit")
		assert.Equal(t, []string{"!fatal", "session terminated on request"}, r.recv())
	})
	t.Run("unknown command and bad value", func(t *testing.T) {
		r := dialRaw(t, s, true)
		assert.Equal(t, [][]string{{"!trap", "=category=0", "=message=no such command prefix"}, {"!done"}}, r.call("/nope/print"))
		assert.Equal(t, [][]string{{"!trap", "=category=0", "=message=no such command or directory (frob)"}, {"!done"}}, r.call("/ip/address/frob"))
		got := r.call("/ip/address/add", "=address=300.1.1.1/24", "=interface=ether2")
		assert.Equal(t, "=category=1", got[0][1])
		got = r.call("/ip/address/add", "=address=10.2.2.1/24", "=interface=ether9")
		assert.Equal(t, "=message=input does not match any value of interface", got[0][2])
		got = r.call("/ip/address/add", "=address=10.2.2.1/24", "=interface=ether2", "=dynamic=yes")
		assert.Equal(t, "=message=unknown parameter dynamic", got[0][2])
	})
	t.Run("tags proplist count-only", func(t *testing.T) {
		r := dialRaw(t, s, true)
		got := r.call("/ip/address/print", "?interface=bridge-lan", "=.proplist=address,nothing", ".tag=7")
		assert.Equal(t, [][]string{{"!re", "=address=192.168.1.1/24", ".tag=7"}, {"!done", ".tag=7"}}, got)
		got = r.call("/ip/address/print", "=count-only=")
		assert.Equal(t, [][]string{{"!done", "=ret=4"}}, got)
		got = r.call("/ip/address/print", "?interface=none")
		assert.Equal(t, [][]string{{"!empty"}, {"!done"}}, got)
		got = r.call("/system/identity/print")
		assert.Equal(t, [][]string{{"!re", "=name=" + LabIdentity}, {"!done"}}, got)
	})
	t.Run("ids never reused", func(t *testing.T) {
		r := dialRaw(t, s, true)
		a := r.call("/ip/firewall/address-list/add", "=list=t", "=address=10.0.0.1")
		id := strings.TrimPrefix(a[0][1], "=ret=")
		r.call("/ip/firewall/address-list/remove", "=.id="+id)
		b := r.call("/ip/firewall/address-list/add", "=list=t", "=address=10.0.0.1")
		assert.NotEqual(t, a[0][1], b[0][1])
		got := r.call("/ip/firewall/address-list/remove", "=.id="+id)
		assert.Equal(t, "=message=no such item", got[0][2])
		dup := r.call("/ip/firewall/address-list/add", "=list=t", "=address=10.0.0.1/32")
		assert.Equal(t, "=message=failure: already have such entry", dup[0][2])
	})
}

func TestListenAndCancel(t *testing.T) {
	t.Parallel()
	s := Start(t)
	l := dialRaw(t, s, true)
	w := dialRaw(t, s, true)
	l.send("/ip/firewall/address-list/listen", ".tag=L")
	// Make sure the listen is registered before mutating.
	require.Equal(t, [][]string{{"!done"}}, l.call("/system/identity/set", "=name=x"))
	add := w.call("/ip/firewall/address-list/add", "=list=watch", "=address=10.9.9.9")
	id := strings.TrimPrefix(add[0][1], "=ret=")
	re := l.recv()
	assert.Equal(t, "!re", re[0])
	assert.Contains(t, re, "=.id="+id)
	assert.Contains(t, re, ".tag=L")
	w.call("/ip/firewall/address-list/remove", "=.id="+id)
	re = l.recv()
	assert.Contains(t, re, "=.dead=true")

	l.send("/cancel", "=tag=L", ".tag=C")
	var got [][]string
	for len(got) < 3 {
		got = append(got, l.recv())
	}
	assert.Contains(t, got, []string{"!trap", "=category=2", "=message=interrupted", ".tag=L"})
	assert.Contains(t, got, []string{"!done", ".tag=L"})
	assert.Contains(t, got, []string{"!done", ".tag=C"})
}

func TestMonitorAndFollow(t *testing.T) {
	t.Parallel()
	s := Start(t)
	r := dialRaw(t, s, true)
	once := r.call("/interface/pppoe-client/monitor", "=numbers=pppoe-out1", "=once=")
	require.Len(t, once, 2)
	assert.Contains(t, once[0], "=status=connected")
	assert.Contains(t, once[0], "=local-address="+LabPublicIP)

	r.send("/interface/pppoe-client/monitor", "=numbers=pppoe-out1", ".tag=m")
	assert.Equal(t, "!re", r.recv()[0])
	r.send("/ip/address/print", "=follow=", "?interface=bridge-lan", ".tag=f")
	assert.Equal(t, "!re", r.recv()[0])
	r.send("/cancel")
	var words []string
	for range 5 { // m: trap+done, f: trap+done, cancel: done
		words = append(words, strings.Join(r.recv(), " "))
	}
	slices.Sort(words)
	assert.Equal(t, []string{"!done", "!done .tag=f", "!done .tag=m", "!trap =category=2 =message=interrupted .tag=f", "!trap =category=2 =message=interrupted .tag=m"}, words)
}

func TestVersionKnobs(t *testing.T) {
	t.Parallel()
	old := Start(t, WithVersion("7.16.2"))
	r := dialRaw(t, old, true)
	got := r.call("/ip/address/print", "?interface=none")
	assert.Equal(t, [][]string{{"!done"}}, got, "no !empty before 7.18")
	peers := r.call("/interface/wireguard/peers/print", "=.proplist=is-responder,responder")
	assert.Equal(t, []string{"!re", "=is-responder=true"}, peers[0])
	got = r.call("/interface/wireguard/peers/add", "=interface=wireguard1", "=public-key="+LabKey("x"), "=allowed-address=192.168.100.9/32", "=responder=yes")
	assert.Equal(t, "=message=unknown parameter responder", got[0][2])
	got = r.call("/interface/wireguard/peers/add", "=interface=wireguard1", "=public-key="+LabKey("x"), "=allowed-address=192.168.100.9/32", "=client-allowed-address=0.0.0.0/0")
	assert.Equal(t, "=message=unknown parameter client-allowed-address", got[0][2])
	assert.Error(t, old.SetVersion("seven"))
}

func TestFaultHooksRaw(t *testing.T) {
	t.Parallel()
	s := Start(t)
	r := dialRaw(t, s, true)
	s.Inject(Fault{Times: 1, Kind: FaultDelay, Delay: 100 * time.Millisecond})
	start := time.Now()
	r.call("/system/identity/print")
	assert.GreaterOrEqual(t, time.Since(start), 100*time.Millisecond)

	s.Inject(Fault{Times: 1, Kind: FaultCorruptLength})
	r.send("/system/identity/print")
	require.NoError(t, r.c.SetReadDeadline(time.Now().Add(time.Second)))
	_, err := ReadSentence(r.br, MaxWordSize)
	assert.ErrorContains(t, err, "exceeds limit")
}

func TestTranscriptAndRun(t *testing.T) {
	t.Parallel()
	s := Start(t)
	r := dialRaw(t, s, true)
	r.call("/ip/address/print", "?interface=bridge-lan", ".tag=3")
	tr := s.Requests()
	require.Len(t, tr, 2)
	assert.Equal(t, 1, tr[1].Conn)
	assert.Equal(t, []string{"/ip/address/print", "?interface=bridge-lan", ".tag=3"}, tr[1].Words)
	assert.Equal(t, "/ip/address/print", tr[1].Method)
	assert.Equal(t, "/ip/address", tr[1].Path)
	assert.False(t, tr[1].Time.IsZero())
	assert.Equal(t, 2, s.Commands())

	out, err := s.Run("/ip/route/print", "=count-only=")
	require.NoError(t, err)
	assert.Equal(t, [][]string{{"!done", "=ret=4"}}, out)
	_, err = s.Run("/bogus")
	assert.Error(t, err)
	_, err = s.Run()
	assert.Error(t, err)
}

func TestTLSServer(t *testing.T) {
	t.Parallel()
	s := Start(t, WithTLS())
	require.NotNil(t, s.Certificate())
	assert.NotNil(t, s.CertPool())
}

// TestGoRouterosCompat cross-checks the fake against a third-party client.
func TestGoRouterosCompat(t *testing.T) {
	t.Parallel()
	s := Start(t)
	conn, err := net.Dial("tcp", s.Addr())
	require.NoError(t, err)
	c, err := gorouteros.NewClient(conn)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.LoginContext(t.Context(), DefaultUser, DefaultPassword))
	rep, err := c.Run("/ip/address/print", "?interface=pppoe-out1", "=.proplist=address,network")
	require.NoError(t, err)
	require.Len(t, rep.Re, 1)
	assert.Equal(t, LabPublicIP+"/32", rep.Re[0].Map["address"])
	_, err = c.Run("/nope/print")
	var de *gorouteros.DeviceError
	require.ErrorAs(t, err, &de)
	assert.Equal(t, "no such command prefix", de.Sentence.Map["message"])
}

func TestCloseIdempotent(t *testing.T) {
	t.Parallel()
	s := NewServer()
	r := dialRaw(t, s, true)
	s.Close()
	s.Close()
	_ = r.c.SetReadDeadline(time.Now().Add(time.Second))
	_, err := ReadSentence(r.br, MaxWordSize)
	assert.Error(t, err)
	assert.Panics(t, func() { NewServer(WithVersion("x")) })
	assert.Panics(t, func() { NewServer(WithCredentials("", "")) })
}

func TestFormatDuration(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "0s", FormatDuration(0))
	assert.Equal(t, "1w2d3h4m5s", FormatDuration(9*24*time.Hour+3*time.Hour+4*time.Minute+5*time.Second))
	assert.Equal(t, "1s500ms", FormatDuration(1500*time.Millisecond))
}

func TestLegacyResponseVector(t *testing.T) {
	t.Parallel()
	// go-routeros proto_test.go vector: password passTest, challenge abc123.
	assert.Equal(t, "0021277bff9ac7caf06aa608e46616d47f", legacyResponse("passTest", []byte{0xab, 0xc1, 0x23}))
}

func TestReadOnlyUser(t *testing.T) {
	t.Parallel()
	s := Start(t, WithReadOnlyUser("viewer", "view"))
	r := dialRaw(t, s, false)
	require.Equal(t, [][]string{{"!done"}}, r.call("/login", "=name=viewer", "=password=view"))
	assert.Equal(t, "!re", r.call("/system/identity/print")[0][0])
	got := r.call("/system/identity/set", "=name=x")
	assert.Equal(t, []string{"!trap", "=message=not enough permissions (9)"}, got[0])
}

func TestValidation(t *testing.T) {
	t.Parallel()
	s := Start(t)
	r := dialRaw(t, s, true)
	// Seed ids: *6 is the dynamic pppoe-out1 address, *B the static "nas" lease.
	require.Contains(t, r.call("/ip/address/print", "?.id=*6")[0], "=interface=pppoe-out1")
	require.Contains(t, r.call("/ip/dhcp-server/lease/print", "?.id=*B")[0], "=host-name=nas")
	for _, tc := range []struct {
		words []string
		msg   string
	}{
		{[]string{"/ip/firewall/address-list/add", "=list=a", "=address=10.0.0.1", "=disabled=maybe"}, "invalid value for argument disabled"},
		{[]string{"/ip/firewall/address-list/add", "=list=a", "=address=10.0.0.1", "=timeout=soon"}, "invalid value for argument timeout"},
		{[]string{"/ip/firewall/address-list/add", "=list=a"}, "failure: address not specified"},
		{[]string{"/ip/dhcp-server/lease/add", "=address=192.168.1.50", "=mac-address=zz"}, "invalid value for argument mac-address"},
		{[]string{"/ip/dhcp-server/lease/add", "=address=nope", "=mac-address=AA:BB:CC:DD:EE:FF"}, "invalid value for argument address"},
		{[]string{"/interface/wireguard/add", "=name=wg9", "=listen-port=x"}, "invalid value for argument listen-port"},
		{[]string{"/interface/wireguard/add", "=name=wg9", "=private-key=short"}, "invalid value for argument private-key"},
		{[]string{"/interface/wireguard/peers/add", "=interface=wireguard1", "=public-key=" + LabKey("v"), "=allowed-address=1.2.3.4/99"}, "invalid value for argument allowed-address"},
		{[]string{"/interface/wireguard/add", "=name=x", "=public-key=" + LabKey("v")}, "unknown parameter public-key"},
		{[]string{"/ip/route/add", "=dst-address=10.5.0.0/16", "=gateway=1.1.1.1", "=distance=-1"}, "invalid value for argument distance"},
		{[]string{"/system/identity/set", "=nope=1"}, "unknown parameter nope"},
		{[]string{"/system/resource/set", "=cpu=1"}, "no such command or directory (set)"},
		{[]string{"/system/identity/frob"}, "no such command or directory (frob)"},
		{[]string{"/ip/address/remove", "=.id=*3,*FFFF"}, "no such item"},
		{[]string{"/ip/address/remove"}, "failure: .id not specified"},
		{[]string{"/ip/address/remove", "=.id=*6"}, "failure: can not remove dynamic entry"},
		{[]string{"/ip/address/set", "=.id=*6", "=comment=x"}, "failure: can not change dynamic entry"},
		{[]string{"/ip/dhcp-server/lease/make-static", "=.id=*B"}, "failure: lease is already static"},
		{[]string{"/file/read", "=file=nope"}, "no such item"},
		{[]string{"/ip/address/print", "?#x"}, "invalid query ?#x"},
		{[]string{"/ip/address/print", "bogus"}, `unknown word "bogus"`},
	} {
		got := r.call(tc.words...)
		require.Len(t, got, 2, "%v", tc.words)
		assert.Equal(t, "!trap", got[0][0], "%v", tc.words)
		assert.Contains(t, got[0], "=message="+tc.msg, "%v", tc.words)
	}
	// Valid writes through the same kinds.
	for _, words := range [][]string{
		{"/ip/route/add", "=dst-address=10.5.0.0/16", "=gateway=1.1.1.1", "=distance=2", "=disabled=no"},
		{"/ip/firewall/address-list/add", "=list=r", "=address=10.0.0.1-10.0.0.9", "=timeout=90"},
		{"/ip/dhcp-server/lease/add", "=address=192.168.1.77", "=mac-address=aa:bb:cc:dd:ee:77", "=server=dhcp-lan"},
		{"/system/identity/set", "=name=lab2"},
		{"/ip/cloud/set", "=ddns-enabled=no"},
		{"/ip/address/enable", "=.id=*3"},
		{"/system/scheduler/disable", "=.id=ddns"},
		{"/ip/cloud/force-update"},
	} {
		got := r.call(words...)
		assert.Equal(t, "!done", got[0][0], "%v: %v", words, got)
	}
	got := r.call("/ip/firewall/address-list/print", "?list=r")
	assert.Contains(t, got[0], "=timeout=1m30s")
	assert.Contains(t, got[0], "=dynamic=true")
	got = r.call("/ip/dhcp-server/lease/print", "?address=192.168.1.77", "=.proplist=mac-address")
	assert.Equal(t, []string{"!re", "=mac-address=AA:BB:CC:DD:EE:77"}, got[0])
	got = r.call("/ip/cloud/print", "=.proplist=ddns-enabled")
	// From 7.17 ddns-enabled is yes/no/auto (issue 13): "no" is set here.
	assert.Equal(t, []string{"!re", "=ddns-enabled=no"}, got[0])
	got = r.call("/system/scheduler/print", "?disabled=yes", "=count-only=")
	assert.Equal(t, []string{"!done", "=ret=1"}, got[0])
}

func TestFilesExportBackup(t *testing.T) {
	t.Parallel()
	s := Start(t)
	r := dialRaw(t, s, true)
	assert.Equal(t, [][]string{{"!done"}}, r.call("/export"), "no text over the API")
	r.call("/export", "=file=cfg")
	got := r.call("/file/read", "=file=cfg.rsc", "=offset=0", "=chunk-size=10")
	assert.Equal(t, "=data=# ", got[0][1][:8])
	assert.Len(t, strings.TrimPrefix(got[0][1], "=data="), 10)
	got = r.call("/file/read", "=file=cfg.rsc", "=chunk-size=40000")
	assert.Contains(t, got[0], "=message=invalid value for argument chunk-size")
	got = r.call("/file/read", "=file=cfg.rsc", "=offset=99999999")
	assert.Equal(t, []string{"!re", "=data="}, got[0])
	r.call("/system/backup/save")
	r.call("/system/backup/save", "=name=enc", "=password=pw")
	got = r.call("/file/print", "?type=backup", "=.proplist=name,contents")
	require.Len(t, got, 3)
	assert.Contains(t, got[1], "=name=enc.backup")
	assert.Contains(t, got[1], "=contents=MIKROTIK-BACKUP backup (encrypted)")
	assert.Equal(t, [][]string{{"!done"}}, r.call("/file/remove", "=.id=enc.backup"))
}

func TestSettingsKnobs(t *testing.T) {
	t.Parallel()
	s := Start(t, WithLatency(20*time.Millisecond), WithCredentials("u", "p"))
	r := dialRaw(t, s, false)
	start := time.Now()
	assert.Equal(t, [][]string{{"!done"}}, r.call("/login", "=name=u", "=password=p"))
	assert.GreaterOrEqual(t, time.Since(start), 20*time.Millisecond)
	s.SetLatency(0)
	s.SetLoginMode(LoginRefuse)
	r2 := dialRaw(t, s, false)
	got := r2.call("/login", "=name=u", "=password=p")
	assert.Equal(t, "!trap", got[0][0])
	assert.Equal(t, "invalid value for argument x", (&trapError{message: "invalid value for argument x"}).Error())
}

func TestAddressListTimeoutExpires(t *testing.T) {
	t.Parallel()
	s := Start(t)
	r := dialRaw(t, s, true)
	r.call("/ip/firewall/address-list/add", "=list=tmp", "=address=10.0.0.1", "=timeout=1h")
	r.call("/ip/firewall/address-list/add", "=list=tmp", "=address=10.0.0.2", "=timeout=50ms")
	got := r.call("/ip/firewall/address-list/print", "?list=tmp", "=.proplist=address,timeout,dynamic")
	require.Len(t, got, 3)
	assert.Equal(t, []string{"!re", "=address=10.0.0.1", "=timeout=1h", "=dynamic=true"}, got[0])
	time.Sleep(80 * time.Millisecond)
	got = r.call("/ip/firewall/address-list/print", "?list=tmp", "=count-only=")
	assert.Equal(t, []string{"!done", "=ret=1"}, got[0])
	d, ok := parseDuration("1w2d3h4m5s6ms")
	assert.True(t, ok)
	assert.Equal(t, 9*24*time.Hour+3*time.Hour+4*time.Minute+5*time.Second+6*time.Millisecond, d)
	_, ok = parseDuration("x")
	assert.False(t, ok)
}

func TestFilterRulesOrderAndPrintedFields(t *testing.T) {
	t.Parallel()
	s := Start(t)
	comments := func() []string {
		out, err := s.Run("/ip/firewall/filter/print", "?chain=forward", "=.proplist=comment")
		require.NoError(t, err)
		var cs []string
		for _, re := range out[:len(out)-1] {
			cs = append(cs, strings.TrimPrefix(re[1], "=comment="))
		}
		return cs
	}
	seed := comments()
	require.Equal(t, []string{"accept established", "drop blocklist", LabGuestRule, "allow forward"}, seed)

	// Like RouterOS, every rule prints log and log-prefix, even unset.
	out, err := s.Run("/ip/firewall/filter/print", "?comment="+LabGuestRule)
	require.NoError(t, err)
	assert.Contains(t, out[0], "=log=false")
	assert.Contains(t, out[0], "=log-prefix=")

	// add appends; place-before inserts ahead of a rule.
	_, err = s.Run("/ip/firewall/filter/add", "=chain=forward", "=action=drop", "=comment=last")
	require.NoError(t, err)
	idOf := func(comment string) string {
		out, err := s.Run("/ip/firewall/filter/print", "?comment="+comment, "=.proplist=.id")
		require.NoError(t, err)
		return strings.TrimPrefix(out[0][1], "=.id=")
	}
	_, err = s.Run("/ip/firewall/filter/add", "=chain=forward", "=action=accept", "=comment=first", "=place-before="+idOf("accept established"))
	require.NoError(t, err)
	assert.Equal(t, []string{"first", "accept established", "drop blocklist", LabGuestRule, "allow forward", "last"}, comments())
	_, err = s.Run("/ip/firewall/filter/add", "=chain=forward", "=action=accept", "=place-before=*FFFF")
	assert.Error(t, err)
	_, err = s.Run("/ip/firewall/address-list/add", "=list=x", "=address=10.0.0.1", "=place-before=*1")
	assert.Error(t, err, "only ordered menus take place-before")
}

func TestConns(t *testing.T) {
	t.Parallel()
	s := Start(t)
	assert.Equal(t, 0, s.Conns())
	r := dialRaw(t, s, true)
	assert.Equal(t, 1, s.Conns())
	require.NoError(t, r.c.Close())
	require.Eventually(t, func() bool { return s.Conns() == 0 }, 2*time.Second, 5*time.Millisecond)
}

func TestFaultsArmedTogetherCountIndependently(t *testing.T) {
	t.Parallel()
	s := Start(t)
	s.Inject(Fault{Times: 1, Kind: FaultDelay, Command: "/system/identity/print", Delay: time.Millisecond})
	s.Inject(Fault{Times: 1, Kind: FaultTrap, Command: "/system/identity/print", Nth: 2, Category: 4, Message: "second"})
	s.Inject(Fault{Times: 1, Kind: FaultTrap, Command: "/system/identity/print", Nth: 2, Category: 4, Message: "also due"})
	r := dialRaw(t, s, true)
	assert.Equal(t, "!re", r.call("/system/identity/print")[0][0], "1st: delayed, answered")
	assert.Equal(t, "=message=second", r.call("/system/identity/print")[0][2], "2nd: the first trap, though the delay took the 1st")
	assert.Equal(t, "=message=also due", r.call("/system/identity/print")[0][2], "both due: the later one fires next")
	assert.Equal(t, "!re", r.call("/system/identity/print")[0][0])
}
