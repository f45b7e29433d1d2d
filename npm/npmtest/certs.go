package npmtest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"maps"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/thehomelab/homelab/internal/poll"
)

type cert struct {
	id       int
	owner    int
	created  time.Time
	modified time.Time
	deleted  bool
	provider string
	niceName string
	domains  []string
	expires  time.Time
	meta     map[string]any
}

// DNSProvider is an entry of GET /nginx/certificates/dns-providers.
type dnsProvider struct{ id, name, credentials string }

var dnsProviders = []dnsProvider{
	{"cloudflare", "Cloudflare", "# Cloudflare API token\ndns_cloudflare_api_token=0123456789abcdef0123456789abcdef01234567"},
	{"digitalocean", "DigitalOcean", "dns_digitalocean_token = 0000111122223333444455556666777788889999aaaabbbbccccddddeeeeffff"},
	{"duckdns", "DuckDNS", "dns_duckdns_token=your-duckdns-token"},
	{"route53", "Route 53 (Amazon)", "[default]\naws_access_key_id=AKIAIOSFODNN7EXAMPLE\naws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"},
}

func (s *Server) certSchema() *node {
	meta := map[string]*node{
		"dns_challenge": boolean(), "dns_provider": str(), "dns_provider_credentials": str(),
		"propagation_seconds": integer(0, 1<<31-1), "certificate": str(), "certificate_key": str(),
		"letsencrypt_certificate": anyObj(),
	}
	if s.ver.atLeast(2, 13, 6) {
		meta["key_type"] = enum("rsa", "ecdsa")
	}
	if !s.ver.atLeast(2, 13, 0) {
		meta["letsencrypt_email"] = str()
		meta["letsencrypt_agree"] = boolean()
	}
	return obj(map[string]*node{
		"provider": enum("letsencrypt", "other"), "nice_name": str(), "domain_names": domains(), "meta": obj(meta),
	}, "provider")
}

// renderCertLocked writes a certificate; dns_provider_credentials never
// leave the server.
func (s *Server) renderCertLocked(c *cert, exp map[string]bool) map[string]any {
	meta := maps.Clone(c.meta)
	if meta == nil {
		meta = map[string]any{}
	}
	delete(meta, "dns_provider_credentials")
	ds := make([]any, 0, len(c.domains))
	for _, d := range c.domains {
		ds = append(ds, d)
	}
	out := map[string]any{
		"id": c.id, "created_on": s.date(c.created), "modified_on": s.date(c.modified), "owner_user_id": c.owner,
		"provider": c.provider, "nice_name": c.niceName, "domain_names": ds, "expires_on": s.date(c.expires), "meta": meta,
	}
	if exp["owner"] {
		if u := s.users[c.owner]; u != nil {
			out["owner"] = s.renderUser(u)
		}
	}
	for _, k := range []string{kindProxy, kindRedirection, kindDead, kindStream} {
		if !exp[k] {
			continue
		}
		list := []any{}
		for _, id := range sortedKeys(s.tables[k].rows) {
			r := s.tables[k].rows[id]
			if cid, _ := r.cols["certificate_id"].(int); !r.deleted && cid == c.id {
				h := s.renderRowLocked(k, r, nil)
				h["is_deleted"] = s.bool(false) // certificate omissions name only owner.is_deleted
				list = append(list, h)
			}
		}
		out[k] = list
	}
	return out
}

var certExpand = []string{"owner", kindProxy, kindRedirection, kindDead, kindStream}

// listCerts answers GET /nginx/certificates (backend/internal/certificate.js
// getAll, sorted by nice_name, credentials omitted).
func (s *Server) listCerts(c *call) (int, any, *apiError) {
	exp, e := parseExpand(c.r, certExpand...)
	if e != nil {
		return 0, nil, e
	}
	// ?query= is upstream's LIKE on nice_name.
	q := strings.ToLower(c.r.URL.Query().Get("query"))
	s.mu.Lock()
	defer s.mu.Unlock()
	var list []*cert
	for _, id := range sortedKeys(s.certs) {
		if x := s.certs[id]; !x.deleted && c.u.sees(x.owner) && strings.Contains(strings.ToLower(x.niceName), q) {
			list = append(list, x)
		}
	}
	sort.SliceStable(list, func(i, j int) bool { return list[i].niceName < list[j].niceName })
	out := []any{}
	for _, x := range list {
		out = append(out, s.renderCertLocked(x, exp))
	}
	return 200, out, nil
}

// dnsProviders answers GET /nginx/certificates/dns-providers (2.13+). Its
// route builds its permission error correctly, so it is a 403 even where
// the others answer 404 (backend/routes/nginx/certificates.js).
func (s *Server) dnsProviders(c *call) (int, any, *apiError) {
	if !s.ver.atLeast(2, 13, 0) {
		return 0, nil, notFound(c.path)
	}
	if !c.u.can("certificates", false) {
		return 0, nil, errf(403, "Permission Denied")
	}
	out := []any{}
	for _, p := range dnsProviders {
		out = append(out, map[string]any{"id": p.id, "name": p.name, "credentials": p.credentials})
	}
	return 200, out, nil
}

// testHTTP answers POST /nginx/certificates/test-http (2.13+) or, before,
// GET with ?domains=<JSON array>.
func (s *Server) testHTTP(c *call) (int, any, *apiError) {
	post := c.r.Method == http.MethodPost
	if post != s.ver.atLeast(2, 13, 0) {
		return 0, nil, notFound(c.path)
	}
	var ds []string
	if post {
		b, e := s.readValid(c.r, obj(map[string]*node{"domains": domains()}, "domains"))
		if e != nil {
			return 0, nil, e
		}
		ds = strs(b["domains"])
	} else {
		ds = strings.Split(strings.Trim(c.r.URL.Query().Get("domains"), `[]"`), `","`)
	}
	out := map[string]any{}
	for _, d := range ds {
		out[d] = "ok"
	}
	return 200, out, nil
}

// validateCert answers POST /nginx/certificates/validate (backend/internal/certificate.js validate).
func (s *Server) validateCert(c *call) (int, any, *apiError) {
	files, e := uploadedFiles(c.r)
	if e != nil {
		return 0, nil, e
	}
	leaf, e := s.checkPEM(files)
	if e != nil {
		return 0, nil, e
	}
	return 200, map[string]any{"certificate": map[string]any{"cn": leaf.Subject.CommonName, "issuer": leaf.Issuer.String(),
		"dates": map[string]any{"from": leaf.NotBefore.Unix(), "to": leaf.NotAfter.Unix()}}, "certificate_key": true}, nil
}

// findCert returns a live certificate the user sees.
func (s *Server) findCert(c *call) (*cert, *apiError) {
	id, e := pathID(c)
	if e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	x := s.certs[id]
	if x == nil || x.deleted || !c.u.sees(x.owner) {
		return nil, errf(404, "Not Found - %d", id)
	}
	return x, nil
}

// getCert answers GET /nginx/certificates/{id} (backend/internal/certificate.js get).
func (s *Server) getCert(c *call) (int, any, *apiError) {
	x, e := s.findCert(c)
	if e != nil {
		return 0, nil, e
	}
	exp, e := parseExpand(c.r, certExpand...)
	if e != nil {
		return 0, nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return 200, s.renderCertLocked(x, exp), nil
}

func (s *Server) deleteCert(c *call) (int, any, *apiError) {
	x, e := s.findCert(c)
	if e != nil {
		return 0, nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	x.deleted = true
	s.auditLocked(c.u, "certificate", x.id, "deleted", map[string]any{})
	return 200, true, nil
}

// renewCert answers POST /nginx/certificates/{id}/renew (backend/internal/certificate.js renew).
func (s *Server) renewCert(c *call) (int, any, *apiError) {
	x, e := s.findCert(c)
	if e != nil {
		return 0, nil, e
	}
	s.mu.Lock()
	provider, domains := x.provider, append([]string(nil), x.domains...)
	s.mu.Unlock()
	if provider != "letsencrypt" {
		return 0, nil, errf(400, "Only Let'sEncrypt certificates can be renewed")
	}
	if e := s.runCertbot(c.r.Context(), domains); e != nil {
		return 0, nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	x.expires = s.now().Add(90 * 24 * time.Hour)
	x.modified = s.now()
	s.auditLocked(c.u, "certificate", x.id, "renewed", map[string]any{})
	return 200, s.renderCertLocked(x, nil), nil
}

// uploadCert answers POST /nginx/certificates/{id}/upload (backend/internal/certificate.js upload).
func (s *Server) uploadCert(c *call) (int, any, *apiError) {
	x, e := s.findCert(c)
	if e != nil {
		return 0, nil, e
	}
	files, e := uploadedFiles(c.r)
	if e != nil {
		return 0, nil, e
	}
	s.mu.Lock()
	provider := x.provider
	s.mu.Unlock()
	if provider != "other" {
		return 0, nil, errf(400, "Cannot upload certificates for this type of provider")
	}
	leaf, e := s.checkPEM(files)
	if e != nil {
		return 0, nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	x.domains = []string{leaf.Subject.CommonName}
	x.expires = leaf.NotAfter.UTC()
	x.modified = s.now()
	x.meta = map[string]any{"certificate": files["certificate"], "certificate_key": files["certificate_key"]}
	out := map[string]any{"certificate": files["certificate"], "certificate_key": files["certificate_key"]}
	if v, ok := files["intermediate_certificate"]; ok {
		out["intermediate_certificate"] = v
		x.meta["intermediate_certificate"] = v
	}
	return 200, out, nil
}

// maxBody is the largest request body a route reads: the certificate
// upload.
const maxBody = 8 << 20

// uploadedFiles reads the multipart fields; none at all is the upstream
// string-valued error body.
func uploadedFiles(r *http.Request) (map[string]string, *apiError) {
	noFiles := &apiError{status: 400, raw: map[string]any{"error": "No files were uploaded"}}
	// Bound the whole upload, not only what is kept in memory.
	r.Body = http.MaxBytesReader(nil, r.Body, maxBody)
	if err := r.ParseMultipartForm(1 << 20); err != nil || r.MultipartForm == nil || len(r.MultipartForm.File) == 0 {
		return nil, noFiles
	}
	out := map[string]string{}
	for _, k := range []string{"certificate", "certificate_key", "intermediate_certificate"} {
		fhs := r.MultipartForm.File[k]
		if len(fhs) == 0 {
			continue
		}
		f, err := fhs[0].Open()
		if err != nil {
			return nil, errInternal
		}
		b, _ := io.ReadAll(io.LimitReader(f, 1<<20))
		_ = f.Close()
		out[k] = string(b)
	}
	if out["certificate"] == "" {
		return nil, noFiles
	}
	return out, nil
}

func (s *Server) checkPEM(files map[string]string) (*x509.Certificate, *apiError) {
	blk, _ := pem.Decode([]byte(files["certificate"]))
	if blk == nil {
		return nil, errf(400, "Certificate is not valid (unable to load certificate)")
	}
	leaf, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		return nil, errf(400, "Certificate is not valid (%v)", err)
	}
	if files["certificate_key"] != "" {
		if _, err := tls.X509KeyPair([]byte(files["certificate"]), []byte(files["certificate_key"])); err != nil {
			return nil, errf(400, "Certificate Key is not valid (%v)", err)
		}
	}
	s.mu.Lock()
	now := s.now()
	s.mu.Unlock()
	if now.After(leaf.NotAfter) {
		return nil, errf(400, "Certificate is not valid (Certificate has expired)")
	}
	return leaf, nil
}

// runCertbot simulates certbot: latency honouring ctx (or only Close, when
// issuance is detached), then the failure hook.
func (s *Server) runCertbot(ctx context.Context, domains []string) *apiError {
	s.mu.Lock()
	lat, hook := s.certLatency, s.certHook
	if s.detached {
		ctx = s.life
	}
	s.mu.Unlock()
	if err := poll.Sleep(ctx, lat); err != nil {
		return &apiError{status: 500, msg: "Internal Error", debug: map[string]any{"stack": []string{"Error: request aborted"}}}
	}
	if hook != nil {
		if err := hook(domains); err != nil {
			return certbotFailed(domains, err.Error())
		}
	}
	return nil
}

// certbotFailed is the answer of a failed certbot run. upstream runs it
// with utils.execFile (backend/lib/utils.js), which rejects with
// CommandError(stderr, 1, err): its message is certbot's stderr, so the
// error handler (backend/app.js) masks it as "Internal Error" and puts it
// in debug.stack (err.stack split into lines: "CommandError: <stderr>",
// then the frames); debug.previous is node's execFile error, whose
// enumerable fields are code, killed, signal and cmd (the certbot command
// line of backend/internal/certificate.js requestLetsEncryptSsl; the DNS
// credentials are in a file it names, never on it). reason is the line
// certbot prints between its boilerplate.
func certbotFailed(domains []string, reason string) *apiError {
	stderr := "Saving debug log to /tmp/letsencrypt-log/letsencrypt.log\n" + reason +
		"\nAsk for help or search for solutions at https://community.letsencrypt.org. See the logfile /tmp/letsencrypt-log/letsencrypt.log or re-run Certbot with -v for more details.\n"
	stack := strings.Split("CommandError: "+stderr, "\n")
	stack = append(stack, "    at ChildProcess.exithandler (node:child_process:422:12)", "    at ChildProcess.emit (node:events:518:28)",
		"    at maybeClose (node:internal/child_process:1104:16)", "    at ChildProcess._handle.onexit (node:internal/child_process:304:5)")
	cmd := "certbot certonly -n --config /etc/letsencrypt.ini --work-dir /tmp/letsencrypt-lib --logs-dir /data/logs --cert-name npm-0 --agree-tos --domains " + strings.Join(domains, ",")
	return &apiError{status: 500, msg: "Internal Error", debug: map[string]any{
		"stack":    stack,
		"previous": map[string]any{"code": 1, "killed": false, "signal": nil, "cmd": cmd},
	}}
}

// createCert answers POST /nginx/certificates (backend/internal/certificate.js
// create: an "other" row at once, Let's Encrypt issued synchronously).
func (s *Server) createCert(c *call) (int, any, *apiError) {
	r, u := c.r, c.u
	b, e := s.readValid(r, s.certSchema())
	if e != nil {
		return 0, nil, e
	}
	meta, _ := b["meta"].(map[string]any)
	ds := strs(b["domain_names"])
	if b["provider"] == "other" {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.certSeq++
		name, _ := b["nice_name"].(string)
		c := &cert{id: s.certSeq, owner: u.id, created: s.now(), modified: s.now(), provider: "other", niceName: name, domains: ds, expires: s.now(), meta: map[string]any{}}
		s.certs[c.id] = c
		s.auditLocked(u, "certificate", c.id, "created", map[string]any{})
		return 201, s.renderCertLocked(c, nil), nil
	}
	id, e := s.issue(r.Context(), u, ds, meta)
	if e != nil {
		return 0, nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return 201, s.renderCertLocked(s.certs[id], nil), nil
}

// issue runs a synchronous Let's Encrypt issuance and returns the new
// certificate id; on failure no row remains.
func (s *Server) issue(ctx context.Context, u *user, ds []string, meta map[string]any) (int, *apiError) {
	if meta == nil {
		meta = map[string]any{}
	}
	if len(ds) == 0 {
		return 0, errf(400, "data/domain_names must NOT have fewer than 1 items")
	}
	if s.ver.atLeast(2, 13, 0) && u.email == "" {
		return 0, errf(400, "A valid email address must be set on your user account to use Let's Encrypt")
	}
	if dc, _ := meta["dns_challenge"].(bool); dc {
		p, _ := meta["dns_provider"].(string)
		found := false
		for _, x := range dnsProviders {
			found = found || x.id == p
		}
		if !found {
			return 0, errf(404, "Not Found - %s", p)
		}
	}
	s.mu.Lock()
	s.certSeq++
	now := s.now()
	c := &cert{id: s.certSeq, owner: u.id, created: now, modified: now, provider: "letsencrypt", niceName: strings.Join(ds, ", "), domains: ds, expires: now, meta: maps.Clone(meta)}
	s.certs[c.id] = c
	s.mu.Unlock()
	fail := s.runCertbot(ctx, ds)
	if fail == nil {
		switch {
		case !s.ver.atLeast(2, 13, 0) && meta["letsencrypt_email"] == nil:
			fail = certbotFailed(ds, "You should register before running non-interactively, or provide --agree-tos and --email <email_address> flags.")
		case meta["dns_challenge"] == true && meta["dns_provider"] == "cloudflare" && !strings.Contains(fmt.Sprint(meta["dns_provider_credentials"]), "dns_cloudflare_api_token"):
			fail = certbotFailed(ds, "Missing property in credentials configuration file /etc/letsencrypt/credentials/credentials-0:\n * Property \"dns_cloudflare_api_token\" not found (should be API token with \"Zone:DNS:Edit\" permission).")
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if fail != nil {
		delete(s.certs, c.id)
		return 0, fail
	}
	c.expires = s.now().Add(90 * 24 * time.Hour)
	c.modified = s.now()
	s.auditLocked(u, "certificate", c.id, "created", map[string]any{})
	return c.id, nil
}

// CertInfo is what tests can inspect about a stored certificate.
type CertInfo struct {
	ID        int
	Provider  string
	Domains   []string
	ExpiresOn time.Time
	// Credentials is the stored dns_provider_credentials (never served).
	Credentials string
}

// Certificates lists the live certificates.
func (s *Server) Certificates() []CertInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []CertInfo
	for _, id := range sortedKeys(s.certs) {
		c := s.certs[id]
		if c.deleted {
			continue
		}
		cred, _ := c.meta["dns_provider_credentials"].(string)
		out = append(out, CertInfo{ID: id, Provider: c.provider, Domains: append([]string(nil), c.domains...), ExpiresOn: c.expires, Credentials: cred})
	}
	return out
}
