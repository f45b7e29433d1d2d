package command

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/thehomelab/homelab/examples/internal/config"
	"github.com/thehomelab/homelab/secret"
)

// configUsage is the help of the -config flag every command has.
const configUsage = "homelab.yaml giving the defaults of the device flags and the secrets " +
	"(default: $HOMELAB_CONFIG, ./homelab.yaml, ~/.config/homelab/homelab.yaml; none found: flags and environment only)"

// configDefault is a flag whose default the config supplies when the flag
// is not given on the command line. Only names a command defines are
// touched; command, when set, limits the entry to the command of that name
// (-from and -to mean different things in isolation, ddns and expose).
type configDefault struct {
	flag, command string
	value         func(c *config.Config) string
}

// configDefaults is the one table of flags the config feeds, for every
// command: flags override the config, the config overrides the built-in
// defaults.
var configDefaults = []configDefault{
	{flag: "router", value: func(c *config.Config) string {
		return ifRouter(c, func(r *config.Router) string { return r.Address.Value })
	}},
	{flag: "router-fingerprint", value: func(c *config.Config) string {
		return ifRouter(c, func(r *config.Router) string { return r.Fingerprint.Value })
	}},
	{flag: "router-tls", value: func(c *config.Config) string {
		return ifRouter(c, func(r *config.Router) string { return boolValue(r.TLS) })
	}},
	{flag: "wan", value: func(c *config.Config) string {
		return ifRouter(c, func(r *config.Router) string { return r.WANInterface })
	}},
	{flag: "interface", command: "wireguard", value: func(c *config.Config) string {
		return ifRouter(c, func(r *config.Router) string { return r.WireGuardInterface })
	}},
	{flag: "proxmox", value: func(c *config.Config) string {
		if c.Proxmox == nil {
			return ""
		}
		return c.Proxmox.URL.Value
	}},
	{flag: "proxmox-fingerprint", value: func(c *config.Config) string {
		if c.Proxmox == nil {
			return ""
		}
		return c.Proxmox.Fingerprint.Value
	}},
	{flag: "nas", value: func(c *config.Config) string {
		if c.NAS == nil {
			return ""
		}
		return c.NAS.URL.Value
	}},
	{flag: "nas-fingerprint", value: func(c *config.Config) string {
		if c.NAS == nil {
			return ""
		}
		return c.NAS.Fingerprint.Value
	}},
	{flag: "npm", value: func(c *config.Config) string {
		if c.NPM == nil {
			return ""
		}
		return c.NPM.URL.Value
	}},
	{flag: "npm-fingerprint", value: func(c *config.Config) string {
		if c.NPM == nil {
			return ""
		}
		return c.NPM.Fingerprint.Value
	}},
	{flag: "ups", value: func(c *config.Config) string {
		if c.NUT == nil || c.NUT.Address.Value == "" {
			return ""
		}
		name := c.NUT.UPS
		if name == "" {
			name = "ups"
		}
		return name + "@" + c.NUT.Address.Value
	}},
	{flag: "nut-starttls", value: func(c *config.Config) string {
		if c.NUT == nil {
			return ""
		}
		return boolValue(c.NUT.StartTLS)
	}},
	{flag: "nut-fingerprint", value: func(c *config.Config) string {
		if c.NUT == nil {
			return ""
		}
		return c.NUT.Fingerprint.Value
	}},
	{flag: "zone", value: func(c *config.Config) string {
		if c.Cloudflare == nil {
			return ""
		}
		return c.Cloudflare.Zone
	}},
	{flag: "names", value: func(c *config.Config) string {
		if c.Cloudflare == nil {
			return ""
		}
		return strings.Join(c.Cloudflare.Names, ",")
	}},
	{flag: "cloudflare", value: func(c *config.Config) string {
		if c.Cloudflare == nil {
			return ""
		}
		return c.Cloudflare.BaseURL.Value
	}},
	{flag: "smtp", value: func(c *config.Config) string {
		if c.SMTP == nil || c.SMTP.Host == "" {
			return ""
		}
		port := c.SMTP.Port
		if port == 0 {
			port = 587
		}
		return net.JoinHostPort(c.SMTP.Host, strconv.Itoa(port))
	}},
	{flag: "smtp-user", value: func(c *config.Config) string {
		if c.SMTP == nil {
			return ""
		}
		return c.SMTP.User
	}},
	// The NAS guest goes down last and receives the disks.
	{flag: "last", value: func(c *config.Config) string { return c.Lab.NASGuest }},
	{flag: "vm", command: "passthrough", value: func(c *config.Config) string { return c.Lab.NASGuest }},
	// The first isolation rule ("guest -> lan") is what isolation audits.
	{flag: "from", command: "isolation", value: func(c *config.Config) string { return isolationNet(c, 0) }},
	{flag: "to", command: "isolation", value: func(c *config.Config) string { return isolationNet(c, 1) }},
}

func ifRouter(c *config.Config, f func(*config.Router) string) string {
	if c.Router == nil {
		return ""
	}
	return f(c.Router)
}

// boolValue gives a bool flag's value from the config: only true changes
// anything (a false in the config keeps the flag's own default).
func boolValue(b bool) string {
	if b {
		return "true"
	}
	return ""
}

func isolationNet(c *config.Config, side int) string {
	if len(c.Lab.Isolate) == 0 {
		return ""
	}
	from, to, _ := strings.Cut(c.Lab.Isolate[0], "->")
	name := strings.TrimSpace([]string{from, to}[side])
	p, ok := c.Lab.Networks[name]
	if !ok || !p.IsValid() {
		return ""
	}
	return p.String()
}

// configSecrets are the secrets the config supplies, by the environment
// variable the commands read otherwise. The config has already looked in
// its password_file, $CREDENTIALS_DIRECTORY and the environment, in that
// order, so its secret comes first.
var configSecrets = map[string]func(c *config.Config) secret.Secret{
	"ROUTEROS_PASSWORD": func(c *config.Config) secret.Secret {
		if c.Router == nil {
			return secret.Secret{}
		}
		return c.Router.Password
	},
	"PROXMOX_TOKEN_SECRET": func(c *config.Config) secret.Secret {
		if c.Proxmox == nil {
			return secret.Secret{}
		}
		return c.Proxmox.Token
	},
	"OMV_PASSWORD": func(c *config.Config) secret.Secret {
		if c.NAS == nil {
			return secret.Secret{}
		}
		return c.NAS.Password
	},
	"NPM_PASSWORD": func(c *config.Config) secret.Secret {
		if c.NPM == nil {
			return secret.Secret{}
		}
		return c.NPM.Password
	},
	"NUT_PASSWORD": func(c *config.Config) secret.Secret {
		if c.NUT == nil {
			return secret.Secret{}
		}
		return c.NUT.Password
	},
	"CLOUDFLARE_API_TOKEN": func(c *config.Config) secret.Secret {
		if c.Cloudflare == nil {
			return secret.Secret{}
		}
		return c.Cloudflare.Token
	},
	"SMTP_PASSWORD": func(c *config.Config) secret.Secret {
		if c.SMTP == nil {
			return secret.Secret{}
		}
		return c.SMTP.Password
	},
}

// configNames are the login names the config supplies when the
// environment variable is not set: like a flag, the environment variable
// overrides the config.
var configNames = map[string]func(c *config.Config) string{
	"ROUTEROS_USER": func(c *config.Config) string { return ifRouter(c, func(r *config.Router) string { return r.User }) },
	"PROXMOX_TOKEN_ID": func(c *config.Config) string {
		if c.Proxmox == nil {
			return ""
		}
		return c.Proxmox.TokenID
	},
	"OMV_USER": func(c *config.Config) string {
		if c.NAS == nil {
			return ""
		}
		return c.NAS.User
	},
	"NPM_EMAIL": func(c *config.Config) string {
		if c.NPM == nil {
			return ""
		}
		return c.NPM.User
	},
	"NUT_USER": func(c *config.Config) string {
		if c.NUT == nil {
			return ""
		}
		return c.NUT.User
	},
}

// configError is a config that could not be read: a wrong configuration
// (exit status 2), already printed with its file:line problems.
type configError struct{ err error }

func (e *configError) Error() string { return e.err.Error() }
func (e *configError) Unwrap() []error {
	return []error{ErrUsage, errPrinted, e.err}
}

// loadConfig reads the config named by -config or found by the lookup
// order and applies it to the flags not given on the command line. No
// config found (and none named) leaves the flags and the environment as
// they are.
func (fs *flagSet) loadConfig() error {
	named := ""
	if f := fs.Lookup("config"); f != nil {
		named = f.Value.String()
	}
	cenv := config.Env(fs.env)
	path, err := config.Find(named, cenv)
	if errors.Is(err, config.ErrNotFound) {
		return nil
	}
	var c *config.Config
	if err == nil {
		c, err = config.Read(path, cenv)
	}
	if err != nil {
		fmt.Fprintf(fs.errOut, "%s: config: %v\n", fs.Name(), err)
		return &configError{err}
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	for _, d := range configDefaults {
		if given[d.flag] || fs.Lookup(d.flag) == nil || (d.command != "" && d.command != fs.Name()) {
			continue
		}
		v := d.value(c)
		if v == "" {
			continue
		}
		if err := fs.Set(d.flag, v); err != nil {
			err = fmt.Errorf("%s: -%s from the config: %v", c.Path, d.flag, err)
			fmt.Fprintf(fs.errOut, "%s: config: %v\n", fs.Name(), err)
			return &configError{err}
		}
	}
	fs.cfg = c
	return nil
}

// getenv is the command's environment with the config's secrets and login
// names folded in: a secret from the config first (its own lookup already
// ends with the environment), a login name from the environment first.
func (fs *flagSet) getenv(key string) string {
	if fs.cfg != nil {
		if f, ok := configSecrets[key]; ok {
			if s := f(fs.cfg); !s.IsZero() {
				return s.Reveal()
			}
		}
		if f, ok := configNames[key]; ok && strings.TrimSpace(fs.env(key)) == "" {
			return f(fs.cfg)
		}
	}
	return fs.env(key)
}
