// Package secret holds passwords, tokens and keys so that they cannot leak
// through formatting, logging or JSON encoding.
//
// Every package of the SDK takes a secret.Secret for its credentials.
package secret

import (
	"fmt"
	"log/slog"
)

// Redacted is what every printing path shows instead of the value.
const Redacted = "REDACTED"

// Secret is a credential. Its zero value is the empty secret. Every way of
// printing it shows Redacted; the value is reachable only through Reveal.
type Secret struct {
	// A pointer, not the string itself: fmt's error paths (such as %p on a
	// non-pointer) print values by reflection without calling Format, and
	// then show an address instead of the credential.
	v *string
}

// New wraps a credential.
func New(v string) Secret {
	if v == "" {
		return Secret{}
	}
	return Secret{v: &v}
}

// Reveal returns the credential. Call it only where it goes on the wire.
func (s Secret) Reveal() string {
	if s.v == nil {
		return ""
	}
	return *s.v
}

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s.v == nil }

// Equal reports whether two secrets hold the same value.
func (s Secret) Equal(o Secret) bool { return s.Reveal() == o.Reveal() }

// String implements fmt.Stringer.
func (s Secret) String() string { return Redacted }

// GoString implements fmt.GoStringer, so %#v hides the value too.
func (s Secret) GoString() string { return "secret.Secret(" + Redacted + ")" }

// Format implements fmt.Formatter: every verb, including %x, %q and %d,
// prints Redacted.
func (s Secret) Format(f fmt.State, verb rune) {
	switch verb {
	case 'v':
		if f.Flag('#') {
			_, _ = f.Write([]byte(s.GoString()))
			return
		}
	case 'q':
		_, _ = f.Write([]byte(`"` + Redacted + `"`))
		return
	}
	_, _ = f.Write([]byte(Redacted))
}

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(Redacted) }

// MarshalJSON implements json.Marshaler. A secret that must go into a JSON
// body is put there with Reveal, on purpose.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + Redacted + `"`), nil }

// MarshalText implements encoding.TextMarshaler (used by YAML, XML and
// map keys).
func (s Secret) MarshalText() ([]byte, error) { return []byte(Redacted), nil }
