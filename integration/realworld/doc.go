// Package realworld tests reaper-init against real workloads without
// Docker: a Node service started through npm (npm -> node server.js ->
// node worker.js) stopped with SIGTERM, a pids limit made with a cgroup
// and kept exhausted, and the Kubernetes example users copy.
//
// reaper-init runs as PID 1 of a fresh PID namespace (testenv.InitCommand).
// The npm tests skip when node or npm is missing, unless
// REAPER_REQUIRE_NODE=1; the pids test skips when no pids cgroup can be
// written.
package realworld
