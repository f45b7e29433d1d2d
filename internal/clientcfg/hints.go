package clientcfg

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"

	"github.com/thehomelab/homelab/internal/tlspin"
)

// HintError is a failure to talk to a server that the SDK can explain: a
// certificate no authority vouches for, a port that speaks plain HTTP
// where TLS was expected, or the reverse. Err is the transport's own
// error (errors.As still reaches *tls.CertificateVerificationError,
// x509.UnknownAuthorityError, x509.HostnameError); Hint says what to do.
type HintError struct {
	Err  error
	Hint string
	// Fingerprint is the SHA-256 fingerprint of the certificate that was
	// not trusted, "sha256:AA:BB:…" as WithFingerprint takes it; empty for
	// the other cases.
	Fingerprint string
}

// Error is the transport's error, then what to do.
func (e *HintError) Error() string { return e.Err.Error() + "; " + e.Hint }

// Unwrap returns the transport's error.
func (e *HintError) Unwrap() error { return e.Err }

// fingerprintFlags are the examples' flags that pin a package's device.
var fingerprintFlags = map[string]string{
	"proxmox":  "-proxmox-fingerprint",
	"omv":      "-nas-fingerprint",
	"npm":      "-npm-fingerprint",
	"routeros": "-router-fingerprint",
}

// tlsReply matches the error net/http gives when an http:// URL reaches a
// TLS port: the server's first bytes are a TLS record (0x15 alert, 0x16
// handshake; version 3.x), not "HTTP/1.x".
var tlsReply = regexp.MustCompile(`malformed HTTP response "\\x1[56]\\x03`)

// httpsPortReplies are what TLS servers answer to a plain-HTTP request:
// Go's net/http server and nginx (pveproxy and OMV's nginx alike).
var httpsPortReplies = []string{
	"Client sent an HTTP request to an HTTPS server",
	"The plain HTTP request was sent to HTTPS port",
}

// explain is the httpx.Transport Explain hook of Client: it adds what to
// do to the failures a user fixes in the configuration, and leaves every
// other outcome as it is.
func (c *Config) explain(req *http.Request, resp *http.Response, err error) (*http.Response, error) {
	if err != nil {
		return nil, c.hint(req, err)
	}
	if resp == nil || resp.StatusCode != http.StatusBadRequest || req.URL.Scheme != "http" || resp.Body == nil {
		return resp, nil
	}
	peek, rerr := io.ReadAll(io.LimitReader(resp.Body, 1024))
	for _, s := range httpsPortReplies {
		if bytes.Contains(peek, []byte(s)) {
			_ = resp.Body.Close()
			return nil, &HintError{Err: fmt.Errorf("400 Bad Request: %s", strings.TrimSpace(string(firstLine(peek)))),
				Hint: "this port speaks TLS: use https://" + req.URL.Host + " (or the plain-http port)"}
		}
	}
	body := resp.Body
	var rest io.Reader = body
	if rerr != nil {
		rest = errReader{rerr}
	}
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(peek), rest), body}
	return resp, nil
}

func (c *Config) hint(req *http.Request, err error) error {
	var he *HintError
	if errors.As(err, &he) {
		return err
	}
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	var rh tls.RecordHeaderError
	switch {
	case errors.As(err, &ua) && ua.Cert != nil:
		fp := "sha256:" + tlspin.Of(ua.Cert).String()
		return &HintError{Err: err, Fingerprint: fp, Hint: fmt.Sprintf(
			"no trusted authority signed the server's certificate (self-signed?); after checking that %s is your device's certificate, pin it with WithFingerprint(%q)%s, or trust the CA that signed it with WithRootCAs",
			fp, fp, c.flagHint(fp))}
	case errors.As(err, &hn) && hn.Certificate != nil:
		fp := "sha256:" + tlspin.Of(hn.Certificate).String()
		names := hn.Certificate.DNSNames
		for _, ip := range hn.Certificate.IPAddresses {
			names = append(names, ip.String())
		}
		held := "no names"
		if len(names) > 0 {
			held = strings.Join(names, ", ")
		}
		return &HintError{Err: err, Fingerprint: fp, Hint: fmt.Sprintf(
			"the certificate is for %s, not %s: connect by one of those names, or pin the certificate with WithFingerprint(%q)%s",
			held, hn.Host, fp, c.flagHint(fp))}
	case errors.As(err, &rh) && string(rh.RecordHeader[:]) == "HTTP/":
		// what http.Client turns into ErrSchemeMismatch, which it only
		// does for the bare tls.RecordHeaderError
		return &HintError{Err: fmt.Errorf("%w", http.ErrSchemeMismatch), Hint: plainHTTP(req)}
	case errors.Is(err, http.ErrSchemeMismatch):
		return &HintError{Err: err, Hint: plainHTTP(req)}
	case req.URL.Scheme == "http" && tlsReply.MatchString(err.Error()):
		return &HintError{Err: err, Hint: "this port speaks TLS: use https://" + req.URL.Host}
	}
	return err
}

func plainHTTP(req *http.Request) string {
	return "this port speaks plain http: use http://" + req.URL.Host + " or the TLS port"
}

func (c *Config) flagHint(fp string) string {
	if f, ok := fingerprintFlags[c.Pkg]; ok {
		return fmt.Sprintf(" (the examples: %s %s)", f, fp)
	}
	return ""
}

func firstLine(b []byte) []byte {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		return b[:i]
	}
	return b
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
