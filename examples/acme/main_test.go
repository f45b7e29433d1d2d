package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/dns/dnstest"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestACME(t *testing.T) {
	t.Parallel()
	cf := dnstest.Start(t)
	// A TXT record on the same name that the hook did not make must survive.
	cf.AddRecord(dnstest.Record{ZoneName: dnstest.SeedZone, Type: "TXT", Name: "_acme-challenge.thehomelab.site", Content: "someone-else"})
	e := env(map[string]string{"CLOUDFLARE_API_TOKEN": dnstest.SeedToken})
	txt := func() (out []string) {
		for _, r := range cf.Records("_acme-challenge.thehomelab.site") {
			out = append(out, strings.Trim(r.Content, `"`))
		}
		return out
	}
	base := []string{"-cloudflare", cf.URL, "-poll", "10ms"}

	var out, errOut bytes.Buffer
	require.Equal(t, 0, run(t.Context(), append(base, "present", "_acme-challenge.thehomelab.site.", "value-1"), &out, &errOut, e), errOut.String())
	assert.Contains(t, out.String(), "the CA may validate thehomelab.site now.")
	assert.ElementsMatch(t, []string{"someone-else", "value-1"}, txt())

	out.Reset()
	require.Equal(t, 0, run(t.Context(), append(base, "cleanup", "*.thehomelab.site", "value-1"), &out, &errOut, e), errOut.String())
	assert.Equal(t, "Deleted 1 TXT record(s) on _acme-challenge.thehomelab.site.\n", out.String())
	assert.Equal(t, []string{"someone-else"}, txt())
}

// lego with EXEC_MODE=RAW passes the key authorization: the hook
// publishes its digest (dns.ChallengeValue) and cleans it up again.
func TestACMERawMode(t *testing.T) {
	t.Parallel()
	cf := dnstest.Start(t)
	e := env(map[string]string{"CLOUDFLARE_API_TOKEN": dnstest.SeedToken})
	base := []string{"-cloudflare", cf.URL, "-poll", "10ms"}
	const token = "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA"
	keyAuth := token + ".nP1qzpXGymHBrUEepNY9HCsQk7K8KhOypzEt62jcerQ"

	var out, errOut bytes.Buffer
	require.Equal(t, 0, run(t.Context(), append(base, "present", "--", "thehomelab.site.", token, keyAuth), &out, &errOut, e), errOut.String())
	recs := cf.Records("_acme-challenge.thehomelab.site")
	require.Len(t, recs, 1)
	assert.Equal(t, "NGwKoXBgCT8JhEa0bK7AwfSqHyu_ZWeugV07fLGIVq0", strings.Trim(recs[0].Content, `"`))

	require.Equal(t, 0, run(t.Context(), append(base, "cleanup", "--", "thehomelab.site.", token, keyAuth), &out, &errOut, e), errOut.String())
	assert.Empty(t, cf.Records("_acme-challenge.thehomelab.site"))

	errOut.Reset()
	assert.Equal(t, 2, run(t.Context(), append(base, "present", "--", "thehomelab.site.", keyAuth), &out, &errOut, e))
	assert.Contains(t, errOut.String(), "RAW mode")
}

func TestACMEFailures(t *testing.T) {
	t.Parallel()
	cf := dnstest.Start(t)
	tests := []struct {
		name string
		args []string
		env  map[string]string
		code int
		want string
	}{
		{"token refused", []string{"-cloudflare", cf.URL, "present", "thehomelab.site", "v"}, map[string]string{"CLOUDFLARE_API_TOKEN": "wrong-token"}, 3, "acme: dns:"},
		{"unknown verb", []string{"publish", "thehomelab.site", "v"}, nil, 2, `unknown action "publish"`},
		{"no value", []string{"present", "thehomelab.site"}, nil, 2, "want present|cleanup"},
		{"no token", []string{"present", "thehomelab.site", "v"}, nil, 2, "set CLOUDFLARE_API_TOKEN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out, errOut bytes.Buffer
			assert.Equal(t, tt.code, run(t.Context(), tt.args, &out, &errOut, env(tt.env)))
			assert.Contains(t, errOut.String(), tt.want)
			assert.Equal(t, 1, strings.Count(errOut.String(), "acme:"), errOut.String())
		})
	}
}
