// Command reaper-helper is the static test program that the integration
// tests run under reaper-init, in PID namespaces and in FROM-scratch
// Docker images alike. Each subcommand is one behaviour a test needs (a
// child that records signals, an orphan factory, a parent that never
// reaps, ...). Subcommands register themselves in files of their own.
//
// Usage: reaper-helper SUBCOMMAND [args...]
package main

import (
	"fmt"
	"os"
	"sort"
)

// commands maps a subcommand name to its implementation, which returns
// the process's exit code. Files add to it from init functions.
var commands = map[string]func(args []string) int{}

func main() {
	if len(os.Args) < 2 || commands[os.Args[1]] == nil {
		names := make([]string, 0, len(commands))
		for n := range commands {
			names = append(names, n)
		}
		sort.Strings(names)
		fmt.Fprintf(os.Stderr, "usage: reaper-helper SUBCOMMAND [args...]\nsubcommands: %v\n", names)
		os.Exit(2)
	}
	os.Exit(commands[os.Args[1]](os.Args[2:]))
}
