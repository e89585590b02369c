package main

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The release path (`make release`, `make image`) cross-builds four
// binaries and a container image, minutes of work that CI does not do
// (docs/release.md). These tests check, in well under a second, what
// those targets would run: the version they stamp, the static builds
// they make, and the image's Dockerfile.

// makeTool returns make and git, or skips when either is missing.
func makeTool(t *testing.T) (string, string) {
	t.Helper()
	mk, err := exec.LookPath("make")
	if err != nil {
		t.Skip("make is not installed")
	}
	git, err := exec.LookPath("git")
	if err != nil {
		t.Skip("git is not installed")
	}
	return mk, git
}

// TestMakeVersion runs the Makefile's version computation in a scratch git
// repository: the bare commit without a tag becomes v0.0.0-N-gSHA, a tag
// is used as is, and uncommitted changes add -dirty.
func TestMakeVersion(t *testing.T) {
	mk, git := makeTool(t)
	dir := t.TempDir()
	src, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "Makefile"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(name string, args ...string) string {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_SYSTEM=/dev/null",
			"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.invalid", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.invalid")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	if v := run(mk, "-s", "version"); v != "v0.0.0-unknown" {
		t.Errorf("outside git: version %q, want v0.0.0-unknown", v)
	}
	run(git, "init", "-q")
	run(git, "add", "Makefile")
	run(git, "commit", "-q", "-m", "one")
	run(git, "commit", "-q", "--allow-empty", "-m", "two")
	sha := run(git, "rev-parse", "--short", "HEAD")
	if v, want := run(mk, "-s", "version"), "v0.0.0-2-g"+sha; v != want {
		t.Errorf("untagged: version %q, want %q", v, want)
	}
	run(git, "tag", "v1.2.0")
	if v := run(mk, "-s", "version"); v != "v1.2.0" {
		t.Errorf("at a tag: version %q, want v1.2.0", v)
	}
	if err := os.WriteFile(filepath.Join(dir, "Makefile"), append(src, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	if v := run(mk, "-s", "version"); v != "v1.2.0-dirty" {
		t.Errorf("dirty: version %q, want v1.2.0-dirty", v)
	}
	if v := run(mk, "-s", "version", "VERSION=v9.0.0"); v != "v9.0.0" {
		t.Errorf("VERSION=v9.0.0: version %q", v)
	}
}

// TestMakeReleaseDryRun reads what `make release` and `make image` would
// run (make -n): static, trimmed builds for linux and darwin on amd64 and
// arm64 stamped with the version, checksums, the man pages, and a docker
// build of docker/meshbench.Dockerfile.
func TestMakeReleaseDryRun(t *testing.T) {
	mk, _ := makeTool(t)
	dry := func(target string) string {
		t.Helper()
		cmd := exec.Command(mk, "-n", target, "VERSION=v1.2.3")
		cmd.Dir = "../.."
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("make -n %s: %v\n%s", target, err, out)
		}
		return string(out)
	}
	rel := dry("release")
	for _, want := range []string{
		"linux/amd64 linux/arm64 darwin/amd64 darwin/arm64",
		"CGO_ENABLED=0 GOOS=$os GOARCH=$arch",
		"-trimpath",
		"bench.Version=v1.2.3",
		"meshbench-v1.2.3-$os-$arch",
		"sha256sum meshbench-v1.2.3-* man/*.1 > SHA256SUMS",
		"gen-docs --man dist/man",
	} {
		if !strings.Contains(rel, want) {
			t.Errorf("make -n release does not run %q:\n%s", want, rel)
		}
	}
	img := dry("image")
	for _, want := range []string{
		"CGO_ENABLED=0 GOOS=linux",
		"bench.Version=v1.2.3",
		"cp docker/meshbench.Dockerfile dist/image/Dockerfile",
		"mkdir -p dist/image/work",
		"docker build --build-arg VERSION=v1.2.3 -t meshbench:dev dist/image",
	} {
		if !strings.Contains(img, want) {
			t.Errorf("make -n image does not run %q:\n%s", want, img)
		}
	}
}

// TestImageDockerfile checks the CLI image's Dockerfile: one stage, FROM
// scratch (nothing to pull), the binary as entry point, and a working
// directory that the build context creates (scratch has none).
func TestImageDockerfile(t *testing.T) {
	src, err := os.ReadFile("../../docker/meshbench.Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var froms, instr []string
	sc := bufio.NewScanner(bytes.NewReader(src))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		instr = append(instr, line)
		if strings.HasPrefix(strings.ToUpper(line), "FROM ") {
			froms = append(froms, line)
		}
	}
	if len(froms) != 1 || froms[0] != "FROM scratch" || !strings.HasPrefix(instr[0], "FROM") {
		t.Errorf("want a single FROM scratch first, got %q", froms)
	}
	text := strings.Join(instr, "\n")
	for _, re := range []string{
		`(?m)^COPY meshbench /meshbench$`,
		`(?m)^COPY --chown=65532:65532 work /work$`,
		`(?m)^WORKDIR /work$`,
		`(?m)^USER 65532:65532$`,
		`(?m)^ENTRYPOINT \["/meshbench"\]$`,
	} {
		if !regexp.MustCompile(re).MatchString(text) {
			t.Errorf("Dockerfile lacks %s:\n%s", re, text)
		}
	}
}

// TestImageRunsRetryStorm builds the CLI image and runs the README's
// command in it. It takes a minute and needs a Docker Engine, so it runs
// only when asked: MESHBENCH_TEST_IMAGE=1 go test -run TestImageRunsRetryStorm ./cmd/meshbench/
func TestImageRunsRetryStorm(t *testing.T) {
	if os.Getenv("MESHBENCH_TEST_IMAGE") != "1" {
		t.Skip("set MESHBENCH_TEST_IMAGE=1 to build and run the CLI image (about a minute, needs Docker)")
	}
	mk, _ := makeTool(t)
	docker, err := exec.LookPath("docker")
	if err != nil {
		t.Fatal("MESHBENCH_TEST_IMAGE=1 but docker is not installed")
	}
	image := "meshbench:test-" + strconv.Itoa(os.Getpid())
	build := exec.Command(mk, "image", "IMAGE="+image)
	build.Dir = "../.."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("make image: %v\n%s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command(docker, "rmi", "-f", image).Run() })
	out, err := exec.Command(docker, "run", "--rm", "--network", "none", image, "run", "retry-storm", "--backend", "sim", "--duration", "5s").CombinedOutput()
	if err != nil {
		var ee *exec.ExitError
		// Exit 1 is a failed SLO, which retry-storm's no-retries variant has.
		if !errors.As(err, &ee) || ee.ExitCode() != exitFailure {
			t.Fatalf("docker run: %v\n%s", err, out)
		}
	}
	for _, want := range []string{"no-retries", "with-budget", "run folder: runs/retry-storm-"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("docker run output lacks %q:\n%s", want, out)
		}
	}
}
