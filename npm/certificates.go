package npm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime/multipart"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/thehomelab/homelab/secret"
)

// Certificate providers.
const (
	ProviderLetsEncrypt = "letsencrypt"
	ProviderCustom      = "other"
)

// Certificate is an SSL certificate known to NPM. The DNS provider
// credentials are never part of it: the server redacts them and the client
// does not decode them.
type Certificate struct {
	ID                    CertificateID
	CreatedOn, ModifiedOn time.Time
	OwnerUserID           UserID
	Provider              string // ProviderLetsEncrypt or ProviderCustom
	NiceName              string
	Domains               []string
	ExpiresOn             time.Time
	DNSChallenge          bool
	DNSProvider           string // e.g. "cloudflare"
	PropagationSeconds    int
	KeyType               string // "rsa" or "ecdsa" (2.13.6+)
}

// Covers reports whether the certificate is valid for fqdn: an exact name
// or a wildcard one label deep ("*.thehomelab.site" covers
// "nextcloud.thehomelab.site", not "a.b.thehomelab.site").
func (c Certificate) Covers(fqdn string) bool {
	fqdn = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(fqdn), "."))
	for _, d := range c.Domains {
		d = strings.ToLower(strings.TrimSpace(d))
		if d == fqdn {
			return true
		}
		if rest, ok := strings.CutPrefix(d, "*."); ok {
			if label, parent, ok := strings.Cut(fqdn, "."); ok && label != "" && parent == rest {
				return true
			}
		}
	}
	return false
}

type wireCertificate struct {
	ID          flexInt  `json:"id"`
	CreatedOn   flexTime `json:"created_on"`
	ModifiedOn  flexTime `json:"modified_on"`
	OwnerUserID flexInt  `json:"owner_user_id"`
	Provider    string   `json:"provider"`
	NiceName    string   `json:"nice_name"`
	DomainNames []string `json:"domain_names"`
	ExpiresOn   flexTime `json:"expires_on"`
	Meta        *struct {
		DNSChallenge       flexBool `json:"dns_challenge"`
		DNSProvider        string   `json:"dns_provider"`
		PropagationSeconds flexInt  `json:"propagation_seconds"`
		KeyType            string   `json:"key_type"`
	} `json:"meta"`
}

// decodeCertificate converts one wire object; meta keys other than the
// challenge settings (credentials, PEMs) are skipped.
func decodeCertificate(data []byte) (Certificate, error) {
	var w wireCertificate
	if err := json.Unmarshal(data, &w); err != nil {
		return Certificate{}, err
	}
	c := Certificate{
		ID: CertificateID(w.ID), CreatedOn: time.Time(w.CreatedOn), ModifiedOn: time.Time(w.ModifiedOn),
		OwnerUserID: UserID(w.OwnerUserID), Provider: w.Provider, NiceName: w.NiceName,
		Domains: slices.DeleteFunc(slices.Clone(w.DomainNames), func(s string) bool { return s == "" }), ExpiresOn: time.Time(w.ExpiresOn),
	}
	if w.Meta != nil {
		c.DNSChallenge = bool(w.Meta.DNSChallenge)
		c.DNSProvider = w.Meta.DNSProvider
		c.PropagationSeconds = int(w.Meta.PropagationSeconds)
		c.KeyType = w.Meta.KeyType
	}
	return c, nil
}

// LetsEncryptRequest asks for a Let's Encrypt certificate.
type LetsEncryptRequest struct {
	// Domains to cover; a wildcard ("*.thehomelab.site") needs the DNS
	// challenge.
	Domains []string
	// CloudflareToken is a Cloudflare API token with Zone:DNS:Edit; when
	// set the DNS-01 challenge is used through Cloudflare. It goes only into
	// the request body; the server never returns it.
	CloudflareToken secret.Secret
	// PropagationSeconds waits for DNS propagation; 0 uses the plugin's
	// default.
	PropagationSeconds int
	// KeyType is "rsa" or "ecdsa" (NPM 2.13.6+); empty is the server's
	// default.
	KeyType string
	// Email is the ACME account address, sent only to NPM ≤2.12; newer
	// servers use the e-mail of the logged-in user.
	Email string
}

func (r LetsEncryptRequest) body(f features) (map[string]any, error) {
	if len(r.Domains) == 0 {
		return nil, fmt.Errorf("no domain names: %w", ErrInvalid)
	}
	meta := map[string]any{}
	wild := false
	for _, d := range r.Domains {
		wild = wild || strings.HasPrefix(d, "*.")
	}
	if r.CloudflareToken.IsZero() {
		if wild {
			return nil, fmt.Errorf("a wildcard certificate needs the DNS challenge (set CloudflareToken): %w", ErrInvalid)
		}
	} else {
		// The token is spliced into certbot's INI credentials file: a line
		// break would smuggle in other settings.
		if strings.ContainsAny(r.CloudflareToken.Reveal(), "\r\n") {
			return nil, fmt.Errorf("the cloudflare token must be a single line: %w", ErrInvalid)
		}
		meta["dns_challenge"] = true
		meta["dns_provider"] = "cloudflare"
		meta["dns_provider_credentials"] = "dns_cloudflare_api_token = " + r.CloudflareToken.Reveal()
		if r.PropagationSeconds > 0 {
			meta["propagation_seconds"] = r.PropagationSeconds
		}
	}
	if r.KeyType != "" {
		if r.KeyType != "rsa" && r.KeyType != "ecdsa" {
			return nil, fmt.Errorf("key type %q: want rsa or ecdsa: %w", r.KeyType, ErrInvalid)
		}
		if !f.keyType() {
			return nil, fmt.Errorf("key_type needs npm 2.13.6 or newer (server runs %s): %w", f.v, ErrUnsupported)
		}
		meta["key_type"] = r.KeyType
	}
	if f.letsEncryptEmail() {
		if r.Email == "" {
			return nil, fmt.Errorf("npm %s needs the let's encrypt e-mail in the request: %w", f.v, ErrInvalid)
		}
		meta["letsencrypt_email"] = r.Email
		meta["letsencrypt_agree"] = true
	}
	d := slices.Clone(r.Domains)
	sort.Strings(d)
	return map[string]any{"provider": ProviderLetsEncrypt, "domain_names": d, "meta": meta}, nil
}

// CertificatesService manages certificates. Get it from Client.Certificates.
type CertificatesService struct{ c *Client }

// List returns the certificates, sorted by name.
//
// NPM API: GET /nginx/certificates
func (s *CertificatesService) List(ctx context.Context) ([]Certificate, error) {
	var raw rawAnswer
	op := "list certificates"
	if err := s.c.do(ctx, request{op: op, method: http.MethodGet, path: "/nginx/certificates", out: &raw}); err != nil {
		return nil, err
	}
	cs, err := decodeList(raw, decodeCertificate)
	if err != nil {
		return nil, errorf(op, "decode answer: %w", err)
	}
	return cs, nil
}

// Get returns one certificate.
//
// NPM API: GET /nginx/certificates/{id}
func (s *CertificatesService) Get(ctx context.Context, id CertificateID) (Certificate, error) {
	return s.one(ctx, request{op: "get certificate " + id.String(), method: http.MethodGet, path: "/nginx/certificates/" + id.String()})
}

func (s *CertificatesService) one(ctx context.Context, r request) (Certificate, error) {
	var raw rawAnswer
	r.out = &raw
	if err := s.c.do(ctx, r); err != nil {
		return Certificate{}, err
	}
	c, err := decodeCertificate(raw)
	if err != nil {
		return Certificate{}, errorf(r.op, "decode answer: %w", err)
	}
	return c, nil
}

// CreateLetsEncrypt issues a certificate. The server runs certbot while the
// request is open (minutes with DNS propagation) and keeps no row when it
// fails. It inserts the row before certbot starts, though, and goes on when
// the client hangs up; so when no answer arrives (ctx ended, timeout, lost
// connection) the call deletes the certificate row it started, leaving
// nothing half-made, and returns the error (ctx's once ctx is done). The
// row is recognised as a Let's Encrypt certificate for the same domains
// that was not there before the call (one extra list request), so a
// concurrent issuance for the same domains by another client would be
// removed too.
//
// NPM API: GET /nginx/certificates, POST /nginx/certificates, and on an
// abandoned request DELETE /nginx/certificates/{id}
func (s *CertificatesService) CreateLetsEncrypt(ctx context.Context, r LetsEncryptRequest) (Certificate, error) {
	ctx, short, cancel := s.c.boundIssue(ctx)
	defer cancel()
	op := "create certificate " + strings.Join(r.Domains, ",")
	f, err := s.c.features(short)
	if err != nil {
		return Certificate{}, opErr(op, err)
	}
	body, err := r.body(f)
	if err != nil {
		return Certificate{}, opErr(op, err)
	}
	before, err := s.List(short)
	if err != nil {
		return Certificate{}, err
	}
	c, err := s.one(ctx, request{op: op, method: http.MethodPost, path: "/nginx/certificates", body: body, scrub: []secret.Secret{r.CloudflareToken}})
	if err == nil {
		return c, nil
	}
	if answered(err) {
		// The server answered: a failed issuance keeps no row.
		return Certificate{}, err
	}
	if cerr := s.abandon(ctx, op, before, r.Domains); cerr != nil {
		err = errors.Join(err, cerr)
	}
	return Certificate{}, err
}

// abandon deletes the certificate rows for domains that appeared since
// known was listed: the issuance a request without an answer left running.
// It runs with a context that outlives a cancelled ctx, bounded.
func (s *CertificatesService) abandon(ctx context.Context, op string, known []Certificate, domains []string) error {
	uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	all, err := s.List(uctx)
	if err != nil {
		return errorf(op, "look for the abandoned certificate: %w", err)
	}
	seen := make(map[CertificateID]bool, len(known))
	for _, c := range known {
		seen[c.ID] = true
	}
	want := domainKey(domains)
	var errs []error
	for _, c := range all {
		if seen[c.ID] || c.Provider != ProviderLetsEncrypt || !slices.Equal(domainKey(c.Domains), want) {
			continue
		}
		if err := s.Delete(uctx, c.ID); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Renew forces renewal of a Let's Encrypt certificate and returns it with
// its new expiry.
//
// NPM API: POST /nginx/certificates/{id}/renew
func (s *CertificatesService) Renew(ctx context.Context, id CertificateID) (Certificate, error) {
	ctx, _, cancel := s.c.boundIssue(ctx)
	defer cancel()
	return s.one(ctx, request{op: "renew certificate " + id.String(), method: http.MethodPost, path: "/nginx/certificates/" + id.String() + "/renew"})
}

// Delete removes a certificate. The server does not check whether hosts
// still use it: detach them first.
//
// NPM API: DELETE /nginx/certificates/{id}
func (s *CertificatesService) Delete(ctx context.Context, id CertificateID) error {
	return s.c.do(ctx, request{op: "delete certificate " + id.String(), method: http.MethodDelete, path: "/nginx/certificates/" + id.String()})
}

// CustomCertificate is a certificate issued elsewhere, in PEM.
type CustomCertificate struct {
	NiceName     string
	Certificate  []byte        // PEM
	Key          secret.Secret // PEM private key
	Intermediate []byte        // PEM, optional
}

// UploadCustom creates a custom ("other") certificate and uploads its
// files. If the upload fails, or the create's answer never arrives, the
// empty certificate row is deleted again.
//
// NPM API: POST /nginx/certificates, POST /nginx/certificates/{id}/upload,
// GET /nginx/certificates/{id}
func (s *CertificatesService) UploadCustom(ctx context.Context, cc CustomCertificate) (Certificate, error) {
	ctx, cancel := s.c.bound(ctx)
	defer cancel()
	op := "upload certificate " + cc.NiceName
	if cc.NiceName == "" || len(cc.Certificate) == 0 || cc.Key.IsZero() {
		return Certificate{}, opErr(op, fmt.Errorf("name, certificate and key are required: %w", ErrInvalid))
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	files := []struct {
		field string
		data  []byte
	}{{"certificate", cc.Certificate}, {"certificate_key", []byte(cc.Key.Reveal())}, {"intermediate_certificate", cc.Intermediate}}
	for _, f := range files {
		if len(f.data) == 0 {
			continue
		}
		w, err := mw.CreateFormFile(f.field, f.field+".pem")
		if err != nil {
			return Certificate{}, opErr(op, err)
		}
		if _, err := w.Write(f.data); err != nil {
			return Certificate{}, opErr(op, err)
		}
	}
	if err := mw.Close(); err != nil {
		return Certificate{}, opErr(op, err)
	}
	row, err := s.one(ctx, request{op: op, method: http.MethodPost, path: "/nginx/certificates", body: map[string]any{"provider": ProviderCustom, "nice_name": cc.NiceName}})
	if err != nil {
		if !answered(err) {
			// No answer (ctx ended, lost connection): the row may exist.
			if cerr := s.dropEmptyCustom(ctx, op, cc.NiceName); cerr != nil {
				err = errors.Join(err, cerr)
			}
		}
		return Certificate{}, err
	}
	path := "/nginx/certificates/" + row.ID.String()
	if err := s.c.do(ctx, request{op: op, method: http.MethodPost, path: path + "/upload", raw: buf.Bytes(), rawTyp: mw.FormDataContentType(), scrub: []secret.Secret{cc.Key}}); err != nil {
		// Leave no empty row behind, even if ctx is what failed; say so
		// when that fails too.
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if derr := s.Delete(uctx, row.ID); derr != nil {
			err = errors.Join(err, derr)
		}
		return Certificate{}, err
	}
	return s.Get(ctx, row.ID)
}

// dropEmptyCustom deletes custom certificates named name that never got
// their files (no domains): what a create without an answer leaves. It
// runs with a context that outlives a cancelled ctx, bounded.
func (s *CertificatesService) dropEmptyCustom(ctx context.Context, op, name string) error {
	uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	all, err := s.List(uctx)
	if err != nil {
		return errorf(op, "look for the empty certificate row: %w", err)
	}
	var errs []error
	for _, c := range all {
		if c.Provider == ProviderCustom && c.NiceName == name && len(c.Domains) == 0 {
			if err := s.Delete(uctx, c.ID); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// Expiring returns the certificates that expire within d of now (already
// expired ones included), soonest first: the expiry report.
//
// NPM API: GET /nginx/certificates
func (s *CertificatesService) Expiring(ctx context.Context, d time.Duration) ([]Certificate, error) {
	all, err := s.List(ctx)
	if err != nil {
		return nil, err
	}
	limit := s.c.now().Add(d)
	var out []Certificate
	for _, c := range all {
		if !c.ExpiresOn.IsZero() && !c.ExpiresOn.After(limit) {
			out = append(out, c)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].ExpiresOn.Before(out[j].ExpiresOn) })
	return out, nil
}

// Covering returns a certificate valid for fqdn that lives longer than
// minValidity, preferring the one that expires last, or false.
//
// NPM API: GET /nginx/certificates
func (s *CertificatesService) Covering(ctx context.Context, fqdn string, minValidity time.Duration) (Certificate, bool, error) {
	all, err := s.List(ctx)
	if err != nil {
		return Certificate{}, false, err
	}
	c, ok := covering(all, fqdn, s.c.now().Add(minValidity))
	return c, ok, nil
}

func covering(all []Certificate, fqdn string, until time.Time) (Certificate, bool) {
	var best Certificate
	ok := false
	for _, c := range all {
		if !c.Covers(fqdn) || !c.ExpiresOn.After(until) {
			continue
		}
		if !ok || c.ExpiresOn.After(best.ExpiresOn) {
			best, ok = c, true
		}
	}
	return best, ok
}
