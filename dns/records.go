package dns

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"golang.org/x/net/idna"

	"github.com/thehomelab/homelab/internal/httpx"
)

// RecordType is a DNS record type as Cloudflare spells it.
type RecordType string

// Record types the package gives typed content to; others pass through.
const (
	TypeA     RecordType = "A"
	TypeAAAA  RecordType = "AAAA"
	TypeCNAME RecordType = "CNAME"
	TypeTXT   RecordType = "TXT"
	TypeMX    RecordType = "MX"
)

// TTLAuto is Cloudflare's "automatic" TTL (ttl 1 on the wire, currently
// 300 s). Proxied records always have it.
const TTLAuto = time.Second

// Zone is a Cloudflare zone.
type Zone struct {
	ID     string
	Name   string
	Status string
}

// FQDN expands a name relative to the zone: "" and "@" are the apex,
// "vpn" is vpn.<zone>, a name already inside the zone is kept. Names are
// lower-cased, lose a trailing dot and are converted to punycode (as
// Cloudflare returns them).
func (z Zone) FQDN(name string) string {
	name = normName(name)
	switch {
	case name == "" || name == "@" || name == z.Name:
		return z.Name
	case strings.HasSuffix(name, "."+z.Name):
		return name
	}
	return name + "." + z.Name
}

// normName lower-cases, trims and converts an IDN to punycode (left as is
// when it cannot be converted).
func normName(name string) string {
	name = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(name)), ".")
	if a, err := idnaProfile.ToASCII(name); err == nil {
		return a
	}
	return name
}

var idnaProfile = idna.New(idna.MapForLookup(), idna.Transitional(false), idna.StrictDomainName(false))

// Record is a DNS record. A and AAAA content is an address (Addr); other
// types use Content.
type Record struct {
	ID   string
	Type RecordType
	// Name is the fully qualified name.
	Name string
	// Addr is the content of A and AAAA records.
	Addr netip.Addr
	// Content is the wire content (set for every type, also A/AAAA).
	Content string
	// TTL is the time to live; TTLAuto (or 0 on create) means automatic.
	TTL time.Duration
	// Proxied reports whether traffic goes through Cloudflare's proxy.
	Proxied bool
	// Comment is free text (no line breaks); the Updater marks its records
	// with it.
	Comment string
	// Tags are name:value labels.
	Tags []string
	// CreatedOn and ModifiedOn are set by Cloudflare.
	CreatedOn  time.Time
	ModifiedOn time.Time
}

// String is a short human form: "vpn.thehomelab.site A 203.0.113.10".
func (r Record) String() string {
	return fmt.Sprintf("%s %s %s", r.Name, r.Type, r.Content)
}

// content is what goes on the wire for r.
func (r Record) content() string {
	if (r.Type == TypeA || r.Type == TypeAAAA) && r.Addr.IsValid() {
		return r.Addr.String()
	}
	return r.Content
}

// check refuses A/AAAA content of the wrong family before a request is made.
func (r Record) check() error {
	switch r.Type {
	case "":
		return errors.New("record type missing")
	case TypeA, TypeAAAA:
		a, err := netip.ParseAddr(r.content())
		if err != nil {
			return fmt.Errorf("%s record needs an address: %w", r.Type, err)
		}
		if (r.Type == TypeA) != a.Is4() || a.Zone() != "" {
			return fmt.Errorf("%s record cannot hold %s", r.Type, a)
		}
	default:
		if r.content() == "" {
			return fmt.Errorf("%s record needs content", r.Type)
		}
	}
	if strings.ContainsAny(r.Comment, "\r\n") {
		return errors.New("comment must not contain line breaks")
	}
	return nil
}

// ttlToWire converts a TTL to Cloudflare's seconds (1 = automatic, 0 = not
// sent).
func ttlToWire(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	if d <= TTLAuto {
		return 1
	}
	return int(d / time.Second)
}

// ttlFromWire is the inverse; 0 and 1 are automatic.
func ttlFromWire(s int) time.Duration {
	if s <= 1 {
		return TTLAuto
	}
	return time.Duration(s) * time.Second
}

// typedContent fills Addr for A/AAAA records whose content parses.
func typedContent(typ RecordType, content string) netip.Addr {
	if typ != TypeA && typ != TypeAAAA {
		return netip.Addr{}
	}
	a, err := netip.ParseAddr(content)
	if err != nil {
		return netip.Addr{}
	}
	return a
}

// RecordFilter narrows ListRecords. Zero fields do not filter.
type RecordFilter struct {
	Type RecordType
	// Name is expanded with Zone.FQDN.
	Name    string
	Content string
	// Comment matches exactly.
	Comment string
}

// RecordPatch changes some fields of a record; zero fields keep theirs.
type RecordPatch struct {
	// Addr sets the content of an A/AAAA record.
	Addr netip.Addr
	// Content sets the content of other types.
	Content string
	// TTL sets the TTL (TTLAuto for automatic); 0 keeps it.
	TTL time.Duration
	// Proxied sets the proxy status; nil keeps it.
	Proxied *bool
	// Comment sets the comment; nil keeps it, "" clears it.
	Comment *string
	// Tags replaces the tags; nil keeps the current ones (they are sent
	// again, because v0 would send null).
	Tags []string
}

// Ptr returns a pointer to v, for RecordPatch's optional fields.
func Ptr[T any](v T) *T { return &v }

// Zone finds a zone by name. Exactly one zone must match: none is
// ErrZoneNotFound (the zone does not exist or the token cannot see it),
// several are ErrAmbiguousZone.
//
// Cloudflare API: GET /zones?name={name}
func (c *Client) Zone(ctx context.Context, name string) (Zone, error) {
	name = normName(name)
	op := "find zone " + name
	cctx, cancel, err := c.call(ctx, op)
	defer cancel()
	if err != nil {
		return Zone{}, err
	}
	zs, err := c.cf.zones(cctx, name)
	if err != nil {
		return Zone{}, wrap(ctx, op, err)
	}
	var match []Zone
	for _, z := range zs {
		if strings.EqualFold(z.Name, name) {
			match = append(match, z)
		}
	}
	switch len(match) {
	case 0:
		return Zone{}, &Error{Op: op, Message: "missing, or the token has no permission on it", Err: ErrZoneNotFound}
	case 1:
		return match[0], nil
	}
	return Zone{}, &Error{Op: op, Message: fmt.Sprintf("%d zones match", len(match)), Err: ErrAmbiguousZone}
}

// ListRecords lists the zone's records matching f, following pagination.
//
// Cloudflare API: GET /zones/{zone_id}/dns_records
func (c *Client) ListRecords(ctx context.Context, zone Zone, f RecordFilter) ([]Record, error) {
	if f.Name != "" {
		f.Name = zone.FQDN(f.Name)
	}
	op := "list records " + zone.Name
	if f.Name != "" {
		op = "list records " + f.Name
	}
	cctx, cancel, err := c.call(ctx, op)
	defer cancel()
	if err != nil {
		return nil, err
	}
	rs, err := c.cf.list(cctx, zone.ID, f)
	return rs, wrap(ctx, op, err)
}

// GetRecord reads one record by id.
//
// Cloudflare API: GET /zones/{zone_id}/dns_records/{id}
func (c *Client) GetRecord(ctx context.Context, zone Zone, id string) (Record, error) {
	op := "get record " + id
	if id == "" {
		return Record{}, invalid(op, "empty record id")
	}
	cctx, cancel, err := c.call(ctx, op)
	defer cancel()
	if err != nil {
		return Record{}, err
	}
	r, err := c.cf.get(cctx, zone.ID, id)
	return r, wrap(ctx, op, err)
}

// CreateRecord creates a record (ID and timestamps of r are ignored; Name
// is expanded with Zone.FQDN). When Cloudflare answers that the record
// already exists (81057/81058), the records of that name are read again
// and an existing record with the same type and content is returned as
// success; anything else is ErrConflict.
//
// Cloudflare API: POST /zones/{zone_id}/dns_records
func (c *Client) CreateRecord(ctx context.Context, zone Zone, r Record) (Record, error) {
	r.Name = zone.FQDN(r.Name)
	op := fmt.Sprintf("create record %s %s", r.Name, r.Type)
	if err := r.check(); err != nil {
		return Record{}, invalid(op, "%v", err)
	}
	r.Content = r.content()
	cctx, cancel, err := c.call(ctx, op)
	defer cancel()
	if err != nil {
		return Record{}, err
	}
	got, err := c.cf.create(cctx, zone.ID, r)
	if err == nil {
		return got, nil
	}
	err = wrap(ctx, op, err)
	var e *Error
	if errors.As(err, &e) && (e.HasCode(CodeRecordExists) || e.HasCode(CodeIdenticalRecord)) {
		rs, lerr := c.cf.list(cctx, zone.ID, RecordFilter{Type: r.Type, Name: r.Name})
		if lerr != nil {
			return Record{}, errors.Join(err, wrap(ctx, "recheck "+r.Name, lerr))
		}
		for _, x := range rs {
			if x.Type == r.Type && sameContent(x, r) {
				return x, nil
			}
		}
	}
	return Record{}, err
}

func sameContent(a, b Record) bool {
	if a.Addr.IsValid() && b.Addr.IsValid() {
		return a.Addr == b.Addr
	}
	return strings.Trim(a.Content, `"`) == strings.Trim(b.Content, `"`)
}

// PatchRecord changes the fields set in p on the record cur (as last
// read: its ID, type, name and tags are used). It never PUTs, so comment,
// tags, TTL and proxy status survive unless p sets them.
//
// Cloudflare API: PATCH /zones/{zone_id}/dns_records/{id}
func (c *Client) PatchRecord(ctx context.Context, zone Zone, cur Record, p RecordPatch) (Record, error) {
	op := fmt.Sprintf("patch record %s %s", cur.Name, cur.Type)
	if cur.ID == "" {
		return Record{}, invalid(op, "empty record id")
	}
	want := cur
	if p.Addr.IsValid() {
		want.Addr, want.Content = p.Addr, p.Addr.String()
	} else if p.Content != "" {
		want.Content, want.Addr = p.Content, typedContent(cur.Type, p.Content)
	}
	if p.Comment != nil {
		want.Comment = *p.Comment
	}
	if err := want.check(); err != nil {
		return Record{}, invalid(op, "%v", err)
	}
	if p.Tags == nil {
		p.Tags = slices.Clone(cur.Tags)
		if p.Tags == nil {
			p.Tags = []string{}
		}
	}
	if want.Content != cur.Content {
		p.Content = want.Content
	} else {
		p.Content = ""
	}
	cctx, cancel, err := c.call(ctx, op)
	defer cancel()
	if err != nil {
		return Record{}, err
	}
	// Setting fields to values is idempotent, so a PATCH may be resent
	// after a dropped connection or a 429.
	got, err := c.cf.patch(httpx.Retryable(cctx), zone.ID, cur, p)
	return got, wrap(ctx, op, err)
}

// DeleteRecord deletes a record by id.
//
// Cloudflare API: DELETE /zones/{zone_id}/dns_records/{id}
func (c *Client) DeleteRecord(ctx context.Context, zone Zone, id string) error {
	op := "delete record " + id
	if id == "" {
		return invalid(op, "empty record id")
	}
	cctx, cancel, err := c.call(ctx, op)
	defer cancel()
	if err != nil {
		return err
	}
	return wrap(ctx, op, c.cf.delete(cctx, zone.ID, id))
}
