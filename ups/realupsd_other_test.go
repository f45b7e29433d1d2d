//go:build !linux

package ups_test

import "syscall"

// daemonAttr: only Linux can tie a child's life to its parent; elsewhere
// t.Cleanup alone stops the rig.
func daemonAttr() *syscall.SysProcAttr { return nil }
