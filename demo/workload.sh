#!/bin/sh
# workload.sh DIR [N]: the demo's orphan factory.
#
# It makes N orphans (default 200), ten every 0.1s: each one is a short
# sleep started in the background by a subshell that exits at once, so the
# sleep is re-parented to PID 1 and becomes a zombie when it ends unless
# PID 1 reaps it. Before each batch it writes the number made by its end
# to DIR/made. Then it stays alive, as a server would: exiting would make it
# a zombie of its own parent, which in the demo never calls wait.
set -u

dir=$1
n=${2:-200}

made=0
while [ "$made" -lt "$n" ]; do
	next=$((made + 10))
	[ "$next" -le "$n" ] || next=$n
	# Counted before the batch, so that a reader never sees more zombies
	# than orphans made; written aside and renamed, so that it never sees
	# a half-written file.
	echo "$next" >"$dir/made.new" && mv -f "$dir/made.new" "$dir/made"
	while [ "$made" -lt "$next" ]; do
		( sleep 0.1 & )
		made=$((made + 1))
	done
	sleep 0.1
done

exec sleep 3600
