package backup

import (
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func madrid(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Madrid")
	require.NoError(t, err)
	return loc
}

func archiveAt(typ string, vmid int, t time.Time) Archive {
	ext := ".vma.zst"
	if typ == "lxc" {
		ext = ".tar.zst"
	}
	return Archive{Volid: fmt.Sprintf("backups:backup/vzdump-%s-%d-%s%s", typ, vmid, t.Format("2006_01_02-15_04_05"), ext)}
}

// kept returns the backup times (as "01-02 15:04") that survive, newest first.
func kept(ds []Decision) []string {
	var out []string
	for _, d := range ds {
		if d.Mark != MarkRemove {
			out = append(out, d.Time.Format("01-02 15:04"))
		}
	}
	return out
}

// The worked example in reference/backup.md §3.2.
func TestRetentionWorkedExample(t *testing.T) {
	t.Parallel()
	loc := madrid(t)
	var as []Archive
	for d := time.Date(2026, 10, 1, 3, 0, 0, 0, loc); !d.After(time.Date(2026, 11, 25, 3, 0, 0, 0, loc)); d = d.AddDate(0, 0, 1) {
		as = append(as, archiveAt("qemu", 100, d))
	}
	as = append(as, archiveAt("qemu", 100, time.Date(2026, 11, 25, 15, 0, 0, 0, loc)))
	require.Len(t, as, 57)

	ds := Retention(as, Keep{Last: 2, Daily: 3, Weekly: 2, Monthly: 2}, loc)
	assert.Equal(t, []string{"11-25 15:00", "11-25 03:00", "11-24 03:00", "11-23 03:00", "11-22 03:00", "11-15 03:00", "11-08 03:00", "10-31 03:00"}, kept(ds))
	assert.Len(t, Removed(ds), 49)
	rules := map[string]string{}
	for _, d := range ds {
		if d.Mark == MarkKeep {
			rules[d.Time.Format("01-02 15:04")] = d.Rule
		}
	}
	assert.Equal(t, map[string]string{
		"11-25 15:00": "keep-last", "11-25 03:00": "keep-last",
		"11-24 03:00": "keep-daily", "11-23 03:00": "keep-daily", "11-22 03:00": "keep-daily",
		"11-15 03:00": "keep-weekly", "11-08 03:00": "keep-weekly", "10-31 03:00": "keep-monthly",
	}, rules)
}

func TestRetentionEdges(t *testing.T) {
	t.Parallel()
	loc := madrid(t)
	at := func(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, loc) }
	tests := []struct {
		name string
		as   []Archive
		keep Keep
		want []string // kept, newest first, as "01-02 15:04"
	}{
		{
			// 2026 has 53 ISO weeks: Dec 28 2026 to Jan 3 2027 is 2026-W53,
			// so Dec 31 and Jan 2 share a week across the calendar year.
			name: "iso week 53 spans new year",
			as: []Archive{
				archiveAt("qemu", 100, at(2027, 1, 2, 3, 0)),
				archiveAt("qemu", 100, at(2026, 12, 31, 3, 0)),
				archiveAt("qemu", 100, at(2026, 12, 27, 3, 0)),
				archiveAt("qemu", 100, at(2026, 12, 20, 3, 0)),
			},
			keep: Keep{Weekly: 2},
			want: []string{"01-02 03:00", "12-27 03:00"},
		},
		{
			// Monday Dec 30 2024 belongs to ISO week-year 2025 (2025-W01).
			name: "iso week-year differs from calendar year",
			as: []Archive{
				archiveAt("qemu", 100, at(2025, 1, 5, 3, 0)),
				archiveAt("qemu", 100, at(2024, 12, 30, 3, 0)),
				archiveAt("qemu", 100, at(2024, 12, 29, 3, 0)),
			},
			keep: Keep{Weekly: 2},
			want: []string{"01-05 03:00", "12-29 03:00"},
		},
		{
			// Yearly counts calendar years even where the ISO year differs.
			name: "yearly uses the calendar year",
			as: []Archive{
				archiveAt("qemu", 100, at(2025, 1, 5, 3, 0)),
				archiveAt("qemu", 100, at(2024, 12, 30, 3, 0)),
				archiveAt("qemu", 100, at(2024, 6, 1, 3, 0)),
			},
			keep: Keep{Yearly: 2},
			want: []string{"01-05 03:00", "12-30 03:00"},
		},
		{
			// Europe/Madrid falls back at 03:00 CEST on Oct 25 2026: 02:10
			// and 02:50 on that morning are one wall-clock hour.
			name: "dst fall-back hour is one hourly bucket",
			as: []Archive{
				archiveAt("qemu", 100, at(2026, 10, 25, 2, 50)),
				archiveAt("qemu", 100, at(2026, 10, 25, 2, 10)),
				archiveAt("qemu", 100, at(2026, 10, 25, 1, 30)),
			},
			keep: Keep{Hourly: 2},
			want: []string{"10-25 02:50", "10-25 01:30"},
		},
		{
			// A protected archive neither covers its day nor uses quota.
			name: "protected inside a period",
			as: []Archive{
				{Volid: archiveAt("qemu", 100, at(2026, 11, 25, 15, 0)).Volid, Protected: true},
				archiveAt("qemu", 100, at(2026, 11, 25, 3, 0)),
				archiveAt("qemu", 100, at(2026, 11, 24, 3, 0)),
				archiveAt("qemu", 100, at(2026, 11, 23, 3, 0)),
			},
			keep: Keep{Daily: 2},
			want: []string{"11-25 15:00", "11-25 03:00", "11-24 03:00"},
		},
		{
			// Same ctime: one keep-last bucket; the first listed wins.
			name: "identical timestamps",
			as: []Archive{
				{Volid: "backups:backup/vzdump-qemu-100-2026_11_25-03_00_00.vma.lzo"},
				{Volid: "backups:backup/vzdump-qemu-100-2026_11_25-03_00_00.vma.zst"},
				archiveAt("qemu", 100, at(2026, 11, 24, 3, 0)),
			},
			keep: Keep{Last: 2},
			want: []string{"11-25 03:00", "11-24 03:00"},
		},
		{
			name: "count larger than periods",
			as: []Archive{
				archiveAt("qemu", 100, at(2026, 11, 25, 15, 0)),
				archiveAt("qemu", 100, at(2026, 11, 25, 3, 0)),
				archiveAt("qemu", 100, at(2026, 11, 24, 3, 0)),
			},
			keep: Keep{Daily: 100},
			want: []string{"11-25 15:00", "11-24 03:00"},
		},
		{
			name: "zero counts keep all",
			as: []Archive{
				archiveAt("qemu", 100, at(2026, 11, 25, 3, 0)),
				archiveAt("qemu", 100, at(2026, 11, 24, 3, 0)),
			},
			keep: Keep{},
			want: []string{"11-25 03:00", "11-24 03:00"},
		},
		{
			// Each rule only looks past what earlier rules kept.
			name: "later rules look further back",
			as: []Archive{
				archiveAt("qemu", 100, at(2026, 11, 25, 3, 0)),
				archiveAt("qemu", 100, at(2026, 11, 24, 3, 0)),
				archiveAt("qemu", 100, at(2026, 11, 23, 3, 0)),
				archiveAt("qemu", 100, at(2026, 11, 22, 3, 0)),
				archiveAt("qemu", 100, at(2026, 11, 21, 3, 0)),
				archiveAt("qemu", 100, at(2026, 11, 20, 3, 0)),
			},
			keep: Keep{Last: 3, Daily: 2},
			want: []string{"11-25 03:00", "11-24 03:00", "11-23 03:00", "11-22 03:00", "11-21 03:00"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, kept(Retention(tt.as, tt.keep, loc)))
		})
	}
}

func TestRetentionGroupsAndRenamed(t *testing.T) {
	t.Parallel()
	loc := madrid(t)
	day := func(d int) time.Time { return time.Date(2026, 11, d, 3, 0, 0, 0, loc) }
	as := []Archive{
		{Volid: "backups:backup/nas-before-upgrade.vma.zst"},
		archiveAt("qemu", 100, day(24)),
		archiveAt("lxc", 100, day(24)),
		archiveAt("qemu", 100, day(25)),
		archiveAt("lxc", 100, day(25)),
		archiveAt("qemu", 101, day(25)),
		{Volid: "backups:backup/vzdump-qemu-099-2026_11_25-03_00_00.vma.zst"}, // leading zero: not standard
	}
	ds := Retention(as, Keep{Last: 1}, loc)
	var got []string
	for _, d := range ds {
		got = append(got, baseName(d.Volid)+" "+d.Mark.String())
	}
	assert.Equal(t, []string{
		"vzdump-lxc-100-2026_11_25-03_00_00.tar.zst keep",
		"vzdump-lxc-100-2026_11_24-03_00_00.tar.zst remove",
		"vzdump-qemu-100-2026_11_25-03_00_00.vma.zst keep",
		"vzdump-qemu-100-2026_11_24-03_00_00.vma.zst remove",
		"vzdump-qemu-101-2026_11_25-03_00_00.vma.zst keep",
		"nas-before-upgrade.vma.zst renamed",
		"vzdump-qemu-099-2026_11_25-03_00_00.vma.zst renamed",
	}, got)
}

func TestParseArchiveName(t *testing.T) {
	t.Parallel()
	loc := madrid(t)
	a, ok := ParseArchiveName("backups:backup/vzdump-qemu-100-2026_11_25-03_00_02.vma.zst", loc)
	require.True(t, ok)
	assert.Equal(t, ArchiveName{Type: "qemu", VMID: 100, Time: time.Date(2026, 11, 25, 3, 0, 2, 0, loc), Format: "vma", Compression: "zst"}, a)
	a, ok = ParseArchiveName("/mnt/pve/backups/dump/vzdump-lxc-123456789-2026_02_28-23_59_59.tgz", loc)
	require.True(t, ok)
	assert.Equal(t, "tgz", a.Format)
	assert.Equal(t, 123456789, a.VMID)
	for _, bad := range []string{
		"vzdump-qemu-100-2026_11_25-03_00_02.vma.zst.notes",
		"vzdump-qemu-100-2026_11_25-03_00_02.log",
		"vzdump-qemu-10-2026_11_25-03_00_02.vma",
		"vzdump-qemu-1234567890-2026_11_25-03_00_02.vma",
		"vzdump-kvm-100-2026_11_25-03_00_02.vma",
		"vzdump-qemu-100-2026_02_30-03_00_02.vma",
		"vzdump-qemu-100-2026_11_25-24_00_02.vma",
		"vzdump-qemu-100-2026-11-25-03_00_02.vma",
		"vzdump-lxc-100-2026_11_25-03_00_02.tgz.zst",
		"vzdump-qemu-100-2026_11_25-03_00_02.vma.xz",
		"",
	} {
		_, ok := ParseArchiveName(bad, loc)
		assert.False(t, ok, bad)
	}
}

func TestParseKeep(t *testing.T) {
	t.Parallel()
	k, err := ParseKeep("keep-last=3, keep-daily=7,keep-weekly=4,keep-monthly=6,keep-hourly=0,keep-yearly=1")
	require.NoError(t, err)
	assert.Equal(t, Keep{Last: 3, Daily: 7, Weekly: 4, Monthly: 6, Yearly: 1}, k)
	assert.Equal(t, "keep-last=3,keep-daily=7,keep-weekly=4,keep-monthly=6,keep-yearly=1", k.String())
	k, err = ParseKeep("")
	require.NoError(t, err)
	assert.True(t, k.KeepsAll())
	assert.Equal(t, "keep-all=1", k.String())
	for _, bad := range []string{"keep-last", "keep-last=-1", "keep-minutely=3", "keep-all=1,keep-last=2", "keep-all=maybe", "keep-daily=x"} {
		_, err := ParseKeep(bad)
		assert.True(t, errors.Is(err, ErrInvalid), bad)
	}
	assert.Equal(t, "remove", MarkRemove.String())
	for _, m := range []Mark{MarkKeep, MarkRemove, MarkProtected, MarkRenamed} {
		got, err := ParseMark(m.String())
		require.NoError(t, err)
		assert.Equal(t, m, got)
	}
	_, err = ParseMark("keep-partial")
	assert.ErrorIs(t, err, ErrInvalid)
}

// referenceMarks is a second, deliberately literal reading of
// prune_mark_backup_group: string period ids formatted like the Perl
// (hour/day/month/year from localtime, "%V/%G" for weeks), one group at a
// time, maps and nothing clever. The fast implementation must agree with it
// on every generated history.
func referenceMarks(group []Archive, keep Keep, loc *time.Location) map[string]string {
	type entry struct {
		volid string
		ctime time.Time
		mark  string
	}
	var list []*entry
	for _, a := range group {
		n, _ := ParseArchiveName(a.Volid, loc)
		e := &entry{volid: a.Volid, ctime: n.Time}
		if a.Protected {
			e.mark = "protected"
		}
		list = append(list, e)
	}
	out := map[string]string{}
	if keep.KeepsAll() {
		for _, e := range list {
			if e.mark == "" {
				e.mark = "keep"
			}
			out[e.volid] = e.mark
		}
		return out
	}
	sort.SliceStable(list, func(i, j int) bool { return list[i].ctime.After(list[j].ctime) })
	ids := []func(time.Time) string{
		func(t time.Time) string { return fmt.Sprint(t.Unix()) },
		func(t time.Time) string {
			l := t.In(loc)
			return fmt.Sprintf("%d/%d/%d/%d", l.Hour(), l.Day(), l.Month(), l.Year())
		},
		func(t time.Time) string { l := t.In(loc); return fmt.Sprintf("%d/%d/%d", l.Day(), l.Month(), l.Year()) },
		func(t time.Time) string { y, w := t.In(loc).ISOWeek(); return fmt.Sprintf("%d/%d", w, y) },
		func(t time.Time) string { l := t.In(loc); return fmt.Sprintf("%d/%d", l.Month(), l.Year()) },
		func(t time.Time) string { return fmt.Sprint(t.In(loc).Year()) },
	}
	for rule, count := range []int{keep.Last, keep.Hourly, keep.Daily, keep.Weekly, keep.Monthly, keep.Yearly} {
		if count == 0 {
			continue
		}
		already := map[string]bool{}
		for _, e := range list {
			if e.mark == "keep" {
				already[ids[rule](e.ctime)] = true
			}
		}
		newly := map[string]bool{}
		for _, e := range list {
			id := ids[rule](e.ctime)
			if e.mark != "" || already[id] {
				continue
			}
			if !newly[id] {
				if len(newly) >= count {
					break
				}
				newly[id] = true
				e.mark = "keep"
			} else {
				e.mark = "remove"
			}
		}
	}
	for _, e := range list {
		if e.mark == "" {
			e.mark = "remove"
		}
		out[e.volid] = e.mark
	}
	return out
}

// history generates a backup history for one guest: a mix of nightly,
// hourly and irregular backups over up to three years, some protected.
func history(r *rand.Rand, loc *time.Location, n int) []Archive {
	t := time.Date(2024, 12, 20, 3, 0, 0, 0, loc)
	seen := map[string]bool{}
	var out []Archive
	for len(out) < n {
		switch r.IntN(4) {
		case 0:
			t = t.Add(time.Duration(r.IntN(90)+1) * time.Minute)
		case 1:
			t = t.Add(time.Duration(r.IntN(6)+1) * time.Hour)
		case 2:
			t = t.AddDate(0, 0, 1)
		default:
			t = t.AddDate(0, 0, r.IntN(20)+1)
		}
		a := archiveAt("qemu", 100, t)
		if seen[a.Volid] {
			continue
		}
		seen[a.Volid] = true
		a.Protected = r.IntN(15) == 0
		out = append(out, a)
	}
	r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

func randomKeep(r *rand.Rand) Keep {
	c := func() int {
		if r.IntN(3) == 0 {
			return 0
		}
		return r.IntN(8)
	}
	return Keep{Last: c(), Hourly: c(), Daily: c(), Weekly: c(), Monthly: c(), Yearly: c()}
}

func TestRetentionMatchesReference(t *testing.T) {
	t.Parallel()
	loc := madrid(t)
	r := rand.New(rand.NewPCG(12, 2026))
	for i := 0; i < 300; i++ {
		as := history(r, loc, 1+r.IntN(120))
		keep := randomKeep(r)
		want := referenceMarks(as, keep, loc)
		for _, d := range Retention(as, keep, loc) {
			require.Equal(t, want[d.Volid], d.Mark.String(), "history %d, %s, %s", i, keep, d.Volid)
		}
	}
}

// Property: whatever the policy, the newest unprotected archive of each
// group is kept, protected and renamed ones are never removed, and every
// input comes out exactly once.
func TestRetentionProperties(t *testing.T) {
	t.Parallel()
	loc := madrid(t)
	r := rand.New(rand.NewPCG(7, 11))
	for i := 0; i < 500; i++ {
		as := history(r, loc, 1+r.IntN(200))
		if r.IntN(3) == 0 {
			as = append(as, Archive{Volid: "backups:backup/manual-copy.vma.zst"})
		}
		keep := randomKeep(r)
		ds := Retention(as, keep, loc)
		require.Len(t, ds, len(as))
		var newest *Decision
		for j := range ds {
			d := &ds[j]
			switch {
			case d.Protected:
				require.Equal(t, MarkProtected, d.Mark)
			case d.Mark == MarkRenamed:
				require.False(t, strings.Contains(d.Volid, "vzdump-qemu-100-"))
			default:
				if newest == nil || d.Time.After(newest.Time) {
					newest = d
				}
			}
		}
		if newest != nil {
			require.Equal(t, MarkKeep, newest.Mark, "history %d, %s: newest %s", i, keep, newest.Volid)
		}
		if !keep.KeepsAll() {
			n := 0
			for _, d := range ds {
				if d.Mark == MarkKeep {
					n++
				}
			}
			c := keep.counts()
			require.LessOrEqual(t, n, c[0]+c[1]+c[2]+c[3]+c[4]+c[5])
		}
	}
}

// Golden files pin the marks for generated histories so that a change in
// behaviour shows up as a diff; go test -run Golden -update rewrites them.
func TestRetentionGolden(t *testing.T) {
	t.Parallel()
	loc := madrid(t)
	cases := []struct {
		name string
		seed uint64
		n    int
		keep Keep
	}{
		{"nightly-pve-default", 1, 120, Keep{Last: 3, Daily: 7, Weekly: 4, Monthly: 6}},
		{"hourly-and-yearly", 2, 200, Keep{Hourly: 12, Yearly: 3}},
		{"last-only", 3, 40, Keep{Last: 5}},
		{"everything", 4, 300, Keep{Last: 2, Hourly: 4, Daily: 5, Weekly: 3, Monthly: 4, Yearly: 2}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			as := history(rand.New(rand.NewPCG(c.seed, 42)), loc, c.n)
			var b strings.Builder
			fmt.Fprintf(&b, "# %s, zone Europe/Madrid\n", c.keep)
			for _, d := range Retention(as, c.keep, loc) {
				p := ""
				if d.Protected {
					p = " (protected)"
				}
				fmt.Fprintf(&b, "%-9s %-12s %s%s\n", d.Mark, d.Rule, baseName(d.Volid), p)
			}
			file := filepath.Join("testdata", "retention", c.name+".golden")
			if *update {
				require.NoError(t, os.MkdirAll(filepath.Dir(file), 0o755))
				require.NoError(t, os.WriteFile(file, []byte(b.String()), 0o644))
			}
			want, err := os.ReadFile(file)
			require.NoError(t, err)
			assert.Equal(t, string(want), b.String())
		})
	}
}

func BenchmarkRetention(b *testing.B) {
	loc, err := time.LoadLocation("Europe/Madrid")
	require.NoError(b, err)
	// 10,000 archives: ten guests with 1,000 each, three years of several
	// backups a day.
	var as []Archive
	for vmid := 100; vmid < 110; vmid++ {
		t := time.Date(2024, 1, 1, 3, 0, 0, 0, loc)
		for i := 0; i < 1000; i++ {
			as = append(as, archiveAt("qemu", vmid, t))
			t = t.Add(26 * time.Hour)
		}
	}
	keep := Keep{Last: 3, Hourly: 24, Daily: 7, Weekly: 4, Monthly: 12, Yearly: 5}
	b.ReportAllocs()
	for b.Loop() {
		Retention(as, keep, loc)
	}
	b.ReportMetric(float64(len(as)), "archives/op")
}
