package containers

import (
	"bufio"
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// ModulePath is the Go module that holds cmd/paymentsvc.
const ModulePath = "github.com/meshbench/meshbench"

// EnvBinary names a prebuilt static paymentsvc binary to put in the fleet
// image instead of building one from the source tree: for a meshbench
// binary run away from its source checkout, or without a Go toolchain.
const EnvBinary = "MESHBENCH_PAYMENTSVC_BIN"

// FindModuleRoot returns the directory of meshbench's go.mod, searched from
// dir upward. The containers backend builds paymentsvc from that source
// tree, so it needs the checkout that the user runs from (or EnvBinary).
func FindModuleRoot(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("find module root: %w", err)
	}
	for d := abs; ; d = filepath.Dir(d) {
		if mod, err := modulePathOf(filepath.Join(d, "go.mod")); err == nil && mod == ModulePath {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no go.mod of %s in %s or above: the containers backend builds paymentsvc from meshbench's source checkout; run from inside it, or set %s to a static paymentsvc binary", ModulePath, abs, EnvBinary)
		}
	}
}

// modulePathOf reads the module line of a go.mod file.
func modulePathOf(gomod string) (string, error) {
	raw, err := os.ReadFile(gomod)
	if err != nil {
		return "", err
	}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "module"); ok && rest != "" && (rest[0] == ' ' || rest[0] == '\t') {
			return strings.Trim(strings.TrimSpace(rest), `"`), nil
		}
	}
	return "", fmt.Errorf("%s: no module line", gomod)
}

// buildBinary compiles a static linux paymentsvc from the module at root
// into out, as the Dockerfile expects:
//
//	CGO_ENABLED=0 GOOS=linux go build -trimpath -o out ./cmd/paymentsvc
//
// -trimpath keeps the binary, and so the image's content tag, independent
// of where the checkout lives. The Go build cache makes a rebuild of
// unchanged sources quick.
func buildBinary(ctx context.Context, root, out string) error {
	goTool, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("build paymentsvc: no Go toolchain on PATH (%v); install Go, or set %s to a static paymentsvc binary", err, EnvBinary)
	}
	cmd := exec.CommandContext(ctx, goTool, "build", "-trimpath", "-o", out, "./cmd/paymentsvc")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	var stderr bytes.Buffer
	cmd.Stdout = &stderr
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("build paymentsvc in %s: %w: %s", root, err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// checkStatic refuses a binary that a scratch image cannot run: not a
// linux ELF executable, or one that needs a dynamic loader.
func checkStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("paymentsvc binary %s: not an ELF executable: %w", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("paymentsvc binary %s is dynamically linked; a FROM scratch image needs a static one (CGO_ENABLED=0)", path)
		}
	}
	if f.Type != elf.ET_EXEC && f.Type != elf.ET_DYN {
		return fmt.Errorf("paymentsvc binary %s: ELF type %v is not an executable", path, f.Type)
	}
	return nil
}
