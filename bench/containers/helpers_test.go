package containers

import (
	"context"
	"os"
	"sync"
	"testing"
)

// EnvRequireDocker makes the Docker tests fail instead of skipping when no
// daemon answers: CI machines that have Docker set it, so that a broken
// daemon cannot turn the suite green by skipping.
const envRequireDocker = "MESHBENCH_REQUIRE_DOCKER"

// requireDocker skips the test when no Docker daemon answers, or fails it
// when MESHBENCH_REQUIRE_DOCKER=1.
func requireDocker(t *testing.T) {
	t.Helper()
	err := Available(context.Background())
	if err == nil {
		return
	}
	if os.Getenv(envRequireDocker) == "1" {
		t.Fatalf("%s=1 but Docker is not usable: %v", envRequireDocker, err)
	}
	t.Skipf("skipping: %v (set %s=1 to fail instead of skipping)", err, envRequireDocker)
}

var (
	imageOnce sync.Once
	imageTag  string
	imageErr  error
)

// testImage builds (or finds) the fleet image once for the package's
// tests, so that each fleet they start skips the go build.
func testImage(t *testing.T) string {
	t.Helper()
	requireDocker(t)
	imageOnce.Do(func() {
		var img Image
		img, imageErr = BuildImage(context.Background(), ImageOptions{})
		imageTag = img.Tag
	})
	if imageErr != nil {
		t.Fatal(imageErr)
	}
	return imageTag
}
