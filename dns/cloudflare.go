package dns

// This file is the only one that imports cloudflare-go. It uses the
// generated v6 line service by service (dns, zones, user, accounts) and
// never the root package, which imports every one of the API's ~117
// services and would cost a minute of compilation and ~15 MB of binary.
//
// What v6 does, read in its source (v6.10.0), and what this package keeps
// doing itself because of it:
//   - errors: v6 turns a 4xx/5xx into its own *apierror.Error, but only
//     when the body is JSON (an HTML 502 from a proxy becomes a bare JSON
//     syntax error without the status), it accepts "success": false on a
//     2xx, it drops Retry-After, and it reads bodies without a cap. So
//     envelopeTransport, below v6, still reads every answer (capped) and
//     turns each failure into an *Error before v6 sees it.
//   - retries: v6 retries 10 times by default, on 408, 409, 429 and 5xx,
//     for every method (a retried POST can duplicate a record). It is set
//     to 0; httpx retries instead, only what is safe, honouring
//     Retry-After.
//   - paging: v6's auto-pager fetches the next page with
//     context.Background() (the caller's deadline is lost), keeps asking
//     until a page comes back empty (one request more than needed, and no
//     end against a server that never answers empty) and does not decode
//     total_pages. So list and zones page themselves, bounded, with ctx.
//   - PATCH bodies: v6 sends only the fields that are set (v0 sent
//     "tags": null and "settings": {}), so a PATCH carries what changes and
//     nothing else; the tags no longer need to be sent again.
//   - rate limit: v6 has no client-side pacing; envelopeTransport paces.
//   - token: v6 would keep it as a string in its options; the transport
//     sets the Authorization header from the Secret instead.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/cloudflare/cloudflare-go/v6/accounts"
	cfdns "github.com/cloudflare/cloudflare-go/v6/dns"
	"github.com/cloudflare/cloudflare-go/v6/option"
	"github.com/cloudflare/cloudflare-go/v6/user"
	"github.com/cloudflare/cloudflare-go/v6/zones"
)

type backend struct {
	records       *cfdns.RecordService
	zones         *zones.ZoneService
	userTokens    *user.TokenService
	accountTokens *accounts.TokenService
}

func newBackend(baseURL string, hc *http.Client) *backend {
	opts := []option.RequestOption{
		option.WithBaseURL(baseURL + "/"),
		option.WithHTTPClient(hc),
		option.WithMaxRetries(0),           // retries live in httpx, which honours Retry-After
		option.WithHeaderDel("User-Agent"), // let httpx send homelab/<version>
	}
	return &backend{
		records:       cfdns.NewRecordService(opts...),
		zones:         zones.NewZoneService(opts...),
		userTokens:    user.NewTokenService(opts...),
		accountTokens: accounts.NewTokenService(opts...),
	}
}

// tokenInfo is the result of GET /user/tokens/verify.
type tokenInfo struct {
	ID, Status           string
	NotBefore, ExpiresOn time.Time
}

func (b *backend) verifyToken(ctx context.Context) (tokenInfo, error) {
	v, err := b.userTokens.Verify(ctx)
	if err != nil {
		return tokenInfo{}, err
	}
	return tokenInfo{ID: v.ID, Status: string(v.Status), NotBefore: v.NotBefore, ExpiresOn: v.ExpiresOn}, nil
}

// verifyAccountToken checks an account-owned token.
func (b *backend) verifyAccountToken(ctx context.Context, accountID string) (tokenInfo, error) {
	var p accounts.TokenVerifyParams
	p.AccountID.Value, p.AccountID.Present = accountID, true
	v, err := b.accountTokens.Verify(ctx, p)
	if err != nil {
		return tokenInfo{}, err
	}
	return tokenInfo{ID: v.ID, Status: string(v.Status), NotBefore: v.NotBefore, ExpiresOn: v.ExpiresOn}, nil
}

// maxZonePages bounds the zone lookup: a name filter matches one zone, so
// more than a few pages means a broken or hostile answer.
const maxZonePages = 20

// pageInfo is the part of result_info v6 does not decode.
type pageInfo struct {
	TotalPages int `json:"total_pages"`
	TotalCount int `json:"total_count"`
	PerPage    int `json:"per_page"`
}

func totalPages(raw string) int {
	var pi pageInfo
	if raw == "" || json.Unmarshal([]byte(raw), &pi) != nil {
		return 0
	}
	if pi.TotalPages == 0 && pi.TotalCount > 0 && pi.PerPage > 0 {
		return (pi.TotalCount + pi.PerPage - 1) / pi.PerPage
	}
	return pi.TotalPages
}

// zones looks zones up by name, one page at a time (see the file comment
// on v6's pager).
func (b *backend) zonesNamed(ctx context.Context, name string) ([]Zone, error) {
	var out []Zone
	for page := 1; ; page++ {
		var p zones.ZoneListParams
		p.Name.Value, p.Name.Present = name, true
		p.Page.Value, p.Page.Present = float64(page), true
		p.PerPage.Value, p.PerPage.Present = 50, true
		res, err := b.zones.List(ctx, p)
		if err != nil {
			return nil, err
		}
		for _, z := range res.Result {
			out = append(out, Zone{ID: z.ID, Name: z.Name, Status: string(z.Status)})
		}
		if len(res.Result) == 0 || page >= totalPages(res.ResultInfo.JSON.RawJSON()) {
			return out, nil
		}
		if page >= maxZonePages {
			return nil, fmt.Errorf("zone listing for %s has more than %d pages", name, maxZonePages)
		}
	}
}

func fromCF(r cfdns.RecordResponse) Record {
	out := Record{
		ID:         r.ID,
		Type:       RecordType(r.Type),
		Name:       r.Name,
		Content:    r.Content,
		TTL:        ttlFromWire(int(r.TTL)),
		Proxied:    r.Proxied,
		Comment:    r.Comment,
		CreatedOn:  r.CreatedOn,
		ModifiedOn: r.ModifiedOn,
	}
	switch tags := r.Tags.(type) {
	case []cfdns.RecordTags:
		out.Tags = append([]string(nil), tags...)
	case []any:
		for _, t := range tags {
			if s, ok := t.(string); ok {
				out.Tags = append(out.Tags, s)
			}
		}
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

func (b *backend) list(ctx context.Context, zoneID string, f RecordFilter) ([]Record, error) {
	var p cfdns.RecordListParams
	p.ZoneID.Value, p.ZoneID.Present = zoneID, true
	if f.Type != "" {
		p.Type.Value, p.Type.Present = cfdns.RecordListParamsType(f.Type), true
	}
	if f.Name != "" {
		p.Name.Present = true
		p.Name.Value.Exact.Value, p.Name.Value.Exact.Present = f.Name, true
	}
	if f.Content != "" {
		p.Content.Present = true
		p.Content.Value.Exact.Value, p.Content.Value.Exact.Present = f.Content, true
	}
	if f.Comment != "" {
		p.Comment.Present = true
		p.Comment.Value.Exact.Value, p.Comment.Value.Exact.Present = f.Comment, true
	}
	p.PerPage.Value, p.PerPage.Present = listPerPage, true
	var out []Record
	for page := 1; ; page++ {
		p.Page.Value, p.Page.Present = float64(page), true
		res, err := b.records.List(ctx, p)
		if err != nil {
			return nil, err
		}
		for _, r := range res.Result {
			out = append(out, fromCF(r))
		}
		if len(res.Result) == 0 || page >= totalPages(res.ResultInfo.JSON.RawJSON()) {
			return out, nil
		}
		if page >= maxListPages {
			return nil, fmt.Errorf("record listing has more than %d pages", maxListPages)
		}
	}
}

func (b *backend) get(ctx context.Context, zoneID, id string) (Record, error) {
	var p cfdns.RecordGetParams
	p.ZoneID.Value, p.ZoneID.Present = zoneID, true
	r, err := b.records.Get(ctx, id, p)
	if err != nil {
		return Record{}, err
	}
	return fromCF(*r), nil
}

func (b *backend) create(ctx context.Context, zoneID string, r Record) (Record, error) {
	var body cfdns.RecordNewParamsBody
	body.Type.Value, body.Type.Present = cfdns.RecordNewParamsBodyType(r.Type), true
	body.Name.Value, body.Name.Present = r.Name, true
	body.Content.Value, body.Content.Present = r.Content, true
	if ttl := ttlToWire(r.TTL); ttl > 0 {
		body.TTL.Value, body.TTL.Present = cfdns.TTL(ttl), true
	}
	if r.Type == TypeA || r.Type == TypeAAAA || r.Type == TypeCNAME {
		body.Proxied.Value, body.Proxied.Present = r.Proxied, true
	}
	if r.Comment != "" {
		body.Comment.Value, body.Comment.Present = r.Comment, true
	}
	if len(r.Tags) > 0 {
		body.Tags.Value, body.Tags.Present = r.Tags, true
	}
	var p cfdns.RecordNewParams
	p.ZoneID.Value, p.ZoneID.Present = zoneID, true
	p.Body = body
	got, err := b.records.New(ctx, p)
	if err != nil {
		return Record{}, err
	}
	return fromCF(*got), nil
}

// patch sends the record's type (Cloudflare picks the schema by it) and
// only what p sets.
func (b *backend) patch(ctx context.Context, zoneID string, cur Record, p RecordPatch) (Record, error) {
	var body cfdns.RecordEditParamsBody
	body.Type.Value, body.Type.Present = cfdns.RecordEditParamsBodyType(cur.Type), true
	if p.Content != "" {
		body.Content.Value, body.Content.Present = p.Content, true
	}
	if ttl := ttlToWire(p.TTL); ttl > 0 {
		body.TTL.Value, body.TTL.Present = cfdns.TTL(ttl), true
	}
	if p.Proxied != nil {
		body.Proxied.Value, body.Proxied.Present = *p.Proxied, true
	}
	if p.Comment != nil {
		body.Comment.Value, body.Comment.Present = *p.Comment, true
	}
	if p.Tags != nil {
		body.Tags.Value, body.Tags.Present = p.Tags, true
	}
	var params cfdns.RecordEditParams
	params.ZoneID.Value, params.ZoneID.Present = zoneID, true
	params.Body = body
	got, err := b.records.Edit(ctx, cur.ID, params)
	if err != nil {
		return Record{}, err
	}
	return fromCF(*got), nil
}

func (b *backend) delete(ctx context.Context, zoneID, id string) error {
	var p cfdns.RecordDeleteParams
	p.ZoneID.Value, p.ZoneID.Present = zoneID, true
	_, err := b.records.Delete(ctx, id, p)
	return err
}

// listPage reads one record (one page of size 1): a cheap read probe.
func (b *backend) listPage(ctx context.Context, zoneID string) ([]Record, error) {
	var p cfdns.RecordListParams
	p.ZoneID.Value, p.ZoneID.Present = zoneID, true
	p.Page.Value, p.Page.Present = 1, true
	p.PerPage.Value, p.PerPage.Present = 1, true
	res, err := b.records.List(ctx, p)
	if err != nil {
		return nil, err
	}
	out := make([]Record, 0, len(res.Result))
	for _, r := range res.Result {
		out = append(out, fromCF(r))
	}
	return out, nil
}
