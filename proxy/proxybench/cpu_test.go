package proxybench

import (
	"os"
	"testing"
)

func TestParseStat(t *testing.T) {
	for _, tc := range []struct {
		name, line string
		ppid       int
		user, sys  int64
		ok         bool
	}{
		{"plain", "42 (nginx) S 1 42 42 0 -1 4194624 100 0 0 0 250 50 0 0 20 0 1 0 100 1000 10", 1, 250, 50, true},
		{"name with spaces and parens", "7 (a (b) c) R 3 7 7 0 -1 0 0 0 0 0 11 22 0 0 20 0 1 0 1 1 1", 3, 11, 22, true},
		{"truncated", "7 (x) R 3 7", 0, 0, 0, false},
		{"no name", "garbage", 0, 0, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ppid, user, sys, err := parseStat([]byte(tc.line))
			if (err == nil) != tc.ok || ppid != tc.ppid || user != tc.user || sys != tc.sys {
				t.Fatalf("ppid %d user %d sys %d err %v, want %d %d %d ok=%v", ppid, user, sys, err, tc.ppid, tc.user, tc.sys, tc.ok)
			}
		})
	}
}

func TestProcessCPU(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	d, err := processCPU(os.Getpid())
	if err != nil || d.user < 0 || d.sys < 0 {
		t.Fatalf("%v %v", d, err)
	}
	if _, err := processCPU(1 << 30); err == nil {
		t.Fatal("a process that does not exist has a CPU time")
	}
}
