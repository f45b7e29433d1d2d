package proxmox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// num decodes PVE's loose numbers: a JSON number, a numeric string, a
// boolean or null (0).
type num float64

func (n *num) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	s := string(b)
	switch s {
	case "null", `""`:
		*n = 0
		return nil
	case "true":
		*n = 1
		return nil
	case "false":
		*n = 0
		return nil
	}
	s = strings.Trim(s, `"`)
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return fmt.Errorf("not a number: %.40q", s)
	}
	*n = num(f)
	return nil
}

func (n num) int() int       { return int(n) }
func (n num) i64() int64     { return int64(n) }
func (n num) u64() uint64    { return uint64(max(n, 0)) }
func (n num) bool() bool     { return n != 0 }
func (n num) float() float64 { return float64(n) }

// optNum is a num that remembers whether it was a number at all ("N/A"
// wearout decodes as unset).
type optNum struct {
	set bool
	v   float64
}

func (o *optNum) UnmarshalJSON(b []byte) error {
	var n num
	if err := n.UnmarshalJSON(b); err != nil {
		*o = optNum{}
		return nil
	}
	if s := string(bytes.TrimSpace(b)); s == "null" || s == `""` {
		*o = optNum{}
		return nil
	}
	*o = optNum{set: true, v: float64(n)}
	return nil
}

// str decodes a string that PVE sometimes sends as a number.
type str string

func (s *str) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = str(v)
		return nil
	}
	if string(b) == "null" {
		*s = ""
		return nil
	}
	*s = str(b)
	return nil
}

// rawConfig decodes a config map whose values may be strings or numbers.
type rawConfig map[string]string

func (r *rawConfig) UnmarshalJSON(b []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	if m == nil {
		return fmt.Errorf("config is null")
	}
	out := make(rawConfig, len(m))
	for k, v := range m {
		var s str
		if err := s.UnmarshalJSON(v); err != nil {
			return fmt.Errorf("config key %s: %w", k, err)
		}
		out[k] = string(s)
	}
	*r = out
	return nil
}

// jsonRaw accepts any data, null included.
type jsonRaw = json.RawMessage
