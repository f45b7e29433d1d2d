package dns_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/dns"
	"github.com/thehomelab/homelab/dns/dnstest"
)

func TestChallengeName(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "_acme-challenge.thehomelab.site", dns.ChallengeName("*.thehomelab.site"))
	assert.Equal(t, "_acme-challenge.thehomelab.site", dns.ChallengeName("TheHomelab.site."))
	assert.Equal(t, "_acme-challenge.vpn.thehomelab.site", dns.ChallengeName("vpn.thehomelab.site"))
}

// The value for a key authorization is base64url(SHA-256) without
// padding (RFC 8555 §8.4); the expected values were computed outside Go
// (Python's hashlib and base64).
func TestChallengeValue(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "NGwKoXBgCT8JhEa0bK7AwfSqHyu_ZWeugV07fLGIVq0",
		dns.ChallengeValue("evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.nP1qzpXGymHBrUEepNY9HCsQk7K8KhOypzEt62jcerQ"))
	assert.Equal(t, "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU", dns.ChallengeValue(""))
}

func TestChallengeWildcardAndApex(t *testing.T) {
	t.Parallel()
	srv, c := newFake(t)
	ctx := t.Context()
	z := zoneOf(t, c)
	// A value already there (a retried order) counts as presented.
	srv.AddRecord(dnstest.Record{ZoneName: dnstest.SeedZone, Type: "TXT", Name: "_acme-challenge.thehomelab.site", Content: "value-apex", TTL: 60})

	ch, err := c.PresentChallenge(ctx, z, "*.thehomelab.site", "value-wild", "value-apex", "value-wild")
	require.NoError(t, err)
	assert.Equal(t, "_acme-challenge.thehomelab.site", ch.Name())
	require.NoError(t, ch.Wait(ctx, 10*time.Millisecond))
	var got []string
	for _, r := range srv.Records(ch.Name()) {
		got = append(got, r.Content)
	}
	assert.ElementsMatch(t, []string{"value-wild", "value-apex"}, got)

	require.NoError(t, ch.CleanUp(ctx))
	assert.Empty(t, srv.Records(ch.Name()))
	require.NoError(t, ch.CleanUp(ctx), "idempotent")
}

func TestChallengeWaitsUntilListed(t *testing.T) {
	t.Parallel()
	srv, c := newFake(t)
	ctx := t.Context()
	z := zoneOf(t, c)
	ch, err := c.PresentChallenge(ctx, z, "vpn.thehomelab.site", "v1")
	require.NoError(t, err)
	// Cloudflare lags: the first two listings fail.
	srv.Inject(dnstest.Fault{Endpoint: dnstest.EndpointListRecords, Kind: dnstest.Fail429, Times: 2, RetryAfter: time.Second})
	require.NoError(t, ch.Wait(ctx, 5*time.Millisecond))
	assert.Equal(t, 3, count(srv, dnstest.EndpointListRecords))
	require.NoError(t, ch.CleanUp(ctx))
}

func TestChallengeFailureLeavesNothing(t *testing.T) {
	t.Parallel()
	srv, c := newFake(t)
	z := zoneOf(t, c)
	srv.Inject(dnstest.Fault{Endpoint: dnstest.EndpointCreateRecord, Kind: dnstest.Fail500, Skip: 1})
	_, err := c.PresentChallenge(t.Context(), z, "thehomelab.site", "a", "b")
	require.ErrorIs(t, err, dns.ErrUnavailable)
	assert.Empty(t, srv.Records("_acme-challenge.thehomelab.site"))
}

func TestChallengeRefusesEmptyValues(t *testing.T) {
	t.Parallel()
	srv, c := newFake(t)
	z := zoneOf(t, c)
	srv.ResetRequests()
	for _, vals := range [][]string{nil, {""}, {"a", ""}} {
		_, err := c.PresentChallenge(t.Context(), z, "thehomelab.site", vals...)
		require.Error(t, err, vals)
	}
	assert.Zero(t, len(srv.Requests()))
}

func TestChallengeContextDone(t *testing.T) {
	t.Parallel()
	srv, c := newFake(t)
	z := zoneOf(t, c)
	ch, err := c.PresentChallenge(t.Context(), z, "thehomelab.site", "v")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	assert.Equal(t, context.Canceled, ch.Wait(ctx, time.Millisecond))
	assert.Equal(t, context.Canceled, ch.CleanUp(ctx), "ctx.Err() itself")
	assert.Len(t, srv.Records(ch.Name()), 1, "still there for a later CleanUp")
	require.NoError(t, ch.CleanUp(t.Context()))
	assert.Empty(t, srv.Records(ch.Name()))
}

// The clean-up of another process finds the records by comment; as
// Cloudflare's comment filter ignores case (and dnstest's too), a record
// whose comment differs only in case is found as well, and must survive.
func TestCleanUpChallengeChecksEachComment(t *testing.T) {
	t.Parallel()
	srv, c := newFake(t)
	ctx := t.Context()
	z := zoneOf(t, c)
	const name = "_acme-challenge.thehomelab.site"
	ch, err := c.PresentChallenge(ctx, z, "*.thehomelab.site", "ours-1", "ours-2")
	require.NoError(t, err)
	require.Equal(t, name, ch.Name())
	lookalike := srv.AddRecord(dnstest.Record{ZoneName: dnstest.SeedZone, Type: "TXT", Name: name, Content: "theirs",
		Comment: strings.ToUpper(dns.ACMEComment)})
	srv.AddRecord(dnstest.Record{ZoneName: dnstest.SeedZone, Type: "TXT", Name: name, Content: "uncommented"})

	// The filter does find the look-alike: the check is what protects it.
	found, err := c.ListRecords(ctx, z, dns.RecordFilter{Type: dns.TypeTXT, Name: name, Comment: dns.ACMEComment})
	require.NoError(t, err)
	assert.Len(t, found, 3)

	n, err := c.CleanUpChallenge(ctx, z, "thehomelab.site", "ours-1", "theirs", "uncommented")
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	var left []string
	for _, r := range srv.Records(name) {
		left = append(left, r.Content)
	}
	assert.ElementsMatch(t, []string{"ours-2", "theirs", "uncommented"}, left)
	assert.Equal(t, lookalike.ID, srv.Records(name)[1].ID)

	n, err = c.CleanUpChallenge(ctx, z, "thehomelab.site", "ours-1", "ours-2")
	require.NoError(t, err)
	assert.Equal(t, 1, n, "ours-1 is gone already: only ours-2 is left to delete")
	n, err = c.CleanUpChallenge(ctx, z, "thehomelab.site", "ours-1", "ours-2")
	require.NoError(t, err)
	assert.Zero(t, n)

	_, err = c.CleanUpChallenge(ctx, z, "thehomelab.site")
	require.ErrorIs(t, err, dns.ErrInvalid)
}
