// Package grace holds the black-box tests of reaper-init's graceful
// shutdown: the grace period that ends a stuck child with SIGKILL
// (--grace, REAPER_GRACE), the drain of processes left behind when the
// main child exits, the stack-dump signal sent before the kill
// (--dump-signal, --dump-wait) and delayed signals (--delay).
//
// Every case runs the built binary both as PID 1 of a fresh PID namespace
// and, where the behaviour differs, as a child subreaper (-s) started
// directly by the test.
package grace
