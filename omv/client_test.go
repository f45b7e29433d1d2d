package omv_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/omv"
	"github.com/thehomelab/homelab/omv/omvtest"
	"github.com/thehomelab/homelab/secret"
)

// newPair starts a fake and a client logged in as admin; both close in Cleanup.
func newPair(t testing.TB, sopts []omvtest.Option, copts ...omv.Option) (*omvtest.Server, *omv.Client) {
	t.Helper()
	srv := omvtest.NewServer(sopts...)
	t.Cleanup(srv.Close)
	opts := append([]omv.Option{
		omv.WithCredentials(omvtest.AdminUser, secret.New(omvtest.AdminPassword)),
		omv.WithHTTPClient(srv.Client()),
		omv.WithPollInterval(time.Millisecond, time.Millisecond),
		omv.WithRetries(3), omv.WithRetryBackoff(time.Millisecond),
	}, copts...)
	c, err := omv.NewClient(srv.URL, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return srv, c
}

func TestNewClientOptions(t *testing.T) {
	t.Parallel()
	pw := secret.New("pw")
	tests := []struct {
		name string
		url  string
		opts []omv.Option
		want string
	}{
		{"no credentials", "https://nas", nil, "WithCredentials is required"},
		{"bad scheme", "ftp://nas", []omv.Option{omv.WithCredentials("a", pw)}, "base URL"},
		{"userinfo", "https://u:p@nas", []omv.Option{omv.WithCredentials("a", pw)}, "credentials in the URL"},
		{"empty password", "https://nas", []omv.Option{omv.WithCredentials("a", secret.Secret{})}, "empty password"},
		{"multiline password", "https://nas", []omv.Option{omv.WithCredentials("a", secret.New("a\nb"))}, "line break"},
		{"bad fingerprint", "https://nas", []omv.Option{omv.WithCredentials("a", pw), omv.WithFingerprint("sha256:zz")}, "fingerprint"},
		{"bad timeout", "https://nas", []omv.Option{omv.WithCredentials("a", pw), omv.WithTimeout(0)}, "WithTimeout"},
		{"bad retries", "https://nas", []omv.Option{omv.WithCredentials("a", pw), omv.WithRetries(-1)}, "WithRetries"},
		{"bad poll interval", "https://nas", []omv.Option{omv.WithCredentials("a", pw), omv.WithPollInterval(time.Second, time.Millisecond)}, "WithPollInterval"},
		{"http client and pin", "https://nas", []omv.Option{omv.WithCredentials("a", pw), omv.WithHTTPClient(http.DefaultClient),
			omv.WithFingerprint("sha256:" + strings.Repeat("AB", 32))}, "WithHTTPClient"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := omv.NewClient(tt.url, tt.opts...)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.ErrorIs(t, err, omv.ErrInvalid, "a refused option is an invalid request")
			assert.NotContains(t, err.Error(), "omv: omv:", "one prefix")
		})
	}
}

// Nil options are skipped, as everywhere in the SDK; a nil logger means
// discard.
func TestNilOptionsSkipped(t *testing.T) {
	t.Parallel()
	srv := omvtest.Start(t)
	c, err := omv.NewClient(srv.URL, nil, omv.WithHTTPClient(srv.Client()), nil,
		omv.WithCredentials(omvtest.AdminUser, secret.New(omvtest.AdminPassword)), omv.WithLogger(nil), nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	_, err = c.Info(t.Context())
	require.NoError(t, err)
}

// Without WithCredentials the constructor fails, before any request.
func TestNewClientRequiresCredentials(t *testing.T) {
	t.Parallel()
	srv := omvtest.Start(t)
	_, err := omv.NewClient(srv.URL, omv.WithHTTPClient(srv.Client()))
	require.ErrorIs(t, err, omv.ErrInvalid)
	assert.Contains(t, err.Error(), "WithCredentials")
	assert.Empty(t, srv.Requests(), "nothing was sent")
}

// The default path /rpc.php is filled in; a path that ends in it is kept.
func TestDefaultPath(t *testing.T) {
	t.Parallel()
	srv := omvtest.Start(t)
	for _, base := range []string{srv.URL, srv.URL + "/", srv.URL + "/rpc.php"} {
		c, err := omv.NewClient(base, omv.WithHTTPClient(srv.Client()),
			omv.WithCredentials(omvtest.AdminUser, secret.New(omvtest.AdminPassword)))
		require.NoError(t, err)
		_, err = c.Info(t.Context())
		require.NoError(t, err, base)
		require.NoError(t, c.Close())
	}
	for _, r := range srv.Requests() {
		assert.Equal(t, "/rpc.php", r.Path)
		assert.Equal(t, http.MethodPost, r.Method)
	}
}

// WithTimeout bounds a call whose context has no deadline, retries
// included, and says which option to raise.
func TestWithTimeoutBoundsCall(t *testing.T) {
	t.Parallel()
	// Logins run under a deadline of their own, so that only the calls
	// under test meet WithTimeout (a loaded CI machine may be slow).
	login := func(c *omv.Client) {
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		require.NoError(t, c.Login(ctx))
	}
	srv, c := newPair(t, nil, omv.WithTimeout(200*time.Millisecond))
	login(c)
	srv.SetLatency(5 * time.Second)
	start := time.Now()
	_, err := c.Disks.List(context.Background())
	require.ErrorIs(t, err, omv.ErrUnavailable)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), "WithTimeout")
	assert.Less(t, time.Since(start), 4*time.Second)
	srv.SetLatency(0) // Close logs out

	// Retries count against the same bound: 20 retries from 100 ms
	// apart would take over 10 s.
	srv2, c2 := newPair(t, nil, omv.WithTimeout(200*time.Millisecond), omv.WithRetries(20), omv.WithRetryBackoff(100*time.Millisecond))
	login(c2)
	srv2.Inject(omvtest.Fault{RPC: "DiskMgmt.enumerateDevices", Status: 503, Message: "busy"})
	start = time.Now()
	_, err = c2.Disks.List(context.Background())
	require.ErrorIs(t, err, omv.ErrUnavailable)
	assert.Less(t, time.Since(start), 4*time.Second)
	assert.Less(t, srv2.MethodCalls()["DiskMgmt.enumerateDevices"], 10, "the bound cut the retries short")
}

// Every error the package returns matches its class sentinel.
func TestErrorClasses(t *testing.T) {
	t.Parallel()
	srv, c := newPair(t, nil)
	ctx := t.Context()

	_, err := c.Users.Get(ctx, "nobody")
	assert.ErrorIs(t, err, omv.ErrNotFound)
	_, err = c.SharedFolders.Ensure(ctx, omv.SharedFolderSpec{})
	assert.ErrorIs(t, err, omv.ErrInvalid)
	err = c.Call(ctx, "ShareMgmt", "delete", map[string]any{"uuid": "1a2b3c4d-0001-4000-8000-00000000000a", "recursive": false}, nil)
	assert.ErrorIs(t, err, omv.ErrConflict)

	srv.Inject(omvtest.Fault{RPC: "DiskMgmt.enumerateDevices", Status: 503, Message: "busy", Times: 4})
	_, err = c.Disks.List(ctx)
	assert.ErrorIs(t, err, omv.ErrUnavailable)

	bad, err := omv.NewClient(srv.URL, omv.WithHTTPClient(srv.Client()), omv.WithCredentials("admin", secret.New("wrong")))
	require.NoError(t, err)
	assert.ErrorIs(t, bad.Login(ctx), omv.ErrAuth)
	user, err := omv.NewClient(srv.URL, omv.WithHTTPClient(srv.Client()), omv.WithCredentials("proxmox", secret.New(omvtest.ProxmoxPassword)))
	require.NoError(t, err)
	_, err = user.Disks.List(ctx)
	assert.ErrorIs(t, err, omv.ErrPermission)
	require.NoError(t, user.Close())
	_, err = user.Disks.List(ctx)
	assert.ErrorIs(t, err, omv.ErrClosed)

	var e *omv.Error
	require.ErrorAs(t, err, &e)
	assert.True(t, strings.HasPrefix(err.Error(), "omv: "))
	assert.NotContains(t, err.Error(), "omv: omv:")

	cl, err := omv.NewClient("http://127.0.0.1:1", omv.WithCredentials("a", secret.New("b")), omv.WithRetries(0))
	require.NoError(t, err)
	_, err = cl.Disks.List(ctx)
	assert.ErrorIs(t, err, omv.ErrUnavailable)
}

func TestLoginPerVersion(t *testing.T) {
	t.Parallel()
	tests := []struct {
		v    omvtest.Version
		want omv.APIVersion
	}{{omvtest.V6, omv.API6}, {omvtest.V7, omv.API7}, {omvtest.V85, omv.API85}}
	for _, tt := range tests {
		t.Run(tt.want.String(), func(t *testing.T) {
			t.Parallel()
			srv, c := newPair(t, []omvtest.Option{omvtest.WithVersion(tt.v)})
			info, err := c.Info(t.Context())
			require.NoError(t, err)
			assert.Equal(t, tt.v.String(), info.Version)
			assert.Equal(t, tt.want, c.APIVersion())
			assert.Equal(t, "admin", c.Role())
			assert.False(t, info.ConfigDirty)
			assert.Equal(t, 24*time.Hour+500*time.Millisecond, info.Uptime, "float seconds as a Duration")
			// RAID goes to RaidMgmt on 6.x and MdMgmt later.
			arrays, err := c.RAID.List(t.Context())
			require.NoError(t, err)
			require.Len(t, arrays, 1)
			assert.Equal(t, "raid1", arrays[0].Level)
			calls := srv.MethodCalls()
			if tt.v == omvtest.V6 {
				assert.Equal(t, 1, calls["RaidMgmt.getList"])
			} else {
				assert.Equal(t, 1, calls["MdMgmt.getList"])
			}
			require.NoError(t, c.Close())
			require.NoError(t, c.Close(), "Close is idempotent")
			assert.Equal(t, 0, srv.Sessions(), "Close logs out")
			_, err = c.Info(t.Context())
			assert.Error(t, err)
		})
	}
}

func TestRAIDPluginMissing(t *testing.T) {
	t.Parallel()
	srv, c := newPair(t, []omvtest.Option{omvtest.WithVersion(omvtest.V7)})
	srv.SetRAIDPlugin(false)
	_, err := c.RAID.List(t.Context())
	require.ErrorIs(t, err, omv.ErrNotFound)
	var e *omv.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, 404, e.StatusCode)
}

func TestWrongPassword(t *testing.T) {
	t.Parallel()
	srv := omvtest.NewServer()
	t.Cleanup(srv.Close)
	c, err := omv.NewClient(srv.URL, omv.WithHTTPClient(srv.Client()),
		omv.WithCredentials("admin", secret.New("hunter2-wrong")))
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	err = c.Login(t.Context())
	require.ErrorIs(t, err, omv.ErrAuth)
	assert.NotErrorIs(t, err, omv.ErrInvalid)
	assert.NotContains(t, err.Error(), "hunter2")
	assert.Contains(t, err.Error(), "Incorrect username or password.")
	var e *omv.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, 400, e.StatusCode)
	assert.NotEmpty(t, e.Trace, "trace is kept")
}

func TestNonAdminGetsPermissionError(t *testing.T) {
	t.Parallel()
	srv := omvtest.NewServer()
	t.Cleanup(srv.Close)
	c, err := omv.NewClient(srv.URL, omv.WithHTTPClient(srv.Client()),
		omv.WithCredentials("proxmox", secret.New(omvtest.ProxmoxPassword)))
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	_, err = c.Info(t.Context()) // any role may read system information
	require.NoError(t, err)
	assert.Equal(t, "user", c.Role())
	_, err = c.Disks.List(t.Context())
	require.ErrorIs(t, err, omv.ErrPermission)
	assert.Contains(t, err.Error(), "Invalid context role.")
}

func TestSessionExpiryRelogin(t *testing.T) {
	t.Parallel()
	for _, v := range []omvtest.Version{omvtest.V6, omvtest.V7, omvtest.V85} {
		t.Run(v.String(), func(t *testing.T) {
			t.Parallel()
			srv, c := newPair(t, []omvtest.Option{omvtest.WithVersion(v)})
			_, err := c.Disks.List(t.Context())
			require.NoError(t, err)
			srv.Advance(6 * time.Minute) // past the 5 min auto-logout
			_, err = c.Disks.List(t.Context())
			require.NoError(t, err, "one automatic re-login")
			calls := srv.MethodCalls()
			assert.Equal(t, 2, calls["Session.login"])
			assert.Equal(t, 3, calls["DiskMgmt.enumerateDevices"])
			assert.Equal(t, 1, srv.LoginMails(), "login marker cookie kept across re-logins")

			// A destroyed session (no expiry message) is also recovered.
			srv.ExpireSessions()
			_, err = c.Disks.List(t.Context())
			require.NoError(t, err)
		})
	}
}

func TestPollingDoesNotKeepSessionAlive(t *testing.T) {
	t.Parallel()
	srv, c := newPair(t, nil)
	_, err := c.Disks.List(t.Context())
	require.NoError(t, err)
	for range 4 {
		srv.Advance(2 * time.Minute)
		_, err := c.Info(t.Context()) // updatelastaccess:false
		require.NoError(t, err)
	}
	assert.Equal(t, 2, srv.MethodCalls()["Session.login"], "passive polls let the session idle out")
	srv.ResetCalls()
	for range 4 {
		srv.Advance(2 * time.Minute)
		_, err := c.Disks.List(t.Context()) // refreshes the session
		require.NoError(t, err)
	}
	assert.Equal(t, 0, srv.MethodCalls()["Session.login"])
}

func TestLegacyErrorCodes(t *testing.T) {
	t.Parallel()
	srv, c := newPair(t, nil)
	srv.SetLegacyCodes(true)
	require.NoError(t, c.Login(t.Context()))
	srv.Advance(time.Hour)
	_, err := c.Disks.List(t.Context())
	require.NoError(t, err)
}

func TestCallEscapeHatchAndErrors(t *testing.T) {
	t.Parallel()
	_, c := newPair(t, nil)
	ctx := t.Context()
	var shells any
	err := c.Call(ctx, "system", "noop", nil, &shells) // service names are case-insensitive
	require.NoError(t, err)

	err = c.Call(ctx, "Nope", "x", nil, nil)
	require.ErrorIs(t, err, omv.ErrNotFound)
	assert.EqualError(t, err, "omv: Nope.x: RPC service 'Nope' not found. (http 404)")

	err = c.Call(ctx, "System", "getinformation", nil, nil) // method names are not
	require.ErrorIs(t, err, omv.ErrNotFound)

	err = c.Call(ctx, "ShareMgmt", "setPrivileges", map[string]any{"uuid": "not-a-uuid", "privileges": []any{}}, nil)
	require.ErrorIs(t, err, omv.ErrInvalid)
	var e *omv.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, 400, e.StatusCode)
	assert.Equal(t, 0, e.Code)
	assert.Equal(t, "uuid: The value 'not-a-uuid' is not an UUIDv4.", e.Message)

	err = c.Call(ctx, "UserMgmt", "getUser", map[string]any{}, nil)
	require.ErrorIs(t, err, omv.ErrInvalid)
	assert.Contains(t, err.Error(), ": Missing 'required' attribute 'name'.")
}

func TestSecretNeverLeaks(t *testing.T) {
	t.Parallel()
	const pw = "s3cr3t-Pa55"
	srv := omvtest.NewServer(omvtest.WithVersion(omvtest.V7)) // session id kept as a string
	t.Cleanup(srv.Close)
	srv.AddUser("ops", pw, true)
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c, err := omv.NewClient(srv.URL, omv.WithHTTPClient(srv.Client()), omv.WithLogger(logger),
		omv.WithCredentials("ops", secret.New(pw)))
	require.NoError(t, err)
	_, err = c.Info(t.Context())
	require.NoError(t, err)
	_, _, err = userOf(c.Users.Ensure(t.Context(), omv.UserSpec{Name: "eve", Password: secret.New(pw)}))
	require.NoError(t, err)
	// The session id is a bearer token too: not in %v/%+v/%#v of the client.
	var sid string
	for _, ck := range srv.SessionIDs() {
		sid = ck
	}
	require.NotEmpty(t, sid)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%t", "%e", "%E", "%f", "%g", "%c", "%U", "%o", "%b", "%10.3v"} {
		printed := fmt.Sprintf(verb, c)
		assert.NotContains(t, printed, sid, verb)
		assert.NotContains(t, strings.ToLower(printed), strings.ToLower(hex.EncodeToString([]byte(sid))), verb)
		assert.Contains(t, printed, "omv.Client(", verb)
	}
	printed := fmt.Sprintf("%v %+v %#v", c, c, c)
	assert.NotContains(t, printed, sid)
	require.NoError(t, c.Close())
	out := fmt.Sprintf("%v %+v %#v %#v %s", c, c, c, secret.New(pw), logs.String())
	assert.NotContains(t, out, pw)
	assert.Contains(t, logs.String(), "System.getInformation", "one debug line per call")

	bad, err := omv.NewClient(srv.URL, omv.WithHTTPClient(srv.Client()), omv.WithCredentials("ops", secret.New(pw+"x")))
	require.NoError(t, err)
	err = bad.Login(t.Context())
	require.Error(t, err)
	assert.NotContains(t, err.Error(), pw)
}

func TestGatewayTimeout(t *testing.T) {
	t.Parallel()
	srv, c := newPair(t, nil)
	require.NoError(t, c.Login(t.Context()))
	// Reads are retried through a 504.
	srv.Inject(omvtest.Fault{RPC: "DiskMgmt.enumerateDevices", Status: 504, Times: 1})
	_, err := c.Disks.List(t.Context())
	require.NoError(t, err)
	assert.Equal(t, 2, srv.MethodCalls()["DiskMgmt.enumerateDevices"])
	// Writes are not: the error says the outcome is unknown.
	srv.Inject(omvtest.Fault{RPC: "UserMgmt.setUser", Status: 504, Times: 1})
	_, _, err = userOf(c.Users.Ensure(t.Context(), omv.UserSpec{Name: "bob", Password: secret.New("x")}))
	require.ErrorIs(t, err, omv.ErrTimeout)
	assert.Equal(t, 1, srv.MethodCalls()["UserMgmt.setUser"])
}

func TestContextHonoured(t *testing.T) {
	t.Parallel()
	srv, c := newPair(t, nil)
	require.NoError(t, c.Login(t.Context()))
	srv.SetLatency(time.Second)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Disks.List(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 900*time.Millisecond)
}

func TestConcurrentCallsShareOneLogin(t *testing.T) {
	t.Parallel()
	srv, c := newPair(t, []omvtest.Option{omvtest.WithVersion(omvtest.V7)})
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.Disks.List(t.Context())
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	assert.Equal(t, 1, srv.MethodCalls()["Session.login"])
}

func TestErrorClassification(t *testing.T) {
	t.Parallel()
	tests := []struct {
		e    *omv.Error
		is   error
		isnt error
	}{
		{&omv.Error{StatusCode: 401, Message: "Session expired."}, omv.ErrAuth, omv.ErrNotFound},
		{&omv.Error{StatusCode: 403, Message: "Invalid context role."}, omv.ErrPermission, omv.ErrAuth},
		{&omv.Error{StatusCode: 500, Message: "The user 'x' does not exist."}, omv.ErrNotFound, omv.ErrInvalid},
		{&omv.Error{StatusCode: 500, Message: "Please apply the configuration changes first."}, omv.ErrDirty, omv.ErrNotFound},
		{&omv.Error{StatusCode: 500, Message: "The configuration object 'conf.system.sharedfolder' is referenced."}, omv.ErrConflict, omv.ErrNotFound},
		{&omv.Error{StatusCode: 504}, omv.ErrTimeout, omv.ErrAuth},
		{&omv.Error{StatusCode: 200, Code: 5001, Message: "Session timeout"}, omv.ErrAuth, omv.ErrTimeout},
	}
	for _, tt := range tests {
		err := fmt.Errorf("wrapped: %w", tt.e)
		assert.ErrorIs(t, err, tt.is, tt.e.Error())
		assert.False(t, errors.Is(err, tt.isnt), tt.e.Error())
		assert.Equal(t, strings.ToLower(tt.e.Error()[:4]), "omv:")
	}
}

func TestRealServerStatusWithoutJSON(t *testing.T) {
	t.Parallel()
	srv, c := newPair(t, nil)
	require.NoError(t, c.Login(t.Context()))
	srv.Inject(omvtest.Fault{RPC: "Config.revertChanges", Status: 504, Times: 1})
	err := c.Config.Revert(t.Context())
	require.ErrorIs(t, err, omv.ErrTimeout)
	assert.Contains(t, err.Error(), "gateway timeout")
	_ = http.StatusOK
}

func TestSecondFactorChallenge(t *testing.T) {
	t.Parallel()
	srv, c := newPair(t, []omvtest.Option{omvtest.WithVersion(omvtest.V85)})
	srv.RequireChallenge(omvtest.AdminUser)
	err := c.Login(t.Context())
	require.ErrorIs(t, err, omv.ErrAuth)
	assert.Contains(t, err.Error(), "challengeRequired")
	assert.Equal(t, 0, srv.Sessions())
}

func TestJobStopAndEnumerate(t *testing.T) {
	t.Parallel()
	_, c := newPair(t, nil)
	job, err := c.Config.StartApply(t.Context())
	require.NoError(t, err)
	var running map[string]any
	require.NoError(t, c.Call(t.Context(), "Exec", "enumerate", nil, &running))
	assert.Contains(t, running, job.Filename)
	require.NoError(t, job.Stop(t.Context()))
	err = job.Wait(t.Context())
	require.Error(t, err)
	assert.NotErrorIs(t, err, omv.ErrJobFailed, "a vanished job is not a job failure")
	assert.Contains(t, err.Error(), "Failed to open file")
}

// A call in flight when Close runs must not log in again afterwards and
// leave a session on the NAS.
func TestCloseDuringCallLeavesNoSession(t *testing.T) {
	t.Parallel()
	srv, c := newPair(t, nil)
	require.NoError(t, c.Login(t.Context()))
	srv.ExpireSessions()                                           // the in-flight call will get 401 and want to log in
	srv.SetMethodLatency("DiskMgmt.enumerateDevices", time.Second) // generous: CI may be slow to schedule
	errc := make(chan error, 1)
	go func() {
		_, err := c.Disks.List(context.Background())
		errc <- err
	}()
	time.Sleep(100 * time.Millisecond) // let the request reach the fake's latency
	require.NoError(t, c.Close())
	err := <-errc
	require.Error(t, err)
	assert.Contains(t, err.Error(), "closed")
	assert.Equal(t, 0, srv.Sessions())
	assert.Equal(t, 1, srv.MethodCalls()["Session.login"], "no login after Close")
}

// A reply over the 32 MiB cap says it was too large, instead of reading as
// cut-short JSON.
func TestReplyTooLarge(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		if strings.Contains(string(body), `"login"`) {
			_, _ = io.WriteString(w, `{"response":{"authenticated":true,"username":"admin","permissions":{"role":"admin"}},"error":null}`)
			return
		}
		_, _ = io.WriteString(w, `{"response":"`)
		chunk := strings.Repeat("x", 1<<20)
		for range 3 {
			_, _ = io.WriteString(w, chunk)
		}
		_, _ = io.WriteString(w, `","error":null}`)
	}))
	t.Cleanup(srv.Close)
	assert.EqualValues(t, 32<<20, omv.MaxReply)
	// The cap at 2 MiB for speed; the reply is 3 MiB.
	c, err := omv.NewClient(srv.URL, omv.WithHTTPClient(srv.Client()), omv.WithRetries(0), omv.WithMaxReply(2<<20),
		omv.WithCredentials(omvtest.AdminUser, secret.New(omvtest.AdminPassword)))
	require.NoError(t, err)
	var out string
	err = c.Call(t.Context(), "Smart", "getExtendedInformation", map[string]any{"devicefile": "/dev/sda"}, &out)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "too large")
	assert.Contains(t, err.Error(), "more than 2 MiB")
	assert.NotContains(t, err.Error(), "unexpected end of JSON input")
	assert.ErrorIs(t, err, omv.ErrTooLarge)
	assert.ErrorIs(t, err, omv.ErrInvalid)
	var e *omv.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, "Smart.getExtendedInformation", e.Op)
}

// Log holds the unfinished line of a job's output; a job that never ends
// its line is cut at 1 MiB with an error, not read until memory runs out.
func TestJobLogEndlessLine(t *testing.T) {
	t.Parallel()
	var pos atomic.Int64
	chunk := strings.Repeat("x", 256<<10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		if strings.Contains(string(body), `"login"`) {
			_, _ = io.WriteString(w, `{"response":{"authenticated":true,"username":"admin","permissions":{"role":"admin"}},"error":null}`)
			return
		}
		p := pos.Add(int64(len(chunk)))
		_, _ = fmt.Fprintf(w, `{"response":{"filename":"/tmp/bgstatusX","pos":%d,"output":"%s","pendingOutput":true,"running":true},"error":null}`, p, chunk)
	}))
	t.Cleanup(srv.Close)
	c, err := omv.NewClient(srv.URL, omv.WithHTTPClient(srv.Client()), omv.WithRetries(0),
		omv.WithCredentials(omvtest.AdminUser, secret.New(omvtest.AdminPassword)))
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	var last error
	for line, err := range c.Job("/tmp/bgstatusX").Log(ctx) {
		assert.Empty(t, line)
		last = err
	}
	require.ErrorIs(t, last, omv.ErrInvalid)
	assert.Contains(t, last.Error(), "longer than 1048576 bytes")
	assert.LessOrEqual(t, pos.Load(), int64(2<<20), "stops soon after the cap")
}
