package lab

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/thehomelab/homelab/backup"
	"github.com/thehomelab/homelab/proxmox/proxmoxtest"
)

// ArchiveSize is the size of every archive the node double holds: a small
// stand-in for the gigabytes proxmoxtest's vzdump reports, so the demo
// copies and hashes real bytes in milliseconds.
const ArchiveSize = 256 << 10

// zstdMagic starts every zstd frame (RFC 8878, section 3.1.1).
var zstdMagic = []byte{0x28, 0xB5, 0x2F, 0xFD}

// nodeFree is what df reports free on every directory of the double.
const nodeFree = 1 << 40

// Node is an in-process double of the Proxmox node's shell: the
// backup.Runner through which the two-step backup copies and verifies the
// NAS VM's archive on the node, so the demo needs neither sshd nor zstd.
//
// It implements exactly the commands backup.CopyVerified and backup.Apply
// send (test -d, stat -L -c %s, df --output=avail -B1, dd, sha256sum -b,
// zstd -q -t, mv -f -T, rm -f) over an in-memory file system, answering
// like GNU coreutils on a non-zero exit (a *backup.Error with Code "exit N"
// and the command's standard error as Message). Anything else exits 127,
// "command not found".
//
// The dump directories of the fake's storages (local: /var/lib/vz/dump,
// backups: /mnt/pve/backups/dump) follow proxmoxtest: an archive the fake
// lists appears in the directory on first access, with ArchiveSize bytes of
// content derived from its name (so the same archive always hashes the
// same); an archive the fake no longer lists (deleted or pruned through the
// API) is gone; an archive moved into a dump directory with mv is added to
// the fake's storage, as the real storage would list it.
//
// The double's archives are the zstd magic, the payload's length (8 bytes,
// little endian) and the payload. Its zstd -t accepts a file that starts
// with the magic and is as long as its header says: it catches a truncated
// copy, not a flipped byte (the SHA-256 comparison does). Node is safe for
// concurrent use.
type Node struct {
	srv  *proxmoxtest.Server
	dirs map[string]string // dump directory → storage ID

	mu      sync.Mutex
	files   map[string][]byte
	corrupt bool
	runs    [][]string
}

// newNode returns the double of srv's node, with srv's local and backups
// storages at their usual paths.
func newNode(srv *proxmoxtest.Server) *Node {
	return &Node{srv: srv, files: map[string][]byte{},
		dirs: map[string]string{"/var/lib/vz/dump": "local", "/mnt/pve/backups/dump": "backups"}}
}

// CorruptNextCopy flips a byte in what the next dd writes, as a flaky
// share would: the copy's SHA-256 then differs from the source's.
func (n *Node) CorruptNextCopy() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.corrupt = true
}

// File returns the content of the file at p, if it exists.
func (n *Node) File(p string) ([]byte, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	b, ok := n.lookup(p)
	return slices.Clone(b), ok
}

// Commands returns the commands run so far, each as its argv.
func (n *Node) Commands() [][]string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.runs)
}

// Run runs one command of the double; it implements backup.Runner.
func (n *Node) Run(ctx context.Context, argv ...string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(argv) == 0 || argv[0] == "" {
		return nil, &backup.Error{Op: "run", Message: "empty command", Err: backup.ErrInvalid}
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.runs = append(n.runs, slices.Clone(argv))
	out, code, stderr := n.exec(argv)
	if code != 0 {
		if stderr == "" {
			stderr = "exit status " + strconv.Itoa(code) // as backup.LocalRunner says it
		}
		return nil, &backup.Error{Op: "run " + strings.Join(argv, " "), Code: "exit " + strconv.Itoa(code), Message: stderr}
	}
	return []byte(out), nil
}

// exec runs argv; caller holds n.mu. It returns stdout, the exit status
// and stderr.
func (n *Node) exec(argv []string) (string, int, string) {
	cmd, args := argv[0], argv[1:]
	// operands drops the options and the "--" before the operands.
	operands := func(opts ...string) ([]string, bool) {
		for i, a := range args {
			if a == "--" {
				return args[i+1:], slices.Equal(args[:i], opts)
			}
		}
		return nil, false
	}
	switch cmd {
	case "test":
		if len(args) != 2 || args[0] != "-d" {
			return "", 2, "test: unsupported arguments"
		}
		if n.isDir(path.Clean(args[1])) {
			return "", 0, ""
		}
		return "", 1, ""
	case "stat":
		ps, ok := operands("-L", "-c", "%s")
		if !ok || len(ps) != 1 {
			return "", 1, "stat: unsupported arguments"
		}
		b, found := n.lookup(ps[0])
		if !found {
			return "", 1, fmt.Sprintf("stat: cannot statx '%s': No such file or directory", ps[0])
		}
		return strconv.Itoa(len(b)) + "\n", 0, ""
	case "df":
		ps, ok := operands("--output=avail", "-B1")
		if !ok || len(ps) != 1 {
			return "", 1, "df: unsupported arguments"
		}
		if !n.isDir(path.Clean(ps[0])) {
			return "", 1, fmt.Sprintf("df: %s: No such file or directory", ps[0])
		}
		return fmt.Sprintf("       Avail\n%12d\n", int64(nodeFree)), 0, ""
	case "sha256sum":
		ps, ok := operands("-b")
		if !ok || len(ps) != 1 {
			return "", 1, "sha256sum: unsupported arguments"
		}
		b, found := n.lookup(ps[0])
		if !found {
			return "", 1, fmt.Sprintf("sha256sum: %s: No such file or directory", ps[0])
		}
		sum := sha256.Sum256(b)
		return hex.EncodeToString(sum[:]) + " *" + ps[0] + "\n", 0, ""
	case "zstd":
		ps, ok := operands("-q", "-t")
		if !ok || len(ps) != 1 {
			return "", 1, "zstd: unsupported arguments"
		}
		b, found := n.lookup(ps[0])
		switch {
		case !found:
			return "", 1, fmt.Sprintf("zstd: can't stat %s : No such file or directory -- ignored", ps[0])
		case len(b) < 12 || string(b[:4]) != string(zstdMagic):
			return "", 1, fmt.Sprintf("zstd: %s: unsupported format", ps[0])
		case uint64(len(b)-12) != binary.LittleEndian.Uint64(b[4:12]):
			return "", 1, fmt.Sprintf("zstd: %s : Read error (39) : premature end", ps[0])
		}
		return "", 0, ""
	case "mv":
		ps, ok := operands("-f", "-T")
		if !ok || len(ps) != 2 {
			return "", 1, "mv: unsupported arguments"
		}
		b, found := n.lookup(ps[0])
		if !found {
			return "", 1, fmt.Sprintf("mv: cannot stat '%s': No such file or directory", ps[0])
		}
		if !n.isDir(path.Dir(path.Clean(ps[1]))) {
			return "", 1, fmt.Sprintf("mv: cannot move '%s' to '%s': No such file or directory", ps[0], ps[1])
		}
		delete(n.files, path.Clean(ps[0]))
		n.files[path.Clean(ps[1])] = b
		n.register(path.Clean(ps[1]), len(b))
		return "", 0, ""
	case "rm":
		ps, ok := operands("-f")
		if !ok {
			return "", 1, "rm: unsupported arguments"
		}
		for _, p := range ps {
			delete(n.files, path.Clean(p))
		}
		return "", 0, ""
	case "dd":
		return n.dd(args)
	}
	return "", 127, cmd + ": command not found"
}

// dd copies count bytes from if at skip to of at seek, the form
// CopyVerified sends (iflag=skip_bytes,count_bytes,fullblock,
// oflag=seek_bytes, conv=notrunc[,fsync]).
func (n *Node) dd(args []string) (string, int, string) {
	kv := map[string]string{}
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok {
			return "", 1, fmt.Sprintf("dd: unrecognized operand '%s'", a)
		}
		kv[k] = v
	}
	if kv["iflag"] != "skip_bytes,count_bytes,fullblock" || kv["oflag"] != "seek_bytes" || !strings.HasPrefix(kv["conv"], "notrunc") {
		return "", 1, "dd: unsupported flags"
	}
	num := func(k string) (int, bool) {
		v, err := strconv.Atoi(kv[k])
		return v, err == nil && v >= 0
	}
	skip, ok1 := num("skip")
	seek, ok2 := num("seek")
	count, ok3 := num("count")
	if !ok1 || !ok2 || !ok3 || kv["if"] == "" || kv["of"] == "" {
		return "", 1, "dd: invalid number or missing if=/of="
	}
	src, found := n.lookup(kv["if"])
	if !found {
		return "", 1, fmt.Sprintf("dd: failed to open '%s': No such file or directory", kv["if"])
	}
	dst := path.Clean(kv["of"])
	if !n.isDir(path.Dir(dst)) {
		return "", 1, fmt.Sprintf("dd: failed to open '%s': No such file or directory", kv["of"])
	}
	chunk := slices.Clone(src[min(skip, len(src)):min(skip+count, len(src))])
	if n.corrupt && len(chunk) > 0 {
		chunk[len(chunk)/2] ^= 0x01
		n.corrupt = false
	}
	out := n.files[dst]
	if len(out) < seek+len(chunk) {
		out = append(out, make([]byte, seek+len(chunk)-len(out))...)
	}
	copy(out[seek:], chunk)
	n.files[dst] = out
	return "", 0, ""
}

// isDir reports whether dir exists: a dump directory, one above it, or the
// directory of a file; caller holds n.mu.
func (n *Node) isDir(dir string) bool {
	for d := range n.dirs {
		if d == dir || strings.HasPrefix(d, dir+"/") || dir == "/" {
			return true
		}
	}
	for p := range n.files {
		if strings.HasPrefix(p, dir+"/") {
			return true
		}
	}
	return false
}

// lookup returns the file at p, keeping the dump directories in step with
// the fake's storages (see Node); caller holds n.mu.
func (n *Node) lookup(p string) ([]byte, bool) {
	p = path.Clean(p)
	b, ok := n.files[p]
	storage, archive := n.volume(p)
	if archive {
		listed := slices.Contains(n.srv.Backups(storage), storage+":backup/"+path.Base(p))
		switch {
		case ok && !listed:
			delete(n.files, p)
			return nil, false
		case !ok && listed:
			b = archiveContent(path.Base(p))
			n.files[p] = b
			return b, true
		}
	}
	return b, ok
}

// volume returns the storage whose dump directory holds p, and whether p
// is named like a vzdump archive.
func (n *Node) volume(p string) (string, bool) {
	storage, ok := n.dirs[path.Dir(p)]
	if !ok {
		return "", false
	}
	_, isArchive := backup.ParseArchiveName(path.Base(p), time.UTC)
	return storage, isArchive
}

// register adds an archive moved into a dump directory to the fake's
// storage; caller holds n.mu.
func (n *Node) register(p string, size int) {
	storage, archive := n.volume(p)
	if !archive || slices.Contains(n.srv.Backups(storage), storage+":backup/"+path.Base(p)) {
		return
	}
	a, _ := backup.ParseArchiveName(path.Base(p), time.UTC)
	n.srv.AddBackup(proxmoxtest.Backup{Storage: storage, VMID: a.VMID, Type: a.Type, Time: a.Time, Size: uint64(size), Name: path.Base(p)})
}

// archiveContent is the double's archive called name: the zstd magic, the
// payload length and ArchiveSize-12 bytes derived from name.
func archiveContent(name string) []byte {
	b := make([]byte, 0, ArchiveSize)
	b = append(b, zstdMagic...)
	b = binary.LittleEndian.AppendUint64(b, ArchiveSize-12)
	seed := sha256.Sum256([]byte(name))
	for i := uint64(0); len(b) < ArchiveSize; i++ {
		block := sha256.Sum256(binary.LittleEndian.AppendUint64(seed[:], i))
		b = append(b, block[:min(len(block), ArchiveSize-len(b))]...)
	}
	return b
}
