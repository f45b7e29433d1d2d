package npm

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
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
// from SQLite, which the server writes in UTC.
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
