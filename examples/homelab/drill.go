package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/thehomelab/homelab/omv/omvtest"
	"github.com/thehomelab/homelab/routeros/routerostest"
)

// replaceDisk does on the fake NAS what a person does after a disk failed:
// pull the failed disk, plug in a new one, add it to the array, and wait
// (on the fake's clock) for the rebuild to finish.
func replaceDisk(srv *omvtest.Server) error {
	if err := srv.RemoveMember("md0", "sdb"); err != nil {
		return err
	}
	if err := srv.RemoveDisk("/dev/sdb"); err != nil {
		return err
	}
	srv.AddDisk("/dev/sdc", "Samsung SSD 870 EVO 1TB", 1000204886016)
	if err := srv.AddMember("md0", "sdc"); err != nil {
		return err
	}
	if err := srv.SetSyncSpeed("md0", 2_000_000); err != nil {
		return err
	}
	srv.Advance(time.Hour)
	return nil
}

// setGuestRule disables or re-enables the router's guest isolation rule on
// the fake, as a click in WinBox would.
func setGuestRule(srv *routerostest.Server, disabled bool) error {
	id, err := fakeID(srv, "/ip/firewall/filter", "?comment="+routerostest.LabGuestRule)
	if err != nil {
		return err
	}
	_, err = srv.Run("/ip/firewall/filter/set", "=.id="+id, "=disabled="+map[bool]string{true: "yes", false: "no"}[disabled])
	return err
}

// fakeID returns the .id of the one item of menu matching query on the
// fake router.
func fakeID(srv *routerostest.Server, menu, query string) (string, error) {
	reply, err := srv.Run(menu+"/print", query)
	if err != nil {
		return "", err
	}
	var ids []string
	for _, s := range reply {
		for _, w := range s {
			if v, ok := strings.CutPrefix(w, "=.id="); ok {
				ids = append(ids, v)
			}
		}
	}
	if len(ids) != 1 {
		return "", fmt.Errorf("fake router: %d items in %s matching %s, want 1", len(ids), menu, query)
	}
	return ids[0], nil
}
