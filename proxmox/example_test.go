package proxmox_test

import (
	"context"
	"fmt"
	"log"

	"github.com/thehomelab/homelab/proxmox"
	"github.com/thehomelab/homelab/proxmox/proxmoxtest"
	"github.com/thehomelab/homelab/secret"
)

func ExampleClient_Inventory() {
	srv := proxmoxtest.NewServer()
	defer srv.Close()
	c, err := proxmox.NewClient(srv.URL,
		proxmox.WithFingerprint(srv.Fingerprint()),
		proxmox.WithAPIToken("root@pam!sdk", secret.New(proxmoxtest.TokenSecret)))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	inv, err := c.Inventory(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	for _, n := range inv.Nodes {
		fmt.Println("node", n.Name, n.Status, n.SSLFingerprint == srv.Fingerprint())
	}
	for _, g := range inv.Guests {
		fmt.Println(g.GuestRef, g.Name, g.Status)
	}
	for _, s := range inv.Storage {
		fmt.Println("storage", s.ID, s.PluginType, s.Content)
	}
	// Output:
	// node proxmox1 online true
	// vm 100 on proxmox1 nas running
	// ct 101 on proxmox1 docker running
	// vm 102 on proxmox1 homeassistant running
	// storage backups cifs [backup]
	// storage local dir [iso vztmpl backup]
	// storage local-lvm lvmthin [images rootdir]
}

func ExampleDiskService_Attach() {
	srv := proxmoxtest.NewServer()
	defer srv.Close()
	// Raw disk paths are for root@pam by ticket only: add the login next
	// to the token.
	c, err := proxmox.NewClient(srv.URL,
		proxmox.WithFingerprint(srv.Fingerprint()),
		proxmox.WithAPIToken("root@pam!sdk", secret.New(proxmoxtest.TokenSecret)),
		proxmox.WithCredentials("root@pam", secret.New(proxmoxtest.RootPassword)))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	nas, err := c.Guests.Find(ctx, "nas")
	if err != nil {
		log.Fatal(err)
	}
	for _, serial := range []string{"S6PNNS0T100001", "S6PNNS0T100002", "S6PNNS0T100001"} {
		a, err := c.Disks.Attach(ctx, nas.GuestRef, serial, proxmox.AttachOptions{})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s changed=%v %s=%s\n", serial, a.Changed(), a.Key, a.Value)
	}
	_, err = c.Disks.Attach(ctx, nas.GuestRef, "/dev/nvme0n1", proxmox.AttachOptions{})
	fmt.Println(err)
	// Output:
	// S6PNNS0T100001 changed=true scsi1=/dev/disk/by-id/ata-Samsung_SSD_870_EVO_2TB_S6PNNS0T100001,backup=0,discard=on,serial=S6PNNS0T100001,ssd=1
	// S6PNNS0T100002 changed=true scsi2=/dev/disk/by-id/ata-Samsung_SSD_870_EVO_2TB_S6PNNS0T100002,backup=0,discard=on,serial=S6PNNS0T100002,ssd=1
	// S6PNNS0T100001 changed=false scsi1=/dev/disk/by-id/ata-Samsung_SSD_870_EVO_2TB_S6PNNS0T100001,backup=0,discard=on,serial=S6PNNS0T100001,ssd=1
	// proxmox: attach disk /dev/nvme0n1 to vm 100 on proxmox1: conflict: /dev/nvme0n1 is in use on the host (LVM); refusing to pass through the node's own disk
}

func ExamplePowerService_PlanShutdown() {
	srv := proxmoxtest.NewServer()
	defer srv.Close()
	c, err := proxmox.NewClient(srv.URL,
		proxmox.WithFingerprint(srv.Fingerprint()),
		proxmox.WithAPIToken("root@pam!sdk", secret.New(proxmoxtest.TokenSecret)))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	// Dry run: build and print the plan without touching any guest.
	plan, err := c.Power.PlanShutdown(context.Background(), proxmox.PlanOptions{
		Last:          []string{"nas"},
		ShutdownNodes: true,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(plan)
	// Output:
	// shutdown plan: 3 guests in 3 groups
	// 1. no order: vm 102 on proxmox1 (homeassistant) timeout 3m0s
	// 2. order 2: ct 101 on proxmox1 (docker) timeout 1m0s
	// 3. last: vm 100 on proxmox1 (nas) timeout 5m0s
	// guests still running after their timeout are force-stopped
	// then shut down node proxmox1
}

func ExampleBackupService_StartVzdump() {
	srv := proxmoxtest.NewServer()
	defer srv.Close()
	c, err := proxmox.NewClient(srv.URL,
		proxmox.WithFingerprint(srv.Fingerprint()),
		proxmox.WithAPIToken(proxmoxtest.TokenID, secret.New(proxmoxtest.TokenSecret)))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()

	dump, err := c.Backups.StartVzdump(ctx, []proxmox.VMID{100}, proxmox.VzdumpOptions{Storage: "backups", Compress: "zstd"})
	if err != nil {
		log.Fatal(err)
	}
	lines := 0
	for _, err := range dump.Log(ctx) { // streams until the task ends
		if err != nil {
			log.Fatal(err)
		}
		lines++
	}
	if err := dump.Wait(ctx); err != nil { // the task's own failure, if any
		log.Fatal(err)
	}
	vols, err := c.Backups.List(ctx, proxmoxtest.Node, "backups", proxmox.ListOptions{VMID: 100})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(dump.Tasks), "task,", lines > 0, "log,", len(vols), "backup of", vols[0].VMID)
	// Output:
	// 1 task, true log, 1 backup of 100
}

func ExampleBackupService_EnsureJob() {
	srv := proxmoxtest.NewServer()
	defer srv.Close()
	c, err := proxmox.NewClient(srv.URL,
		proxmox.WithFingerprint(srv.Fingerprint()),
		proxmox.WithAPIToken(proxmoxtest.TokenID, secret.New(proxmoxtest.TokenSecret)))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()

	job := proxmox.BackupJob{ID: "nightly", Schedule: "02:00", All: true, Storage: "backups", Compress: "zstd"}
	for range 2 {
		res, err := c.Backups.EnsureJob(ctx, job)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(res.Action, len(res.Changes), "changes")
	}
	job.Compress = "lzo"
	res, err := c.Backups.EnsureJob(ctx, job)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Action, res.Changes)
	// Output:
	// created 5 changes
	// unchanged 0 changes
	// updated [compress: zstd → lzo]
}
