package testenv

import (
	"bytes"
	"context"
	"crypto/rand"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Docker support for the container tests.
//
// Every container and image the tests create carries the label
// DockerLabel and a unique name, and is removed when the test (or, for
// images shared by a test binary, the binary) ends. Containers always run
// with --network none: images are built FROM scratch out of static
// binaries, since nothing can be pulled.
//
// Environment:
//
//   - REAPER_REQUIRE_DOCKER=1: fail, instead of skip, when no Docker
//     engine answers or /bin/busybox is missing.

// DockerLabel is the label on every container and image the tests make.
// Leftovers of an interrupted run can be removed with
//
//	docker rm -f $(docker ps -aq --filter label=reaper-init-test=1)
//	docker rmi $(docker images -q --filter label=reaper-init-test=1)
const DockerLabel = "reaper-init-test=1"

// dockerTimeout bounds every docker command that is not given a timeout
// of its own.
const dockerTimeout = 2 * time.Minute

var (
	dockerOnce sync.Once
	dockerErr  error
)

// dockerRequireOrSkip skips the test with msg, or fails it when the
// environment variable env is set to 1.
func dockerRequireOrSkip(t testing.TB, env, msg string) {
	t.Helper()
	if os.Getenv(env) == "1" {
		t.Fatalf("%s (required: %s=1)", msg, env)
	}
	t.Skipf("skipping: %s", msg)
}

// DockerAvailable reports whether a Docker engine answers, and why not.
// The answer is computed once per test binary.
func DockerAvailable() error {
	dockerOnce.Do(func() {
		if _, err := exec.LookPath("docker"); err != nil {
			dockerErr = errors.New("no docker command in PATH")
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, "docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput()
		if err != nil || len(bytes.TrimSpace(out)) == 0 {
			dockerErr = fmt.Errorf("docker info: %v: %s", err, dockerFirstLine(out))
		}
	})
	return dockerErr
}

// RequireDocker skips the test when no Docker engine answers, or fails
// it when REAPER_REQUIRE_DOCKER=1.
func RequireDocker(t testing.TB) {
	t.Helper()
	if err := DockerAvailable(); err != nil {
		dockerRequireOrSkip(t, "REAPER_REQUIRE_DOCKER", fmt.Sprintf("no Docker engine (%v)", err))
	}
}

// Busybox returns the path of a static busybox (/bin/busybox, Debian's
// busybox-static) to put into FROM-scratch images. It skips the test
// when there is none, or fails it when REAPER_REQUIRE_DOCKER=1.
func Busybox(t testing.TB) string {
	t.Helper()
	const path = "/bin/busybox"
	if err := dockerCheckStatic(path); err != nil {
		dockerRequireOrSkip(t, "REAPER_REQUIRE_DOCKER", fmt.Sprintf("no static busybox for the test images (%v; apt-get install busybox-static)", err))
	}
	return path
}

// dockerCheckStatic returns an error unless path is an ELF executable without
// a program interpreter, i.e. one that runs in an empty image.
func dockerCheckStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked", path)
		}
	}
	return nil
}

// UniqueName returns a name for a container or an image tag that no
// other test, or other run of this test, uses: reaper-init-test-PREFIX-
// followed by random hex digits.
func UniqueName(prefix string) string {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		// crypto/rand does not fail on Linux; fall back to the clock.
		return fmt.Sprintf("reaper-init-test-%s-%d", prefix, time.Now().UnixNano())
	}
	return "reaper-init-test-" + prefix + "-" + hex.EncodeToString(b[:])
}

// hostDocker is the docker command bound to the machine's engine: the
// caller's environment (DOCKER_HOST and the rest) decides where it goes.
// Builds use the classic builder, which works on every engine and needs
// no buildx.
type hostDocker struct{}

// Command returns an unstarted docker command.
func (hostDocker) Command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
	return cmd
}

// DockerOutput runs the docker command with args and returns its
// standard output, trimmed. The error, if any, carries the command line
// and standard error. ctx may be nil: then the command gets a default
// timeout.
func DockerOutput(ctx context.Context, args ...string) (string, error) {
	return engineOutput(hostDocker{}, ctx, args...)
}

// Docker runs the docker command with args and returns its standard
// output, trimmed; it fails the test when the command fails.
func Docker(t testing.TB, args ...string) string {
	t.Helper()
	return engineMust(t, hostDocker{}, args...)
}

// ImageFile is one file to put into a test image.
type ImageFile struct {
	Src  string // host path; empty for a directory
	Dst  string // absolute path in the image
	Link string // when set, Dst is a symbolic link to Link
}

// BuildScratchImage builds a FROM-scratch image tagged tag out of files,
// followed by the Dockerfile lines extra (ENTRYPOINT, CMD, ...). The
// build runs with --network none and labels the image DockerLabel. The
// caller removes the image (RemoveImage), as images are often shared by
// the tests of a binary. Errors carry the build's output.
func BuildScratchImage(tag string, files []ImageFile, extra ...string) error {
	dir, err := writeScratchContext(files, extra)
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	return BuildImage(dir, tag)
}

// writeScratchContext writes a build context for a FROM-scratch image
// out of files, followed by the Dockerfile lines extra, into a new
// temporary directory, and returns it. The caller removes it.
func writeScratchContext(files []ImageFile, extra []string) (dir string, err error) {
	dir, err = os.MkdirTemp("", "reaper-init-image-")
	if err != nil {
		return "", err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
	}()
	root := filepath.Join(dir, "rootfs")
	for _, f := range files {
		dst := filepath.Join(root, filepath.FromSlash(strings.TrimPrefix(f.Dst, "/")))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return "", err
		}
		switch {
		case f.Link != "":
			err = os.Symlink(f.Link, dst)
		case f.Src == "":
			err = os.MkdirAll(dst, 0o755)
		default:
			err = dockerCopyFile(f.Src, dst)
		}
		if err != nil {
			return "", fmt.Errorf("image file %s: %w", f.Dst, err)
		}
	}
	dockerfile := "FROM scratch\nCOPY rootfs/ /\n" + strings.Join(extra, "\n") + "\n"
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
		return "", err
	}
	return dir, nil
}

// BuildImage builds the Dockerfile in the context directory dir, tagged
// tag, with --network none and the label DockerLabel. The caller removes
// the image (RemoveImage). Errors carry the build's output.
func BuildImage(dir, tag string) error {
	return engineBuild(hostDocker{}, dir, tag)
}

// RemoveImage removes the image tag, and any container still using it.
func RemoveImage(tag string) error {
	if ids, err := DockerOutput(nil, "ps", "-aq", "--filter", "ancestor="+tag, "--filter", "label="+DockerLabel); err == nil && ids != "" {
		_, _ = DockerOutput(nil, append([]string{"rm", "-f"}, strings.Fields(ids)...)...)
	}
	_, err := DockerOutput(nil, "rmi", "-f", tag)
	return err
}

// dockerCopyFile copies src to dst, keeping the permission bits.
func dockerCopyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, fi.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// BusyboxFiles lists the files that make a static busybox usable in an
// image: /bin/busybox and one symbolic link per applet in /bin, plus an
// empty /tmp.
func BusyboxFiles(busybox string) ([]ImageFile, error) {
	out, err := exec.Command(busybox, "--list").Output()
	if err != nil {
		return nil, fmt.Errorf("%s --list: %w", busybox, err)
	}
	files := []ImageFile{{Src: busybox, Dst: "/bin/busybox"}, {Dst: "/tmp"}}
	for _, applet := range strings.Fields(string(out)) {
		if applet == "busybox" || strings.Contains(applet, "/") {
			continue
		}
		files = append(files, ImageFile{Dst: "/bin/" + applet, Link: "busybox"})
	}
	return files, nil
}

// InitImageFiles lists the files of the tests' usual image: busybox in
// /bin with an empty /tmp (see BusyboxFiles), initBin (the reaper-init
// under test) at /reaper-init and helper (see Helper) at /helper.
func InitImageFiles(busybox, initBin, helper string) ([]ImageFile, error) {
	files, err := BusyboxFiles(busybox)
	if err != nil {
		return nil, err
	}
	return append(files,
		ImageFile{Src: initBin, Dst: "/reaper-init"},
		ImageFile{Src: helper, Dst: "/helper"},
	), nil
}

// RunContainer starts a detached container on the machine's engine from
// image running cmd, with the docker run options opts (never a network:
// --network none is always given). The container is removed when the
// test ends.
func RunContainer(t testing.TB, opts []string, image string, cmd ...string) *EngineContainer {
	t.Helper()
	return engineRun(t, hostDocker{}, opts, image, cmd...)
}

// DockerRunCommand returns an unstarted `docker run` command for image
// and cmd with the options opts, for tests that drive the docker client
// themselves (a terminal, standard input). Like RunContainer it names and
// labels the container, forbids networking, and removes the container
// when the test ends. The second result is the container's name.
func DockerRunCommand(t testing.TB, opts []string, image string, cmd ...string) (*exec.Cmd, string) {
	t.Helper()
	c := &EngineContainer{Name: UniqueName("ctr"), e: hostDocker{}, t: t}
	t.Cleanup(c.remove)
	args := append(append(append(engineRunArgs(c.Name), opts...), image), cmd...)
	return hostDocker{}.Command(context.Background(), args...), c.Name
}

func dockerFirstLine(b []byte) string {
	s := strings.TrimSpace(string(b))
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}
