package npm

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/thehomelab/homelab/secret"
)

// AccessListItem is a basic-auth user of an access list. The server never
// returns passwords: Password is only sent, Hint is only received.
type AccessListItem struct {
	Username string
	Password secret.Secret // write-only; zero on update keeps the stored one
	Hint     string        // e.g. "p*****"
}

// AccessListClient allows or denies an address range.
type AccessListClient struct {
	// Prefix is the address or network; the zero Prefix means "all".
	Prefix netip.Prefix
	Allow  bool // false: deny
}

// AccessList is an access list: basic-auth users and address rules.
type AccessList struct {
	ID                    AccessListID
	CreatedOn, ModifiedOn time.Time
	OwnerUserID           UserID
	Name                  string
	SatisfyAny            bool // either rule set suffices (else both)
	PassAuth              bool // forward the Authorization header upstream
	Items                 []AccessListItem
	Clients               []AccessListClient
	ProxyHostCount        int
}

type wireAccessList struct {
	ID             flexInt  `json:"id"`
	CreatedOn      flexTime `json:"created_on"`
	ModifiedOn     flexTime `json:"modified_on"`
	OwnerUserID    flexInt  `json:"owner_user_id"`
	Name           string   `json:"name"`
	SatisfyAny     flexBool `json:"satisfy_any"`
	PassAuth       flexBool `json:"pass_auth"`
	ProxyHostCount flexInt  `json:"proxy_host_count"`
	Items          []struct {
		Username string `json:"username"`
		Hint     string `json:"hint"`
	} `json:"items"`
	Clients []struct {
		Address   string `json:"address"`
		Directive string `json:"directive"`
	} `json:"clients"`
}

// parseClientAddress reads "all", an address or a CIDR prefix.
func parseClientAddress(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if s == "" || strings.EqualFold(s, "all") {
		return netip.Prefix{}, nil
	}
	if strings.Contains(s, "/") {
		return netip.ParsePrefix(s)
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func clientAddress(p netip.Prefix) string {
	if !p.IsValid() {
		return "all"
	}
	if p.Bits() == p.Addr().BitLen() {
		return p.Addr().String()
	}
	return p.String()
}

func decodeAccessList(data []byte) (AccessList, error) {
	var w wireAccessList
	if err := json.Unmarshal(data, &w); err != nil {
		return AccessList{}, err
	}
	a := AccessList{
		ID: AccessListID(w.ID), CreatedOn: time.Time(w.CreatedOn), ModifiedOn: time.Time(w.ModifiedOn), OwnerUserID: UserID(w.OwnerUserID),
		Name: w.Name, SatisfyAny: bool(w.SatisfyAny), PassAuth: bool(w.PassAuth), ProxyHostCount: int(w.ProxyHostCount),
	}
	for _, it := range w.Items {
		a.Items = append(a.Items, AccessListItem{Username: it.Username, Hint: it.Hint})
	}
	for _, c := range w.Clients {
		p, err := parseClientAddress(c.Address)
		if err != nil {
			return AccessList{}, fmt.Errorf("client address %.60q: %w", c.Address, err)
		}
		a.Clients = append(a.Clients, AccessListClient{Prefix: p, Allow: c.Directive == "allow"})
	}
	return a, nil
}

// AccessListSpec is what Create and Update send.
type AccessListSpec struct {
	Name       string
	SatisfyAny bool
	PassAuth   bool
	Items      []AccessListItem
	Clients    []AccessListClient
}

func (s AccessListSpec) body() map[string]any {
	items := make([]map[string]any, 0, len(s.Items))
	for _, it := range s.Items {
		items = append(items, map[string]any{"username": it.Username, "password": it.Password.Reveal()})
	}
	clients := make([]map[string]any, 0, len(s.Clients))
	for _, c := range s.Clients {
		d := "deny"
		if c.Allow {
			d = "allow"
		}
		clients = append(clients, map[string]any{"address": clientAddress(c.Prefix), "directive": d})
	}
	// items is always sent: the server crashes (500) on a create without it.
	return map[string]any{"name": s.Name, "satisfy_any": s.SatisfyAny, "pass_auth": s.PassAuth, "items": items, "clients": clients}
}

func (s AccessListSpec) secrets() []secret.Secret {
	var out []secret.Secret
	for _, it := range s.Items {
		out = append(out, it.Password)
	}
	return out
}

// AccessListsService manages access lists. Get it from Client.AccessLists.
type AccessListsService struct{ c *Client }

// List returns the access lists with their items and clients.
//
// NPM API: GET /nginx/access-lists?expand=items,clients
func (s *AccessListsService) List(ctx context.Context) ([]AccessList, error) {
	var raw rawAnswer
	op := "list access lists"
	q := ListOptions{Expand: []string{"items", "clients"}}.values()
	if err := s.c.do(ctx, request{op: op, method: http.MethodGet, path: "/nginx/access-lists", query: q, out: &raw}); err != nil {
		return nil, err
	}
	ls, err := decodeList(raw, decodeAccessList)
	if err != nil {
		return nil, errorf(op, "decode answer: %w", err)
	}
	return ls, nil
}

func (s *AccessListsService) one(ctx context.Context, r request) (AccessList, error) {
	var raw rawAnswer
	r.out = &raw
	if err := s.c.do(ctx, r); err != nil {
		return AccessList{}, err
	}
	a, err := decodeAccessList(raw)
	if err != nil {
		return AccessList{}, errorf(r.op, "decode answer: %w", err)
	}
	return a, nil
}

// Get returns one access list with items and clients.
//
// NPM API: GET /nginx/access-lists/{id}?expand=items,clients
func (s *AccessListsService) Get(ctx context.Context, id AccessListID) (AccessList, error) {
	q := ListOptions{Expand: []string{"items", "clients"}}.values()
	return s.one(ctx, request{op: "get access list " + id.String(), method: http.MethodGet, path: "/nginx/access-lists/" + id.String(), query: q})
}

// Create adds an access list.
//
// NPM API: POST /nginx/access-lists
func (s *AccessListsService) Create(ctx context.Context, spec AccessListSpec) (AccessList, error) {
	op := "create access list " + spec.Name
	if spec.Name == "" {
		return AccessList{}, opErr(op, fmt.Errorf("name is required: %w", ErrInvalid))
	}
	return s.one(ctx, request{op: op, method: http.MethodPost, path: "/nginx/access-lists", body: spec.body(), scrub: spec.secrets()})
}

// Update replaces the list's settings and clients. Items whose Password is
// zero keep their stored password; the others are replaced.
//
// NPM API: PUT /nginx/access-lists/{id}
func (s *AccessListsService) Update(ctx context.Context, id AccessListID, spec AccessListSpec) (AccessList, error) {
	op := "update access list " + id.String()
	// The server writes name, satisfy_any and pass_auth only when name is
	// present, so it always is.
	if spec.Name == "" {
		return AccessList{}, opErr(op, fmt.Errorf("name is required: %w", ErrInvalid))
	}
	return s.one(ctx, request{op: op, method: http.MethodPut, path: "/nginx/access-lists/" + id.String(), body: spec.body(), scrub: spec.secrets()})
}

// Delete removes an access list; hosts using it become public.
//
// NPM API: DELETE /nginx/access-lists/{id}
func (s *AccessListsService) Delete(ctx context.Context, id AccessListID) error {
	return s.c.do(ctx, request{op: "delete access list " + id.String(), method: http.MethodDelete, path: "/nginx/access-lists/" + id.String()})
}
