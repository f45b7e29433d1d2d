// Package config reads homelab.yaml, the one description of the lab that
// every homelab subcommand starts from: where each device answers, which
// certificate it shows, which user logs in, and the lab's names (NAS guest,
// shares, networks).
//
// Secrets are never in the file and never on the command line (other users
// of the machine see argv in ps). Each is read, in this order, from the file
// named by password_file / token_file, from systemd's credentials directory
// ($CREDENTIALS_DIRECTORY/<credential>, LoadCredential= in the unit), or from
// an environment variable. A device whose secret is found nowhere still
// loads: the command that needs it says what to set.
//
// Decoding is strict: an unknown key, a URL that is not http(s), a
// fingerprint WithFingerprint would refuse, a prefix that does not parse or
// a secret file that cannot be read is an error naming the file and line.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/thehomelab/homelab/internal/tlspin"
	"github.com/thehomelab/homelab/secret"
)

// FileName is the config file's name in the directories searched.
const FileName = "homelab.yaml"

// EnvConfig names the environment variable holding the config's path.
const EnvConfig = "HOMELAB_CONFIG"

// EnvCredentials is systemd's credentials directory (LoadCredential=).
const EnvCredentials = "CREDENTIALS_DIRECTORY"

// maxFileSize caps the config file and every secret file read.
const maxFileSize = 1 << 20

// Env looks up an environment variable: os.Getenv in the program, a map in
// tests.
type Env func(key string) string

// ErrNotFound is returned by Find when no config file exists in any of the
// places searched.
var ErrNotFound = errors.New("no config file")

// Config is the lab as homelab.yaml describes it. A nil device section
// means the lab has no such device (or the CLI is not to touch it).
type Config struct {
	// Path is the file the config was read from.
	Path string `yaml:"-"`

	Router     *Router     `yaml:"router"`
	Proxmox    *Proxmox    `yaml:"proxmox"`
	NAS        *NAS        `yaml:"nas"`
	NPM        *NPM        `yaml:"npm"`
	NUT        *NUT        `yaml:"nut"`
	Cloudflare *Cloudflare `yaml:"cloudflare"`
	SMTP       *SMTP       `yaml:"smtp"`
	Lab        Lab         `yaml:"lab"`

	// Notes are things worth saying that are not errors: a secret found
	// nowhere, for instance.
	Notes []string `yaml:"-"`
}

// Router is the MikroTik's RouterOS API.
type Router struct {
	// Address is host:port of the API (8728) or API-SSL (8729).
	Address Addr `yaml:"address"`
	// Fingerprint pins the API-SSL certificate (implies TLS).
	Fingerprint Fingerprint `yaml:"fingerprint"`
	// TLS uses API-SSL verified against the system roots.
	TLS  bool   `yaml:"tls"`
	User string `yaml:"user"`
	// WANInterface is the PPPoE client holding the public address
	// (default pppoe-out1).
	WANInterface string `yaml:"wan_interface"`
	// WireGuardInterface is the VPN interface (default: all).
	WireGuardInterface string `yaml:"wireguard_interface"`
	PasswordSource     `yaml:",inline"`
	// Password is the resolved secret.
	Password secret.Secret `yaml:"-"`
}

// Proxmox is the Proxmox VE API.
type Proxmox struct {
	URL         URL         `yaml:"url"`
	Fingerprint Fingerprint `yaml:"fingerprint"`
	// TokenID is user@realm!name of the API token.
	TokenID     string `yaml:"token_id"`
	TokenSource `yaml:",inline"`
	// Token is the resolved token secret.
	Token secret.Secret `yaml:"-"`
}

// NAS is the OpenMediaVault web interface.
type NAS struct {
	URL            URL         `yaml:"url"`
	Fingerprint    Fingerprint `yaml:"fingerprint"`
	User           string      `yaml:"user"`
	PasswordSource `yaml:",inline"`
	Password       secret.Secret `yaml:"-"`
}

// NPM is Nginx Proxy Manager's API.
type NPM struct {
	URL         URL         `yaml:"url"`
	Fingerprint Fingerprint `yaml:"fingerprint"`
	// User is the e-mail address NPM logs in with.
	User           string `yaml:"user"`
	PasswordSource `yaml:",inline"`
	Password       secret.Secret `yaml:"-"`
}

// NUT is the UPS's upsd.
type NUT struct {
	Address Addr `yaml:"address"`
	// UPS is the UPS's name on upsd (upsc NAME@host).
	UPS      string `yaml:"ups"`
	User     string `yaml:"user"`
	StartTLS bool   `yaml:"starttls"`
	// Fingerprint pins upsd's certificate (implies starttls).
	Fingerprint    Fingerprint `yaml:"fingerprint"`
	PasswordSource `yaml:",inline"`
	Password       secret.Secret `yaml:"-"`
}

// Cloudflare is the DNS zone and the names DDNS keeps on the router's
// public address.
type Cloudflare struct {
	Zone        string   `yaml:"zone"`
	Names       []string `yaml:"names"`
	TokenSource `yaml:",inline"`
	Token       secret.Secret `yaml:"-"`
	// BaseURL replaces Cloudflare's API (tests and the embedded lab).
	BaseURL URL `yaml:"base_url"`
}

// SMTP is where alerts are mailed.
type SMTP struct {
	Host           string   `yaml:"host"`
	Port           int      `yaml:"port"`
	From           string   `yaml:"from"`
	To             []string `yaml:"to"`
	User           string   `yaml:"user"`
	PasswordSource `yaml:",inline"`
	Password       secret.Secret `yaml:"-"`
}

// Lab holds the lab's names.
type Lab struct {
	// Node is the Proxmox node (proxmox1).
	Node string `yaml:"node"`
	// NASGuest is the VM running OpenMediaVault.
	NASGuest string `yaml:"nas_guest"`
	// Guests are the other guests worth watching (docker).
	Guests []string `yaml:"guests"`
	// Shares are the NAS's SMB shares.
	Shares []string `yaml:"shares"`
	// Networks maps a name (lan, vpn, guest) to its prefix.
	Networks map[string]Prefix `yaml:"networks"`
	// Isolate lists "from -> to" network names that must not reach each
	// other, e.g. "guest -> lan".
	Isolate []string `yaml:"isolate"`
}

// PasswordSource says where a password is read from.
type PasswordSource struct {
	// PasswordFile is a file holding the password (trailing newline
	// ignored).
	PasswordFile Path `yaml:"password_file"`
	// PasswordCredential is the name in $CREDENTIALS_DIRECTORY.
	PasswordCredential string `yaml:"password_credential"`
	// PasswordEnv is the environment variable.
	PasswordEnv string `yaml:"password_env"`
}

// TokenSource says where an API token is read from.
type TokenSource struct {
	TokenFile       Path   `yaml:"token_file"`
	TokenCredential string `yaml:"token_credential"`
	TokenEnv        string `yaml:"token_env"`
}

func (t TokenSource) source() PasswordSource {
	return PasswordSource{PasswordFile: t.TokenFile, PasswordCredential: t.TokenCredential, PasswordEnv: t.TokenEnv}
}

// Find returns the config file to read: flagPath if given, else
// $HOMELAB_CONFIG, else ./homelab.yaml, else
// ~/.config/homelab/homelab.yaml. A path given explicitly (flag or
// environment) is returned even if it does not exist, so that reading it
// says so; otherwise ErrNotFound lists the places searched.
func Find(flagPath string, env Env) (string, error) {
	if flagPath != "" {
		return flagPath, nil
	}
	if p := env(EnvConfig); p != "" {
		return p, nil
	}
	tried := []string{FileName}
	if home := env("HOME"); home != "" {
		tried = append(tried, filepath.Join(home, ".config", "homelab", FileName))
	}
	for _, p := range tried {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w: give -config, set %s, or create one of %s (homelab config example prints one)",
		ErrNotFound, EnvConfig, strings.Join(tried, ", "))
}

// Load finds and reads the config (see Find and Read).
func Load(flagPath string, env Env) (*Config, error) {
	p, err := Find(flagPath, env)
	if err != nil {
		return nil, err
	}
	return Read(p, env)
}

// Read reads and checks the config file at path and resolves its secrets.
func Read(path string, env Env) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, maxFileSize)
	}
	c, err := Parse(path, data, env)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Error is every problem found in one config file, each with its line.
type Error struct {
	Path     string
	Problems []string // "line 3: …"
}

func (e *Error) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteString("\n")
		}
		if rest, ok := strings.CutPrefix(p, "line "); ok {
			fmt.Fprintf(&b, "%s:%s", e.Path, rest)
		} else {
			fmt.Fprintf(&b, "%s: %s", e.Path, p)
		}
	}
	return b.String()
}

// Parse decodes data (read from name) and resolves its secrets. Relative
// secret file paths are relative to the config file's directory.
func Parse(name string, data []byte, env Env) (*Config, error) {
	c := &Config{Path: name}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var problems []string
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			// Syntax errors read "yaml: line 3: …".
			return nil, &Error{Path: name, Problems: []string{strings.TrimPrefix(err.Error(), "yaml: ")}}
		}
		// Type errors leave the rest decoded: check it too, so that
		// one run lists every problem.
		problems = append(problems, te.Errors...)
	}
	sections := sectionLines(data)
	bad := func(line int, format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		if line == 0 {
			// A key that is missing has no line: name its section's.
			sec, _, _ := strings.Cut(msg, ":")
			line = sections[sec]
		}
		if line > 0 {
			msg = fmt.Sprintf("line %d: %s", line, msg)
		}
		problems = append(problems, msg)
	}
	r := resolver{env: env, dir: filepath.Dir(name), bad: bad, notes: &c.Notes}
	if d := c.Router; d != nil {
		if d.Address.Value == "" {
			bad(d.Address.Line, "router: address is required")
		}
		d.Password = r.resolve("router", d.PasswordSource, "router-password", "ROUTEROS_PASSWORD")
	}
	if d := c.Proxmox; d != nil {
		need(bad, "proxmox", "url", d.URL.Value, d.URL.Line)
		pinOverHTTP(bad, "proxmox", d.URL, d.Fingerprint)
		d.Token = r.resolveToken("proxmox", d.TokenSource, "proxmox-token", "PROXMOX_TOKEN_SECRET")
		if d.TokenID != "" && !strings.Contains(d.TokenID, "!") {
			bad(d.URL.Line, "proxmox: token_id %q is not user@realm!name", d.TokenID)
		}
	}
	if d := c.NAS; d != nil {
		need(bad, "nas", "url", d.URL.Value, d.URL.Line)
		pinOverHTTP(bad, "nas", d.URL, d.Fingerprint)
		d.Password = r.resolve("nas", d.PasswordSource, "nas-password", "OMV_PASSWORD")
	}
	if d := c.NPM; d != nil {
		need(bad, "npm", "url", d.URL.Value, d.URL.Line)
		pinOverHTTP(bad, "npm", d.URL, d.Fingerprint)
		d.Password = r.resolve("npm", d.PasswordSource, "npm-password", "NPM_PASSWORD")
	}
	if d := c.NUT; d != nil {
		need(bad, "nut", "address", d.Address.Value, d.Address.Line)
		d.Password = r.resolve("nut", d.PasswordSource, "nut-password", "NUT_PASSWORD")
	}
	if d := c.Cloudflare; d != nil {
		d.Token = r.resolveToken("cloudflare", d.TokenSource, "cloudflare-token", "CLOUDFLARE_API_TOKEN")
	}
	if d := c.SMTP; d != nil {
		if d.Port < 0 || d.Port > 65535 {
			bad(0, "smtp: port %d out of range", d.Port)
		}
		if d.User != "" {
			d.Password = r.resolve("smtp", d.PasswordSource, "smtp-password", "SMTP_PASSWORD")
		}
	}
	for _, rule := range c.Lab.Isolate {
		from, to, ok := strings.Cut(rule, "->")
		from, to = strings.TrimSpace(from), strings.TrimSpace(to)
		if !ok || from == "" || to == "" {
			bad(0, "lab: isolate %q is not \"from -> to\"", rule)
			continue
		}
		for _, n := range []string{from, to} {
			if _, ok := c.Lab.Networks[n]; !ok {
				bad(0, "lab: isolate %q names network %q, not in lab.networks", rule, n)
			}
		}
	}
	if len(problems) > 0 {
		slices.SortStableFunc(problems, func(a, b string) int { return lineOf(a) - lineOf(b) })
		return nil, &Error{Path: name, Problems: problems}
	}
	return c, nil
}

// sectionLines maps each top-level key of the document (router,
// proxmox, …) to its line.
func sectionLines(data []byte) map[string]int {
	var doc yaml.Node
	out := map[string]int{}
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return out
	}
	m := doc.Content[0].Content
	for i := 0; i+1 < len(m); i += 2 {
		out[m[i].Value] = m[i].Line
	}
	return out
}

// lineOf returns the line a problem names, 0 if none.
func lineOf(p string) int {
	rest, ok := strings.CutPrefix(p, "line ")
	if !ok {
		return 0
	}
	n, _, _ := strings.Cut(rest, ":")
	v, _ := strconv.Atoi(n)
	return v
}

func need(bad func(int, string, ...any), dev, key, v string, line int) {
	if v == "" {
		bad(line, "%s: %s is required", dev, key)
	}
}

// pinOverHTTP refuses what the SDK would refuse: a pin on a plain-text URL.
func pinOverHTTP(bad func(int, string, ...any), dev string, u URL, fp Fingerprint) {
	if fp.Value != "" && strings.HasPrefix(u.Value, "http://") {
		bad(fp.Line, "%s: a fingerprint needs an https:// url (url is %s)", dev, u.Value)
	}
}

type resolver struct {
	env   Env
	dir   string
	bad   func(int, string, ...any)
	notes *[]string
}

// resolve reads a secret: password_file, else the systemd credential,
// else the environment variable. A named file that cannot be read is an
// error; a secret found nowhere is a note.
func (r resolver) resolve(dev string, s PasswordSource, cred, envName string) secret.Secret {
	return r.resolveAs(dev, "password_file", s, cred, envName)
}

// resolveToken is resolve for a token, whose keys are token_file,
// token_credential and token_env.
func (r resolver) resolveToken(dev string, t TokenSource, cred, envName string) secret.Secret {
	return r.resolveAs(dev, "token_file", t.source(), cred, envName)
}

func (r resolver) resolveAs(dev, fileKey string, s PasswordSource, cred, envName string) secret.Secret {
	if s.PasswordFile.Value != "" {
		p := s.PasswordFile.Value
		if !filepath.IsAbs(p) {
			p = filepath.Join(r.dir, p)
		}
		v, err := readSecret(p)
		if err != nil {
			r.bad(s.PasswordFile.Line, "%s: secret file: %v", dev, err)
			return secret.Secret{}
		}
		return v
	}
	if s.PasswordCredential != "" {
		cred = s.PasswordCredential
	}
	if dir := r.env(EnvCredentials); dir != "" {
		p := filepath.Join(dir, cred)
		v, err := readSecret(p)
		if err == nil {
			return v
		}
		if !errors.Is(err, os.ErrNotExist) || s.PasswordCredential != "" {
			r.bad(0, "%s: credential %s: %v", dev, cred, err)
			return secret.Secret{}
		}
	}
	if s.PasswordEnv != "" {
		envName = s.PasswordEnv
	}
	if v := strings.TrimSpace(r.env(envName)); v != "" {
		return secret.New(v)
	}
	*r.notes = append(*r.notes, fmt.Sprintf("%s: no secret: set %s, a %s, or the credential %s in $%s",
		dev, envName, fileKey, cred, EnvCredentials))
	return secret.Secret{}
}

// readSecret reads a secret file, without its trailing newline. Errors
// never contain the content.
func readSecret(p string) (secret.Secret, error) {
	f, err := os.Open(p)
	if err != nil {
		return secret.Secret{}, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, 64<<10+1))
	if err != nil {
		return secret.Secret{}, fmt.Errorf("read %s: %w", p, err)
	}
	if len(data) > 64<<10 {
		return secret.Secret{}, fmt.Errorf("%s: larger than 64 KiB", p)
	}
	v := strings.TrimRight(string(data), "\r\n")
	if v == "" {
		return secret.Secret{}, fmt.Errorf("%s is empty", p)
	}
	return secret.New(v), nil
}

// Path is a file path with the line it was given on.
type Path struct {
	Value string
	Line  int
}

// UnmarshalYAML implements yaml.Unmarshaler.
func (p *Path) UnmarshalYAML(n *yaml.Node) error {
	p.Line = n.Line
	return scalar(n, &p.Value)
}

// URL is an http(s) URL with the line it was given on.
type URL struct {
	Value string
	Line  int
}

// UnmarshalYAML implements yaml.Unmarshaler.
func (u *URL) UnmarshalYAML(n *yaml.Node) error {
	u.Line = n.Line
	if err := scalar(n, &u.Value); err != nil {
		return err
	}
	p, err := url.Parse(u.Value)
	if err != nil {
		return lineErr(n, "bad url %q: %v", u.Value, err)
	}
	if p.Scheme != "http" && p.Scheme != "https" {
		return lineErr(n, "bad url %q: want http:// or https://", u.Value)
	}
	if p.Host == "" {
		return lineErr(n, "bad url %q: no host", u.Value)
	}
	if p.User != nil {
		return lineErr(n, "bad url: credentials belong in a secret, not in the url")
	}
	return nil
}

// Addr is host:port (or host alone, the protocol's default port) with the
// line it was given on.
type Addr struct {
	Value string
	Line  int
}

// UnmarshalYAML implements yaml.Unmarshaler.
func (a *Addr) UnmarshalYAML(n *yaml.Node) error {
	a.Line = n.Line
	if err := scalar(n, &a.Value); err != nil {
		return err
	}
	if strings.Contains(a.Value, "://") {
		return lineErr(n, "bad address %q: want host:port, not a url", a.Value)
	}
	if host, port, err := net.SplitHostPort(a.Value); err == nil {
		if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 || host == "" {
			return lineErr(n, "bad address %q: want host:port", a.Value)
		}
	} else if strings.Count(a.Value, ":") == 1 || a.Value == "" {
		return lineErr(n, "bad address %q: %v", a.Value, err)
	}
	return nil
}

// Fingerprint is a certificate pin as WithFingerprint takes it, with the
// line it was given on.
type Fingerprint struct {
	Value string
	Line  int
}

// UnmarshalYAML implements yaml.Unmarshaler.
func (f *Fingerprint) UnmarshalYAML(n *yaml.Node) error {
	f.Line = n.Line
	if err := scalar(n, &f.Value); err != nil {
		return err
	}
	if _, err := tlspin.ParseFingerprint(f.Value); err != nil {
		return lineErr(n, "bad fingerprint %q: %v (homelab trust prints it)", f.Value, err)
	}
	return nil
}

// Prefix is a network prefix with the line it was given on.
type Prefix struct {
	netip.Prefix
	Line int
}

// UnmarshalYAML implements yaml.Unmarshaler.
func (p *Prefix) UnmarshalYAML(n *yaml.Node) error {
	p.Line = n.Line
	var s string
	if err := scalar(n, &s); err != nil {
		return err
	}
	v, err := netip.ParsePrefix(s)
	if err != nil {
		return lineErr(n, "bad network %q: want a prefix such as 192.168.1.0/24", s)
	}
	p.Prefix = v
	return nil
}

func scalar(n *yaml.Node, v *string) error {
	if n.Kind != yaml.ScalarNode {
		return lineErr(n, "want a single value")
	}
	*v = strings.TrimSpace(n.Value)
	return nil
}

// lineErr is a TypeError so that the decoder goes on and reports every
// problem of the file, not only the first.
func lineErr(n *yaml.Node, format string, args ...any) error {
	return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %s", n.Line, fmt.Sprintf(format, args...))}}
}
