package proxmox_test

import (
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/proxmox"
	"github.com/thehomelab/homelab/proxmox/proxmoxtest"
	"github.com/thehomelab/homelab/secret"
)

// endless answers every request with a 200 whose body never ends, as the
// hostile endpoint of issue 14 did.
func endless(t *testing.T) (*httptest.Server, *x509.CertPool) {
	t.Helper()
	chunk := []byte(strings.Repeat(`{"node":"pve","status":"online"},`, 1024))
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"data":[`))
		for r.Context().Err() == nil {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	return srv, pool
}

func TestEndlessBodyIsCappedAtTheTransport(t *testing.T) {
	// Not parallel: it measures the whole process's allocations, so it
	// runs before the package's parallel tests start (one full run under
	// load counted theirs too: 165 MiB against 160).
	srv, pool := endless(t)
	c, err := proxmox.NewClient(srv.URL, proxmox.WithRootCAs(pool), proxmox.WithRetries(0),
		proxmox.WithAPIToken("root@pam!sdk", secret.New("x")))
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	const limit = 4 << 20
	proxmox.SetMaxBody(c, limit)
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	calls := map[string]func() error{
		"version (go-proxmox)": func() error { _, err := c.Version(t.Context()); return err },
		"nodes (go-proxmox)":   func() error { _, err := c.Nodes.List(t.Context()); return err },
		"node status":          func() error { _, err := c.Nodes.Status(t.Context(), "pve"); return err },
		"inventory":            func() error { _, err := c.Inventory(t.Context()); return err },
		"do":                   func() error { return c.Do(t.Context(), "GET", "/cluster/tasks", nil, nil) },
	}
	for name, call := range calls {
		start := time.Now()
		err := call()
		require.ErrorIs(t, err, proxmox.ErrTooLarge, name)
		assert.ErrorIs(t, err, proxmox.ErrUnavailable, name)
		var pe *proxmox.Error
		require.ErrorAs(t, err, &pe, name)
		assert.Contains(t, err.Error(), "larger than 4194304 bytes", name)
		assert.NotContains(t, err.Error(), "200 OK", name)
		assert.Less(t, time.Since(start), 20*time.Second, name)
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	t.Logf("five capped reads of an endless body allocated %d MiB in total (cap %d MiB)", (after.TotalAlloc-before.TotalAlloc)>>20, limit>>20)
	// five capped reads: a few times the cap, never the stream
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(40*limit))
}

func TestMalformedReplySaysWhatWasWrong(t *testing.T) {
	t.Parallel()
	srv, c := newLab(t)
	srv.Inject(proxmoxtest.Fault{Status: 200, Body: `{"data":{"version":`}.On("GET", "^/version$"))
	srv.Inject(proxmoxtest.Fault{Status: 200, Body: `{"data":[{"vmid":"x1"}]}`}.On("GET", "^/cluster/resources$"))
	_, err := c.Version(t.Context())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "GET /version: malformed reply")
	assert.NotContains(t, err.Error(), "200 OK")
	_, err = c.Inventory(t.Context())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "GET /cluster/resources: malformed reply")
	assert.NotContains(t, err.Error(), "200 OK")
}
