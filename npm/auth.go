package npm

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/thehomelab/homelab/secret"
)

// tokenAnswer is the body of POST /tokens, POST /tokens/2fa and GET /tokens.
type tokenAnswer struct {
	Token          string   `json:"token"`
	Expires        flexTime `json:"expires"`
	Requires2FA    flexBool `json:"requires_2fa"`
	ChallengeToken string   `json:"challenge_token"`
}

// validToken returns a token that is not about to expire: the cached one,
// a refreshed one (GET /tokens) when it is within the refresh margin, or a
// fresh login.
func (c *Client) validToken(ctx context.Context) (secret.Secret, error) {
	if tok, ok := c.cachedToken(c.margin); ok {
		return tok, nil
	}
	c.authMu.Lock()
	defer c.authMu.Unlock()
	// Another goroutine may have logged in while this one waited.
	if tok, ok := c.cachedToken(c.margin); ok {
		return tok, nil
	}
	if tok, ok := c.cachedToken(0); ok {
		if err := c.refresh(ctx, tok); err == nil {
			t, _ := c.cachedToken(0)
			return t, nil
		} else if ctx.Err() != nil {
			return secret.Secret{}, ctx.Err()
		}
	}
	if err := c.login(ctx); err != nil {
		return secret.Secret{}, err
	}
	t, _ := c.cachedToken(0)
	return t, nil
}

// cachedToken returns the token when it lives longer than margin.
func (c *Client) cachedToken(margin time.Duration) (secret.Secret, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token.IsZero() {
		return secret.Secret{}, false
	}
	if !c.expires.IsZero() && c.now().Add(margin).After(c.expires) {
		return c.token, false
	}
	return c.token, true
}

func (c *Client) store(a tokenAnswer) error {
	if a.Token == "" {
		return fmt.Errorf("token missing from answer: %w", ErrAuth)
	}
	c.mu.Lock()
	c.token = secret.New(a.Token)
	c.expires = time.Time(a.Expires)
	c.mu.Unlock()
	return nil
}

// refresh trades a valid token for a new one, so a long-running program
// never logs in again (and never repeats a 2FA step).
//
// NPM API: GET /tokens
func (c *Client) refresh(ctx context.Context, tok secret.Secret) error {
	var a tokenAnswer
	if err := c.send(ctx, request{op: "refresh token", method: http.MethodGet, path: "/tokens", out: &a}, tok); err != nil {
		return err
	}
	return c.store(a)
}

// Login logs in now (instead of on the first call) and reports bad
// credentials and 2FA requirements early.
//
// NPM API: POST /tokens, POST /tokens/2fa
func (c *Client) Login(ctx context.Context) error {
	c.authMu.Lock()
	defer c.authMu.Unlock()
	if err := c.login(ctx); err != nil {
		return err
	}
	return nil
}

func (c *Client) login(ctx context.Context) error {
	op := "login as " + c.identity
	var a tokenAnswer
	body := map[string]string{"identity": c.identity, "secret": c.password.Reveal()}
	if err := c.send(ctx, request{op: op, method: http.MethodPost, path: "/tokens", body: body, out: &a, scrub: []secret.Secret{c.password}}, secret.Secret{}); err != nil {
		return err
	}
	if bool(a.Requires2FA) {
		if c.totp == nil {
			return &Error{Op: op, Message: "the account has two-factor authentication enabled; use an account without 2FA for automation or pass npm.WithTOTP", Err: ErrTwoFactor}
		}
		code, err := c.totp(ctx)
		if err != nil {
			return errorf(op, "two-factor code: %w", err)
		}
		code = strings.TrimSpace(code)
		var b tokenAnswer
		body := map[string]string{"challenge_token": a.ChallengeToken, "code": code}
		if err := c.send(ctx, request{op: op + " (2fa)", method: http.MethodPost, path: "/tokens/2fa", body: body, out: &b, scrub: []secret.Secret{secret.New(a.ChallengeToken), secret.New(code)}}, secret.Secret{}); err != nil {
			var ae *Error
			if errors.As(err, &ae) && ae.Err == ErrAuth {
				ae.Err = both{ErrAuth, ErrTwoFactor}
			}
			return err
		}
		a = b
	}
	if err := c.store(a); err != nil {
		return opErr(op, err)
	}
	return nil
}

// Token returns a bearer token valid for at least d (logging in or
// refreshing as needed), e.g. to hand to another tool. The server caps
// nothing: GET /tokens?expiry= is honoured as given.
//
// NPM API: GET /tokens?expiry=<n>h
func (c *Client) Token(ctx context.Context, d time.Duration) (secret.Secret, time.Time, error) {
	tok, err := c.validToken(ctx)
	if err != nil {
		return secret.Secret{}, time.Time{}, opErr("issue token", err)
	}
	hours := int((d + time.Hour - 1) / time.Hour)
	if hours < 1 {
		hours = 1
	}
	var a tokenAnswer
	q := url.Values{"expiry": {fmt.Sprintf("%dh", hours)}}
	if err := c.send(ctx, request{op: "issue token", method: http.MethodGet, path: "/tokens", query: q, out: &a}, tok); err != nil {
		return secret.Secret{}, time.Time{}, err
	}
	return secret.New(a.Token), time.Time(a.Expires), nil
}
