package routeros

import (
	"context"
	"strings"
	"time"
)

// ScriptService manages /system/script and /system/scheduler (the DDNS
// plumbing).
type ScriptService struct{ c *Client }

// Script is a /system/script entry.
type Script struct {
	ID          ID
	Name        string
	Source      string
	Policy      []string
	Owner       string
	RunCount    int
	LastStarted time.Time // router wall clock (zone of /system/clock); zero if never run
	Comment     string
	Invalid     bool
}

// Scripts lists scripts.
//
// RouterOS API: /system/script/print
func (s *ScriptService) Scripts(ctx context.Context) ([]Script, error) {
	recs, err := s.c.print(ctx, "list scripts", "/system/script")
	if err != nil {
		return nil, err
	}
	out := make([]Script, 0, len(recs))
	for _, r := range recs {
		out = append(out, Script{ID: r.ID(), Name: r["name"], Source: r["source"], Policy: splitList(r["policy"]),
			Owner: r["owner"], RunCount: int(r.Int("run-count")), LastStarted: r.Time("last-started"),
			Comment: r["comment"], Invalid: r.Bool("invalid")})
	}
	return out, nil
}

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// ScriptOptions are optional settings of a new script. Empty Policy takes
// the router's default.
type ScriptOptions struct {
	Policy  []string
	Comment string
}

// AddScript adds a script with RouterOS script source and returns its id.
//
// RouterOS API: /system/script/add
func (s *ScriptService) AddScript(ctx context.Context, name, source string, o ScriptOptions) (ID, error) {
	c := cmd{"/system/script/add", kv("name", name), kv("source", source)}
	if len(o.Policy) > 0 {
		c = append(c, kv("policy", strings.Join(o.Policy, ",")))
	}
	if o.Comment != "" {
		c = append(c, kv("comment", o.Comment))
	}
	r, err := s.c.one(ctx, "add script "+name, c)
	if err != nil {
		return "", err
	}
	return ID(r.done["ret"]), nil
}

// RunScript runs the script with this name (or id).
//
// RouterOS API: /system/script/run
func (s *ScriptService) RunScript(ctx context.Context, name string) error {
	_, err := s.c.one(ctx, "run script "+name, cmd{"/system/script/run", kv(".id", name)})
	return err
}

// Schedule is a /system/scheduler entry.
type Schedule struct {
	ID        ID
	Name      string
	OnEvent   string // script name or inline code
	StartTime string // "startup" or hh:mm:ss
	Interval  time.Duration
	RunCount  int
	NextRun   time.Time // router wall clock; zero when not scheduled
	Disabled  bool
	Comment   string
}

// Schedules lists scheduler entries.
//
// RouterOS API: /system/scheduler/print
func (s *ScriptService) Schedules(ctx context.Context) ([]Schedule, error) {
	recs, err := s.c.print(ctx, "list schedules", "/system/scheduler")
	if err != nil {
		return nil, err
	}
	out := make([]Schedule, 0, len(recs))
	for _, r := range recs {
		out = append(out, Schedule{ID: r.ID(), Name: r["name"], OnEvent: r["on-event"], StartTime: r["start-time"],
			Interval: r.Duration("interval"), RunCount: int(r.Int("run-count")), NextRun: r.Time("next-run"),
			Disabled: r.Bool("disabled"), Comment: r["comment"]})
	}
	return out, nil
}

// ScheduleOptions are optional settings of a scheduler entry. Empty
// StartTime means "startup"; zero Interval runs once.
type ScheduleOptions struct {
	StartTime string
	Interval  time.Duration
	Comment   string
}

// AddSchedule adds a scheduler entry running onEvent (a script name or
// inline code) and returns its id.
//
// RouterOS API: /system/scheduler/add
func (s *ScriptService) AddSchedule(ctx context.Context, name, onEvent string, o ScheduleOptions) (ID, error) {
	start := o.StartTime
	if start == "" {
		start = "startup"
	}
	c := cmd{"/system/scheduler/add", kv("name", name), kv("on-event", onEvent),
		kv("start-time", start), kv("interval", FormatDuration(o.Interval))}
	if o.Comment != "" {
		c = append(c, kv("comment", o.Comment))
	}
	r, err := s.c.one(ctx, "add schedule "+name, c)
	if err != nil {
		return "", err
	}
	return ID(r.done["ret"]), nil
}
