package main

import (
	"time"

	"github.com/thehomelab/homelab/omv/omvtest"
)

// replaceDisk does on the fake NAS what a person does after a disk failed:
// pull the failed disk, plug in a new one, add it to the array, and wait
// (on the fake's clock) for the rebuild to finish.
func replaceDisk(srv *omvtest.Server) error {
	if err := srv.RemoveMember("md0", "sdb"); err != nil {
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
