package proxmox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	goprox "github.com/luthermonson/go-proxmox"

	"github.com/thehomelab/homelab/secret"
)

type authKind int

const (
	authToken authKind = iota
	authTicket
)

// ticketRenewAfter follows PVE's own client: renew once the ticket is an
// hour old (tickets live two hours).
const ticketRenewAfter = time.Hour

// identity is one way of authenticating, with its own HTTP and go-proxmox
// clients so the right headers are set below go-proxmox.
type identity struct {
	c      *Client
	kind   authKind
	user   string // token id or user@realm
	secret secret.Secret
	totp   func(context.Context) (string, error)
	hc     *http.Client
	gp     *goprox.Client

	mu       sync.Mutex
	ticket   secret.Secret
	csrf     secret.Secret
	issued   time.Time
	username string
}

type loginKey struct{}

// authTransport sets the Authorization header (token) or the ticket cookie
// and CSRF header (password login), logging in or renewing first.
type authTransport struct {
	id   *identity
	next http.RoundTripper
}

func (t *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	r.Header.Del("Authorization")
	r.Header.Del("Cookie")
	r.Header.Del("CSRFPreventionToken")
	login, _ := req.Context().Value(loginKey{}).(bool)
	if !login {
		switch t.id.kind {
		case authToken:
			r.Header.Set("Authorization", "PVEAPIToken="+t.id.user+"="+t.id.secret.Reveal())
		case authTicket:
			ticket, csrf, err := t.id.session(req.Context())
			if err != nil {
				return nil, err
			}
			r.AddCookie(&http.Cookie{Name: "PVEAuthCookie", Value: ticket.Reveal()})
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				r.Header.Set("CSRFPreventionToken", csrf.Reveal())
			}
		}
	}
	resp, err := t.next.RoundTrip(r)
	if err != nil || login || t.id.kind != authTicket || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	// The server forgot or refused the ticket (restart, expiry, clock
	// skew): log in again once and resend if the body can be replayed.
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		return resp, nil
	}
	drainClose(resp)
	t.id.invalidate()
	r2 := req.Clone(req.Context())
	if req.GetBody != nil {
		b, err := req.GetBody()
		if err != nil {
			return nil, err
		}
		r2.Body = b
	}
	r2.Header.Del("Authorization")
	ticket, csrf, err := t.id.session(req.Context())
	if err != nil {
		return nil, err
	}
	r2.Header.Del("Cookie")
	r2.AddCookie(&http.Cookie{Name: "PVEAuthCookie", Value: ticket.Reveal()})
	if r2.Method != http.MethodGet && r2.Method != http.MethodHead {
		r2.Header.Set("CSRFPreventionToken", csrf.Reveal())
	}
	return t.next.RoundTrip(r2)
}

func drainClose(resp *http.Response) {
	_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
	_ = resp.Body.Close()
}

func (id *identity) invalidate() {
	id.mu.Lock()
	defer id.mu.Unlock()
	id.ticket, id.csrf = secret.Secret{}, secret.Secret{}
}

// session returns a valid ticket, logging in or renewing as needed.
func (id *identity) session(ctx context.Context) (secret.Secret, secret.Secret, error) {
	id.mu.Lock()
	defer id.mu.Unlock()
	age := id.c.now().Sub(id.issued)
	if !id.ticket.IsZero() && age < ticketRenewAfter {
		return id.ticket, id.csrf, nil
	}
	if !id.ticket.IsZero() && age < 2*time.Hour-time.Minute {
		if err := id.login(ctx, id.ticket, ""); err == nil {
			return id.ticket, id.csrf, nil
		}
	}
	if err := id.login(ctx, id.secret, ""); err != nil {
		return secret.Secret{}, secret.Secret{}, err
	}
	return id.ticket, id.csrf, nil
}

type ticketReply struct {
	Username string          `json:"username"`
	Ticket   string          `json:"ticket"`
	CSRF     string          `json:"CSRFPreventionToken"`
	NeedTFA  json.RawMessage `json:"NeedTFA"`
}

// login runs POST /access/ticket, answering a TOTP challenge if asked.
//
// Proxmox API: POST /access/ticket
func (id *identity) login(ctx context.Context, password secret.Secret, challenge string) error {
	p := params{}
	p.Set("username", id.user)
	if challenge != "" {
		p.Set("tfa-challenge", challenge)
	}
	p.Set("password", password.Reveal())
	var rep ticketReply
	if err := id.postTicket(ctx, p, &rep); err != nil {
		return err
	}
	if rep.Ticket == "" {
		return &Error{Op: "login as " + id.user, Err: errors.New("malformed reply: no ticket")}
	}
	if nt := strings.Trim(string(rep.NeedTFA), `"`); nt == "1" || nt == "true" {
		if challenge != "" {
			return &Error{Op: "login as " + id.user, StatusCode: 401, Reason: "second factor refused", Err: ErrAuth}
		}
		if id.totp == nil {
			return &Error{Op: "login as " + id.user, Err: fmt.Errorf("%w: server wants a second factor; use WithTOTP", ErrAuth)}
		}
		code, err := id.totp(ctx)
		if err != nil {
			return &Error{Op: "login as " + id.user, Err: fmt.Errorf("totp: %w", err)}
		}
		return id.login(ctx, secret.New("totp:"+code), rep.Ticket)
	}
	id.ticket, id.csrf, id.username = secret.New(rep.Ticket), secret.New(rep.CSRF), rep.Username
	id.issued = id.c.now()
	return nil
}

func (id *identity) postTicket(ctx context.Context, p params, out *ticketReply) error {
	ctx = context.WithValue(ctx, loginKey{}, true)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, id.c.baseURL+"/access/ticket", strings.NewReader(p.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := id.hc.Transport.RoundTrip(req)
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		return opError("login as "+id.user, transportError(http.MethodPost, "/access/ticket", err))
	}
	defer resp.Body.Close()
	var env struct {
		Data *ticketReply `json:"data"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&env); err != nil || env.Data == nil {
		return &Error{Op: "login as " + id.user, Err: errors.New("malformed reply to login")}
	}
	*out = *env.Data
	return nil
}

// errorTransport turns every non-2xx reply into an *Error returned from
// RoundTrip, so no caller above (go-proxmox included) can mistake a 596
// with an empty body for success.
type errorTransport struct {
	next   http.RoundTripper
	closed <-chan struct{}
	max    *int64 // cap of a 2xx body
}

func (t *errorTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	select {
	case <-t.closed:
		return nil, &Error{Method: req.Method, Path: strings.TrimPrefix(req.URL.Path, "/api2/json"), Err: ErrClosed}
	default:
	}
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		// Cap every body here, below go-proxmox too, which reads any
		// reply whole.
		resp.Body = &cappedBody{rc: resp.Body, left: *t.max, max: *t.max, method: req.Method,
			path: strings.TrimPrefix(req.URL.Path, "/api2/json"), status: resp.StatusCode}
		return resp, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return nil, httpError(req, resp, b)
}

// cappedBody fails a read once more than max bytes came: the caller gets
// an *Error matching ErrTooLarge instead of a truncated body.
type cappedBody struct {
	rc           io.ReadCloser
	left, max    int64
	method, path string
	status       int
}

func (b *cappedBody) Read(p []byte) (int, error) {
	if b.left < 0 {
		return 0, b.tooLarge()
	}
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	if b.left < 0 {
		return 0, b.tooLarge()
	}
	return n, err
}

func (b *cappedBody) tooLarge() error {
	return &Error{Method: b.method, Path: b.path, StatusCode: b.status,
		Message: fmt.Sprintf("reply larger than %d bytes", b.max), Err: ErrTooLarge}
}

func (b *cappedBody) Close() error { return b.rc.Close() }

func httpError(req *http.Request, resp *http.Response, body []byte) *Error {
	e := &Error{Method: req.Method, Path: strings.TrimPrefix(req.URL.Path, "/api2/json"), StatusCode: resp.StatusCode}
	reason := resp.Status
	if i := strings.IndexByte(reason, ' '); i >= 0 && reason[:i] == strconv.Itoa(resp.StatusCode) {
		reason = reason[i+1:]
	}
	if reason == "status code "+strconv.Itoa(resp.StatusCode) {
		reason = ""
	}
	e.Reason = reason
	var env struct {
		Message string          `json:"message"`
		Errors  json.RawMessage `json:"errors"`
	}
	if len(bytes.TrimSpace(body)) > 0 {
		if json.Unmarshal(body, &env) == nil {
			e.Message = strings.TrimSpace(env.Message)
			if len(env.Errors) > 0 && string(env.Errors) != "null" {
				m := map[string]any{}
				if json.Unmarshal(env.Errors, &m) == nil {
					e.Errors = make(map[string]string, len(m))
					for k, v := range m {
						e.Errors[k] = strings.TrimSpace(fmt.Sprint(v))
					}
				}
			}
		} else if e.Reason == "" {
			// pre-5.2 plain-text bodies (e.g. unparsable request)
			e.Message = strings.TrimSpace(string(body[:min(len(body), 512)]))
		}
	}
	return e
}
