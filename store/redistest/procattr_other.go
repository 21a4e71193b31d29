//go:build !linux

package redistest

import "syscall"

// procAttr is empty where there is no parent-death signal: servers are then
// stopped only by Main, and a crashed binary leaves them to be killed by hand.
func procAttr() *syscall.SysProcAttr {
	return nil
}
