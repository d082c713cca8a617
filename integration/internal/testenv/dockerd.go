package testenv

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A Docker daemon of the tests' own.
//
// The runtime tests need a dockerd whose --init-path is reaper-init, so
// that `docker run --init` puts the binary under test in front of the
// container, as it puts docker-init (tini) there everywhere else. The
// engine the machine runs must not be reconfigured for that, so a test
// binary starts a second dockerd with its own socket, data root, exec root
// and pid file, no bridge and no iptables rules, and stops it when it
// ends. Images are per daemon: the tests build theirs on it.
//
// Debian's dockerd starts a containerd of its own under the exec root
// unless told otherwise; it stops it when it shuts down, and Close checks
// that neither that containerd nor a shim is left.

// dockerdStartTimeout bounds the wait for the daemon to answer on its
// socket.
const dockerdStartTimeout = 60 * time.Second

// dockerdStopTimeout bounds the daemon's shutdown after SIGTERM.
const dockerdStopTimeout = 30 * time.Second

// DockerdOptions configures StartDockerd.
type DockerdOptions struct {
	// InitPath is the daemon's --init-path: what `docker run --init`
	// bind-mounts at /sbin/docker-init. Required.
	InitPath string
}

// Dockerd is a running Docker daemon started by StartDockerd. Its
// methods are safe for concurrent use by parallel tests.
type Dockerd struct {
	// Dir holds everything the daemon writes: its socket, data root,
	// exec root, pid file, configuration and log.
	Dir string
	// Host is the daemon's address in DOCKER_HOST form (unix://PATH).
	Host string
	// InitPath is the daemon's --init-path.
	InitPath string

	socket  string
	logPath string
	cmd     *exec.Cmd
	exited  chan struct{} // closed once cmd.Wait returned
	waitErr error
}

// StartDockerd starts a Docker daemon of the caller's own and waits until
// it answers. The error says why it could not start (no dockerd, not
// root, or the daemon's own last log lines). The caller stops it with
// Close.
func StartDockerd(opts DockerdOptions) (*Dockerd, error) {
	if opts.InitPath == "" {
		return nil, errors.New("no --init-path given")
	}
	if os.Geteuid() != 0 {
		return nil, errors.New("dockerd needs root")
	}
	dockerd, err := exec.LookPath("dockerd")
	if err != nil {
		return nil, errors.New("no dockerd in PATH")
	}
	if _, err := exec.LookPath("docker"); err != nil {
		return nil, errors.New("no docker command in PATH")
	}
	// A short directory: containerd's sockets live under the exec root,
	// and a unix socket path has at most 107 bytes.
	dir, err := os.MkdirTemp("", "rid-")
	if err != nil {
		return nil, fmt.Errorf("dockerd directory: %w", err)
	}
	d := &Dockerd{
		Dir:      dir,
		InitPath: opts.InitPath,
		socket:   filepath.Join(dir, "docker.sock"),
		logPath:  filepath.Join(dir, "dockerd.log"),
		exited:   make(chan struct{}),
	}
	d.Host = "unix://" + d.socket
	fail := func(err error) (*Dockerd, error) {
		if cerr := d.Close(); cerr != nil {
			err = fmt.Errorf("%w (and cleaning up: %v)", err, cerr)
		}
		return nil, err
	}
	// An empty configuration file keeps /etc/docker/daemon.json, if any,
	// out of it.
	config := filepath.Join(dir, "daemon.json")
	if err := os.WriteFile(config, []byte("{}\n"), 0o644); err != nil {
		return fail(err)
	}
	logFile, err := os.Create(d.logPath)
	if err != nil {
		return fail(err)
	}
	args := []string{
		"--config-file", config,
		"-H", d.Host,
		"--data-root", filepath.Join(dir, "data"),
		"--exec-root", filepath.Join(dir, "exec"),
		"--pidfile", filepath.Join(dir, "dockerd.pid"),
		"--bridge=none", "--iptables=false", "--ip6tables=false",
		"--init-path", opts.InitPath,
	}
	d.cmd = exec.Command(dockerd, args...)
	d.cmd.Stdout, d.cmd.Stderr = logFile, logFile
	// If the test binary dies, the daemon shuts down (and stops its
	// containerd) instead of running on.
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := d.cmd.Start(); err != nil {
		logFile.Close()
		d.cmd = nil
		return fail(fmt.Errorf("start dockerd: %w", err))
	}
	logFile.Close()
	go func() {
		d.waitErr = d.cmd.Wait()
		close(d.exited)
	}()
	if err := d.waitReady(); err != nil {
		return fail(err)
	}
	return d, nil
}

// waitReady polls the daemon's /_ping until it answers OK.
func (d *Dockerd) waitReady() error {
	deadline := time.Now().Add(dockerdStartTimeout)
	for {
		if d.ping() {
			return nil
		}
		select {
		case <-d.exited:
			return fmt.Errorf("dockerd exited (%v) before it answered: %s", d.waitErr, d.logTail(3))
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("dockerd did not answer on %s within %v: %s", d.socket, dockerdStartTimeout, d.logTail(3))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ping sends GET /_ping over the daemon's socket.
func (d *Dockerd) ping() bool {
	conn, err := net.DialTimeout("unix", d.socket, time.Second)
	if err != nil {
		return false
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := conn.Write([]byte("GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")); err != nil {
		return false
	}
	status, err := bufio.NewReader(conn).ReadString('\n')
	return err == nil && strings.Contains(status, " 200 ")
}

// Log returns the daemon's log so far.
func (d *Dockerd) Log() string {
	b, _ := os.ReadFile(d.logPath)
	return string(b)
}

// logTail returns the last n lines of the daemon's log on one line.
func (d *Dockerd) logTail(n int) string {
	lines := strings.Split(strings.TrimSpace(d.Log()), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	if len(lines) == 0 || lines[0] == "" {
		return "(no log)"
	}
	return strings.Join(lines, " | ")
}

// Command returns an unstarted docker command bound to the daemon.
func (d *Dockerd) Command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "docker", args...)
	env := []string{"DOCKER_HOST=" + d.Host, "DOCKER_BUILDKIT=0"}
	for _, kv := range os.Environ() {
		// A context or TLS setting of the caller's must not send the
		// command elsewhere.
		if !strings.HasPrefix(kv, "DOCKER_") {
			env = append(env, kv)
		}
	}
	cmd.Env = env
	return cmd
}

// Output runs docker with args against the daemon and returns its
// standard output, trimmed. The error carries the command line and
// standard error. ctx may be nil: the command then gets a default
// timeout.
func (d *Dockerd) Output(ctx context.Context, args ...string) (string, error) {
	return engineOutput(d, ctx, args...)
}

// Docker runs docker with args against the daemon and returns its
// standard output, trimmed; it fails the test when the command fails.
func (d *Dockerd) Docker(t testing.TB, args ...string) string {
	t.Helper()
	return engineMust(t, d, args...)
}

// BuildScratchImage builds a FROM-scratch image tagged tag on the daemon
// out of files, followed by the Dockerfile lines extra, with --network
// none and the label DockerLabel. The image goes with the daemon's data
// root when Close runs.
func (d *Dockerd) BuildScratchImage(tag string, files []ImageFile, extra ...string) error {
	dir, err := writeScratchContext(files, extra)
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	return engineBuild(d, dir, tag)
}

// Close removes every container of the daemon, stops the daemon, checks
// that no process (containerd, a shim, a container) and no mount of it is
// left, and removes its directory (unless a mount in it could not be
// undone). It returns what went wrong, leftovers included, and kills the
// leftover processes.
func (d *Dockerd) Close() error {
	var errs []error
	if d.cmd != nil {
		select {
		case <-d.exited:
		default:
			if ids, err := d.Output(nil, "ps", "-aq"); err == nil && ids != "" {
				if _, err := d.Output(nil, append([]string{"rm", "-f"}, strings.Fields(ids)...)...); err != nil {
					errs = append(errs, err)
				}
			}
			_ = d.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-d.exited:
			case <-time.After(dockerdStopTimeout):
				_ = d.cmd.Process.Kill()
				<-d.exited
				errs = append(errs, fmt.Errorf("dockerd did not stop within %v of SIGTERM: %s", dockerdStopTimeout, d.logTail(3)))
			}
		}
	}
	// The managed containerd is told to stop by the daemon; removeEngineDir
	// gives it a moment, then kills whatever still names the directory.
	errs = append(errs, removeEngineDir(d.Dir, "dockerd stopped")...)
	return errors.Join(errs...)
}

// SkipNoDockerd skips the test because the tests' own dockerd could not
// start (err says why), or fails it when REAPER_REQUIRE_DOCKER=1.
func SkipNoDockerd(t testing.TB, err error) {
	t.Helper()
	dockerRequireOrSkip(t, "REAPER_REQUIRE_DOCKER", fmt.Sprintf("cannot start a dockerd of the tests' own (%v)", err))
}

// Run starts a detached container on the daemon (see EngineContainer).
func (d *Dockerd) Run(t testing.TB, opts []string, image string, cmd ...string) *EngineContainer {
	t.Helper()
	return engineRun(t, d, opts, image, cmd...)
}

// RunWait runs a container on the daemon to its end and returns its exit
// code and output (see engineRunWait).
func (d *Dockerd) RunWait(t testing.TB, timeout time.Duration, opts []string, image string, cmd ...string) (int, string) {
	t.Helper()
	return engineRunWait(t, d, timeout, opts, image, cmd...)
}
