# reaper-init build, demo, tests and benchmark.
#
# The binary is static (no cgo) and stripped. The -X flag sets the Go
# runtime's built-in GODEBUG default so that the runtime never sends itself
# SIGURG for goroutine preemption (see internal/signals/doc.go): a PID 1
# must not forward a signal nobody sent. It is a link-time default, not an
# environment variable, so the child's environment stays untouched.
GO       ?= go
BIN      ?= bin/reaper-init
RUNTIME_GODEBUG := asyncpreemptoff=1
LDFLAGS  := -s -w -X=runtime.godebugDefault=$(RUNTIME_GODEBUG) \
            -X=github.com/reaper-init/reaper-init/internal/signals.LinkedGODEBUG=$(RUNTIME_GODEBUG)
GOFLAGS_BUILD := -trimpath -buildvcs=false -ldflags '$(LDFLAGS)'

.PHONY: all build demo test unit integration lint bench fuzz clean

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

# The reaper_ossignal tag builds the os/signal fallback that architectures
# other than amd64 use, so that it is tested here too.
unit:
	$(GO) test -race -count=1 ./...
	$(GO) test -race -count=1 -tags reaper_ossignal ./internal/signals

integration: build
	cd integration && REAPER_INIT_BIN=$(CURDIR)/$(BIN) $(GO) test -count=1 -timeout 20m ./...

bench: build
	cd integration && $(GO) run ./bench -init $(CURDIR)/$(BIN)

fuzz:
	$(GO) test -run=^$$ -fuzz=FuzzParse -fuzztime=30s ./internal/cli
	$(GO) test -run=^$$ -fuzz=FuzzParseRewrite -fuzztime=30s ./internal/signals
	$(GO) test -run=^$$ -fuzz=FuzzParseStat -fuzztime=30s ./internal/procfs

clean:
	rm -rf bin
