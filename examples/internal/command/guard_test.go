package command

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/proxmox/proxmoxtest"
	"github.com/thehomelab/homelab/ups/upstest"
)

// onLine starts a fake upsd whose UPS is on line power: the guard watches
// and never decides.
func onLine(t *testing.T) *upstest.Server {
	t.Helper()
	u := upstest.NewServer()
	t.Cleanup(u.Close)
	u.AddUPS("ups", "PowerWalker VI 1000 STL", upstest.DefaultVars())
	u.AddUser("upsmon", upstest.User{Password: "upsmon-secret", Upsmon: "primary"})
	u.AddUser("reader", upstest.User{Password: "reader-secret", Upsmon: "secondary"})
	return u
}

func TestPowerLossRefusesToStart(t *testing.T) {
	t.Parallel()
	badToken := env(map[string]string{"PROXMOX_TOKEN_ID": proxmoxtest.TokenID, "PROXMOX_TOKEN_SECRET": "00000000-0000-0000-0000-000000000000"})
	secondary := env(map[string]string{
		"PROXMOX_TOKEN_ID": proxmoxtest.TokenID, "PROXMOX_TOKEN_SECRET": proxmoxtest.TokenSecret,
		"NUT_USER": "reader", "NUT_PASSWORD": "reader-secret",
	})
	wrongPassword := env(map[string]string{
		"PROXMOX_TOKEN_ID": proxmoxtest.TokenID, "PROXMOX_TOKEN_SECRET": proxmoxtest.TokenSecret,
		"NUT_USER": "upsmon", "NUT_PASSWORD": "wrong",
	})
	tests := []struct {
		name  string
		setup func(pv *proxmoxtest.Server, flags []string) []string
		extra []string
		env   Env
		want  []string
	}{
		{name: "wrong token", env: badToken,
			want: []string{"401", "check the API token id and secret"}},
		{name: "one guest without VM.PowerMgmt", env: upsEnv,
			setup: func(pv *proxmoxtest.Server, flags []string) []string {
				pv.SetPrivileges(proxmoxtest.TokenID, "/vms/101", "VM.Audit")
				return flags
			},
			want: []string{"ct 101 on proxmox1 (docker): VM.PowerMgmt on /vms/101"}},
		{name: "node without Sys.PowerMgmt", env: upsEnv,
			setup: func(pv *proxmoxtest.Server, flags []string) []string {
				pv.SetPrivileges(proxmoxtest.TokenID, "/nodes", "Sys.Audit")
				return flags
			},
			want: []string{"node proxmox1: Sys.PowerMgmt on /nodes/proxmox1"}},
		{name: "dead address", env: upsEnv,
			setup: func(pv *proxmoxtest.Server, flags []string) []string {
				return []string{"-proxmox", "https://127.0.0.1:1", "-proxmox-fingerprint", pv.Fingerprint()}
			},
			want: []string{"did not answer: check the address"}},
		{name: "wrong pin", env: upsEnv,
			setup: func(pv *proxmoxtest.Server, flags []string) []string {
				return []string{"-proxmox", pv.URL, "-proxmox-fingerprint", strings.Repeat("AB:", 31) + "AB"}
			},
			want: []string{"not the pinned one", pvFingerprint}},
		{name: "no pin", env: upsEnv,
			setup: func(pv *proxmoxtest.Server, flags []string) []string {
				return []string{"-proxmox", pv.URL}
			},
			want: []string{"certificate signed by unknown authority", "-proxmox-fingerprint sha256:" + pvFingerprint}},
		{name: "fsd with a secondary login", env: secondary, extra: []string{"-fsd"},
			want: []string{"upsmon primary"}},
		{name: "fsd with a wrong password, in a drill too", env: wrongPassword, extra: []string{"-fsd", "-dry-run"},
			want: []string{"check the NUT password"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			u := onLine(t)
			pv, flags := pve(t)
			if tt.setup != nil {
				flags = tt.setup(pv, flags)
			}
			var out safeBuffer
			args := append(append(flags, "-ups", "ups@"+u.Addr()), tt.extra...)
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			err := runPowerLoss(ctx, &out, &out, args, tt.env)
			require.Error(t, err, out.String())
			assert.Equal(t, ExitUnchecked, ExitCode(err), "%v", err)
			assert.NotContains(t, out.String(), "watching the UPS")
			msg := strings.ReplaceAll(err.Error(), pvFingerprintFor(pv), pvFingerprint)
			for _, w := range tt.want {
				assert.Contains(t, msg, w)
			}
			assert.Equal(t, 1, strings.Count(msg, "fix:")+strings.Count(msg, "WithFingerprint(")+strings.Count(msg, "grant ")+strings.Count(msg, "FSD would be refused"), "one piece of advice: %s", msg)
			for _, secret := range []string{proxmoxtest.TokenSecret, "upsmon-secret", "reader-secret"} {
				assert.NotContains(t, msg+out.String(), secret)
			}
			for _, id := range []int{100, 101, 102} {
				assert.Equal(t, "running", pv.GuestStatus(id))
			}
		})
	}
}

// pvFingerprint stands for the fake's own fingerprint in the wants above.
const pvFingerprint = "<the server's fingerprint>"

func pvFingerprintFor(pv *proxmoxtest.Server) string { return pv.Fingerprint() }

func TestPowerLossStartsWhenItCanAct(t *testing.T) {
	t.Parallel()
	u := onLine(t)
	_, flags := pve(t)
	ctx, cancel := context.WithCancel(t.Context())
	var out safeBuffer
	done := make(chan error, 1)
	go func() { done <- runPowerLoss(ctx, &out, &out, append(flags, "-ups", "ups@"+u.Addr(), "-fsd"), upsEnv) }()
	require.Eventually(t, func() bool { return strings.Contains(out.String(), "watching the UPS") }, 10*time.Second, 5*time.Millisecond)
	cancel()
	require.NoError(t, <-done)
	assert.Contains(t, out.String(), "checked: this guard may power off the guests and the node")
	assert.False(t, u.FSDSet("ups"), "the check sets nothing")
}

func TestPowerLossRecheckNoticesARevokedToken(t *testing.T) {
	t.Parallel()
	u := onLine(t)
	pv, flags := pve(t)
	ctx, cancel := context.WithCancel(t.Context())
	var out safeBuffer
	done := make(chan error, 1)
	// The interval is also how long one check may take before it counts
	// as failed: at 300 ms a loaded race run failed one on its own (a
	// warning nobody caused, or a guard that would not start). The waits
	// below are on the lines themselves, each looked for after the step
	// that causes it.
	args := append(flags, "-ups", "ups@"+u.Addr(), "-check-interval", "2s")
	go func() { done <- runPowerLoss(ctx, &out, &out, args, upsEnv) }()
	require.Eventually(t, func() bool { return strings.Contains(out.String(), "watching the UPS") }, patience, 5*time.Millisecond, out.String())
	assert.NotContains(t, out.String(), "WARNING")
	// the monitor's Run checks once more before its first poll: revoke
	// after that, while it watches (a read is logged once answered)
	require.Eventually(t, func() bool { return permissionReads(pv) >= 2 }, patience, 5*time.Millisecond, out.String())
	assert.NotContains(t, out.String(), "WARNING")

	mark := len(out.String())
	since := func(needle string) bool { return strings.Contains(out.String()[mark:], needle) }
	pv.RevokeToken(proxmoxtest.TokenID)
	require.Eventually(t, func() bool { return since("WARNING: the guard can no longer act") }, patience, 5*time.Millisecond, out.String())
	// the warning's lines are written one by one: wait for the last
	require.Eventually(t, func() bool { return since("check the API token id and secret") }, patience, 5*time.Millisecond, out.String())

	mark = len(out.String())
	pv.AddToken(proxmoxtest.TokenID, proxmoxtest.TokenSecret)
	require.Eventually(t, func() bool { return since("ok again: the guard can act again") }, patience, 5*time.Millisecond, out.String())

	mark = len(out.String())
	pv.SetPrivileges(proxmoxtest.TokenID, "/vms/100", "VM.Audit")
	require.Eventually(t, func() bool { return since("(nas): VM.PowerMgmt on /vms/100") }, patience, 5*time.Millisecond, out.String())

	cancel()
	require.NoError(t, <-done, "the watch went on until stopped")
	assert.Contains(t, out.String(), "stopped; no shutdown was decided")
}

// patience bounds every wait for something a running command does:
// generous, so a loaded race run only makes a test slower, never fail.
const patience = 20 * time.Second

func permissionReads(pv *proxmoxtest.Server) int {
	n := 0
	for _, r := range pv.Requests() {
		if r.Path == "/access/permissions" {
			n++
		}
	}
	return n
}
