package proxmoxtest

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// schema.json is a trimmed copy of the PVE 9 API schema (pve-docs
// api-viewer/apidata.js) holding the paths this fake serves.
//
//go:embed schema.json
var schemaJSON []byte

type paramSpec struct {
	Type     string   `json:"type"`
	Format   string   `json:"format"`
	Optional int      `json:"optional"`
	Enum     []string `json:"enum"`
}

type methodSpec struct {
	AllowToken int                  `json:"allowtoken"`
	Params     map[string]paramSpec `json:"params"`
}

type schema map[string]map[string]methodSpec

func loadSchema() (schema, error) {
	var s schema
	if err := json.Unmarshal(schemaJSON, &s); err != nil {
		return nil, fmt.Errorf("proxmoxtest: embedded schema: %w", err)
	}
	if err := mergeRestoreSchema(s); err != nil {
		return nil, err
	}
	return s, nil
}

// value is one request parameter; json tells typed JSON values apart from
// form/query strings.
type value struct {
	s    string
	json bool
	kind byte // 's' string, 'b' bool, 'n' number (JSON only)
}

var (
	intRE     = regexp.MustCompile(`^[+-]?[0-9]+$`)
	indexedRE = regexp.MustCompile(`^([a-z]+)([0-9]+)$`)
	vmidList  = regexp.MustCompile(`^[0-9]+(,[0-9]+)*$`)
	nodeRE    = regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?$`)
	storIDRE  = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9\-_.]*[a-zA-Z0-9]$`)
)

// indexLimits are the highest N of "key[n]" parameters PVE accepts.
var indexLimits = map[string]int{"scsi": 30, "sata": 5, "virtio": 15, "ide": 3, "net": 31, "mp": 255,
	"unused": 255, "dev": 255, "hostpci": 15, "usb": 13, "ipconfig": 31, "serial": 3, "parallel": 2, "numa": 7, "virtiofs": 9}

// validate checks params against the method's schema the way PVE's
// JSONSchema does: unknown keys, missing required keys, type and enum.
func (m methodSpec) validate(pathParams map[string]string, p map[string]value) map[string]string {
	errs := map[string]string{}
	for k, v := range p {
		spec, ok := m.Params[k]
		if !ok {
			if mm := indexedRE.FindStringSubmatch(k); mm != nil {
				if lim, ok2 := indexLimits[mm[1]]; ok2 {
					n, _ := strconv.Atoi(mm[2])
					if sp, ok3 := m.Params[mm[1]+"[n]"]; ok3 && n <= lim && (mm[2] == "0" || mm[2][0] != '0') {
						spec, ok = sp, true
					}
				}
			}
		}
		if !ok {
			errs[k] = "property is not defined in schema and the schema does not allow additional properties"
			continue
		}
		if msg := checkType(spec, v); msg != "" {
			errs[k] = msg
		}
	}
	for k, spec := range m.Params {
		if spec.Optional == 1 || strings.HasSuffix(k, "[n]") {
			continue
		}
		if _, ok := p[k]; ok {
			continue
		}
		if _, ok := pathParams[k]; ok {
			continue
		}
		errs[k] = "property is missing and it is not optional"
	}
	return errs
}

func checkType(spec paramSpec, v value) string {
	switch spec.Type {
	case "boolean":
		if v.json && v.kind == 'b' {
			return ""
		}
		if v.s == "0" || v.s == "1" {
			return ""
		}
		return fmt.Sprintf("type check ('boolean') failed - got '%s'", v.s)
	case "integer":
		if !intRE.MatchString(v.s) {
			return fmt.Sprintf("type check ('integer') failed - got '%s'", v.s)
		}
	case "number":
		if _, err := strconv.ParseFloat(v.s, 64); err != nil {
			return fmt.Sprintf("type check ('number') failed - got '%s'", v.s)
		}
	case "string":
		if v.json && v.kind == 'b' {
			return "type check ('string') failed - got boolean"
		}
	}
	if len(spec.Enum) > 0 {
		ok := false
		for _, e := range spec.Enum {
			if e == v.s {
				ok = true
			}
		}
		if !ok {
			return fmt.Sprintf("value '%s' does not have a value in the enumeration '%s'", v.s, strings.Join(spec.Enum, ", "))
		}
	}
	switch spec.Format {
	case "pve-vmid-list":
		if !vmidList.MatchString(v.s) {
			return "value does not match the regex pattern"
		}
	case "pve-node":
		if !nodeRE.MatchString(v.s) {
			return fmt.Sprintf("value '%s' does not look like a valid node name", v.s)
		}
	case "pve-storage-id":
		if !storIDRE.MatchString(v.s) {
			return fmt.Sprintf("invalid storage ID '%s'", v.s)
		}
	}
	return ""
}
