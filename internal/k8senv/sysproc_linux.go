package k8senv

import "syscall"

// sysProcAttr asks the kernel to kill a control-plane process when the
// process that started it dies (a test binary killed by its timeout), so
// none outlives its test. Stop still stops each one by its PID.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
