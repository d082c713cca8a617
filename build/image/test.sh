#!/usr/bin/env bash
# Checks the image `make image` built: that it holds /reaper-init and
# /LICENSE and nothing else, that its binary answers --version for Docker,
# and that an image made with the README's COPY --from line runs a command
# under it as PID 1 (exit status, orphan reaping, docker stop). Needs
# Docker and a static busybox at /bin/busybox; removes what it creates.
#
#	build/image/test.sh reaper-init:0.2.0
set -euo pipefail

image=${1:?usage: $0 IMAGE}
version=${image##*:}
busybox=${BUSYBOX:-/bin/busybox}
tag=reaper-init-image-test:$$
name=reaper-init-image-test-$$
work=$(mktemp -d)
cleanup() {
	docker rm -f "$name" >/dev/null 2>&1 || true
	docker rmi -f "$tag" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "image test: $*" >&2; exit 1; }

file -L "$busybox" | grep -q 'statically linked' || fail "$busybox is not a static busybox (apt-get install busybox-static)"

# The image's files: its layers hold exactly LICENSE and reaper-init.
docker save "$image" | tar -x -C "$work"
files=$(find "$work" -name layer.tar -exec tar -tf {} \; | sort | tr '\n' ' ')
[ "$files" = "LICENSE reaper-init " ] || fail "$image holds '$files', want 'LICENSE reaper-init'"

# Run as the image's entrypoint, it prints its version.
out=$(docker run --rm --network none "$image")
first=${out%%$'\n'*}
case $first in
"tini version $version - git."* | "tini version $version") ;;
*) fail "--version printed '$first', want tini's format with version $version" ;;
esac
grep -q "^ - reaper-init $version, " <<<"$out" || fail "--version does not name reaper-init $version: '$out'"

# An application image made the README's way.
cp "$busybox" "$work/busybox"
cat >"$work/Dockerfile" <<DOCKERFILE
FROM scratch
COPY --from=$image /reaper-init /reaper-init
COPY busybox /bin/busybox
ENTRYPOINT ["/reaper-init", "--"]
DOCKERFILE
DOCKER_BUILDKIT=0 docker build -q --network none -t "$tag" "$work" >/dev/null

# The command's exit status is the container's.
set +e
docker run --rm --network none "$tag" /bin/busybox sh -c 'exit 7'
code=$?
set -e
[ "$code" = 7 ] || fail "exit 7 under reaper-init gave $code"

# An orphan that exits is reaped. The command makes one, then becomes a
# sleep that reaps nothing: without an init that reaps, the orphan stays
# a zombie, which a process started with docker exec would count.
docker run -d --name "$name" --network none "$tag" /bin/busybox sh -c \
	'/bin/busybox sh -c "/bin/busybox sleep 0.2 &"; exec /bin/busybox sleep 30' >/dev/null
sleep 1.5
zombies=$(docker exec "$name" /bin/busybox sh -c \
	'/bin/busybox grep -l "^State:.Z" /proc/[0-9]*/status 2>/dev/null | /bin/busybox wc -l')
[ "$zombies" = 0 ] || fail "$zombies zombies left after an orphan exited, want 0"
docker rm -f "$name" >/dev/null

# docker stop's SIGTERM reaches the command, whose exit status is kept.
docker run -d --name "$name" --network none "$tag" \
	/bin/busybox sh -c 'trap "exit 42" TERM; while :; do /bin/busybox sleep 0.1; done' >/dev/null
sleep 1
start=$(date +%s)
docker stop -t 20 "$name" >/dev/null
elapsed=$(($(date +%s) - start))
code=$(docker inspect -f '{{.State.ExitCode}}' "$name")
[ "$code" = 42 ] || fail "docker stop: exit code $code, want 42 from the TERM trap"
[ "$elapsed" -lt 15 ] || fail "docker stop took ${elapsed}s: SIGTERM was not forwarded"

echo "image test: $image passed"
