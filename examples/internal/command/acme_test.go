package command

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/dns"
	"github.com/thehomelab/homelab/dns/dnstest"
)

func TestACMECommand(t *testing.T) {
	t.Parallel()
	srv := cloudflare(t)
	// A TXT record on the same name that the hook did not make must survive.
	srv.AddRecord(dnstest.Record{ZoneName: dnstest.SeedZone, Type: "TXT", Name: "_acme-challenge.thehomelab.site", Content: "someone-else"})
	e := env(map[string]string{"CLOUDFLARE_API_TOKEN": dnstest.SeedToken})
	base := []string{"-cloudflare", srv.URL, "-poll", "10ms"}
	txt := func() []string {
		var out []string
		for _, r := range srv.Records("_acme-challenge.thehomelab.site") {
			out = append(out, r.Content)
		}
		return out
	}

	// lego's exec provider passes the record name with a trailing dot.
	var out bytes.Buffer
	args := append(append([]string{}, base...), "present", "_acme-challenge.thehomelab.site.", "value-1")
	require.NoError(t, runACME(t.Context(), &out, &out, args, e), out.String())
	assert.Contains(t, out.String(), "presented 1 TXT record(s) on _acme-challenge.thehomelab.site")
	assert.Contains(t, out.String(), "the CA may validate thehomelab.site now")
	// Not a terminal: the wait is a plain line (lego logs it as it comes).
	assert.Contains(t, out.String(), "   waiting until Cloudflare lists every value on _acme-challenge.thehomelab.site… 0s\n")
	assert.NotContains(t, out.String(), "\r")
	assert.ElementsMatch(t, []string{"someone-else", "value-1"}, unquote(txt()))

	// A wildcard shares the name with its apex.
	out.Reset()
	args = append(append([]string{}, base...), "present", "*.thehomelab.site", "value-2")
	require.NoError(t, runACME(t.Context(), &out, &out, args, e), out.String())
	assert.ElementsMatch(t, []string{"someone-else", "value-1", "value-2"}, unquote(txt()))

	out.Reset()
	args = append(append([]string{}, base...), "cleanup", "*.thehomelab.site", "value-1", "value-2")
	require.NoError(t, runACME(t.Context(), &out, &out, args, e), out.String())
	assert.Contains(t, out.String(), "cleaned up 2 TXT record(s)")
	assert.Equal(t, []string{"someone-else"}, unquote(txt()))

	// Cleaning up twice is harmless.
	out.Reset()
	require.NoError(t, runACME(t.Context(), &out, &out, args, e))
	assert.Contains(t, out.String(), "cleaned up 0 TXT record(s)")
}

// Cloudflare's comment filter ignores case: a record whose comment only
// looks like the hook's, holding a value the clean-up was given, survives.
func TestACMECleanUpChecksTheComment(t *testing.T) {
	t.Parallel()
	srv := cloudflare(t)
	srv.AddRecord(dnstest.Record{ZoneName: dnstest.SeedZone, Type: "TXT", Name: "_acme-challenge.thehomelab.site",
		Content: "their-value", Comment: strings.ToUpper(dns.ACMEComment)})
	e := env(map[string]string{"CLOUDFLARE_API_TOKEN": dnstest.SeedToken})
	var out bytes.Buffer
	args := []string{"-cloudflare", srv.URL, "cleanup", "thehomelab.site", "their-value"}
	require.NoError(t, runACME(t.Context(), &out, &out, args, e), out.String())
	assert.Contains(t, out.String(), "cleaned up 0 TXT record(s)")
	require.Len(t, srv.Records("_acme-challenge.thehomelab.site"), 1)
}

func TestACMECommandUsage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{name: "nothing", args: nil, want: "present|cleanup"},
		{name: "no value", args: []string{"present", "thehomelab.site"}, want: "present|cleanup"},
		{name: "bad verb", args: []string{"renew", "thehomelab.site", "v"}, want: `unknown action "renew"`},
		{name: "bad flag", args: []string{"-nope"}, want: "-nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := runACME(t.Context(), &bytes.Buffer{}, io.Discard, tt.args, env(nil))
			require.Error(t, err)
			assert.True(t, errors.Is(err, ErrUsage), "%v", err)
			assert.ErrorContains(t, err, tt.want)
		})
	}
}

func unquote(vs []string) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
			v = v[1 : len(v)-1]
		}
		out[i] = v
	}
	return out
}

// lego's exec provider in RAW mode passes the domain, the token and the
// key authorization; the record holds base64url(SHA-256(key
// authorization)) (RFC 8555 §8.4; the expected value computed outside Go).
func TestACMECommandRawMode(t *testing.T) {
	t.Parallel()
	srv := cloudflare(t)
	e := env(map[string]string{"CLOUDFLARE_API_TOKEN": dnstest.SeedToken, "EXEC_MODE": "RAW"})
	base := []string{"-cloudflare", srv.URL, "-poll", "10ms"}
	keyAuth := "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.nP1qzpXGymHBrUEepNY9HCsQk7K8KhOypzEt62jcerQ"
	const want = "NGwKoXBgCT8JhEa0bK7AwfSqHyu_ZWeugV07fLGIVq0"

	var out bytes.Buffer
	args := append(append([]string{}, base...), "present", "--", "thehomelab.site", "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA", keyAuth)
	require.NoError(t, runACME(t.Context(), &out, &out, args, e), out.String())
	recs := srv.Records("_acme-challenge.thehomelab.site")
	require.Len(t, recs, 1)
	assert.Equal(t, want, strings.Trim(recs[0].Content, `"`))

	out.Reset()
	args = append(append([]string{}, base...), "cleanup", "--", "thehomelab.site", "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA", keyAuth)
	require.NoError(t, runACME(t.Context(), &out, &out, args, e), out.String())
	assert.Empty(t, srv.Records("_acme-challenge.thehomelab.site"))

	out.Reset()
	err := runACME(t.Context(), &out, &out, append(append([]string{}, base...), "present", "--", "thehomelab.site", keyAuth), e)
	require.ErrorIs(t, err, ErrUsage)
}
