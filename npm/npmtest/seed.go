package npmtest

import "time"

// Credentials and names of the seeded lab.
const (
	// AdminEmail and AdminPassword log in as the seeded administrator.
	AdminEmail    = "admin@thehomelab.site"
	AdminPassword = "changeme-homelab"
	// Domain is the lab's zone.
	Domain = "thehomelab.site"
	// WildcardCertificateID is the seeded Let's Encrypt certificate for
	// "*.thehomelab.site" and "thehomelab.site" (Cloudflare DNS challenge).
	WildcardCertificateID = 1
	// LANAccessListID is the seeded access list "lan-only" (LAN and VPN
	// allowed, everything else denied).
	LANAccessListID = 1
)

// SeedApp is one of the lab's web apps the server is seeded with, each a
// proxy host on <name>.thehomelab.site using the wildcard certificate with
// SSL forced, HTTP/2, HSTS and exploit blocking.
type SeedApp struct {
	FQDN          string
	ForwardScheme string
	ForwardHost   string
	ForwardPort   int
	Websockets    bool
	LANOnly       bool // behind the "lan-only" access list
}

// Seed returns the 11 seeded apps in id order (proxy host ids 1–11): the
// containers of the lab's docker host plus the Proxmox, OpenMediaVault and
// router web UIs.
func Seed() []SeedApp {
	return []SeedApp{
		{"pihole.thehomelab.site", "http", "pihole", 80, false, true},
		{"portainer.thehomelab.site", "http", "portainer", 9000, true, true},
		{"heimdall.thehomelab.site", "http", "heimdall", 80, false, false},
		{"checkmk.thehomelab.site", "http", "checkmk", 5000, false, true},
		{"nextcloud.thehomelab.site", "http", "nextcloud", 80, false, false},
		{"transmission.thehomelab.site", "http", "transmission", 9091, false, true},
		{"photo.thehomelab.site", "http", "photoprism", 2342, true, false},
		{"portfolio.thehomelab.site", "http", "portfolio", 8000, false, false},
		{"proxmox.thehomelab.site", "https", "192.168.1.6", 8006, true, true},
		{"nas.thehomelab.site", "http", "192.168.1.5", 80, false, true},
		{"router.thehomelab.site", "http", "192.168.1.1", 80, false, true},
	}
}

func (s *Server) seedLocked() {
	t0 := s.now().Add(-30 * 24 * time.Hour)
	s.certSeq++
	s.certs[s.certSeq] = &cert{
		id: s.certSeq, owner: 1, created: t0, modified: t0, provider: "letsencrypt",
		niceName: "*.thehomelab.site, thehomelab.site", domains: []string{"*.thehomelab.site", "thehomelab.site"},
		expires: t0.Add(90 * 24 * time.Hour),
		meta: map[string]any{"dns_challenge": true, "dns_provider": "cloudflare",
			"dns_provider_credentials": "dns_cloudflare_api_token = seeded-cloudflare-token", "propagation_seconds": 30},
	}
	s.aclSeq++
	s.acls[s.aclSeq] = &acl{id: s.aclSeq, owner: 1, created: t0, modified: t0, name: "lan-only", passAuth: false,
		clients: []aclClient{{"192.168.1.0/24", "allow"}, {"192.168.100.0/24", "allow"}, {"all", "deny"}}}
	t := s.tables[kindProxy]
	for _, a := range Seed() {
		t.seq++
		cols := s.defaults(kindProxy)
		cols["domain_names"] = []any{a.FQDN}
		cols["forward_scheme"] = a.ForwardScheme
		cols["forward_host"] = a.ForwardHost
		cols["forward_port"] = a.ForwardPort
		cols["certificate_id"] = WildcardCertificateID
		cols["ssl_forced"], cols["http2_support"], cols["hsts_enabled"], cols["block_exploits"] = true, true, true, true
		cols["allow_websocket_upgrade"] = a.Websockets
		if a.LANOnly {
			cols["access_list_id"] = LANAccessListID
		}
		cols["meta"] = map[string]any{"nginx_online": true, "nginx_err": nil}
		t.rows[t.seq] = &row{id: t.seq, owner: 1, created: t0, modified: t0, cols: cols}
	}
	r := s.tables[kindRedirection]
	r.seq++
	rc := s.defaults(kindRedirection)
	rc["domain_names"] = []any{"www.thehomelab.site"}
	rc["forward_http_code"] = 301
	rc["forward_domain_name"] = "heimdall.thehomelab.site"
	rc["certificate_id"], rc["ssl_forced"] = WildcardCertificateID, true
	r.rows[r.seq] = &row{id: r.seq, owner: 1, created: t0, modified: t0, cols: rc}
	st := s.tables[kindStream]
	st.seq++
	sc := s.defaults(kindStream)
	sc["incoming_port"], sc["forwarding_host"], sc["forwarding_port"] = 51413, "transmission", 51413
	sc["tcp_forwarding"], sc["udp_forwarding"] = true, true
	st.rows[st.seq] = &row{id: st.seq, owner: 1, created: t0, modified: t0, cols: sc}
}
