package omv_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/thehomelab/homelab/omv"
	"github.com/thehomelab/homelab/omv/omvtest"
	"github.com/thehomelab/homelab/secret"
)

// Check every array's health over OMV's RPC API while a disk fails and
// is replaced.
func ExampleRAIDService_Health() {
	srv := omvtest.NewServer()
	defer srv.Close()
	c, err := omv.NewClient(srv.URL, omv.WithHTTPClient(srv.Client()),
		omv.WithCredentials(omvtest.AdminUser, secret.New(omvtest.AdminPassword)))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()

	show := func() {
		arrays, err := c.RAID.Health(ctx)
		if err != nil {
			log.Fatal(err)
		}
		for _, a := range arrays {
			fmt.Printf("%s ok=%v\n", a, a.OK())
		}
	}
	show()
	_ = srv.FailMember("md0", "sdb")
	show()
	_ = srv.RemoveMember("md0", "sdb")
	srv.AddDisk("/dev/sdc", "Samsung SSD 870 EVO 1TB", 1000204886016)
	_ = srv.AddMember("md0", "sdc")
	_ = srv.SetSyncSpeed("md0", 500000)
	srv.Advance(10 * time.Minute)
	show()
	// Output:
	// md0 raid1 clean ok=true
	// md0 raid1 degraded (missing slot 1, faulty /dev/sdb) ok=false
	// md0 raid1 recovering 30.7% eta 22m36s (degraded, missing slot 1) ok=false
}

// Parse /proc/mdstat text read over SSH.
func ExampleParseMDStat() {
	text := `Personalities : [raid1]
md1 : active raid1 sdb2[1]
      972574976 blocks [2/1] [_U]

md0 : active raid1 sda1[2] sdb1[1]
      208704 blocks [2/1] [_U]
      [>....................]  recovery =  3.6% (7680/208704) finish=259.6min speed=12K/sec

unused devices: <none>
`
	arrays, err := omv.ParseMDStat([]byte(text))
	if err != nil {
		log.Fatal(err)
	}
	for _, a := range arrays {
		fmt.Println(a)
	}
	// Output:
	// md1 raid1 degraded (missing slot 0)
	// md0 raid1 recovering 3.6% eta 4h19m36s (degraded, missing slot 0)
}

// Make sure a share exists for its owner, with a quota; the second run
// changes nothing.
func ExampleClient_ProvisionShare() {
	srv := omvtest.NewServer()
	defer srv.Close()
	c, err := omv.NewClient(srv.URL, omv.WithHTTPClient(srv.Client()),
		omv.WithCredentials(omvtest.AdminUser, secret.New(omvtest.AdminPassword)),
		omv.WithPollInterval(time.Millisecond, time.Millisecond))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()

	spec := omv.ShareSpec{
		Name:       "photos",
		Filesystem: omvtest.FilesystemUUID,
		Owner:      omv.UserSpec{Name: "carol", Password: secret.New("correct horse")},
		Quota:      100 << 30, // 100 GiB
		SMB:        omv.SMBShareOptions{RecycleBin: true},
	}
	for run := 1; run <= 2; run++ {
		res, err := c.ProvisionShare(ctx, spec)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("run %d: changed=%v %q applied=%v\n", run, res.Changed(), res.Changes, res.Applied)
	}
	dirty, _ := c.Config.IsDirty(ctx)
	fmt.Println("dirty:", dirty)
	// Output:
	// run 1: changed=true ["user carol" "shared folder photos" "privileges of carol on photos" "smb share photos" "quota of carol = 100 GiB"] applied=[avahi postfix quota samba sharedfolders systemd]
	// run 2: changed=false [] applied=[]
	// dirty: false
}
