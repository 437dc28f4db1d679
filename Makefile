# dialroom build and test entry points. `make help` lists the targets.
#
# The Go build and module caches are never cleaned here: CI and developers
# keep them warm between runs.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := build

GO ?= go

# Flags for every go command. -mod=readonly is already the default; it is
# spelled out so that a go.mod that needs changes fails the run instead of
# being rewritten. GOFLAGS from the environment or `go env -w` are kept, and
# a -mod given there wins.
user_goflags := $(shell $(GO) env GOFLAGS 2>/dev/null)
export GOFLAGS := $(strip $(user_goflags) $(if $(filter -mod=%,$(user_goflags)),,-mod=readonly))

BIN := bin/dialroom

# `go test` limit for the whole suite; e2e tests start real peers (Chromium,
# later Kamailio, baresip, SIPp), so this is generous. CI must stay well under
# 45 minutes on 2 cores.
TEST_TIMEOUT ?= 20m
TEST_FLAGS ?= -race -count=1 -timeout $(TEST_TIMEOUT)
TEST_PKGS ?= ./...

# Short fuzz runs in `make test`: package:FuzzName pairs.
FUZZ_TARGETS ?= ./dialplan:FuzzLoad ./dialplan:FuzzPattern ./configs:FuzzLoad ./media:FuzzRTPPacket ./media:FuzzDTMFReceive ./media:FuzzReadWAV ./media:FuzzJitterBuffer ./sip:FuzzParseOffer ./sip:FuzzInDialogInputs ./materials:FuzzSniff ./webclient:FuzzCardFromJSON ./webclient:FuzzMaterialMessage
FUZZ_TIME ?= 10s

BENCH_COUNT ?= 5
BENCH_PKGS ?= ./...
BENCH_DIR ?= .bench
BENCH_STAMP := $(shell date +%Y%m%d-%H%M%S)
BENCH_OUT ?= $(BENCH_DIR)/bench-$(BENCH_STAMP).txt

# staticcheck 2026.2.x (module v0.8.x) supports Go 1.26.
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
GOVULNCHECK ?= golang.org/x/vuln/cmd/govulncheck@v1.9.0

# Go files that gofmt must accept: everything but testdata (fixtures may be
# malformed on purpose) and vendored code.
GO_FILES = $(shell find . -name '*.go' -not -path './.git/*' -not -path '*/testdata/*' -not -path './vendor/*')

.PHONY: help deps deps-run build run test fmt-check vet gotest fuzz bench lint staticcheck vuln clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 14

deps: ## install missing Debian packages (build and test peers), check Go
	bash scripts/deps.sh test

deps-run: ## install missing Debian packages needed to build and serve, check Go
	bash scripts/deps.sh run

build: deps-run ## build bin/dialroom
	$(GO) build -trimpath -o $(BIN) ./cmd/dialroom

run: build ## build, then serve on http://127.0.0.1:8080 with data under ./data
	./$(BIN) serve

test: deps ## gofmt, vet, race tests, short fuzz runs
	@$(MAKE) --no-print-directory fmt-check vet gotest fuzz

fmt-check: ## fail listing files that gofmt would change
	@files=$$(gofmt -l $(GO_FILES)); \
	if [[ -n $$files ]]; then echo "gofmt needed on:"; echo "$$files"; exit 1; fi; \
	echo "gofmt: ok"

vet: ## go vet
	$(GO) vet ./...

gotest: ## go test -race over TEST_PKGS
	$(GO) test $(TEST_FLAGS) $(TEST_PKGS)

fuzz: ## run each of FUZZ_TARGETS for FUZZ_TIME
	bash scripts/fuzz.sh $(FUZZ_TIME) $(FUZZ_TARGETS)

bench: build ## Go benchmarks, then the SFU and phone load tools; results into .bench/ (see docs/benchmarks.md)
	@mkdir -p $(BENCH_DIR)
	$(GO) test -run '^$$' -bench . -benchmem -count $(BENCH_COUNT) $(BENCH_PKGS) | tee $(BENCH_OUT)
	@echo "bench: wrote $(BENCH_OUT)"
	BENCH_DIR=$(BENCH_DIR) bash scripts/bench-sfu.sh
	BENCH_DIR=$(BENCH_DIR) bash scripts/bench-phone.sh
	bin/dialroom-load --spawn --build=false --pointer-members 10 --duration 20s --markdown | tee $(BENCH_DIR)/pointer.txt

lint: fmt-check vet staticcheck vuln ## gofmt, go vet, staticcheck, govulncheck

staticcheck: ## staticcheck (skipped with a message if it cannot be fetched)
	@if $(GO) run $(STATICCHECK) -version >/dev/null 2>&1; then \
		echo "$(GO) run $(STATICCHECK) ./..."; \
		$(GO) run $(STATICCHECK) ./...; \
	else \
		echo "staticcheck: $(STATICCHECK) does not install here; skipped"; \
	fi

vuln: ## govulncheck (skipped with a message without the tool or its database)
	@if ! $(GO) run $(GOVULNCHECK) -version >/dev/null 2>&1; then \
		echo "govulncheck: $(GOVULNCHECK) does not install here; skipped"; exit 0; \
	fi; \
	echo "$(GO) run $(GOVULNCHECK) ./..."; \
	rc=0; out=$$($(GO) run $(GOVULNCHECK) ./... 2>&1) || rc=$$?; \
	echo "$$out"; \
	if ((rc != 0)) && grep -q 'fetching vulnerabilities' <<<"$$out"; then \
		echo "govulncheck: vulnerability database (vuln.go.dev) unreachable; skipped"; exit 0; \
	fi; \
	exit $$rc

clean: ## remove build outputs (keeps the Go caches and .bench results)
	rm -rf bin
