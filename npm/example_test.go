package npm_test

import (
	"context"
	"fmt"
	"time"

	"github.com/thehomelab/homelab/npm"
	"github.com/thehomelab/homelab/npm/npmtest"
	"github.com/thehomelab/homelab/secret"
)

func Example_expose() {
	srv := npmtest.NewServer()
	defer srv.Close()
	c, err := npm.NewClient(srv.URL, npm.WithCredentials(npmtest.AdminEmail, secret.New(npmtest.AdminPassword)))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	ctx := context.Background()

	app := npm.App{
		FQDN: "status.thehomelab.site", ForwardHost: "uptime-kuma", ForwardPort: 3001,
		Websockets: true, HTTP2: true, HSTS: true, BlockExploits: true,
	}
	for range 2 {
		r, err := c.Expose(ctx, app)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%s: host %s, certificate %q (new: %v)\n", app.FQDN, r.Action, r.Certificate.NiceName, r.CertificateCreated)
	}
	// Output:
	// status.thehomelab.site: host created, certificate "*.thehomelab.site, thehomelab.site" (new: false)
	// status.thehomelab.site: host unchanged, certificate "*.thehomelab.site, thehomelab.site" (new: false)
}

func ExampleCertificatesService_Expiring() {
	now := time.Date(2026, 11, 26, 6, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	srv := npmtest.NewServer(npmtest.WithClock(clock))
	defer srv.Close()
	c, err := npm.NewClient(srv.URL, npm.WithCredentials(npmtest.AdminEmail, secret.New(npmtest.AdminPassword)), npm.WithClock(clock))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	ctx := context.Background()
	if _, err := c.Certificates.CreateLetsEncrypt(ctx, npm.LetsEncryptRequest{
		Domains: []string{"*.lab.example.org"}, CloudflareToken: secret.New("cloudflare-api-token"),
	}); err != nil {
		fmt.Println(err)
		return
	}

	soon, err := c.Certificates.Expiring(ctx, 75*24*time.Hour)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, cert := range soon {
		days := int(cert.ExpiresOn.Sub(now).Hours() / 24)
		fmt.Printf("%-40s %s in %d days (%s)\n", cert.NiceName, cert.ExpiresOn.Format("2006-01-02"), days, cert.Provider)
	}
	// Output:
	// *.thehomelab.site, thehomelab.site       2027-01-25 in 60 days (letsencrypt)
}

func ExampleProxyHostsService_Ensure() {
	srv := npmtest.NewServer()
	defer srv.Close()
	c, _ := npm.NewClient(srv.URL, npm.WithCredentials(npmtest.AdminEmail, secret.New(npmtest.AdminPassword)))
	defer c.Close()

	spec := npm.ProxyHostSpec{
		Domains: []string{"nextcloud.thehomelab.site"}, ForwardHost: "nextcloud", ForwardPort: 8080,
		CertificateID: npmtest.WildcardCertificateID, SSLForced: true, HTTP2Support: true, HSTSEnabled: true, BlockExploits: true,
	}
	r, err := c.ProxyHosts.Ensure(context.Background(), spec)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(r.Action)
	for _, ch := range r.Changes {
		fmt.Println(" ", ch)
	}
	// Output:
	// updated
	//   forward_port: 80 → 8080
}
