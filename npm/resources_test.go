package npm_test

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/npm"
	"github.com/thehomelab/homelab/npm/npmtest"
	"github.com/thehomelab/homelab/secret"
)

func TestAccessLists(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := t.Context()
	ls, err := f.c.AccessLists.List(ctx)
	require.NoError(t, err)
	require.Len(t, ls, 1)
	assert.Equal(t, "lan-only", ls[0].Name)
	assert.Equal(t, 7, ls[0].ProxyHostCount)
	require.Len(t, ls[0].Clients, 3)
	assert.Equal(t, netip.MustParsePrefix("192.168.1.0/24"), ls[0].Clients[0].Prefix)
	assert.False(t, ls[0].Clients[2].Prefix.IsValid(), "all")
	assert.False(t, ls[0].Clients[2].Allow)

	a, err := f.c.AccessLists.Create(ctx, npm.AccessListSpec{
		Name: "family", SatisfyAny: true, PassAuth: false,
		Items:   []npm.AccessListItem{{Username: "paula", Password: secret.New("pa55word")}},
		Clients: []npm.AccessListClient{{Prefix: netip.MustParsePrefix("192.168.1.20/32"), Allow: true}},
	})
	require.NoError(t, err)
	assert.True(t, a.SatisfyAny)
	assert.False(t, a.PassAuth)
	require.Len(t, a.Items, 1)
	assert.Equal(t, "p*******", a.Items[0].Hint)
	assert.True(t, a.Items[0].Password.IsZero(), "never returned")

	// An item with no password keeps the stored one.
	a2, err := f.c.AccessLists.Update(ctx, a.ID, npm.AccessListSpec{Name: "family", SatisfyAny: true,
		Items: []npm.AccessListItem{{Username: "paula"}, {Username: "diego", Password: secret.New("d1eg0pass")}}})
	require.NoError(t, err)
	require.Len(t, a2.Items, 2)
	assert.Equal(t, "p*******", a2.Items[0].Hint)
	assert.Empty(t, a2.Clients, "clients replaced")

	// Deleting detaches hosts.
	h, err := f.c.ProxyHosts.Create(ctx, npm.ProxyHostSpec{Domains: []string{"kids.thehomelab.site"}, ForwardHost: "k", ForwardPort: 80, AccessListID: a.ID})
	require.NoError(t, err)
	require.NoError(t, f.c.AccessLists.Delete(ctx, a.ID))
	h, err = f.c.ProxyHosts.Get(ctx, h.ID)
	require.NoError(t, err)
	assert.Zero(t, h.AccessListID)
}

func TestRedirectionDeadStreams(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := t.Context()

	rs, err := f.c.RedirectionHosts.List(ctx, npm.ListOptions{})
	require.NoError(t, err)
	require.Len(t, rs, 1)
	assert.Equal(t, "heimdall.thehomelab.site", rs[0].ForwardDomainName)
	r, err := f.c.RedirectionHosts.Create(ctx, npm.RedirectionHostSpec{Domains: []string{"home.thehomelab.site"}, ForwardDomainName: "heimdall.thehomelab.site", PreservePath: true})
	require.NoError(t, err)
	assert.Equal(t, "auto", r.ForwardScheme)
	assert.Equal(t, 301, r.ForwardHTTPCode)
	spec := r.RedirectionHostSpec
	spec.ForwardHTTPCode = 302
	r, err = f.c.RedirectionHosts.Update(ctx, r.ID, spec)
	require.NoError(t, err)
	assert.Equal(t, 302, r.ForwardHTTPCode)
	require.NoError(t, f.c.RedirectionHosts.Disable(ctx, r.ID))
	require.NoError(t, f.c.RedirectionHosts.Enable(ctx, r.ID))
	require.ErrorIs(t, f.c.RedirectionHosts.Enable(ctx, r.ID), npm.ErrConflict)
	require.NoError(t, f.c.RedirectionHosts.Delete(ctx, r.ID))

	// A 404 host may not take a proxy host's name.
	_, err = f.c.DeadHosts.Create(ctx, npm.DeadHostSpec{Domains: []string{"pihole.thehomelab.site"}})
	require.ErrorIs(t, err, npm.ErrConflict)
	d, err := f.c.DeadHosts.Create(ctx, npm.DeadHostSpec{Domains: []string{"old.thehomelab.site"}, HostSSL: npm.HostSSL{CertificateID: npmtest.WildcardCertificateID, SSLForced: true, HTTP2Support: true}})
	require.NoError(t, err)
	assert.True(t, d.HTTP2Support)
	d, err = f.c.DeadHosts.Update(ctx, d.ID, npm.DeadHostSpec{Domains: []string{"old.thehomelab.site"}})
	require.NoError(t, err)
	assert.False(t, d.SSLForced, "cleared without a certificate")
	ds, err := f.c.DeadHosts.List(ctx, npm.ListOptions{})
	require.NoError(t, err)
	assert.Len(t, ds, 1)
	require.NoError(t, f.c.DeadHosts.Disable(ctx, d.ID))
	require.NoError(t, f.c.DeadHosts.Delete(ctx, d.ID))

	ss, err := f.c.Streams.List(ctx)
	require.NoError(t, err)
	require.Len(t, ss, 1)
	assert.Equal(t, 51413, ss[0].IncomingPort)
	assert.True(t, ss[0].TCP && ss[0].UDP)
	s, err := f.c.Streams.Create(ctx, npm.StreamSpec{IncomingPort: 2222, ForwardingHost: "192.168.1.4", ForwardingPort: 22, TCP: true})
	require.NoError(t, err)
	s2, err := f.c.Streams.Get(ctx, s.ID)
	require.NoError(t, err)
	assert.Equal(t, "192.168.1.4", s2.ForwardingHost)
	require.NoError(t, f.c.Streams.Disable(ctx, s.ID))
	err = f.c.Streams.Disable(ctx, s.ID)
	require.ErrorIs(t, err, npm.ErrConflict)
	assert.Contains(t, err.Error(), "Stream is already disabled")
	_, err = f.c.Streams.Update(ctx, s.ID, npm.StreamSpec{IncomingPort: 2223, ForwardingHost: "192.168.1.4", ForwardingPort: 22, TCP: true})
	require.NoError(t, err)
	require.NoError(t, f.c.Streams.Delete(ctx, s.ID))
}

// Redirection hosts, 404 hosts and streams report a config nginx rejected
// on create (read back: the create answer has no verdict), update and
// enable, although every HTTP call succeeded.
func TestOtherHostsReportNginxFailure(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := t.Context()
	f.srv.FailNginx(func(c npmtest.NginxConfig) error {
		if strings.Contains(c.AdvancedConfig, "bogus") || c.ForwardPort == 9999 {
			return errors.New(`nginx: [emerg] bind() to 0.0.0.0:2222 failed`)
		}
		return nil
	})
	type ops struct {
		create  func() (int, error)
		update  func(id int, bad bool) error
		disable func(id int) error
		enable  func(id int) error
	}
	for name, o := range map[string]ops{
		"redirection host": {
			create: func() (int, error) {
				h, err := f.c.RedirectionHosts.Create(ctx, npm.RedirectionHostSpec{Domains: []string{"go.thehomelab.site"}, ForwardDomainName: "heimdall.thehomelab.site", AdvancedConfig: "bogus;"})
				return int(h.ID), err
			},
			update: func(id int, bad bool) error {
				spec := npm.RedirectionHostSpec{Domains: []string{"go.thehomelab.site"}, ForwardDomainName: "heimdall.thehomelab.site"}
				if bad {
					spec.AdvancedConfig = "bogus;"
				}
				_, err := f.c.RedirectionHosts.Update(ctx, npm.RedirectionHostID(id), spec)
				return err
			},
			disable: func(id int) error { return f.c.RedirectionHosts.Disable(ctx, npm.RedirectionHostID(id)) },
			enable:  func(id int) error { return f.c.RedirectionHosts.Enable(ctx, npm.RedirectionHostID(id)) },
		},
		"404 host": {
			create: func() (int, error) {
				h, err := f.c.DeadHosts.Create(ctx, npm.DeadHostSpec{Domains: []string{"gone.thehomelab.site"}, AdvancedConfig: "bogus;"})
				return int(h.ID), err
			},
			update: func(id int, bad bool) error {
				spec := npm.DeadHostSpec{Domains: []string{"gone.thehomelab.site"}}
				if bad {
					spec.AdvancedConfig = "bogus;"
				}
				_, err := f.c.DeadHosts.Update(ctx, npm.DeadHostID(id), spec)
				return err
			},
			disable: func(id int) error { return f.c.DeadHosts.Disable(ctx, npm.DeadHostID(id)) },
			enable:  func(id int) error { return f.c.DeadHosts.Enable(ctx, npm.DeadHostID(id)) },
		},
		"stream": {
			create: func() (int, error) {
				s, err := f.c.Streams.Create(ctx, npm.StreamSpec{IncomingPort: 2222, ForwardingHost: "nas", ForwardingPort: 9999, TCP: true})
				return int(s.ID), err
			},
			update: func(id int, bad bool) error {
				spec := npm.StreamSpec{IncomingPort: 2222, ForwardingHost: "nas", ForwardingPort: 22, TCP: true}
				if bad {
					spec.ForwardingPort = 9999
				}
				_, err := f.c.Streams.Update(ctx, npm.StreamID(id), spec)
				return err
			},
			disable: func(id int) error { return f.c.Streams.Disable(ctx, npm.StreamID(id)) },
			enable:  func(id int) error { return f.c.Streams.Enable(ctx, npm.StreamID(id)) },
		},
	} {
		id, err := o.create()
		require.ErrorIs(t, err, npm.ErrNginx, name)
		var ne *npm.NginxError
		require.ErrorAs(t, err, &ne, name)
		assert.Contains(t, ne.Message, "bind()", name)
		assert.NotZero(t, id, "%s: the row exists", name)
		assert.Equal(t, id, ne.HostID, name)
		require.NoError(t, o.update(id, false), name)
		require.ErrorIs(t, o.update(id, true), npm.ErrNginx, name)
		require.NoError(t, o.disable(id), name)
		require.ErrorIs(t, o.enable(id), npm.ErrNginx, name)
	}
}
