package omv

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/thehomelab/homelab/internal/clientcfg"
	"github.com/thehomelab/homelab/internal/httpx"
	"github.com/thehomelab/homelab/internal/poll"
)

// APIVersion is the generation of OMV's RPC API, detected from the login reply.
type APIVersion int

// API generations that differ on the wire.
const (
	APIUnknown APIVersion = iota // not logged in yet
	API6                         // 6.x: cookie X-OPENMEDIAVAULT-SESSIONID, RaidMgmt
	API7                         // 7.0-8.4: header X-OPENMEDIAVAULT-SESSIONID, MdMgmt
	API85                        // 8.5+: login reply with "status"
)

// String returns "6.x", "7.x" or "8.5+".
func (v APIVersion) String() string {
	switch v {
	case API6:
		return "6.x"
	case API7:
		return "7.x"
	case API85:
		return "8.5+"
	}
	return "unknown"
}

// maxBody caps how much of a reply is read; OMV replies are small except
// getOutput chunks and SMART text.
const maxBody = 32 << 20

const sessionHeader = "X-OPENMEDIAVAULT-SESSIONID"

// Client talks to one OMV host. It is safe for concurrent use. Close logs out.
type Client struct {
	endpoint string
	hc       *http.Client
	cfg      clientcfg.Config

	loginMu sync.Mutex // serialises logins
	mu      sync.Mutex // guards the fields below
	cookies map[string]*http.Cookie
	sid     string
	gen     int // bumped on every login
	authed  bool
	api     APIVersion
	role    string
	raidSvc string
	closed  bool

	// Config applies, checks and reverts pending configuration changes.
	Config *ConfigService
	// Disks lists disks and reads SMART data.
	Disks *DiskService
	// RAID manages and checks Linux MD arrays.
	RAID *RAIDService
	// Filesystems lists filesystems with usage.
	Filesystems *FilesystemService
	// SharedFolders manages shared folders and their privileges.
	SharedFolders *SharedFolderService
	// SMB manages Samba settings and shares.
	SMB *SMBService
	// Users manages users and groups.
	Users *UserService
	// Quotas manages per-user quotas on a filesystem.
	Quotas *QuotaService
}

// NewClient returns a client for the OMV web interface at baseURL (e.g.
// "https://nas.lan"; "/rpc.php" is appended unless present). WithCredentials
// is required. An http:// URL with WithFingerprint or WithRootCAs is refused:
// nothing would verify the server and the password would go in clear. No
// request is made until the first call.
func NewClient(baseURL string, opts ...Option) (*Client, error) {
	cfg := config{Config: clientcfg.New("omv", defaultPollMin, defaultPollMax)}
	if err := clientcfg.Apply(&cfg, opts); err != nil {
		return nil, errf("new client", ErrInvalid, strings.TrimPrefix(err.Error(), "omv: "))
	}
	if !cfg.HasCredentials {
		return nil, errf("new client", ErrInvalid, "WithCredentials is required")
	}
	u, err := cfg.ParseURL(baseURL, nil, "/rpc.php")
	if err != nil {
		return nil, errf("new client", ErrInvalid, strings.TrimPrefix(err.Error(), "omv: "))
	}
	if !strings.HasSuffix(u.Path, "/rpc.php") {
		u.Path += "/rpc.php"
	}
	hc, err := cfg.Client()
	if err != nil {
		return nil, errf("new client", ErrInvalid, strings.TrimPrefix(err.Error(), "omv: "))
	}
	if t, ok := hc.Transport.(*httpx.Transport); ok && cfg.retryBackoff > 0 {
		t.Backoff = poll.Backoff{Initial: cfg.retryBackoff, Max: 8 * cfg.retryBackoff}
	}
	c := &Client{
		endpoint: u.String(),
		hc:       hc,
		cfg:      cfg.Config,
		cookies:  map[string]*http.Cookie{},
	}
	c.Config = &ConfigService{c}
	c.Disks = &DiskService{c}
	c.RAID = &RAIDService{c}
	c.Filesystems = &FilesystemService{c}
	c.SharedFolders = &SharedFolderService{c}
	c.SMB = &SMBService{c}
	c.Users = &UserService{c}
	c.Quotas = &QuotaService{c}
	return c, nil
}

// APIVersion reports the API generation seen at the last login
// (APIUnknown before the first call).
func (c *Client) APIVersion() APIVersion {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.api
}

// String describes the client without its session id or cookies, which
// are as good as the password while the session lives.
func (c *Client) String() string { return "omv.Client(" + c.endpoint + ", user " + c.cfg.User + ")" }

// GoString is String, so %#v does not print the session either.
func (c *Client) GoString() string { return c.String() }

// Role reports the role OMV granted at login ("admin" or "user").
func (c *Client) Role() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.role
}

type callOpts struct {
	passive bool // send updatelastaccess:false (polling)
	read    bool // safe to retry on 5xx/connection errors
}

// Call invokes any RPC method and decodes the "response" value into result
// (which may be nil). params may be nil (sent as null). It logs in first if
// needed and logs in again once if the session expired. Use it for methods
// this package has no typed wrapper for.
//
// OMV API: POST /rpc.php {"service": service, "method": method, "params": params}
func (c *Client) Call(ctx context.Context, service, method string, params, result any) error {
	return c.call(ctx, callOpts{}, service, method, params, result)
}

func (c *Client) call(ctx context.Context, o callOpts, service, method string, params, result any) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	op := service + "." + method
	tctx, cancel := c.cfg.WithTimeout(ctx)
	defer cancel()
	return c.bounded(ctx, tctx, op, c.session(tctx, o, service, method, params, result))
}

// bounded turns an error seen under tctx (ctx bounded by WithTimeout) into
// what the caller gets: ctx.Err() once the caller's ctx is done, a timeout
// that says which option to raise when only WithTimeout ran out.
func (c *Client) bounded(ctx, tctx context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	if cerr := ctx.Err(); cerr != nil {
		return cerr
	}
	if tctx.Err() != nil && errors.Is(err, context.DeadlineExceeded) {
		return &Error{Op: op, Message: fmt.Sprintf("no answer within %v (see WithTimeout)", c.cfg.Timeout),
			Err: classed{ErrUnavailable, context.DeadlineExceeded}}
	}
	return err
}

// session runs one call in a session: it logs in first if needed and once
// more if OMV destroyed the session.
func (c *Client) session(ctx context.Context, o callOpts, service, method string, params, result any) error {
	c.mu.Lock()
	closed, authed, gen := c.closed, c.authed, c.gen
	c.mu.Unlock()
	if closed {
		return errf(service+"."+method, ErrClosed, "client is closed")
	}
	if !authed {
		if err := c.login(ctx, gen); err != nil {
			return err
		}
		c.mu.Lock()
		gen = c.gen
		c.mu.Unlock()
	}
	err := c.do(ctx, o, service, method, params, result)
	if sessionGone(err) {
		// OMV destroys an expired session, so log in from a cleared cookie
		// and retry once; the 401 came before dispatch, so nothing ran.
		if lerr := c.login(ctx, gen); lerr != nil {
			return lerr
		}
		err = c.do(ctx, o, service, method, params, result)
	}
	return err
}

type envelope struct {
	Service string          `json:"service"`
	Method  string          `json:"method"`
	Params  any             `json:"params"`
	Options *envelopeOption `json:"options,omitempty"`
}

type envelopeOption struct {
	UpdateLastAccess bool `json:"updatelastaccess"`
}

type reply struct {
	Response json.RawMessage `json:"response"`
	Error    *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Trace   string `json:"trace"`
	} `json:"error"`
}

// do performs one HTTP round trip without any session recovery.
func (c *Client) do(ctx context.Context, o callOpts, service, method string, params, result any) error {
	op := service + "." + method
	env := envelope{Service: service, Method: method, Params: params}
	if o.passive {
		env.Options = &envelopeOption{UpdateLastAccess: false}
	}
	body, err := json.Marshal(env)
	if err != nil {
		return &Error{Op: op, Message: "encode params: " + err.Error(), Err: classed{ErrInvalid, err}}
	}
	rctx := ctx
	if o.read {
		rctx = httpx.Retryable(ctx)
	}
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		return &Error{Op: op, Err: classed{ErrInvalid, err}}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	c.mu.Lock()
	for _, ck := range c.cookies {
		req.AddCookie(&http.Cookie{Name: ck.Name, Value: ck.Value})
	}
	if c.sid != "" {
		req.Header.Set(sessionHeader, c.sid)
	}
	c.mu.Unlock()

	start := time.Now()
	resp, err := c.hc.Do(req)
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		return &Error{Op: op, Err: classed{ErrUnavailable, err}}
	}
	defer resp.Body.Close()
	c.storeCookies(resp)
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	c.cfg.Logger.LogAttrs(ctx, slog.LevelDebug, "omv rpc", slog.String("op", op),
		slog.Int("status", resp.StatusCode), slog.Duration("duration", time.Since(start)))
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		return &Error{Op: op, StatusCode: resp.StatusCode, Message: "read reply: " + err.Error(), Err: classed{ErrUnavailable, err}}
	}
	var r reply
	jerr := json.Unmarshal(data, &r)
	if resp.StatusCode != http.StatusOK || (jerr == nil && r.Error != nil) {
		e := &Error{Op: op, StatusCode: resp.StatusCode}
		if jerr == nil && r.Error != nil {
			e.Code, e.Message, e.Trace = r.Error.Code, r.Error.Message, r.Error.Trace
		}
		return e
	}
	if jerr != nil {
		return &Error{Op: op, StatusCode: resp.StatusCode, Message: "decode reply: " + jerr.Error(), Err: classed{ErrInvalid, jerr}}
	}
	if result == nil || len(r.Response) == 0 {
		return nil
	}
	if err := json.Unmarshal(r.Response, result); err != nil {
		return &Error{Op: op, StatusCode: resp.StatusCode, Message: "decode response: " + err.Error(), Err: classed{ErrInvalid, err}}
	}
	return nil
}

func (c *Client) storeCookies(resp *http.Response) {
	cks := resp.Cookies()
	if len(cks) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ck := range cks {
		if ck.MaxAge < 0 || (!ck.Expires.IsZero() && ck.Expires.Before(time.Now())) || ck.Value == "" || ck.Value == "deleted" {
			delete(c.cookies, ck.Name)
			continue
		}
		c.cookies[ck.Name] = ck
	}
}

func isSessionCookie(name string) bool {
	return strings.EqualFold(name, "X-OPENMEDIAVAULT-SESSIONID") || strings.EqualFold(name, "OPENMEDIAVAULT-SESSIONID")
}

type loginReply struct {
	Authenticated *bool  `json:"authenticated"`
	Status        string `json:"status"`
	Username      string `json:"username"`
	SessionID     string `json:"sessionid"`
	Permissions   struct {
		Role string `json:"role"`
	} `json:"permissions"`
}

// login logs in unless another goroutine already did since generation seen.
// The session cookie is dropped first (OMV may have destroyed it); login
// marker cookies are kept so OMV does not mail the user on every login.
//
// OMV API: Session.login {username, password}
func (c *Client) login(ctx context.Context, seen int) error {
	c.loginMu.Lock()
	defer c.loginMu.Unlock()
	c.mu.Lock()
	if c.closed {
		// A call still in flight when Close ran must not open a session
		// that nobody logs out.
		c.mu.Unlock()
		return errf("Session.login", ErrClosed, "client is closed")
	}
	if c.gen != seen && c.authed {
		c.mu.Unlock()
		return nil
	}
	for name := range c.cookies {
		if isSessionCookie(name) {
			delete(c.cookies, name)
		}
	}
	c.sid, c.authed = "", false
	c.mu.Unlock()

	var lr loginReply
	err := c.do(ctx, callOpts{}, "Session", "login",
		map[string]string{"username": c.cfg.User, "password": c.cfg.Password.Reveal()}, &lr)
	op := "login as " + c.cfg.User
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		return wrap(op, err)
	}
	api := API6
	switch {
	case lr.Status != "":
		api = API85
		if lr.Status != "authenticated" {
			return errf(op, ErrAuth, fmt.Sprintf("status %q (second-factor challenges are not supported)", lr.Status))
		}
	case lr.Authenticated == nil || !*lr.Authenticated:
		return errf(op, ErrAuth, "not authenticated")
	case lr.SessionID != "":
		api = API7
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sid = lr.SessionID
	c.api, c.role, c.authed = api, lr.Permissions.Role, true
	c.gen++
	return nil
}

// Login logs in now instead of on the first call, to surface ErrAuth early.
//
// OMV API: Session.login
func (c *Client) Login(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	gen := c.gen
	c.mu.Unlock()
	tctx, cancel := c.cfg.WithTimeout(ctx)
	defer cancel()
	return c.bounded(ctx, tctx, "Session.login", c.login(tctx, gen-1))
}

// Logout ends the session; later calls log in again.
//
// OMV API: Session.logout
func (c *Client) Logout(ctx context.Context) error {
	c.mu.Lock()
	authed := c.authed
	c.mu.Unlock()
	if !authed {
		return nil
	}
	tctx, cancel := c.cfg.WithTimeout(ctx)
	defer cancel()
	err := c.bounded(ctx, tctx, "Session.logout", c.do(tctx, callOpts{}, "Session", "logout", nil, nil))
	c.mu.Lock()
	c.authed, c.sid = false, ""
	for name := range c.cookies {
		if isSessionCookie(name) {
			delete(c.cookies, name)
		}
	}
	c.mu.Unlock()
	if err != nil && !sessionGone(err) {
		return wrap("logout", err)
	}
	return nil
}

// Close logs out (bounded to 10 s) and makes further calls fail. It is
// idempotent.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true // refuse new calls before logging out, so none logs in again
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := c.Logout(ctx)
	c.hc.CloseIdleConnections()
	return err
}
