package proxmox_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/proxmox"
	"github.com/thehomelab/homelab/proxmox/proxmoxtest"
	"github.com/thehomelab/homelab/secret"
)

// TestNoGoroutineOutlivesClose runs concurrent work (inventory, a plan run,
// a task wait cut short by its context) and checks that once the client
// and the fake are closed the goroutine count is back where it was. It is
// not parallel: the parallel tests are paused while it runs, so the count
// is stable.
func TestNoGoroutineOutlivesClose(t *testing.T) {
	before := runtime.NumGoroutine()
	func() {
		srv := proxmoxtest.NewServer()
		defer srv.Close()
		c, err := proxmox.NewClient(srv.URL, proxmox.WithFingerprint(srv.Fingerprint()),
			proxmox.WithAPIToken(proxmoxtest.TokenID, secret.New(proxmoxtest.TokenSecret)),
			proxmox.WithCredentials(proxmoxtest.RootUser, secret.New(proxmoxtest.RootPassword)),
			proxmox.WithPollInterval(5*time.Millisecond, 20*time.Millisecond))
		require.NoError(t, err)
		defer func() { _ = c.Close() }()
		_, err = c.Inventory(t.Context())
		require.NoError(t, err)
		p, err := c.Power.PlanShutdown(t.Context(), proxmox.PlanOptions{Last: []string{"nas"}})
		require.NoError(t, err)
		_, err = c.Power.Apply(t.Context(), p, proxmox.ApplyOptions{})
		require.NoError(t, err)
		// a wait cut short by its context, and a request cut short while
		// the server is slow
		srv.HoldTasks(true)
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		_, err = c.Guests.Start(ctx, nas)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		srv.Inject(proxmoxtest.Fault{Delay: time.Second}.On("", ".*"))
		ctx2, cancel2 := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel2()
		_, err = c.Inventory(ctx2)
		require.ErrorIs(t, err, context.DeadlineExceeded)
	}()
	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	assert.LessOrEqual(t, runtime.NumGoroutine(), before, "goroutines left behind")
}
