package clientcfg

import (
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/secret"
)

type opt func(*Config) error

func TestApplySkipsNilOptions(t *testing.T) {
	t.Parallel()
	c := New("pkg", time.Second, time.Minute)
	err := Apply(&c, []opt{nil, func(c *Config) error { return c.SetTimeout(time.Second) }, nil})
	require.NoError(t, err)
	assert.Equal(t, time.Second, c.Timeout)
	assert.Equal(t, DefaultTimeout, New("pkg", 0, 0).Timeout)
}

func TestCredentials(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		user, pw string
		ok       bool
	}{
		{"root@pam", "pw", true},
		{"", "pw", false},
		{"  ", "pw", false},
		{"a\nb", "pw", false},
		{"root", "", false},
		{"root", "p\nw", false},
	} {
		c := New("pkg", 0, 0)
		err := c.SetCredentials(tc.user, secret.New(tc.pw))
		if tc.ok {
			assert.NoError(t, err)
			assert.NoError(t, c.RequireCredentials())
			continue
		}
		require.Error(t, err, "%q", tc.user)
		assert.True(t, strings.HasPrefix(err.Error(), "pkg: "), err.Error())
		if tc.pw != "" {
			assert.NotContains(t, err.Error(), tc.pw)
		}
	}
	c := New("pkg", 0, 0)
	assert.ErrorContains(t, c.RequireCredentials(), "WithCredentials")
}

func TestParseURL(t *testing.T) {
	t.Parallel()
	ports := map[string]string{"https": "8006"}
	c := New("proxmox", 0, 0)
	u, err := c.ParseURL("https://pve.lan", ports, "/api2/json")
	require.NoError(t, err)
	assert.Equal(t, "https://pve.lan:8006/api2/json", u.String())
	u, err = c.ParseURL("https://pve.lan:443/custom/", ports, "/api2/json")
	require.NoError(t, err)
	assert.Equal(t, "https://pve.lan:443/custom", u.String())

	for _, bad := range []string{"pve.lan", "ftp://x", "https://", "::"} {
		_, err := c.ParseURL(bad, ports, "/")
		require.Error(t, err)
		assert.Contains(t, err.Error(), fmt.Sprintf("%q", bad), "the error shows what was typed")
	}
	_, err = c.ParseURL("https://root:hunter2@pve.lan", ports, "/")
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "hunter2")

	pinned := New("omv", 0, 0)
	require.NoError(t, pinned.SetRootCAs(x509.NewCertPool()))
	_, err = pinned.ParseURL("http://nas.lan", nil, "/rpc.php")
	require.Error(t, err, "a pin over plain http sends credentials in clear")
	assert.Contains(t, err.Error(), "https://")
}

func TestOptionValidation(t *testing.T) {
	t.Parallel()
	c := New("ups", 0, 0)
	assert.Error(t, c.SetTimeout(0))
	assert.Error(t, c.SetRetries(-1))
	assert.Error(t, c.SetPollInterval(2*time.Second, time.Second))
	assert.Error(t, c.SetFingerprint("nope"))
	assert.Error(t, c.SetRootCAs(nil))
	assert.Error(t, c.SetHTTPClient(nil))
	assert.Error(t, c.SetTOTP(nil))
	assert.NoError(t, c.SetLogger(nil), "nil logger means discard")
	assert.NotNil(t, c.Logger)
}

func TestLimitedReadAll(t *testing.T) {
	t.Parallel()
	b, err := LimitedReadAll(strings.NewReader("abc"), 3)
	require.NoError(t, err)
	assert.Equal(t, "abc", string(b))
	_, err = LimitedReadAll(strings.NewReader("abcd"), 3)
	assert.True(t, errors.Is(err, ErrTooLarge))
	assert.Contains(t, err.Error(), "3 bytes")
}
