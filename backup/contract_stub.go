package backup

// This file is a stand-in for the node side (runner.go, copy.go, offsite.go,
// mail.go on branch v-backup-node) so that this branch builds on its own.
// It holds only the agreed declarations; the lead deletes it at merge.

import "context"

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

// Notifier sends mail through SMTP.
type Notifier struct{}

// Send mails one message.
func (n *Notifier) Send(ctx context.Context, subject, body string) error {
	return errNotBuilt
}
