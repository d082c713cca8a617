package main

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

// The subcommand the termination-message tests run:
//
//	ending-alloc [MiB]  print "ready pid=P", then allocate memory and
//	                    touch every page, 1 MiB at a time, until killed
//	                    (the OOM killer in a container with --memory);
//	                    give up after MiB (default 4096) and exit 3.
func init() {
	commands["ending-alloc"] = endingAlloc
}

func endingAlloc(args []string) int {
	limit := 4096
	if len(args) == 1 {
		n, err := strconv.Atoi(args[0])
		if err != nil || n <= 0 {
			fmt.Fprintf(os.Stderr, "reaper-helper: bad size %q\n", args[0])
			return 2
		}
		limit = n
	}
	fmt.Printf("ready pid=%d\n", os.Getpid())
	// A moment for the test to see the line before the kill.
	time.Sleep(200 * time.Millisecond)
	keep := make([][]byte, 0, limit)
	for len(keep) < limit {
		b := make([]byte, 1<<20)
		for i := 0; i < len(b); i += 4096 {
			b[i] = 1
		}
		keep = append(keep, b)
	}
	fmt.Printf("allocated %d MiB without being killed\n", len(keep))
	return 3
}
