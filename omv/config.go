package omv

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"time"
)

// ConfigService applies and reverts OMV's pending configuration changes.
type ConfigService struct{ c *Client }

// SystemInfo is the part of System.getInformation a client acts on.
type SystemInfo struct {
	Hostname     string
	Version      string // e.g. "6.3.13-1 (Shaitan)"
	Kernel       string
	ConfigDirty  bool     // pending changes need Config.applyChanges
	DirtyModules []string // sorted module names, e.g. ["avahi", "samba"]
	RebootNeeded bool
	MemTotal     int64         // bytes
	MemUsed      int64         // bytes
	Uptime       time.Duration // since boot (OMV reports float seconds from /proc/uptime)
}

type flexInt int64

func (f *flexInt) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	switch x := v.(type) {
	case float64:
		*f = flexInt(x)
	case string:
		n, err := strconv.ParseFloat(x, 64)
		if err != nil && x != "" {
			return fmt.Errorf("not a number: %q", x)
		}
		*f = flexInt(n)
	case nil:
		*f = 0
	default:
		return fmt.Errorf("not a number: %s", b)
	}
	return nil
}

// Info reads system information; the call does not keep the session alive.
//
// OMV API: System.getInformation
func (c *Client) Info(ctx context.Context) (SystemInfo, error) {
	var raw struct {
		Hostname     string          `json:"hostname"`
		Version      string          `json:"version"`
		Kernel       string          `json:"kernel"`
		ConfigDirty  bool            `json:"configDirty"`
		DirtyModules json.RawMessage `json:"dirtyModules"`
		Reboot       bool            `json:"rebootRequired"`
		MemTotal     flexInt         `json:"memTotal"`
		MemUsed      flexInt         `json:"memUsed"`
		Uptime       float64         `json:"uptime"`
	}
	if err := c.call(ctx, callOpts{passive: true, read: true}, "System", "getInformation", nil, &raw); err != nil {
		return SystemInfo{}, wrap("system information", err)
	}
	si := SystemInfo{Hostname: raw.Hostname, Version: raw.Version, Kernel: raw.Kernel, ConfigDirty: raw.ConfigDirty,
		RebootNeeded: raw.Reboot, MemTotal: int64(raw.MemTotal), MemUsed: int64(raw.MemUsed),
		Uptime: time.Duration(raw.Uptime * float64(time.Second)).Round(time.Millisecond)}
	// dirtyModules is an object {name: description}; an empty PHP array
	// arrives as [].
	var m map[string]any
	if json.Unmarshal(raw.DirtyModules, &m) == nil {
		for k := range m {
			si.DirtyModules = append(si.DirtyModules, k)
		}
		sort.Strings(si.DirtyModules)
	}
	return si, nil
}

// IsDirty reports whether a configuration change is pending: for any
// module, or, when modules are named, for one of them (read from
// System.getInformation, which every version reports the same way).
//
// OMV API: Config.isDirty; System.getInformation when modules are named
func (s *ConfigService) IsDirty(ctx context.Context, modules ...string) (bool, error) {
	if len(modules) > 0 {
		info, err := s.c.Info(ctx)
		if err != nil {
			return false, err
		}
		for _, m := range modules {
			if slices.Contains(info.DirtyModules, m) {
				return true, nil
			}
		}
		return false, nil
	}
	var dirty bool
	if err := s.c.call(ctx, callOpts{passive: true, read: true}, "Config", "isDirty", nil, &dirty); err != nil {
		return false, wrap("is dirty", err)
	}
	return dirty, nil
}

// Apply deploys pending changes of the named modules (none = every dirty
// module) and waits for OMV to finish. It uses the background variant so
// that a long deploy is not cut off by nginx's 60 s timeout.
//
// OMV API: Config.applyChangesBg {modules, force: false} + Exec.getOutput
func (s *ConfigService) Apply(ctx context.Context, modules ...string) error {
	job, err := s.StartApply(ctx, modules...)
	if err != nil {
		return err
	}
	return job.Wait(ctx)
}

// StartApply starts deploying pending changes of the named modules (none =
// every dirty module) and returns the job; Apply is StartApply then Wait.
//
// OMV API: Config.applyChangesBg {modules, force: false}
func (s *ConfigService) StartApply(ctx context.Context, modules ...string) (*Job, error) {
	if modules == nil {
		modules = []string{}
	}
	var file string
	if err := s.c.call(ctx, callOpts{}, "Config", "applyChangesBg",
		map[string]any{"modules": modules, "force": false}, &file); err != nil {
		return nil, wrap("apply changes", err)
	}
	return s.c.newJob("apply changes", file), nil
}

// Revert discards all pending changes (restores the last applied
// configuration).
//
// OMV API: Config.revertChanges {filename: ""}
func (s *ConfigService) Revert(ctx context.Context) error {
	if err := s.c.call(ctx, callOpts{}, "Config", "revertChanges", map[string]any{"filename": ""}, nil); err != nil {
		return wrap("revert changes", err)
	}
	return nil
}
