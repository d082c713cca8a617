# reaper-init build, demo, tests and benchmark.
#
# The binary is static (no cgo) and stripped. The -X flag sets the Go
# runtime's built-in GODEBUG default: no asynchronous preemption, which a
# program of one goroutine never needs (the signal handler tells the
# runtime's preemption SIGURG apart anyway: see internal/catch). It is a
# link-time default, not an environment variable, so the child's
# environment stays untouched.
#
# VERSION and COMMIT are stamped into internal/version (the text of
# --version, which Docker parses). VERSION defaults to the one in
# internal/version/version.go; COMMIT is the abbreviated HEAD, with
# "-dirty" when tracked files differ from it, and empty outside a git tree.
# -trimpath, -buildvcs=false and an empty build ID make the binaries
# depend on the source alone: two builds of one tree are byte-identical.
GO       ?= go
BIN      ?= bin/reaper-init
VERSION  ?= $(shell sed -n 's/^var Version = "\(.*\)"$$/\1/p' internal/version/version.go)
COMMIT   ?= $(shell c=$$(git rev-parse --short=12 HEAD 2>/dev/null) && { git diff --quiet HEAD -- 2>/dev/null || c=$$c-dirty; echo $$c; })
RUNTIME_GODEBUG := asyncpreemptoff=1
LDFLAGS  := -s -w -X=runtime.godebugDefault=$(RUNTIME_GODEBUG) \
            -X=github.com/reaper-init/reaper-init/internal/version.Version=$(VERSION) \
            -X=github.com/reaper-init/reaper-init/internal/version.Commit=$(COMMIT) \
            -buildid=
GOFLAGS_BUILD := -trimpath -buildvcs=false -ldflags '$(LDFLAGS)'

# Release architectures. arm is ARMv7 (GOARM=7, Docker's linux/arm/v7);
# the others are built for each architecture's baseline, named here so
# that a GOAMD64 or the like in the environment does not change them.
DIST_ARCHS := amd64 arm64 arm 386 ppc64le s390x riscv64
DIST_BINS  := $(DIST_ARCHS:%=dist/reaper-init-linux-%)
DIST_ENV_amd64   := GOAMD64=v1
DIST_ENV_arm64   := GOARM64=v8.0
DIST_ENV_arm     := GOARM=7
DIST_ENV_386     := GO386=sse2
DIST_ENV_ppc64le := GOPPC64=power8
DIST_ENV_riscv64 := GORISCV64=rva20u64

.PHONY: all build demo test unit integration long-test lint bench fuzz clean dist image image-test cross FORCE

all: build

build:
	CGO_ENABLED=0 $(GO) build $(GOFLAGS_BUILD) -o $(BIN) ./cmd/reaper-init

# demo: the same orphan-making workload under a plain shell as PID 1 and
# under reaper-init as PID 1, zombie counts read from /proc side by side.
demo: build
	./demo/run.sh $(BIN)

# test: everything CI runs. Vet and gofmt, unit tests with the race
# detector, then the black-box integration suite against the built binary.
test: lint unit integration

lint:
	@out=$$(gofmt -l . ); if [ -n "$$out" ]; then echo "gofmt needed: $$out"; exit 1; fi
	$(GO) vet ./...
	cd integration && $(GO) vet ./...

unit:
	$(GO) test -race -count=1 ./...

integration: build
	cd integration && REAPER_INIT_BIN=$(CURDIR)/$(BIN) $(GO) test -count=1 -timeout 20m ./...

# long-test: the proofs that take minutes, not run by make test: 150 s
# with no PID left in the container's pids cgroup, and the fine sweep of
# SIGTERM at start-up. Their last figures are in docs/.
long-test: build
	cd integration && REAPER_LONG=1 REAPER_INIT_BIN=$(CURDIR)/$(BIN) $(GO) test -count=1 -timeout 30m -v \
		-run 'TestThreadsUnderPIDExhaustion|TestTermAtStartupSweep' ./core/

bench: build
	cd integration && $(GO) run ./bench -init $(CURDIR)/$(BIN)

fuzz:
	$(GO) test -run=^$$ -fuzz=FuzzParse -fuzztime=30s ./internal/cli
	$(GO) test -run=^$$ -fuzz=FuzzParseRewrite -fuzztime=30s ./internal/signals
	$(GO) test -run=^$$ -fuzz=FuzzParseStat -fuzztime=30s ./internal/procfs

# dist: static, stripped release binaries for every architecture in
# DIST_ARCHS, and their checksums in sha256sum's format.
dist: dist/SHA256SUMS

dist/SHA256SUMS: $(DIST_BINS)
	cd dist && sha256sum $(notdir $(DIST_BINS)) > SHA256SUMS.tmp && mv SHA256SUMS.tmp SHA256SUMS

$(DIST_BINS): dist/reaper-init-linux-%: FORCE
	@mkdir -p dist
	CGO_ENABLED=0 GOOS=linux GOARCH=$* $(DIST_ENV_$*) $(GO) build $(GOFLAGS_BUILD) -o $@ ./cmd/reaper-init

# image: reaper-init:VERSION, FROM scratch with /reaper-init and /LICENSE,
# for IMAGE_ARCH (this machine's by default) from the dist binary. Docker's
# legacy builder sets no TARGETARCH, so it is passed here; BuildKit sets it
# itself for each --platform (see build/image/Dockerfile).
IMAGE      ?= reaper-init:$(VERSION)
IMAGE_ARCH ?= $(shell $(GO) env GOARCH)

image: dist/reaper-init-linux-$(IMAGE_ARCH)
	docker build --network none -f build/image/Dockerfile \
		--build-arg TARGETARCH=$(IMAGE_ARCH) --build-arg VERSION=$(VERSION) -t $(IMAGE) .

# image-test: run the image's binary and an image that copies it from the
# image, as the README shows.
image-test: image
	build/image/test.sh $(IMAGE)

# cross: the release binaries on every architecture, through qemu-user
# for the foreign ones (.ci/foreign-arch.sh sets binfmt_misc up): each is
# checked static, stripped and answering --version; the unit tests run as
# arm64, s390x (big-endian), 386 and arm (32-bit: siginfo and struct
# layouts differ) binaries, without -race, which needs cgo when
# cross-compiled; and the core, grace and watch suites run with the
# arm64 binary as PID 1 (the helper program stays native).
CROSS_INIT ?= dist/reaper-init-linux-arm64

cross: dist
	.ci/foreign-arch.sh $(DIST_BINS)
	$(GO) run ./build/distcheck -version $(VERSION) $(DIST_BINS)
	GOARCH=arm64 $(GO) test -count=1 ./...
	GOARCH=s390x $(GO) test -count=1 ./...
	GOARCH=386 $(GO) test -count=1 ./...
	GOARCH=arm GOARM=7 $(GO) test -count=1 ./...
	cd integration && REAPER_INIT_BIN=$(CURDIR)/$(CROSS_INIT) $(GO) test -count=1 -timeout 20m ./core/... ./grace/... ./watch/...

clean:
	rm -rf bin dist
