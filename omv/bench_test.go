package omv_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/thehomelab/homelab/omv"
	"github.com/thehomelab/homelab/omv/omvtest"
	"github.com/thehomelab/homelab/secret"
)

// fiftyArrays builds a /proc/mdstat with 50 arrays in mixed states and
// the matching 50 mdadm --detail texts.
func fiftyArrays(b *testing.B) (string, []string) {
	samples := loadSamples(b)
	blocks := []string{
		"md%d : active raid1 sdb%d[1] sda%d[0]\n      976630464 blocks super 1.2 [2/2] [UU]\n      bitmap: 0/8 pages [0KB], 65536KB chunk\n\n",
		"md%d : active raid1 sdb%d[1] sda%d[0](F)\n      976630464 blocks super 1.2 [2/1] [_U]\n\n",
		"md%d : active raid1 sdc%d[2] sdb%d[1]\n      976630464 blocks super 1.2 [2/1] [_U]\n      [===>.................]  recovery = 17.5% (170910331/976630464) finish=80.5min speed=166800K/sec\n\n",
		"md%d : active raid1 sdb%d[1] sda%d[0]\n      976630464 blocks super 1.2 [2/2] [UU]\n      \tresync=DELAYED\n\n",
		"md%d : inactive sdb%d[1](S) sda%d[0](S)\n      1953260928 blocks super 1.2\n\n",
	}
	var mdstat strings.Builder
	mdstat.WriteString("Personalities : [raid1] [raid6] [raid5] [raid4]\n")
	var details []string
	detailIDs := []string{"detail-01", "detail-02", "detail-03"}
	for i := range 50 {
		fmt.Fprintf(&mdstat, blocks[i%len(blocks)], i, i, i)
		details = append(details, samples[detailIDs[i%len(detailIDs)]])
	}
	mdstat.WriteString("unused devices: <none>\n")
	return mdstat.String(), details
}

func BenchmarkRAIDHealthFromText(b *testing.B) {
	mdstat, details := fiftyArrays(b)
	b.Run("mdstat", func(b *testing.B) {
		b.SetBytes(int64(len(mdstat)))
		for b.Loop() {
			arrays, err := omv.ParseMDStat([]byte(mdstat))
			if err != nil || len(arrays) != 50 {
				b.Fatalf("got %d arrays, %v", len(arrays), err)
			}
		}
		b.ReportMetric(50, "arrays/op")
	})
	b.Run("detail", func(b *testing.B) {
		for b.Loop() {
			for _, d := range details {
				if _, err := omv.ParseDetail([]byte(d)); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(50, "arrays/op")
	})
}

// BenchmarkEnsureShareNoop runs EnsureShare on a share that already
// matches, against the fake with 2 ms per call, next to the naive way
// (write everything, then apply).
func BenchmarkEnsureShareNoop(b *testing.B) {
	spec := omv.ShareSpec{Name: "photos", Filesystem: omvtest.FilesystemUUID,
		Owner: omv.UserSpec{Name: "carol", Password: secret.New("pw")}, Quota: 10 << 30}
	setup := func(b *testing.B) (*omvtest.Server, *omv.Client) {
		srv, c := newPair(b, nil)
		_, err := c.ProvisionShare(b.Context(), spec)
		require.NoError(b, err)
		srv.SetLatency(2 * time.Millisecond)
		srv.ResetCalls()
		return srv, c
	}
	b.Run("ensure", func(b *testing.B) {
		srv, c := setup(b)
		for b.Loop() {
			res, err := c.ProvisionShare(b.Context(), spec)
			if err != nil || res.Changed() {
				b.Fatalf("changed=%v err=%v", res.Changed(), err)
			}
		}
		total, writes := srv.Calls()
		b.ReportMetric(float64(total)/float64(b.N), "roundtrips/op")
		b.ReportMetric(float64(writes)/float64(b.N), "writes/op")
	})
	b.Run("naive", func(b *testing.B) {
		srv, c := setup(b)
		ctx := b.Context()
		folders, err := c.SharedFolders.List(ctx)
		require.NoError(b, err)
		var folder omv.SharedFolder
		for _, f := range folders {
			if f.Name == spec.Name {
				folder = f
			}
		}
		shares, err := c.SMB.Shares(ctx)
		require.NoError(b, err)
		var share omv.SMBShare
		for _, s := range shares {
			if s.SharedFolder == folder.UUID {
				share = s
			}
		}
		srv.ResetCalls()
		for b.Loop() {
			// Blind writes of every object, then a full apply.
			must(b, c.Call(ctx, "UserMgmt", "setUser", map[string]any{"name": "carol", "password": "", "email": "",
				"groups": []string{}, "disallowusermod": false, "sshpubkeys": []string{}}, nil))
			must(b, c.Call(ctx, "ShareMgmt", "set", map[string]any{"uuid": folder.UUID, "name": folder.Name,
				"reldirpath": folder.RelDirPath, "comment": "", "mntentref": folder.MountPoint, "mode": "775"}, nil))
			must(b, c.SharedFolders.SetPrivileges(ctx, folder.UUID, []omv.Privilege{{Type: "user", Name: "carol", Perms: omv.PermsReadWrite}}))
			must(b, c.Call(ctx, "SMB", "setShare", map[string]any{"uuid": share.UUID, "enable": true,
				"sharedfolderref": folder.UUID, "comment": "", "guest": "no", "readonly": false, "browseable": true,
				"recyclebin": false, "recyclemaxsize": 0, "recyclemaxage": 0, "hidedotfiles": true, "inheritacls": true,
				"inheritpermissions": false, "easupport": false, "storedosattributes": false, "hostsallow": "",
				"hostsdeny": "", "audit": false, "extraoptions": ""}, nil))
			must(b, c.Call(ctx, "Quota", "set", map[string]any{"uuid": omvtest.FilesystemUUID, "quota": []map[string]any{
				{"type": "user", "name": "carol", "bhardlimit": 10, "bunit": "GiB"}}}, nil))
			must(b, c.Config.Apply(ctx))
		}
		total, writes := srv.Calls()
		b.ReportMetric(float64(total)/float64(b.N), "roundtrips/op")
		b.ReportMetric(float64(writes)/float64(b.N), "writes/op")
	})
}

func must(b *testing.B, err error) {
	b.Helper()
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkRAIDHealthRPC reads health over RPC (1 list + 1 detail per
// array) against the fake with 2 ms per call.
func BenchmarkRAIDHealthRPC(b *testing.B) {
	srv, c := newPair(b, nil)
	require.NoError(b, c.Login(b.Context()))
	srv.SetLatency(2 * time.Millisecond)
	srv.ResetCalls()
	for b.Loop() {
		if _, err := c.RAID.Health(b.Context()); err != nil {
			b.Fatal(err)
		}
	}
	total, _ := srv.Calls()
	b.ReportMetric(float64(total)/float64(b.N), "roundtrips/op")
}
