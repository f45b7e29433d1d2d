package dns

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/thehomelab/homelab/internal/clientcfg"
	"github.com/thehomelab/homelab/internal/httpx"
	"github.com/thehomelab/homelab/internal/poll"
	"github.com/thehomelab/homelab/secret"
)

// maxBody caps how much of an answer is read. A zone listing page of 5,000
// records is well below it.
const maxBody = 16 << 20

// envelopeTransport sits below cloudflare-go and above the retrying
// httpx.Transport. It paces requests, sets the Authorization header from
// the secret (so the token never lives in cloudflare-go's options) and
// reads Cloudflare's envelope itself, capped, because v6 accepts
// "success": false on a 2xx, loses the status of a non-JSON error body,
// drops the Retry-After and reads without a cap (see cloudflare.go). Any
// failed call comes back from RoundTrip as an *Error, which surfaces
// through net/http's *url.Error and v6's plain return.
type envelopeTransport struct {
	token secret.Secret
	base  http.RoundTripper
	now   func() time.Time
	pace  *pacer
}

type wireInfo struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// UnmarshalJSON accepts bare strings too, which some Cloudflare services
// put into errors and messages.
func (w *wireInfo) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		w.Code, w.Message = 0, s
		return nil
	}
	type plain wireInfo
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*w = wireInfo(p)
	return nil
}

type wireEnvelope struct {
	Success *bool           `json:"success"`
	Errors  []wireInfo      `json:"errors"`
	Result  json.RawMessage `json:"result"`
}

func (t *envelopeTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := t.pace.wait(req.Context()); err != nil {
		return nil, err
	}
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", "Bearer "+t.token.Reveal())
	resp, err := t.base.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := clientcfg.LimitedReadAll(resp.Body, maxBody)
	if err != nil {
		return nil, fmt.Errorf("read answer: %w", err)
	}
	e, err := parseEnvelope(resp.StatusCode, resp.Header, body, t.now())
	if err != nil {
		return nil, err
	}
	if e != nil {
		return nil, e
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	// It was read as a JSON envelope above; a proxy's (or a test
	// server's) missing or sniffed text/plain must not make the SDK
	// refuse to decode it.
	resp.Header.Set("Content-Type", "application/json")
	return resp, nil
}

// pacer spaces requests at least 1/rps apart (a nil pacer does not pace).
// It is safe for concurrent use.
type pacer struct {
	mu    sync.Mutex
	every time.Duration
	next  time.Time
}

func newPacer(rps float64) *pacer {
	if rps <= 0 {
		return nil
	}
	return &pacer{every: time.Duration(float64(time.Second) / rps)}
}

// wait blocks until the caller's turn, or until ctx ends.
func (p *pacer) wait(ctx context.Context) error {
	if p == nil {
		return nil
	}
	p.mu.Lock()
	now := time.Now()
	at := p.next
	if at.Before(now) {
		at = now
	}
	p.next = at.Add(p.every)
	p.mu.Unlock()
	return poll.Sleep(ctx, time.Until(at))
}

// parseEnvelope reads a Cloudflare answer: nil, nil when the call
// succeeded; an *Error when the status is 4xx/5xx or the envelope says
// "success": false (even on a 2xx); a plain error when a 2xx answer is not
// an envelope at all (no "success" and no "result"). Bodies over 16 MiB
// are refused.
func parseEnvelope(status int, h http.Header, body []byte, now time.Time) (*Error, error) {
	if len(body) > maxBody {
		return nil, fmt.Errorf("%w: more than %d bytes", clientcfg.ErrTooLarge, maxBody)
	}
	var env wireEnvelope
	jerr := json.Unmarshal(body, &env)
	if status < 400 && (jerr != nil || env.Success == nil || *env.Success) {
		// A 2xx must look like Cloudflare's answer: an object with
		// "success" or at least "result" (some endpoints omit the rest).
		// "{}" or "null" from a proxy would otherwise read as an empty
		// zone.
		if status < 300 && (jerr != nil || (env.Success == nil && env.Result == nil)) {
			return nil, errors.New("answer is not a cloudflare envelope")
		}
		return nil, nil
	}
	e := &Error{StatusCode: status, RayID: h.Get("Cf-Ray")}
	for _, w := range env.Errors {
		e.Errors = append(e.Errors, APIError(w))
	}
	if len(e.Errors) == 0 && status >= 400 {
		e.Errors = []APIError{{Message: http.StatusText(status)}}
	}
	if len(e.Errors) > 0 {
		e.Code, e.Message = e.Errors[0].Code, e.Errors[0].Message
	}
	if status == http.StatusTooManyRequests {
		if d, ok := httpx.RetryAfter(h, now); ok {
			e.RetryAfter = d
		}
	}
	return e, nil
}
