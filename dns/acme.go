package dns

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/thehomelab/homelab/internal/poll"
)

// ACMEComment marks the TXT records a Challenge creates, so leftovers can
// be recognised.
const ACMEComment = "acme dns-01 challenge, homelab dns"

// ChallengeName returns the DNS-01 record name for domain:
// _acme-challenge.<domain>, with a leading "*." dropped (a wildcard and its
// apex share the name).
func ChallengeName(domain string) string {
	d := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(domain)), ".")
	return "_acme-challenge." + strings.TrimPrefix(d, "*.")
}

// ChallengeValue returns the DNS-01 TXT value for an ACME key
// authorization ("token.thumbprint"): base64url of its SHA-256, without
// padding (RFC 8555 §8.4). ACME clients that hand a hook the key
// authorization rather than the value (lego's exec provider with
// EXEC_MODE=RAW) need it.
func ChallengeValue(keyAuthorization string) string {
	sum := sha256.Sum256([]byte(keyAuthorization))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// Challenge is a set of ACME DNS-01 TXT records presented on one name.
// Its methods are safe for concurrent use.
type Challenge struct {
	c      *Client
	zone   Zone
	name   string
	values []string

	mu      sync.Mutex
	records []Record
}

// PresentChallenge creates the TXT records _acme-challenge.<domain>, one
// per value (several values at once for a wildcard plus its apex). A value
// that is already there counts as presented (Cloudflare's 81057/81058).
// Call Wait before telling the CA to validate, and CleanUp afterwards.
//
// Cloudflare API: POST /zones/{zone_id}/dns_records (per value)
func (c *Client) PresentChallenge(ctx context.Context, zone Zone, domain string, values ...string) (*Challenge, error) {
	name := zone.FQDN(ChallengeName(domain))
	op := "present challenge " + name
	ch := &Challenge{c: c, zone: zone, name: name}
	for _, v := range values {
		if v == "" {
			return nil, invalid(op, "empty value")
		}
		if !slices.Contains(ch.values, v) {
			ch.values = append(ch.values, v)
		}
	}
	if len(ch.values) == 0 {
		return nil, invalid(op, "no values")
	}
	for _, v := range ch.values {
		r, err := c.CreateRecord(ctx, zone, Record{Type: TypeTXT, Name: name, Content: v, TTL: time.Minute, Comment: ACMEComment})
		if err != nil {
			// Leave nothing behind: the caller gets no handle to clean up.
			cerr := ch.CleanUp(context.WithoutCancel(ctx))
			if ctx.Err() != nil && cerr == nil {
				return nil, ctx.Err()
			}
			return nil, errors.Join(err, cerr)
		}
		ch.records = append(ch.records, r)
	}
	return ch, nil
}

// Name is the record name, e.g. _acme-challenge.thehomelab.site.
func (ch *Challenge) Name() string { return ch.name }

// Wait polls Cloudflare (every interval, backing off; 0 means 2 s) until it
// lists every value on the name, or ctx ends.
//
// Cloudflare API: GET /zones/{zone_id}/dns_records?type=TXT&name=
func (ch *Challenge) Wait(ctx context.Context, interval time.Duration) error {
	if interval <= 0 {
		interval = 2 * time.Second
	}
	return poll.Wait(ctx, interval, func(ctx context.Context) (bool, error) {
		rs, err := ch.c.ListRecords(ctx, ch.zone, RecordFilter{Type: TypeTXT, Name: ch.name})
		if err != nil {
			if errors.Is(err, ErrRateLimited) || errors.Is(err, ErrUnavailable) {
				return false, nil
			}
			return false, err
		}
		for _, v := range ch.values {
			if !slices.ContainsFunc(rs, func(r Record) bool { return strings.Trim(r.Content, `"`) == v }) {
				return false, nil
			}
		}
		return true, nil
	})
}

// CleanUp deletes the challenge's records. It is idempotent: records
// already gone count as deleted, and a second call does nothing.
//
// Cloudflare API: DELETE /zones/{zone_id}/dns_records/{id}
func (ch *Challenge) CleanUp(ctx context.Context) error {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	var errs []error
	var left []Record
	for _, r := range ch.records {
		if err := ch.c.DeleteRecord(ctx, ch.zone, r.ID); err != nil && !errors.Is(err, ErrNotFound) {
			errs = append(errs, err)
			left = append(left, r)
		}
	}
	ch.records = left
	if len(errs) > 0 && ctx.Err() != nil {
		return ctx.Err()
	}
	if len(errs) > 0 {
		return opError("clean up "+ch.name, errors.Join(errs...))
	}
	return nil
}

// CleanUpChallenge deletes the TXT records _acme-challenge.<domain> that
// hold one of values and carry ACMEComment, and returns how many it
// deleted. It is for the clean-up hook of an ACME client that runs in
// another process than the one that presented the values, and so has no
// *Challenge. Cloudflare's comment filter ignores case, so each record's
// comment is checked again, exactly, before it is deleted: a record
// somebody else made is never touched. Records already gone count as
// deleted; a second call deletes nothing.
//
// Cloudflare API: GET /zones/{zone_id}/dns_records?type=TXT&name=&comment=,
// then DELETE /zones/{zone_id}/dns_records/{id} per record
func (c *Client) CleanUpChallenge(ctx context.Context, zone Zone, domain string, values ...string) (int, error) {
	name := zone.FQDN(ChallengeName(domain))
	op := "clean up challenge " + name
	if len(values) == 0 {
		return 0, invalid(op, "no values")
	}
	rs, err := c.ListRecords(ctx, zone, RecordFilter{Type: TypeTXT, Name: name, Comment: ACMEComment})
	if err != nil {
		return 0, err
	}
	var errs []error
	deleted := 0
	for _, r := range rs {
		if r.Type != TypeTXT || r.Name != name || r.Comment != ACMEComment ||
			!slices.Contains(values, strings.Trim(r.Content, `"`)) {
			continue
		}
		if err := c.DeleteRecord(ctx, zone, r.ID); err != nil && !errors.Is(err, ErrNotFound) {
			errs = append(errs, err)
			continue
		}
		deleted++
	}
	if len(errs) > 0 {
		if ctx.Err() != nil {
			return deleted, ctx.Err()
		}
		return deleted, opError(op, errors.Join(errs...))
	}
	return deleted, nil
}
