# socktui's build, demo, tests and benchmarks. `make help` lists the targets.
GO ?= go
BIN := bin

.PHONY: help build demo test bench deps modern-stack clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 14

build: ## build bin/socktui, a static binary; the demo's echo workload is its echo-server subcommand
	CGO_ENABLED=0 $(GO) build -o $(BIN)/socktui ./cmd/socktui

demo: deps build ## run socktui on the bundled echo workload
	$(BIN)/socktui demo

test: ## gofmt, go vet and every test with the race detector
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 45m ./...

bench: build ## every benchmark, side by side with its floor or peer: one table, also in bench/results.md
	$(GO) run ./bench/benchreport

deps: ## install the Debian packages the demo and tests need (as root)
	./scripts/install-deps.sh

modern-stack: ## set up Debian 13's systemd 257 and Podman 5.4 for the tests (as root; about a minute once)
	./scripts/modern-stack.sh

clean: ## remove built binaries
	rm -rf $(BIN)
