package dns_test

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/dns"
)

func TestParseEcho(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body string
		fam        dns.Family
		want       string // "" means an error
	}{
		{"bare", "203.0.113.7", dns.IPv4, "203.0.113.7"},
		{"whitespace", " \r\n\t203.0.113.7\n\n", dns.IPv4, "203.0.113.7"},
		{"trace", "fl=123\nh=cloudflare.com\nip=203.0.113.7\nts=1700000000.1\nvisit_scheme=https\n", dns.IPv4, "203.0.113.7"},
		{"json", `{"ip":"2001:db8::7"}`, dns.IPv6, "2001:db8::7"},
		{"html", "<html><body><h1>Your IP</h1><p class=\"ip\">203.0.113.7</p></body></html>", dns.IPv4, "203.0.113.7"},
		{"ipv6 zone", "fe80::1%eth0\n2001:db8::1%ppp0", dns.IPv6, ""},
		{"ipv6 zone single", "2001:db8::1%ppp0", dns.IPv6, "2001:db8::1"},
		{"mapped", "::ffff:203.0.113.7", dns.IPv4, "203.0.113.7"},
		{"wrong family", "203.0.113.7", dns.IPv6, ""},
		{"two addresses", "203.0.113.7 203.0.113.8", dns.IPv4, ""},
		{"same twice", "ip=203.0.113.7 (203.0.113.7)", dns.IPv4, "203.0.113.7"},
		{"garbage", "\x00\xff not an address at all 999.1.1.1", dns.IPv4, ""},
		{"empty", "", dns.IPv4, ""},
		{"error page", "<html>502 Bad Gateway</html>", dns.IPv4, ""},
		{"label glued", "Current IP Address:203.0.113.7", dns.IPv4, "203.0.113.7"},
		{"label glued ipv6", "IP:2001:db8::7", dns.IPv6, ""}, // ambiguous: "IP:" is not split off an IPv6 address
		{"time is not an address", "updated 10:20:30.5", dns.IPv4, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a, err := dns.ParseEcho([]byte(tt.body), tt.fam)
			if tt.want == "" {
				require.ErrorIs(t, err, dns.ErrBadAddress)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, netip.MustParseAddr(tt.want), a)
		})
	}
}

func FuzzParseEcho(f *testing.F) {
	seeds, err := filepath.Glob(filepath.Join("testdata", "echo", "*"))
	require.NoError(f, err)
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		require.NoError(f, err)
		f.Add(b, true)
		f.Add(b, false)
	}
	f.Fuzz(func(t *testing.T, body []byte, v4 bool) {
		fam := dns.IPv6
		if v4 {
			fam = dns.IPv4
		}
		a, err := dns.ParseEcho(body, fam)
		if err != nil {
			if a.IsValid() {
				t.Fatalf("address %s returned with error %v", a, err)
			}
			return
		}
		if a.Is4() != v4 || a.Zone() != "" || !a.IsValid() {
			t.Fatalf("ParseEcho(%q, %s) = %s", body, fam, a)
		}
	})
}

func TestCheckPublic(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"203.0.113.7", "8.8.8.8", "2001:db8::1", "2a00:1450::1"} {
		assert.NoError(t, dns.CheckPublic(netip.MustParseAddr(ok)), ok)
	}
	for bad, why := range map[string]string{
		"10.1.2.3": "private", "172.16.0.1": "private", "192.168.1.1": "private", "100.64.0.1": "cgnat",
		"100.127.255.255": "cgnat", "127.0.0.1": "loopback", "169.254.0.1": "link-local", "0.0.0.0": "unspecified",
		"239.1.1.1": "multicast", "224.0.0.1": "link-local", "255.255.255.255": "reserved", "0.1.2.3": "reserved", "::1": "loopback",
		"fe80::1": "link-local", "fd12::1": "private", "::": "unspecified", "::ffff:8.8.8.8": "ipv4-mapped", "ff02::1": "link-local",
		"3fff::1:1": "", "fe80::1%eth0": "scoped", "192.0.0.9": "reserved", "198.18.0.1": "reserved", "198.19.255.1": "reserved",
	} {
		err := dns.CheckPublic(netip.MustParseAddr(bad))
		if why == "" {
			continue
		}
		require.ErrorIs(t, err, dns.ErrBadAddress, bad)
		assert.Contains(t, err.Error(), why, bad)
	}
	assert.ErrorIs(t, dns.CheckPublic(netip.Addr{}), dns.ErrBadAddress)
}

func TestEchoSource(t *testing.T) {
	t.Parallel()
	body := "ip=203.0.113.9\n"
	status := http.StatusOK
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv.Listener.Close()
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)

	src := dns.EchoSource(srv.URL, dns.IPv4, srv.Client())
	a, err := src(t.Context())
	require.NoError(t, err)
	assert.Equal(t, netip.MustParseAddr("203.0.113.9"), a)

	body = "<html>oops</html>"
	_, err = src(t.Context())
	require.ErrorIs(t, err, dns.ErrBadAddress)

	status, body = http.StatusServiceUnavailable, "203.0.113.9"
	_, err = src(t.Context())
	require.Error(t, err)
}

func TestPickInterfaceAddr(t *testing.T) {
	t.Parallel()
	cidr := func(s string) net.Addr {
		ip, n, err := net.ParseCIDR(s)
		require.NoError(t, err)
		n.IP = ip
		return n
	}
	addrs := []net.Addr{cidr("192.168.1.1/24"), cidr("fe80::1/64"), cidr("203.0.113.4/32"), cidr("2001:db8::4/64")}
	a, err := dns.PickInterfaceAddr(addrs, dns.IPv4)
	require.NoError(t, err)
	assert.Equal(t, "203.0.113.4", a.String())
	a, err = dns.PickInterfaceAddr(addrs, dns.IPv6)
	require.NoError(t, err)
	assert.Equal(t, "2001:db8::4", a.String())
	_, err = dns.PickInterfaceAddr(addrs[:2], dns.IPv4)
	require.ErrorIs(t, err, dns.ErrBadAddress)
	assert.Contains(t, err.Error(), "private")
}

func TestInterfaceSourceLoopback(t *testing.T) {
	t.Parallel()
	ifs, err := net.Interfaces()
	require.NoError(t, err)
	for _, ifi := range ifs {
		if ifi.Flags&net.FlagLoopback != 0 {
			_, err := dns.InterfaceSource(ifi.Name, dns.IPv4)(t.Context())
			require.ErrorIs(t, err, dns.ErrBadAddress, "loopback is never public")
			return
		}
	}
	t.Skip("no loopback interface")
}

func TestInterfaceSourceMissing(t *testing.T) {
	t.Parallel()
	_, err := dns.InterfaceSource("no-such-if0", dns.IPv4)(t.Context())
	require.Error(t, err)
}

func TestUnknownFamily(t *testing.T) {
	t.Parallel()
	_, err := dns.ParseEcho([]byte("2001:db8::1"), dns.Family(0))
	require.ErrorIs(t, err, dns.ErrBadAddress)
	assert.Contains(t, err.Error(), "family(0)")
	_, err = dns.PickInterfaceAddr(nil, dns.Family(5))
	require.ErrorIs(t, err, dns.ErrBadAddress)
	assert.Equal(t, "ipv4 ipv6", dns.IPv4.String()+" "+dns.IPv6.String())
}

// An echo answer over the cap is refused with ErrTooLarge, never parsed
// cut: here the cut would keep 203.0.113.9 and drop the second, different
// address after the cap that makes the answer ambiguous.
func TestEchoSourceTooLarge(t *testing.T) {
	t.Parallel()
	pad := strings.Repeat("x", 1024) + "\n"
	for name, endless := range map[string]bool{"over the cap": false, "endless": true} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprint(w, "ip=203.0.113.9\n")
				for n := 0; endless || n <= dns.MaxEcho; n += len(pad) {
					if _, err := fmt.Fprint(w, pad); err != nil {
						return // the client hung up
					}
				}
				fmt.Fprint(w, "ip=198.51.100.7\n")
			}))
			l, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			srv.Listener.Close()
			srv.Listener = l
			srv.Start()
			t.Cleanup(srv.Close)

			a, err := dns.EchoSource(srv.URL, dns.IPv4, srv.Client())(t.Context())
			require.ErrorIs(t, err, dns.ErrTooLarge, "got %s", a)
			assert.ErrorIs(t, err, dns.ErrUnavailable)
			var e *dns.Error
			require.ErrorAs(t, err, &e)
			assert.False(t, a.IsValid())
			assert.Contains(t, err.Error(), "too large")
		})
	}
	_, err := dns.ParseEcho([]byte("203.0.113.9 "+strings.Repeat(" ", dns.MaxEcho)), dns.IPv4)
	assert.ErrorIs(t, err, dns.ErrTooLarge)
}
