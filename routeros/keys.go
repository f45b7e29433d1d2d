package routeros

import (
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"github.com/thehomelab/homelab/secret"
)

// KeyPair is a WireGuard key pair. Public is the 44-character base64 text
// form; Private is a secret.Secret holding the same form.
type KeyPair struct {
	Private secret.Secret
	Public  string
}

// GenerateKeyPair makes a WireGuard (X25519) key pair with crypto/ecdh. The
// private key is clamped like `wg genkey` output; the public key is the same
// either way because X25519 clamps internally.
func GenerateKeyPair() (KeyPair, error) {
	var k [32]byte
	if _, err := rand.Read(k[:]); err != nil {
		return KeyPair{}, &Error{Op: "generate key pair", Code: -1, Err: err}
	}
	k[0] &= 248
	k[31] = k[31]&127 | 64
	priv, err := ecdh.X25519().NewPrivateKey(k[:])
	if err != nil {
		return KeyPair{}, &Error{Op: "generate key pair", Code: -1, Err: err}
	}
	return KeyPair{
		Private: secret.New(base64.StdEncoding.EncodeToString(k[:])),
		Public:  base64.StdEncoding.EncodeToString(priv.PublicKey().Bytes()),
	}, nil
}

// GeneratePresharedKey makes a WireGuard preshared key: 32 random bytes,
// base64.
func GeneratePresharedKey() (secret.Secret, error) {
	var k [32]byte
	if _, err := rand.Read(k[:]); err != nil {
		return secret.Secret{}, &Error{Op: "generate preshared key", Code: -1, Err: err}
	}
	return secret.New(base64.StdEncoding.EncodeToString(k[:])), nil
}

// PublicKey derives the public key from a base64 private key.
func PublicKey(private secret.Secret) (string, error) {
	b, err := decodeKey(private.Reveal())
	if err != nil {
		return "", &Error{Op: "derive public key", Code: -1, Err: err, kinds: []error{ErrInvalid}}
	}
	priv, err := ecdh.X25519().NewPrivateKey(b)
	if err != nil {
		return "", &Error{Op: "derive public key", Code: -1, Err: err, kinds: []error{ErrInvalid}}
	}
	return base64.StdEncoding.EncodeToString(priv.PublicKey().Bytes()), nil
}

var errKey = errors.New("routeros: a wireguard key is 32 bytes in 44 characters of base64")

func decodeKey(s string) ([]byte, error) {
	if len(s) != 44 {
		return nil, errKey
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != 32 {
		return nil, errKey
	}
	return b, nil
}

// ValidKey reports whether s is a WireGuard key in text form.
func ValidKey(s string) bool {
	_, err := decodeKey(s)
	return err == nil
}
