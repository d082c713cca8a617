#!/usr/bin/env bash
# Lets this machine run the release binaries of other architectures
# through qemu-user: installs qemu-user-static and binfmt-support when
# they are missing, mounts binfmt_misc when it is not mounted, and enables
# the kernel's handler for every release architecture the machine cannot
# run natively. Then, for each binary given, runs BINARY --version and
# fails with one line naming the binary when it cannot run.
#
#	.ci/foreign-arch.sh [BINARY...]
#
# It may be called or sourced (from .ci/run); sourced, it leaves the
# caller's shell options alone and returns non-zero on failure. Needs root
# for what it has to install, mount or enable.

foreign_arch_fail() {
	echo "foreign-arch: $*" >&2
	return 1
}

# foreign_arch_handlers prints the binfmt handlers (Debian's names, from
# qemu-user-static) of the release architectures this machine does not
# run natively.
foreign_arch_handlers() {
	local host all=(qemu-x86_64 qemu-i386 qemu-aarch64 qemu-arm qemu-ppc64le qemu-s390x qemu-riscv64)
	host=$(uname -m)
	local h
	for h in "${all[@]}"; do
		case "$host:$h" in
		x86_64:qemu-x86_64 | x86_64:qemu-i386) continue ;;
		aarch64:qemu-aarch64 | aarch64:qemu-arm) continue ;;
		ppc64le:qemu-ppc64le | s390x:qemu-s390x | riscv64:qemu-riscv64) continue ;;
		esac
		echo "$h"
	done
}

foreign_arch_setup() {
	local need=()
	[ -e /usr/share/binfmts/qemu-aarch64 ] || need+=(qemu-user-static)
	command -v update-binfmts >/dev/null 2>&1 || need+=(binfmt-support)
	if [ ${#need[@]} -gt 0 ]; then
		echo "foreign-arch: installing ${need[*]}"
		DEBIAN_FRONTEND=noninteractive apt-get update -qq ||
			foreign_arch_fail "apt-get update failed" || return 1
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null ||
			foreign_arch_fail "cannot install ${need[*]}" || return 1
	fi

	local fs=/proc/sys/fs/binfmt_misc
	if [ ! -e "$fs/status" ]; then
		mount -t binfmt_misc binfmt_misc "$fs" ||
			foreign_arch_fail "cannot mount binfmt_misc on $fs" || return 1
	fi
	[ "$(cat "$fs/status")" = enabled ] || echo 1 >"$fs/status" ||
		foreign_arch_fail "binfmt_misc is disabled and cannot be enabled ($fs/status)" || return 1

	local h
	for h in $(foreign_arch_handlers); do
		# Enabled means registered in the kernel with the interpreter
		# that update-binfmts knows for the handler.
		if [ ! -e "$fs/$h" ]; then
			update-binfmts --enable "$h" >/dev/null ||
				foreign_arch_fail "update-binfmts --enable $h failed" || return 1
		fi
		[ "$(head -n 1 "$fs/$h" 2>/dev/null)" = enabled ] || echo 1 >"$fs/$h" ||
			foreign_arch_fail "binfmt handler $h is registered but disabled" || return 1
	done
}

# foreign_arch_check runs each binary with --version and fails on the
# first that cannot run, naming it and its ELF machine.
foreign_arch_check() {
	local bin out
	for bin in "$@"; do
		if ! out=$("$bin" --version 2>&1); then
			foreign_arch_fail "$bin cannot run here ($(file -b "$bin" 2>/dev/null | cut -d, -f1-2)): ${out:-no output}; is its qemu binfmt handler enabled (update-binfmts --display)?" || return 1
		fi
	done
}

foreign_arch_main() {
	foreign_arch_setup || return 1
	foreign_arch_check "$@" || return 1
	echo "foreign-arch: qemu-user handlers enabled: $(foreign_arch_handlers | tr '\n' ' ')"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	foreign_arch_main "$@" || exit 1
else
	foreign_arch_main "$@" || return 1
fi
