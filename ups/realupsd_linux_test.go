package ups_test

import "syscall"

// daemonAttr makes the kernel kill a rig daemon when the test process dies,
// so a panic, a -timeout or a killed go test leaves no upsd behind.
func daemonAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
