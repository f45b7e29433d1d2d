package proxmoxtest

import (
	"maps"
	"net/http"
	"slices"
	"strings"
)

// extractConfigRoutes serves GET /nodes/{node}/vzdump/extractconfig: the
// guest config a backup archive holds, as text.
func (s *Server) extractConfigRoutes() []route {
	return []route{
		{[]string{"GET /nodes/{node}/vzdump/extractconfig"}, func(r *http.Request, rc *reqCtx, tmpl string, pp map[string]string) (any, int, *apiError) {
			d, err := s.extractConfig(rc)
			return d, -1, err
		}},
	}
}

// extractConfig is pve-manager PVE/API2/VZDump.pm extractconfig:
// pve-storage src/PVE/Storage.pm check_volume_access(…, 'backup') first,
// then VM.Backup on the owning guest, then extract_vzdump_config, which
// returns the config file stored in the archive (the fake's snapshot taken
// when the backup was made, see volume.config).
func (s *Server) extractConfig(rc *reqCtx) (any, *apiError) {
	volid := rc.str("volume")
	stID, volname, ok := strings.Cut(volid, ":")
	if !ok || !storIDRE.MatchString(stID) {
		// check_volume_access: parse_volume_id($volid, 1) fails, so the
		// volume is taken as a path.
		if rc.identity != RootUser {
			return nil, errf(500, "Only root can pass arbitrary filesystem paths.")
		}
		// extract_vzdump_config → abs_filesystem_path: a path that is not
		// a file.
		return nil, errf(500, "can't find file '%s'", volid)
	}
	st := s.storages[stID]
	if st == nil {
		// parse_volname → storage_config.
		return nil, errf(500, "storage '%s' does not exist", stID)
	}
	m := stdName.FindStringSubmatch(volid)
	if !strings.HasPrefix(volname, "backup/") {
		// check_volume_access: the volume's content type is not 'backup'.
		return nil, errf(500, "unable to use volume %s - content type needs to be 'backup'", volid)
	}
	owner := ""
	if m != nil {
		owner = m[2]
	}
	// check_volume_access: Datastore.Allocate on the storage is enough;
	// otherwise a backup with an owner needs Datastore.AllocateSpace on the
	// storage and VM.Backup on the guest, one without "missing privileges".
	if !s.allowed(rc.identity, "/storage/"+stID, "Datastore.Allocate") {
		if owner == "" {
			return nil, errf(500, "missing privileges to access %s", volid)
		}
		if err := s.perm(rc, "/storage/"+stID, "Datastore.AllocateSpace"); err != nil {
			return nil, err
		}
		if err := s.perm(rc, "/vms/"+owner, "VM.Backup"); err != nil {
			return nil, err
		}
	}
	// extractconfig itself: VM.Backup on the owner, whatever the storage
	// privileges.
	if owner != "" {
		if err := s.perm(rc, "/vms/"+owner, "VM.Backup"); err != nil {
			return nil, err
		}
	}
	var vol *volume
	for _, v := range st.volumes {
		if v.volid == volid {
			vol = v
		}
	}
	if vol == nil {
		path := archivePath(st, volid)
		if m != nil && m[1] == "qemu" && !strings.Contains(volname, ".tar") {
			// extract_vzdump_config_vma: the decompressor of
			// decompressor_info fails on the missing file and its stderr
			// becomes the error (texts of zstd v1.5 and gzip 1.12 as run).
			switch {
			case strings.HasSuffix(volname, ".zst"):
				return nil, errf(500, "Failed to extract config from VMA archive: zstd: can't stat %s : No such file or directory -- ignored", path)
			case strings.HasSuffix(volname, ".gz"):
				return nil, errf(500, "Failed to extract config from VMA archive: gzip: %s: No such file or directory", path)
			}
			return nil, errf(501, "proxmoxtest: extracting the config of a missing %s is not modelled", volid)
		}
		// extract_vzdump_config_tar.
		return nil, errf(500, "ERROR: file '%s' does not exist", path)
	}
	return configText(archivedConfig(s, vol, vol.subtype)), nil
}

// configText writes a guest config the way qemu-server write_vm_config
// and pve-container write_pct_config do: the description as "#" comment
// lines first, then "key: value" lines sorted by key; digest is no key
// of the file.
func configText(conf map[string]string) string {
	var b strings.Builder
	if d := conf["description"]; d != "" {
		for _, line := range strings.Split(d, "\n") {
			b.WriteString("#" + line + "\n")
		}
	}
	for _, k := range slices.Sorted(maps.Keys(conf)) {
		if k == "description" || k == "digest" {
			continue
		}
		b.WriteString(k + ": " + conf[k] + "\n")
	}
	return b.String()
}
