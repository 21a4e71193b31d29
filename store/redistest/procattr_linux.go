package redistest

import "syscall"

// procAttr makes the kernel kill a server when the thread that started it
// exits. Servers are started from one locked thread that lives as long as the
// test binary (see spawner), so a crashed or killed binary takes them along.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
