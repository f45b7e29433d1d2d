package npm

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/thehomelab/homelab/secret"
)

// flexBool decodes the booleans of every NPM version: JSON true/false
// (2.12+), the integers 0/1 (≤2.11, SQLite and MySQL tinyint), their string
// forms, and null (false).
type flexBool bool

func (b *flexBool) UnmarshalJSON(data []byte) error {
	v, err := parseBool(data)
	*b = flexBool(v)
	return err
}

// parseBool is the pure decoder behind flexBool.
func parseBool(data []byte) (bool, error) {
	s := string(bytes.TrimSpace(data))
	if len(s) >= 2 && s[0] == '"' {
		u, err := strconv.Unquote(s)
		if err != nil {
			return false, fmt.Errorf("decode boolean %.40q: %w", s, err)
		}
		s = strings.TrimSpace(u)
	}
	switch strings.ToLower(s) {
	case "true", "1":
		return true, nil
	case "false", "0", "null", "":
		return false, nil
	}
	return false, fmt.Errorf("decode boolean: unexpected %.40q", s)
}

// flexTime decodes NPM dates: ISO 8601 from MySQL/Postgres
// ("2026-06-03T10:00:00.000Z") and "YYYY-MM-DD HH:MM:SS" without a zone
// from SQLite, which the server writes in its local time: read as UTC
// here, in the server's zone when WithServerLocation rewrote them first
// (localizeDates).
type flexTime time.Time

func (t *flexTime) UnmarshalJSON(data []byte) error {
	v, err := parseTime(data)
	*t = flexTime(v)
	return err
}

var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02 15:04:05",
	"2006-01-02",
}

// parseTime is the pure decoder behind flexTime. null and "" give the zero
// time; zone-less forms are read as UTC.
func parseTime(data []byte) (time.Time, error) {
	s := string(bytes.TrimSpace(data))
	if s == "null" || s == `""` || s == "" {
		return time.Time{}, nil
	}
	if s[0] != '"' {
		// Some drivers hand back epoch milliseconds.
		if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
			return time.UnixMilli(ms).UTC(), nil
		}
		return time.Time{}, fmt.Errorf("decode time: unexpected %.40q", s)
	}
	u, err := strconv.Unquote(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("decode time %.40q: %w", s, err)
	}
	u = strings.TrimSpace(u)
	if u == "" {
		return time.Time{}, nil
	}
	for _, l := range timeLayouts {
		if v, err := time.ParseInLocation(l, u, time.UTC); err == nil {
			return v.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("decode time: unexpected %.40q", u)
}

// flexInt decodes integers that may arrive as strings, and null as 0.
type flexInt int

func (n *flexInt) UnmarshalJSON(data []byte) error {
	s := string(bytes.TrimSpace(data))
	if s == "null" {
		*n = 0
		return nil
	}
	if len(s) >= 2 && s[0] == '"' {
		u, err := strconv.Unquote(s)
		if err != nil {
			return fmt.Errorf("decode integer %.40q: %w", s, err)
		}
		s = u
		if s == "" || s == "new" {
			*n = 0
			return nil
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != float64(int64(f)) || f > 1<<53 || f < -(1<<53) {
		return fmt.Errorf("decode integer: unexpected %.40q", s)
	}
	*n = flexInt(f)
	return nil
}

// maxBody caps what the client reads from one response.
const maxBody = 32 << 20

// wireError is the error body; message_i18n is an object on some errors, so
// it is not decoded.
type wireError struct {
	Error json.RawMessage `json:"error"`
}

// parseErrorBody extracts code and message from an error answer. The body
// may be {"error":{"code","message"}}, {"error":"text"} (multipart routes)
// or anything else (a proxy's HTML page).
func parseErrorBody(body []byte) (code int, msg string) {
	var w wireError
	if json.Unmarshal(body, &w) != nil || len(w.Error) == 0 {
		return 0, ""
	}
	var s string
	if json.Unmarshal(w.Error, &s) == nil {
		return 0, s
	}
	var o struct {
		Code    flexInt `json:"code"`
		Message string  `json:"message"`
	}
	if json.Unmarshal(w.Error, &o) != nil {
		return 0, ""
	}
	return int(o.Code), o.Message
}

// debugReason finds why a masked 500 ("Internal Error") failed, in the
// debug object NPM adds on certificate routes (and everywhere in DEBUG
// mode): {"debug":{"stack":[lines…],"previous":…}} (backend/app.js). A
// failed certbot run is a CommandError whose message is certbot's stderr,
// so the stack's first lines are that stderr; the reason is its last
// meaningful line (the ACME or DNS plugin error), without certbot's
// boilerplate and the stack frames. A previous error with a message is the
// fallback. The result is capped and may still hold what the caller must
// scrub.
func debugReason(body []byte) string {
	var w struct {
		Debug *struct {
			Stack    []json.RawMessage `json:"stack"`
			Previous json.RawMessage   `json:"previous"`
		} `json:"debug"`
	}
	if json.Unmarshal(body, &w) != nil || w.Debug == nil {
		return ""
	}
	var lines []string
	for i, raw := range w.Debug.Stack {
		if i >= 200 {
			break
		}
		var l string
		if json.Unmarshal(raw, &l) != nil {
			continue
		}
		lines = append(lines, strings.Split(l, "\n")...)
	}
	reason := ""
	for i, l := range lines {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "at ") {
			break // the frames start: the message is over
		}
		if i == 0 {
			// "CommandError: <first stderr line>"
			if name, rest, ok := strings.Cut(l, ": "); ok && !strings.ContainsAny(name, " \t") && strings.HasSuffix(name, "Error") {
				l = strings.TrimSpace(rest)
			}
		}
		if l == "" || certbotNoise(l) {
			continue
		}
		reason = l
	}
	if reason == "" {
		var p struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(w.Debug.Previous, &p) == nil {
			for _, l := range strings.Split(p.Message, "\n") {
				if l = strings.TrimSpace(l); l != "" && !certbotNoise(l) {
					reason = l
				}
			}
		}
	}
	if len(reason) > 500 {
		reason = reason[:500] + "…"
	}
	return reason
}

// certbotNoise reports the lines certbot prints around every failure.
func certbotNoise(l string) bool {
	for _, p := range []string{"Saving debug log to", "Ask for help or search for solutions", "See the logfile", "Internal Error"} {
		if strings.HasPrefix(l, p) {
			return true
		}
	}
	return false
}

// credentialAssignment matches "<something>token = <value>" and the like:
// a DNS plugin's credentials line echoed in an error.
var credentialAssignment = regexp.MustCompile(`(?i)([a-z0-9_]*(?:token|secret|password|key)[a-z0-9_]*\s*[=:]\s*)\S+`)

// redactCredentials blanks the value of every credentials assignment.
func redactCredentials(s string) string {
	return credentialAssignment.ReplaceAllString(s, "${1}"+secret.Redacted)
}

// sqliteDate matches a date column NPM on SQLite wrote: no zone, the
// server's local time (backend/models/now_helper.js inserts
// datetime('now','localtime'); certificate expiry is moment().format()).
var sqliteDate = regexp.MustCompile(`"(created_on|modified_on|expires_on)"(\s*:\s*)"(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})"`)

// localizeDates rewrites the zone-less date columns of an answer as ISO
// 8601 with loc's offset at that date, so that they decode as the instant
// the server meant. Dates that carry a zone are left alone.
func localizeDates(body []byte, loc *time.Location) []byte {
	return sqliteDate.ReplaceAllFunc(body, func(m []byte) []byte {
		sub := sqliteDate.FindSubmatch(m)
		t, err := time.ParseInLocation("2006-01-02 15:04:05", string(sub[3]), loc)
		if err != nil {
			return m
		}
		return []byte(`"` + string(sub[1]) + `"` + string(sub[2]) + `"` + t.Format(time.RFC3339) + `"`)
	})
}
