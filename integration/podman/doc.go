// Package podman tests reaper-init in podman's init slots: `podman run
// --init` (with --init-path, or containers.conf's init_path) mounts the
// init at /run/podman-init and runs ["/run/podman-init", "--", CMD...],
// and the infra container of a pod runs the pause binary with -P (in
// podman 4.3, ["/catatonit", "-P"] from a pause image podman builds out
// of its "catatonit" helper binary; in podman 5.6 and later,
// ["/" + basename(init_path), "-P"] with init_path bind-mounted).
//
// The tests run podman as root against a configuration of their own
// (testenv.NewPodman), which also carries what podman needs to start a
// container on a machine that refuses to raise hard limits. They skip,
// with the error podman printed, when podman cannot run a container
// here, unless REAPER_REQUIRE_PODMAN=1.
package podman
