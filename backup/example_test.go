package backup_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/thehomelab/homelab/backup"
	"github.com/thehomelab/homelab/proxmox"
	"github.com/thehomelab/homelab/proxmox/proxmoxtest"
	"github.com/thehomelab/homelab/secret"
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

// Tonight's plan for the lab in proxmoxtest: the NAS VM serves the backups
// share (its address is the share's server), so it goes in two steps; its
// passed-through RAID disks are flagged backup=0. Printing the plan is the
// dry run; backup.Apply would run it.
func ExamplePlan() {
	night := time.Date(2026, 11, 25, 3, 0, 0, 0, time.UTC)
	srv := proxmoxtest.NewServer(proxmoxtest.WithClock(func() time.Time { return night }))
	defer srv.Close()
	srv.AddGuest(proxmoxtest.Guest{VMID: 100, Node: proxmoxtest.Node, Type: "qemu", Name: "nas", Running: true,
		Config: map[string]string{
			"scsi0":     "local-lvm:vm-100-disk-0,size=32G",
			"scsi1":     "/dev/disk/by-id/ata-Samsung_SSD_870_EVO_2TB_S6PNNS0T100001,backup=0",
			"scsi2":     "/dev/disk/by-id/ata-Samsung_SSD_870_EVO_2TB_S6PNNS0T100002,backup=0",
			"ipconfig0": "ip=192.168.88.10/24,gw=192.168.88.1"}})
	for d := 1; d <= 3; d++ {
		srv.AddBackup(proxmoxtest.Backup{Storage: "backups", VMID: 100, Type: "qemu", Time: night.AddDate(0, 0, -d), Size: 5 << 30})
		srv.AddBackup(proxmoxtest.Backup{Storage: "backups", VMID: 101, Type: "lxc", Time: night.AddDate(0, 0, -d), Size: 1 << 30})
	}
	c, err := proxmox.NewClient(srv.URL, proxmox.WithFingerprint(srv.Fingerprint()),
		proxmox.WithAPIToken("root@pam!sdk", secret.New(proxmoxtest.TokenSecret)))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	plan, err := backup.Plan(context.Background(), backup.Config{
		Client:   c,
		Storage:  "backups",
		Keep:     &backup.Keep{Last: 3},
		Location: time.UTC,
		Now:      func() time.Time { return night },
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(plan)
	// Output:
	// backup plan 2026-11-25 03:00 UTC: 3 guests to storage backups
	// GUEST  NAME           NODE      METHOD    TARGET           RETENTION    REMOVES  CHECKS
	// 100    nas            proxmox1  two-step  local → backups  keep-last=3  1        ok
	// 101    docker         proxmox1  direct    backups          keep-last=3  1        ok
	// 102    homeassistant  proxmox1  direct    backups          keep-last=3  0        ok
	//   100: two-step: it serves storage backups: its address 192.168.88.10 is the share's server
	//   100: share active: ok (backups active on proxmox1)
	//   100: local space: ok (80.0 GiB free on local ≥ 6.0 GiB (1.2 × newest archive 5.0 GiB))
	//   100: passthrough disks: ok (scsi1, scsi2 flagged backup=0)
	//   100: retention removes vzdump-qemu-100-2026_11_22-03_00_00.vma.zst
	//   101: share active: ok (backups active on proxmox1)
	//   101: retention removes vzdump-lxc-101-2026_11_22-03_00_00.tar.zst
	//   102: share active: ok (backups active on proxmox1)
}
