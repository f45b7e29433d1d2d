package command

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/proxmox"
	"github.com/thehomelab/homelab/proxmox/proxmoxtest"
	"github.com/thehomelab/homelab/ups"
	"github.com/thehomelab/homelab/ups/upstest"
)

// nut starts a fake upsd with the lab UPS on low battery: the policy
// decides at the first poll, without waiting out any delay.
func nut(t *testing.T) *upstest.Server {
	t.Helper()
	srv := upstest.NewServer()
	t.Cleanup(srv.Close)
	vars := upstest.DefaultVars()
	vars["ups.status"] = "OB DISCHRG LB"
	vars["battery.charge"] = "12"
	srv.AddUPS("ups", "PowerWalker VI 1000 STL", vars)
	srv.AddUser("upsmon", upstest.User{Password: "upsmon-secret", Actions: []string{"FSD"}, Upsmon: "primary"})
	return srv
}

var upsEnv = env(map[string]string{
	"PROXMOX_TOKEN_ID": proxmoxtest.TokenID, "PROXMOX_TOKEN_SECRET": proxmoxtest.TokenSecret,
	"NUT_USER": "upsmon", "NUT_PASSWORD": "upsmon-secret",
})

func TestPowerLossCommandDrill(t *testing.T) {
	t.Parallel()
	u := nut(t)
	pv, flags := pve(t)
	var out bytes.Buffer
	args := append(flags, "-ups", "ups@"+u.Addr(), "-fsd", "-dry-run")
	require.NoError(t, runPowerLoss(t.Context(), &out, &out, args, upsEnv), out.String())
	assert.Contains(t, out.String(), "decision: shut down, on battery with low battery (OB LB)")
	assert.Contains(t, out.String(), "3. last: vm 100 on proxmox1 (nas)")
	assert.Contains(t, out.String(), "dry run: nothing was stopped")
	assert.False(t, u.FSDSet("ups"), "a drill sets no FSD")
	for _, id := range []int{100, 101, 102} {
		assert.Equal(t, "running", pv.GuestStatus(id))
	}
}

func TestPowerLossCommand(t *testing.T) {
	t.Parallel()
	u := nut(t)
	pv, flags := pve(t)
	var out bytes.Buffer
	args := append(flags, "-ups", "ups@"+u.Addr(), "-fsd")
	require.NoError(t, runPowerLoss(t.Context(), &out, &out, args, upsEnv), out.String())
	story := out.String()
	assert.True(t, u.FSDSet("ups"))
	for _, id := range []int{100, 101, 102} {
		assert.Equal(t, "stopped", pv.GuestStatus(id))
	}
	assert.False(t, pv.NodeOnline(proxmoxtest.Node))
	nas, node := strings.Index(story, "(nas): shut down"), strings.Index(story, "node proxmox1: shutting down")
	require.Positive(t, nas, story)
	assert.Less(t, strings.Index(story, "(docker): shut down"), nas)
	assert.Less(t, nas, node)
	assert.NotContains(t, story, "upsmon-secret")
}

func TestPowerLossCommandStopped(t *testing.T) {
	t.Parallel()
	u := upstest.NewServer()
	t.Cleanup(u.Close)
	u.AddUPS("ups", "PowerWalker VI 1000 STL", upstest.DefaultVars()) // on line power
	pv, flags := pve(t)
	ctx, cancel := context.WithCancel(t.Context())
	var out safeBuffer
	done := make(chan error, 1)
	go func() { done <- runPowerLoss(ctx, &out, &out, append(flags, "-ups", "ups@"+u.Addr()), upsEnv) }()
	require.Eventually(t, func() bool { return strings.Contains(out.String(), "watching the UPS") }, 10*time.Second, 5*time.Millisecond)
	cancel()
	require.NoError(t, <-done, "a stopped guard is not a failure")
	assert.Contains(t, out.String(), "stopped; no shutdown was decided")
	assert.Equal(t, "running", pv.GuestStatus(100))
}

func TestPowerLossCommandErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		args  []string
		env   Env
		usage bool
		want  string
	}{
		{name: "bad ups", args: []string{"-ups", "localhost"}, env: upsEnv, usage: true, want: "name@host"},
		{name: "fsd without account", args: []string{"-ups", "ups@localhost", "-fsd"}, env: pveEnv, usage: true, want: "-fsd needs NUT_USER"},
		{name: "password missing", args: []string{"-ups", "ups@localhost"}, env: env(map[string]string{"NUT_USER": "upsmon"}), usage: true, want: "set NUT_PASSWORD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := runPowerLoss(t.Context(), &bytes.Buffer{}, io.Discard, tt.args, tt.env)
			require.Error(t, err)
			assert.Equal(t, tt.usage, errors.Is(err, ErrUsage), "%v", err)
			if tt.usage {
				assert.Equal(t, 2, ExitCode(err), "a missing setting is a configuration error")
			}
			assert.ErrorContains(t, err, tt.want)
		})
	}
}

// A guard that cannot act is no guard: a wrong NUT password with -fsd, or
// a Proxmox token that does not work, refuses the start instead of watching
// and failing during the outage (issues 11 and 16).
func TestPowerLossCommandRefusesWhenItCannotAct(t *testing.T) {
	t.Parallel()
	u := upstest.Start(t)
	u.AddUPS("ups", "PowerWalker VI 1000 STL", upstest.DefaultVars()) // on line power: nothing to decide
	u.AddUser("upsmon", upstest.User{Password: "upsmon-secret", Upsmon: "primary"})
	_, flags := pve(t)
	tests := []struct {
		name string
		args []string
		env  Env
		want []string
		is   error
	}{
		{name: "wrong nut password", args: []string{"-fsd"}, is: ups.ErrAccessDenied,
			env: env(map[string]string{
				"PROXMOX_TOKEN_ID": proxmoxtest.TokenID, "PROXMOX_TOKEN_SECRET": proxmoxtest.TokenSecret,
				"NUT_USER": "upsmon", "NUT_PASSWORD": "wrong-password",
			}),
			want: []string{"does not start", "upsmon primary"}},
		{name: "drill with a wrong nut password", args: []string{"-fsd", "-dry-run"}, is: ups.ErrAccessDenied,
			env: env(map[string]string{
				"PROXMOX_TOKEN_ID": proxmoxtest.TokenID, "PROXMOX_TOKEN_SECRET": proxmoxtest.TokenSecret,
				"NUT_USER": "upsmon", "NUT_PASSWORD": "wrong-password",
			}),
			want: []string{"does not start", "upsmon primary"}},
		{name: "wrong proxmox token", is: proxmox.ErrAuth,
			env: env(map[string]string{
				"PROXMOX_TOKEN_ID": proxmoxtest.TokenID, "PROXMOX_TOKEN_SECRET": "wrong-token",
			}),
			want: []string{"does not start"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			err := runPowerLoss(ctx, &out, &out, append(append(flags, "-ups", "ups@"+u.Addr()), tt.args...), tt.env)
			require.Error(t, err, out.String())
			assert.ErrorIs(t, err, tt.is)
			assert.Equal(t, ExitUnchecked, ExitCode(err), "could not check: exit 3")
			for _, w := range tt.want {
				assert.ErrorContains(t, err, w)
			}
			assert.NotContains(t, out.String(), "watching the UPS")
			assert.NotContains(t, err.Error()+out.String(), "wrong-")
		})
	}
}

func TestPowerLossCommandStartTLS(t *testing.T) {
	t.Parallel()
	u := upstest.Start(t, upstest.WithSelfSignedTLS())
	fp := u.Fingerprint()
	vars := upstest.DefaultVars()
	vars["ups.status"] = "OB DISCHRG LB"
	u.AddUPS("ups", "PowerWalker VI 1000 STL", vars)
	u.AddUser("upsmon", upstest.User{Password: "upsmon-secret", Upsmon: "primary"})
	_, flags := pve(t)
	var out bytes.Buffer
	args := append(flags, "-ups", "ups@"+u.Addr(), "-nut-fingerprint", fp, "-dry-run")
	require.NoError(t, runPowerLoss(t.Context(), &out, &out, args, upsEnv), out.String())
	assert.Contains(t, out.String(), "decision: shut down, on battery with low battery")
	starttls := false
	for _, r := range u.Requests() {
		starttls = starttls || r.Method == "STARTTLS"
	}
	assert.True(t, starttls)

	err := runPowerLoss(t.Context(), &out, &out, append(flags, "-ups", "ups@"+u.Addr(), "-nut-fingerprint", "sha256:"+strings.Repeat("00:", 31)+"00", "-dry-run"), upsEnv)
	var mm *ups.FingerprintMismatchError
	require.ErrorAs(t, err, &mm)
	assert.Equal(t, fp, mm.Got)

	err = runPowerLoss(t.Context(), &out, &out, append(flags, "-ups", "ups@"+u.Addr(), "-nut-ca", "/nonexistent.pem"), upsEnv)
	assert.ErrorIs(t, err, ErrUsage)
}
