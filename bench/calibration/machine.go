package calibration

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"runtime"
	"strings"
)

// Machine are the facts that tell one machine from another. A profile's
// costs hold on the machine they were measured on: CPU model, cores,
// operating system and architecture, and the host (a hash of its name, so
// that the profile does not carry the name itself) must be the same.
// Kernel and Go version are recorded for the reader but do not refuse a
// profile: an upgrade does not make another machine.
type Machine struct {
	// CPU is the processor's model name (/proc/cpuinfo's model name).
	CPU string `yaml:"cpu"`
	// Cores are the logical CPUs the Go runtime sees (runtime.NumCPU).
	Cores int `yaml:"cores"`
	// OS is GOOS/GOARCH.
	OS string `yaml:"os"`
	// Kernel is the kernel release (/proc/sys/kernel/osrelease).
	Kernel string `yaml:"kernel"`
	// Go is the Go version meshbench was built with.
	Go string `yaml:"go"`
	// Host is "sha256:" and the first 16 hex digits of the SHA-256 of the
	// host name.
	Host string `yaml:"host"`
}

// ThisMachine gathers this machine's facts.
func ThisMachine() Machine {
	name, _ := os.Hostname()
	sum := sha256.Sum256([]byte(name))
	return Machine{
		CPU:    cpuModel(),
		Cores:  runtime.NumCPU(),
		OS:     runtime.GOOS + "/" + runtime.GOARCH,
		Kernel: strings.TrimSpace(readFile("/proc/sys/kernel/osrelease")),
		Go:     runtime.Version(),
		Host:   "sha256:" + hex.EncodeToString(sum[:8]),
	}
}

// Differs lists the facts in which m and other differ, as
// "cpu: A (profile) vs B (this machine)"; none when they are the same
// machine.
func (m Machine) Differs(this Machine) []string {
	var out []string
	cmp := func(key, a, b string) {
		if a != b {
			out = append(out, fmt.Sprintf("%s: %q in the profile, %q here", key, a, b))
		}
	}
	cmp("cpu", m.CPU, this.CPU)
	cmp("cores", fmt.Sprint(m.Cores), fmt.Sprint(this.Cores))
	cmp("os", m.OS, this.OS)
	cmp("host", m.Host, this.Host)
	return out
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

func readFile(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return string(b)
}
