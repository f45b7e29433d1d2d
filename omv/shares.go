package omv

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/thehomelab/homelab/secret"
)

// NewObjectUUID is OMV's sentinel UUID: passed to a set method it creates
// a new object.
const NewObjectUUID = "fa4b1c66-ef79-11e5-87a0-0002b3a176b4"

// SharedFolderService manages shared folders.
type SharedFolderService struct{ c *Client }

// SharedFolder is a directory on a filesystem that services can share.
type SharedFolder struct {
	UUID       string
	Name       string
	MountPoint string // UUID of the mount-point config object (mntentref)
	RelDirPath string // relative to the filesystem root, ends in "/"
	Comment    string
	// Mode is the directory mode OMV set when it created the directory
	// (e.g. "775"). OMV does not store it, so only the reply of a create
	// carries it; List reports "".
	Mode string

	fsName, fsDir string // from getList's mntent, to skip a lookup
}

// SharedFolderSpec describes a wanted shared folder. On creation empty
// fields mean OMV's defaults (RelDirPath = Name + "/", Mode "775"); on an
// existing folder an empty RelDirPath leaves the current one. Mode only
// applies when the folder is created: OMV chmods a directory it creates
// and keeps no mode in its database, so it can neither report nor change
// the mode of an existing folder.
type SharedFolderSpec struct {
	Name       string
	MountPoint string // mntentref; see FilesystemService.MountPoint
	RelDirPath string
	Comment    string
	Mode       string
}

type rawFolder struct {
	UUID       string `json:"uuid"`
	Name       string `json:"name"`
	MntEntRef  string `json:"mntentref"`
	RelDirPath string `json:"reldirpath"`
	Comment    string `json:"comment"`
	Mode       string `json:"mode"`
	MntEnt     struct {
		FsName string `json:"fsname"`
		Dir    string `json:"dir"`
	} `json:"mntent"`
}

// List returns all shared folders.
//
// OMV API: ShareMgmt.getList {start: 0, limit: null}
func (s *SharedFolderService) List(ctx context.Context) ([]SharedFolder, error) {
	var res struct {
		Data []rawFolder `json:"data"`
	}
	if err := s.c.call(ctx, callOpts{read: true}, "ShareMgmt", "getList", getlist(), &res); err != nil {
		return nil, wrap("list shared folders", err)
	}
	out := make([]SharedFolder, 0, len(res.Data))
	for _, r := range res.Data {
		out = append(out, SharedFolder{UUID: r.UUID, Name: r.Name, MountPoint: r.MntEntRef, RelDirPath: r.RelDirPath,
			Comment: r.Comment, Mode: r.Mode, fsName: r.MntEnt.FsName, fsDir: r.MntEnt.Dir})
	}
	return out, nil
}

// onFilesystem reports whether the folder's mount point (as getList
// describes it) belongs to the filesystem with that UUID.
func (f SharedFolder) onFilesystem(fsUUID string) bool {
	return fsUUID != "" && mountMatches(f.fsName, f.fsDir, fsUUID)
}

func mountMatches(fsname, dir, fsUUID string) bool {
	return fsname == fsUUID || strings.HasSuffix(fsname, "/"+fsUUID) || strings.HasSuffix(dir, "-"+fsUUID)
}

func (s *SharedFolderService) byName(ctx context.Context, name string) (SharedFolder, bool, error) {
	all, err := s.List(ctx)
	if err != nil {
		return SharedFolder{}, false, err
	}
	for _, f := range all {
		if f.Name == name {
			return f, true, nil
		}
	}
	return SharedFolder{}, false, nil
}

// Ensure creates the shared folder or updates it to match spec, by name,
// and reports what it wrote.
//
// OMV API: ShareMgmt.getList, ShareMgmt.set
func (s *SharedFolderService) Ensure(ctx context.Context, spec SharedFolderSpec) (SharedFolderResult, error) {
	cur, found, err := s.byName(ctx, spec.Name)
	if err != nil {
		return SharedFolderResult{}, wrap("ensure shared folder "+spec.Name, err)
	}
	return s.ensure(ctx, spec, cur, found)
}

func (s *SharedFolderService) ensure(ctx context.Context, spec SharedFolderSpec, cur SharedFolder, found bool) (SharedFolderResult, error) {
	if spec.Name == "" || spec.MountPoint == "" {
		return SharedFolderResult{}, errf("ensure shared folder", ErrInvalid, "name and mount point are required")
	}
	res := SharedFolderResult{Action: Created}
	rel := spec.RelDirPath
	if rel != "" && !strings.HasSuffix(rel, "/") {
		rel += "/"
	}
	p := map[string]any{"uuid": NewObjectUUID, "name": spec.Name, "comment": spec.Comment, "mntentref": spec.MountPoint}
	if found {
		if rel == "" {
			rel = cur.RelDirPath
		}
		// The mode is not compared: OMV does not keep it (see SharedFolderSpec).
		res.Changes = diff(res.Changes, "mount point", cur.MountPoint, spec.MountPoint)
		res.Changes = diff(res.Changes, "relative path", cur.RelDirPath, rel)
		res.Changes = diff(res.Changes, "comment", cur.Comment, spec.Comment)
		if len(res.Changes) == 0 {
			return SharedFolderResult{Folder: cur}, nil
		}
		res.Action = Updated
		p["uuid"] = cur.UUID
	} else {
		res.Changes = []Change{{Field: "shared folder", New: spec.Name}}
		if rel == "" {
			rel = spec.Name + "/"
		}
		p["mode"] = spec.Mode
		if spec.Mode == "" {
			p["mode"] = "775"
		}
	}
	p["reldirpath"] = rel
	var r rawFolder
	err := s.c.call(ctx, callOpts{}, "ShareMgmt", "set", p, &r)
	if err != nil {
		return SharedFolderResult{}, wrap("ensure shared folder "+spec.Name, err)
	}
	res.Folder = SharedFolder{UUID: r.UUID, Name: r.Name, MountPoint: r.MntEntRef, RelDirPath: r.RelDirPath,
		Comment: r.Comment, Mode: r.Mode}
	return res, nil
}

// Delete removes the shared folder by name; with recursive it also deletes
// the content. OMV refuses while an SMB share references it (ErrConflict).
// A missing folder is not an error and reports false.
//
// OMV API: ShareMgmt.delete {uuid, recursive}
func (s *SharedFolderService) Delete(ctx context.Context, name string, recursive bool) (bool, error) {
	cur, found, err := s.byName(ctx, name)
	if err != nil || !found {
		return false, err
	}
	if err := s.c.call(ctx, callOpts{}, "ShareMgmt", "delete", map[string]any{"uuid": cur.UUID, "recursive": recursive}, nil); err != nil {
		return false, wrap(fmt.Sprintf("delete shared folder %s", name), err)
	}
	return true, nil
}

// Perms is an access level on a shared folder.
type Perms int

// Access levels used by ShareMgmt privileges.
const (
	PermsNone      Perms = 0
	PermsRead      Perms = 5
	PermsReadWrite Perms = 7
)

// String returns "none", "read" or "read/write".
func (p Perms) String() string {
	switch p {
	case PermsNone:
		return "none"
	case PermsRead:
		return "read"
	case PermsReadWrite:
		return "read/write"
	}
	return strconv.Itoa(int(p))
}

// Privilege grants a user or group access to a shared folder.
type Privilege struct {
	Type  string // "user" or "group"
	Name  string
	Perms Perms
}

// Privileges returns the explicitly set privileges of a shared folder.
//
// OMV API: ShareMgmt.getPrivileges {uuid}
func (s *SharedFolderService) Privileges(ctx context.Context, uuid string) ([]Privilege, error) {
	var raw []struct {
		Type  string `json:"type"`
		Name  string `json:"name"`
		Perms *int   `json:"perms"`
	}
	if err := s.c.call(ctx, callOpts{read: true}, "ShareMgmt", "getPrivileges", map[string]any{"uuid": uuid}, &raw); err != nil {
		return nil, wrap("shared folder privileges", err)
	}
	var out []Privilege
	for _, p := range raw {
		if p.Perms != nil {
			out = append(out, Privilege{Type: p.Type, Name: p.Name, Perms: Perms(*p.Perms)})
		}
	}
	return out, nil
}

// SetPrivileges replaces the privileges of a shared folder.
//
// OMV API: ShareMgmt.setPrivileges {uuid, privileges}
func (s *SharedFolderService) SetPrivileges(ctx context.Context, uuid string, privs []Privilege) error {
	list := make([]map[string]any, 0, len(privs))
	for _, p := range privs {
		list = append(list, map[string]any{"type": p.Type, "name": p.Name, "perms": int(p.Perms)})
	}
	if err := s.c.call(ctx, callOpts{}, "ShareMgmt", "setPrivileges", map[string]any{"uuid": uuid, "privileges": list}, nil); err != nil {
		return wrap("set shared folder privileges", err)
	}
	return nil
}

// MountPoint returns the UUID of the mount-point config object of the
// filesystem with the given filesystem UUID (what shared folders call
// mntentref). Not to be confused with the filesystem UUID itself.
//
// OMV API: FsTab.enumerateEntries
func (s *FilesystemService) MountPoint(ctx context.Context, fsUUID string) (string, error) {
	var entries []struct {
		UUID   string `json:"uuid"`
		FsName string `json:"fsname"`
		Dir    string `json:"dir"`
	}
	if err := s.c.call(ctx, callOpts{read: true}, "FsTab", "enumerateEntries", nil, &entries); err != nil {
		return "", wrap(fmt.Sprintf("mount point of %s", fsUUID), err)
	}
	for _, e := range entries {
		if mountMatches(e.FsName, e.Dir, fsUUID) {
			return e.UUID, nil
		}
	}
	return "", errf("mount point of filesystem "+fsUUID, ErrNotFound, "no mount point configured")
}

// SMBService manages Samba.
type SMBService struct{ c *Client }

// SMBSettings are the global Samba settings OMV exposes.
type SMBSettings struct {
	Enable       bool
	Workgroup    string
	ServerString string
	// Raw holds every field OMV returned, so SetSettings can send back the
	// fields this type does not model.
	Raw map[string]any
}

var smbSettingsFields = []string{"enable", "workgroup", "serverstring", "loglevel", "usesendfile", "aio",
	"timeserver", "winssupport", "winsserver", "homesenable", "homesbrowseable", "extraoptions"}

// Settings reads the global Samba settings.
//
// OMV API: SMB.getSettings
func (s *SMBService) Settings(ctx context.Context) (SMBSettings, error) {
	var raw map[string]any
	if err := s.c.call(ctx, callOpts{read: true}, "SMB", "getSettings", nil, &raw); err != nil {
		return SMBSettings{}, wrap("smb settings", err)
	}
	st := SMBSettings{Raw: raw}
	st.Enable, _ = raw["enable"].(bool)
	st.Workgroup, _ = raw["workgroup"].(string)
	st.ServerString, _ = raw["serverstring"].(string)
	return st, nil
}

// SetSettings writes the global Samba settings (marks samba dirty).
//
// OMV API: SMB.setSettings
func (s *SMBService) SetSettings(ctx context.Context, st SMBSettings) error {
	p := map[string]any{}
	for _, k := range smbSettingsFields {
		if v, ok := st.Raw[k]; ok {
			p[k] = v
		}
	}
	p["enable"], p["workgroup"], p["serverstring"] = st.Enable, st.Workgroup, st.ServerString
	if err := s.c.call(ctx, callOpts{}, "SMB", "setSettings", p, nil); err != nil {
		return wrap("set smb settings", err)
	}
	return nil
}

// GuestMode is the SMB guest access of a share.
type GuestMode string

// Guest modes; the zero value means "no".
const (
	GuestNo    GuestMode = "no"
	GuestAllow GuestMode = "allow"
	GuestOnly  GuestMode = "only"
)

// SMBShare is an SMB share; its share name is the shared folder's name.
type SMBShare struct {
	UUID         string
	SharedFolder string // shared folder UUID
	Name         string // shared folder name
	Enable       bool
	ReadOnly     bool
	Browseable   bool
	Guest        GuestMode
	RecycleBin   bool
	Comment      string
}

// SMBShareOptions are the wanted share settings; the zero value is an
// enabled, browseable, writable share without guests and recycle bin.
type SMBShareOptions struct {
	ReadOnly   bool
	Unlisted   bool // browseable = no
	Guest      GuestMode
	RecycleBin bool
	Comment    string
}

var smbShareFields = []string{"uuid", "enable", "sharedfolderref", "comment", "guest", "readonly", "browseable",
	"recyclebin", "recyclemaxsize", "recyclemaxage", "hidedotfiles", "inheritacls", "inheritpermissions",
	"easupport", "storedosattributes", "hostsallow", "hostsdeny", "audit", "extraoptions"}

type rawSMBShare map[string]any

func (r rawSMBShare) share() SMBShare {
	sh := SMBShare{}
	sh.UUID, _ = r["uuid"].(string)
	sh.SharedFolder, _ = r["sharedfolderref"].(string)
	sh.Name, _ = r["sharedfoldername"].(string)
	sh.Enable, _ = r["enable"].(bool)
	sh.ReadOnly, _ = r["readonly"].(bool)
	sh.Browseable, _ = r["browseable"].(bool)
	g, _ := r["guest"].(string)
	sh.Guest = GuestMode(g)
	sh.RecycleBin, _ = r["recyclebin"].(bool)
	sh.Comment, _ = r["comment"].(string)
	return sh
}

// Shares lists the SMB shares.
//
// OMV API: SMB.getShareList {start: 0, limit: null}
func (s *SMBService) Shares(ctx context.Context) ([]SMBShare, error) {
	raw, err := s.rawShares(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]SMBShare, 0, len(raw))
	for _, r := range raw {
		out = append(out, r.share())
	}
	return out, nil
}

func (s *SMBService) rawShares(ctx context.Context) ([]rawSMBShare, error) {
	var res struct {
		Data []rawSMBShare `json:"data"`
	}
	if err := s.c.call(ctx, callOpts{read: true}, "SMB", "getShareList", getlist(), &res); err != nil {
		return nil, wrap("list smb shares", err)
	}
	return res.Data, nil
}

// EnsureShare creates or updates the SMB share of a shared folder (OMV
// allows one per folder) and reports what it wrote. It is SMB's Ensure
// for shares (the service also holds the global settings); the composite
// that also makes the folder, user and quota is Client.ProvisionShare.
//
// OMV API: SMB.getShareList, SMB.setShare
func (s *SMBService) EnsureShare(ctx context.Context, sharedFolderUUID string, o SMBShareOptions) (SMBShareResult, error) {
	raw, err := s.rawShares(ctx)
	if err != nil {
		return SMBShareResult{}, wrap("ensure smb share", err)
	}
	return s.ensureShare(ctx, sharedFolderUUID, o, raw)
}

// smbFields names the compared share fields in Changes, in a stable order.
var smbFields = []struct{ key, name string }{{"enable", "enable"}, {"readonly", "read only"},
	{"browseable", "browseable"}, {"guest", "guest"}, {"recyclebin", "recycle bin"}, {"comment", "comment"}}

func (s *SMBService) ensureShare(ctx context.Context, folder string, o SMBShareOptions, raw []rawSMBShare) (SMBShareResult, error) {
	if o.Guest == "" {
		o.Guest = GuestNo
	}
	var cur rawSMBShare
	for _, r := range raw {
		if r.share().SharedFolder == folder {
			cur = r
		}
	}
	want := map[string]any{"enable": true, "readonly": o.ReadOnly, "browseable": !o.Unlisted,
		"guest": string(o.Guest), "recyclebin": o.RecycleBin, "comment": o.Comment}
	p := map[string]any{"uuid": NewObjectUUID, "sharedfolderref": folder, "recyclemaxsize": 0, "recyclemaxage": 0,
		"hidedotfiles": true, "inheritacls": true, "inheritpermissions": false, "easupport": false,
		"storedosattributes": false, "hostsallow": "", "hostsdeny": "", "audit": false, "extraoptions": ""}
	res := SMBShareResult{Action: Created, Changes: []Change{{Field: "smb share of shared folder", New: folder}}}
	if cur != nil {
		res = SMBShareResult{Action: Updated}
		for _, f := range smbFields {
			if cur[f.key] != want[f.key] {
				res.Changes = append(res.Changes, Change{Field: f.name, Old: fmt.Sprint(cur[f.key]), New: fmt.Sprint(want[f.key])})
			}
		}
		if len(res.Changes) == 0 {
			return SMBShareResult{Share: cur.share()}, nil
		}
		for _, k := range smbShareFields {
			if v, ok := cur[k]; ok {
				p[k] = v
			}
		}
	}
	for k, v := range want {
		p[k] = v
	}
	var r rawSMBShare
	if err := s.c.call(ctx, callOpts{}, "SMB", "setShare", p, &r); err != nil {
		return SMBShareResult{}, wrap("ensure smb share", err)
	}
	res.Share = r.share()
	return res, nil
}

// DeleteShare removes an SMB share by its UUID.
//
// OMV API: SMB.deleteShare {uuid}
func (s *SMBService) DeleteShare(ctx context.Context, uuid string) error {
	if err := s.c.call(ctx, callOpts{}, "SMB", "deleteShare", map[string]any{"uuid": uuid}, nil); err != nil {
		return wrap("delete smb share", err)
	}
	return nil
}

// UserService manages users and groups.
type UserService struct{ c *Client }

// User is an OMV (Unix + Samba) user account.
type User struct {
	Name    string
	UID     int
	Email   string
	Groups  []string
	Comment string
}

// UserSpec is a wanted user. Password is set when the user is created, and
// on an existing user only when ResetPassword is true (OMV cannot report
// whether a password matches). On an existing user an empty Email or
// Comment and nil Groups leave the current values; a non-nil empty Groups
// clears the groups.
type UserSpec struct {
	Name          string
	Password      secret.Secret
	ResetPassword bool
	Email         string
	Groups        []string
	Comment       string
}

type rawUser struct {
	Name            string   `json:"name"`
	UID             flexInt  `json:"uid"`
	Email           string   `json:"email"`
	Groups          []string `json:"groups"`
	Comment         string   `json:"comment"`
	DisallowUserMod bool     `json:"disallowusermod"`
	SSHPubKeys      []string `json:"sshpubkeys"`
}

func (r rawUser) user() User {
	return User{Name: r.Name, UID: int(r.UID), Email: r.Email, Groups: r.Groups, Comment: r.Comment}
}

// Get reads one user; ErrNotFound if it does not exist.
//
// OMV API: UserMgmt.getUser {name}
func (s *UserService) Get(ctx context.Context, name string) (User, error) {
	r, err := s.get(ctx, name)
	return r.user(), err
}

func (s *UserService) get(ctx context.Context, name string) (rawUser, error) {
	var r rawUser
	if err := s.c.call(ctx, callOpts{read: true}, "UserMgmt", "getUser", map[string]any{"name": name}, &r); err != nil {
		return rawUser{}, wrap(fmt.Sprintf("get user %s", name), err)
	}
	return r, nil
}

// List returns the non-system users.
//
// OMV API: UserMgmt.getUserList {start: 0, limit: null}
func (s *UserService) List(ctx context.Context) ([]User, error) {
	var res struct {
		Data []rawUser `json:"data"`
	}
	if err := s.c.call(ctx, callOpts{read: true}, "UserMgmt", "getUserList", getlist(), &res); err != nil {
		return nil, wrap("list users", err)
	}
	out := make([]User, 0, len(res.Data))
	for _, r := range res.Data {
		out = append(out, r.user())
	}
	return out, nil
}

func sameSet(a, b []string) bool {
	x, y := slices.Clone(a), slices.Clone(b)
	sort.Strings(x)
	sort.Strings(y)
	x, y = slices.Compact(x), slices.Compact(y)
	return slices.Equal(x, y)
}

// Ensure creates the user or updates email, groups and comment (compared
// as sets) and reports whether it wrote anything. OMV applies user changes
// at once, Samba account included.
//
// OMV API: UserMgmt.getUserList {search: name}, UserMgmt.setUser
func (s *UserService) Ensure(ctx context.Context, spec UserSpec) (UserResult, error) {
	cur, found, err := s.lookup(ctx, spec.Name)
	if err != nil {
		return UserResult{}, wrap("ensure user "+spec.Name, err)
	}
	return s.ensure(ctx, spec, cur, found)
}

// lookup finds a non-system user by exact name in the user list, which
// does not depend on the wording of OMV's "does not exist" error.
func (s *UserService) lookup(ctx context.Context, name string) (rawUser, bool, error) {
	p := getlist()
	p["search"] = name
	var res struct {
		Data []rawUser `json:"data"`
	}
	if err := s.c.call(ctx, callOpts{read: true}, "UserMgmt", "getUserList", p, &res); err != nil {
		return rawUser{}, false, wrap(fmt.Sprintf("look up user %s", name), err)
	}
	for _, u := range res.Data {
		if u.Name == name {
			return u, true, nil
		}
	}
	return rawUser{}, false, nil
}

func (s *UserService) ensure(ctx context.Context, spec UserSpec, cur rawUser, found bool) (UserResult, error) {
	res := UserResult{Action: Created, Changes: []Change{{Field: "user", New: spec.Name}}}
	pw := ""
	keys, dis := []string{}, false
	if found {
		if spec.Groups == nil {
			spec.Groups = cur.Groups
		}
		if spec.Email == "" {
			spec.Email = cur.Email
		}
		if spec.Comment == "" {
			spec.Comment = cur.Comment
		}
		res = UserResult{Action: Updated}
		res.Changes = diff(res.Changes, "email", cur.Email, spec.Email)
		res.Changes = setDiff(res.Changes, "group", cur.Groups, spec.Groups)
		res.Changes = diff(res.Changes, "comment", cur.Comment, spec.Comment)
		if spec.ResetPassword {
			res.Changes = append(res.Changes, Change{Field: "password reset"})
		}
		if len(res.Changes) == 0 {
			return UserResult{User: cur.user()}, nil
		}
		if cur.SSHPubKeys != nil {
			keys = cur.SSHPubKeys
		}
		dis = cur.DisallowUserMod
		if spec.ResetPassword {
			pw = spec.Password.Reveal()
		}
	} else {
		if spec.Password.IsZero() {
			return UserResult{}, errf("create user "+spec.Name, ErrInvalid, "a password is required")
		}
		pw = spec.Password.Reveal()
	}
	if spec.Groups == nil {
		spec.Groups = []string{}
	}
	var r rawUser
	err := s.c.call(ctx, callOpts{}, "UserMgmt", "setUser", map[string]any{"name": spec.Name, "groups": spec.Groups,
		"password": pw, "email": spec.Email, "comment": spec.Comment, "disallowusermod": dis, "sshpubkeys": keys}, &r)
	if err != nil {
		return UserResult{}, wrap("ensure user "+spec.Name, err)
	}
	res.User = r.user()
	return res, nil
}

// Delete removes a user (Unix and Samba account). A missing user reports
// false and no error.
//
// OMV API: UserMgmt.deleteUser {name}
func (s *UserService) Delete(ctx context.Context, name string) (bool, error) {
	err := s.c.call(ctx, callOpts{}, "UserMgmt", "deleteUser", map[string]any{"name": name}, nil)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, wrap(fmt.Sprintf("delete user %s", name), err)
	}
	return true, nil
}

// Group is a user group.
type Group struct {
	Name    string
	GID     int
	Members []string
	Comment string
}

// EnsureGroup creates the group or sets its members (compared as sets)
// and reports what it wrote.
//
// OMV API: UserMgmt.getGroup, UserMgmt.setGroup
func (s *UserService) EnsureGroup(ctx context.Context, name string, members ...string) (GroupResult, error) {
	if members == nil {
		members = []string{}
	}
	var cur struct {
		Name    string   `json:"name"`
		GID     flexInt  `json:"gid"`
		Members []string `json:"members"`
		Comment string   `json:"comment"`
	}
	err := s.c.call(ctx, callOpts{read: true}, "UserMgmt", "getGroup", map[string]any{"name": name}, &cur)
	if err == nil && sameSet(cur.Members, members) {
		return GroupResult{Group: Group{Name: cur.Name, GID: int(cur.GID), Members: cur.Members, Comment: cur.Comment}}, nil
	}
	if err != nil && !errors.Is(err, ErrNotFound) {
		return GroupResult{}, wrap("ensure group "+name, err)
	}
	res := GroupResult{Action: Created, Changes: []Change{{Field: "group", New: name}}}
	if err == nil {
		res = GroupResult{Action: Updated, Changes: setDiff(nil, "member", cur.Members, members)}
	}
	if err := s.c.call(ctx, callOpts{}, "UserMgmt", "setGroup", map[string]any{"name": name, "comment": cur.Comment,
		"members": members}, &cur); err != nil {
		return GroupResult{}, wrap("ensure group "+name, err)
	}
	res.Group = Group{Name: cur.Name, GID: int(cur.GID), Members: cur.Members, Comment: cur.Comment}
	return res, nil
}

// DeleteGroup removes an empty group. A missing group reports false.
//
// OMV API: UserMgmt.deleteGroup {name}
func (s *UserService) DeleteGroup(ctx context.Context, name string) (bool, error) {
	err := s.c.call(ctx, callOpts{}, "UserMgmt", "deleteGroup", map[string]any{"name": name}, nil)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, wrap(fmt.Sprintf("delete group %s", name), err)
	}
	return true, nil
}
