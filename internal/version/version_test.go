package version

import (
	"errors"
	"strings"
	"testing"
)

// dockerParse applies the rule by which dockerd reads the output of
// `INIT --version` (parseInitVersion in moby's daemon/info_unix.go, the
// same in Docker 20.10 and later): the output is cut at " - "; the first
// part, trimmed, must begin with "tini version " and the rest of it is the
// version; the second part, trimmed, is "git.COMMIT" with exactly one dot,
// or gives no commit. Output with neither a version nor a commit is an
// error, which dockerd logs as a warning.
func dockerParse(out string) (version, commit string, err error) {
	first, rest, cut := strings.Cut(out, " - ")
	if cut {
		second, _, _ := strings.Cut(rest, " - ")
		if c, ok := strings.CutPrefix(strings.TrimSpace(second), "git."); ok && strings.IndexByte(c, '.') < 0 {
			commit = c
		}
	}
	if v, ok := strings.CutPrefix(strings.TrimSpace(first), "tini version "); ok {
		version = v
	}
	if version == "" && commit == "" {
		return "", "", errors.New("unknown output format")
	}
	return version, commit, nil
}

// TestDockerParse checks the parser above against what real inits print
// and what dockerd is known to reject.
func TestDockerParse(t *testing.T) {
	tests := []struct {
		out             string
		version, commit string
		bad             bool
	}{
		{out: "tini version 0.19.0 - git.de40ad0\n", version: "0.19.0", commit: "de40ad0"},
		{out: "tini version 0.19.0\n", version: "0.19.0"},
		{out: "tini version 0.1.7_catatonit\n", version: "0.1.7_catatonit"},
		{out: "tini version 0.19.0 - git.de40ad0-dirty\n", version: "0.19.0", commit: "de40ad0-dirty"},
		{out: "tini version 0.19.0 - git.de40ad0.1\n", version: "0.19.0"},
		{out: "tini version 0.19.0 - de40ad0\n", version: "0.19.0"},
		{out: "tini version 0.19.0 - git.de40ad0\nmore text.\n", version: "0.19.0"},
		{out: "reaper-init 0.1.0\n", bad: true},
		{out: "dumb-init v1.2.5\n", bad: true},
		{out: "", bad: true},
	}
	for _, tt := range tests {
		v, c, err := dockerParse(tt.out)
		if (err != nil) != tt.bad || v != tt.version || c != tt.commit {
			t.Errorf("dockerParse(%q) = %q, %q, %v; want %q, %q, error %v", tt.out, v, c, err, tt.version, tt.commit, tt.bad)
		}
	}
}

// TestTextForDocker checks that Docker reads the version and the commit
// from the --version text, whatever was stamped, and that a person
// reading it is told it is reaper-init.
func TestTextForDocker(t *testing.T) {
	tests := []struct {
		name                string
		version, commit     string
		wantVer, wantCommit string
	}{
		{"release", "0.2.0", "1a2b3c4d5e6f", "0.2.0", "1a2b3c4d5e6f"},
		{"dirty", "0.2.0", "1a2b3c4d5e6f-dirty", "0.2.0", "1a2b3c4d5e6f-dirty"},
		{"no git", "0.2.0", "", "0.2.0", ""},
		{"prerelease", "0.3.0-rc.1+build.5", "abc", "0.3.0-rc.1+build.5", "abc"},
		{"dot in commit", "0.2.0", "abc.def", "0.2.0", "abc_def"},
		{"separator in version", "0.2.0 - git.x", "abc", "0.2.0_-_git.x", "abc"},
		{"newline in commit", "0.2.0", "abc\n - git.evil", "0.2.0", "abc__-_git_evil"},
		{"empty version", "", "abc", "unknown", "abc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := text(tt.version, tt.commit)
			v, c, err := dockerParse(out)
			if err != nil || v != tt.wantVer || c != tt.wantCommit {
				t.Fatalf("Docker would read %q as %q, %q, %v; want %q, %q", out, v, c, err, tt.wantVer, tt.wantCommit)
			}
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			if len(lines) != 2 || !strings.HasSuffix(out, "\n") {
				t.Fatalf("%q: want two lines ending in a newline", out)
			}
			if want := " - reaper-init " + tt.wantVer + ", "; !strings.HasPrefix(lines[1], want) {
				t.Errorf("second line %q does not begin with %q", lines[1], want)
			}
			if tt.wantCommit == "" {
				if !strings.Contains(lines[1], "no commit recorded") || strings.Contains(lines[0], "git.") {
					t.Errorf("%q: a build without a commit must say so and print none", out)
				}
			} else if !strings.Contains(lines[1], "commit "+tt.wantCommit+" ") {
				t.Errorf("second line %q does not name commit %q", lines[1], tt.wantCommit)
			}
		})
	}
}

// TestTextExact pins the text of a release build and of a build without
// git, the two forms users see.
func TestTextExact(t *testing.T) {
	const suffix = " (the first line is in tini's format, which Docker parses)\n"
	if got, want := text("0.2.0", "1a2b3c4d5e6f"), "tini version 0.2.0 - git.1a2b3c4d5e6f\n - reaper-init 0.2.0, commit 1a2b3c4d5e6f"+suffix; got != want {
		t.Errorf("release text:\n%q\nwant\n%q", got, want)
	}
	if got, want := text("0.2.0", ""), "tini version 0.2.0\n - reaper-init 0.2.0, no commit recorded"+suffix; got != want {
		t.Errorf("text without git:\n%q\nwant\n%q", got, want)
	}
}

// TestTextUsesStamp checks that Text reads the variables the linker sets.
func TestTextUsesStamp(t *testing.T) {
	savedV, savedC := Version, Commit
	t.Cleanup(func() { Version, Commit = savedV, savedC })
	Version, Commit = "9.9.9", "feedface"
	v, c, err := dockerParse(Text())
	if err != nil || v != "9.9.9" || c != "feedface" {
		t.Errorf("Text() = %q, read as %q, %q, %v", Text(), v, c, err)
	}
}
