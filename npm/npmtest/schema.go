package npmtest

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// node is a small JSON-schema subset with ajv 8 semantics: allErrors,
// coerceTypes, additionalProperties:false, messages such as
// "data/forward_port must be <= 65535".
type node struct {
	typ        string // object, string, integer, boolean, array, any, intOrNew
	props      map[string]*node
	required   []string
	additional bool
	minProps   int
	minLen     int
	maxLen     int // 0: none
	min, max   *int
	enum       []string
	pattern    *regexp.Regexp
	items      *node
	minItems   int
	maxItems   int // 0: none
	unique     bool
}

func ip(v int) *int { return &v }

func obj(props map[string]*node, required ...string) *node {
	return &node{typ: "object", props: props, required: required}
}
func str() *node                   { return &node{typ: "string"} }
func strN(min, max int) *node      { return &node{typ: "string", minLen: min, maxLen: max} }
func boolean() *node               { return &node{typ: "boolean"} }
func integer(min, max int) *node   { return &node{typ: "integer", min: ip(min), max: ip(max)} }
func enum(vals ...string) *node    { return &node{typ: "string", enum: vals} }
func anyObj() *node                { return &node{typ: "object", additional: true} }
func arr(items *node) *node        { return &node{typ: "array", items: items} }
func intOrNew() *node              { return &node{typ: "intOrNew"} }
func pat(re string) *regexp.Regexp { return regexp.MustCompile(re) }

// domainPattern: no spaces and none of the characters NPM forbids
// (wildcards are fine; ports and paths are not).
var domainPattern = pat("^[^&| @!#%^();:/\\\\}{=+?<>,~`'\"]+$")

func domains() *node {
	return &node{typ: "array", items: &node{typ: "string", pattern: domainPattern}, maxItems: 100, unique: true}
}

// hostDomains: hosts need at least one name, certificates do not.
func hostDomains() *node {
	n := domains()
	n.minItems = 1
	return n
}

// validate checks v against n, returns the coerced value and ajv-style
// messages.
func (n *node) validate(path string, v any) (any, []string) {
	switch n.typ {
	case "any":
		return v, nil
	case "intOrNew":
		if s, ok := v.(string); ok && s == "new" {
			return "new", nil
		}
		i, ok := coerceInt(v)
		if ok && i >= 0 {
			return i, nil
		}
		// ajv lists every failed branch, then the anyOf itself.
		errs := []string{path + " must be integer"}
		if ok {
			errs = []string{path + " must be >= 0"}
		}
		if _, isStr := coerceString(v); isStr {
			errs = append(errs, path+` must match pattern "^new$"`)
		} else {
			errs = append(errs, path+" must be string")
		}
		return v, append(errs, path+" must match a schema in anyOf")
	case "integer":
		i, ok := coerceInt(v)
		if !ok {
			return v, []string{path + " must be integer"}
		}
		var errs []string
		if n.min != nil && i < *n.min {
			errs = append(errs, fmt.Sprintf("%s must be >= %d", path, *n.min))
		}
		if n.max != nil && i > *n.max {
			errs = append(errs, fmt.Sprintf("%s must be <= %d", path, *n.max))
		}
		return i, errs
	case "boolean":
		b, ok := coerceBool(v)
		if !ok {
			return v, []string{path + " must be boolean"}
		}
		return b, nil
	case "string":
		s, ok := coerceString(v)
		if !ok {
			return v, []string{path + " must be string"}
		}
		var errs []string
		if n.minLen > 0 && len([]rune(s)) < n.minLen {
			errs = append(errs, fmt.Sprintf("%s must NOT have fewer than %d characters", path, n.minLen))
		}
		if n.maxLen > 0 && len([]rune(s)) > n.maxLen {
			errs = append(errs, fmt.Sprintf("%s must NOT have more than %d characters", path, n.maxLen))
		}
		if n.pattern != nil && !n.pattern.MatchString(s) {
			errs = append(errs, fmt.Sprintf("%s must match pattern %q", path, n.pattern.String()))
		}
		if len(n.enum) > 0 {
			found := false
			for _, e := range n.enum {
				found = found || e == s
			}
			if !found {
				errs = append(errs, path+" must be equal to one of the allowed values")
			}
		}
		return s, errs
	case "array":
		a, ok := v.([]any)
		if !ok {
			return v, []string{path + " must be array"}
		}
		var errs []string
		if n.maxItems > 0 && len(a) > n.maxItems {
			errs = append(errs, fmt.Sprintf("%s must NOT have more than %d items", path, n.maxItems))
		}
		if len(a) < n.minItems {
			errs = append(errs, fmt.Sprintf("%s must NOT have fewer than %d items", path, n.minItems))
		}
		out := make([]any, len(a))
		for i, e := range a {
			c, es := n.items.validate(path+"/"+strconv.Itoa(i), e)
			out[i] = c
			errs = append(errs, es...)
		}
		if n.unique {
		dup:
			for j := len(out) - 1; j > 0; j-- {
				for i := j - 1; i >= 0; i-- {
					if fmt.Sprint(out[i]) == fmt.Sprint(out[j]) {
						errs = append(errs, fmt.Sprintf("%s must NOT have duplicate items (items ## %d and %d are identical)", path, i, j))
						break dup
					}
				}
			}
		}
		return out, errs
	case "object":
		m, ok := v.(map[string]any)
		if !ok {
			return v, []string{path + " must be object"}
		}
		var errs []string
		for _, r := range n.required {
			if _, ok := m[r]; !ok {
				errs = append(errs, fmt.Sprintf("%s must have required property '%s'", path, r))
			}
		}
		if len(m) < n.minProps {
			errs = append(errs, fmt.Sprintf("%s must NOT have fewer than %d properties", path, n.minProps))
		}
		out := make(map[string]any, len(m))
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		extra := false
		for _, k := range keys {
			p, ok := n.props[k]
			if !ok {
				if n.additional {
					out[k] = m[k]
				} else {
					extra = true
				}
				continue
			}
			c, es := p.validate(path+"/"+k, m[k])
			out[k] = c
			errs = append(errs, es...)
		}
		if extra {
			errs = append(errs, path+" must NOT have additional properties")
		}
		return out, errs
	}
	return v, nil
}

func coerceInt(v any) (int, bool) {
	switch x := v.(type) {
	case json.Number:
		if i, err := strconv.Atoi(string(x)); err == nil {
			return i, true
		}
		if f, err := x.Float64(); err == nil && f == float64(int(f)) {
			return int(f), true
		}
	case int:
		return x, true
	case string:
		if i, err := strconv.Atoi(strings.TrimSpace(x)); err == nil && strings.TrimSpace(x) != "" {
			return i, true
		}
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	case nil:
		return 0, true
	}
	return 0, false
}

func coerceBool(v any) (bool, bool) {
	switch x := v.(type) {
	case bool:
		return x, true
	case json.Number:
		switch string(x) {
		case "1":
			return true, true
		case "0":
			return false, true
		}
	case int:
		switch x {
		case 1:
			return true, true
		case 0:
			return false, true
		}
	case string:
		switch x {
		case "true":
			return true, true
		case "false":
			return false, true
		}
	case nil:
		return false, true
	}
	return false, false
}

func coerceString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return string(x), true
	case int:
		return strconv.Itoa(x), true
	case bool:
		return strconv.FormatBool(x), true
	case nil:
		return "", true
	}
	return "", false
}

// openAPI renders a node as the JSON schema upstream serves it: types,
// properties, required and additionalProperties, enough for a client to
// see which fields the server accepts.
func (n *node) openAPI() map[string]any {
	switch n.typ {
	case "object":
		out := map[string]any{"type": "object", "additionalProperties": n.additional}
		props := map[string]any{}
		for k, p := range n.props {
			props[k] = p.openAPI()
		}
		out["properties"] = props
		if len(n.required) > 0 {
			out["required"] = n.required
		}
		if n.minProps > 0 {
			out["minProperties"] = n.minProps
		}
		return out
	case "array":
		out := map[string]any{"type": "array"}
		if n.items != nil {
			out["items"] = n.items.openAPI()
		}
		return out
	case "intOrNew":
		return map[string]any{"oneOf": []any{map[string]any{"type": "integer", "minimum": 0}, map[string]any{"type": "string", "pattern": "^new$"}}}
	case "any":
		return map[string]any{}
	}
	out := map[string]any{"type": n.typ}
	if len(n.enum) > 0 {
		out["enum"] = n.enum
	}
	return out
}
