// Package errtext checks the shape STYLE gives every SDK error text: it
// starts with exactly one "pkg: " prefix and no part of it is said twice in
// a row ("POST /x: POST /x: 401 …"). Tests of every package call Check on
// the errors their fakes provoke.
package errtext

import (
	"fmt"
	"slices"
	"strings"
)

// Check returns a description of what is wrong with err's text for a
// package named pkg, or nil when the text has the house shape: it begins
// with "pkg: ", that prefix starts no other segment, and no run of
// segments (split on ": ", another SDK package's prefix between them
// ignored) repeats immediately, nor repeats itself in a parenthesised
// aside ("run /x (/x)").
func Check(pkg string, err error) error {
	if err == nil {
		return fmt.Errorf("no error")
	}
	text := err.Error()
	if !strings.HasPrefix(text, pkg+": ") {
		return fmt.Errorf("%q does not start with %q", text, pkg+": ")
	}
	var segs []string
	for _, line := range strings.Split(text, "\n") {
		segs = append(segs, strings.Split(line, ": ")...)
	}
	if n := count(segs, pkg); n != 1 {
		return fmt.Errorf("%q: prefix %q appears %d times", text, pkg+": ", n)
	}
	// "run /x (/x)": a parenthesised aside repeating its own segment.
	for _, seg := range segs {
		open := strings.LastIndex(seg, " (")
		if open < 0 || !strings.HasSuffix(seg, ")") {
			continue
		}
		if aside := seg[open+2 : len(seg)-1]; len(aside) > 1 && strings.Contains(seg[:open], aside) {
			return fmt.Errorf("%q: %q is said twice in a row", text, aside)
		}
	}
	// An inner package's prefix does not part two sayings of one thing:
	// "backup: find guest 9: proxmox: find guest 9: …" says it twice.
	segs = slices.DeleteFunc(segs, func(s string) bool { return slices.Contains(packages, s) })
	for size := 1; size <= len(segs)/2; size++ {
		for i := 0; i+2*size <= len(segs); i++ {
			if slices.Equal(segs[i:i+size], segs[i+size:i+2*size]) {
				return fmt.Errorf("%q: %q is said twice in a row", text, strings.Join(segs[i:i+size], ": "))
			}
		}
	}
	return nil
}

// packages are the SDK's error prefixes.
var packages = []string{"routeros", "proxmox", "omv", "smb", "npm", "ups", "dns", "ddns", "backup"}

func count(segs []string, s string) int {
	n := 0
	for _, x := range segs {
		if x == s {
			n++
		}
	}
	return n
}
