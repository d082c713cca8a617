// Package demo_test runs `make demo`'s script, demo/run.sh, against the
// built binary and checks what it reports: under a plain PID 1 the
// workload leaves one zombie per orphan, under reaper-init none;
// reaper-init forwards SIGTERM and passes exit statuses through.
package demo_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/reaper-init/reaper-init/integration/internal/testenv"
)

// orphans is the demo's default workload size (DEMO_ORPHANS).
const orphans = 200

// demoTimeout bounds one run of the demo. It takes about 4s on an idle
// machine; the bound leaves room for a loaded one.
const demoTimeout = 2 * time.Minute

var summaryRE = regexp.MustCompile(`^plain PID 1: (\d+) zombies; reaper-init: (\d+) zombies$`)

// runDemo runs demo/run.sh with initPath as its argument and returns its
// combined output and exit code. The script and everything it started
// are killed if it outlives demoTimeout.
func runDemo(t *testing.T, initPath string, cred *syscall.Credential, env ...string) (string, int) {
	t.Helper()
	root := testenv.RepoRoot(t)
	ctx, cancel := context.WithTimeout(context.Background(), demoTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(root, "demo", "run.sh"), initPath)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	// A process group of its own, so that a timeout kills the unshare
	// processes too; they take the namespaces down with them.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: cred}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("demo/run.sh %s did not finish within %v; output:\n%s", initPath, demoTimeout, out.String())
	}
	t.Logf("demo/run.sh took %v", time.Since(start).Round(10*time.Millisecond))
	return out.String(), testenv.ExitCode(t, err)
}

// checkDemo checks a successful run's report.
func checkDemo(t *testing.T, out string, code int) {
	t.Helper()
	if code != 0 {
		t.Fatalf("demo/run.sh exited %d, want 0; output:\n%s", code, out)
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	last := lines[len(lines)-1]
	m := summaryRE.FindStringSubmatch(last)
	if m == nil {
		t.Fatalf("last line %q does not match %q; output:\n%s", last, summaryRE, out)
	}
	plain, _ := strconv.Atoi(m[1])
	reaper, _ := strconv.Atoi(m[2])
	if plain != orphans || reaper != 0 {
		t.Errorf("summary: plain PID 1 %d zombies, reaper-init %d; want %d and 0; output:\n%s", plain, reaper, orphans, out)
	}
	for _, want := range []string{
		"plain PID 1 (sleep): still running 1s later",
		"reaper-init: forwarded it to sleep, which died of it; reaper-init exited 143 (128+15)",
		" -- sh -c 'exit 3' exited 3\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q; output:\n%s", want, out)
		}
	}
}

// TestDemo runs the demo the way `make demo` does.
func TestDemo(t *testing.T) {
	initPath := testenv.Init(t)
	testenv.RequirePIDNamespace(t)
	out, code := runDemo(t, initPath, nil)
	checkDemo(t, out, code)
}

// TestDemoUnprivileged runs the demo as an ordinary user, which takes the
// user-namespace path of run.sh.
func TestDemoUnprivileged(t *testing.T) {
	initPath := testenv.Init(t)
	testenv.RequirePIDNamespace(t)
	if os.Geteuid() != 0 {
		t.Skipf("skipping: needs root to switch to an unprivileged user (TestDemo covers this user)")
	}
	nobody := &syscall.Credential{Uid: 65534, Gid: 65534}

	// The built binary may sit in a directory only root can enter, and so
	// may t.TempDir: give uid 65534 a copy, and a TMPDIR, it can reach.
	dir, err := os.MkdirTemp("", "reaper-init-demo-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	tmp := filepath.Join(dir, "tmp")
	if err := os.Mkdir(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	for path, mode := range map[string]os.FileMode{dir: 0o755, tmp: 0o1777} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(initPath)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "reaper-init")
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}

	asNobody := func(script string, args ...string) error {
		cmd := exec.Command("sh", append([]string{"-c", script, "probe"}, args...)...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: nobody}
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatalf("sh as uid 65534: %v", err)
		}
		if err != nil {
			return fmt.Errorf("%v %s", err, bytes.TrimSpace(out))
		}
		return nil
	}
	runSh := filepath.Join(testenv.RepoRoot(t), "demo", "run.sh")
	if err := asNobody(`test -x "$1"`, runSh); err != nil {
		t.Skipf("skipping: uid 65534 cannot run %s (repository not readable by others)", runSh)
	}
	if err := asNobody(`test -x "$1" && test -w "$2"`, bin, tmp); err != nil {
		t.Fatalf("uid 65534 cannot use %s and %s: %v", bin, tmp, err)
	}
	if err := asNobody(`unshare --user --map-root-user --pid --fork --mount-proc true`); err != nil {
		t.Skipf("skipping: no unprivileged user namespaces here (%v)", err)
	}

	out, code := runDemo(t, bin, nobody, "TMPDIR="+tmp, "HOME=/")
	if !strings.Contains(out, "unshare --user --map-root-user") {
		t.Errorf("run.sh as uid 65534 did not use a user namespace; output:\n%s", out)
	}
	checkDemo(t, out, code)
}

// TestDemoUsage checks run.sh's own errors: no argument is a usage error,
// a missing binary an error that says what to do.
func TestDemoUsage(t *testing.T) {
	root := testenv.RepoRoot(t)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{nil, 2, "usage: run.sh INIT"},
		{[]string{"a", "b"}, 2, "usage: run.sh INIT"},
		{[]string{filepath.Join(t.TempDir(), "missing")}, 1, "not an executable file (run make build first)"},
	} {
		cmd := exec.Command(filepath.Join(root, "demo", "run.sh"), tc.args...)
		out, err := cmd.CombinedOutput()
		if code := testenv.ExitCode(t, err); code != tc.code || !strings.Contains(string(out), tc.want) {
			t.Errorf("run.sh %q: exit %d, output %q; want exit %d and %q", tc.args, code, out, tc.code, tc.want)
		}
	}
}
