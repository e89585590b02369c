//go:build !linux

package k8senv

import "syscall"

// sysProcAttr has nothing to add off Linux: Stop stops each process by its
// PID.
func sysProcAttr() *syscall.SysProcAttr { return nil }
