package npm_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/npm"
	"github.com/thehomelab/homelab/npm/npmtest"
	"github.com/thehomelab/homelab/secret"
)

// counter counts the HTTP requests a client sends.
type counter struct {
	base http.RoundTripper
	n    atomic.Int64
}

func (c *counter) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.base.RoundTrip(r)
}

type fixture struct {
	srv *npmtest.Server
	c   *npm.Client
	n   *counter
}

// newFixture starts a fake and a client logged in as the seeded admin.
func newFixture(t testing.TB, srvOpts []npmtest.Option, opts ...npm.Option) fixture {
	t.Helper()
	srv := npmtest.NewServer(srvOpts...)
	t.Cleanup(srv.Close)
	n := &counter{base: http.DefaultTransport}
	all := append([]npm.Option{
		npm.WithCredentials(npmtest.AdminEmail, secret.New(npmtest.AdminPassword)),
		npm.WithHTTPClient(&http.Client{Transport: n}),
		npm.WithClock(srv.Now),
	}, opts...)
	c, err := npm.NewClient(srv.URL, all...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return fixture{srv: srv, c: c, n: n}
}

// seedSpecs returns the ProxyHostSpecs that describe the seeded apps
// exactly as the fake stores them.
func seedSpecs() []npm.ProxyHostSpec {
	var out []npm.ProxyHostSpec
	for _, a := range npmtest.Seed() {
		sp := npm.ProxyHostSpec{
			Domains: []string{a.FQDN}, ForwardScheme: a.ForwardScheme, ForwardHost: a.ForwardHost, ForwardPort: a.ForwardPort,
			CertificateID: npmtest.WildcardCertificateID, SSLForced: true, HTTP2Support: true, HSTSEnabled: true,
			BlockExploits: true, AllowWebsocketUpgrade: a.Websockets,
		}
		if a.LANOnly {
			sp.AccessListID = npmtest.LANAccessListID
		}
		out = append(out, sp)
	}
	return out
}

// failing answers the nth request (counting from 1) for which match is
// true with a 500 "Internal Error", as a server whose nginx or database
// broke down would, and passes every other request on.
type failing struct {
	base  http.RoundTripper
	match func(*http.Request) bool
	nth   int64
	seen  atomic.Int64
}

func (f *failing) RoundTrip(r *http.Request) (*http.Response, error) {
	if f.match(r) && f.seen.Add(1) == f.nth {
		if r.Body != nil {
			_ = r.Body.Close()
		}
		return &http.Response{
			StatusCode: http.StatusInternalServerError, Status: "500 Internal Server Error",
			Header:  http.Header{"Content-Type": {"application/json"}},
			Body:    io.NopCloser(strings.NewReader(`{"error":{"code":500,"message":"Internal Error"}}`)),
			Request: r, ProtoMajor: 1, ProtoMinor: 1,
		}, nil
	}
	return f.base.RoundTrip(r)
}

// newFailingFixture is newFixture with a client whose nth matching request
// fails with 500.
func newFailingFixture(t testing.TB, match func(*http.Request) bool, nth int64) fixture {
	t.Helper()
	srv := npmtest.NewServer()
	t.Cleanup(srv.Close)
	n := &counter{base: &failing{base: http.DefaultTransport, match: match, nth: nth}}
	c, err := npm.NewClient(srv.URL,
		npm.WithCredentials(npmtest.AdminEmail, secret.New(npmtest.AdminPassword)),
		npm.WithHTTPClient(&http.Client{Transport: n}),
		npm.WithClock(srv.Now))
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return fixture{srv: srv, c: c, n: n}
}

// losing passes requests on, but for the first one match accepts it lets
// the server do its work, then cancels the caller's context and reports
// the answer lost, as when ctx ends while the server is still writing.
type losing struct {
	base   http.RoundTripper
	match  func(*http.Request) bool
	cancel context.CancelFunc
	done   atomic.Bool
}

func (l *losing) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := l.base.RoundTrip(r)
	if err != nil || !l.match(r) || !l.done.CompareAndSwap(false, true) {
		return resp, err
	}
	_ = resp.Body.Close()
	l.cancel()
	return nil, context.Canceled
}

// hooked runs before once, ahead of the first request match accepts.
type hooked struct {
	base   http.RoundTripper
	match  func(*http.Request) bool
	before func()
	done   atomic.Bool
}

func (h *hooked) RoundTrip(r *http.Request) (*http.Response, error) {
	if h.match(r) && h.done.CompareAndSwap(false, true) {
		h.before()
	}
	return h.base.RoundTrip(r)
}

// hasStatus reports whether err, or any error joined in it, is an
// *npm.Error answer with the given HTTP status.
func hasStatus(err error, status int) bool {
	var ae *npm.Error
	if errors.As(err, &ae) && ae.StatusCode == status {
		return true
	}
	switch u := err.(type) {
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			if hasStatus(e, status) {
				return true
			}
		}
	case interface{ Unwrap() error }:
		return hasStatus(u.Unwrap(), status)
	}
	return false
}
