package dnstest

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// The list filters below follow Cloudflare's API reference, as the
// generated cloudflare-go v6.10.0 carries it (dns/record.go
// RecordListParams and its Name, Content, Comment, Tag, Match, TagMatch,
// Order and Type types; zones/zone.go ZoneListParams): name, content,
// comment and tag filters are case-insensitive; match=any ORs the filters,
// tag_match combines the tag filters among themselves; search works
// independently of match; zone and account names take an operator prefix
// (equal by default, not_equal, starts_with, ends_with, contains and their
// _case_sensitive forms). A parameter the fake does not know is answered
// with 400, never ignored: a test must not pass on a listing that silently
// returned everything.

// badQuery is a query the fake refuses, with the message it answers.
type badQuery struct{ msg string }

func (e badQuery) Error() string { return e.msg }

func badf(format string, args ...any) error { return badQuery{fmt.Sprintf(format, args...)} }

// recordTypes are the types Cloudflare's type filter accepts.
var recordTypes = []string{"A", "AAAA", "CAA", "CERT", "CNAME", "DNSKEY", "DS", "HTTPS", "LOC", "MX", "NAPTR",
	"NS", "OPENPGPKEY", "PTR", "SMIMEA", "SRV", "SSHFP", "SVCB", "TLSA", "TXT", "URI"}

type recordPred func(Record) bool

// strOp builds a case-insensitive string test for a filter operator.
func strOp(op, want string) (func(string) bool, bool) {
	w := strings.ToLower(want)
	switch op {
	case "exact":
		return func(s string) bool { return strings.ToLower(s) == w }, true
	case "contains":
		return func(s string) bool { return strings.Contains(strings.ToLower(s), w) }, true
	case "startswith":
		return func(s string) bool { return strings.HasPrefix(strings.ToLower(s), w) }, true
	case "endswith":
		return func(s string) bool { return strings.HasSuffix(strings.ToLower(s), w) }, true
	}
	return nil, false
}

// splitTag splits "name:value"; a tag without a colon has an empty value.
func splitTag(t string) (string, string) {
	n, v, _ := strings.Cut(t, ":")
	return strings.ToLower(n), v
}

// recordFilter parses a dns_records listing query into one predicate and
// the sort order.
func recordFilter(q url.Values) (recordPred, func(a, b Record) int, error) {
	var conds, tagConds []recordPred
	var search string
	matchAny, tagAny := false, false
	order, desc := "", false
	for key, vals := range q {
		for _, v := range vals {
			field, op, hasOp := strings.Cut(key, ".")
			switch {
			case key == "page" || key == "per_page":
				// writePage checks them.
			case key == "type":
				t := strings.ToUpper(v)
				if !slices.Contains(recordTypes, t) {
					return nil, nil, badf("type: %q is not a DNS record type", v)
				}
				conds = append(conds, func(r Record) bool { return r.Type == t })
			case field == "name" || field == "content":
				if !hasOp {
					op = "exact"
				}
				test, ok := strOp(op, strings.TrimSuffix(v, "."))
				if !ok {
					return nil, nil, badf("unknown filter %s", key)
				}
				if field == "name" {
					conds = append(conds, func(r Record) bool { return test(r.Name) })
				} else {
					conds = append(conds, func(r Record) bool { return test(r.Content) })
				}
			case field == "comment":
				if !hasOp {
					op = "exact"
				}
				switch op {
				case "present":
					conds = append(conds, func(r Record) bool { return r.Comment != "" })
				case "absent":
					conds = append(conds, func(r Record) bool { return r.Comment == "" })
				default:
					test, ok := strOp(op, v)
					if !ok {
						return nil, nil, badf("unknown filter %s", key)
					}
					conds = append(conds, func(r Record) bool { return test(r.Comment) })
				}
			case field == "tag":
				if !hasOp {
					op = "exact"
				}
				p, err := tagFilter(op, v)
				if err != nil {
					return nil, nil, err
				}
				tagConds = append(tagConds, p)
			case key == "match" || key == "tag_match":
				if v != "all" && v != "any" {
					return nil, nil, badf("%s must be all or any, not %q", key, v)
				}
				if key == "match" {
					matchAny = v == "any"
				} else {
					tagAny = v == "any"
				}
			case key == "proxied":
				b, err := strconv.ParseBool(v)
				if err != nil {
					return nil, nil, badf("proxied must be true or false, not %q", v)
				}
				conds = append(conds, func(r Record) bool { return r.Proxied == b })
			case key == "search":
				search = strings.ToLower(v)
			case key == "order":
				if !slices.Contains([]string{"type", "name", "content", "ttl", "proxied"}, v) {
					return nil, nil, badf("order must be type, name, content, ttl or proxied, not %q", v)
				}
				order = v
			case key == "direction":
				if v != "asc" && v != "desc" {
					return nil, nil, badf("direction must be asc or desc, not %q", v)
				}
				desc = v == "desc"
			default:
				return nil, nil, badf("dnstest does not know the filter %q", key)
			}
		}
	}
	if len(tagConds) > 0 {
		conds = append(conds, combine(tagConds, tagAny))
	}
	pred := combine(conds, matchAny)
	if search != "" {
		base := pred
		pred = func(r Record) bool {
			if !base(r) {
				return false
			}
			hay := []string{r.Name, r.Content, r.Comment}
			hay = append(hay, r.Tags...)
			return slices.ContainsFunc(hay, func(s string) bool { return strings.Contains(strings.ToLower(s), search) })
		}
	}
	return pred, recordOrder(order, desc), nil
}

func tagFilter(op, v string) (recordPred, error) {
	switch op {
	case "present", "absent":
		name := strings.ToLower(v)
		has := func(r Record) bool {
			return slices.ContainsFunc(r.Tags, func(t string) bool { n, _ := splitTag(t); return n == name })
		}
		if op == "present" {
			return has, nil
		}
		return func(r Record) bool { return !has(r) }, nil
	}
	name, val, ok := strings.Cut(v, ":")
	if !ok {
		return nil, badf("tag.%s takes <tag-name>:<tag-value>, not %q", op, v)
	}
	test, known := strOp(op, val)
	if !known {
		return nil, badf("unknown filter tag.%s", op)
	}
	name = strings.ToLower(name)
	return func(r Record) bool {
		return slices.ContainsFunc(r.Tags, func(t string) bool { n, tv := splitTag(t); return n == name && test(tv) })
	}, nil
}

// combine ANDs (or, with any, ORs) the predicates; none matches all.
func combine(ps []recordPred, any bool) recordPred {
	if len(ps) == 0 {
		return func(Record) bool { return true }
	}
	return func(r Record) bool {
		for _, p := range ps {
			if p(r) == any {
				return any
			}
		}
		return !any
	}
}

func recordOrder(order string, desc bool) func(a, b Record) int {
	if order == "" {
		return nil
	}
	return func(a, b Record) int {
		var c int
		switch order {
		case "type":
			c = strings.Compare(a.Type, b.Type)
		case "name":
			c = strings.Compare(a.Name, b.Name)
		case "content":
			c = strings.Compare(a.Content, b.Content)
		case "ttl":
			c = a.TTL - b.TTL
		case "proxied":
			c = boolInt(a.Proxied) - boolInt(b.Proxied)
		}
		if desc {
			c = -c
		}
		return c
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// nameOp parses a zone or account name filter with its operator prefix
// ("starts_with:thehome"); a value without a known operator is compared
// equal, case-insensitively.
func nameOp(v string) func(string) bool {
	op, rest, ok := strings.Cut(v, ":")
	if !ok {
		op, rest = "equal", v
	}
	cs := strings.HasSuffix(op, "_case_sensitive")
	base := strings.TrimSuffix(op, "_case_sensitive")
	norm := func(s string) string {
		if cs {
			return s
		}
		return strings.ToLower(s)
	}
	w := norm(rest)
	switch {
	case base == "equal" && !cs:
		return func(s string) bool { return norm(s) == w }
	case base == "not_equal" && !cs:
		return func(s string) bool { return norm(s) != w }
	case base == "starts_with":
		return func(s string) bool { return strings.HasPrefix(norm(s), w) }
	case base == "ends_with":
		return func(s string) bool { return strings.HasSuffix(norm(s), w) }
	case base == "contains":
		return func(s string) bool { return strings.Contains(norm(s), w) }
	}
	// Not an operator: the colon is part of the name (no zone has one).
	whole := strings.ToLower(v)
	return func(s string) bool { return strings.ToLower(s) == whole }
}

type zonePred func(Zone) bool

// zoneFilter parses a zones listing query.
func zoneFilter(q url.Values) (zonePred, func(a, b Zone) int, error) {
	var conds []zonePred
	matchAny := false
	types := []string{"full", "partial", "secondary"} // internal only when asked for
	order, desc := "", false
	for key, vals := range q {
		for _, v := range vals {
			switch key {
			case "page", "per_page":
			case "name":
				test := nameOp(v)
				conds = append(conds, func(z Zone) bool { return test(z.Name) })
			case "account.name":
				test := nameOp(v)
				conds = append(conds, func(z Zone) bool { return test(z.AccountName) })
			case "account.id":
				conds = append(conds, func(z Zone) bool { return z.AccountID == v })
			case "status":
				if !slices.Contains([]string{"initializing", "pending", "active", "moved"}, v) {
					return nil, nil, badf("status must be initializing, pending, active or moved, not %q", v)
				}
				conds = append(conds, func(z Zone) bool { return z.Status == v })
			case "type":
				types = nil
				for _, t := range strings.Split(v, ",") {
					if !slices.Contains([]string{"full", "partial", "secondary", "internal"}, t) {
						return nil, nil, badf("type must be full, partial, secondary or internal, not %q", t)
					}
					types = append(types, t)
				}
			case "match":
				if v != "all" && v != "any" {
					return nil, nil, badf("match must be all or any, not %q", v)
				}
				matchAny = v == "any"
			case "order":
				if !slices.Contains([]string{"name", "status", "account.id", "account.name", "plan.id"}, v) {
					return nil, nil, badf("order must be name, status, account.id, account.name or plan.id, not %q", v)
				}
				order = v
			case "direction":
				if v != "asc" && v != "desc" {
					return nil, nil, badf("direction must be asc or desc, not %q", v)
				}
				desc = v == "desc"
			default:
				return nil, nil, badf("dnstest does not know the filter %q", key)
			}
		}
	}
	pred := func(z Zone) bool {
		if !slices.Contains(types, zoneType(z)) {
			return false
		}
		if len(conds) == 0 {
			return true
		}
		for _, c := range conds {
			if c(z) == matchAny {
				return matchAny
			}
		}
		return !matchAny
	}
	var cmp func(a, b Zone) int
	if order != "" {
		cmp = func(a, b Zone) int {
			var c int
			switch order {
			case "name":
				c = strings.Compare(a.Name, b.Name)
			case "status":
				c = strings.Compare(a.Status, b.Status)
			case "account.id":
				c = strings.Compare(a.AccountID, b.AccountID)
			case "account.name":
				c = strings.Compare(a.AccountName, b.AccountName)
			case "plan.id":
				c = 0 // every fake zone is on the free plan
			}
			if desc {
				c = -c
			}
			return c
		}
	}
	return pred, cmp, nil
}

func zoneType(z Zone) string {
	if z.Type == "" {
		return "full"
	}
	return z.Type
}
