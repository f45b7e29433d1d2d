package routerostest

import (
	"crypto/sha256"
	"encoding/base64"
	"time"
)

// The seed lab: what a new Server holds, mirroring the homelab router.
const (
	LabIdentity      = "homelab-router"
	LabBoard         = "hAP ax^2"
	LabPublicIP      = "203.0.113.45" // pppoe-out1 address (/32)
	LabGateway       = "203.0.113.1"  // PPPoE peer
	LabCloudIP       = "203.0.113.45" // /ip/cloud public-address
	LabDNSName       = "a1b2c3d4e5f6.sn.mynetname.net"
	LabLAN           = "192.168.1.0/24"
	LabGuest         = "10.1.1.0/24"
	LabVPN           = "192.168.100.0/24"
	LabWireGuard     = "wireguard1"
	LabWireGuardPort = "13231"
	LabGuestRule     = "guest isolation" // comment of the forward drop rule
	// LabGuestInputRule is the comment of the input drop that keeps guests
	// off the router's own services.
	LabGuestInputRule = "guest to router"
)

const labUptime = 3*24*time.Hour + 4*time.Hour + 12*time.Minute + 40*time.Second

// LabKey derives a stable 44-character WireGuard key from a label, so the
// seed lab is the same on every run.
func LabKey(label string) string {
	k := sha256.Sum256([]byte("routerostest " + label))
	k[0] &= 248
	k[31] = k[31]&127 | 64
	return base64.StdEncoding.EncodeToString(k[:])
}

func (s *Server) seed() error {
	s.settings["/system/identity"] = map[string]string{"name": LabIdentity}
	s.settings["/system/clock"] = map[string]string{"time-zone-name": "UTC"}
	ddns := "true" // a boolean before 7.17 (MikroTik docs, IP/Cloud)
	if s.version >= version(7, 17, 0) {
		ddns = "yes" // yes, no or auto from 7.17; auto is the default
	}
	s.settings["/ip/cloud"] = map[string]string{
		"ddns-enabled": ddns, "ddns-update-interval": "none", "update-time": "true",
		"public-address": LabCloudIP, "dns-name": LabDNSName, "status": "updated",
	}
	s.settings["/system/resource"] = map[string]string{
		"build-time": "2025-11-27 08:17:04", "factory-software": "7.5", "free-memory": "705699840",
		"total-memory": "1073741824", "cpu": "ARM64", "cpu-count": "4", "cpu-frequency": "864",
		"cpu-load": "7", "free-hdd-space": "96468992", "total-hdd-space": "134217728",
		"architecture-name": "arm64", "board-name": LabBoard, "platform": "MikroTik",
		"write-sect-since-reboot": "1520", "write-sect-total": "48213", "bad-blocks": "0",
	}
	rows := []struct {
		menu string
		kv   map[string]string
	}{
		{"/interface/pppoe-client", map[string]string{"name": "pppoe-out1", "interface": "ether1", "user": "homelab@isp", "password": "isp-secret"}},
		{"/interface/wireguard", map[string]string{"name": LabWireGuard, "listen-port": LabWireGuardPort, "private-key": LabKey("wireguard1 private")}},
		{"/ip/address", map[string]string{"address": "192.168.1.1/24", "interface": "bridge-lan", "comment": "LAN"}},
		{"/ip/address", map[string]string{"address": "10.1.1.1/24", "interface": "bridge-guest", "comment": "Guest"}},
		{"/ip/address", map[string]string{"address": "192.168.100.1/24", "interface": LabWireGuard, "comment": "VPN"}},
		{"/ip/address", map[string]string{"address": LabPublicIP + "/32", "network": LabGateway, "interface": "pppoe-out1", "dynamic": "true"}},
		{"/ip/route", map[string]string{"dst-address": "0.0.0.0/0", "gateway": "pppoe-out1", "distance": "1", "dynamic": "true", "static": "false"}},
		{"/ip/route", map[string]string{"dst-address": LabLAN, "gateway": "bridge-lan", "distance": "0", "dynamic": "true", "static": "false", "connect": "true"}},
		{"/ip/route", map[string]string{"dst-address": LabGuest, "gateway": "bridge-guest", "distance": "0", "dynamic": "true", "static": "false", "connect": "true"}},
		{"/ip/route", map[string]string{"dst-address": LabVPN, "gateway": LabWireGuard, "distance": "0", "dynamic": "true", "static": "false", "connect": "true"}},
		{"/ip/dhcp-server/lease", map[string]string{"address": "192.168.1.10", "mac-address": "AA:BB:CC:00:00:10", "server": "dhcp-lan", "comment": "nas", "host-name": "nas", "status": "bound", "expires-after": "0s"}},
		{"/ip/dhcp-server/lease", map[string]string{"address": "192.168.1.23", "mac-address": "AA:BB:CC:00:00:23", "server": "dhcp-lan", "host-name": "laptop", "dynamic": "true", "status": "bound", "expires-after": "9m12s", "last-seen": "48s"}},
		{"/ip/dhcp-server/lease", map[string]string{"address": "10.1.1.50", "mac-address": "AA:BB:CC:00:01:50", "server": "dhcp-guest", "host-name": "guest-phone", "dynamic": "true", "status": "bound", "expires-after": "25m3s", "last-seen": "1m2s"}},
		{"/ip/firewall/address-list", map[string]string{"list": "blocklist", "address": "198.51.100.7", "comment": "scanner"}},
		{"/ip/firewall/address-list", map[string]string{"list": "blocklist", "address": "198.51.100.0/28"}},
		{"/ip/firewall/filter", map[string]string{"chain": "input", "action": "accept", "connection-state": "established,related,untracked", "comment": "accept established"}},
		{"/ip/firewall/filter", map[string]string{"chain": "input", "action": "drop", "connection-state": "invalid", "comment": "drop invalid"}},
		{"/ip/firewall/filter", map[string]string{"chain": "input", "action": "drop", "in-interface": "pppoe-out1", "comment": "drop WAN input"}},
		{"/ip/firewall/filter", map[string]string{"chain": "forward", "action": "accept", "connection-state": "established,related", "comment": "accept established"}},
		{"/ip/firewall/filter", map[string]string{"chain": "forward", "action": "drop", "src-address-list": "blocklist", "comment": "drop blocklist"}},
		{"/ip/firewall/filter", map[string]string{"chain": "forward", "action": "drop", "src-address": LabGuest, "dst-address": LabLAN, "comment": LabGuestRule}},
		{"/ip/firewall/filter", map[string]string{"chain": "forward", "action": "accept", "comment": "allow forward"}},
		{"/interface/wireguard/peers", map[string]string{"interface": LabWireGuard, "public-key": LabKey("phone public"), "allowed-address": "192.168.100.2/32", "comment": "phone"}},
		{"/interface/wireguard/peers", map[string]string{"interface": LabWireGuard, "public-key": LabKey("laptop public"), "allowed-address": "192.168.100.3/32", "comment": "laptop"}},
		{"/system/script", map[string]string{"name": "cloudflare-ddns", "source": ":local ip [/ip cloud get public-address]\n:log info \"ddns $ip\"", "policy": "read,write,test"}},
		{"/system/scheduler", map[string]string{"name": "ddns", "on-event": "cloudflare-ddns", "interval": "5m", "start-time": "startup"}},
		// Appended last so the ids above stay as they were.
		{"/interface/list", map[string]string{"name": "LAN", "comment": "defconf"}},
		{"/interface/list", map[string]string{"name": "WAN", "comment": "defconf"}},
		{"/interface/list/member", map[string]string{"list": "LAN", "interface": "bridge-lan", "comment": "defconf"}},
		{"/interface/list/member", map[string]string{"list": "LAN", "interface": LabWireGuard}},
		{"/interface/list/member", map[string]string{"list": "WAN", "interface": "ether1", "comment": "defconf"}},
		{"/interface/list/member", map[string]string{"list": "WAN", "interface": "pppoe-out1"}},
		// Appended after the lists, again so earlier ids stay.
		{"/interface", map[string]string{"name": "ether1", "type": "ether", "mac-address": "48:A9:8A:00:00:01", "comment": "WAN"}},
		{"/interface", map[string]string{"name": "ether2", "type": "ether", "mac-address": "48:A9:8A:00:00:02"}},
		{"/interface", map[string]string{"name": "ether3", "type": "ether", "mac-address": "48:A9:8A:00:00:03"}},
		{"/interface", map[string]string{"name": "ether4", "type": "ether", "mac-address": "48:A9:8A:00:00:04"}},
		{"/interface", map[string]string{"name": "ether5", "type": "ether", "mac-address": "48:A9:8A:00:00:05", "comment": "Guest"}},
		{"/interface", map[string]string{"name": "bridge-lan", "type": "bridge", "mac-address": "48:A9:8A:00:00:02"}},
		{"/interface", map[string]string{"name": "bridge-guest", "type": "bridge", "mac-address": "48:A9:8A:00:00:05"}},
		// RouterOS 7 defaults (MikroTik docs, Services): every service on
		// its well-known port, www-ssl disabled until it has a certificate.
		{"/ip/service", map[string]string{"name": "telnet", "port": "23", "proto": "tcp"}},
		{"/ip/service", map[string]string{"name": "ftp", "port": "21", "proto": "tcp"}},
		{"/ip/service", map[string]string{"name": "www", "port": "80", "proto": "tcp"}},
		{"/ip/service", map[string]string{"name": "ssh", "port": "22", "proto": "tcp"}},
		{"/ip/service", map[string]string{"name": "www-ssl", "port": "443", "proto": "tcp", "disabled": "true"}},
		{"/ip/service", map[string]string{"name": "api", "port": "8728", "proto": "tcp"}},
		{"/ip/service", map[string]string{"name": "winbox", "port": "8291", "proto": "tcp"}},
		{"/ip/service", map[string]string{"name": "api-ssl", "port": "8729", "proto": "tcp"}},
		// Guests may ask the router for DNS and DHCP, nothing else: the
		// input chain protects the router's services from them (these
		// follow "drop WAN input" in the input chain).
		{"/ip/firewall/filter", map[string]string{"chain": "input", "action": "accept", "in-interface": "bridge-guest", "protocol": "udp", "dst-port": "53,67", "comment": "guest dns and dhcp"}},
		{"/ip/firewall/filter", map[string]string{"chain": "input", "action": "drop", "in-interface": "bridge-guest", "comment": LabGuestInputRule}},
	}
	for _, u := range s.users {
		rows = append(rows, struct {
			menu string
			kv   map[string]string
		}{"/user", map[string]string{"name": u[0], "password": u[1], "group": u[2]}})
	}
	for _, r := range rows {
		t := s.tables[r.menu]
		vals := clone(t.spec.defaults)
		if vals == nil {
			vals = map[string]string{}
		}
		for k, v := range r.kv {
			vals[k] = v
		}
		if r.menu == "/interface/wireguard/peers" && s.version >= version(7, 15, 0) {
			vals["name"] = r.kv["comment"]
			if s.version >= version(7, 17, 0) {
				vals["responder"] = "true"
			} else {
				vals["is-responder"] = "true"
			}
			vals["last-handshake"] = "1m20s"
		}
		if err := s.derive(r.menu, vals); err != nil {
			return err
		}
		s.insert(r.menu, vals)
	}
	return nil
}
