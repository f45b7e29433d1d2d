package backup

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// EventKind says what an Event reports.
type EventKind int

// The kinds of event Apply and VerifyRestore send to Config.OnEvent, in the
// order a night produces them.
const (
	// EventGuestStarted: vzdump began backing up Guest.
	EventGuestStarted EventKind = iota + 1
	// EventGuestProgress: vzdump logged Percent for Guest.
	EventGuestProgress
	// EventArchiveWritten: Guest's archive is complete (Archive, Bytes).
	EventArchiveWritten
	// EventGuestFailed: Guest's backup failed (Err); the others go on.
	EventGuestFailed
	// EventCopyProgress: the two-step copy of Guest's archive to the share
	// moved on (Bytes of TotalBytes).
	EventCopyProgress
	// EventVerified: Guest's archive on the share matches the local one
	// (size, SHA-256, zstd -t).
	EventVerified
	// EventCopied: the verified copy is in place and the local one deleted.
	EventCopied
	// EventPruned: retention removed Files of Guest's old archives.
	EventPruned
	// EventGuestDone: everything for Guest is finished (Err if it failed).
	EventGuestDone
	// EventOffsiteProgress: rclone reported Bytes/TotalBytes and
	// Files/TotalFiles for the copy to Remote.
	EventOffsiteProgress
	// EventOffsiteDone: the off-site copy to Remote ended (Err if it
	// failed).
	EventOffsiteDone
	// EventRestoreStarted: a restore drill of Guest began into ScratchVMID.
	EventRestoreStarted
	// EventRestoreDone: the drill ended and the scratch guest is gone (Err
	// if it failed).
	EventRestoreDone
)

var eventNames = [...]string{
	EventGuestStarted:    "guest started",
	EventGuestProgress:   "guest progress",
	EventArchiveWritten:  "archive written",
	EventGuestFailed:     "guest failed",
	EventCopyProgress:    "copy progress",
	EventVerified:        "verified",
	EventCopied:          "copied",
	EventPruned:          "pruned",
	EventGuestDone:       "guest done",
	EventOffsiteProgress: "offsite progress",
	EventOffsiteDone:     "offsite done",
	EventRestoreStarted:  "restore started",
	EventRestoreDone:     "restore done",
}

// String returns the kind in words, e.g. "archive written".
func (k EventKind) String() string {
	if k > 0 && int(k) < len(eventNames) {
		return eventNames[k]
	}
	return "event(" + strconv.Itoa(int(k)) + ")"
}

// Event is one step of a night's work, sent to Config.OnEvent. Only the
// fields that matter for its Kind are set.
type Event struct {
	Kind EventKind
	Time time.Time
	// Err is set on failures.
	Err error
	// Guest is the VMID the event is about; Node hosts it.
	Guest int
	Node  string
	// Archive is the archive's volid or path.
	Archive string
	// Percent of the guest's dump done (EventGuestProgress).
	Percent int
	// Bytes and TotalBytes, Files and TotalFiles count progress of a copy.
	Bytes, TotalBytes int64
	Files, TotalFiles int64
	// Remote is the rclone destination of off-site events.
	Remote string
	// ScratchVMID is the restore drill's throw-away guest.
	ScratchVMID int
}

// String returns a one-line description, e.g. "guest 100: archive written
// (2.1 GiB)".
func (e Event) String() string {
	var b strings.Builder
	switch {
	case e.Remote != "":
		b.WriteString("offsite " + e.Remote + ": ")
	case e.Guest != 0:
		fmt.Fprintf(&b, "guest %d: ", e.Guest)
	}
	b.WriteString(e.Kind.String())
	switch e.Kind {
	case EventGuestProgress:
		fmt.Fprintf(&b, " %d%%", e.Percent)
	case EventArchiveWritten, EventCopied:
		if e.Bytes > 0 {
			b.WriteString(" (" + humanBytes(e.Bytes) + ")")
		}
	case EventCopyProgress, EventOffsiteProgress:
		fmt.Fprintf(&b, " %s of %s", humanBytes(e.Bytes), humanBytes(e.TotalBytes))
		if e.TotalFiles > 0 {
			fmt.Fprintf(&b, ", %d of %d files", e.Files, e.TotalFiles)
		}
	case EventPruned:
		fmt.Fprintf(&b, " %d", e.Files)
	case EventRestoreStarted:
		fmt.Fprintf(&b, " into %d", e.ScratchVMID)
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}

// humanBytes renders a size in binary units with one decimal: "4.9 GiB".
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatInt(n, 10) + " B"
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
