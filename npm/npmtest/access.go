package npmtest

import (
	"net/netip"
	"strings"
	"time"
)

type aclItem struct {
	id       int
	username string
	password string
}

type aclClient struct {
	address   string
	directive string
}

type acl struct {
	id         int
	owner      int
	created    time.Time
	modified   time.Time
	deleted    bool
	name       string
	satisfyAny bool
	passAuth   bool
	items      []aclItem
	clients    []aclClient
}

func aclSchema(create bool) *node {
	n := obj(map[string]*node{
		"name": strN(1, 0), "satisfy_any": boolean(), "pass_auth": boolean(),
		"items":   arr(obj(map[string]*node{"username": strN(1, 0), "password": str()}, "username", "password")),
		"clients": arr(obj(map[string]*node{"address": str(), "directive": enum("allow", "deny")}, "address", "directive")),
		"meta":    anyObj(),
	})
	if create {
		n.required = []string{"name"}
	} else {
		n.minProps = 1
	}
	return n
}

func validClientAddress(a string) bool {
	if a == "all" {
		return true
	}
	if strings.Contains(a, "/") {
		_, err := netip.ParsePrefix(a)
		return err == nil
	}
	_, err := netip.ParseAddr(a)
	return err == nil
}

func hint(p string) string {
	if p == "" {
		return ""
	}
	return p[:1] + strings.Repeat("*", len(p)-1)
}

func (s *Server) renderACLLocked(a *acl, exp map[string]bool) map[string]any {
	count := 0
	for _, r := range s.tables[kindProxy].rows {
		if id, _ := r.cols["access_list_id"].(int); !r.deleted && id == a.id {
			count++
		}
	}
	out := map[string]any{
		"id": a.id, "created_on": s.date(a.created), "modified_on": s.date(a.modified), "owner_user_id": a.owner,
		"name": a.name, "meta": map[string]any{}, "satisfy_any": s.bool(a.satisfyAny), "pass_auth": s.bool(a.passAuth),
		"proxy_host_count": count,
	}
	if exp["items"] {
		items := []any{}
		for _, it := range a.items {
			items = append(items, map[string]any{"id": it.id, "created_on": s.date(a.created), "modified_on": s.date(a.modified),
				"access_list_id": a.id, "username": it.username, "password": "", "meta": map[string]any{}, "hint": hint(it.password)})
		}
		out["items"] = items
	}
	if exp["clients"] {
		cs := []any{}
		for i, c := range a.clients {
			cs = append(cs, map[string]any{"id": i + 1, "created_on": s.date(a.created), "modified_on": s.date(a.modified),
				"access_list_id": a.id, "address": c.address, "directive": c.directive, "meta": map[string]any{}})
		}
		out["clients"] = cs
	}
	if exp["owner"] {
		if u := s.users[a.owner]; u != nil {
			out["owner"] = s.renderUser(u)
		}
	}
	return out
}

var allACLExpand = map[string]bool{"items": true, "clients": true, "owner": true}

func (s *Server) listACLs(c *call) (int, any, *apiError) {
	exp, e := parseExpand(c.r, "owner", "items", "clients", "proxy_hosts")
	if e != nil {
		return 0, nil, e
	}
	// ?query= is upstream's LIKE on name.
	q := strings.ToLower(c.r.URL.Query().Get("query"))
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []any{}
	for _, id := range sortedKeys(s.acls) {
		if a := s.acls[id]; !a.deleted && c.u.sees(a.owner) && strings.Contains(strings.ToLower(a.name), q) {
			out = append(out, s.renderACLLocked(a, exp))
		}
	}
	return 200, out, nil
}

func (s *Server) createACL(c *call) (int, any, *apiError) {
	b, e := s.readValid(c.r, aclSchema(true))
	if e != nil {
		return 0, nil, e
	}
	if _, ok := b["items"]; !ok {
		// Upstream crashes on a create without items.
		return 0, nil, errInternal
	}
	clients, e := parseClients(b)
	if e != nil {
		return 0, nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.aclSeq++
	a := &acl{id: s.aclSeq, owner: c.u.id, created: s.now(), modified: s.now(), name: b["name"].(string), passAuth: true, clients: clients}
	if v, ok := b["satisfy_any"].(bool); ok {
		a.satisfyAny = v
	}
	if v, ok := b["pass_auth"].(bool); ok {
		a.passAuth = v
	}
	for _, it := range b["items"].([]any) {
		im := it.(map[string]any)
		s.aclItemSeq++
		a.items = append(a.items, aclItem{id: s.aclItemSeq, username: im["username"].(string), password: im["password"].(string)})
	}
	s.acls[a.id] = a
	s.auditLocked(c.u, "access-list", a.id, "created", map[string]any{"name": a.name})
	return 201, s.renderACLLocked(a, allACLExpand), nil
}

// findACLLocked returns a live list the user sees.
func (s *Server) findACLLocked(u *user, id int) (*acl, *apiError) {
	a := s.acls[id]
	if a == nil || a.deleted || !u.sees(a.owner) {
		return nil, errf(404, "Not Found - %d", id)
	}
	return a, nil
}

func (s *Server) getACL(c *call) (int, any, *apiError) {
	id, e := pathID(c)
	if e != nil {
		return 0, nil, e
	}
	exp, e := parseExpand(c.r, "owner", "items", "clients", "proxy_hosts")
	if e != nil {
		return 0, nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, e := s.findACLLocked(c.u, id)
	if e != nil {
		return 0, nil, e
	}
	return 200, s.renderACLLocked(a, exp), nil
}

func (s *Server) updateACL(c *call) (int, any, *apiError) {
	id, e := pathID(c)
	if e != nil {
		return 0, nil, e
	}
	b, e := s.readValid(c.r, aclSchema(false))
	if e != nil {
		return 0, nil, e
	}
	clients, e := parseClients(b)
	if e != nil {
		return 0, nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, e := s.findACLLocked(c.u, id)
	if e != nil {
		return 0, nil, e
	}
	// Upstream quirk: the list's own columns change only with name.
	if n, ok := b["name"].(string); ok {
		a.name = n
		if v, ok := b["satisfy_any"].(bool); ok {
			a.satisfyAny = v
		}
		if v, ok := b["pass_auth"].(bool); ok {
			a.passAuth = v
		}
	}
	if raw, ok := b["items"].([]any); ok {
		old := map[string]string{}
		for _, it := range a.items {
			old[it.username] = it.password
		}
		a.items = nil
		for _, it := range raw {
			im := it.(map[string]any)
			pw := im["password"].(string)
			if pw == "" {
				pw = old[im["username"].(string)]
			}
			s.aclItemSeq++
			a.items = append(a.items, aclItem{id: s.aclItemSeq, username: im["username"].(string), password: pw})
		}
	}
	if _, ok := b["clients"]; ok {
		a.clients = clients
	}
	a.modified = s.now()
	s.auditLocked(c.u, "access-list", a.id, "updated", map[string]any{"name": a.name})
	return 200, s.renderACLLocked(a, allACLExpand), nil
}

func (s *Server) deleteACL(c *call) (int, any, *apiError) {
	id, e := pathID(c)
	if e != nil {
		return 0, nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, e := s.findACLLocked(c.u, id)
	if e != nil {
		return 0, nil, e
	}
	a.deleted = true
	for _, r := range s.tables[kindProxy].rows {
		if v, _ := r.cols["access_list_id"].(int); v == id {
			r.cols["access_list_id"] = 0
		}
	}
	s.auditLocked(c.u, "access-list", a.id, "deleted", map[string]any{"name": a.name})
	return 200, true, nil
}

func parseClients(b map[string]any) ([]aclClient, *apiError) {
	raw, _ := b["clients"].([]any)
	var out []aclClient
	for i, c := range raw {
		cm := c.(map[string]any)
		addr := cm["address"].(string)
		if !validClientAddress(addr) {
			return nil, errf(400, "data/clients/%d/address must match format \"ipv4\"", i)
		}
		out = append(out, aclClient{address: addr, directive: cm["directive"].(string)})
	}
	return out, nil
}
