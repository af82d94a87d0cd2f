package containertest

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
)

// Tags of the images BuildImages builds. `make image` builds the same
// Dockerfiles under the :dev tags that docker-compose.yml runs.
const (
	ConnectorImage = "cleeng-connector:test"
	NATSImage      = "cleeng-connector-nats:test"
)

// image is one FROM scratch image: a static binary built from pkg, copied
// by build/<binary>.Dockerfile, with empty directories dirs beside it.
type image struct {
	tag, binary, pkg string
	dirs             []string
}

var images = []image{
	{tag: ConnectorImage, binary: "connector", pkg: "./cmd/connector"},
	{tag: NATSImage, binary: "nats-server", pkg: "github.com/nats-io/nats-server/v2", dirs: []string{"data"}},
}

// BuildImages builds both images from this source tree, as `make image`
// does: a static binary with the same flags (so the Go build cache is
// shared), then the Dockerfile over a context holding only that binary, so
// an unchanged binary is an image cache hit. Build output goes to log.
func BuildImages(ctx context.Context, log io.Writer) error {
	root, err := moduleRoot(ctx)
	if err != nil {
		return err
	}
	provider, err := testcontainers.NewDockerProvider()
	if err != nil {
		return fmt.Errorf("docker: %w", err)
	}
	defer provider.Close()
	for _, img := range images {
		if err := buildImage(ctx, provider, root, img, log); err != nil {
			return fmt.Errorf("image %s: %w", img.tag, err)
		}
	}
	return nil
}

func buildImage(ctx context.Context, provider *testcontainers.DockerProvider, root string, img image, log io.Writer) error {
	dir, err := os.MkdirTemp("", "containertest-"+img.binary+"-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", filepath.Join(dir, img.binary), img.pkg)
	build.Dir = root
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %w\n%s", img.pkg, err, out)
	}
	for _, d := range img.dirs {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	dockerfile, err := os.ReadFile(filepath.Join(root, "build", img.binary+".Dockerfile"))
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), dockerfile, 0o644); err != nil {
		return err
	}
	docker := provider.Client()
	previous, _ := docker.ImageInspect(ctx, img.tag) // none before the first build
	repo, tag, _ := strings.Cut(img.tag, ":")
	if _, err := provider.BuildImage(ctx, &testcontainers.ContainerRequest{FromDockerfile: testcontainers.FromDockerfile{
		Context: dir, Repo: repo, Tag: tag, KeepImage: true, BuildLogWriter: log,
	}}); err != nil {
		return err
	}
	// A changed binary leaves the previous image untagged: remove it rather
	// than pile them up. Docker refuses while a container or another tag
	// still uses it, which is fine.
	if current, err := docker.ImageInspect(ctx, img.tag); err == nil && previous.ID != "" && current.ID != previous.ID {
		_, _ = docker.ImageRemove(ctx, previous.ID, client.ImageRemoveOptions{})
	}
	return nil
}

// moduleRoot is the directory of go.mod.
func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("not inside the connector's module")
	}
	return filepath.Dir(gomod), nil
}
