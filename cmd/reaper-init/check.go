package main

import (
	"os"

	"github.com/reaper-init/reaper-init/internal/catch"
	"github.com/reaper-init/reaper-init/internal/cli"
	"github.com/reaper-init/reaper-init/internal/logx"
	"github.com/reaper-init/reaper-init/internal/probe"
	"github.com/reaper-init/reaper-init/internal/version"
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
		logx.Stderr.Write([]byte("reaper-init: " + err.Error() + " (see reaper-init --help)\n"))
		return probe.ExitError
	}
	if cfg.Help {
		os.Stdout.WriteString(usageText)
		return 0
	}
	if cfg.Version {
		os.Stdout.WriteString(version.Text())
		return 0
	}
	return probe.Run(probe.Config{
		ZombieThreshold: cfg.ZombieThreshold,
		PIDPressure:     cfg.PIDPressure,
	}, os.Stdout, logx.Stderr)
}
