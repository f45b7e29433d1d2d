package backup

// This file is a stand-in for the node side (runner.go, copy.go, offsite.go,
// mail.go on branch v-backup-node) so that this branch builds on its own.
// It holds only the agreed declarations; the lead deletes it at merge.

import (
	"context"

	"github.com/thehomelab/homelab/secret"
)

var errNotBuilt = &Error{Op: "node side", Message: "not built yet", Err: ErrUnavailable}

// Runner runs one command on a Proxmox node and returns its standard output;
// a non-zero exit is an error carrying stderr.
type Runner interface {
	Run(ctx context.Context, argv ...string) ([]byte, error)
}

// CopyOptions tunes CopyVerified.
type CopyOptions struct {
	Sidecars bool
	Progress func(done, total int64)
}

// CopyResult is a verified copy.
type CopyResult struct {
	Path     string
	Size     int64
	SHA256   string
	Sidecars []string
}

// CopyVerified copies src (an archive path on the node) and its sidecars
// into dstDir under a temporary name, verifies size + SHA-256 on both sides
// + zstd -t for .zst, then renames into place. On any failure it removes the
// temporary files and never touches src. It does not delete src.
func CopyVerified(ctx context.Context, r Runner, src, dstDir string, o CopyOptions) (CopyResult, error) {
	return CopyResult{}, errNotBuilt
}

// OffsiteSpec describes one rclone copy.
type OffsiteSpec struct {
	Source, Remote string
	Sync           bool
	MaxDelete      int
	Immutable      bool
	BandwidthLimit string
	Include        []string
}

// OffsiteProgress is rclone's progress.
type OffsiteProgress struct {
	Bytes, TotalBytes int64
	Files, TotalFiles int64
}

// OffsiteResult is a finished rclone copy.
type OffsiteResult struct {
	Bytes            int64
	Files            int64
	Checked          bool
	CheckDifferences int
}

// Rclone drives the rclone binary.
type Rclone struct{}

// Copy runs one off-site copy.
func (r *Rclone) Copy(ctx context.Context, spec OffsiteSpec, progress func(OffsiteProgress)) (OffsiteResult, error) {
	return OffsiteResult{}, errNotBuilt
}

// Notifier sends mail through SMTP. The fields are those of v-backup-node's
// Notifier that examples/backup sets.
type Notifier struct {
	Addr     string
	From     string
	To       []string
	User     string
	Password secret.Secret
}

// SSHConfig, DialSSH and SSHRunner mirror v-backup-node's SSH runner as far
// as examples/backup uses it.
type SSHConfig struct {
	User               string
	PrivateKey         secret.Secret
	KnownHostsFile     string
	HostKeyFingerprint string
}

// SSHRunner runs commands on a node over SSH.
type SSHRunner struct{}

// DialSSH connects to a node.
func DialSSH(ctx context.Context, addr string, cfg SSHConfig) (*SSHRunner, error) {
	return nil, errNotBuilt
}

// Run runs one command.
func (r *SSHRunner) Run(ctx context.Context, argv ...string) ([]byte, error) { return nil, errNotBuilt }

// Close closes the connection.
func (r *SSHRunner) Close() error { return nil }

// Send mails one message.
func (n *Notifier) Send(ctx context.Context, subject, body string) error {
	return errNotBuilt
}
