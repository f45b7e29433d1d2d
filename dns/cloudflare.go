package dns

// This file is the only one that imports cloudflare-go. Moving to the
// generated SDK line means rewriting these methods and nothing else: they
// take and return this package's types, and every failure the HTTP layer
// sees arrives as an *Error from envelopeTransport, whatever the SDK does
// with it.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"time"

	cloudflare "github.com/cloudflare/cloudflare-go"
)

type backend struct {
	api *cloudflare.API
}

func newBackend(baseURL string, hc *http.Client, rps float64) (*backend, error) {
	if rps == 0 {
		rps = math.MaxFloat64 // rate.Inf: no client-side pacing
	}
	// The token is set by envelopeTransport from the Secret; v0 insists on
	// a non-empty value, so it gets a placeholder it will never send.
	api, err := cloudflare.NewWithAPIToken("set-by-transport",
		cloudflare.BaseURL(baseURL),
		cloudflare.HTTPClient(hc),
		cloudflare.UserAgent(""),             // let httpx send homelab/<version>
		cloudflare.UsingRetryPolicy(0, 0, 0), // retries live in httpx, which honours Retry-After
		cloudflare.UsingRateLimit(rps),
	)
	if err != nil {
		return nil, err
	}
	return &backend{api: api}, nil
}

// tokenInfo is the result of GET /user/tokens/verify.
type tokenInfo struct {
	ID, Status           string
	NotBefore, ExpiresOn time.Time
}

func (b *backend) verifyToken(ctx context.Context) (tokenInfo, error) {
	v, err := b.api.VerifyAPIToken(ctx)
	if err != nil {
		return tokenInfo{}, err
	}
	return tokenInfo{ID: v.ID, Status: v.Status, NotBefore: v.NotBefore, ExpiresOn: v.ExpiresOn}, nil
}

// verifyAccountToken checks an account-owned token; v0 has no call for
// it, so it goes through Raw.
func (b *backend) verifyAccountToken(ctx context.Context, accountID string) (tokenInfo, error) {
	raw, err := b.api.Raw(ctx, http.MethodGet, "/accounts/"+url.PathEscape(accountID)+"/tokens/verify", nil, nil)
	if err != nil {
		return tokenInfo{}, err
	}
	var v cloudflare.APITokenVerifyBody
	if err := json.Unmarshal(raw.Result, &v); err != nil {
		return tokenInfo{}, fmt.Errorf("decode token: %w", err)
	}
	return tokenInfo{ID: v.ID, Status: v.Status, NotBefore: v.NotBefore, ExpiresOn: v.ExpiresOn}, nil
}

// maxZonePages bounds the zone lookup: a name filter matches one zone, so
// more than a few pages means a broken or hostile answer.
const maxZonePages = 20

// zones looks zones up by name. It pages itself instead of calling v0's
// ListZonesContext, which sizes a slice from the answer's total_count and
// starts a goroutine per announced page: a lying result_info panics it
// (negative or short count) or makes it fetch thousands of pages at once.
func (b *backend) zones(ctx context.Context, name string) ([]Zone, error) {
	var out []Zone
	for page := 1; ; page++ {
		q := url.Values{"name": {name}, "page": {strconv.Itoa(page)}, "per_page": {"50"}}
		raw, err := b.api.Raw(ctx, http.MethodGet, "/zones?"+q.Encode(), nil, nil)
		if err != nil {
			return nil, err
		}
		var zs []struct {
			ID     string `json:"id"`
			Name   string `json:"name"`
			Status string `json:"status"`
		}
		if err := json.Unmarshal(raw.Result, &zs); err != nil {
			return nil, fmt.Errorf("decode zones: %w", err)
		}
		for _, z := range zs {
			out = append(out, Zone{ID: z.ID, Name: z.Name, Status: z.Status})
		}
		if len(zs) == 0 || raw.ResultInfo == nil || page >= raw.ResultInfo.TotalPages {
			return out, nil
		}
		if page >= maxZonePages {
			return nil, fmt.Errorf("zone listing for %s has more than %d pages", name, maxZonePages)
		}
	}
}

func fromCF(r cloudflare.DNSRecord) Record {
	out := Record{
		ID:         r.ID,
		Type:       RecordType(r.Type),
		Name:       r.Name,
		Content:    r.Content,
		TTL:        ttlFromWire(r.TTL),
		Proxied:    r.Proxied != nil && *r.Proxied,
		Comment:    r.Comment,
		Tags:       r.Tags,
		CreatedOn:  r.CreatedOn,
		ModifiedOn: r.ModifiedOn,
	}
	out.Addr = typedContent(out.Type, out.Content)
	return out
}

// listPerPage asks for big pages (Cloudflare's default is 100), so the
// Updater's one listing of a zone stays one request for up to 5,000
// records; maxListPages bounds what a lying total_pages can cost.
const (
	listPerPage  = 5000
	maxListPages = 200
)

// list pages itself: v0 only auto-paginates with its default page size.
func (b *backend) list(ctx context.Context, zoneID string, f RecordFilter) ([]Record, error) {
	params := cloudflare.ListDNSRecordsParams{
		Type: string(f.Type), Name: f.Name, Content: f.Content, Comment: f.Comment,
		ResultInfo: cloudflare.ResultInfo{Page: 1, PerPage: listPerPage},
	}
	var out []Record
	for {
		rs, ri, err := b.api.ListDNSRecords(ctx, cloudflare.ZoneIdentifier(zoneID), params)
		if err != nil {
			return nil, err
		}
		for _, r := range rs {
			out = append(out, fromCF(r))
		}
		pages := 0
		if ri != nil {
			pages = ri.TotalPages
			if pages == 0 && ri.Total > 0 && ri.PerPage > 0 {
				pages = (ri.Total + ri.PerPage - 1) / ri.PerPage
			}
		}
		if len(rs) == 0 || params.Page >= pages {
			return out, nil
		}
		if params.Page >= maxListPages {
			return nil, fmt.Errorf("record listing has more than %d pages", maxListPages)
		}
		params.Page++
	}
}

func (b *backend) get(ctx context.Context, zoneID, id string) (Record, error) {
	r, err := b.api.GetDNSRecord(ctx, cloudflare.ZoneIdentifier(zoneID), id)
	if err != nil {
		return Record{}, err
	}
	return fromCF(r), nil
}

func (b *backend) create(ctx context.Context, zoneID string, r Record) (Record, error) {
	p := cloudflare.CreateDNSRecordParams{
		Type: string(r.Type), Name: r.Name, Content: r.Content, TTL: ttlToWire(r.TTL),
		Comment: r.Comment, Tags: r.Tags,
	}
	if r.Type == TypeA || r.Type == TypeAAAA || r.Type == TypeCNAME {
		p.Proxied = &r.Proxied
	}
	got, err := b.api.CreateDNSRecord(ctx, cloudflare.ZoneIdentifier(zoneID), p)
	if err != nil {
		return Record{}, err
	}
	return fromCF(got), nil
}

// patchBody is the PATCH request body. v0's UpdateDNSRecordParams would
// also send "settings": {} (omitempty does nothing on a struct), a field
// this package never means to touch, so the body is ours and goes through
// Raw.
type patchBody struct {
	Type    string   `json:"type"`
	Content string   `json:"content,omitempty"`
	TTL     int      `json:"ttl,omitempty"`
	Proxied *bool    `json:"proxied,omitempty"`
	Comment *string  `json:"comment,omitempty"`
	Tags    []string `json:"tags"`
}

// patch sends only what p sets, plus the tags (never nil: null would
// clear them).
func (b *backend) patch(ctx context.Context, zoneID string, cur Record, p RecordPatch) (Record, error) {
	if p.Tags == nil {
		return Record{}, errors.New("internal: patch without tags")
	}
	body := patchBody{Type: string(cur.Type), Content: p.Content, TTL: ttlToWire(p.TTL), Proxied: p.Proxied, Comment: p.Comment, Tags: p.Tags}
	raw, err := b.api.Raw(ctx, http.MethodPatch, "/zones/"+url.PathEscape(zoneID)+"/dns_records/"+url.PathEscape(cur.ID), body, nil)
	if err != nil {
		return Record{}, err
	}
	var got cloudflare.DNSRecord
	if err := json.Unmarshal(raw.Result, &got); err != nil {
		return Record{}, fmt.Errorf("decode record: %w", err)
	}
	return fromCF(got), nil
}

func (b *backend) delete(ctx context.Context, zoneID, id string) error {
	return b.api.DeleteDNSRecord(ctx, cloudflare.ZoneIdentifier(zoneID), id)
}

// listPage reads one record (one page of size 1): a cheap read probe.
func (b *backend) listPage(ctx context.Context, zoneID string) ([]Record, error) {
	rs, _, err := b.api.ListDNSRecords(ctx, cloudflare.ZoneIdentifier(zoneID), cloudflare.ListDNSRecordsParams{
		ResultInfo: cloudflare.ResultInfo{Page: 1, PerPage: 1},
	})
	if err != nil {
		return nil, err
	}
	out := make([]Record, 0, len(rs))
	for _, r := range rs {
		out = append(out, fromCF(r))
	}
	return out, nil
}
