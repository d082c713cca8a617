// Package version holds reaper-init's version and the commit it was built
// from, and writes the text of `reaper-init --version`.
//
// # Why the first line speaks of tini
//
// Docker runs its init binary (docker-init, or --init-path) with --version
// for `docker version` and `docker info` and parses the output as tini
// prints it: the output is split at " - ", the first part must begin with
// "tini version " and the rest of it is the version; the second part, if
// there is one, must be "git." and the commit, with no other dot. Output
// that fits neither half is logged by dockerd as a warning on every
// `docker info`. catatonit answers the same way ("tini version
// 0.1.7_catatonit"). reaper-init's first line follows that format, and the
// second line, which Docker skips because it begins a third " - " part,
// says which program this is:
//
//	tini version 0.2.0 - git.1a2b3c4d5e6f
//	 - reaper-init 0.2.0, commit 1a2b3c4d5e6f (...)
//
// A build without a commit (outside a git tree, or not stamped) prints the
// first line without its " - git." part, as tini itself does when it is
// built outside a git tree, and says on the second that no commit was
// recorded.
package version

import "strings"

// Version is reaper-init's release version. The Makefile sets it at link
// time too (-X), from the same value, so that a release can be stamped
// without editing this file.
var Version = "0.2.0"

// Commit is the abbreviated git commit the binary was built from, with
// "-dirty" appended when tracked files differed from it, as the Makefile
// stamps it with -X. It stays empty for a build made outside a git tree
// (or by a plain go build): then no commit is known, and none is printed.
var Commit string

// Text returns the text `reaper-init --version` prints: a first line in
// tini's format for Docker, and a second that names reaper-init.
func Text() string { return text(Version, Commit) }

// text builds the --version text from a version and a commit. Characters
// that would break Docker's parsing (spaces and control characters in
// either, dots in the commit) are replaced with '_', so that a malformed
// stamp cannot turn into a warning in dockerd's log.
func text(version, commit string) string {
	version = token(version, false)
	if version == "" {
		version = "unknown"
	}
	commit = token(commit, true)

	var b strings.Builder
	b.WriteString("tini version ")
	b.WriteString(version)
	if commit != "" {
		b.WriteString(" - git.")
		b.WriteString(commit)
	}
	b.WriteString("\n - reaper-init ")
	b.WriteString(version)
	if commit != "" {
		b.WriteString(", commit ")
		b.WriteString(commit)
	} else {
		b.WriteString(", no commit recorded")
	}
	b.WriteString(" (the first line is in tini's format, which Docker parses)\n")
	return b.String()
}

// token returns s with every character outside printable ASCII, every
// space and, when noDot is set, every '.' replaced with '_'.
func token(s string, noDot bool) string {
	b := []byte(s)
	for i, c := range b {
		if c <= ' ' || c >= 0x7f || (noDot && c == '.') {
			b[i] = '_'
		}
	}
	return string(b)
}
