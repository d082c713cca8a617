package dockerinit

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/reaper-init/reaper-init/integration/internal/testenv"
)

// initVersion is `reaper-init --version` read the way dockerd reads an
// init's version (moby daemon/info_unix.go, parseInitVersion): the output
// is split at " - "; the first part must start "tini version ", the
// second must be "git.COMMIT". Anything else makes dockerd log "failed to
// parse ... unknown output format" and show N/A.
type initVersion struct {
	output  string // the whole output
	version string // after "tini version "
	commit  string // after "git."
	ok      bool   // dockerd would parse it
}

func readInitVersion(t *testing.T, bin string) initVersion {
	t.Helper()
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		t.Fatalf("%s --version: %v", bin, err)
	}
	v := initVersion{output: string(out)}
	// The same steps as parseInitVersion, on the whole output.
	parts := strings.Split(v.output, " - ")
	if len(parts) >= 2 {
		git := strings.Split(strings.TrimSpace(parts[1]), ".")
		if len(git) == 2 && git[0] == "git" {
			v.commit = git[1]
		}
	}
	if first := strings.TrimSpace(parts[0]); strings.HasPrefix(first, "tini version ") {
		v.version = strings.TrimPrefix(first, "tini version ")
	}
	v.ok = v.version != "" || v.commit != ""
	return v
}

// requireParsable fails the test unless dockerd can parse v.
func requireParsable(t *testing.T, v initVersion) {
	t.Helper()
	if !v.ok {
		t.Fatalf("reaper-init --version prints %q: not in tini's format (\"tini version V - git.COMMIT\"), so dockerd cannot parse it", v.output)
	}
}

// noParseWarning fails the test when dockerd's log says it could not run
// or parse the init's --version.
func noParseWarning(t *testing.T, d *testenv.Dockerd) {
	t.Helper()
	for _, line := range strings.Split(d.Log(), "\n") {
		if strings.Contains(line, d.InitPath) && (strings.Contains(line, "failed to parse") || strings.Contains(line, "failed to retrieve")) {
			t.Errorf("dockerd's log: %s", line)
		}
	}
}

// builtCommit returns the commit the binary under test was built from,
// when the tests know it: HEAD of the repository, when the binary is the
// one `make build` leaves there or the one testenv built.
func builtCommit(t *testing.T) string {
	t.Helper()
	root := testenv.RepoRoot(t)
	if bin := os.Getenv("REAPER_INIT_BIN"); bin != "" {
		abs, err := filepath.Abs(bin)
		if err != nil || abs != filepath.Join(root, "bin", "reaper-init") {
			return ""
		}
	}
	out, err := exec.Command("git", "-C", root, "rev-parse", "HEAD").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

var hexCommit = regexp.MustCompile(`^[0-9a-f]{7,40}$`)

// TestDockerInfoShowsReaperInitCommit: `docker info` runs the
// --init-path binary with --version and shows the commit it parses. It
// must be the commit reaper-init prints (the one it was built from), not
// N/A, and dockerd must not have logged a parse failure.
func TestDockerInfoShowsReaperInitCommit(t *testing.T) {
	d := dockerd(t)
	v := readInitVersion(t, d.InitPath)
	requireParsable(t, v)
	out := d.Docker(t, "info", "--format", "{{.InitBinary}}|{{.InitCommit.ID}}|{{.InitCommit.Expected}}")
	f := strings.Split(out, "|")
	if len(f) != 3 {
		t.Fatalf("docker info printed %q, want three fields separated by |", out)
	}
	binary, id, expected := f[0], f[1], f[2]
	t.Logf("reaper-init --version: %q; docker info: InitBinary=%q InitCommit.ID=%q Expected=%q", v.output, binary, id, expected)
	if binary != d.InitPath {
		t.Errorf("docker info InitBinary = %q, want the daemon's --init-path %q", binary, d.InitPath)
	}
	if id == "N/A" {
		t.Errorf("docker info InitCommit.ID is N/A: dockerd could not parse %q", v.output)
	}
	if id != v.commit {
		t.Errorf("docker info InitCommit.ID = %q, want %q, the commit reaper-init --version prints", id, v.commit)
	}
	if expected != id {
		t.Errorf("docker info InitCommit.Expected = %q, want %q (the same as the ID, or docker info reports a mismatch)", expected, id)
	}
	if head := builtCommit(t); head != "" && hexCommit.MatchString(v.commit) && !strings.HasPrefix(head, v.commit) {
		t.Errorf("reaper-init reports commit %q; it was built from %s", v.commit, head)
	}
	noParseWarning(t, d)
}

// TestDockerVersionShowsReaperInitVersion: `docker version` lists the
// init among the server's components, by the base name of --init-path,
// with the version and commit it parses from reaper-init --version.
func TestDockerVersionShowsReaperInitVersion(t *testing.T) {
	d := dockerd(t)
	v := readInitVersion(t, d.InitPath)
	requireParsable(t, v)
	out := d.Docker(t, "version", "--format", "{{json .Server.Components}}")
	var components []struct {
		Name    string
		Version string
		Details map[string]string
	}
	if err := json.Unmarshal([]byte(out), &components); err != nil {
		t.Fatalf("docker version components %q: %v", out, err)
	}
	name := filepath.Base(d.InitPath)
	found := false
	for _, c := range components {
		if c.Name != name {
			continue
		}
		found = true
		t.Logf("docker version: %s %q GitCommit=%q", c.Name, c.Version, c.Details["GitCommit"])
		if c.Version != v.version {
			t.Errorf("docker version shows %s version %q, want %q, what reaper-init --version prints", name, c.Version, v.version)
		}
		// Either the version itself names reaper-init (tini version
		// 0.2.0_reaper-init), or a later line of --version does, with
		// the same version.
		rest := v.output[strings.IndexByte(v.output, '\n')+1:]
		if !strings.Contains(c.Version, "reaper-init") && !(strings.Contains(rest, "reaper-init") && strings.Contains(rest, c.Version)) {
			t.Errorf("docker version shows %s version %q: it does not say it is reaper-init (--version: %q)", name, c.Version, v.output)
		}
		if got := c.Details["GitCommit"]; got != v.commit {
			t.Errorf("docker version shows %s GitCommit %q, want %q", name, got, v.commit)
		}
	}
	if !found {
		t.Errorf("docker version lists no %s component (dockerd could not run or parse %s --version); components: %s", name, d.InitPath, out)
	}
	noParseWarning(t, d)
}
