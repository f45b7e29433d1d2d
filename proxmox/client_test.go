package proxmox_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/internal/tlspin"
	"github.com/thehomelab/homelab/proxmox"
	"github.com/thehomelab/homelab/proxmox/proxmoxtest"
	"github.com/thehomelab/homelab/secret"
)

func TestNewClientValidatesOptions(t *testing.T) {
	t.Parallel()
	sec := secret.New("s")
	tests := []struct {
		name string
		url  string
		opts []proxmox.Option
	}{
		{"no credentials", "https://pve:8006", nil},
		{"bad url", "pve:8006", []proxmox.Option{proxmox.WithAPIToken("a@pam!t", sec)}},
		{"plain http", "http://pve:8006", []proxmox.Option{proxmox.WithAPIToken("a@pam!t", sec)}},
		{"http client and pin", "https://pve:8006", []proxmox.Option{proxmox.WithAPIToken("a@pam!t", sec),
			proxmox.WithFingerprint(strings.Repeat("AB:", 31) + "AB"), proxmox.WithHTTPClient(&http.Client{Transport: &http.Transport{}})}},
		{"url with user", "https://u:p@pve:8006", []proxmox.Option{proxmox.WithAPIToken("a@pam!t", sec)}},
		{"token without realm", "https://pve:8006", []proxmox.Option{proxmox.WithAPIToken("root!t", sec)}},
		{"token without name", "https://pve:8006", []proxmox.Option{proxmox.WithAPIToken("root@pam", sec)}},
		{"empty secret", "https://pve:8006", []proxmox.Option{proxmox.WithAPIToken("root@pam!t", secret.Secret{})}},
		{"user is token", "https://pve:8006", []proxmox.Option{proxmox.WithCredentials("root@pam!t", sec)}},
		{"bad pin", "https://pve:8006", []proxmox.Option{proxmox.WithAPIToken("a@pam!t", sec), proxmox.WithFingerprint("zz")}},
		{"totp without password", "https://pve:8006", []proxmox.Option{proxmox.WithAPIToken("a@pam!t", sec),
			proxmox.WithTOTP(func(context.Context) (string, error) { return "1", nil })}},
		{"nil roots", "https://pve:8006", []proxmox.Option{proxmox.WithAPIToken("a@pam!t", sec), proxmox.WithRootCAs(nil)}},
		{"bad polling", "https://pve:8006", []proxmox.Option{proxmox.WithAPIToken("a@pam!t", sec), proxmox.WithPollInterval(0, 0)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := proxmox.NewClient(tt.url, tt.opts...)
			assert.Error(t, err)
		})
	}
}

func TestTLSPinAndRoots(t *testing.T) {
	t.Parallel()
	srv := proxmoxtest.NewServer()
	t.Cleanup(srv.Close)
	tok := proxmox.WithAPIToken(proxmoxtest.TokenID, secret.New(proxmoxtest.TokenSecret))

	c, err := proxmox.NewClient(srv.URL, tok, proxmox.WithRootCAs(srv.CertPool()))
	require.NoError(t, err)
	_, err = c.Version(t.Context())
	require.NoError(t, err)

	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: srv.CertPool(), MinVersion: tls.VersionTLS12}}}
	c, err = proxmox.NewClient(srv.URL, tok, proxmox.WithHTTPClient(hc))
	require.NoError(t, err)
	_, err = c.Inventory(t.Context())
	require.NoError(t, err, "own transport, SDK auth and errors on top")

	wrong := strings.Repeat("AB:", 31) + "AB"
	c, err = proxmox.NewClient(srv.URL, tok, proxmox.WithFingerprint(wrong), proxmox.WithRetries(0))
	require.NoError(t, err)
	_, err = c.Inventory(t.Context())
	var mm *tlspin.MismatchError
	require.ErrorAs(t, err, &mm)
	assert.Contains(t, err.Error(), srv.Fingerprint())

	c, err = proxmox.NewClient(srv.URL, tok, proxmox.WithRetries(0)) // system roots: refused
	require.NoError(t, err)
	_, err = c.Version(t.Context())
	var uerr x509.UnknownAuthorityError
	assert.ErrorAs(t, err, &uerr)
	// the error says what to do, with the fingerprint to pin
	assert.Contains(t, err.Error(), "sha256:"+srv.Fingerprint())
	assert.Contains(t, err.Error(), "WithFingerprint")
	assert.Equal(t, 1, strings.Count(err.Error(), "WithFingerprint"))
	_, err = c.Inventory(t.Context()) // the SDK's own request path too
	assert.Contains(t, err.Error(), "sha256:"+srv.Fingerprint())
}

func TestVersionAndNodes(t *testing.T) {
	t.Parallel()
	srv, c := newLab(t)
	v, err := c.Version(t.Context())
	require.NoError(t, err)
	assert.Equal(t, "9.0", v.Release)
	nodes, err := c.Nodes.List(t.Context())
	require.NoError(t, err)
	require.Len(t, nodes, 1)
	assert.Equal(t, proxmoxtest.Node, nodes[0].Name)
	assert.True(t, nodes[0].Online())
	assert.Equal(t, srv.Fingerprint(), nodes[0].SSLFingerprint)
	// the reported fingerprint pins a new client
	pinned, err := proxmox.NewClient(srv.URL, proxmox.WithFingerprint(nodes[0].SSLFingerprint),
		proxmox.WithAPIToken(proxmoxtest.TokenID, secret.New(proxmoxtest.TokenSecret)))
	require.NoError(t, err)
	t.Cleanup(func() { _ = pinned.Close() })
	_, err = pinned.Version(t.Context()) // NewClient sends nothing: prove the pin holds on the wire
	require.NoError(t, err)
}

func TestAuthFailures(t *testing.T) {
	t.Parallel()
	srv := proxmoxtest.NewServer()
	t.Cleanup(srv.Close)
	c := newClient(t, srv, proxmox.WithAPIToken(proxmoxtest.TokenID, secret.New("wrong-secret")))
	_, err := c.Version(t.Context()) // through go-proxmox
	require.ErrorIs(t, err, proxmox.ErrAuth)
	var pe *proxmox.Error
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, 401, pe.StatusCode)
	assert.Equal(t, "Authentication failed!", pe.Reason)
	_, err = c.Inventory(t.Context()) // own request path
	require.ErrorIs(t, err, proxmox.ErrAuth)

	pc, err := proxmox.NewClient(srv.URL, proxmox.WithFingerprint(srv.Fingerprint()),
		proxmox.WithCredentials("root@pam", secret.New("nope")))
	require.NoError(t, err)
	_, err = pc.Inventory(t.Context())
	require.ErrorIs(t, err, proxmox.ErrAuth)
	assert.Contains(t, err.Error(), "authentication failure")
	assert.NotContains(t, err.Error(), "nope")
}

func TestUnauthorizedDelay(t *testing.T) {
	if testing.Short() {
		t.Skip("3 s delay")
	}
	t.Parallel()
	srv := proxmoxtest.NewServer()
	t.Cleanup(srv.Close)
	srv.SetUnauthorizedDelay(true)
	c := newClient(t, srv, proxmox.WithAPIToken(proxmoxtest.TokenID, secret.New("bad")))
	start := time.Now()
	_, err := c.Guests.Get(t.Context(), 100)
	require.ErrorIs(t, err, proxmox.ErrAuth)
	assert.GreaterOrEqual(t, time.Since(start), 3*time.Second)
}

func TestTicketAuthWithCSRFAndTOTP(t *testing.T) {
	t.Parallel()
	srv := proxmoxtest.NewServer()
	t.Cleanup(srv.Close)
	srv.AddUser("admin@pve", "pw", "123456")
	code := "123456"
	c, err := proxmox.NewClient(srv.URL, proxmox.WithFingerprint(srv.Fingerprint()),
		proxmox.WithCredentials("admin@pve", secret.New("pw")),
		proxmox.WithTOTP(func(context.Context) (string, error) { return code, nil }),
		proxmox.WithPollInterval(5*time.Millisecond, 20*time.Millisecond))
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	// a POST needs the CSRF token: shutting down a guest proves it is sent
	out, err := c.Guests.Shutdown(t.Context(), ha, proxmox.ShutdownOptions{})
	require.NoError(t, err)
	assert.Equal(t, proxmox.ShutDown, out)
	for _, r := range srv.Requests() {
		if r.Path == "/access/ticket" {
			assert.Equal(t, "REDACTED", r.Params.Get("password"))
		}
	}
	assert.Equal(t, "admin@pve", srv.Requests()[len(srv.Requests())-1].Identity)

	code = "000000"
	c2, err := proxmox.NewClient(srv.URL, proxmox.WithFingerprint(srv.Fingerprint()),
		proxmox.WithCredentials("admin@pve", secret.New("pw")),
		proxmox.WithTOTP(func(context.Context) (string, error) { return code, nil }))
	require.NoError(t, err)
	_, err = c2.Version(t.Context())
	assert.ErrorIs(t, err, proxmox.ErrAuth)

	c3, err := proxmox.NewClient(srv.URL, proxmox.WithFingerprint(srv.Fingerprint()),
		proxmox.WithCredentials("admin@pve", secret.New("pw")))
	require.NoError(t, err)
	_, err = c3.Version(t.Context())
	assert.ErrorIs(t, err, proxmox.ErrAuth)
	assert.Contains(t, err.Error(), "WithTOTP")
}

func TestHTTPErrorsAreTyped(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		fault  proxmoxtest.Fault
		is     error
		status int
	}{
		{"595 unreachable", proxmoxtest.Unreachable595, proxmox.ErrNodeUnreachable, 595},
		{"596 timeout", proxmoxtest.Timeout596, proxmox.ErrNodeUnreachable, 596},
		{"500 reason", proxmoxtest.Fault{Status: 500, Reason: "Configuration file 'nodes/x/qemu-server/9.conf' does not exist"}, proxmox.ErrNotFound, 500},
		{"500 missing archive", proxmoxtest.Fault{Status: 500, Reason: "can't find file 'backups:backup/vzdump-qemu-9-x.vma.zst'"}, proxmox.ErrNotFound, 500},
		{"404", proxmoxtest.Fault{Status: 404, Reason: "Not Found"}, proxmox.ErrNotFound, 404},
		{"403", proxmoxtest.Fault{Status: 403, Reason: "Permission check failed (/, Sys.Audit)"}, proxmox.ErrPermission, 403},
		{"401", proxmoxtest.Fault{Status: 401, Reason: "No ticket"}, proxmox.ErrAuth, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, c := newLab(t)
			srv.Inject(tt.fault.On("", ".*"))
			calls := map[string]func() error{
				"version (go-proxmox)": func() error { _, err := c.Version(t.Context()); return err },
				"nodes (go-proxmox)":   func() error { _, err := c.Nodes.List(t.Context()); return err },
				"inventory":            func() error { _, err := c.Inventory(t.Context()); return err },
				"node shutdown":        func() error { return c.Power.ShutdownNode(t.Context(), proxmoxtest.Node) },
				// go-proxmox alone returns nil here on a 596 with an empty body
				"Do with nil out": func() error {
					return c.Do(t.Context(), "POST", "/nodes/proxmox1/status", url.Values{"command": {"shutdown"}}, nil)
				},
			}
			for name, call := range calls {
				err := call()
				require.Error(t, err, name)
				assert.ErrorIs(t, err, tt.is, name)
				var pe *proxmox.Error
				if assert.ErrorAs(t, err, &pe, name) {
					assert.Equal(t, tt.status, pe.StatusCode, name)
					assert.Equal(t, tt.fault.Reason, pe.Reason, name)
				}
			}
			assert.True(t, srv.NodeOnline(proxmoxtest.Node), "no shutdown may have happened")
		})
	}
}

func TestParameterErrorsCarryPerParamMessages(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"pve8", "pve9"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			_, c := newLab(t, proxmoxtest.WithMode(mode))
			err := c.Do(t.Context(), "GET", "/cluster/resources", url.Values{"type": {"bogus"}}, nil)
			require.ErrorIs(t, err, proxmox.ErrInvalid)
			var pe *proxmox.Error
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, 400, pe.StatusCode)
			assert.Equal(t, "Parameter verification failed.", pe.Reason)
			assert.Contains(t, pe.Errors["type"], "enumeration")
			if mode == "pve9" {
				assert.Equal(t, "Parameter verification failed.", pe.Message)
			} else {
				assert.Empty(t, pe.Message)
			}
		})
	}
}

func TestMalformedReplies(t *testing.T) {
	t.Parallel()
	for _, body := range []string{`{not json`, `{"data":null}`, `{"data":{"x":1}}`, ``, `[]`} {
		t.Run(body, func(t *testing.T) {
			t.Parallel()
			srv, c := newLab(t)
			srv.Inject(proxmoxtest.Fault{Status: 200, Body: body}.On("GET", "^/cluster/resources$"))
			_, err := c.Inventory(t.Context())
			require.Error(t, err)
			var pe *proxmox.Error
			assert.ErrorAs(t, err, &pe)
			srv.Inject(proxmoxtest.Fault{Status: 200, Body: body}.On("GET", "^/version$"))
			srv.Inject(proxmoxtest.Fault{Status: 200, Body: body}.On("GET", "^/nodes/proxmox1/status$"))
			srv.Inject(proxmoxtest.Fault{Status: 200, Body: body}.On("GET", "/disks/list$"))
			_, verr := c.Version(t.Context())
			_, _ = c.Nodes.Status(t.Context(), proxmoxtest.Node) // must not panic
			_, derr := c.Disks.List(t.Context(), proxmoxtest.Node)
			if body != `[]` {
				assert.Error(t, verr)
			}
			if body != `[]` && body != `{"data":{"x":1}}` {
				assert.Error(t, derr)
			}
			srv.Inject(proxmoxtest.Fault{Status: 200, Body: body}.On("GET", "/config$"))
			_, err = c.Guests.Config(t.Context(), nas)
			if body != `{"data":{"x":1}}` {
				assert.Error(t, err)
			}
		})
	}
}

func TestDroppedConnectionAndSlowReply(t *testing.T) {
	t.Parallel()
	srv, c := newLab(t)
	srv.Inject(proxmoxtest.Fault{Drop: true}.On("GET", "^/version$"))
	_, err := c.Version(t.Context())
	require.Error(t, err)

	// a GET is retried after a dropped connection when retries are on
	srv2, _ := newLab(t)
	c2 := newClient(t, srv2, proxmox.WithRetries(3))
	srv2.Inject(proxmoxtest.Fault{Drop: true, Times: 1}.On("GET", "^/version$"))
	_, err = c2.Version(t.Context())
	require.NoError(t, err)

	srv.Inject(proxmoxtest.Fault{Delay: time.Second}.On("GET", "^/nodes$"))
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err = c.Nodes.List(ctx)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestSecretsNeverLeak(t *testing.T) {
	t.Parallel()
	srv := proxmoxtest.NewServer()
	t.Cleanup(srv.Close)
	var logs bytes.Buffer
	l := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c := newClient(t, srv, proxmox.WithLogger(l),
		proxmox.WithCredentials(proxmoxtest.RootUser, secret.New(proxmoxtest.RootPassword)))
	_, err := c.Inventory(t.Context())
	require.NoError(t, err)
	require.NoError(t, c.Storage.AddCIFS(t.Context(), proxmox.CIFSStorage{ID: "nas2", Server: "192.168.88.10",
		Share: "backups", Username: "u", Password: secret.New("smb-pass-123"), Content: []string{"backup"}}))
	_, err = c.Disks.Attach(t.Context(), nas, "S6PNNS0T100001", proxmox.AttachOptions{})
	require.NoError(t, err)
	srv.Inject(proxmoxtest.Fault{Status: 500, Reason: "boom"}.On("", ".*"))
	_, err = c.Inventory(t.Context())
	require.Error(t, err)
	dump := logs.String() + err.Error() + fmt.Sprintf("%v %+v %#v", c, c, c)
	for _, secret := range []string{proxmoxtest.TokenSecret, proxmoxtest.RootPassword, "smb-pass-123", "PVE:root@pam:"} {
		assert.NotContains(t, dump, secret)
	}
	assert.Contains(t, logs.String(), "/cluster/resources")
}

func TestConfigErrorsDoNotEchoSecrets(t *testing.T) {
	t.Parallel()
	const leak = "5f0e6a8c-leaky-secret"
	tests := []struct {
		name string
		url  string
		opt  proxmox.Option
	}{
		{"whole token pasted as id", "https://pve:8006", proxmox.WithAPIToken("root@pam!sdk="+leak, secret.New(leak))},
		// issue 14: the secret pasted after a space, as PVE's UI shows them side by side
		{"secret after a space", "https://pve:8006", proxmox.WithAPIToken("root@pam!sdk "+leak, secret.New(leak))},
		{"secret after a tab", "https://pve:8006", proxmox.WithAPIToken("root@pam!sdk\t"+leak, secret.New(leak))},
		{"secret after a newline", "https://pve:8006", proxmox.WithAPIToken("root@pam!sdk\n"+leak, secret.New(leak))},
		{"secret after a no-break space", "https://pve:8006", proxmox.WithAPIToken("root@pam!sdk\u00a0"+leak, secret.New(leak))},
		{"password in an http url", "http://root:" + leak + "@pve:8006", proxmox.WithAPIToken("root@pam!sdk", secret.New("x"))},
		{"password in an url without host", "https:///root:" + leak + "@", proxmox.WithAPIToken("root@pam!sdk", secret.New("x"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := proxmox.NewClient(tt.url, tt.opt)
			require.ErrorIs(t, err, proxmox.ErrInvalid)
			assert.NotContains(t, err.Error(), leak)
			assert.NotContains(t, err.Error(), "5f0e")
		})
	}
}
