// Package dockerinit tests reaper-init in the slot Docker fills for
// `docker run --init` (Compose's `init: true`, daemon.json's "init": true):
// the container's process becomes ["/sbin/docker-init", "--", path,
// args...], with the init bind-mounted from dockerd's --init-path. Most
// containers never get an init from their image; they get this one.
//
// The engine the machine runs keeps its docker-init, so the tests start a
// dockerd of their own (testenv.StartDockerd) whose --init-path is the
// reaper-init under test, once per test binary, and build their images on
// it FROM scratch: /reaper-init, /helper (the static helper program) and a
// static busybox in /bin. Containers run with --network none.
//
// What they prove: docker info and docker version parse reaper-init's
// version; orphans, exec'd process trees and exit codes behave under
// `docker run --init` as under reaper-init in the image; every option
// reads its REAPER_* form from the container's environment, since Docker
// adds no flags; an image whose own entrypoint is reaper-init does not
// stack a second delay under `docker run --init`; LISTEN_PID is rewritten
// for the child; and reaper-init -P is the pause container of a pod with
// Docker's shared PID namespaces (--pid container:PAUSE).
//
// The tests skip when the daemon cannot start, unless
// REAPER_REQUIRE_DOCKER=1.
package dockerinit
