// Package tlspin builds verified TLS configurations for homelab devices:
// ordinary chain verification, verification against given root CAs, or
// pinning of the server's leaf certificate by its SHA-256 fingerprint, which
// is how self-signed homelab certificates are trusted. There is no way to
// switch verification off.
package tlspin

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// Fingerprint is the SHA-256 digest of a DER-encoded certificate.
type Fingerprint [sha256.Size]byte

// ErrBadFingerprint reports a fingerprint string that is not 32 hex bytes.
var ErrBadFingerprint = errors.New("invalid sha-256 fingerprint")

// ParseFingerprint accepts the forms users copy from devices:
// "AA:BB:…" (as Proxmox and openssl print it), "sha256:aabb…", "SHA256:AA:BB…"
// and plain hex, in any case. Spaces are ignored.
func ParseFingerprint(s string) (Fingerprint, error) {
	var fp Fingerprint
	t := strings.TrimSpace(s)
	if len(t) >= 7 && strings.EqualFold(t[:7], "sha256:") {
		t = t[7:]
	}
	t = strings.NewReplacer(":", "", " ", "", "-", "").Replace(t)
	if len(t) != 2*sha256.Size {
		return fp, fmt.Errorf("%w: want %d hex digits, got %d", ErrBadFingerprint, 2*sha256.Size, len(t))
	}
	if _, err := hex.Decode(fp[:], []byte(t)); err != nil {
		return fp, fmt.Errorf("%w: %v", ErrBadFingerprint, err)
	}
	return fp, nil
}

// Of returns the fingerprint of a certificate.
func Of(cert *x509.Certificate) Fingerprint { return sha256.Sum256(cert.Raw) }

// String formats the fingerprint as Proxmox prints it: upper-case hex pairs
// joined by colons.
func (f Fingerprint) String() string {
	const digits = "0123456789ABCDEF"
	b := make([]byte, 0, len(f)*3)
	for i, c := range f {
		if i > 0 {
			b = append(b, ':')
		}
		b = append(b, digits[c>>4], digits[c&0xf])
	}
	return string(b)
}

// MismatchError reports a server whose leaf certificate does not match the
// pin. Got is the fingerprint actually seen, in the form WithFingerprint
// takes, so a user can pin it after checking it out of band. Every package
// exports it as FingerprintMismatchError, so errors.As reaches it.
type MismatchError struct {
	// Want is the pinned fingerprint, "sha256:AA:BB:…".
	Want string
	// Got is the fingerprint the server presented, "sha256:AA:BB:…".
	Got string
}

// Error implements error.
func (e *MismatchError) Error() string {
	return fmt.Sprintf("tls: server certificate fingerprint %s does not match pinned %s", e.Got, e.Want)
}

// Options select how the server is verified. The zero value verifies the
// chain against the system roots.
type Options struct {
	// Fingerprint pins the leaf certificate; chain and host name are then
	// not checked, because homelab certificates are self-signed.
	Fingerprint string
	// RootCAs replaces the system roots for chain verification.
	RootCAs *x509.CertPool
	// ServerName overrides the name checked against the certificate.
	ServerName string
}

// Config builds a *tls.Config for a client. It never returns a config that
// accepts any certificate.
func Config(o Options) (*tls.Config, error) {
	cfg := &tls.Config{
		MinVersion: tls.VersionTLS12,
		ServerName: o.ServerName,
		RootCAs:    o.RootCAs,
	}
	if o.Fingerprint == "" {
		return cfg, nil
	}
	want, err := ParseFingerprint(o.Fingerprint)
	if err != nil {
		return nil, err
	}
	// Chain verification is replaced, not dropped: VerifyConnection runs on
	// every handshake, resumed ones included, and rejects any leaf other
	// than the pinned one.
	cfg.InsecureSkipVerify = true
	cfg.RootCAs = nil
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errors.New("tls: server sent no certificate")
		}
		got := Of(cs.PeerCertificates[0])
		if got != want {
			return &MismatchError{Want: "sha256:" + want.String(), Got: "sha256:" + got.String()}
		}
		return nil
	}
	return cfg, nil
}
