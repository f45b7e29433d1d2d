package dnstest_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/dns/dnstest"
)

// Record filters as Cloudflare's API reference lists them (list DNS
// records: name, content, comment and tag operators, proxied, search,
// match, tag_match, order, direction); names and comments match without
// regard to case.
func TestRecordFilters(t *testing.T) {
	t.Parallel()
	srv := dnstest.Start(t)
	z, _ := srv.Zone(dnstest.SeedZone)
	// The seed holds the apex: A 198.51.100.7, proxied, comment "reverse proxy".
	srv.AddRecord(dnstest.Record{ZoneName: dnstest.SeedZone, Type: "A", Name: "vpn.thehomelab.site", Content: "203.0.113.10", TTL: 300,
		Comment: "Managed by homelab DNS", Tags: []string{"team:lab", "env:prod"}})
	srv.AddRecord(dnstest.Record{ZoneName: dnstest.SeedZone, Type: "TXT", Name: "_acme-challenge.thehomelab.site", Content: "Token-ABC", TTL: 60,
		Comment: "acme dns-01 challenge, homelab dns", Tags: []string{"team:certs"}})
	srv.AddRecord(dnstest.Record{ZoneName: dnstest.SeedZone, Type: "CNAME", Name: "photo.thehomelab.site", Content: "thehomelab.site", Proxied: true})

	names := func(query string) []string {
		t.Helper()
		st, e, _ := do(t, srv, dnstest.SeedToken, "GET", "/zones/"+z.ID+"/dns_records?"+strings.ReplaceAll(query, " ", "%20"), "")
		require.Equal(t, 200, st, query)
		var rs []struct {
			Name string `json:"name"`
		}
		require.NoError(t, json.Unmarshal(e.Result, &rs))
		out := []string{}
		for _, r := range rs {
			out = append(out, r.Name)
		}
		return out
	}
	const apex, vpn, acme, photo = "thehomelab.site", "vpn.thehomelab.site", "_acme-challenge.thehomelab.site", "photo.thehomelab.site"
	tests := []struct {
		query string
		want  []string
	}{
		{"", []string{apex, vpn, acme, photo}},
		{"name=VPN.thehomelab.site", []string{vpn}},
		{"name.exact=vpn.TheHomelab.site", []string{vpn}},
		{"name.contains=ACME", []string{acme}},
		{"name.startswith=ph", []string{photo}},
		{"name.endswith=.thehomelab.site", []string{vpn, acme, photo}},
		{"content.exact=token-abc", []string{acme}},
		{"content.contains=203.0", []string{vpn}},
		{"content.startswith=198.", []string{apex}},
		{"content.endswith=LAB.SITE", []string{photo}},
		{"comment=managed by homelab dns", []string{vpn}},
		{"comment.exact=MANAGED BY HOMELAB DNS", []string{vpn}},
		{"comment.contains=Homelab", []string{vpn, acme}},
		{"comment.startswith=acme", []string{acme}},
		{"comment.endswith=PROXY", []string{apex}},
		{"comment.present", []string{apex, vpn, acme}},
		{"comment.absent", []string{photo}},
		{"proxied=true", []string{apex, photo}},
		{"proxied=false", []string{vpn, acme}},
		{"tag.exact=TEAM:lab", []string{vpn}},
		{"tag=team:lab", []string{vpn}},
		{"tag.contains=team:ert", []string{acme}},
		{"tag.startswith=team:l", []string{vpn}},
		{"tag.endswith=env:od", []string{vpn}},
		{"tag.present=env", []string{vpn}},
		{"tag.absent=team", []string{apex, photo}},
		{"tag.exact=team:lab&tag.exact=team:certs", []string{}},
		{"tag.exact=team:lab&tag.exact=team:certs&tag_match=any", []string{vpn, acme}},
		{"type=a&proxied=true", []string{apex}},
		{"type=A&proxied=true&match=any", []string{apex, vpn, photo}},
		{"search=token", []string{acme}},
		{"search=team:LAB", []string{vpn}},
		{"search=thehomelab&type=CNAME", []string{photo}},
		{"order=name", []string{acme, photo, apex, vpn}},
		{"order=name&direction=desc", []string{vpn, apex, photo, acme}},
		{"order=ttl&direction=desc", []string{vpn, acme, apex, photo}},
		{"order=type", []string{apex, vpn, photo, acme}},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, names(tt.query), tt.query)
	}

	// A filter the fake does not know is refused, never ignored.
	for _, q := range []string{"name.regex=x", "comment.like=x", "bogus=1", "match=some", "tag_match=most", "proxied=maybe",
		"order=created_on", "direction=up", "type=BOGUS", "tag.exact=no-colon", "content.present"} {
		st, e, _ := do(t, srv, dnstest.SeedToken, "GET", "/zones/"+z.ID+"/dns_records?"+q, "")
		assert.Equal(t, 400, st, q)
		assert.False(t, e.Success, q)
	}
}

// Zone filters: name and account.name with their operators, status,
// account.id, match, type, order and direction.
func TestZoneFilters(t *testing.T) {
	t.Parallel()
	srv := dnstest.Start(t)
	srv.AddZone("example.org")
	srv.AddZone("TheHomelab.net")
	names := func(query string) []string {
		t.Helper()
		st, e, _ := do(t, srv, dnstest.SeedToken, "GET", "/zones?"+query, "")
		require.Equal(t, 200, st, query)
		var zs []struct {
			Name string `json:"name"`
		}
		require.NoError(t, json.Unmarshal(e.Result, &zs))
		out := []string{}
		for _, z := range zs {
			out = append(out, z.Name)
		}
		return out
	}
	tests := []struct {
		query string
		want  []string
	}{
		{"", []string{"thehomelab.site", "example.org", "thehomelab.net"}},
		{"name=THEHOMELAB.SITE", []string{"thehomelab.site"}},
		{"name=" + url.QueryEscape("equal:thehomelab.site"), []string{"thehomelab.site"}},
		{"name=" + url.QueryEscape("not_equal:thehomelab.site"), []string{"example.org", "thehomelab.net"}},
		{"name=" + url.QueryEscape("starts_with:TheHome"), []string{"thehomelab.site", "thehomelab.net"}},
		{"name=" + url.QueryEscape("ends_with:.org"), []string{"example.org"}},
		{"name=" + url.QueryEscape("contains:homelab"), []string{"thehomelab.site", "thehomelab.net"}},
		{"name=" + url.QueryEscape("starts_with_case_sensitive:TheHome"), []string{}},
		{"name=" + url.QueryEscape("contains_case_sensitive:homelab"), []string{"thehomelab.site", "thehomelab.net"}},
		{"status=active", []string{"thehomelab.site", "example.org", "thehomelab.net"}},
		{"status=pending", []string{}},
		{"account.id=" + dnstest.SeedAccountID, []string{"thehomelab.site", "example.org", "thehomelab.net"}},
		{"account.id=other", []string{}},
		{"account.name=" + url.QueryEscape("starts_with:home"), []string{"thehomelab.site", "example.org", "thehomelab.net"}},
		{"name=example.org&status=pending&match=any", []string{"example.org"}},
		{"type=full", []string{"thehomelab.site", "example.org", "thehomelab.net"}},
		{"type=partial,secondary", []string{}},
		{"order=name", []string{"example.org", "thehomelab.net", "thehomelab.site"}},
		{"order=name&direction=desc", []string{"thehomelab.site", "thehomelab.net", "example.org"}},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, names(tt.query), tt.query)
	}
	for _, q := range []string{"bogus=1", "status=gone", "match=some", "order=size", "direction=up", "type=huge"} {
		st, _, _ := do(t, srv, dnstest.SeedToken, "GET", "/zones?"+q, "")
		assert.Equal(t, 400, st, q)
	}
}

// Zones and records carry the fields Cloudflare's API returns.
func TestAnswersCarryTheAPIFields(t *testing.T) {
	t.Parallel()
	srv := dnstest.Start(t)
	st, e, _ := do(t, srv, dnstest.SeedToken, "GET", "/zones?name=thehomelab.site", "")
	require.Equal(t, 200, st)
	var zs []map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(e.Result, &zs))
	require.Len(t, zs, 1)
	for _, k := range []string{"id", "name", "status", "account", "activated_on", "created_on", "modified_on", "development_mode",
		"meta", "name_servers", "original_dnshost", "original_name_servers", "original_registrar", "owner", "plan",
		"paused", "permissions", "type", "tenant", "tenant_unit"} {
		assert.Contains(t, zs[0], k)
	}
	var meta map[string]any
	require.NoError(t, json.Unmarshal(zs[0]["meta"], &meta))
	assert.Contains(t, meta, "page_rule_quota")

	z, _ := srv.Zone(dnstest.SeedZone)
	st, e, _ = do(t, srv, dnstest.SeedToken, "POST", "/zones/"+z.ID+"/dns_records",
		`{"type":"CNAME","name":"www","content":"thehomelab.site","comment":"c","tags":["a:b"],"settings":{"flatten_cname":true}}`)
	require.Equal(t, 200, st)
	var rec map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(e.Result, &rec))
	for _, k := range []string{"id", "name", "type", "content", "proxiable", "proxied", "ttl", "settings", "meta", "comment", "tags",
		"created_on", "modified_on", "comment_modified_on", "tags_modified_on"} {
		assert.Contains(t, rec, k)
	}
	assert.JSONEq(t, `{"flatten_cname":true}`, string(rec["settings"]))

	st, _, _ = do(t, srv, dnstest.SeedToken, "POST", "/zones/"+z.ID+"/dns_records",
		`{"type":"TXT","name":"t","content":"x","settings":{"flatten_cname":true}}`)
	assert.Equal(t, 400, st, "flatten_cname is a CNAME setting")
}
