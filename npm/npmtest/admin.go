package npmtest

import (
	"strings"
)

// WithSetupMode starts with no user at all, like a fresh 2.13+ install:
// health reports setup:false and the first POST /users works without a
// token and creates an administrator.
func WithSetupMode() Option { return func(s *Server) { s.setupMode = true } }

var userSchema = obj(map[string]*node{
	"name": strN(1, 0), "nickname": str(), "email": strN(1, 0), "roles": arr(enum("admin")), "is_disabled": boolean(),
	"auth": obj(map[string]*node{"type": enum("password"), "secret": strN(8, 64)}, "type", "secret"),
}, "name", "nickname", "email")

var permissionsSchema = obj(map[string]*node{
	"visibility": enum("all", "user"), "proxy_hosts": enum("hidden", "view", "manage"), "redirection_hosts": enum("hidden", "view", "manage"),
	"dead_hosts": enum("hidden", "view", "manage"), "streams": enum("hidden", "view", "manage"),
	"access_lists": enum("hidden", "view", "manage"), "certificates": enum("hidden", "view", "manage"),
})

var settingSchema = obj(map[string]*node{
	"value": enum("congratulations", "404", "444", "redirect", "html"),
	"meta":  obj(map[string]*node{"redirect": str(), "html": str()}),
}, "value")

func (s *Server) liveUsersLocked() int {
	n := 0
	for _, u := range s.users {
		if !u.deleted {
			n++
		}
	}
	return n
}

// createUser handles POST /users: open while no user exists (setup),
// admin-only afterwards.
func (s *Server) createUser(c *call) (int, any, *apiError) {
	r, path := c.r, c.path
	s.mu.Lock()
	setup := s.liveUsersLocked() == 0 && s.ver.atLeast(2, 13, 0)
	s.mu.Unlock()
	var caller *user
	if !setup {
		u, e := s.authenticate(r, path)
		if e != nil {
			return 0, nil, e
		}
		if !u.admin {
			return 0, nil, s.permissionDenied(path)
		}
		caller = u
	}
	b, e := s.readValid(r, userSchema)
	if e != nil {
		return 0, nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	email := strings.ToLower(strings.TrimSpace(b["email"].(string)))
	for _, u := range s.users {
		if !u.deleted && strings.EqualFold(u.email, email) {
			return 0, nil, errf(400, "Email address already in use - %s", email)
		}
	}
	admin := setup || strings.Contains(strings.Join(strs(b["roles"]), ","), "admin")
	pw := ""
	if a, ok := b["auth"].(map[string]any); ok {
		pw, _ = a["secret"].(string)
	}
	id := s.addUserLocked(UserSpec{Email: email, Name: b["name"].(string), Password: pw, Admin: admin})
	if caller == nil {
		caller = s.users[id]
	}
	s.auditLocked(caller, "user", id, "created", map[string]any{"email": email})
	return 201, s.renderUser(s.users[id]), nil
}

func (s *Server) reportHosts(c *call) (int, any, *apiError) {
	u := c.u
	s.mu.Lock()
	defer s.mu.Unlock()
	count := func(kind string) int {
		n := 0
		for _, r := range s.tables[kind].rows {
			if !r.deleted && u.sees(r.owner) && u.can(kind, false) {
				n++
			}
		}
		return n
	}
	return 200, map[string]any{"proxy": count(kindProxy), "redirection": count(kindRedirection), "stream": count(kindStream), "dead": count(kindDead)}, nil
}

func (s *Server) setPermissions(c *call) (int, any, *apiError) {
	id, e := pathID(c)
	if e != nil {
		return 0, nil, e
	}
	b, e := s.readValid(c.r, permissionsSchema)
	if e != nil {
		return 0, nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.users[id]
	if t == nil || t.deleted {
		return 0, nil, errf(404, "Not Found - %d", id)
	}
	for k, v := range b {
		if k == "visibility" {
			t.visibility = v.(string)
		} else {
			t.perms[k] = v.(string)
		}
	}
	s.auditLocked(c.u, "user", id, "updated", map[string]any{"permissions": b})
	return 200, true, nil
}

func (s *Server) defaultSiteLocked() map[string]any {
	return map[string]any{"id": "default-site", "name": "Default Site", "description": "What to show when Nginx is hit with an unknown Host",
		"value": s.defaultSite, "meta": s.defaultSiteMeta}
}

func (s *Server) listSettings(*call) (int, any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return 200, []any{s.defaultSiteLocked()}, nil
}

func (s *Server) getDefaultSite(*call) (int, any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return 200, s.defaultSiteLocked(), nil
}

func (s *Server) putDefaultSite(c *call) (int, any, *apiError) {
	b, e := s.readValid(c.r, settingSchema)
	if e != nil {
		return 0, nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.defaultSite = b["value"].(string)
	if meta, ok := b["meta"].(map[string]any); ok {
		s.defaultSiteMeta = meta
	}
	return 200, s.defaultSiteLocked(), nil
}
