package backup_test

import (
	"fmt"
	"time"

	"github.com/thehomelab/homelab/backup"
)

// The seed's monthly photo job, done safely: each phone folder is copied
// (never synced) into the remote's month folder, only the files named for
// that month, and a photo already off-site is never overwritten. Pass each
// spec to (*backup.Rclone).Copy.
func ExamplePhotoMonth() {
	month := time.Date(2026, 11, 1, 0, 0, 0, 0, time.Local)
	for _, s := range backup.PhotoMonth(month, "offsite-crypt:photos",
		"/mnt/nas/family/syncthing/movil_miguel/camara/Camera",
		"/mnt/nas/family/syncthing/Tarjeta-Movil-Maria") {
		fmt.Printf("copy %s → %s include %v immutable=%v sync=%v\n", s.Source, s.Remote, s.Include, s.Immutable, s.Sync)
	}
	// Output:
	// copy /mnt/nas/family/syncthing/movil_miguel/camara/Camera → offsite-crypt:photos/202611 include [*_202611* *-202611*] immutable=true sync=false
	// copy /mnt/nas/family/syncthing/Tarjeta-Movil-Maria → offsite-crypt:photos/202611 include [*_202611* *-202611*] immutable=true sync=false
}
