package main

import (
	"os"
	"strconv"
	"time"
)

func init() {
	commands["exit"] = func(args []string) int {
		if len(args) != 1 {
			return 2
		}
		n, err := strconv.Atoi(args[0])
		if err != nil {
			return 2
		}
		return n
	}
	commands["sleep"] = func(args []string) int {
		d := time.Hour
		if len(args) == 1 {
			if v, err := time.ParseDuration(args[0]); err == nil {
				d = v
			}
		}
		time.Sleep(d)
		os.Stdout.WriteString("slept\n")
		return 0
	}
}
