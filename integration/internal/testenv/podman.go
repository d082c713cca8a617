package testenv

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A podman of the tests' own.
//
// podman has no daemon: a configuration is a containers.conf, a
// storage.conf and the directories they name. NewPodman writes both into
// a directory of its own (storage with the vfs driver, its own event log
// and file locks, not the shared-memory lock table of the machine's
// podman), so nothing of the machine's podman is touched, and Close
// removes it all. The state database stays where podman puts it for a
// --root (ROOT/libpod): conmon's exit command (`podman container
// cleanup`) gets --root and would look for it there; a static_dir of
// our own would leave every exited container "stopped" and make podman
// run wait out a 20 s timeout.
//
// Two settings make podman 4.3 run containers as root on a machine that
// refuses to raise hard limits (no CAP_SYS_RESOURCE):
//
//   - default_ulimits: podman asks for RLIMIT_NOFILE 1048576, which the OCI
//     runtime then fails to set ("setrlimit RLIMIT_NOFILE: Operation not
//     permitted"). And containers/common lowers podman's own RLIMIT_NPROC
//     to kernel.pid_max when that is below the hard limit, so conmon and
//     the runtime inherit the lower limit and any higher nproc fails the
//     same way. The limits written are the test process's hard NOFILE and
//     the NPROC podman will have.
//   - the OCI runtime: crun refuses a hybrid cgroup v1 + v2 layout ("cgroups
//     in hybrid mode not supported"); NewPodman tries crun, then runc, and
//     keeps the first that runs a container.
//
// The pod infra container of podman 4.3 runs a pause image that podman
// builds on first use from the "catatonit" helper binary, as
// ["/catatonit", "-P"]; NewPodman puts reaper-init first in the helper
// search path under that name (CONTAINERS_HELPER_BINARY_DIR), so the infra
// container of every pod runs the binary under test in catatonit's slot.

// PodmanOptions configures NewPodman.
type PodmanOptions struct {
	// InitPath is the init of `podman run --init` in the configuration
	// returned by Podman.WithInitPath, and the pause binary of pods.
	InitPath string
	// Image is the name to import the test image as; Files is its
	// content.
	Image string
	Files []ImageFile
}

// Podman is a podman configuration of the tests' own, with the test
// image imported. Its methods are safe for concurrent use.
type Podman struct {
	// Dir holds the configuration, the storage and the run state.
	Dir string
	// Runtime is the OCI runtime the configuration uses.
	Runtime string
	// InitPath is PodmanOptions.InitPath.
	InitPath string

	conf        string // containers.conf in use
	plainConf   string // without init_path
	initConf    string // with init_path = InitPath
	storageConf string
	helpers     string // CONTAINERS_HELPER_BINARY_DIR
}

// NewPodman writes a podman configuration of the tests' own, imports the
// test image and checks that a container runs. The error says why podman
// cannot run here: for each OCI runtime tried, the error podman printed.
// The caller removes it all with Close.
func NewPodman(opts PodmanOptions) (*Podman, error) {
	if opts.InitPath == "" || opts.Image == "" {
		return nil, errors.New("NewPodman needs an init and an image")
	}
	if os.Geteuid() != 0 {
		return nil, errors.New("the podman tests run podman as root")
	}
	if _, err := exec.LookPath("podman"); err != nil {
		return nil, errors.New("no podman in PATH")
	}
	var runtimes []string
	for _, r := range []string{"crun", "runc"} {
		if _, err := exec.LookPath(r); err == nil {
			runtimes = append(runtimes, r)
		}
	}
	if len(runtimes) == 0 {
		return nil, errors.New("neither crun nor runc in PATH")
	}
	dir, err := os.MkdirTemp("", "rip-")
	if err != nil {
		return nil, err
	}
	p := &Podman{
		Dir:         dir,
		InitPath:    opts.InitPath,
		plainConf:   filepath.Join(dir, "containers.conf"),
		initConf:    filepath.Join(dir, "containers-init.conf"),
		storageConf: filepath.Join(dir, "storage.conf"),
		helpers:     filepath.Join(dir, "helpers"),
	}
	p.conf = p.plainConf
	fail := func(err error) (*Podman, error) {
		if cerr := p.Close(); cerr != nil {
			err = fmt.Errorf("%w (and cleaning up: %v)", err, cerr)
		}
		return nil, err
	}
	if err := os.MkdirAll(p.helpers, 0o755); err != nil {
		return fail(err)
	}
	if err := dockerCopyFile(opts.InitPath, filepath.Join(p.helpers, "catatonit")); err != nil {
		return fail(fmt.Errorf("pause binary: %w", err))
	}
	storage := fmt.Sprintf("[storage]\ndriver = \"vfs\"\ngraphroot = %q\nrunroot = %q\n",
		filepath.Join(dir, "root"), filepath.Join(dir, "runroot"))
	if err := os.WriteFile(p.storageConf, []byte(storage), 0o644); err != nil {
		return fail(err)
	}
	ulimits, err := podmanUlimits()
	if err != nil {
		return fail(err)
	}
	tarball := filepath.Join(dir, "image.tar")
	if err := writeImageTar(tarball, opts.Files); err != nil {
		return fail(fmt.Errorf("test image: %w", err))
	}

	var tried []string
	for _, r := range runtimes {
		p.Runtime = r
		if err := p.writeConfs(ulimits); err != nil {
			return fail(err)
		}
		if len(tried) == 0 {
			if _, err := p.Output(nil, "import", "-q", tarball, opts.Image); err != nil {
				return fail(fmt.Errorf("podman import: %w", err))
			}
		}
		out, err := p.Output(nil, "run", "--rm", "--network", "none", opts.Image, "/bin/true")
		if err == nil {
			return p, nil
		}
		tried = append(tried, fmt.Sprintf("with %s: %v %s", r, err, out))
	}
	return fail(fmt.Errorf("podman runs no container here (%s)", strings.Join(tried, "; ")))
}

// podmanUlimits returns the default_ulimits that podman can apply on
// this machine: the hard NOFILE limit of this process, and the NPROC
// limit podman will have after containers/common lowered it (to
// kernel.pid_max when that is below the hard limit, else to 1048576 when
// that is).
func podmanUlimits() ([]string, error) {
	var nofile, nproc syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &nofile); err != nil {
		return nil, fmt.Errorf("getrlimit NOFILE: %w", err)
	}
	const rlimitNPROC = 6
	if err := syscall.Getrlimit(rlimitNPROC, &nproc); err != nil {
		return nil, fmt.Errorf("getrlimit NPROC: %w", err)
	}
	np := nproc.Max
	if b, err := os.ReadFile("/proc/sys/kernel/pid_max"); err == nil {
		if pidMax, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64); err == nil && pidMax <= np {
			np = pidMax
		} else if np >= 1<<20 {
			np = 1 << 20
		}
	}
	limit := func(name string, v uint64) string {
		if v == ^uint64(0) {
			return name + "=-1:-1"
		}
		return fmt.Sprintf("%s=%d:%d", name, v, v)
	}
	return []string{limit("nofile", nofile.Max), limit("nproc", np)}, nil
}

// writeConfs writes the two containers.conf files for p.Runtime.
func (p *Podman) writeConfs(ulimits []string) error {
	quoted := make([]string, len(ulimits))
	for i, u := range ulimits {
		quoted[i] = strconv.Quote(u)
	}
	conf := func(self, initPath string) string {
		var b strings.Builder
		fmt.Fprintf(&b, "[containers]\ndefault_ulimits = [%s]\n", strings.Join(quoted, ", "))
		if initPath != "" {
			// podman 4.3 reads [engine] init_path; later releases
			// [containers] init_path.
			fmt.Fprintf(&b, "init_path = %q\n", initPath)
		}
		fmt.Fprintf(&b, "\n[engine]\nruntime = %q\ncgroup_manager = \"cgroupfs\"\nevents_logger = \"file\"\n", p.Runtime)
		fmt.Fprintf(&b, "events_logfile_path = %q\n", filepath.Join(p.Dir, "events.log"))
		fmt.Fprintf(&b, "tmp_dir = %q\nlock_type = \"file\"\n", filepath.Join(p.Dir, "tmp"))
		// conmon runs `podman container cleanup` when a container exits,
		// with only these variables: without the configuration it would
		// write to the machine's podman state.
		fmt.Fprintf(&b, "conmon_env_vars = [%q, %q, %q, %q]\n",
			"PATH="+os.Getenv("PATH"), "CONTAINERS_CONF="+self,
			"CONTAINERS_STORAGE_CONF="+p.storageConf, "CONTAINERS_HELPER_BINARY_DIR="+p.helpers)
		if initPath != "" {
			fmt.Fprintf(&b, "init_path = %q\n", initPath)
		}
		fmt.Fprintf(&b, "\n[network]\nnetwork_config_dir = %q\n", filepath.Join(p.Dir, "networks"))
		return b.String()
	}
	if err := os.WriteFile(p.plainConf, []byte(conf(p.plainConf, "")), 0o644); err != nil {
		return err
	}
	return os.WriteFile(p.initConf, []byte(conf(p.initConf, p.InitPath)), 0o644)
}

// WithInitPath returns the same podman with containers.conf's init_path
// set to InitPath, so that `podman run --init` without --init-path runs
// it. The copy shares p's storage; Close p only.
func (p *Podman) WithInitPath() *Podman {
	q := *p
	q.conf = p.initConf
	return &q
}

// Command returns an unstarted podman command bound to the
// configuration.
func (p *Podman) Command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "podman", args...)
	env := []string{
		"CONTAINERS_CONF=" + p.conf,
		"CONTAINERS_STORAGE_CONF=" + p.storageConf,
		"CONTAINERS_HELPER_BINARY_DIR=" + p.helpers,
	}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CONTAINERS_") {
			env = append(env, kv)
		}
	}
	cmd.Env = env
	return cmd
}

// Output runs podman with args and returns its standard output, trimmed.
// The error carries the command line and standard error. ctx may be nil:
// the command then gets a default timeout.
func (p *Podman) Output(ctx context.Context, args ...string) (string, error) {
	return engineOutput(p, ctx, args...)
}

// Podman runs podman with args and returns its standard output, trimmed;
// it fails the test when the command fails.
func (p *Podman) Podman(t testing.TB, args ...string) string {
	t.Helper()
	return engineMust(t, p, args...)
}

// Run starts a detached container (see EngineContainer).
func (p *Podman) Run(t testing.TB, opts []string, image string, cmd ...string) *EngineContainer {
	t.Helper()
	return engineRun(t, p, opts, image, cmd...)
}

// RunWait runs a container to its end and returns its exit code and
// output.
func (p *Podman) RunWait(t testing.TB, timeout time.Duration, opts []string, image string, cmd ...string) (int, string) {
	t.Helper()
	return engineRunWait(t, p, timeout, opts, image, cmd...)
}

// Close removes every pod, container and image of the configuration,
// checks that no process (conmon, a container) and no mount of it is
// left, and removes its directory (unless a mount in it could not be
// undone). It returns what went wrong, leftovers included, and kills the
// leftover processes.
func (p *Podman) Close() error {
	var errs []error
	if _, err := os.Stat(p.storageConf); err == nil {
		for _, args := range [][]string{
			{"pod", "rm", "-a", "-f", "-t", "0"},
			{"rm", "-a", "-f", "-t", "0"},
			{"rmi", "-a", "-f"},
		} {
			if _, err := p.Output(nil, args...); err != nil {
				errs = append(errs, err)
			}
		}
	}
	errs = append(errs, removeEngineDir(p.Dir, "podman rm")...)
	return errors.Join(errs...)
}

// SkipNoPodman skips the test because podman cannot run containers here
// (err says why), or fails it when REAPER_REQUIRE_PODMAN=1.
func SkipNoPodman(t testing.TB, err error) {
	t.Helper()
	dockerRequireOrSkip(t, "REAPER_REQUIRE_PODMAN", fmt.Sprintf("podman cannot run the tests' containers (%v)", err))
}

// writeImageTar writes files as a root filesystem tarball, for podman
// import: the parent directories first, then each file, directory or
// symbolic link.
func writeImageTar(path string, files []ImageFile) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	tw := tar.NewWriter(f)
	dirs := map[string]bool{}
	for _, file := range files {
		for d := filepath.Dir(file.Dst); d != "/" && d != "."; d = filepath.Dir(d) {
			dirs[d] = true
		}
	}
	parents := make([]string, 0, len(dirs))
	for d := range dirs {
		parents = append(parents, d)
	}
	// A directory before what is in it.
	sort.Slice(parents, func(i, j int) bool {
		di, dj := strings.Count(parents[i], "/"), strings.Count(parents[j], "/")
		return di < dj || di == dj && parents[i] < parents[j]
	})
	for _, d := range parents {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: strings.TrimPrefix(d, "/") + "/", Mode: 0o755}); err != nil {
			return err
		}
	}
	for _, file := range files {
		if err := writeTarEntry(tw, file, dirs[file.Dst]); err != nil {
			return fmt.Errorf("%s: %w", file.Dst, err)
		}
	}
	return tw.Close()
}

// writeTarEntry writes one image file; a directory already written as a
// parent is skipped.
func writeTarEntry(tw *tar.Writer, file ImageFile, written bool) error {
	name := strings.TrimPrefix(file.Dst, "/")
	switch {
	case file.Link != "":
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: file.Link, Mode: 0o777})
	case file.Src == "":
		if written {
			return nil
		}
		mode := int64(0o755)
		if file.Dst == "/tmp" {
			mode = 0o1777
		}
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: mode})
	}
	src, err := os.Open(file.Src)
	if err != nil {
		return err
	}
	defer src.Close()
	fi, err := src.Stat()
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: int64(fi.Mode().Perm()), Size: fi.Size()}); err != nil {
		return err
	}
	_, err = io.Copy(tw, src)
	return err
}
