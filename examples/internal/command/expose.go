package command

import (
	"context"
	"io"
	"net"
	"strconv"
	"time"

	"github.com/thehomelab/homelab/examples/internal/workflow"
	"github.com/thehomelab/homelab/npm"
	"github.com/thehomelab/homelab/secret"
)

// Expose publishes a web app behind Nginx Proxy Manager.
func Expose() Command {
	return Command{
		Name:    "expose",
		Summary: "publish a web app over HTTPS behind Nginx Proxy Manager",
		Run:     runExpose,
	}
}

func runExpose(ctx context.Context, out, errOut io.Writer, args []string, env Env) error {
	fs := newFlags("expose", out, errOut, env, "expose [-npm URL] -fqdn status.thehomelab.site -to uptime-kuma:3001 [flags]\n"+
		"  env NPM_EMAIL, NPM_PASSWORD: an Nginx Proxy Manager account\n"+
		"  env CLOUDFLARE_API_TOKEN (optional): lets NPM issue a certificate by DNS challenge when none covers the FQDN")
	api := fs.String("npm", "http://npm.lan:81/api", "Nginx Proxy Manager API URL")
	fingerprint := fs.String("npm-fingerprint", "", "SHA-256 fingerprint of NPM's certificate when -npm is https")
	fqdn := fs.String("fqdn", "", "the app's public name")
	to := fs.String("to", "", "where NPM forwards to, host:port")
	scheme := fs.String("scheme", "http", "scheme of the forward target (http or https)")
	websockets := fs.Bool("websockets", false, "allow websocket upgrades")
	http2 := fs.Bool("http2", true, "serve HTTP/2")
	hsts := fs.Bool("hsts", true, "send Strict-Transport-Security")
	block := fs.Bool("block-exploits", true, "block common exploits")
	acl := fs.Int("access-list", 0, "id of an access list restricting the app (0: public)")
	email := fs.String("email", "", "Let's Encrypt account e-mail (NPM 2.12 and older)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *fqdn == "" || *to == "" {
		return usageError("-fqdn and -to are required")
	}
	host, portText, err := net.SplitHostPort(*to)
	if err != nil {
		return usageError("-to: %v", err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port < 1 || port > 65535 {
		return usageError("-to: bad port %q", portText)
	}
	if *scheme != "http" && *scheme != "https" {
		return usageError("-scheme must be http or https")
	}
	app := npm.App{
		FQDN: *fqdn, ForwardScheme: *scheme, ForwardHost: host, ForwardPort: port,
		Websockets: *websockets, HTTP2: *http2, HSTS: *hsts, BlockExploits: *block,
		AccessListID: npm.AccessListID(*acl), Email: *email,
	}
	if tok := fs.getenv("CLOUDFLARE_API_TOKEN"); tok != "" {
		app.CloudflareToken = secret.New(tok)
	}
	user, err := need(fs.getenv, "NPM_EMAIL", "the Nginx Proxy Manager login e-mail")
	if err != nil {
		return err
	}
	password, err := need(fs.getenv, "NPM_PASSWORD", "the Nginx Proxy Manager password")
	if err != nil {
		return err
	}
	// Issuing a certificate by DNS challenge runs certbot while the request
	// is open, minutes with DNS propagation: longer than the SDK's 30 s.
	opts := []npm.Option{npm.WithCredentials(user, secret.New(password))}
	if *fingerprint != "" {
		opts = append(opts, npm.WithFingerprint(*fingerprint))
	}
	c, err := npm.NewClient(*api, append(opts, npm.WithLogger(Logger(ctx)))...)
	if err != nil {
		return clientError(err, npm.ErrInvalid)
	}
	defer c.Close()
	workflow.Title(out, "Expose https://%s -> %s://%s", *fqdn, *scheme, *to)
	pr := newProgress(out)
	stop := pr.elapsed("https://"+*fqdn+": asking Nginx Proxy Manager (issuing a certificate can take minutes)", time.Second)
	defer stop()
	return workflow.Expose(ctx, pr, c, workflow.ExposeConfig{App: app})
}
