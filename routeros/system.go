package routeros

import (
	"context"
	"fmt"
	"github.com/thehomelab/homelab/secret"
	"strconv"
	"strings"
	"time"
)

func kv(k, v string) string { return "=" + k + "=" + v }

// SystemService reads /system menus and saves exports and backups.
type SystemService struct{ c *Client }

// Resource is /system/resource.
type Resource struct {
	Uptime          time.Duration
	Version         string    // e.g. "7.20.5 (stable)"
	BuildTime       time.Time // router wall clock
	Board           string    // e.g. "hAP ax^2"
	Architecture    string
	CPU             string
	CPUCount        int
	CPUFrequencyMHz int
	CPULoad         int // percent
	FreeMemory      uint64
	TotalMemory     uint64
	FreeHDDSpace    uint64
	TotalHDDSpace   uint64
}

// Resource reads uptime, version, board, CPU load and memory.
//
// RouterOS API: /system/resource/print
func (s *SystemService) Resource(ctx context.Context) (Resource, error) {
	const op = "read system resource"
	recs, err := s.c.print(ctx, op, "/system/resource")
	if err != nil {
		return Resource{}, err
	}
	if len(recs) == 0 {
		return Resource{}, notFound(op, "no record")
	}
	r := recs[0]
	up, err := parseDuration(r["uptime"])
	if err != nil {
		return Resource{}, &Error{Op: op, Code: -1, Err: err, kinds: []error{ErrInvalid}}
	}
	u := func(k string) uint64 { n, _ := strconv.ParseUint(r[k], 10, 64); return n }
	return Resource{
		Uptime: up, Version: r["version"], BuildTime: r.Time("build-time"), Board: r["board-name"],
		Architecture: r["architecture-name"], CPU: r["cpu"], CPUCount: int(r.Int("cpu-count")),
		CPUFrequencyMHz: int(r.Int("cpu-frequency")), CPULoad: int(r.Int("cpu-load")),
		FreeMemory: u("free-memory"), TotalMemory: u("total-memory"),
		FreeHDDSpace: u("free-hdd-space"), TotalHDDSpace: u("total-hdd-space"),
	}, nil
}

// Identity returns the router's name.
//
// RouterOS API: /system/identity/print
func (s *SystemService) Identity(ctx context.Context) (string, error) {
	recs, err := s.c.print(ctx, "read identity", "/system/identity")
	if err != nil {
		return "", err
	}
	if len(recs) == 0 {
		return "", notFound("read identity", "no record")
	}
	return recs[0]["name"], nil
}

// SetIdentity renames the router.
//
// RouterOS API: /system/identity/set
func (s *SystemService) SetIdentity(ctx context.Context, name string) error {
	_, err := s.c.one(ctx, "set identity", cmd{"/system/identity/set", kv("name", name)})
	return err
}

// Clock is /system/clock.
type Clock struct {
	Time     time.Time // the router's wall clock, in its GMT offset
	TimeZone string
}

// Clock reads the router's date, time and time zone. Dates print as
// "2026-11-26" from RouterOS 7.10 and as "nov/26/2026" before.
//
// RouterOS API: /system/clock/print
func (s *SystemService) Clock(ctx context.Context) (Clock, error) {
	const op = "read clock"
	recs, err := s.c.print(ctx, op, "/system/clock")
	if err != nil {
		return Clock{}, err
	}
	if len(recs) == 0 {
		return Clock{}, notFound(op, "no record")
	}
	t, err := parseClock(recs[0]["date"], recs[0]["time"], recs[0]["gmt-offset"])
	if err != nil {
		return Clock{}, &Error{Op: op, Code: -1, Err: err, kinds: []error{ErrInvalid}}
	}
	return Clock{Time: t, TimeZone: recs[0]["time-zone-name"]}, nil
}

// parseClock combines /system/clock's date ("2026-11-26" or "nov/26/2026"),
// time ("14:03:07") and gmt-offset ("+01:00", may be empty).
func parseClock(date, clock, offset string) (time.Time, error) {
	loc := time.UTC
	if offset != "" {
		off, err := time.Parse("-07:00", offset)
		if err != nil {
			return time.Time{}, fmt.Errorf("routeros: invalid gmt-offset %q", truncate(offset, 16))
		}
		_, secs := off.Zone()
		loc = time.FixedZone(offset, secs)
	}
	for _, layout := range []string{"2006-01-02 15:04:05", "Jan/02/2006 15:04:05"} {
		d := date
		if strings.Contains(layout, "Jan") && len(d) > 0 {
			d = strings.ToUpper(d[:1]) + d[1:]
		}
		if t, err := time.ParseInLocation(layout, d+" "+clock, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("routeros: invalid date/time %q %q", truncate(date, 16), truncate(clock, 16))
}

// ExportOptions tune Export. The zero value is fine.
type ExportOptions struct {
	// File is the name of the .rsc written on the router (default
	// "homelab-export"); it is removed after reading unless Keep.
	File string
	Keep bool
	// ChunkSize is the /file/read chunk size (default and maximum 32768).
	ChunkSize int
}

// Export returns the configuration as RouterOS script text. /export over
// the API returns no text, so this writes it to a file and reads the file
// back in chunks.
//
// RouterOS API: /export =file=, /file/read, /file/remove
func (s *SystemService) Export(ctx context.Context, o ExportOptions) (string, error) {
	const op = "export configuration"
	name := o.File
	if name == "" {
		name = "homelab-export"
	}
	name = strings.TrimSuffix(name, ".rsc")
	chunk := o.ChunkSize
	if chunk <= 0 || chunk > 32768 {
		chunk = 32768
	}
	if _, err := s.c.one(ctx, op, cmd{"/export", kv("file", name)}); err != nil {
		return "", err
	}
	file := name + ".rsc"
	var b strings.Builder
	for off := 0; ; {
		r, err := s.c.one(ctx, op, cmd{"/file/read", kv("file", file), kv("offset", strconv.Itoa(off)), kv("chunk-size", strconv.Itoa(chunk))})
		if err != nil {
			return "", err
		}
		// The reply's shape is not documented (the fake sends !re =data=),
		// so a chunk in !done is accepted too.
		n := 0
		for _, rec := range r.re {
			b.WriteString(rec["data"])
			n += len(rec["data"])
		}
		if len(r.re) == 0 {
			d := r.done["data"]
			if d == "" {
				d = r.done["ret"]
			}
			b.WriteString(d)
			n += len(d)
		}
		off += n
		if n < chunk {
			break
		}
		if b.Len() > 64<<20 {
			return "", &Error{Op: op, Code: -1, Message: "export larger than 64 MiB", kinds: []error{ErrInvalid}}
		}
	}
	if !o.Keep {
		if _, err := s.c.one(ctx, op, cmd{"/file/remove", kv(".id", file)}); err != nil {
			return "", err
		}
	}
	return b.String(), nil
}

// BackupOptions tune Backup. Without a Password the backup is not
// encrypted (RouterOS 6.43+).
type BackupOptions struct {
	Name     string // file name without .backup; default "homelab"
	Password secret.Secret
}

// Backup saves a binary system backup on the router and returns its file
// name. Fetch it over SFTP; it is tied to the device.
//
// RouterOS API: /system/backup/save
func (s *SystemService) Backup(ctx context.Context, o BackupOptions) (string, error) {
	name := o.Name
	if name == "" {
		name = "homelab"
	}
	c := cmd{"/system/backup/save", kv("name", name)}
	if o.Password.IsZero() {
		c = append(c, kv("dont-encrypt", "yes"))
	} else {
		c = append(c, kv("password", o.Password.Reveal()))
	}
	if _, err := s.c.one(ctx, "save backup", c); err != nil {
		return "", err
	}
	return name + ".backup", nil
}
