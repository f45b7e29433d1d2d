package backup

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Method is how a guest's backup reaches the share.
type Method int

const (
	// Direct: vzdump writes straight to the target storage.
	Direct Method = iota
	// TwoStep: vzdump writes to local storage, then the node copies the
	// archive to the share, verifies it and deletes the local copy. Used for
	// the guest that serves the share itself.
	TwoStep
)

// String returns "direct" or "two-step".
func (m Method) String() string {
	switch m {
	case Direct:
		return "direct"
	case TwoStep:
		return "two-step"
	}
	return "method(" + strconv.Itoa(int(m)) + ")"
}

// MarshalText writes the method as its word.
func (m Method) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// Report is what a night did: per guest, off-site and the restore drill. It
// prints as plain text (String), marshals as JSON, and Subject gives a mail
// subject that says OK or FAILED.
type Report struct {
	Started  time.Time
	Finished time.Time
	Guests   []GuestReport
	Offsite  []OffsiteReport
	Restores []RestoreReport
	// Problems are failures not tied to one guest (a job that could not
	// start, a refused prune).
	Problems []string
}

// GuestReport is one guest's night.
type GuestReport struct {
	VMID   int
	Name   string
	Type   string // "qemu" or "lxc"
	Node   string
	Method Method
	// Storage holds the archive in the end (the share for two-step guests).
	Storage string
	// Archive is the new archive's volid, Size its size in bytes.
	Archive  string
	Size     int64
	Duration time.Duration
	Status   Status
	Warnings []string
	// Verified is set once the copy on the share matched (two-step: size,
	// SHA-256 on both sides, zstd -t); SHA256 is the digest.
	Verified bool
	SHA256   string
	// Kept counts the guest's archives retention kept; Pruned names the
	// ones it removed.
	Kept   int
	Pruned []string
	// Err is why the guest failed or was skipped.
	Err error
}

// OffsiteReport is one rclone copy.
type OffsiteReport struct {
	Source string
	Remote string
	Bytes  int64
	Files  int64
	// Checked is set when rclone check ran afterwards; Differences counts
	// what it found.
	Checked     bool
	Differences int
	Duration    time.Duration
	Status      Status
	Err         error
}

// RestoreReport is one restore drill.
type RestoreReport struct {
	VMID        int
	Archive     string
	ScratchVMID int
	Storage     string
	// Disks are the restored guest's disks ("scsi0: fast:vm-9100-disk-0").
	Disks []string
	// Booted is set when the drill started the guest; Agent when its guest
	// agent answered.
	Booted bool
	Agent  bool
	// Destroyed is set once the scratch guest was removed again.
	Destroyed bool
	// CurrentConfig is set when the disks expected on the scratch guest
	// came from the original's current config, not from the config stored
	// in the archive: PVE refused GET /nodes/{node}/vzdump/extractconfig as
	// unsupported. A disk added or removed since the backup is then judged
	// wrongly.
	CurrentConfig bool
	Duration      time.Duration
	Status        Status
	Err           error
}

func failed(s Status) bool { return s == StatusFailed || s == StatusSkipped || s == StatusPending }

// OK reports whether everything the night set out to do succeeded
// (warnings allowed).
func (r Report) OK() bool {
	if len(r.Problems) > 0 {
		return false
	}
	for _, g := range r.Guests {
		if failed(g.Status) {
			return false
		}
	}
	for _, o := range r.Offsite {
		if failed(o.Status) {
			return false
		}
	}
	for _, d := range r.Restores {
		if failed(d.Status) {
			return false
		}
	}
	return true
}

// Size is the total size of the night's new archives.
func (r Report) Size() int64 {
	var n int64
	for _, g := range r.Guests {
		n += g.Size
	}
	return n
}

// Subject is a mail subject line: "backup OK: 4 guests, 12.3 GiB" or
// "backup FAILED: 1 of 4 guests failed, 1 off-site copy failed".
func (r Report) Subject() string {
	if r.OK() {
		s := fmt.Sprintf("backup OK: %s, %s", plural(len(r.Guests), "guest"), humanBytes(r.Size()))
		if n := len(r.Offsite); n > 0 {
			s += ", " + plural(n, "off-site copy")
		}
		if n := len(r.Restores); n > 0 {
			s += ", " + plural(n, "restore drill")
		}
		return s
	}
	var why []string
	if n := countFailed(r.Guests, func(g GuestReport) Status { return g.Status }); n > 0 {
		why = append(why, fmt.Sprintf("%d of %s failed", n, plural(len(r.Guests), "guest")))
	}
	if n := countFailed(r.Offsite, func(o OffsiteReport) Status { return o.Status }); n > 0 {
		why = append(why, plural(n, "off-site copy")+" failed")
	}
	if n := countFailed(r.Restores, func(d RestoreReport) Status { return d.Status }); n > 0 {
		why = append(why, plural(n, "restore drill")+" failed")
	}
	if n := len(r.Problems); n > 0 {
		why = append(why, plural(n, "problem"))
	}
	return "backup FAILED: " + strings.Join(why, ", ")
}

func countFailed[T any](xs []T, status func(T) Status) int {
	n := 0
	for _, x := range xs {
		if failed(status(x)) {
			n++
		}
	}
	return n
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	if strings.HasSuffix(word, "y") && !strings.HasSuffix(word, "ay") {
		return strconv.Itoa(n) + " " + word[:len(word)-1] + "ies"
	}
	return strconv.Itoa(n) + " " + word + "s"
}

func durationText(d time.Duration) string {
	if d <= 0 {
		return "-"
	}
	return d.Round(time.Second).String()
}

func sizeText(n int64) string {
	if n <= 0 {
		return "-"
	}
	return humanBytes(n)
}

// String is the plain-text report, the body of the mail.
func (r Report) String() string {
	var b strings.Builder
	b.WriteString(r.Subject())
	b.WriteString("\n")
	if !r.Started.IsZero() {
		fmt.Fprintf(&b, "%s to %s (%s)\n", r.Started.Format("2006-01-02 15:04:05"), r.Finished.Format("15:04:05"), durationText(r.Finished.Sub(r.Started)))
	}
	for _, p := range r.Problems {
		b.WriteString("problem: " + p + "\n")
	}
	if len(r.Guests) > 0 {
		b.WriteString("\n")
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "GUEST\tNAME\tMETHOD\tSTATUS\tSIZE\tTIME\tVERIFIED\tKEPT\tPRUNED\tARCHIVE")
		for _, g := range r.Guests {
			verified := "-"
			if g.Verified {
				verified = "yes"
			}
			archive := g.Archive
			if archive == "" {
				archive = "-"
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%s\n", g.VMID, dash(g.Name), g.Method, g.Status,
				sizeText(g.Size), durationText(g.Duration), verified, g.Kept, len(g.Pruned), archive)
		}
		tw.Flush()
		for _, g := range r.Guests {
			if g.Err != nil {
				fmt.Fprintf(&b, "  %d: %v\n", g.VMID, g.Err)
			}
			for _, w := range g.Warnings {
				fmt.Fprintf(&b, "  %d: warning: %s\n", g.VMID, w)
			}
			if g.SHA256 != "" {
				fmt.Fprintf(&b, "  %d: sha256 %s\n", g.VMID, g.SHA256)
			}
			for _, p := range g.Pruned {
				fmt.Fprintf(&b, "  %d: pruned %s\n", g.VMID, p)
			}
		}
	}
	if len(r.Offsite) > 0 {
		b.WriteString("\n")
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "OFFSITE\tSTATUS\tBYTES\tFILES\tCHECKED\tTIME\tSOURCE")
		for _, o := range r.Offsite {
			checked := "no"
			if o.Checked {
				checked = "yes"
				if o.Differences > 0 {
					checked = fmt.Sprintf("%d differences", o.Differences)
				}
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\n", o.Remote, o.Status, sizeText(o.Bytes), o.Files, checked, durationText(o.Duration), o.Source)
		}
		tw.Flush()
		for _, o := range r.Offsite {
			if o.Err != nil {
				fmt.Fprintf(&b, "  %s: %v\n", o.Remote, o.Err)
			}
		}
	}
	if len(r.Restores) > 0 {
		b.WriteString("\n")
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "RESTORE\tSCRATCH\tSTATUS\tDISKS\tBOOTED\tAGENT\tDESTROYED\tTIME\tARCHIVE")
		for _, d := range r.Restores {
			fmt.Fprintf(tw, "%d\t%d\t%s\t%d\t%s\t%s\t%s\t%s\t%s\n", d.VMID, d.ScratchVMID, d.Status, len(d.Disks), yesNo(d.Booted), yesNo(d.Agent), yesNo(d.Destroyed), durationText(d.Duration), d.Archive)
		}
		tw.Flush()
		for _, d := range r.Restores {
			for _, disk := range d.Disks {
				fmt.Fprintf(&b, "  %d: disk %s\n", d.VMID, disk)
			}
			if d.CurrentConfig {
				fmt.Fprintf(&b, "  %d: disks judged by the guest's current config (PVE could not read the archive's)\n", d.VMID)
			}
			if d.Err != nil {
				fmt.Fprintf(&b, "  %d: %v\n", d.VMID, d.Err)
			}
		}
	}
	return b.String()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// The JSON shapes: errors as text, durations in seconds.
type (
	guestJSON struct {
		VMID            int      `json:"vmid"`
		Name            string   `json:"name,omitempty"`
		Type            string   `json:"type,omitempty"`
		Node            string   `json:"node,omitempty"`
		Method          Method   `json:"method"`
		Storage         string   `json:"storage,omitempty"`
		Archive         string   `json:"archive,omitempty"`
		Size            int64    `json:"size"`
		DurationSeconds float64  `json:"duration_seconds"`
		Status          Status   `json:"status"`
		Warnings        []string `json:"warnings,omitempty"`
		Verified        bool     `json:"verified"`
		SHA256          string   `json:"sha256,omitempty"`
		Kept            int      `json:"kept"`
		Pruned          []string `json:"pruned,omitempty"`
		Error           string   `json:"error,omitempty"`
	}
	offsiteJSON struct {
		Source          string  `json:"source"`
		Remote          string  `json:"remote"`
		Bytes           int64   `json:"bytes"`
		Files           int64   `json:"files"`
		Checked         bool    `json:"checked"`
		Differences     int     `json:"differences"`
		DurationSeconds float64 `json:"duration_seconds"`
		Status          Status  `json:"status"`
		Error           string  `json:"error,omitempty"`
	}
	restoreJSON struct {
		VMID            int      `json:"vmid"`
		Archive         string   `json:"archive,omitempty"`
		ScratchVMID     int      `json:"scratch_vmid"`
		Storage         string   `json:"storage,omitempty"`
		Disks           []string `json:"disks,omitempty"`
		Booted          bool     `json:"booted"`
		Agent           bool     `json:"agent"`
		Destroyed       bool     `json:"destroyed"`
		CurrentConfig   bool     `json:"current_config,omitempty"`
		DurationSeconds float64  `json:"duration_seconds"`
		Status          Status   `json:"status"`
		Error           string   `json:"error,omitempty"`
	}
	reportJSON struct {
		OK       bool          `json:"ok"`
		Subject  string        `json:"subject"`
		Started  time.Time     `json:"started,omitzero"`
		Finished time.Time     `json:"finished,omitzero"`
		Size     int64         `json:"size"`
		Guests   []guestJSON   `json:"guests"`
		Offsite  []offsiteJSON `json:"offsite"`
		Restores []restoreJSON `json:"restores"`
		Problems []string      `json:"problems,omitempty"`
	}
)

// MarshalJSON writes the report with errors as text and durations in
// seconds, plus "ok" and "subject".
func (r Report) MarshalJSON() ([]byte, error) {
	out := reportJSON{OK: r.OK(), Subject: r.Subject(), Started: r.Started, Finished: r.Finished, Size: r.Size(),
		Guests: []guestJSON{}, Offsite: []offsiteJSON{}, Restores: []restoreJSON{}, Problems: r.Problems}
	for _, g := range r.Guests {
		out.Guests = append(out.Guests, guestJSON{VMID: g.VMID, Name: g.Name, Type: g.Type, Node: g.Node, Method: g.Method,
			Storage: g.Storage, Archive: g.Archive, Size: g.Size, DurationSeconds: g.Duration.Seconds(), Status: g.Status,
			Warnings: g.Warnings, Verified: g.Verified, SHA256: g.SHA256, Kept: g.Kept, Pruned: g.Pruned, Error: errText(g.Err)})
	}
	for _, o := range r.Offsite {
		out.Offsite = append(out.Offsite, offsiteJSON{Source: o.Source, Remote: o.Remote, Bytes: o.Bytes, Files: o.Files,
			Checked: o.Checked, Differences: o.Differences, DurationSeconds: o.Duration.Seconds(), Status: o.Status, Error: errText(o.Err)})
	}
	for _, d := range r.Restores {
		out.Restores = append(out.Restores, restoreJSON{VMID: d.VMID, Archive: d.Archive, ScratchVMID: d.ScratchVMID, Storage: d.Storage,
			Disks: d.Disks, Booted: d.Booted, Agent: d.Agent, Destroyed: d.Destroyed, CurrentConfig: d.CurrentConfig, DurationSeconds: d.Duration.Seconds(),
			Status: d.Status, Error: errText(d.Err)})
	}
	return json.Marshal(out)
}
