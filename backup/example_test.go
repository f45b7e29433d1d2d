package backup_test

import (
	"fmt"
	"time"

	"github.com/thehomelab/homelab/backup"
)

// A retention dry run: what keep-last=2,keep-daily=3,keep-weekly=1 would
// remove from fourteen nightly backups of the NAS VM and one protected archive,
// decided in the node's time zone exactly as the node's prune would. Monday
// the 9th lies in the ISO week the daily ones already cover, so keep-weekly
// passes over it and keeps Sunday the 8th; the protected archive neither
// goes nor counts.
func ExampleRetention() {
	loc, _ := time.LoadLocation("Europe/Madrid")
	var archives []backup.Archive
	for d := 1; d <= 14; d++ {
		archives = append(archives, backup.Archive{
			Volid: fmt.Sprintf("backups:backup/vzdump-qemu-100-2026_11_%02d-03_00_00.vma.zst", d),
		})
	}
	archives[0].Protected = true
	keep, _ := backup.ParseKeep("keep-last=2,keep-daily=3,keep-weekly=1")

	for _, d := range backup.Retention(archives, keep, loc) {
		fmt.Printf("%-9s %-11s %s\n", d.Mark, d.Rule, d.Time.Format("Mon 2006-01-02"))
	}
	// Output:
	// keep      keep-last   Sat 2026-11-14
	// keep      keep-last   Fri 2026-11-13
	// keep      keep-daily  Thu 2026-11-12
	// keep      keep-daily  Wed 2026-11-11
	// keep      keep-daily  Tue 2026-11-10
	// remove                Mon 2026-11-09
	// keep      keep-weekly Sun 2026-11-08
	// remove                Sat 2026-11-07
	// remove                Fri 2026-11-06
	// remove                Thu 2026-11-05
	// remove                Wed 2026-11-04
	// remove                Tue 2026-11-03
	// remove                Mon 2026-11-02
	// protected             Sun 2026-11-01
}
