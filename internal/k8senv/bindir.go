package k8senv

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// Binaries are the programs the control plane runs, all in BinDir.
var Binaries = []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"}

// EnvBin names the environment variable that points at the folder holding
// Binaries; `make test` sets it to what `make k8s-env` built.
const EnvBin = "MESHBENCH_K8S_BIN"

// EnvCache names the environment variable that moves the cache root
// (default $HOME/.cache/meshbench/k8s), as tools/k8senv/build.sh reads it.
const EnvCache = "MESHBENCH_K8S_CACHE"

// toolsDir is the wrapper module's folder inside the repository.
const toolsDir = "tools/k8senv"

// BinDir returns the folder holding the control plane's binaries: the
// folder $MESHBENCH_K8S_BIN names, or else the cache folder that
// `make k8s-env` builds for the versions pinned in tools/k8senv (found from
// the working directory up to the repository's root). The error says which
// binary is missing where, and to run `make k8s-env`.
func BinDir() (string, error) {
	if dir := os.Getenv(EnvBin); dir != "" {
		if err := checkBinaries(dir); err != nil {
			return "", fmt.Errorf("%s=%s: %w (run `make k8s-env`)", EnvBin, dir, err)
		}
		return dir, nil
	}
	dir, err := cacheDir()
	if err != nil {
		return "", fmt.Errorf("kubernetes test control plane: %w (run `make k8s-env`, or set %s)", err, EnvBin)
	}
	if err := checkBinaries(dir); err != nil {
		return "", fmt.Errorf("kubernetes test control plane not built: %w (run `make k8s-env`)", err)
	}
	return dir, nil
}

func checkBinaries(dir string) error {
	for _, b := range Binaries {
		p := filepath.Join(dir, b)
		st, err := os.Stat(p)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("%s missing", p)
			}
			return err
		}
		if st.IsDir() || st.Mode()&0o111 == 0 {
			return fmt.Errorf("%s is not an executable file", p)
		}
	}
	return nil
}

// cacheDir finds the repository's tools/k8senv from the working directory
// and returns the cache folder build.sh builds into for it.
func cacheDir() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	tools := ""
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, toolsDir, "build.sh")); err == nil {
			tools = filepath.Join(d, toolsDir)
			break
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no %s above %s to find the cache from", toolsDir, wd)
		}
	}
	root := os.Getenv(EnvCache)
	if root == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("cache root: %w", err)
		}
		root = filepath.Join(home, ".cache", "meshbench", "k8s")
	}
	key, err := cacheKey(tools, runtime.GOOS, runtime.GOARCH)
	if err != nil {
		return "", err
	}
	return filepath.Join(root, key), nil
}

// cacheKey is the cache folder's name for the wrapper modules in tools:
// the three pinned versions, the platform, and a hash over the module files
// and the build script (so any change of pins or build flags builds anew).
// tools/k8senv/build.sh computes the same string: change both together.
func cacheKey(tools, goos, goarch string) (string, error) {
	files := []string{"go.mod", "go.sum", "kwok/go.mod", "kwok/go.sum", "build.sh"}
	contents := make([][]byte, len(files))
	h := sha256.New()
	for i, f := range files {
		b, err := os.ReadFile(filepath.Join(tools, f))
		if err != nil {
			return "", err
		}
		contents[i] = b
		h.Write(b)
	}
	k8s, err := requiredVersion(contents[0], "k8s.io/kubernetes")
	if err != nil {
		return "", fmt.Errorf("%s: %w", filepath.Join(tools, files[0]), err)
	}
	etcd, err := requiredVersion(contents[0], "go.etcd.io/etcd/server/v3")
	if err != nil {
		return "", fmt.Errorf("%s: %w", filepath.Join(tools, files[0]), err)
	}
	kwok, err := requiredVersion(contents[2], "sigs.k8s.io/kwok")
	if err != nil {
		return "", fmt.Errorf("%s: %w", filepath.Join(tools, files[2]), err)
	}
	sum := hex.EncodeToString(h.Sum(nil))[:12]
	return fmt.Sprintf("kubernetes-%s_etcd-%s_kwok-%s_%s-%s_%s", k8s, etcd, kwok, goos, goarch, sum), nil
}

// requiredVersion reads the version a go.mod's require names for module,
// on its own line or in a require block (as build.sh's awk does).
func requiredVersion(gomod []byte, module string) (string, error) {
	sc := bufio.NewScanner(bytes.NewReader(gomod))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) > 0 && f[0] == "require" {
			f = f[1:]
		}
		if len(f) >= 2 && f[0] == module && strings.HasPrefix(f[1], "v") {
			return f[1], nil
		}
	}
	return "", fmt.Errorf("requires no %s", module)
}
