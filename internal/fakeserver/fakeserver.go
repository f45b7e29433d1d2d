// Package fakeserver is the plumbing the SDK's in-process fakes share
// (routerostest, proxmoxtest, omvtest, npmtest, upstest, dnstest): a
// self-signed certificate for loopback, an injectable latency, a request
// log, a queue of injected faults and a quiet HTTP test server. It holds no
// device knowledge: each fake still encodes its own wire.
package fakeserver

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// SelfSigned returns a fresh self-signed certificate for 127.0.0.1, ::1 and
// localhost, and its fingerprint in the form WithFingerprint takes
// ("sha256:AA:BB:…").
func SelfSigned() (tls.Certificate, string, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, "", err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return tls.Certificate{}, "", err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "localhost", Organization: []string{"homelab fake"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, "", err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, "", err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, Fingerprint(der), nil
}

// Fingerprint formats the SHA-256 of a DER certificate as "sha256:AA:BB:…".
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = fmt.Sprintf("%02X", b)
	}
	return "sha256:" + strings.Join(parts, ":")
}

// Latency is a delay added before each answer. The zero value adds none. It
// is safe for concurrent use.
type Latency struct{ d atomic.Int64 }

// Set changes the delay; zero or negative removes it.
func (l *Latency) Set(d time.Duration) { l.d.Store(int64(d)) }

// Get returns the delay.
func (l *Latency) Get() time.Duration { return time.Duration(l.d.Load()) }

// Wait sleeps for the delay, or until ctx ends.
func (l *Latency) Wait(ctx context.Context) {
	d := l.Get()
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// WaitRequest waits the delay before answering r, and reports whether the
// client is still there (false once r.Context() is done). With no delay
// set it returns true at once, leaving the body alone: an undelayed
// request is served as before, whatever its client does.
//
// net/http notices a client that hangs up, and ends r.Context(), only once
// the handler has read the request's body to its end; a fake that waited
// before reading the body would never notice, and its Close would wait out
// the whole delay. So, with a delay set, WaitRequest first reads the body,
// at most limit bytes, into memory and puts it back: the handler then reads
// the same bytes, as if it were the first to read. A body longer than limit
// is only partly buffered (the unread rest follows the buffered part), and
// a client that hangs up on such a request is noticed only when the delay
// ends.
func (l *Latency) WaitRequest(r *http.Request, limit int64) bool {
	if l.Get() <= 0 {
		return true
	}
	if r.Body != nil && r.Body != http.NoBody {
		// limit+1: a body of exactly limit bytes is still read to its
		// end. A read error (the client went away mid-body) is handed to
		// the handler after the bytes read before it.
		buf, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
		rest := io.Reader(r.Body)
		if err != nil {
			rest = errReader{err}
		}
		r.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(buf), rest), r.Body}
	}
	l.Wait(r.Context())
	return r.Context().Err() == nil
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// DefaultLogLimit is how many requests a Log keeps unless SetLimit says
// otherwise.
const DefaultLogLimit = 10000

// Log records requests in arrival order, keeping the most recent ones: at
// most DefaultLogLimit (or what SetLimit set), older ones are dropped as
// new ones arrive, so a fake that runs for days (a demo, a benchmark) does
// not grow without bound. The fakes are meant for tests and demos; their
// Requests methods return what their Log keeps. The zero value is ready. It
// is safe for concurrent use.
type Log[R any] struct {
	mu    sync.Mutex
	limit int // 0: DefaultLogLimit
	items []R // a ring once full: the oldest at head
	head  int
	total int
}

// SetLimit sets how many of the most recent requests the log keeps (0 or
// less: DefaultLogLimit). Lowering it drops the oldest at once.
func (l *Log[R]) SetLimit(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	kept := l.ordered()
	l.limit = n
	if m := l.max(); len(kept) > m {
		kept = kept[len(kept)-m:]
	}
	l.items, l.head = kept, 0
}

func (l *Log[R]) max() int {
	if l.limit <= 0 {
		return DefaultLogLimit
	}
	return l.limit
}

// ordered returns the kept requests oldest first (a fresh slice).
func (l *Log[R]) ordered() []R {
	out := make([]R, 0, len(l.items))
	out = append(out, l.items[l.head:]...)
	return append(out, l.items[:l.head]...)
}

// Add appends one request, dropping the oldest when the log is full.
func (l *Log[R]) Add(r R) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total++
	if len(l.items) < l.max() {
		l.items = append(l.items, r)
		return
	}
	l.items[l.head] = r
	l.head = (l.head + 1) % len(l.items)
}

// All returns a copy of the requests kept, oldest first: every request
// so far unless more than the limit arrived, then the most recent ones.
func (l *Log[R]) All() []R {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.items) == 0 {
		return nil
	}
	return l.ordered()
}

// Len returns how many requests the log keeps.
func (l *Log[R]) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.items)
}

// Total returns how many requests were added since the start or the last
// Reset, the dropped ones included.
func (l *Log[R]) Total() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.total
}

// Reset forgets every request.
func (l *Log[R]) Reset() {
	l.mu.Lock()
	l.items, l.head, l.total = nil, 0, 0
	l.mu.Unlock()
}

// Faults is a list of injected faults, each firing a given number of times
// (0 or less: every time until cleared), optionally only after letting a
// number of matching requests pass (AddAfter). The zero value is ready. It
// is safe for concurrent use.
type Faults[F any] struct {
	mu   sync.Mutex
	list []*fault[F]
}

type fault[F any] struct {
	f    F
	skip int // matching requests still to let pass
	left int // < 0: unlimited
}

// Add queues a fault for the given number of matching requests.
func (q *Faults[F]) Add(f F, times int) { q.AddAfter(f, 0, times) }

// AddAfter queues a fault that lets the first skip matching requests pass
// and then fires on the given number of them (0 or less: every one until
// cleared). A fault still letting requests pass counts every request it
// matches, even one an earlier fault answers, so faults added together
// fire on the request each one names; when two are due on the same
// request, the one added first fires and the other on the next matching
// request.
func (q *Faults[F]) AddAfter(f F, skip, times int) {
	if times <= 0 {
		times = -1
	}
	q.mu.Lock()
	q.list = append(q.list, &fault[F]{f: f, skip: max(skip, 0), left: times})
	q.mu.Unlock()
}

// Take returns the first queued fault that match accepts and that is due
// (has let its skip requests pass), and counts one use of it. match is
// asked, in the order faults were added, about each fault up to the one
// that fires, and after it only about faults still letting requests pass.
func (q *Faults[F]) Take(match func(F) bool) (F, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	hit := -1
	for i, e := range q.list {
		if hit >= 0 && e.skip == 0 {
			continue
		}
		if !match(e.f) {
			continue
		}
		if e.skip > 0 {
			e.skip--
			continue
		}
		hit = i
	}
	if hit < 0 {
		var zero F
		return zero, false
	}
	e := q.list[hit]
	if e.left > 0 {
		e.left--
		if e.left == 0 {
			q.list = append(q.list[:hit], q.list[hit+1:]...)
		}
	}
	return e.f, true
}

// Clear removes every queued fault.
func (q *Faults[F]) Clear() {
	q.mu.Lock()
	q.list = nil
	q.mu.Unlock()
}

// NewHTTP starts an httptest server for h on 127.0.0.1, with TLS when
// useTLS is set (a certificate from SelfSigned; its fingerprint is
// returned), and a server error log that discards: clients that hang up
// mid-handshake on purpose would otherwise print to the test's output.
func NewHTTP(h http.Handler, useTLS bool) (*httptest.Server, string, error) {
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	if !useTLS {
		srv.Start()
		return srv, "", nil
	}
	cert, fp, err := SelfSigned()
	if err != nil {
		return nil, "", err
	}
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	srv.StartTLS()
	return srv, fp, nil
}
