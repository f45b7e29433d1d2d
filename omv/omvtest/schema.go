package omvtest

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// prop is a tiny subset of JSON schema: enough for OMV's rpc.*.json rules
// of the methods this fake implements.
type prop struct {
	typ    string // "string", "integer", "number", "boolean", "array", "object", "any"; "|null" suffix allows null
	req    bool
	enum   []any
	min    *float64
	format string
	items  *prop
	props  map[string]prop
}

func f(v float64) *float64 { return &v }

var (
	reUUIDv4   = regexp.MustCompile(`(?i)^[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}$`)
	reDevFile  = regexp.MustCompile(`(?i)^/dev(/disk/by-id)?/.+`)
	reFsUUID   = regexp.MustCompile(`(?i)^([a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}|[a-f0-9]{4}-[a-f0-9]{4}|[a-f0-9]{16}|\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2})$`)
	reUserName = regexp.MustCompile(`^[_.A-Za-z0-9][-@_.A-Za-z0-9]*\$?$`)
	reEmail    = regexp.MustCompile(`^[^@\s]+@[^@\s]+$`)
)

func jsonText(v any) string {
	switch x := v.(type) {
	case string:
		return "'" + x + "'"
	case nil:
		return "NULL"
	case []any:
		return "[]"
	case map[string]any:
		return "{}"
	}
	return fmt.Sprint(v)
}

// validate returns OMV's "<path>: <text>" message or "".
func validate(p prop, v any, path string) string {
	if v == nil && strings.HasSuffix(p.typ, "|null") {
		return ""
	}
	typ := strings.TrimSuffix(p.typ, "|null")
	switch typ {
	case "string":
		s, ok := v.(string)
		if !ok {
			return fmt.Sprintf("%s: The value %s is not a string.", path, jsonText(v))
		}
		switch p.format {
		case "uuidv4":
			if !reUUIDv4.MatchString(s) {
				return fmt.Sprintf("%s: The value '%s' is not an UUIDv4.", path, s)
			}
		case "devicefile":
			if !reDevFile.MatchString(s) {
				return fmt.Sprintf("%s: The value '%s' is not a device file.", path, s)
			}
		case "fsuuid":
			if !reFsUUID.MatchString(s) && !reDevFile.MatchString(s) {
				return fmt.Sprintf("%s: The value '%s' is not a valid filesystem UUID.", path, s)
			}
		case "username":
			if !reUserName.MatchString(s) {
				return fmt.Sprintf("%s: The value '%s' is not a valid user name.", path, s)
			}
		case "email":
			if s != "" && !reEmail.MatchString(s) {
				return fmt.Sprintf("%s: The value '%s' is not a valid email address.", path, s)
			}
		}
	case "integer", "number":
		n, ok := v.(float64)
		if !ok || (typ == "integer" && n != float64(int64(n))) {
			return fmt.Sprintf("%s: The value %s is not an %s.", path, jsonText(v), typ)
		}
		if p.min != nil && n < *p.min {
			return fmt.Sprintf("%s: The value '%v' is less than %v.", path, n, *p.min)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return fmt.Sprintf("%s: The value %s is not a boolean.", path, jsonText(v))
		}
	case "array":
		a, ok := v.([]any)
		if !ok {
			return fmt.Sprintf("%s: The value %s is not an array.", path, jsonText(v))
		}
		if p.items != nil {
			for i, it := range a {
				if m := validate(*p.items, it, fmt.Sprintf("%s[%d]", path, i)); m != "" {
					return m
				}
			}
		}
	case "object":
		o, ok := v.(map[string]any)
		if !ok || (len(o) == 0 && len(p.props) > 0 && false) {
			return fmt.Sprintf("%s: The value %s is not an object.", path, jsonText(v))
		}
		for _, name := range sortedKeys(p.props) {
			sp := p.props[name]
			val, present := o[name]
			if !present {
				if sp.req {
					return fmt.Sprintf("%s: Missing 'required' attribute '%s'.", path, name)
				}
				continue
			}
			sub := name
			if path != "" {
				sub = path + "." + name
			}
			if m := validate(sp, val, sub); m != "" {
				return m
			}
		}
	}
	if len(p.enum) > 0 {
		for _, e := range p.enum {
			if e == v {
				return ""
			}
		}
		var allowed []string
		for _, e := range p.enum {
			allowed = append(allowed, fmt.Sprint(e))
		}
		return fmt.Sprintf("%s: Invalid value '%v', allowed values are '%s'.", path, v, strings.Join(allowed, ", "))
	}
	return ""
}

func obj(props map[string]prop) *prop { return &prop{typ: "object", props: props} }

var (
	str      = prop{typ: "string", req: true}
	boolean  = prop{typ: "boolean", req: true}
	uuidProp = prop{typ: "string", req: true, format: "uuidv4"}
	devProp  = prop{typ: "string", req: true, format: "devicefile"}
	getList  = obj(map[string]prop{
		"start":     {typ: "integer", req: true},
		"limit":     {typ: "integer|null", req: true},
		"sortfield": {typ: "string|null"},
		"sortdir":   {typ: "string|null", enum: []any{"asc", "ASC", "desc", "DESC", nil}},
		"search":    {typ: "any"},
	})
	objectUUID = obj(map[string]prop{"uuid": uuidProp})
	deviceFile = obj(map[string]prop{"devicefile": devProp})
)

// schemas holds the params schema per "Service.method" (service lower-cased).
// Methods absent here take no params or are unvalidated (Quota.set: the
// real schema is malformed, so OMV validates nothing).
var schemas = map[string]*prop{
	"session.login": obj(map[string]prop{"username": str, "password": str}),
	"config.applychanges": obj(map[string]prop{
		"modules": {typ: "array", req: true, items: &prop{typ: "string"}}, "force": boolean}),
	"config.applychangesbg": obj(map[string]prop{
		"modules": {typ: "array", req: true, items: &prop{typ: "string"}}, "force": boolean}),
	"config.revertchanges": obj(map[string]prop{"filename": {typ: "string"}}),
	"exec.getoutput": obj(map[string]prop{"filename": str, "pos": {typ: "integer", req: true, min: f(0)},
		"length": {typ: "integer", min: f(1024)}}),
	"exec.isrunning":      obj(map[string]prop{"filename": str}),
	"exec.stop":           obj(map[string]prop{"filename": str}),
	"smart.getlist":       getList,
	"smart.getattributes": deviceFile,
	"raid.getlist":        getList,
	"raid.getdetail":      deviceFile,
	"raid.get":            deviceFile,
	"raid.create": obj(map[string]prop{
		"devices": {typ: "array", req: true, items: &prop{typ: "string", format: "devicefile"}},
		"name":    str,
		"level":   {typ: "string", req: true, enum: []any{"stripe", "mirror", "linear", "raid10", "raid5", "raid6"}}}),
	"filesystemmgmt.getlist": getList,
	"filesystemmgmt.create": obj(map[string]prop{"devicefile": devProp,
		"type": {typ: "string", req: true, enum: []any{"btrfs", "ext3", "ext4", "f2fs", "jfs", "xfs"}}}),
	"filesystemmgmt.setmountpoint": obj(map[string]prop{"id": {typ: "string", req: true, format: "fsuuid"},
		"usagewarnthreshold": {typ: "integer", min: f(0)}, "comment": {typ: "string"}}),
	"sharemgmt.getlist": getList,
	"sharemgmt.set": obj(map[string]prop{"uuid": uuidProp, "name": str, "reldirpath": str, "comment": str,
		"mntentref": uuidProp, "mode": {typ: "string", enum: []any{"700", "750", "755", "770", "775", "777"}}}),
	"sharemgmt.delete":        obj(map[string]prop{"uuid": uuidProp, "recursive": boolean}),
	"sharemgmt.getprivileges": objectUUID,
	"sharemgmt.setprivileges": obj(map[string]prop{"uuid": uuidProp, "privileges": {typ: "array", req: true,
		items: obj(map[string]prop{"name": str, "perms": {typ: "integer", req: true, enum: []any{0.0, 5.0, 7.0}},
			"type": {typ: "string", req: true, enum: []any{"user", "group"}}})}}),
	"smb.setsettings": obj(map[string]prop{"enable": boolean, "workgroup": str, "serverstring": str,
		"loglevel": {typ: "integer", req: true, enum: []any{0.0, 1.0, 2.0, 3.0, 10.0}}, "usesendfile": boolean,
		"aio": boolean, "timeserver": boolean, "winssupport": boolean, "winsserver": str, "homesenable": boolean,
		"homesbrowseable": boolean, "extraoptions": str}),
	"smb.getsharelist":    getList,
	"smb.getshare":        objectUUID,
	"smb.emptyrecyclebin": objectUUID,
	"smb.deleteshare":     objectUUID,
	"smb.setshare": obj(map[string]prop{"uuid": uuidProp, "enable": boolean, "sharedfolderref": uuidProp,
		"comment": str, "guest": {typ: "string", req: true, enum: []any{"no", "allow", "only"}}, "readonly": boolean,
		"browseable": boolean, "recyclebin": boolean, "recyclemaxsize": {typ: "integer", req: true, min: f(0)},
		"recyclemaxage": {typ: "integer", req: true, min: f(0)}, "hidedotfiles": boolean, "inheritacls": boolean,
		"inheritpermissions": boolean, "easupport": boolean, "storedosattributes": boolean, "hostsallow": str,
		"hostsdeny": str, "audit": boolean, "extraoptions": str, "timemachine": {typ: "boolean"}}),
	"usermgmt.getuser":     obj(map[string]prop{"name": {typ: "string", req: true, format: "username"}}),
	"usermgmt.deleteuser":  obj(map[string]prop{"name": {typ: "string", req: true, format: "username"}}),
	"usermgmt.getuserlist": getList,
	"usermgmt.setuser": obj(map[string]prop{"name": {typ: "string", req: true, format: "username"},
		"uid": {typ: "integer"}, "groups": {typ: "array", req: true, items: &prop{typ: "string"}},
		"shell": {typ: "string"}, "password": str, "email": {typ: "string", req: true, format: "email"},
		"comment": {typ: "string"}, "disallowusermod": boolean,
		"sshpubkeys": {typ: "array", req: true, items: &prop{typ: "string"}}}),
	"usermgmt.getgroup":    obj(map[string]prop{"name": str}),
	"usermgmt.deletegroup": obj(map[string]prop{"name": str}),
	"usermgmt.setgroup": obj(map[string]prop{"name": str, "gid": {typ: "integer"}, "comment": str,
		"members": {typ: "array", req: true, items: &prop{typ: "string"}}}),
	"quota.get": obj(map[string]prop{"uuid": {typ: "string", req: true, format: "fsuuid"}}),
}

func sortedKeys(m map[string]prop) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
