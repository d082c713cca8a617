package dockerinit

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/reaper-init/reaper-init/integration/internal/testenv"
)

// Generous bounds: two cores, shared with whatever else runs.
const (
	startTimeout = 30 * time.Second
	exitTimeout  = 30 * time.Second
	reapTimeout  = 20 * time.Second
)

var orphanedRE = regexp.MustCompile(`orphaned=(\d+)`)

// orphaned returns the count of container-orphans' "orphaned=N" line in
// logs, or -1.
func orphaned(logs string) int {
	m := orphanedRE.FindStringSubmatch(logs)
	if m == nil {
		return -1
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

var readyPIDRE = regexp.MustCompile(`ready pid=(\d+)`)

// readyPID returns the pid of a "ready pid=N" line in logs, or -1.
func readyPID(logs string) int {
	m := readyPIDRE.FindStringSubmatch(logs)
	if m == nil {
		return -1
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// within fails the test unless lo <= took < hi.
func within(t *testing.T, what string, took, lo, hi time.Duration) {
	t.Helper()
	if took < lo || took >= hi {
		t.Errorf("%s took %v, want at least %v and under %v", what, took.Round(time.Millisecond), lo, hi)
	}
}

// termRecorder is a server that records when SIGTERM reaches it:
// grace-trap in a host directory bind-mounted at /rec, which writes
// /rec/ready once it listens and "UNIXNANO TERM" to /rec/record when the
// signal comes, then exits 0. The container shares the host's clock, so
// the record tells how long an init held the signal, without docker
// stop's own overhead.
type termRecorder struct {
	dir string
}

func newTermRecorder(t *testing.T) termRecorder {
	t.Helper()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	return termRecorder{dir: dir}
}

// opts are the docker run options the recorder needs.
func (r termRecorder) opts() []string { return []string{"-v", r.dir + ":/rec"} }

// cmd is the recorder's command line.
func (r termRecorder) cmd() []string {
	return []string{"/helper", "grace-trap", "-record", "/rec/record", "/rec/ready"}
}

// waitReady waits until the recorder listens.
func (r termRecorder) waitReady(t *testing.T) {
	t.Helper()
	testenv.WaitFile(t, r.dir+"/ready", startTimeout)
}

// heldSince returns how long after since SIGTERM reached the recorder,
// and how many times it did.
func (r termRecorder) heldSince(t *testing.T, since time.Time) (time.Duration, int) {
	t.Helper()
	b, err := os.ReadFile(r.dir + "/record")
	if err != nil {
		t.Fatalf("the recorder got no SIGTERM: %v", err)
	}
	lines := strings.Fields(strings.TrimSpace(string(b)))
	var first int64
	n := 0
	for i := 0; i+1 < len(lines); i += 2 {
		if lines[i+1] != "TERM" {
			continue
		}
		if n == 0 {
			first, _ = strconv.ParseInt(lines[i], 10, 64)
		}
		n++
	}
	if n == 0 {
		t.Fatalf("the recorder got no SIGTERM; record %q", b)
	}
	return time.Unix(0, first).Sub(since), n
}
