package docker

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/reaper-init/reaper-init/integration/internal/testenv"
)

// The termination-message tests: Docker stands in for the kubelet, which
// creates an empty file for every container and bind-mounts it at
// terminationMessagePath (/dev/termination-log by default), then shows
// what the container left in it under its last state in kubectl describe
// pod. reaper-init writes one line there saying how it ended (a
// provisional one as soon as a terminating signal comes in, replaced at
// exit), unless the application wrote its own message; it never writes
// through a symbolic link, into a FIFO or a read-only mount, and its
// exit code never changes because of the file.

// termLogPath is where the kubelet mounts the file by default.
const termLogPath = "/dev/termination-log"

// stopBound bounds how long docker stop may take when the child dies of
// the SIGTERM at once: the file must never hold up the exit.
const stopBound = 3 * time.Second

// ignoreTERM is a shell script that makes two processes, both ignoring
// SIGTERM, and says "ready": a sleep in the background, and the main
// child, which becomes a sleep too. Its parent never waits for the
// background one, so that when both are SIGKILLed the init reaps both:
// a shell waiting for its child could reap it itself in the moment
// between the two kills, and the count would be one.
const ignoreTERM = `trap "" TERM; sleep 1000 & echo ready; exec sleep 1000`

// underInit returns the command line that runs cmd under reaper-init
// with the options opts.
func underInit(opts []string, cmd ...string) []string {
	return append(append(append([]string{"/reaper-init"}, opts...), "--"), cmd...)
}

// kubeletFile makes the empty file the kubelet would make, mode 0666 as
// its os.Create leaves it, and returns its host path and the docker run
// option that mounts it at /dev/termination-log.
func kubeletFile(t *testing.T, mountOpt string) (string, []string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "termination-log")
	if err := os.WriteFile(path, nil, 0o666); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o666); err != nil {
		t.Fatal(err)
	}
	v := path + ":" + termLogPath
	if mountOpt != "" {
		v += ":" + mountOpt
	}
	return path, []string{"-v", v}
}

func readHost(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// checkMessage checks that the file at path holds one line matching the
// regular expression want, anchored at both ends, and returns the line.
func checkMessage(t *testing.T, c *testenv.EngineContainer, path, want string) string {
	t.Helper()
	got := readHost(t, path)
	if !regexp.MustCompile(`^` + want + `$`).MatchString(got) {
		t.Errorf("termination message %q, want it to match %q; logs:\n%s", got, want, c.Logs())
	}
	return got
}

// TestDockerTerminationMessage ends a container in each of the ways the
// summary tells apart, with the kubelet's empty file mounted, and checks
// the exit code docker wait reports (the child's, unchanged) and the
// line left in the file.
func TestDockerTerminationMessage(t *testing.T) {
	img := testImage(t)
	for _, tc := range []struct {
		name  string
		cmd   []string
		opts  []string // docker run options beyond the file's mount
		ready string   // when set: wait for this in the logs, then docker stop
		code  int
		want  string // regular expression for the whole file
	}{
		{
			name: "the child exits 3",
			cmd:  withInit("sh", "-c", "exit 3"),
			code: 3,
			want: `exit=3 reason=child-exited`,
		},
		{
			name:  "docker stop, the child dies of SIGTERM",
			cmd:   withInit("sh", "-c", "echo ready; exec sleep 1000"),
			ready: "ready",
			code:  143,
			want:  `exit=143 reason=forwarded signal=SIGTERM`,
		},
		{
			name:  "docker stop, the child ignores SIGTERM until the grace period runs out",
			cmd:   underInit([]string{"--grace", "2s"}, "sh", "-c", ignoreTERM),
			ready: "ready",
			code:  137,
			want:  `exit=137 reason=grace-expired signal=SIGTERM grace=2s killed=2 first="pid=\d+ comm=(sh|sleep)"`,
		},
		{
			name: "the main child exits and the drain kills a straggler",
			cmd: underInit([]string{"--grace", "2s"}, "sh", "-c",
				`(trap "" TERM; touch /tmp/straggler; exec sleep 1000) & while [ ! -e /tmp/straggler ]; do sleep 0.05; done; exit 0`),
			code: 0,
			want: `exit=0 reason=drain-killed grace=2s drained=1 killed=1 first="pid=\d+ comm=sleep"`,
		},
		{
			name: "the command does not exist",
			cmd:  withInit("/nonexistent"),
			code: 127,
			want: `exit=127 reason=exec-failed error="exec /nonexistent: no such file or directory"`,
		},
		{
			name: "the application wrote its own message",
			cmd:  withInit("sh", "-c", `printf "app: config missing" > /dev/termination-log; exit 1`),
			code: 1,
			want: `app: config missing`,
		},
		{
			name: "the application writes its own message when stopped",
			cmd: underInit([]string{"--grace", "10s"}, "sh", "-c",
				`trap 'printf "app: drained" > /dev/termination-log; exit 0' TERM; echo ready; while :; do sleep 0.1; done`),
			ready: "ready",
			code:  0,
			want:  `app: drained`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path, mount := kubeletFile(t, "")
			c := testenv.RunContainer(t, append(mount, tc.opts...), img, tc.cmd...)
			if tc.ready != "" {
				c.WaitLog(tc.ready, 30*time.Second)
				c.Stop(30)
			}
			if code := c.Wait(60 * time.Second); code != tc.code {
				t.Errorf("docker wait = %d, want %d; logs:\n%s", code, tc.code, c.Logs())
			}
			t.Logf("termination message: %s", checkMessage(t, c, path, tc.want))
		})
	}
}

// TestDockerTerminationMessageWatch runs a parent that holds 300 zombies
// under --watch 1s in a container whose pids limit the zombies bring
// near, waits for both warnings, stops the container, and finds both in
// the message.
func TestDockerTerminationMessageWatch(t *testing.T) {
	img := testImage(t)
	path, mount := kubeletFile(t, "")
	opts := append(mount, "--pids-limit", "360")
	c := testenv.RunContainer(t, opts, img,
		underInit([]string{"--watch", "1s"}, "/helper", "watch_zombieparent", "300", "ruby")...)
	c.WaitLog("zombies piling up", 60*time.Second)
	c.WaitLog("PID use near its limit", 30*time.Second)
	c.Stop(30)
	if code := c.Wait(60 * time.Second); code != 143 {
		t.Errorf("docker wait = %d, want 143; logs:\n%s", code, c.Logs())
	}
	t.Logf("termination message: %s", checkMessage(t, c, path,
		`exit=143 reason=forwarded signal=SIGTERM zombie_holder="pid=\d+ comm=ruby zombies=300" pid_pressure="limit=cgroup used=\d+ max=360"`))
}

// stopAsync runs docker stop -t timeout in the background and returns a
// channel that receives its error when it returns.
func stopAsync(c *testenv.EngineContainer, timeout int) <-chan error {
	done := make(chan error, 1)
	go func() {
		_, err := testenv.DockerOutput(nil, "stop", "-t", strconv.Itoa(timeout), c.Name)
		done <- err
	}()
	return done
}

// waitContent polls the host file at path until it holds something, and
// returns it; "" after d.
func waitContent(path string, d time.Duration) string {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(path); err == nil && len(b) > 0 {
			return string(b)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return ""
}

// provisionalRE matches the provisional summary for ignoreTERM, and
// captures its time.
func provisionalRE(grace string) *regexp.Regexp {
	return regexp.MustCompile(`^reason=stopping signal=SIGTERM at=(\S+) grace=` + grace + ` running=2 first="pid=\d+ comm=(sh|sleep)"$`)
}

// TestDockerTerminationMessageProvisional stops a container whose child
// ignores SIGTERM under --grace 3s and reads the file while the init is
// still waiting: the provisional summary is there, with the signal's
// time; at exit the final one has replaced it.
func TestDockerTerminationMessageProvisional(t *testing.T) {
	img := testImage(t)
	path, mount := kubeletFile(t, "")
	c := testenv.RunContainer(t, mount, img,
		underInit([]string{"--grace", "3s"}, "sh", "-c", ignoreTERM)...)
	c.WaitLog("ready", 30*time.Second)
	before := time.Now()
	stopped := stopAsync(c, 30)
	got := waitContent(path, 2*time.Second)
	after := time.Now()
	m := provisionalRE("3s").FindStringSubmatch(got)
	if m == nil {
		t.Errorf("within 2s of docker stop the file holds %q, want the provisional summary (%s)", got, provisionalRE("3s"))
	} else if at, err := time.Parse(time.RFC3339, m[1]); err != nil || !strings.HasSuffix(m[1], "Z") ||
		at.Before(before.Add(-2*time.Second)) || at.After(after.Add(time.Second)) {
		t.Errorf("at=%s: want the time of docker stop (%s to %s) in UTC (%v)", m[1], before.UTC().Format(time.RFC3339), after.UTC().Format(time.RFC3339), err)
	}
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	if code := c.Wait(30 * time.Second); code != 137 {
		t.Errorf("docker wait = %d, want 137; logs:\n%s", code, c.Logs())
	}
	checkMessage(t, c, path, `exit=137 reason=grace-expired signal=SIGTERM grace=3s killed=2 first="pid=\d+ comm=(sh|sleep)"`)
}

// TestDockerTerminationMessageKilledWhileStopping stands for the
// kubelet's SIGKILL at the end of terminationGracePeriodSeconds: docker
// stop -t 1 kills the init while its own grace period (30s) still runs.
// The provisional summary is what is left, and says so.
func TestDockerTerminationMessageKilledWhileStopping(t *testing.T) {
	img := testImage(t)
	path, mount := kubeletFile(t, "")
	c := testenv.RunContainer(t, mount, img,
		underInit([]string{"--grace", "30s"}, "sh", "-c", ignoreTERM)...)
	c.WaitLog("ready", 30*time.Second)
	c.Stop(1)
	if code := c.Wait(30 * time.Second); code != 137 {
		t.Errorf("docker wait = %d, want 137 (docker's SIGKILL); logs:\n%s", code, c.Logs())
	}
	if got := readHost(t, path); !provisionalRE("30s").MatchString(got) {
		t.Errorf("termination message %q, want the provisional summary (%s); logs:\n%s", got, provisionalRE("30s"), c.Logs())
	}
}

// TestDockerTerminationMessageOOM runs a child that allocates until the
// OOM killer kills it in a container limited to 64 MiB: the init tells
// that SIGKILL from any other by the memory cgroup's oom_kill counter.
func TestDockerTerminationMessageOOM(t *testing.T) {
	img := testImage(t)
	if out, err := testenv.DockerOutput(nil, "info", "--format", "{{.MemoryLimit}}"); err != nil || out != "true" {
		t.Skipf("skipping: the Docker engine has no memory limit support (MemoryLimit %q, %v)", out, err)
	}
	path, mount := kubeletFile(t, "")
	opts := append(mount, "--memory", "64m", "--memory-swap", "64m")
	c := testenv.RunContainer(t, opts, img, withInit("/helper", "ending-alloc")...)
	if code := c.Wait(60 * time.Second); code != 137 {
		t.Errorf("docker wait = %d, want 137; logs:\n%s", code, c.Logs())
	}
	checkMessage(t, c, path, `exit=137 reason=oom-killed oom_kills=1`)
}

// TestDockerTerminationMessageExplicitPath names a path of its own with
// --termination-log, as for a pod that sets terminationMessagePath, in a
// directory where nothing exists yet: the file is made, mode 0644.
func TestDockerTerminationMessageExplicitPath(t *testing.T) {
	img := testImage(t)
	dir := t.TempDir()
	c := testenv.RunContainer(t, []string{"-v", dir + ":/data"}, img,
		underInit([]string{"--termination-log", "/data/message"}, "sh", "-c", "exit 4")...)
	if code := c.Wait(30 * time.Second); code != 4 {
		t.Errorf("docker wait = %d, want 4; logs:\n%s", code, c.Logs())
	}
	path := filepath.Join(dir, "message")
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatalf("the explicit path was not created: %v; logs:\n%s", err, c.Logs())
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o644 {
		t.Errorf("created %v, want a regular file, mode 0644", fi.Mode())
	}
	checkMessage(t, c, path, `exit=4 reason=child-exited`)
}

// TestDockerTerminationMessageWritesThroughNothing gives the init a file
// it must not write: a symbolic link to another, empty file (at the
// default path, made by the child, and at an explicit path), a FIFO with
// no reader, a read-only mount. The container is stopped, so that both
// the provisional and the final write are tried: docker stop returns at
// once, the exit code is the child's, and nothing was written.
func TestDockerTerminationMessageWritesThroughNothing(t *testing.T) {
	img := testImage(t)
	server := "echo ready; exec sleep 1000"
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, dir string) (opts []string, cmd []string)
		check func(t *testing.T, dir string)
	}{
		{
			name: "symbolic link at the default path",
			setup: func(t *testing.T, dir string) ([]string, []string) {
				writeEmpty(t, filepath.Join(dir, "target"))
				return []string{"-v", dir + ":/data"},
					withInit("sh", "-c", "ln -s /data/target "+termLogPath+" && "+server)
			},
			check: func(t *testing.T, dir string) { checkEmpty(t, filepath.Join(dir, "target")) },
		},
		{
			name: "symbolic link at an explicit path",
			setup: func(t *testing.T, dir string) ([]string, []string) {
				writeEmpty(t, filepath.Join(dir, "target"))
				if err := os.Symlink("target", filepath.Join(dir, "link")); err != nil {
					t.Fatal(err)
				}
				return []string{"-v", dir + ":/data"},
					underInit([]string{"--termination-log", "/data/link"}, "sh", "-c", server)
			},
			check: func(t *testing.T, dir string) {
				checkEmpty(t, filepath.Join(dir, "target"))
				if fi, err := os.Lstat(filepath.Join(dir, "link")); err != nil || fi.Mode()&os.ModeSymlink == 0 {
					t.Errorf("the link was replaced: %v, %v", fi, err)
				}
			},
		},
		{
			name: "FIFO with no reader",
			setup: func(t *testing.T, dir string) ([]string, []string) {
				fifo := filepath.Join(dir, "fifo")
				if err := syscall.Mkfifo(fifo, 0o666); err != nil {
					t.Fatal(err)
				}
				return []string{"-v", fifo + ":" + termLogPath}, withInit("sh", "-c", server)
			},
			check: func(t *testing.T, dir string) {
				if fi, err := os.Lstat(filepath.Join(dir, "fifo")); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
					t.Errorf("the FIFO was replaced: %v, %v", fi, err)
				}
			},
		},
		{
			name: "read-only mount",
			setup: func(t *testing.T, dir string) ([]string, []string) {
				writeEmpty(t, filepath.Join(dir, "termination-log"))
				return []string{"-v", filepath.Join(dir, "termination-log") + ":" + termLogPath + ":ro"}, withInit("sh", "-c", server)
			},
			check: func(t *testing.T, dir string) { checkEmpty(t, filepath.Join(dir, "termination-log")) },
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			opts, cmd := tc.setup(t, dir)
			c := testenv.RunContainer(t, opts, img, cmd...)
			c.WaitLog("ready", 30*time.Second)
			took := c.Stop(30)
			if code := c.Wait(30 * time.Second); code != 143 {
				t.Errorf("docker wait = %d, want 143 (the child's SIGTERM); logs:\n%s", code, c.Logs())
			}
			if took > stopBound {
				t.Errorf("docker stop took %v, want under %v: the file held up the exit", took, stopBound)
			}
			tc.check(t, dir)
		})
	}
}

func writeEmpty(t *testing.T, path string) {
	t.Helper()
	if err := os.WriteFile(path, nil, 0o666); err != nil {
		t.Fatal(err)
	}
}

func checkEmpty(t *testing.T, path string) {
	t.Helper()
	if got := readHost(t, path); got != "" {
		t.Errorf("%s holds %q, want it empty: written through", filepath.Base(path), got)
	}
}
