package command

import (
	"bytes"
	"context"
	"errors"
	"io"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/examples/internal/workflow"
	"github.com/thehomelab/homelab/omv"
	"github.com/thehomelab/homelab/omv/omvtest"
)

// nas starts a fake OpenMediaVault.
func nas(t *testing.T) *omvtest.Server {
	t.Helper()
	srv := omvtest.NewServer()
	t.Cleanup(srv.Close)
	return srv
}

var nasEnv = env(map[string]string{"OMV_PASSWORD": omvtest.AdminPassword, "SHARE_OWNER_PASSWORD": "correct horse"})

func TestNASHealthCommand(t *testing.T) {
	t.Parallel()
	srv := nas(t)
	var out bytes.Buffer
	require.NoError(t, runNASHealth(t.Context(), &out, &out, []string{"-nas", srv.URL}, nasEnv), out.String())
	assert.Contains(t, out.String(), "raid:  md0 raid1 clean")
	assert.Contains(t, out.String(), "healthy")

	require.NoError(t, srv.FailMember("md0", "sdb"))
	out.Reset()
	err := runNASHealth(t.Context(), &out, &out, []string{"-nas", srv.URL}, nasEnv)
	require.ErrorIs(t, err, workflow.ErrUnhealthy)
	assert.Contains(t, out.String(), "degraded (missing slot 1, faulty /dev/sdb)")

	// A full filesystem is a problem too: the seeded one is 25% used.
	out.Reset()
	err = runNASHealth(t.Context(), &out, &out, []string{"-nas", nas(t).URL, "-full", "20"}, nasEnv)
	require.ErrorIs(t, err, workflow.ErrUnhealthy)
	assert.ErrorContains(t, err, "filesystem /dev/md0 25% full")
}

func TestShareCommand(t *testing.T) {
	t.Parallel()
	srv := nas(t)
	args := []string{"-nas", srv.URL, "-name", "photos", "-owner", "anna", "-quota-gib", "100", "-recycle-bin"}
	var out bytes.Buffer
	require.NoError(t, runShare(t.Context(), &out, &out, args, nasEnv), out.String())
	assert.Contains(t, out.String(), "changed: user anna, shared folder photos")
	assert.Contains(t, out.String(), "quota of anna = 100 GiB")
	assert.Contains(t, srv.ExportedShares(), "photos")
	assert.Equal(t, int64(100<<20), srv.Quota(omvtest.FilesystemUUID, "anna"), "quota in KiB")
	assert.NotContains(t, out.String(), "correct horse")

	_, writes := srv.Calls()
	out.Reset()
	require.NoError(t, runShare(t.Context(), &out, &out, args, nasEnv), out.String())
	assert.Contains(t, out.String(), "already as wanted: nothing changed")
	_, writes2 := srv.Calls()
	assert.Equal(t, writes, writes2, "second run wrote to the NAS")
}

func TestNASCommandErrors(t *testing.T) {
	t.Parallel()
	srv := nas(t)
	tests := []struct {
		name  string
		run   func(ctx context.Context, out, errOut io.Writer, args []string, env Env) error
		args  []string
		env   Env
		usage bool
		want  string
		is    error
	}{
		{name: "health without password", run: runNASHealth, args: []string{"-nas", srv.URL}, env: env(nil), usage: true, want: "set OMV_PASSWORD"},
		{name: "health wrong password", run: runNASHealth, args: []string{"-nas", srv.URL},
			env: env(map[string]string{"OMV_PASSWORD": "wrong-password"}), want: "Incorrect username or password", is: omv.ErrAuth},
		{name: "share without name", run: runShare, args: []string{"-owner", "anna"}, env: nasEnv, usage: true, want: "-name and -owner"},
		{name: "share negative quota", run: runShare, args: []string{"-name", "x", "-owner", "anna", "-quota-gib", "-1"}, env: nasEnv, usage: true, want: "negative"},
		{name: "new owner without password", run: runShare, args: []string{"-nas", srv.URL, "-name", "x", "-owner", "bob"},
			env: env(map[string]string{"OMV_PASSWORD": omvtest.AdminPassword}), usage: true, want: "set SHARE_OWNER_PASSWORD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			err := tt.run(t.Context(), &out, &out, tt.args, tt.env)
			require.Error(t, err)
			assert.Equal(t, tt.usage, errors.Is(err, ErrUsage), "%v", err)
			if tt.usage {
				assert.Equal(t, 2, ExitCode(err), "a missing setting is a configuration error")
			}
			assert.ErrorContains(t, err, tt.want)
			if tt.is != nil {
				assert.ErrorIs(t, err, tt.is)
			}
			assert.NotContains(t, err.Error()+out.String(), "wrong-password")
		})
	}
}

func TestNASHealthFollowsARebuild(t *testing.T) {
	t.Parallel()
	// The fake's clock moves 20 s each time the fake reads it, so the
	// rebuild progresses between polls without a test waiting for it.
	var mu sync.Mutex
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(20 * time.Second)
		return now
	}
	srv := omvtest.NewServer(omvtest.WithClock(clock))
	t.Cleanup(srv.Close)
	// Replace a disk, as examples/homelab's drill does.
	require.NoError(t, srv.RemoveMember("md0", "sdb"))
	require.NoError(t, srv.RemoveDisk("/dev/sdb"))
	srv.AddDisk("/dev/sdc", "Samsung SSD 870 EVO 1TB", 1000204886016)
	require.NoError(t, srv.AddMember("md0", "sdc"))
	require.NoError(t, srv.SetSyncSpeed("md0", 500_000))

	var out bytes.Buffer
	require.NoError(t, runNASHealth(t.Context(), &out, &out,
		[]string{"-nas", srv.URL, "-follow", "-follow-interval", "1ms"}, nasEnv), out.String())
	text := out.String()
	assert.Contains(t, text, "following the sync until it is done (every 1ms)")
	// Plain lines (not a terminal): one per tenth at most, in order.
	re := regexp.MustCompile(`(?m)^   md0 recovery (\d+)\.\d%, eta \S+$`)
	lines := re.FindAllStringSubmatch(text, -1)
	require.GreaterOrEqual(t, len(lines), 3, text)
	last := -1
	for _, l := range lines {
		pct, err := strconv.Atoi(l[1])
		require.NoError(t, err)
		assert.Greater(t, pct/10, last, "one line per tenth: %s", text)
		last = pct / 10
	}
	assert.NotContains(t, text, "\r")
	// The final verdict: the rebuilt array is clean.
	assert.Contains(t, text, "raid:  md0 raid1 clean")
	assert.Contains(t, text, "healthy")
	assert.Less(t, strings.Index(text, lines[len(lines)-1][0]), strings.Index(text, "raid:  md0 raid1 clean"))

	// Nothing to follow: the check is the plain one.
	out.Reset()
	require.NoError(t, runNASHealth(t.Context(), &out, &out, []string{"-nas", nas(t).URL, "-follow"}, nasEnv))
	assert.NotContains(t, out.String(), "following")
	assert.Contains(t, out.String(), "healthy")
}
