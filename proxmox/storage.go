package proxmox

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"sort"
	"strings"

	"github.com/thehomelab/homelab/secret"
)

// StorageService manages storage definitions and reads their status.
type StorageService struct{ c *Client }

// CIFSStorage is an SMB/CIFS storage definition.
type CIFSStorage struct {
	ID       string // storage id, e.g. "backups"
	Server   string // IP or DNS name
	Share    string
	Username string // empty for guest access
	// Password is write-only: PVE keeps it in its private credentials and
	// never returns it.
	Password   secret.Secret
	Domain     string
	SMBVersion string   // default, 2.0, 2.1, 3, 3.0, 3.11; empty = negotiate
	Subdir     string   // below the share
	Content    []string // e.g. backup
	Nodes      []string // restrict to nodes; empty = all
	// PruneBackups is the storage's retention; nil leaves it unset.
	PruneBackups *PruneSpec
	Options      string // extra mount options
}

// StorageConfig is a storage definition as PVE returns it (never with a
// password).
type StorageConfig struct {
	ID      string
	Type    string
	Content []string
	Shared  bool
	Digest  string
	// Raw holds every key.
	Raw map[string]string
}

var storageIDRE = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9\-_.]*[a-zA-Z0-9]$`)

// AddCIFS defines a CIFS storage. PVE mounts it on the local node before
// saving; a mount failure leaves nothing behind and comes back as an
// error. The password travels only in the form body.
//
// Proxmox API: POST /storage (type=cifs)
func (s *StorageService) AddCIFS(ctx context.Context, st CIFSStorage) error {
	op := "add cifs storage " + st.ID
	if !storageIDRE.MatchString(st.ID) {
		return refuse(op, ErrInvalid, "storage id %q", st.ID)
	}
	if st.Server == "" || st.Share == "" {
		return refuse(op, ErrInvalid, "server and share are required")
	}
	p := params{"storage": {st.ID}, "type": {"cifs"}, "server": {st.Server}, "share": {st.Share}}
	if st.Username != "" {
		p.Set("username", st.Username)
	}
	if !st.Password.IsZero() {
		p.Set("password", st.Password.Reveal())
	}
	if st.Domain != "" {
		p.Set("domain", st.Domain)
	}
	if st.SMBVersion != "" {
		p.Set("smbversion", st.SMBVersion)
	}
	if st.Subdir != "" {
		p.Set("subdir", st.Subdir)
	}
	if len(st.Content) > 0 {
		p.Set("content", strings.Join(st.Content, ","))
	}
	if len(st.Nodes) > 0 {
		p.Set("nodes", strings.Join(st.Nodes, ","))
	}
	if st.PruneBackups != nil {
		p.Set("prune-backups", st.PruneBackups.String())
	}
	if st.Options != "" {
		p.Set("options", st.Options)
	}
	var raw jsonRaw
	return opError(op, s.c.call(ctx, nil, http.MethodPost, "/storage", p, &raw, nil))
}

// Get reads a storage definition.
//
// Proxmox API: GET /storage/{storage}
func (s *StorageService) Get(ctx context.Context, id string) (StorageConfig, error) {
	op := "read storage " + id
	if !storageIDRE.MatchString(id) {
		return StorageConfig{}, refuse(op, ErrInvalid, "storage id %q", id)
	}
	var raw rawConfig
	if err := s.c.call(ctx, nil, http.MethodGet, "/storage/"+id, nil, &raw, nil); err != nil {
		return StorageConfig{}, opError(op, err)
	}
	return storageConfig(raw), nil
}

func storageConfig(raw rawConfig) StorageConfig {
	delete(raw, "password") // never surface one, should a server send it
	sh, _ := parsePropBool(raw["shared"])
	return StorageConfig{ID: raw["storage"], Type: raw["type"], Content: splitList(raw["content"]), Shared: sh,
		Digest: raw["digest"], Raw: map[string]string(raw)}
}

// List reads every storage definition, optionally of one type.
//
// Proxmox API: GET /storage
func (s *StorageService) List(ctx context.Context, typ string) ([]StorageConfig, error) {
	var p params
	if typ != "" {
		p = params{"type": {typ}}
	}
	var raws []rawConfig
	if err := s.c.call(ctx, nil, http.MethodGet, "/storage", p, &raws, nil); err != nil {
		return nil, opError("list storage", err)
	}
	out := make([]StorageConfig, 0, len(raws))
	for _, r := range raws {
		out = append(out, storageConfig(r))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Remove deletes a storage definition (data on it is left alone).
//
// Proxmox API: DELETE /storage/{storage}
func (s *StorageService) Remove(ctx context.Context, id string) error {
	op := "remove storage " + id
	if !storageIDRE.MatchString(id) {
		return refuse(op, ErrInvalid, "storage id %q", id)
	}
	var raw jsonRaw
	return opError(op, s.c.call(ctx, nil, http.MethodDelete, "/storage/"+id, nil, &raw, nil))
}

// StorageStatus is a storage's state and usage on one node.
type StorageStatus struct {
	Node                    string
	ID                      string
	Type                    string
	Content                 []string
	Enabled, Active, Shared bool
	Total, Used, Avail      uint64
}

type storageStatusWire struct {
	Storage string `json:"storage"`
	Type    string `json:"type"`
	Content string `json:"content"`
	Enabled num    `json:"enabled"`
	Active  num    `json:"active"`
	Shared  num    `json:"shared"`
	Total   num    `json:"total"`
	Used    num    `json:"used"`
	Avail   num    `json:"avail"`
}

func (w storageStatusWire) status(node, id string) StorageStatus {
	return StorageStatus{Node: node, ID: id, Type: w.Type, Content: splitList(w.Content), Enabled: w.Enabled.bool(),
		Active: w.Active.bool(), Shared: w.Shared.bool(), Total: w.Total.u64(), Used: w.Used.u64(), Avail: w.Avail.u64()}
}

// Status reads one storage's state and usage as a node sees it. (go-proxmox
// v0.8.2 reads the wrong path for this.)
//
// Proxmox API: GET /nodes/{node}/storage/{storage}/status
func (s *StorageService) Status(ctx context.Context, node, id string) (StorageStatus, error) {
	op := "status of storage " + id + " on " + node
	if err := checkNode(op, node); err != nil {
		return StorageStatus{}, err
	}
	if !storageIDRE.MatchString(id) {
		return StorageStatus{}, refuse(op, ErrInvalid, "storage id %q", id)
	}
	var w storageStatusWire
	if err := s.c.call(ctx, nil, http.MethodGet, "/nodes/"+node+"/storage/"+id+"/status", nil, &w, nil); err != nil {
		return StorageStatus{}, opError(op, err)
	}
	return w.status(node, id), nil
}

// Usage lists every storage a node sees, optionally only those holding
// the given content type ("backup").
//
// Proxmox API: GET /nodes/{node}/storage
func (s *StorageService) Usage(ctx context.Context, node, content string) ([]StorageStatus, error) {
	op := "list storage of " + node
	if err := checkNode(op, node); err != nil {
		return nil, err
	}
	var p params
	if content != "" {
		p = params{"content": {content}}
	}
	var ws []storageStatusWire
	if err := s.c.call(ctx, nil, http.MethodGet, "/nodes/"+node+"/storage", p, &ws, nil); err != nil {
		return nil, opError(op, err)
	}
	out := make([]StorageStatus, 0, len(ws))
	for _, w := range ws {
		out = append(out, w.status(node, w.Storage))
	}
	return out, nil
}

func (st CIFSStorage) wire() map[string]string {
	m := map[string]string{"username": st.Username, "domain": st.Domain,
		"smbversion": st.SMBVersion, "subdir": st.Subdir, "content": strings.Join(st.Content, ","),
		"nodes": strings.Join(st.Nodes, ","), "options": st.Options, "prune-backups": ""}
	if st.PruneBackups != nil {
		m["prune-backups"] = st.PruneBackups.String()
	}
	return m
}

// sameList compares comma lists as sets.
func sameList(a, b string) bool {
	x, y := splitList(a), splitList(b)
	sort.Strings(x)
	sort.Strings(y)
	return strings.Join(x, ",") == strings.Join(y, ",")
}

// CIFSResult is what EnsureCIFS did.
type CIFSResult struct {
	// Storage is the storage as it now is (as requested; the password is
	// never read back).
	Storage CIFSStorage
	// Action is Created, Updated or Unchanged.
	Action Action
	// Changes lists the settings sent, with old and new values; the
	// password never appears.
	Changes []Change
}

// Changed reports whether anything was sent.
func (r CIFSResult) Changed() bool { return r.Action != Unchanged }

// EnsureCIFS creates the CIFS storage if it is missing, and otherwise
// updates only the settings that differ (content and nodes compared as
// sets, empty fields deleted). The password is sent when the storage is
// created, never compared (PVE does not return it); rotate it with
// SetPassword. The share cannot change in place: a different share is
// ErrConflict. Nothing to change sends nothing.
//
// Proxmox API: GET /storage/{storage}, POST /storage, PUT /storage/{storage}
func (s *StorageService) EnsureCIFS(ctx context.Context, st CIFSStorage) (CIFSResult, error) {
	op := "ensure cifs storage " + st.ID
	res := CIFSResult{Storage: st}
	res.Storage.Password = secret.Secret{}
	cur, err := s.Get(ctx, st.ID)
	if err != nil {
		if !errors.Is(err, ErrNotFound) {
			return CIFSResult{}, opError(op, err)
		}
		if err := s.AddCIFS(ctx, st); err != nil {
			return CIFSResult{}, err
		}
		want := st.wire()
		want["server"], want["share"], want["storage"] = st.Server, st.Share, st.ID
		res.Action, res.Changes = Created, createChanges(want)
		return res, nil
	}
	if cur.Type != "cifs" {
		return CIFSResult{}, refuse(op, ErrConflict, "storage %s exists with type %s", st.ID, cur.Type)
	}
	// server and share are "fixed" in PVE's CIFS plugin: set on create only.
	if cur.Raw["share"] != st.Share {
		return CIFSResult{}, refuse(op, ErrConflict, "storage %s uses share %q, not %q; remove it first", st.ID, cur.Raw["share"], st.Share)
	}
	if cur.Raw["server"] != st.Server {
		return CIFSResult{}, refuse(op, ErrConflict, "storage %s uses server %q, not %q; remove it first", st.ID, cur.Raw["server"], st.Server)
	}
	res.Changes = DiffConfig(cur.Raw, st.wire(), func(k, have, want string) bool {
		switch k {
		case "content", "nodes":
			return sameList(have, want)
		case "prune-backups":
			hp, err := parsePruneSpec(have)
			return want != "" && err == nil && hp.String() == want
		}
		return false
	})
	if len(res.Changes) == 0 {
		return res, nil
	}
	res.Action = Updated
	p := changeParams(res.Changes)
	p.Set("digest", cur.Digest)
	var raw jsonRaw
	if err := s.c.call(ctx, nil, http.MethodPut, "/storage/"+st.ID, p, &raw, nil); err != nil {
		return CIFSResult{}, opError(op, err)
	}
	return res, nil
}

// SetPassword replaces a CIFS storage's password.
//
// Proxmox API: PUT /storage/{storage}
func (s *StorageService) SetPassword(ctx context.Context, id string, password secret.Secret) error {
	op := "set password of storage " + id
	if !storageIDRE.MatchString(id) {
		return refuse(op, ErrInvalid, "storage id %q", id)
	}
	if password.IsZero() {
		return refuse(op, ErrInvalid, "empty password")
	}
	var raw jsonRaw
	return opError(op, s.c.call(ctx, nil, http.MethodPut, "/storage/"+id, params{"password": {password.Reveal()}}, &raw, nil))
}
