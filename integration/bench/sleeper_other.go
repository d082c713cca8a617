//go:build !amd64

package main

// sleeperELF returns nil: there is a ready-made sleeper for amd64 only,
// and elsewhere the crowd's sleepers are forks of this program (see
// forkSleeper).
func sleeperELF() []byte { return nil }
