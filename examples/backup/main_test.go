package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/proxmox/proxmoxtest"
)

func TestDryRun(t *testing.T) {
	t.Parallel()
	srv := proxmoxtest.Start(t)
	env := map[string]string{"PROXMOX_TOKEN_ID": "root@pam!sdk", "PROXMOX_TOKEN_SECRET": proxmoxtest.TokenSecret}
	var out strings.Builder
	err := run(t.Context(), &out, []string{"-proxmox", srv.URL, "-proxmox-fingerprint", srv.Fingerprint(), "-tz", "UTC",
		"-keep", "keep-daily=7", "-two-step", "100"}, func(k string) string { return env[k] })
	require.NoError(t, err, out.String())
	assert.Contains(t, out.String(), "backup plan ")
	assert.Contains(t, out.String(), "100    nas            proxmox1  two-step  local → backups  keep-daily=7")
	assert.Contains(t, out.String(), "dry run: nothing changed (run again with -yes)\n")
	assert.Empty(t, srv.Backups("local"), "a dry run dumps nothing")
}

func TestUsage(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"-keep", "keep-often=1"}, {"-guests", "abc"}, {"-tz", "Mars/Olympus"}, {"-nope"}} {
		err := run(t.Context(), &strings.Builder{}, args, func(string) string { return "" })
		assert.ErrorIs(t, err, errUsage, "%v", args)
	}
	err := run(t.Context(), &strings.Builder{}, nil, func(string) string { return "" })
	assert.ErrorContains(t, err, "PROXMOX_TOKEN_ID")
}
