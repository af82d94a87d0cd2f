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
	SandboxImage   = "cleeng-connector-sandbox:test"
	NATSImage      = "cleeng-connector-nats:test"
)

// BinDirEnv names a directory holding the images' static binaries
// (connector, connector-dev, nats-server). `make test` builds them once,
// with the flags of `make build`, and sets it; unset (a plain `go test`),
// BuildImages builds them itself.
const BinDirEnv = "CONTAINERTEST_BIN_DIR"

// image is one FROM scratch image: build/<dockerfile> over a context
// holding only the static binary of pkg and the empty directories dirs.
type image struct {
	tag, dockerfile, binary, pkg string
	dirs                         []string
}

var images = []image{
	{tag: ConnectorImage, dockerfile: "connector.Dockerfile", binary: "connector", pkg: "./cmd/connector"},
	{tag: SandboxImage, dockerfile: "sandbox.Dockerfile", binary: "connector-dev", pkg: "./cmd/connector-dev"},
	{tag: NATSImage, dockerfile: "nats-server.Dockerfile", binary: "nats-server", pkg: "github.com/nats-io/nats-server/v2", dirs: []string{"data"}},
}

// BuildImages builds the images from the binaries in $CONTAINERTEST_BIN_DIR,
// or from binaries it builds first, as `make image` does. The context of
// each image holds only its binary, so an unchanged binary is an image cache
// hit. Build output goes to log.
func BuildImages(ctx context.Context, log io.Writer) error {
	root, err := moduleRoot(ctx)
	if err != nil {
		return err
	}
	binDir := os.Getenv(BinDirEnv)
	if binDir == "" {
		if binDir, err = os.MkdirTemp("", "containertest-bin-"); err != nil {
			return err
		}
		defer os.RemoveAll(binDir)
		if err := buildBinaries(ctx, root, binDir); err != nil {
			return err
		}
	}
	provider, err := testcontainers.NewDockerProvider()
	if err != nil {
		return fmt.Errorf("docker: %w", err)
	}
	defer provider.Close()
	for _, img := range images {
		if err := buildImage(ctx, provider, root, binDir, img, log); err != nil {
			return fmt.Errorf("image %s: %w", img.tag, err)
		}
	}
	return nil
}

// buildBinaries builds every image's binary into dir in one `go build`:
// static (the images are FROM scratch), and otherwise with the settings of
// the go command that runs the tests, so that it reuses the packages the
// test build compiled (when that too had CGO_ENABLED=0, as under make).
func buildBinaries(ctx context.Context, root, dir string) error {
	args := []string{"build", "-ldflags=-s -w", "-o", dir + string(filepath.Separator)}
	for _, img := range images {
		args = append(args, img.pkg)
	}
	build := exec.CommandContext(ctx, "go", args...)
	build.Dir = root
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

func buildImage(ctx context.Context, provider *testcontainers.DockerProvider, root, binDir string, img image, log io.Writer) error {
	dir, err := os.MkdirTemp("", "containertest-"+img.binary+"-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := copyFile(filepath.Join(binDir, img.binary), filepath.Join(dir, img.binary), 0o755); err != nil {
		return err
	}
	for _, d := range img.dirs {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	if err := copyFile(filepath.Join(root, "build", img.dockerfile), filepath.Join(dir, "Dockerfile"), 0o644); err != nil {
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

func copyFile(from, to string, mode os.FileMode) error {
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return err
	}
	return dst.Close()
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
