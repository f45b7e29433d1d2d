package npmtest

import (
	"net/http"
	"strings"
	"time"
)

// call is one routed request: the API path (prefix removed) names it in
// error messages, u is the caller on authenticated routes.
type call struct {
	r    *http.Request
	path string
	u    *user
}

type handler func(c *call) (int, any, *apiError)

// routes builds the API's router: one http.ServeMux pattern per method and
// route, as upstream's express routers declare them (backend/routes/*.js:
// main.js mounts /, /schema, /version, /tokens, /users, /audit-log,
// /reports, /settings and /nginx/*). Routes that need a token go through
// authed, which checks it first, as upstream's jwtdecode middleware does
// on every router but the public ones; a path or method no router knows
// falls to the catch-all 404 "Not Found - <path>" (backend/app.js).
func (s *Server) routes() *http.ServeMux {
	mux := http.NewServeMux()
	h := func(pattern string, fn handler) {
		method, path, _ := strings.Cut(pattern, " ")
		mux.Handle(method+" "+s.prefix+path, s.endpoint(fn))
	}
	// Public routes.
	h("GET /{$}", s.health)
	h("GET /schema", s.schema)
	h("GET /version/check", s.versionCheck)
	h("POST /tokens", s.login)
	h("POST /tokens/2fa", s.login2FA)
	h("POST /users", s.createUser) // open in setup mode; checks the token itself

	// Tokens and users.
	h("GET /tokens", s.authed(s.refresh))
	h("GET /users/me", s.authed(s.me))
	h("GET /users", s.admin(s.listUsers))
	h("DELETE /users/{id}", s.admin(s.deleteUser))
	h("PUT /users/{id}/permissions", s.admin(s.setPermissions))
	h("GET /audit-log", s.admin(s.auditLog))
	h("GET /audit-log/{id}", s.admin(s.auditEntry))
	h("GET /reports/hosts", s.authed(s.reportHosts))
	h("GET /settings", s.admin(s.listSettings))
	h("GET /settings/default-site", s.admin(s.getDefaultSite))
	h("PUT /settings/default-site", s.admin(s.putDefaultSite))

	// Hosts and streams share one set of routes.
	for kind, seg := range map[string]string{kindProxy: "proxy-hosts", kindRedirection: "redirection-hosts", kindDead: "dead-hosts", kindStream: "streams"} {
		base := "/nginx/" + seg
		h("GET "+base, s.can(kind, false, s.listHosts(kind)))
		h("POST "+base, s.can(kind, true, s.createHost(kind)))
		h("GET "+base+"/{id}", s.can(kind, false, s.getHost(kind)))
		h("PUT "+base+"/{id}", s.can(kind, true, s.updateHost(kind)))
		h("DELETE "+base+"/{id}", s.can(kind, true, s.deleteHost(kind)))
		h("POST "+base+"/{id}/enable", s.can(kind, true, s.toggleHost(kind, true)))
		if kind == kindDead {
			h("POST "+base+"/{id}/disable", s.authed(s.disableDeadHost))
		} else {
			h("POST "+base+"/{id}/disable", s.can(kind, true, s.toggleHost(kind, false)))
		}
	}

	// Access lists.
	h("GET /nginx/access-lists", s.can("access_lists", false, s.listACLs))
	h("POST /nginx/access-lists", s.can("access_lists", true, s.createACL))
	h("GET /nginx/access-lists/{id}", s.can("access_lists", false, s.getACL))
	h("PUT /nginx/access-lists/{id}", s.can("access_lists", true, s.updateACL))
	h("DELETE /nginx/access-lists/{id}", s.can("access_lists", true, s.deleteACL))

	// Certificates.
	h("GET /nginx/certificates", s.can("certificates", false, s.listCerts))
	h("POST /nginx/certificates", s.can("certificates", true, s.createCert))
	h("GET /nginx/certificates/dns-providers", s.authed(s.dnsProviders))
	h("GET /nginx/certificates/test-http", s.can("certificates", false, s.testHTTP))
	h("POST /nginx/certificates/test-http", s.can("certificates", true, s.testHTTP))
	h("POST /nginx/certificates/validate", s.can("certificates", true, s.validateCert))
	h("GET /nginx/certificates/{id}", s.can("certificates", false, s.getCert))
	h("DELETE /nginx/certificates/{id}", s.can("certificates", true, s.deleteCert))
	h("POST /nginx/certificates/{id}/renew", s.can("certificates", true, s.renewCert))
	h("POST /nginx/certificates/{id}/upload", s.can("certificates", true, s.uploadCert))

	// Everything else: the bundled nginx redirects the bare prefix to
	// prefix+"/", express answers OPTIONS with 204 and anything unknown
	// with 404 "Not Found - <path>".
	mux.HandleFunc("/", s.fallback)
	if s.prefix != "" {
		mux.HandleFunc(s.prefix, s.fallback) // ServeMux would redirect it itself, with 301/307
	}
	return mux
}

// endpoint turns a handler into an http.Handler writing NPM's answers.
func (s *Server) endpoint(fn handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := &call{r: r, path: s.apiPath(r)}
		status, v, e := fn(c)
		if e != nil {
			s.writeErr(w, c.path, e)
			return
		}
		s.writeJSON(w, status, v)
	})
}

// apiPath is the request's path without the prefix.
func (s *Server) apiPath(r *http.Request) string {
	p := r.URL.Path
	if s.prefix != "" && (p == s.prefix || strings.HasPrefix(p, s.prefix+"/")) {
		p = strings.TrimPrefix(p, s.prefix)
	}
	return p
}

func (s *Server) fallback(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	inside := s.prefix == "" || p == s.prefix || strings.HasPrefix(p, s.prefix+"/")
	switch {
	case s.prefix != "" && p == s.prefix:
		http.Redirect(w, r, s.prefix+"/", http.StatusFound)
	case inside && r.Method == http.MethodOptions:
		w.WriteHeader(http.StatusNoContent)
	case inside:
		path := s.apiPath(r)
		s.writeErr(w, path, notFound(path))
	default:
		s.writeErr(w, p, notFound(p))
	}
}

func notFound(path string) *apiError { return errf(404, "Not Found - %s", path) }

// authed checks the bearer token before the handler runs.
func (s *Server) authed(fn handler) handler {
	return func(c *call) (int, any, *apiError) {
		u, e := s.authenticate(c.r, c.path)
		if e != nil {
			return 0, nil, e
		}
		c.u = u
		return fn(c)
	}
}

// admin is authed plus the admin role (users, settings, audit log).
func (s *Server) admin(fn handler) handler {
	return s.authed(func(c *call) (int, any, *apiError) {
		if !c.u.admin {
			return 0, nil, s.denied(c.r, c.path)
		}
		return fn(c)
	})
}

// can is authed plus the user's view or manage permission on a kind of
// object (backend/lib/access.js).
func (s *Server) can(kind string, manage bool, fn handler) handler {
	return s.authed(func(c *call) (int, any, *apiError) {
		if !c.u.can(kind, manage) {
			return 0, nil, s.denied(c.r, c.path)
		}
		return fn(c)
	})
}

// pathID parses the {id} of the route.
func pathID(c *call) (int, *apiError) { return parseID(c.r.PathValue("id")) }

// serve is the outermost handler: it logs the request, waits the injected
// latency, answers an injected fault, then routes.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	path := s.apiPath(r)
	s.log.Add(Request{Method: r.Method, Path: path, Query: r.URL.RawQuery, Time: time.Now()})
	// The body is buffered first (up to the largest a route reads, the
	// 8 MiB certificate upload) so that a client giving up while the
	// answer is delayed is noticed.
	if !s.latency.WaitRequest(r, maxBody) {
		return // the client gave up while the answer was delayed
	}
	if f, ok := s.faults.Take(func(f Fault) bool { return f.matches(r.Method, path) }); ok {
		s.writeErr(w, path, f.apiError())
		return
	}
	s.mux.ServeHTTP(w, r)
}

// Request is one request the server received.
type Request struct {
	Method string
	// Path is the API path without the prefix, e.g. "/nginx/proxy-hosts/3".
	Path string
	// Query is the raw query string, e.g. "expand=certificate".
	Query string
	Time  time.Time
}

// Fault is an injected failure: matching requests are answered with an NPM
// error body ({"error":{"code":Status,"message":Message}}) instead of
// being served.
type Fault struct {
	// Method matches the HTTP method; "" matches every method.
	Method string
	// Path matches the API path without the prefix ("/nginx/proxy-hosts");
	// a trailing "*" matches a prefix; "" matches every path.
	Path string
	// Status is the HTTP status to answer (default 500).
	Status int
	// Message is error.message (default "Internal Error", as NPM masks
	// every non-public error).
	Message string
	// Times is how many matching requests fail; 0 means every one until
	// ClearFaults.
	Times int
}

func (f Fault) matches(method, path string) bool {
	if f.Method != "" && !strings.EqualFold(f.Method, method) {
		return false
	}
	if p, ok := strings.CutSuffix(f.Path, "*"); ok {
		return strings.HasPrefix(path, p)
	}
	return f.Path == "" || f.Path == path
}

func (f Fault) apiError() *apiError {
	status, msg := f.Status, f.Message
	if status == 0 {
		status = 500
	}
	if msg == "" {
		msg = "Internal Error"
	}
	return &apiError{status: status, msg: msg}
}

// Inject makes requests matching f fail, f.Times times (0: until
// ClearFaults).
func (s *Server) Inject(f Fault) { s.faults.Add(f, f.Times) }

// ClearFaults removes every injected fault.
func (s *Server) ClearFaults() { s.faults.Clear() }

// Requests returns a copy of the requests received so far, in order.
//
// The server keeps the most recent requests: fakeserver.DefaultLogLimit
// (10,000) unless SetRequestLimit says otherwise, so a long demo does not
// grow without bound; the fakes are meant for tests and demos.
func (s *Server) Requests() []Request { return s.log.All() }

// SetRequestLimit sets how many of the most recent requests Requests
// keeps (0 or less: fakeserver.DefaultLogLimit, 10,000); a benchmark that
// counts round trips over many iterations raises it.
func (s *Server) SetRequestLimit(n int) { s.log.SetLimit(n) }

// ResetRequests forgets the requests received so far.
func (s *Server) ResetRequests() { s.log.Reset() }

// SetLatency delays every answer by d (honouring the request's context);
// 0 removes the delay.
func (s *Server) SetLatency(d time.Duration) { s.latency.Set(d) }
