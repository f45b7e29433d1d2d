package main

import (
	"context"
	"log/slog"

	"github.com/thehomelab/homelab/examples/internal/config"
	"github.com/thehomelab/homelab/npm"
	"github.com/thehomelab/homelab/omv"
	"github.com/thehomelab/homelab/proxmox"
	"github.com/thehomelab/homelab/routeros"
	"github.com/thehomelab/homelab/ups"
)

// The connections to the lab's devices from their config sections, shared
// by status (one set per run) and watch (one per component: the guard
// never shares one with a check that may be slow). Each fails with
// errNoSecret when the device's secret was found nowhere.

func dialRouter(ctx context.Context, r *config.Router, log *slog.Logger) (*routeros.Client, error) {
	if r.Password.IsZero() {
		return nil, errNoSecret("the router")
	}
	user := r.User
	if user == "" {
		user = "admin"
	}
	opts := []routeros.Option{routeros.WithCredentials(user, r.Password), routeros.WithLogger(log)}
	if r.TLS {
		opts = append(opts, routeros.WithTLS())
	}
	if r.Fingerprint.Value != "" {
		opts = append(opts, routeros.WithFingerprint(r.Fingerprint.Value))
	}
	return routeros.Dial(ctx, r.Address.Value, opts...)
}

func newProxmox(p *config.Proxmox, log *slog.Logger) (*proxmox.Client, error) {
	if p.TokenID == "" || p.Token.IsZero() {
		return nil, errNoSecret("Proxmox (token_id and token)")
	}
	opts := []proxmox.Option{proxmox.WithAPIToken(p.TokenID, p.Token), proxmox.WithLogger(log)}
	if p.Fingerprint.Value != "" {
		opts = append(opts, proxmox.WithFingerprint(p.Fingerprint.Value))
	}
	return proxmox.NewClient(p.URL.Value, opts...)
}

func dialUPS(ctx context.Context, n *config.NUT, log *slog.Logger) (*ups.Client, error) {
	opts := []ups.Option{ups.WithLogger(log)}
	if !n.Password.IsZero() && n.User != "" {
		opts = append(opts, ups.WithCredentials(n.User, n.Password))
	}
	if n.StartTLS || n.Fingerprint.Value != "" {
		opts = append(opts, ups.WithStartTLS())
	}
	if n.Fingerprint.Value != "" {
		opts = append(opts, ups.WithFingerprint(n.Fingerprint.Value))
	}
	return ups.Dial(ctx, n.Address.Value, opts...)
}

func newOMV(n *config.NAS, log *slog.Logger) (*omv.Client, error) {
	if n.Password.IsZero() {
		return nil, errNoSecret("the NAS")
	}
	user := n.User
	if user == "" {
		user = "admin"
	}
	opts := []omv.Option{omv.WithCredentials(user, n.Password), omv.WithLogger(log)}
	if n.Fingerprint.Value != "" {
		opts = append(opts, omv.WithFingerprint(n.Fingerprint.Value))
	}
	return omv.NewClient(n.URL.Value, opts...)
}

func newNPM(n *config.NPM, log *slog.Logger) (*npm.Client, error) {
	if n.Password.IsZero() || n.User == "" {
		return nil, errNoSecret("Nginx Proxy Manager (user and password)")
	}
	opts := []npm.Option{npm.WithCredentials(n.User, n.Password), npm.WithLogger(log)}
	if n.Fingerprint.Value != "" {
		opts = append(opts, npm.WithFingerprint(n.Fingerprint.Value))
	}
	return npm.NewClient(n.URL.Value, opts...)
}
