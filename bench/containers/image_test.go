package containers

import (
	"context"
	"strings"
	"testing"

	"github.com/moby/moby/client"
)

func TestContentHash(t *testing.T) {
	base := contentHash([]byte("FROM scratch\n"), []byte("binary"))
	for _, c := range []struct {
		name       string
		dockerfile string
		binary     string
		same       bool
	}{
		{"identical inputs", "FROM scratch\n", "binary", true},
		{"binary changed", "FROM scratch\n", "binary2", false},
		{"dockerfile changed", "FROM scratch\nEXPOSE 1\n", "binary", false},
		{"bytes moved across the boundary", "FROM scratch\nb", "inary", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := contentHash([]byte(c.dockerfile), []byte(c.binary))
			if (got == base) != c.same {
				t.Errorf("hash %s vs %s: same=%v, want %v", got, base, got == base, c.same)
			}
		})
	}
}

func TestBuildImageIsCachedByContent(t *testing.T) {
	requireDocker(t)
	t.Parallel() // the Docker tests mostly wait on the daemon
	ctx := context.Background()
	cli, err := dial(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.Close() }) // after the image's removal below
	repo := "meshbench/paymentsvc-test-" + NewRunID()
	opts := ImageOptions{Repository: repo}

	first, err := buildImage(ctx, cli, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := cli.ImageRemove(context.Background(), first.Tag, client.ImageRemoveOptions{Force: true, PruneChildren: true}); err != nil {
			t.Errorf("remove test image %s: %v", first.Tag, err)
		}
	})
	if !first.Built {
		t.Errorf("first build of a fresh repository reused an image")
	}
	if want := repo + ":" + first.ContentHash[:16]; first.Tag != want {
		t.Errorf("tag %q, want %q", first.Tag, want)
	}
	second, err := buildImage(ctx, cli, opts)
	if err != nil {
		t.Fatal(err)
	}
	if second.Built || second.Tag != first.Tag {
		t.Errorf("second build: %+v, want the first's tag %q reused", second, first.Tag)
	}
	insp, err := cli.ImageInspect(ctx, first.Tag)
	if err != nil {
		t.Fatal(err)
	}
	if got := insp.Config.Labels[LabelHash]; got != first.ContentHash {
		t.Errorf("image label %s=%q, want %q", LabelHash, got, first.ContentHash)
	}
	if !strings.HasPrefix(insp.Config.Entrypoint[0], "/paymentsvc") {
		t.Errorf("entrypoint %v", insp.Config.Entrypoint)
	}
}
