package backup

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/thehomelab/homelab/proxmox"
)

// Config is what a night should do. Only Storage is required; the zero
// value of every other field means the default its comment gives.
type Config struct {
	// Client reads and drives the cluster. Required by Plan and
	// VerifyRestore.
	Client *proxmox.Client
	// Storage is the backup storage every archive ends up on: the CIFS
	// share the NAS serves, e.g. "backups".
	Storage string
	// LocalStorage is where two-step guests are dumped first; default
	// "local".
	LocalStorage string
	// Guests to back up; empty means every guest that is not a template.
	Guests []int
	// Exclude leaves these guests out.
	Exclude []int
	// TwoStep forces the two-step method for these guests, besides the ones
	// Plan detects (the guest that serves Storage).
	TwoStep []int
	// Mode is vzdump's mode: "snapshot" (default), "suspend" or "stop".
	Mode string
	// Compress is vzdump's compressor; default "zstd".
	Compress string
	// NotesTemplate is vzdump's notes-template; default "{{guestname}}".
	NotesTemplate string
	// Protected marks tonight's archives protected.
	Protected bool
	// Keep is the retention applied after the backup; nil means the
	// storage's own prune-backups (and keep-all if it has none, as on the
	// node).
	Keep *Keep
	// Location is the nodes' time zone, in which archive names and
	// retention periods are read; default time.Local.
	Location *time.Location
	// SpaceFactor is how much larger than the newest archive the free space
	// on LocalStorage must be for a two-step dump; default 1.2.
	SpaceFactor float64
	// Runners run commands on the nodes, by node name: the two-step copy
	// happens on the node because the API cannot copy between storages.
	// Apply looks a node's runner up when it gets to that node's two-step
	// guest, so runners may be added to the map after Plan (once the plan
	// says which nodes need one).
	Runners map[string]Runner
	// VerifyDirect also tests each direct guest's new .zst archive on the
	// share with zstd -t, on the node through Runners; a corrupt archive
	// fails the guest and spares the older archives from retention.
	VerifyDirect bool
	// ShareTimeout bounds the wait, after a two-step dump, for the guest
	// and its share to be back; default 10 minutes.
	ShareTimeout time.Duration
	// PollInterval is how often that wait looks; default 2 seconds.
	PollInterval time.Duration
	// Offsite copies run after the guests, with Rclone.
	Offsite []OffsiteSpec
	Rclone  *Rclone
	// Now is the clock Plan names tonight's archives by; default
	// time.Now.
	Now func() time.Time
	// OnEvent, if set, receives progress events. Calls never overlap, but
	// copy and off-site progress may arrive from their own goroutines; it
	// must not block for long.
	OnEvent func(Event)
}

func (c Config) withDefaults() Config {
	if c.LocalStorage == "" {
		c.LocalStorage = "local"
	}
	if c.Mode == "" {
		c.Mode = "snapshot"
	}
	if c.Compress == "" {
		c.Compress = "zstd"
	}
	if c.NotesTemplate == "" {
		c.NotesTemplate = "{{guestname}}"
	}
	if c.Location == nil {
		c.Location = time.Local
	}
	if c.SpaceFactor == 0 {
		c.SpaceFactor = 1.2
	}
	if c.PollInterval <= 0 {
		c.PollInterval = 2 * time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.ShareTimeout == 0 {
		c.ShareTimeout = 10 * time.Minute
	}
	return c
}

func (c Config) validate() error {
	invalid := func(format string, args ...any) error {
		return &Error{Op: "plan", Message: fmt.Sprintf(format, args...), Err: ErrInvalid}
	}
	switch {
	case c.Storage == "":
		return invalid("no target storage")
	case c.Storage == c.LocalStorage:
		return invalid("local storage %s is the target storage", c.Storage)
	case !slices.Contains([]string{"snapshot", "suspend", "stop"}, c.Mode):
		return invalid("unknown vzdump mode %q", c.Mode)
	case !slices.Contains([]string{"0", "1", "gzip", "lzo", "zstd"}, c.Compress):
		return invalid("unknown compressor %q", c.Compress)
	case c.SpaceFactor < 1:
		return invalid("space factor %.2f is below 1", c.SpaceFactor)
	case len(c.NotesTemplate) > 1024:
		return invalid("notes template longer than 1024 characters")
	case strings.ContainsAny(c.NotesTemplate, "\r\n"):
		return invalid("notes template contains a line feed (write it as \\n)")
	}
	if c.Keep != nil {
		if err := c.Keep.Validate(); err != nil {
			return err
		}
	}
	return nil
}

func (c Config) pollInterval() time.Duration { return c.withDefaults().PollInterval }
