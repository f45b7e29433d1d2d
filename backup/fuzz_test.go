package backup

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

func FuzzParseVzdumpLog(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "vzdump", "*.log"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err == nil {
			f.Add(string(b))
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := ParseVzdumpLog(strings.NewReader(s), time.UTC)
		if err != nil {
			return
		}
		for _, g := range l.Guests {
			if g.Percent < 0 || g.Percent > 100 || g.Size < 0 {
				t.Fatalf("out of range: %+v", g)
			}
		}
	})
}

func FuzzParseArchiveName(f *testing.F) {
	for _, s := range []string{
		"backups:backup/vzdump-qemu-100-2026_11_25-03_00_02.vma.zst",
		"vzdump-lxc-101-2026_02_28-23_59_59.tgz",
		"vzdump-openvz-123456789-2000_01_01-00_00_00.tar.lzo",
		"backups:backup/nas.vma.zst",
	} {
		f.Add(s)
	}
	loc, _ := time.LoadLocation("Europe/Madrid")
	f.Fuzz(func(t *testing.T, s string) {
		a, ok := ParseArchiveName(s, loc)
		if !ok {
			return
		}
		if a.VMID < 100 || a.VMID > 999999999 {
			t.Fatalf("vmid out of range: %d", a.VMID)
		}
		// A standard name survives Retention as a member of its group.
		ds := Retention([]Archive{{Volid: s}}, Keep{Last: 1}, loc)
		if len(ds) != 1 || ds[0].Mark != MarkKeep {
			t.Fatalf("single standard archive not kept: %+v", ds)
		}
	})
}

func FuzzParseKeep(f *testing.F) {
	for _, s := range []string{"keep-last=3,keep-daily=7", "keep-all=1", "", "keep-weekly=0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParseKeep(s)
		if err != nil {
			return
		}
		again, err := ParseKeep(k.String())
		if err != nil || again.KeepsAll() != k.KeepsAll() || (!k.KeepsAll() && again != k) {
			t.Fatalf("round trip %q → %q → %+v (%v)", s, k.String(), again, err)
		}
	})
}

// FuzzCTRestoreDisks: whatever a container's mount points say, the drill
// asks only for new volumes (STORAGE:GiB, create_disks' $NEW_DISK_RE) that
// are never smaller than the original, and never for a host path.
func FuzzCTRestoreDisks(f *testing.F) {
	f.Add("local-lvm:vm-101-disk-0,size=8G", "/mnt/nas/media,mp=/media", "local-lvm:vm-101-disk-1,mp=/data,backup=1,size=4608M")
	f.Add("volume=local-lvm:vm-101-disk-0,size=1000000000", "mp=/x,volume=/dev/sdb1", "local-lvm:vm-101-disk-1,mp=/d,backup=1,size=0.5T")
	f.Fuzz(func(t *testing.T, rootfs, mp0, mp1 string) {
		conf := map[string]string{"rootfs": rootfs, "mp0": mp0, "mp1": mp1}
		disks, err := ctRestoreDisks(conf, "scratch")
		if err != nil {
			return
		}
		for k, v := range disks {
			vol, opts := splitMount(v)
			gib, ok := strings.CutPrefix(vol, "scratch:")
			if !ok || !reNewDisk.MatchString(gib) {
				t.Fatalf("%s=%q is not a new volume", k, v)
			}
			if _, ok := opts["size"]; ok {
				t.Fatalf("%s=%q keeps size=", k, v)
			}
			want, _ := parseDiskSize(func() string { _, o := splitMount(conf[k]); return o["size"] }())
			n, _ := strconv.ParseFloat(gib, 64)
			if got := int64(n*1024) << 20; got < want {
				t.Fatalf("%s=%q makes %d bytes, the original has %d", k, v, got, want)
			}
		}
	})
}

var reNewDisk = regexp.MustCompile(`^\d+(\.\d+)?$`)
