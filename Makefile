# Shale — build, test and run. Every target installs what is missing first.
SHELL := /bin/bash
RELEASE_DIR := .build-release
SHALE := $(RELEASE_DIR)/release/shale

.PHONY: deps build release test run bench bench-suite clean

deps:
	@scripts/install-deps.sh

build: deps
	swift build

release: deps
	swift build -c release --scratch-path $(RELEASE_DIR)

# Unit and integration tests, in both package configurations (with ISA-L and
# the pure-Swift build without the ISAL trait).
test: deps
	@scripts/test.sh

# Until the server exists, `make run` measures this machine's erasure codes.
run: release
	$(SHALE) bench erasure

# The user-facing benchmark, then the developers' suite (ordo-one/benchmark,
# with the direct-C ISA-L baseline and malloc counts).
bench: release
	$(SHALE) bench erasure
	cd Benchmarks && swift package benchmark

bench-suite: deps
	cd Benchmarks && swift package benchmark

clean:
	rm -rf .build .build-release .build-noisal Benchmarks/.build
