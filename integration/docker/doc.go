// Package docker holds the end-to-end tests of reaper-init in real Docker
// containers: docker stop, docker kill, exit codes through docker wait,
// zombies, an interactive terminal, a pids limit, and the Dockerfile users
// copy. Each case is compared with the same image without an init, and
// with Docker's bundled init (docker run --init) where that makes the
// point.
//
// Nothing can be pulled, so the test image is built FROM scratch out of
// static binaries: /reaper-init (the binary under test), /helper (the
// static helper program) and a static busybox in /bin. Containers run with
// --network none. The tests skip when no Docker engine answers, unless
// REAPER_REQUIRE_DOCKER=1.
package docker
