#!/bin/sh
# run.sh INIT: the reaper-init demo, side by side, in a few seconds.
#
# Two fresh PID namespaces run the same command at the same time, the
# second with INIT in front of it:
#
#   plain:        sh -c 'sh workload.sh & exec sleep 3600'
#   reaper-init:  INIT -- sh -c 'sh workload.sh & exec sleep 3600'
#
# sleep stands for an application that never calls wait (a web server, a
# JVM) and is PID 1 of the plain namespace, as when the application is the
# container's entrypoint. workload.sh, next to this script, makes orphans:
# each is re-parented to PID 1 and stays a zombie when it exits unless
# PID 1 reaps it.
#
# Every 0.5s it prints the number of zombies in each namespace, counted in
# /proc by walking the descendants of each unshare process. When both
# workloads are done and the counts are stable, it sends SIGTERM to both
# PID 1s: sleep has no handler and the kernel drops the signal; reaper-init
# forwards it to sleep, which dies of it, and exits 143 (128+15). Then it
# checks that `INIT -- sh -c 'exit 3'` exits 3. The last line sums it up:
#
#   plain PID 1: 200 zombies; reaper-init: 0 zombies
#
# It exits 0 when reaper-init left no zombie, forwarded the signal and
# passed the exit statuses through, 1 otherwise, 2 on a usage error.
# DEMO_ORPHANS sets the number of orphans (default 200). It needs
# util-linux (unshare), coreutils and a kernel with
# /proc/PID/task/TID/children; as root it uses a PID namespace, as another
# user a user and a PID namespace.
set -u

prog=run.sh

die() {
	echo "$prog: $*" >&2
	exit 1
}

if [ $# -ne 1 ]; then
	echo "usage: $prog INIT (the reaper-init binary, e.g. bin/reaper-init)" >&2
	exit 2
fi
case $1 in
/*) init=$1 ;;
*) init=$PWD/$1 ;;
esac
if [ ! -f "$init" ] || [ ! -x "$init" ]; then
	die "$1: not an executable file (run make build first)"
fi

here=$(cd "$(dirname "$0")" && pwd) || die "cannot find the demo directory"
workload=$here/workload.sh
[ -r "$workload" ] || die "$workload: missing"

orphans=${DEMO_ORPHANS:-200}
case $orphans in
'' | *[!0-9]*) die "DEMO_ORPHANS=$orphans: not a number" ;;
esac

if [ "$(id -u)" -eq 0 ]; then
	ns="unshare --pid --fork --mount-proc --kill-child"
else
	ns="unshare --user --map-root-user --pid --fork --mount-proc --kill-child"
fi
# shellcheck disable=SC2086 # $ns is a list of words on purpose.
err=$($ns true 2>&1) || die "cannot create a PID namespace with '$ns': $err"
[ -r "/proc/$$/task/$$/children" ] ||
	die "/proc/PID/task/TID/children is missing (kernel without CONFIG_PROC_CHILDREN)"

# children PID: set kids to the PIDs of PID's children (all its threads').
children() {
	kids=
	for c_file in /proc/"$1"/task/*/children; do
		c_line=
		# The file has no trailing newline: read fails but sets c_line.
		read -r c_line 2>/dev/null <"$c_file"
		kids="$kids $c_line"
	done
}

# state PID: set st to PID's state letter (R, S, Z, ...), empty when gone.
state() {
	st=
	s_line=
	read -r s_line 2>/dev/null <"/proc/$1/stat" || return 0
	# The command name is in parentheses and may hold ") ": the state is
	# the field after the last one.
	s_line=${s_line##*) }
	st=${s_line%% *}
}

# zombies PID: set zc to the number of zombies among PID's descendants.
zombies() {
	zc=0
	children "$1"
	z_queue=$kids
	while [ -n "${z_queue# }" ]; do
		z_next=
		for z_pid in $z_queue; do
			state "$z_pid"
			case $st in
			Z) zc=$((zc + 1)) ;;
			'') ;;
			*)
				children "$z_pid"
				z_next="$z_next $kids"
				;;
			esac
		done
		z_queue=$z_next
	done
}

# pid1 UNSHARE: set p1 to the namespace's PID 1 (unshare's only child).
pid1() {
	children "$1"
	p1=
	for p1 in $kids; do
		break
	done
}

# made NAME: set mk to the number of orphans the NAME workload has made.
made() {
	mk=
	read -r mk 2>/dev/null <"$tmp/$1/made"
	[ -n "$mk" ] || mk=0
}

# now_ms: set ms to the milliseconds elapsed since the start.
now_ms() {
	ms=$((($(date +%s%N) - start) / 1000000))
}

# await UNSHARE SECONDS: set code to the exit status of UNSHARE (a child
# of this script), or to "none" when it is still running SECONDS later.
await() {
	now_ms
	a_end=$((ms + $2 * 1000))
	code=
	while [ -z "$code" ]; do
		state "$1"
		case $st in
		'' | Z)
			wait "$1"
			code=$?
			;;
		*)
			now_ms
			if [ "$ms" -ge "$a_end" ]; then
				code=none
			else
				sleep 0.1
			fi
			;;
		esac
	done
}

tmp=
plain=
reaper=
exit3=
# shellcheck disable=SC2317 # Called from the EXIT trap.
cleanup() {
	trap - EXIT INT TERM HUP
	for u in $plain $reaper $exit3; do
		# When the namespace's PID 1 dies, the kernel kills everything
		# else in the namespace, and unshare reaps it and exits. Before
		# unshare has forked, killing unshare kills its child (--kill-child).
		pid1 "$u"
		if [ -n "$p1" ]; then
			kill -KILL "$p1" 2>/dev/null
		else
			kill -KILL "$u" 2>/dev/null
		fi
	done
	wait
	[ -z "$tmp" ] || rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

tmp=$(mktemp -d "${TMPDIR:-/tmp}/reaper-init-demo.XXXXXX") || die "mktemp failed"
mkdir "$tmp/plain" "$tmp/reaper" || die "mkdir in $tmp failed"

app='sh workload.sh & exec sleep 3600'
echo "Two PID namespaces run the same command at once, the second under reaper-init:"
echo "  plain:        $ns sh -c '$app'"
echo "  reaper-init:  $ns $1 -- sh -c '$app'"
echo "sleep stands for an application that never calls wait; workload.sh makes $orphans"
echo "orphans, each re-parented to PID 1 and a zombie when it exits unless PID 1 reaps it."
echo

start=$(date +%s%N)
# The same command as displayed above, with the workload's real path and
# arguments.
# shellcheck disable=SC2016 # $@ expands in the inner shell.
cmd='sh "$@" & exec sleep 3600'
# shellcheck disable=SC2086
$ns sh -c "$cmd" app "$workload" "$tmp/plain" "$orphans" \
	</dev/null >"$tmp/plain/log" 2>&1 &
plain=$!
# shellcheck disable=SC2086
$ns "$init" -- sh -c "$cmd" app "$workload" "$tmp/reaper" "$orphans" \
	</dev/null >"$tmp/reaper/log" 2>&1 &
reaper=$!

printf '  %-6s  %-20s  %s\n' "" "orphans made" "zombies in the namespace"
printf '  %-6s  %-8s %-11s  %-12s %s\n' time plain reaper-init "plain PID 1" reaper-init
prev=
while :; do
	sleep 0.5
	now_ms
	made plain
	mp=$mk
	made reaper
	mr=$mk
	zombies "$plain"
	zp=$zc
	zombies "$reaper"
	zr=$zc
	printf '  %3d.%ds  %-8s %-11s  %-12s %s\n' $((ms / 1000)) $((ms % 1000 / 100)) "$mp" "$mr" "$zp" "$zr"
	row="$mp $mr $zp $zr"
	if [ "$mp" -eq "$orphans" ] && [ "$mr" -eq "$orphans" ] && [ "$row" = "$prev" ]; then
		break
	fi
	prev=$row
	for u in $plain $reaper; do
		state "$u"
		case $st in
		'' | Z)
			echo "$prog: a namespace ended early; its output:" >&2
			cat "$tmp/plain/log" "$tmp/reaper/log" >&2
			exit 1
			;;
		esac
	done
	[ "$ms" -lt 60000 ] || die "the workloads did not finish within 60s"
done

pid1 "$plain"
p1_plain=$p1
pid1 "$reaper"
p1_reaper=$p1
if [ -z "$p1_plain" ] || [ -z "$p1_reaper" ]; then
	die "cannot find the PID 1 of each namespace"
fi
read -r comm_plain 2>/dev/null <"/proc/$p1_plain/comm" || comm_plain='?'

echo
echo "SIGTERM to each PID 1:"
kill -TERM "$p1_plain" "$p1_reaper" 2>/dev/null
now_ms
sent=$ms
await "$reaper" 10
[ "$code" = none ] || reaper=
term=$code
while now_ms && [ $((ms - sent)) -lt 1000 ]; do
	sleep 0.1
done
state "$p1_plain"
case $st in
'' | Z) plain_fate="exited" ;;
*) plain_fate="still running 1s later (no handler: the kernel drops the signal)" ;;
esac
echo "  plain PID 1 ($comm_plain): $plain_fate"
case $term in
143) echo "  reaper-init: forwarded it to sleep, which died of it; reaper-init exited 143 (128+15)" ;;
none) echo "  reaper-init: still running 10s later" ;;
*) echo "  reaper-init: exited $term" ;;
esac

# shellcheck disable=SC2086
$ns "$init" -- sh -c 'exit 3' </dev/null >"$tmp/exit3.log" 2>&1 &
exit3=$!
await "$exit3" 10
[ "$code" = none ] || exit3=
code3=$code
echo
case $code3 in
none) echo "Exit status: $1 -- sh -c 'exit 3' is still running 10s later" ;;
*) echo "Exit status: $1 -- sh -c 'exit 3' exited $code3" ;;
esac

echo
echo "plain PID 1: $zp zombies; reaper-init: $zr zombies"

fail=0
if [ "$zr" -ne 0 ]; then
	echo "$prog: FAIL: reaper-init left $zr zombies" >&2
	fail=1
fi
if [ "$zp" -eq 0 ]; then
	echo "$prog: FAIL: the plain PID 1 shows no zombie, so the demo shows nothing" >&2
	fail=1
fi
case $term in
143) ;;
none)
	echo "$prog: FAIL: reaper-init did not exit within 10s of SIGTERM, want exit 143; its output:" >&2
	cat "$tmp/reaper/log" >&2
	fail=1
	;;
*)
	echo "$prog: FAIL: after SIGTERM, reaper-init exited $term, want 143; its output:" >&2
	cat "$tmp/reaper/log" >&2
	fail=1
	;;
esac
case $code3 in
3) ;;
none)
	echo "$prog: FAIL: reaper-init -- sh -c 'exit 3' did not exit within 10s, want exit 3; its output:" >&2
	cat "$tmp/exit3.log" >&2
	fail=1
	;;
*)
	echo "$prog: FAIL: reaper-init -- sh -c 'exit 3' exited $code3, want 3; its output:" >&2
	cat "$tmp/exit3.log" >&2
	fail=1
	;;
esac
exit "$fail"
