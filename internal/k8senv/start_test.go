package k8senv

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// fakeBinDir makes a bin folder whose etcd is script and whose other
// programs exit at once, and points MESHBENCH_K8S_BIN at it.
func fakeBinDir(t *testing.T, etcdScript string) string {
	t.Helper()
	dir := t.TempDir()
	for _, b := range Binaries {
		script := "#!/bin/sh\nexit 0\n"
		if b == "etcd" {
			script = "#!/bin/sh\n" + etcdScript
		}
		if err := os.WriteFile(filepath.Join(dir, b), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv(EnvBin, dir)
	return dir
}

// privateTempDir points TMPDIR, where Start makes its folder, at a new
// empty folder, and returns a check that Start left nothing in it.
func privateTempDir(t *testing.T) func() {
	t.Helper()
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	return func() {
		t.Helper()
		left, err := os.ReadDir(tmp)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range left {
			t.Errorf("%s left behind", filepath.Join(tmp, e.Name()))
		}
	}
}

// A process that dies while Start waits for it: the error names it and
// quotes the end of its log, and nothing is left behind.
func TestStartReportsAProcessThatExited(t *testing.T) {
	fakeBinDir(t, "echo 'etcd: cannot listen: address in use' >&2\nexit 3\n")
	checkTemp := privateTempDir(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := Start(ctx, Options{})
	if err == nil {
		t.Fatal("Start with an etcd that exits: no error")
	}
	for _, want := range []string{"waiting for etcd /health", "etcd (pid", "exit status 3", "address in use"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	checkTemp()
}

// A start that runs out of time stops what it started, by PID.
func TestStartTimesOutAndStops(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "etcd.pid")
	fakeBinDir(t, "echo $$ > "+pidFile+"\nexec sleep 120\n")
	checkTemp := privateTempDir(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err := Start(ctx, Options{})
	if err == nil || !strings.Contains(err.Error(), "waiting for etcd /health") || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Start with an etcd that never answers: %v; want a deadline waiting for etcd", err)
	}
	checkTemp()
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("the fake etcd never ran: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("etcd (pid %d) after a failed Start: kill 0 = %v, want ESRCH", pid, err)
	}
}

// A port taken between its choice and its bind is retried on new ports,
// a bounded number of times.
func TestStartRetriesAPortTaken(t *testing.T) {
	tries := filepath.Join(t.TempDir(), "tries")
	fakeBinDir(t, "echo try >> "+tries+"\necho 'listen tcp 127.0.0.1:2379: bind: address already in use' >&2\nexit 1\n")
	checkTemp := privateTempDir(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := Start(ctx, Options{})
	if err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("Start = %v, want the port error", err)
	}
	b, err := os.ReadFile(tries)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), "try"); n != 3 {
		t.Errorf("etcd started %d times, want 3", n)
	}
	checkTemp()
}
