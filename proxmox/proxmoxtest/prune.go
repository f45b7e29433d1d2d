package proxmoxtest

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

type pruneSpec struct {
	all  bool
	keep [6]int // last, hourly, daily, weekly, monthly, yearly
}

var pruneNames = []string{"keep-last", "keep-hourly", "keep-daily", "keep-weekly", "keep-monthly", "keep-yearly"}

func parsePrune(s string) (pruneSpec, error) {
	var p pruneSpec
	if strings.TrimSpace(s) == "" {
		p.all = true
		return p, nil
	}
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return p, fmt.Errorf("invalid format - missing value for %q", part)
		}
		if k == "keep-all" {
			p.all = v == "1"
			continue
		}
		i := -1
		for j, n := range pruneNames {
			if n == k {
				i = j
			}
		}
		if i < 0 {
			return p, fmt.Errorf("invalid format - property %s is not defined in schema", k)
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return p, fmt.Errorf("invalid format - %s: type check ('integer') failed - got '%s'", k, v)
		}
		p.keep[i] = n
	}
	any := false
	for _, n := range p.keep {
		any = any || n > 0
	}
	if p.all && any {
		return p, fmt.Errorf("keep-all cannot be set together with other options")
	}
	if !any {
		p.all = true
	}
	return p, nil
}

type mark struct {
	v    *volume
	mark string
}

var stdName = regexp.MustCompile(`backup/vzdump-(qemu|lxc|openvz)-(\d+)-(\d{4}_\d{2}_\d{2}-\d{2}_\d{2}_\d{2})\.`)

// pruneMarks implements PVE's prune_mark_backup_group: per (type, vmid)
// group, protected and renamed entries skipped, rules applied in order
// last/hourly/daily/weekly(ISO)/monthly/yearly on node-local time.
func (s *Server) pruneMarks(st *storage, p pruneSpec, typ string, vmid int) []mark {
	var out []mark
	groups := map[string][]*mark{}
	var order []string
	for _, v := range st.volumes {
		if typ != "" && v.subtype != typ {
			continue
		}
		if vmid != 0 && v.vmid != vmid {
			continue
		}
		m := &mark{v: v}
		if !stdName.MatchString(v.volid) {
			m.mark = "renamed"
		} else if v.protected {
			m.mark = "protected"
		}
		key := fmt.Sprintf("%s/%d", v.subtype, v.vmid)
		if _, ok := groups[key]; !ok {
			order = append(order, key)
		}
		groups[key] = append(groups[key], m)
	}
	for _, key := range order {
		g := groups[key]
		s.markGroup(g, p)
		for _, m := range g {
			out = append(out, *m)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].v.ctime > out[j].v.ctime })
	return out
}

func (s *Server) markGroup(g []*mark, p pruneSpec) {
	if p.all {
		for _, m := range g {
			if m.mark == "" {
				m.mark = "keep"
			}
		}
		return
	}
	sort.SliceStable(g, func(i, j int) bool { return g[i].v.ctime > g[j].v.ctime })
	bucket := func(rule int, ct int64) string {
		t := time.Unix(ct, 0).In(s.loc)
		switch rule {
		case 0:
			return strconv.FormatInt(ct, 10)
		case 1:
			return t.Format("2006/01/02/15")
		case 2:
			return t.Format("2006/01/02")
		case 3:
			y, w := t.ISOWeek()
			return fmt.Sprintf("%d/%02d", y, w)
		case 4:
			return t.Format("2006/01")
		}
		return t.Format("2006")
	}
	for rule, n := range p.keep {
		if n <= 0 {
			continue
		}
		covered := map[string]bool{}
		for _, m := range g {
			if m.mark == "keep" {
				covered[bucket(rule, m.v.ctime)] = true
			}
		}
		taken := map[string]bool{}
		for _, m := range g {
			if m.mark != "" {
				continue
			}
			b := bucket(rule, m.v.ctime)
			if covered[b] {
				continue
			}
			if taken[b] {
				m.mark = "remove"
				continue
			}
			if len(taken) >= n {
				break
			}
			m.mark = "keep"
			taken[b] = true
		}
	}
	for _, m := range g {
		if m.mark == "" {
			m.mark = "remove"
		}
	}
}
