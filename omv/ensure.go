package omv

import (
	"context"
	"fmt"
	"slices"
	"sort"
)

// ShareSpec describes a share owned by one user: a shared folder on a
// filesystem, its SMB share, the owner's account with read/write access and
// an optional quota.
type ShareSpec struct {
	Name       string // shared folder and SMB share name
	Filesystem string // filesystem UUID (Filesystem.UUID)
	Owner      UserSpec
	Quota      int64 // owner's hard limit in bytes on the filesystem; 0 = none
	SMB        SMBShareOptions
	Comment    string
	Mode       string // directory mode; "" = "775"
}

// shareModules are the OMV modules ProvisionShare's writes make dirty. An
// SMB change marks "zeroconf", an alias: the dirty list and applyChanges
// use the module's name, "avahi" (engined/module/avahi.inc, 6.x-8.x).
// A user change marks postfix, and ssh when the user has public keys.
var shareModules = map[string]bool{"postfix": true, "ssh": true, "sharedfolders": true, "systemd": true,
	"samba": true, "avahi": true, "quota": true}

// ShareResult reports what ProvisionShare did.
type ShareResult struct {
	Folder SharedFolder
	Share  SMBShare
	// Action is Created when the shared folder was created, Updated when
	// anything else was written.
	Action Action
	// Changes has one line per part written, in order ("user carol",
	// "shared folder photos", "privileges of carol on photos", "smb share
	// photos", "quota of carol = 100 GiB"); Details the field changes
	// behind them.
	Changes []Change
	Details []Change
	Applied []string // modules deployed by the final apply
}

// Changed reports whether anything was written.
func (r ShareResult) Changed() bool { return r.Action != Unchanged || len(r.Changes) > 0 }

// ProvisionShare makes a share owned by one user match spec — user,
// shared folder, privileges, SMB share and quota — and applies the
// configuration
// modules it touched. A share that already matches costs six reads and no
// write, and leaves OMV clean: pending changes of the modules it manages
// (left by an earlier failed apply) are deployed too. If the apply fails
// the error says what was written but not deployed.
//
// OMV API: UserMgmt.getUserList, ShareMgmt.getList, ShareMgmt.getPrivileges,
// SMB.getShareList, Quota.get, System.getInformation; FsTab.enumerateEntries
// when the folder is new or moves; on change
// UserMgmt.setUser, ShareMgmt.set, ShareMgmt.setPrivileges, SMB.setShare,
// Quota.set, Config.applyChangesBg
func (c *Client) ProvisionShare(ctx context.Context, spec ShareSpec) (ShareResult, error) {
	var res ShareResult
	if spec.Name == "" || spec.Filesystem == "" || spec.Owner.Name == "" {
		return res, errf("provision share", ErrInvalid, "name, filesystem and owner are required")
	}
	fail := func(err error) (ShareResult, error) {
		if len(res.Changes) > 0 {
			return res, wrap(fmt.Sprintf("provision share %s (written, not applied: %s)", spec.Name, joinChanges(res.Changes)), err)
		}
		return res, wrap("provision share "+spec.Name, err)
	}
	dirty := map[string]bool{}
	mark := func(what string, details []Change, modules ...string) {
		res.Changes = append(res.Changes, Change{Field: what})
		res.Details = append(res.Details, details...)
		if res.Action == Unchanged {
			res.Action = Updated
		}
		for _, m := range modules {
			dirty[m] = true
		}
	}

	// Reads first, so a no-op run writes nothing.
	user, userFound, err := c.Users.lookup(ctx, spec.Owner.Name)
	if err != nil {
		return fail(err)
	}
	folder, folderFound, err := c.SharedFolders.byName(ctx, spec.Name)
	if err != nil {
		return fail(err)
	}
	mnt := folder.MountPoint
	if !folderFound || !folder.onFilesystem(spec.Filesystem) {
		if mnt, err = c.Filesystems.MountPoint(ctx, spec.Filesystem); err != nil {
			return fail(err)
		}
	}
	var privs []Privilege
	if folderFound {
		if privs, err = c.SharedFolders.Privileges(ctx, folder.UUID); err != nil {
			return fail(err)
		}
	}
	shares, err := c.SMB.rawShares(ctx)
	if err != nil {
		return fail(err)
	}
	quotas, err := c.Quotas.Get(ctx, spec.Filesystem)
	if err != nil {
		return fail(err)
	}

	if ur, err := c.Users.ensure(ctx, spec.Owner, user, userFound); err != nil {
		return fail(err)
	} else if ur.Changed() {
		mods := []string{"postfix"}
		if len(user.SSHPubKeys) > 0 {
			mods = append(mods, "ssh") // ssh.inc marks ssh for users with keys
		}
		mark("user "+spec.Owner.Name, ur.Changes, mods...)
	}
	fr, err := c.SharedFolders.ensure(ctx, SharedFolderSpec{Name: spec.Name, MountPoint: mnt,
		Comment: spec.Comment, Mode: spec.Mode}, folder, folderFound)
	if err != nil {
		return fail(err)
	}
	folder = fr.Folder
	res.Folder = folder
	if fr.Changed() {
		mark("shared folder "+spec.Name, fr.Changes, "sharedfolders", "systemd", "samba")
		if fr.Action == Created {
			res.Action = Created
		}
	}
	idx := slices.IndexFunc(privs, func(p Privilege) bool { return p.Type == "user" && p.Name == spec.Owner.Name })
	if idx < 0 || privs[idx].Perms != PermsReadWrite {
		oldPerms := ""
		if idx >= 0 {
			oldPerms = privs[idx].Perms.String()
			privs = slices.Delete(privs, idx, idx+1)
		}
		privs = append(privs, Privilege{Type: "user", Name: spec.Owner.Name, Perms: PermsReadWrite})
		if err := c.SharedFolders.SetPrivileges(ctx, folder.UUID, privs); err != nil {
			return fail(err)
		}
		mark("privileges of "+spec.Owner.Name+" on "+spec.Name,
			[]Change{{Field: "privilege of " + spec.Owner.Name, Old: oldPerms, New: PermsReadWrite.String()}}, "samba")
	}
	sr, err := c.SMB.ensureShare(ctx, folder.UUID, spec.SMB, shares)
	if err != nil {
		return fail(err)
	}
	sr.Share.Name = spec.Name
	res.Share = sr.Share
	if sr.Changed() {
		mark("smb share "+spec.Name, sr.Changes, "samba", "avahi")
	}
	if changed, err := c.Quotas.setUser(ctx, spec.Filesystem, spec.Owner.Name, spec.Quota, quotas); err != nil {
		return fail(err)
	} else if changed {
		mark("quota of "+spec.Owner.Name+" = "+formatLimit(spec.Quota), nil, "quota")
	}
	// Deploy what this run changed, plus our modules left dirty by an
	// earlier run whose apply failed or timed out.
	info, err := c.Info(ctx)
	if err != nil {
		return fail(err)
	}
	for _, m := range info.DirtyModules {
		if shareModules[m] {
			dirty[m] = true
		}
	}
	if len(dirty) == 0 {
		return res, nil
	}
	modules := make([]string, 0, len(dirty))
	for m := range dirty {
		modules = append(modules, m)
	}
	sort.Strings(modules)
	if err := c.Config.Apply(ctx, modules...); err != nil {
		return fail(err)
	}
	res.Applied = modules
	return res, nil
}
