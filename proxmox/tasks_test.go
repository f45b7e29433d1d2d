package proxmox_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/proxmox"
	"github.com/thehomelab/homelab/proxmox/proxmoxtest"
)

func TestParseUPID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		ok      bool
		node    string
		typ, id string
		user    string
		pstart  uint64
	}{
		{"UPID:pve1:0001A2B3:00C4D5E6:6650A1B2:vzdump:100:root@pam!sdk:", true, "pve1", "vzdump", "100", "root@pam!sdk", 0xC4D5E6},
		{"UPID:proxmox1:0001a2b3:1c4d5e6ff:6650a1b2:startall::root@pam:", true, "proxmox1", "startall", "", "root@pam", 0x1C4D5E6FF},
		{"UPID:node-2:00000001:00000002:00000003:imgdel:100@nas:admin@pve:", true, "node-2", "imgdel", "100@nas", "admin@pve", 2},
		{"OK", false, "", "", "", "", 0},
		{"UPID:pve1:0001A2B3:00C4D5E6:6650A1B2:vzdump:100:root@pam", false, "", "", "", "", 0},
		{"UPID:-pve:0001A2B3:00C4D5E6:6650A1B2:vzdump:100:root@pam:", false, "", "", "", "", 0},
		{"UPID:pve1:01A2B3:00C4D5E6:6650A1B2:vzdump:100:root@pam:", false, "", "", "", "", 0},
		{"UPID:pve1:0001A2B3:00C4D5E6:6650A1B2:vz dump:100:root@pam:", false, "", "", "", "", 0},
		{"", false, "", "", "", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			u, err := proxmox.ParseUPID(tt.in)
			if !tt.ok {
				assert.ErrorIs(t, err, proxmox.ErrInvalid)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.node, u.Node)
			assert.Equal(t, tt.typ, u.Type)
			assert.Equal(t, tt.id, u.ID)
			assert.Equal(t, tt.user, u.User)
			assert.Equal(t, tt.pstart, u.PStart)
			assert.Equal(t, tt.in, u.String())
		})
	}
	u, err := proxmox.ParseUPID("UPID:pve1:0001A2B3:00C4D5E6:6650A1B2:vzdump:100:root@pam!sdk:")
	require.NoError(t, err)
	assert.Equal(t, int64(0x6650A1B2), u.StartTime.Unix())
	assert.Equal(t, uint32(0x1A2B3), u.PID)
}

// heldTask starts a guest stop that the fake holds and returns its UPID.
func heldTask(t *testing.T, srv *proxmoxtest.Server, c *proxmox.Client) (proxmox.UPID, func()) {
	t.Helper()
	srv.HoldTasks(true)
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, _ = c.Guests.Stop(ctx, ha)
	}()
	var upid string
	require.Eventually(t, func() bool {
		ts := srv.Tasks()
		if len(ts) == 0 {
			return false
		}
		upid = ts[len(ts)-1]
		return true
	}, 5*time.Second, 5*time.Millisecond)
	u, err := proxmox.ParseUPID(upid)
	require.NoError(t, err)
	return u, func() { cancel(); wg.Wait() }
}

func TestTaskWaitExitStatuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		exit     string
		ok       bool
		warnings int
	}{
		{"OK", true, 0},
		{"WARNINGS: 2", true, 2},
		{"can't lock file '/var/lock/qemu-server/lock-102.conf' - got timeout", false, 0},
		{"unexpected status", false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.exit, func(t *testing.T) {
			t.Parallel()
			srv, c := newLab(t)
			u, stop := heldTask(t, srv, c)
			defer stop()
			st, err := c.Tasks.Task(u).Status(t.Context())
			require.NoError(t, err)
			assert.True(t, st.Running)
			require.True(t, srv.FinishTask(u.String(), tt.exit))
			st, err = c.Tasks.Task(u).Wait(t.Context())
			assert.Equal(t, tt.exit, st.ExitStatus)
			assert.Equal(t, tt.warnings, st.Warnings())
			if tt.ok {
				require.NoError(t, err)
				assert.True(t, st.OK())
				return
			}
			require.ErrorIs(t, err, proxmox.ErrTaskFailed)
			var pe *proxmox.Error
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, tt.exit, pe.Code)
			assert.Equal(t, "qmstop", pe.Task.Type)
			assert.Equal(t, "TASK ERROR: "+tt.exit, pe.Log[len(pe.Log)-1])
			assert.Contains(t, err.Error(), tt.exit)
		})
	}
}

func TestTaskWaitHonoursContextAndRetriesUnreachable(t *testing.T) {
	t.Parallel()
	srv, c := newLab(t)
	u, stop := heldTask(t, srv, c)
	defer stop()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Tasks.Task(u).Wait(ctx)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), time.Second)

	srv.Inject(proxmoxtest.Fault{Status: 596, Reason: "Connection timed out", Times: 3}.On("GET", "/tasks/.*/status$"))
	require.True(t, srv.FinishTask(u.String(), "OK"))
	st, err := c.Tasks.Task(u).Wait(t.Context())
	require.NoError(t, err)
	assert.True(t, st.OK())
}

func TestTaskUnknownAndWrongNode(t *testing.T) {
	t.Parallel()
	srv, c := newLab(t)
	u, err := proxmox.ParseUPID("UPID:proxmox1:00000001:00000002:6650A1B2:qmstart:100:root@pam:")
	require.NoError(t, err)
	_, err = c.Tasks.Task(u).Status(t.Context())
	assert.ErrorIs(t, err, proxmox.ErrNotFound)
	srv.AddNode("proxmox2")
	real, stop := heldTask(t, srv, c)
	defer stop()
	wrong := real.String()
	wrong = "UPID:proxmox2" + wrong[len("UPID:proxmox1"):]
	wu, err := proxmox.ParseUPID(wrong)
	require.NoError(t, err)
	_, err = c.Tasks.Task(wu).Status(t.Context())
	assert.ErrorIs(t, err, proxmox.ErrNotFound)
}

func TestTaskLogStreaming(t *testing.T) {
	t.Parallel()
	srv, c := newLab(t)
	u, stop := heldTask(t, srv, c)
	defer stop()
	var mu sync.Mutex
	var lines []string
	done := make(chan error, 1)
	go func() {
		task := c.Tasks.Task(u)
		for line, err := range task.Log(t.Context()) {
			if err != nil {
				done <- err
				return
			}
			mu.Lock()
			lines = append(lines, line)
			mu.Unlock()
		}
		_, err := task.Wait(t.Context())
		done <- err
	}()
	time.Sleep(20 * time.Millisecond) //nolint:forbidigo // let the stream see the running task first
	require.True(t, srv.FinishTask(u.String(), "boom"))
	err := <-done
	require.ErrorIs(t, err, proxmox.ErrTaskFailed)
	mu.Lock()
	defer mu.Unlock()
	require.NotEmpty(t, lines)
	assert.Contains(t, lines[0], "starting task")
	assert.Equal(t, "TASK ERROR: boom", lines[len(lines)-1])

	ls, total, err := c.Tasks.Task(u).ReadLog(t.Context(), 1, 1)
	require.NoError(t, err)
	assert.Equal(t, 2, total)
	require.Len(t, ls, 1)
	assert.Equal(t, 2, ls[0].N)
}

func TestTaskStop(t *testing.T) {
	t.Parallel()
	srv, c := newLab(t)
	u, stop := heldTask(t, srv, c)
	defer stop()
	require.NoError(t, c.Tasks.Task(u).Stop(t.Context()))
	assert.Equal(t, "unexpected status", srv.TaskExit(u.String()))
}

func TestTaskList(t *testing.T) {
	t.Parallel()
	srv, c := newLab(t)
	_, err := c.Guests.Stop(t.Context(), ha)
	require.NoError(t, err)
	_, err = c.Guests.Start(t.Context(), ha)
	require.NoError(t, err)
	since := time.Now().Add(-time.Minute)
	ts, err := c.Tasks.List(t.Context(), proxmoxtest.Node, proxmox.TaskFilter{VMID: 102, Since: since})
	require.NoError(t, err)
	require.Len(t, ts, 2)
	assert.Equal(t, "qmstart", ts[0].UPID.Type, "newest first")
	assert.Equal(t, "OK", ts[1].ExitStatus)
	last := srv.Requests()[len(srv.Requests())-1]
	assert.Contains(t, last.RawQuery, "since=")
	assert.NotContains(t, last.RawQuery, "e%2B", "no exponent form")
	ts, err = c.Tasks.List(t.Context(), proxmoxtest.Node, proxmox.TaskFilter{Errors: true})
	require.NoError(t, err)
	assert.Empty(t, ts)
}
