package containers

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/client"

	"github.com/meshbench/meshbench/docker"
)

// DefaultRepository is the repository of the fleet image's tag.
const DefaultRepository = "meshbench/paymentsvc"

// ImageOptions say where the fleet image's paymentsvc binary comes from.
// The zero value builds it from the source checkout around the working
// directory, or takes the binary named by MESHBENCH_PAYMENTSVC_BIN.
type ImageOptions struct {
	// Binary is a prebuilt static paymentsvc. Empty: $MESHBENCH_PAYMENTSVC_BIN,
	// or else a binary built from SourceDir.
	Binary string
	// SourceDir is a directory inside meshbench's source checkout. Empty:
	// the working directory.
	SourceDir string
	// Repository is the tag's repository. Empty: DefaultRepository.
	Repository string
}

// Image is the fleet image, ready to run.
type Image struct {
	// Tag is "<repository>:<hash>": the first 16 hex digits of ContentHash.
	Tag string
	// ContentHash is the SHA-256 of the image's inputs (the Dockerfile and
	// the binary), in hex.
	ContentHash string
	// Built is true when this call built the image, false when an image
	// with the tag existed already and was reused.
	Built bool
}

// BuildImage makes sure the fleet image exists and returns its tag. It
// builds (or takes) the static paymentsvc binary, hashes it with the
// Dockerfile, and builds the image through the Docker API only when no
// image carries that content tag yet, so a fleet whose binary has not
// changed starts without a build. Errors from an unreachable daemon wrap
// ErrNoDocker.
func BuildImage(ctx context.Context, opts ImageOptions) (Image, error) {
	cli, err := dial(ctx)
	if err != nil {
		return Image{}, err
	}
	defer cli.Close()
	return buildImage(ctx, cli, opts)
}

func buildImage(ctx context.Context, cli client.APIClient, opts ImageOptions) (Image, error) {
	dir, err := os.MkdirTemp("", "meshbench-image-")
	if err != nil {
		return Image{}, fmt.Errorf("fleet image: %w", err)
	}
	defer os.RemoveAll(dir)
	if err := prepareContext(ctx, dir, opts); err != nil {
		return Image{}, err
	}
	bin, err := os.ReadFile(filepath.Join(dir, "paymentsvc"))
	if err != nil {
		return Image{}, fmt.Errorf("fleet image: %w", err)
	}
	repo := opts.Repository
	if repo == "" {
		repo = DefaultRepository
	}
	img := Image{ContentHash: contentHash(docker.Dockerfile, bin)}
	img.Tag = repo + ":" + img.ContentHash[:16]

	if _, err := cli.ImageInspect(ctx, img.Tag); err == nil {
		return img, nil
	} else if !cerrdefs.IsNotFound(err) {
		return Image{}, fmt.Errorf("fleet image: inspect %s: %w", img.Tag, err)
	}
	var tarball bytes.Buffer
	if err := tarContext(&tarball, dir); err != nil {
		return Image{}, fmt.Errorf("fleet image: build context: %w", err)
	}
	res, err := cli.ImageBuild(ctx, &tarball, client.ImageBuildOptions{
		Tags:        []string{img.Tag},
		Remove:      true,
		ForceRemove: true,
		Version:     build.BuilderV1, // no BuildKit: the daemon builds FROM scratch without pulling anything
		Labels:      map[string]string{LabelImage: "paymentsvc", LabelHash: img.ContentHash},
	})
	if err != nil {
		return Image{}, fmt.Errorf("fleet image: build %s: %w", img.Tag, err)
	}
	defer res.Body.Close()
	if err := readBuildStream(res.Body); err != nil {
		return Image{}, fmt.Errorf("fleet image: build %s: %w", img.Tag, err)
	}
	img.Built = true
	return img, nil
}

// prepareContext fills dir with the build context: the Dockerfile, the
// paymentsvc binary and the empty data directory.
func prepareContext(ctx context.Context, dir string, opts ImageOptions) error {
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), docker.Dockerfile, 0o644); err != nil {
		return fmt.Errorf("fleet image: %w", err)
	}
	if err := os.Mkdir(filepath.Join(dir, "data"), 0o755); err != nil {
		return fmt.Errorf("fleet image: %w", err)
	}
	out := filepath.Join(dir, "paymentsvc")
	bin := opts.Binary
	if bin == "" {
		bin = os.Getenv(EnvBinary)
	}
	if bin != "" {
		if err := checkStatic(bin); err != nil {
			return err
		}
		return copyFile(out, bin)
	}
	src := opts.SourceDir
	if src == "" {
		src = "."
	}
	root, err := FindModuleRoot(src)
	if err != nil {
		return err
	}
	return buildBinary(ctx, root, out)
}

// contentHash identifies an image by everything that goes into it.
func contentHash(dockerfile, binary []byte) string {
	h := sha256.New()
	fmt.Fprintf(h, "meshbench fleet image v1\nDockerfile %d\n", len(dockerfile))
	h.Write(dockerfile)
	fmt.Fprintf(h, "paymentsvc %d\n", len(binary))
	h.Write(binary)
	return hex.EncodeToString(h.Sum(nil))
}

func copyFile(dst, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("paymentsvc binary: %w", err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return fmt.Errorf("paymentsvc binary: %w", err)
	}
	if _, err := io.Copy(out, in); err != nil {
		_ = out.Close()
		return fmt.Errorf("paymentsvc binary: %w", err)
	}
	return out.Close()
}

// tarContext writes the directory as a tar stream, the form the Docker
// API takes a build context in. Owners are zeroed so the context, like the
// tag, depends on content only.
func tarContext(w io.Writer, dir string) error {
	tw := tar.NewWriter(w)
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || path == dir {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		hdr, err := tar.FileInfoHeader(info, "")
		if err != nil {
			return err
		}
		hdr.Name = filepath.ToSlash(rel)
		hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = 0, 0, "", ""
		if d.IsDir() {
			hdr.Name += "/"
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(tw, f)
		return err
	})
	if err != nil {
		return err
	}
	return tw.Close()
}

// buildMessage is one line of the daemon's build output stream.
type buildMessage struct {
	Stream      string `json:"stream"`
	Error       string `json:"error"`
	ErrorDetail *struct {
		Message string `json:"message"`
	} `json:"errorDetail"`
}

// readBuildStream drains the build's JSON message stream and returns the
// build's error, with the last lines of its output for context.
func readBuildStream(r io.Reader) error {
	dec := json.NewDecoder(r)
	var tail []string
	for {
		var m buildMessage
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("read build output: %w", err)
		}
		if s := strings.TrimSpace(m.Stream); s != "" {
			tail = append(tail, s)
			if len(tail) > 8 {
				tail = tail[1:]
			}
		}
		if msg := m.Error; msg != "" || m.ErrorDetail != nil {
			if m.ErrorDetail != nil && m.ErrorDetail.Message != "" {
				msg = m.ErrorDetail.Message
			}
			return fmt.Errorf("%s (output: %s)", msg, strings.Join(tail, " | "))
		}
	}
}
