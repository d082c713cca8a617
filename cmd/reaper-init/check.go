package main

import (
	"os"

	"github.com/reaper-init/reaper-init/internal/catch"
	"github.com/reaper-init/reaper-init/internal/cli"
	"github.com/reaper-init/reaper-init/internal/logx"
	"github.com/reaper-init/reaper-init/internal/probe"
)

// check is `reaper-init --check`, the health probe: one scan of the PID
// namespace, the findings on stdout, exit 0 healthy, 1 unhealthy, 3 when
// it cannot tell (a usage error included: Docker reserves 2). It runs
// before anything of the init's, and gives the signals the handler of
// package catch took back to the runtime: a probe's SIGTERM just ends it.
func check(args []string) int {
	catch.Uninstall()
	cfg, err := cli.Parse(args, os.LookupEnv)
	if err != nil {
		usageError(err)
		return probe.ExitError
	}
	if answered(cfg) {
		return 0
	}
	return probe.Run(probe.Config{
		ZombieThreshold: cfg.ZombieThreshold,
		PIDPressure:     cfg.PIDPressure,
	}, os.Stdout, logx.Stderr)
}
