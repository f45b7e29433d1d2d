package dns

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/thehomelab/homelab/internal/poll"
)

// DefaultComment marks the records an Updater owns.
const DefaultComment = "managed by homelab dns"

// DefaultVerifyEvery is how often an Updater re-reads Cloudflare when the
// address has not changed.
const DefaultVerifyEvery = time.Hour

// NeverVerify, as UpdaterConfig.VerifyEvery, turns the periodic
// re-verification off: while the address is unchanged and every name is
// published, the Updater makes no Cloudflare request at all (a
// long-running service that must not spend API calls on a quiet day).
// Cloudflare is still read on the first cycle, when the address changes,
// after a failed change and on Recheck, and every DefaultVerifyEvery while
// a name is blocked by an unmanaged record (so a record its owner hands
// over is picked up); a record edited by hand in between stays as edited
// until then.
const NeverVerify time.Duration = -1

// DefaultSourceTimeout is how long an Updater waits for an address
// source.
const DefaultSourceTimeout = 30 * time.Second

// UpdaterConfig configures an Updater. Zone, Names and at least one source
// are required.
type UpdaterConfig struct {
	// Zone is the zone name, e.g. "thehomelab.site".
	Zone string
	// Names are the record names to keep on the current address, fully
	// qualified or relative to Zone ("vpn", "@").
	Names []string
	// IPv4 feeds A records and IPv6 AAAA records; nil leaves that family
	// alone.
	IPv4, IPv6 Source
	// Comment marks owned records; "" means DefaultComment. Only records
	// carrying it are changed or deleted.
	Comment string
	// Adopt lists names whose existing records without the comment may be
	// taken over when the name has no owned record of that family: the
	// first gets the address and the comment, the others are deleted.
	// Unmanaged records of other names are reported and never touched; a
	// CNAME on a name is never adopted.
	Adopt []string
	// TTL and Proxied apply to records the Updater creates; existing
	// records keep theirs. TTL 0 means automatic.
	TTL     time.Duration
	Proxied bool
	// VerifyEvery is how often Cloudflare is re-read while the address is
	// unchanged, so manual edits get repaired; 0 means DefaultVerifyEvery
	// and a negative value (NeverVerify) never re-reads.
	VerifyEvery time.Duration
	// SourceTimeout bounds each call of a source, so a router or echo
	// service that never answers cannot stall the cycle (and Run);
	// 0 means DefaultSourceTimeout.
	SourceTimeout time.Duration
	// OnEvent, when set, is called by Run after every cycle (on Run's
	// goroutine; keep it short).
	OnEvent func(Event)
}

// Action is what a change did (or, in a plan, would do). Its zero value
// is Unchanged.
type Action int

// Actions.
const (
	Unchanged Action = iota
	Created
	Updated
	Deleted
)

// String returns "unchanged", "created", "updated" or "deleted".
func (a Action) String() string {
	switch a {
	case Unchanged:
		return "unchanged"
	case Created:
		return "created"
	case Updated:
		return "updated"
	case Deleted:
		return "deleted"
	}
	return fmt.Sprintf("action(%d)", int(a))
}

// Change is one record change, with the record before and after (zero
// Before for a create, zero After for a delete).
type Change struct {
	// Field names the record set changed: "vpn.thehomelab.site A".
	Field string
	// Old and New are the content before and after ("" for a create or a
	// delete).
	Old, New string
	// Action is Created, Updated or Deleted.
	Action Action
	Before Record
	After  Record
}

// newChange fills Field, Old and New from the records.
func newChange(a Action, before, after Record) Change {
	c := Change{Action: a, Before: before, After: after, Old: before.Content, New: after.Content}
	r := after
	if a == Deleted {
		r = before
	}
	c.Field = r.Name + " " + string(r.Type)
	return c
}

// String is a one-line description, e.g.
// "update vpn.thehomelab.site A 203.0.113.10 -> 198.51.100.20".
func (c Change) String() string {
	switch c.Action {
	case Created:
		return fmt.Sprintf("create %s", c.After)
	case Deleted:
		return fmt.Sprintf("delete %s", c.Before)
	}
	s := fmt.Sprintf("update %s -> %s", c.Before, c.After.Content)
	if c.Before.Comment != c.After.Comment {
		s += fmt.Sprintf(" (comment %q)", c.After.Comment)
	}
	return s
}

// UpdatePlan is what an update cycle would change, from PlanUpdate. It
// changes nothing until given to Apply; printed, it is a dry run.
type UpdatePlan struct {
	// IPv4 and IPv6 are the addresses the sources reported (zero when the
	// family is not managed or its source failed).
	IPv4, IPv6 netip.Addr
	// Checked reports whether Cloudflare was read for the plan; when
	// false the address is the one last published and Apply sends
	// nothing.
	Checked bool
	// Changes are the record changes Apply would make.
	Changes []Change
	// Unmanaged are records of managed names without the managed comment,
	// left alone.
	Unmanaged []Record

	u       *Updater
	gen     uint64
	blocked []blockage
	kept    []Record
}

// Changed reports whether the plan holds changes.
func (p UpdatePlan) Changed() bool { return len(p.Changes) > 0 }

// String prints the plan, one line each: the addresses, then every change
// or that there is none, then the records left alone.
func (p UpdatePlan) String() string {
	return describe(p.IPv4, p.IPv6, p.Checked, p.Changes, p.Unmanaged, "")
}

// UpdateResult is what an update cycle did, from Apply, Update or an
// Event.
type UpdateResult struct {
	// IPv4 and IPv6 are the addresses the sources reported.
	IPv4, IPv6 netip.Addr
	// Checked reports whether Cloudflare was read in this cycle.
	Checked bool
	// Records are the owned records as they end up (as the Updater
	// remembers them).
	Records []Record
	// Action sums the changes up: Unchanged when there were none, Created
	// or Deleted when every change was one, Updated otherwise.
	Action Action
	// Changes are the record changes made.
	Changes []Change
	// Unmanaged are records of managed names without the managed comment,
	// left alone.
	Unmanaged []Record
}

// Changed reports whether the cycle changed a record.
func (r UpdateResult) Changed() bool { return len(r.Changes) > 0 }

// String prints the result like UpdatePlan.String.
func (r UpdateResult) String() string {
	return describe(r.IPv4, r.IPv6, r.Checked, r.Changes, r.Unmanaged, "done: ")
}

func describe(v4, v6 netip.Addr, checked bool, changes []Change, unmanaged []Record, prefix string) string {
	var addrs []string
	for _, a := range []netip.Addr{v4, v6} {
		if a.IsValid() {
			addrs = append(addrs, a.String())
		}
	}
	at := strings.Join(addrs, " and ")
	if at == "" {
		at = "no address"
	}
	var lines []string
	switch {
	case !checked:
		lines = append(lines, fmt.Sprintf("address %s unchanged: nothing sent to Cloudflare", at))
	case len(changes) == 0:
		lines = append(lines, fmt.Sprintf("records hold %s: nothing to change", at))
	default:
		lines = append(lines, fmt.Sprintf("address %s:", at))
		for _, c := range changes {
			lines = append(lines, prefix+c.String())
		}
	}
	for _, r := range unmanaged {
		lines = append(lines, fmt.Sprintf("left alone (no managed comment): %s", r))
	}
	return strings.Join(lines, "\n")
}

func summarize(changes []Change) Action {
	if len(changes) == 0 {
		return Unchanged
	}
	a := changes[0].Action
	for _, c := range changes[1:] {
		if c.Action != a {
			return Updated
		}
	}
	return a
}

// EventKind classifies a Run cycle.
type EventKind int

// Event kinds.
const (
	EventUnchanged EventKind = iota + 1
	EventChanged
	EventError
)

// String returns "unchanged", "changed" or "error".
func (k EventKind) String() string {
	switch k {
	case EventChanged:
		return "changed"
	case EventUnchanged:
		return "unchanged"
	case EventError:
		return "error"
	}
	return "unknown"
}

// Event reports one Run cycle, for notifications.
type Event struct {
	Kind EventKind
	Time time.Time
	// Err is the cycle's failure (Kind EventError).
	Err error
	// Result is what the cycle did.
	Result UpdateResult
	// Next is the wait before the next cycle.
	Next time.Duration
}

// Updater keeps A/AAAA records on the current public address (DDNS). It
// remembers what it published: when the sources report the same address
// it makes no Cloudflare request until VerifyEvery has passed or Recheck
// is called. Its methods are safe for concurrent use; cycles run one at a
// time.
type Updater struct {
	c       *Client
	cfg     UpdaterConfig
	zone    Zone
	names   []string
	adopt   map[string]bool
	sources map[Family]Source

	mu         sync.Mutex
	published  map[Family]netip.Addr
	records    []Record
	blocked    []blockage // names left alone at the last read
	unmanaged  []Record   // and the records in their way
	verifiedAt time.Time
	dirty      bool
	gen        uint64 // bumped whenever the memory changes; a plan of an older one is stale
	now        func() time.Time
}

// NewUpdater returns an Updater for cfg. It makes no request.
func (c *Client) NewUpdater(cfg UpdaterConfig) (*Updater, error) {
	const op = "new updater"
	z := normName(cfg.Zone)
	if z == "" {
		return nil, invalid(op, "zone missing")
	}
	if len(cfg.Names) == 0 {
		return nil, invalid(op, "no names")
	}
	if cfg.IPv4 == nil && cfg.IPv6 == nil {
		return nil, invalid(op, "no address source")
	}
	if cfg.Comment == "" {
		cfg.Comment = DefaultComment
	}
	if strings.ContainsAny(cfg.Comment, "\r\n") {
		return nil, invalid(op, "comment must not contain line breaks")
	}
	if cfg.VerifyEvery == 0 {
		cfg.VerifyEvery = DefaultVerifyEvery
	}
	if cfg.SourceTimeout < 0 {
		return nil, invalid(op, "source timeout %s must not be negative", cfg.SourceTimeout)
	}
	if cfg.SourceTimeout == 0 {
		cfg.SourceTimeout = DefaultSourceTimeout
	}
	u := &Updater{
		c: c, cfg: cfg, zone: Zone{Name: z},
		adopt:     map[string]bool{},
		sources:   map[Family]Source{},
		published: map[Family]netip.Addr{},
		dirty:     true,
		now:       time.Now,
	}
	for _, n := range cfg.Names {
		f := u.zone.FQDN(n)
		if !slices.Contains(u.names, f) {
			u.names = append(u.names, f)
		}
	}
	for _, n := range cfg.Adopt {
		u.adopt[u.zone.FQDN(n)] = true
	}
	if cfg.IPv4 != nil {
		u.sources[IPv4] = cfg.IPv4
	}
	if cfg.IPv6 != nil {
		u.sources[IPv6] = cfg.IPv6
	}
	return u, nil
}

// State is what an Updater remembers between cycles. It marshals to JSON,
// so a caller can keep it across restarts (see Restore).
type State struct {
	// Zone is the zone as last looked up (ID empty before the first
	// lookup).
	Zone Zone
	// IPv4 and IPv6 are the addresses last published (zero if none); a
	// name blocked by an unmanaged record does not carry it (see Pending).
	IPv4, IPv6 netip.Addr
	// Records are the owned records as last read or written.
	Records []Record
	// VerifiedAt is when Cloudflare was last read successfully.
	VerifiedAt time.Time
	// Pending reports that Cloudflare must be read again whatever the
	// address: a change failed or Recheck was called (the next cycle
	// reads it), or names were left alone because of unmanaged records
	// (reported from memory until the next re-verification or Recheck).
	// An Updater given a pending State by Restore reads it at once.
	Pending bool
}

// State returns a copy of what the Updater remembers.
func (u *Updater) State() State {
	u.mu.Lock()
	defer u.mu.Unlock()
	return State{Zone: u.zone, IPv4: u.published[IPv4], IPv6: u.published[IPv6], Records: slices.Clone(u.records),
		VerifiedAt: u.verifiedAt, Pending: u.dirty || len(u.blocked) > 0}
}

// Restore makes the Updater remember s, typically a State saved by a
// previous process, so that a restart with an unchanged address costs no
// Cloudflare request either (the seed script forgot everything on
// reboot and re-sent its record). Cloudflare stays the source of truth:
// the next re-verification (VerifyEvery after s.VerifiedAt), a changed
// address or Recheck reads it again. A state of another zone is refused;
// addresses of families without a source are ignored.
func (u *Updater) Restore(s State) error {
	if s.Zone.Name != "" && normName(s.Zone.Name) != u.zone.Name {
		return invalid("restore updater state", "state is for zone %s, not %s", s.Zone.Name, u.zone.Name)
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	u.gen++
	if s.Zone.ID != "" {
		u.zone = Zone{ID: s.Zone.ID, Name: u.zone.Name, Status: s.Zone.Status}
	}
	clear(u.published)
	for f, a := range map[Family]netip.Addr{IPv4: s.IPv4, IPv6: s.IPv6} {
		if u.sources[f] != nil && a.IsValid() {
			u.published[f] = a
		}
	}
	u.records = slices.Clone(s.Records)
	u.blocked, u.unmanaged = nil, nil
	u.verifiedAt = s.VerifiedAt
	u.dirty = s.Pending || u.zone.ID == ""
	return nil
}

// Recheck makes the next cycle read Cloudflare even if the address did not
// change (e.g. after a manual edit in the dashboard).
func (u *Updater) Recheck() {
	u.mu.Lock()
	u.dirty = true
	u.mu.Unlock()
}

func (u *Updater) families() []Family {
	var fs []Family
	for _, f := range []Family{IPv4, IPv6} {
		if u.sources[f] != nil {
			fs = append(fs, f)
		}
	}
	return fs
}

// addresses asks every source; a family whose source fails or reports an
// address that must not be published is left out, and its error returned.
func (u *Updater) addresses(ctx context.Context) (map[Family]netip.Addr, error) {
	out := map[Family]netip.Addr{}
	var errs []error
	for _, f := range u.families() {
		sctx, cancel := context.WithTimeout(ctx, u.cfg.SourceTimeout)
		a, err := u.sources[f](sctx)
		timedOut := sctx.Err() != nil
		cancel()
		if cerr := ctx.Err(); cerr != nil {
			return nil, cerr
		}
		if err != nil && timedOut {
			err = fmt.Errorf("no answer within %s: %w", u.cfg.SourceTimeout, err)
		}
		if err == nil {
			a = a.WithZone("")
			if f == IPv4 {
				a = a.Unmap()
			}
			if (f == IPv4) != a.Is4() && a.IsValid() {
				err = &AddressError{Addr: a, Reason: "wrong family for " + f.String()}
			} else if err = CheckPublic(a); err != nil {
				var ae *AddressError
				if errors.As(err, &ae) {
					err = ae // the source's op says enough
				}
			}
		}
		if err != nil {
			errs = append(errs, opError("ddns "+f.String()+" source", err))
			continue
		}
		out[f] = a
	}
	return out, errors.Join(errs...)
}

func setAddr(p *UpdatePlan, addrs map[Family]netip.Addr) {
	p.IPv4, p.IPv6 = addrs[IPv4], addrs[IPv6]
}

// due reports whether Cloudflare must be read for addrs.
func (u *Updater) due(addrs map[Family]netip.Addr) bool {
	every := u.cfg.VerifyEvery
	if every < 0 && len(u.blocked) > 0 {
		// NeverVerify spares a healthy zone; a blocked name is a problem
		// that its owner may fix at any time, so look again hourly.
		every = DefaultVerifyEvery
	}
	if u.dirty || u.zone.ID == "" || (every > 0 && u.now().Sub(u.verifiedAt) >= every) {
		return true
	}
	for f, a := range addrs {
		if u.published[f] != a {
			return true
		}
	}
	return false
}

// PlanUpdate reports what an update cycle would change now, without
// changing anything: print it for a dry run, or give it to Apply. Like
// Update it makes no Cloudflare request when nothing is due. The error
// reports what kept the plan from being complete (a failed source, names
// blocked by unmanaged records); the plan holds the rest.
//
// Cloudflare API: GET /zones?name= (first cycle only), GET
// /zones/{zone_id}/dns_records
func (u *Updater) PlanUpdate(ctx context.Context) (UpdatePlan, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	p, err := u.plan(ctx)
	if ctx.Err() != nil {
		return UpdatePlan{IPv4: p.IPv4, IPv6: p.IPv6}, ctx.Err()
	}
	return p, err
}

// blockage is a name/family that cannot be published (unmanaged records
// in the way).
type blockage struct {
	fam  Family
	name string
}

// plan also keeps in the plan the owned records that need no change and
// the names left alone.
func (u *Updater) plan(ctx context.Context) (UpdatePlan, error) {
	p := UpdatePlan{u: u, gen: u.gen}
	if u.c.closed.Load() {
		// Even a cycle that would need no request: a closed client's
		// Updater must not keep reporting "unchanged".
		return p, &Error{Op: "ddns", Err: ErrClosed}
	}
	addrs, srcErr := u.addresses(ctx)
	if ctx.Err() != nil {
		return p, ctx.Err()
	}
	setAddr(&p, addrs)
	if len(addrs) == 0 {
		return p, srcErr
	}
	if !u.due(addrs) {
		// Names blocked at the last read stay reported, from memory: the
		// unmanaged records are re-read with the next re-verification (or
		// Recheck), not every cycle.
		var still []blockage
		for _, b := range u.blocked {
			if _, ok := addrs[b.fam]; ok {
				still = append(still, b)
			}
		}
		for _, r := range u.unmanaged {
			if _, ok := addrs[familyOf(r.Type)]; ok || r.Type == TypeCNAME {
				p.Unmanaged = append(p.Unmanaged, r)
			}
		}
		return p, errors.Join(srcErr, u.blockErr(still))
	}
	if u.zone.ID == "" {
		z, err := u.c.Zone(ctx, u.zone.Name)
		if err != nil {
			return p, errors.Join(srcErr, err)
		}
		u.zone = z
	}
	f := RecordFilter{}
	if len(u.names) == 1 {
		f.Name = u.names[0]
	}
	// No type filter: a CNAME on a managed name must be seen, it blocks
	// A/AAAA records.
	rs, err := u.c.ListRecords(ctx, u.zone, f)
	if err != nil {
		if errors.Is(err, ErrZoneNotFound) {
			u.zone.ID = ""
		}
		return p, errors.Join(srcErr, err)
	}
	p.Checked = true
	byName := map[string][]Record{}
	for _, r := range rs {
		byName[r.Name] = append(byName[r.Name], r)
	}
	var blocked []blockage
	var kept []Record
	for _, fam := range u.families() {
		addr, ok := addrs[fam]
		if !ok {
			continue
		}
		typ := fam.RecordType()
		for _, name := range u.names {
			var mine, others []Record
			for _, r := range byName[name] {
				switch {
				case r.Type == TypeCNAME:
					others = append(others, r)
				case r.Type != typ:
				case r.Comment == u.cfg.Comment:
					mine = append(mine, r)
				default:
					others = append(others, r)
				}
			}
			cname := slices.ContainsFunc(others, func(r Record) bool { return r.Type == TypeCNAME })
			if len(mine) == 0 && len(others) > 0 && u.adopt[name] && !cname {
				mine, others = others, nil
			}
			for _, o := range others {
				if !slices.ContainsFunc(p.Unmanaged, func(x Record) bool { return x.ID == o.ID }) {
					p.Unmanaged = append(p.Unmanaged, o)
				}
			}
			if cname || (len(mine) == 0 && len(others) > 0) {
				blocked = append(blocked, blockage{fam: fam, name: name})
				continue
			}
			chs, keep := u.reconcile(name, typ, addr, mine)
			p.Changes = append(p.Changes, chs...)
			if keep.ID != "" {
				kept = append(kept, keep)
			}
		}
	}
	p.blocked, p.kept = blocked, kept
	return p, errors.Join(srcErr, u.blockErr(blocked))
}

// blockErr is the ErrUnmanaged error naming the blocked names, or nil.
func (u *Updater) blockErr(blocked []blockage) error {
	if len(blocked) == 0 {
		return nil
	}
	var s []string
	for _, b := range blocked {
		s = append(s, fmt.Sprintf("%s %s", b.name, b.fam.RecordType()))
	}
	return &Error{Op: "ddns", Message: fmt.Sprintf("%s: %s (add the comment %q or adopt the name)", ErrUnmanaged, strings.Join(s, ", "), u.cfg.Comment), Err: ErrUnmanaged}
}

func familyOf(t RecordType) Family {
	if t == TypeAAAA {
		return IPv6
	}
	return IPv4
}

// reconcile turns the owned records of one name and type into changes:
// keep one record on addr (patching the first when none matches), delete
// the other owned ones, create when there is none. It also returns the
// kept record when it needs no change.
func (u *Updater) reconcile(name string, typ RecordType, addr netip.Addr, mine []Record) ([]Change, Record) {
	var out []Change
	if len(mine) == 0 {
		r := Record{Type: typ, Name: name, Addr: addr, Content: addr.String(), TTL: u.cfg.TTL, Proxied: u.cfg.Proxied, Comment: u.cfg.Comment}
		if r.TTL <= 0 {
			r.TTL = TTLAuto
		}
		return []Change{newChange(Created, Record{}, r)}, Record{}
	}
	keep := slices.IndexFunc(mine, func(r Record) bool { return r.Addr == addr })
	if keep < 0 {
		keep = 0
	}
	k := mine[keep]
	unchanged := k
	if k.Addr != addr || k.Comment != u.cfg.Comment {
		after := k
		after.Addr, after.Content, after.Comment = addr, addr.String(), u.cfg.Comment
		out = append(out, newChange(Updated, k, after))
		unchanged = Record{}
	}
	for i, r := range mine {
		if i != keep {
			out = append(out, newChange(Deleted, r, Record{}))
		}
	}
	return out, unchanged
}

// Apply executes a plan from PlanUpdate: one request per change. A change
// Cloudflare refuses (say a 500 on one PATCH) does not stop the others; a
// 429, an authentication or permission failure, or no answer at all stops
// the batch, since the rest would fail alike. Apply reports what it did
// and joins the errors, and the next cycle re-reads Cloudflare and
// finishes the job. A plan that was not Checked sends nothing. A plan made
// before another Apply (or Restore) is stale: ErrConflict, plan again.
//
// Cloudflare API: POST, PATCH or DELETE /zones/{zone_id}/dns_records[/{id}]
// per change
func (u *Updater) Apply(ctx context.Context, p UpdatePlan) (UpdateResult, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.apply(ctx, p)
}

// Update runs one cycle: PlanUpdate, then Apply. When the address did not
// change and no re-check is due it makes no request; otherwise one list,
// then one request per changed record. Its error joins the plan's (a
// failed source, blocked names) and Apply's.
//
// Cloudflare API: GET /zones?name= (first cycle only), GET
// /zones/{zone_id}/dns_records, then POST, PATCH or DELETE
// /zones/{zone_id}/dns_records[/{id}] per change
func (u *Updater) Update(ctx context.Context) (UpdateResult, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	p, perr := u.plan(ctx)
	if ctx.Err() != nil {
		return UpdateResult{IPv4: p.IPv4, IPv6: p.IPv6}, ctx.Err()
	}
	res, aerr := u.apply(ctx, p)
	if ctx.Err() != nil {
		return UpdateResult{IPv4: p.IPv4, IPv6: p.IPv6}, ctx.Err()
	}
	switch {
	case aerr == nil:
		return res, perr
	case perr == nil:
		return res, aerr
	}
	return res, errors.Join(perr, aerr)
}

func (u *Updater) apply(ctx context.Context, p UpdatePlan) (UpdateResult, error) {
	const op = "ddns apply"
	res := UpdateResult{IPv4: p.IPv4, IPv6: p.IPv6, Checked: p.Checked, Unmanaged: slices.Clone(p.Unmanaged)}
	if p.u != u {
		return res, invalid(op, "the plan is not this updater's (use PlanUpdate)")
	}
	if p.gen != u.gen {
		return res, &Error{Op: op, Message: "the plan is stale: the updater changed since it was made; plan again", Err: ErrConflict}
	}
	if !p.Checked {
		res.Records = slices.Clone(u.records)
		return res, nil
	}
	if u.c.closed.Load() {
		return res, &Error{Op: op, Err: ErrClosed}
	}
	u.gen++
	var applyErrs []error
	failed := map[string]bool{} // name and type whose change failed
	for _, ch := range p.Changes {
		key := ch.key()
		if failed[key] {
			// Leave the rest of that name alone (e.g. its duplicates)
			// until the next cycle has re-read it.
			continue
		}
		done, cerr := u.do(ctx, ch)
		if cerr != nil {
			applyErrs = append(applyErrs, cerr)
			failed[key] = true
			if ctx.Err() != nil || stopsBatch(cerr) {
				break
			}
			continue
		}
		res.Changes = append(res.Changes, done)
	}
	res.Action = summarize(res.Changes)
	if len(applyErrs) > 0 {
		u.dirty = true
		res.Records = slices.Clone(u.records)
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		return res, errors.Join(applyErrs...)
	}
	// Everything planned is in place: remember it, and the names left
	// alone because of unmanaged records (reported from memory until the
	// next read).
	addrs := map[Family]netip.Addr{IPv4: p.IPv4, IPv6: p.IPv6}
	for _, fam := range u.families() {
		if a := addrs[fam]; a.IsValid() {
			u.published[fam] = a
		} else {
			delete(u.published, fam)
		}
	}
	u.blocked, u.unmanaged = p.blocked, slices.Clone(p.Unmanaged)
	kept := slices.Clone(p.kept)
	for _, ch := range res.Changes {
		if ch.Action != Deleted {
			kept = append(kept, ch.After)
		}
	}
	u.records = kept
	u.verifiedAt = u.now()
	u.dirty = false
	res.Records = slices.Clone(kept)
	return res, nil
}

// key names the record set a change belongs to: "name type".
func (c Change) key() string { return c.Field }

// stopsBatch reports whether a failed change means the remaining ones
// would fail the same way (rate limit, token, zone, closed client, no
// answer at all), so Apply stops instead of sending them.
func stopsBatch(err error) bool {
	var e *Error
	if !errors.As(err, &e) || (e.StatusCode == 0 && len(e.Errors) == 0) {
		return true
	}
	return errors.Is(err, ErrRateLimited) || errors.Is(err, ErrAuth) ||
		errors.Is(err, ErrPermission) || errors.Is(err, ErrZoneNotFound)
}

func (u *Updater) do(ctx context.Context, ch Change) (Change, error) {
	switch ch.Action {
	case Created:
		r, err := u.c.CreateRecord(ctx, u.zone, ch.After)
		if err != nil {
			return ch, err
		}
		ch = newChange(Created, Record{}, r)
	case Updated:
		patch := RecordPatch{Addr: ch.After.Addr}
		if ch.Before.Comment != ch.After.Comment {
			patch.Comment = Ptr(ch.After.Comment)
		}
		r, err := u.c.PatchRecord(ctx, u.zone, ch.Before, patch)
		if err != nil {
			return ch, err
		}
		ch = newChange(Updated, ch.Before, r)
	case Deleted:
		if err := u.c.DeleteRecord(ctx, u.zone, ch.Before.ID); err != nil && !errors.Is(err, ErrNotFound) {
			return ch, err
		}
	}
	return ch, nil
}

// Run runs Update every interval (±10 % jitter) until ctx ends, and then
// returns ctx.Err(). After a failed cycle it waits with exponential backoff
// instead (from min(interval, 30 s) up to 8 × interval), and at least as
// long as a 429's Retry-After. Every cycle is reported to OnEvent. Once
// the Client is closed, Run returns ErrClosed.
//
// Cloudflare API: as Apply, per cycle
func (u *Updater) Run(ctx context.Context, interval time.Duration) error {
	if interval <= 0 {
		return invalid("ddns run", "interval %s must be positive", interval)
	}
	back := poll.Backoff{Initial: min(interval, 30*time.Second), Max: 8 * interval, Factor: 2}
	failures := 0
	for {
		p, err := u.Update(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, ErrClosed) {
			return &Error{Op: "ddns run", Err: ErrClosed}
		}
		ev := Event{Time: u.now(), Result: p, Err: err}
		switch {
		case err != nil:
			ev.Kind = EventError
			ev.Next = back.Delay(failures)
			failures++
			if ra := RetryAfter(err); ra > ev.Next {
				ev.Next = ra
			}
		default:
			failures = 0
			ev.Kind = EventUnchanged
			if p.Changed() {
				ev.Kind = EventChanged
			}
			ev.Next = jitter(interval)
		}
		if u.cfg.OnEvent != nil {
			u.cfg.OnEvent(ev)
		}
		if err := poll.Sleep(ctx, ev.Next); err != nil {
			return err
		}
	}
}

func jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.9 + 0.2*rand.Float64()))
}
