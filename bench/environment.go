package bench

import (
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"time"
)

// Version is meshbench's release version. `make build`, `make release` and
// `make image` stamp it with -ldflags "-X
// github.com/meshbench/meshbench/bench.Version=..." from `git describe
// --tags --always --dirty` (v0.0.0-N-gSHA before the first tag; see the
// Makefile); a plain `go build` leaves this placeholder.
var Version = "v0.0.0-dev"

// Commit is the source commit, set by the Makefile with -ldflags -X for
// builds that carry no VCS stamp (-buildvcs=false, or a GOFLAGS that says
// so); the stamp wins when there is one.
var Commit string

// Build describes the binary that made a run.
type Build struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	GoVersion string `json:"go_version"`
	OS        string `json:"os"`
	Arch      string `json:"arch"`
}

// CurrentBuild reads the running binary's version and VCS stamp.
func CurrentBuild() Build {
	b := Build{Version: Version, Commit: "unknown", GoVersion: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH}
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && s.Value != "" {
				b.Commit = s.Value
				if len(b.Commit) > 12 {
					b.Commit = b.Commit[:12]
				}
			}
		}
	}
	if b.Commit == "unknown" && Commit != "" {
		b.Commit = Commit
	}
	if b.Commit == "unknown" {
		if c := os.Getenv("MESHBENCH_COMMIT"); c != "" {
			b.Commit = c
		}
	}
	return b
}

// Environment is environment.json in a run folder: when and where a run
// happened. It is kept out of summary.json so summaries stay reproducible.
type Environment struct {
	Build    Build     `json:"build"`
	Host     string    `json:"host"`
	CPUs     int       `json:"cpus"`
	CPUModel string    `json:"cpu_model,omitempty"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Command  []string  `json:"command"`
}

// CurrentEnvironment describes this machine, for a run that starts now.
func CurrentEnvironment(started time.Time, args []string) Environment {
	host, _ := os.Hostname()
	return Environment{
		Build:    CurrentBuild(),
		Host:     host,
		CPUs:     runtime.NumCPU(),
		CPUModel: cpuModel(),
		Started:  started.UTC(),
		Command:  args,
	}
}

func cpuModel() string {
	raw, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
