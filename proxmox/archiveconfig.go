package proxmox

import (
	"context"
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

// ArchivedConfig is the guest configuration a backup archive holds: the
// guest as it was when vzdump ran, not as it is now.
type ArchivedConfig struct {
	// VolID is the archive the config was read from.
	VolID string
	// Text is the config file exactly as the archive stores it
	// (qemu-server.conf or pct.conf: "#" description lines, then
	// "key: value" lines).
	Text string
	// Config is Text parsed; Config.Ref names the node asked and the
	// guest type and VMID of the archive's file name (a non-standard name
	// leaves VMID 0 and takes the type from the config: rootfs means a
	// container).
	Config GuestConfig
}

// maxArchivedConfig caps the config text read from an archive; a guest
// config is a pmxcfs file of a few KiB.
const maxArchivedConfig = 1 << 20

var archiveNameRE = regexp.MustCompile(`vzdump-(qemu|lxc|openvz)-(\d+)-`)

// Config reads the guest configuration stored in a backup archive
// (pve-manager PVE/API2/VZDump.pm extractconfig, pve-storage
// PVE::Storage::extract_vzdump_config). PVE wants VM.Backup on the backed
// up guest, and Datastore.AllocateSpace on the archive's storage unless
// the identity holds Datastore.Allocate there (PVE::Storage
// check_volume_access). A missing archive matches ErrNotFound; a PVE
// without the endpoint answers 501, which matches errors.ErrUnsupported.
//
// Proxmox API: GET /nodes/{node}/vzdump/extractconfig?volume=VOLID
func (s *BackupService) Config(ctx context.Context, node, volid string) (ArchivedConfig, error) {
	op := "read the config in " + volid
	if err := checkNode(op, node); err != nil {
		return ArchivedConfig{}, err
	}
	if _, err := volStorage(volid); err != nil {
		return ArchivedConfig{}, &Error{Op: op, Err: err}
	}
	var text string
	if err := s.c.call(ctx, nil, http.MethodGet, "/nodes/"+node+"/vzdump/extractconfig", params{"volume": {volid}}, &text, nil); err != nil {
		return ArchivedConfig{}, opError(op, err)
	}
	if len(text) > maxArchivedConfig {
		return ArchivedConfig{}, refuse(op, ErrTooLarge, "config text of %d bytes, more than %d", len(text), maxArchivedConfig)
	}
	ref := GuestRef{Node: node}
	if m := archiveNameRE.FindStringSubmatch(volid); m != nil {
		ref.Type = GuestType(m[1])
		if m[1] == "openvz" {
			ref.Type = TypeCT
		}
		n, _ := strconv.Atoi(m[2])
		ref.VMID = VMID(n)
	}
	raw := parseConfigText(text)
	if ref.Type == "" {
		ref.Type = TypeVM
		if _, ok := raw["rootfs"]; ok {
			ref.Type = TypeCT
		}
	}
	return ArchivedConfig{VolID: volid, Text: text, Config: parseConfig(ref, raw)}, nil
}

// parseConfigText reads a guest config file the way qemu-server
// parse_vm_config and pve-container parse_pct_config do: leading "#"
// lines are the description, "key: value" lines the settings, and a
// "[name]" line starts a snapshot or pending section, which is not the
// current config. A line that is none of these is skipped (PVE warns and
// goes on).
func parseConfigText(text string) rawConfig {
	raw := rawConfig{}
	var desc []string
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimRight(line, "\r")
		switch {
		case strings.HasPrefix(line, "["):
			return finishConfig(raw, desc)
		case strings.HasPrefix(line, "#"):
			desc = append(desc, strings.TrimPrefix(line, "#"))
		case strings.TrimSpace(line) == "":
		default:
			k, v, ok := strings.Cut(line, ":")
			if ok && configKeyRE.MatchString(k) {
				raw[k] = strings.TrimSpace(v)
			}
		}
	}
	return finishConfig(raw, desc)
}

var configKeyRE = regexp.MustCompile(`^[a-z][a-z0-9_-]*$`)

func finishConfig(raw rawConfig, desc []string) rawConfig {
	if len(desc) > 0 {
		raw["description"] = strings.Join(desc, "\n")
	}
	return raw
}

// isUnsupported reports a 501 from PVE's router: no handler for the path.
func isUnsupported(e *Error) bool { return e.StatusCode == http.StatusNotImplemented }
