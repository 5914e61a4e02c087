# Shale — build, test and run. Every target installs what is missing first.
SHELL := /bin/bash
RELEASE_DIR := .build-release
SHALE := $(RELEASE_DIR)/release/shale

.PHONY: deps build release test test-faults fuzz run bench bench-suite bench-s3 bench-rebuild clean

deps:
	@scripts/install-deps.sh

build: deps
	swift build

release: deps
	swift build -c release --scratch-path $(RELEASE_DIR)

# Unit tests in both package configurations (with ISA-L and the pure-Swift
# build without the ISAL trait), then the integration tests with real nodes.
test: deps
	@scripts/test.sh

# The fault campaign at full length (Tests/integration/test_faults.py; `make
# test` runs it short): real clusters under checksummed load with nodes
# killed, a zone out, a node replaced, bit rot, leftovers, a zone added, a
# skewed clock and a full disk. Writes the figures Docs/reliability.md quotes.
test-faults: build
	@mkdir -p Docs/bench-runs && rm -f Docs/bench-runs/faults.jsonl
	SHALE_FAULTS=full SHALE_FAULT_REPORT="$$PWD/Docs/bench-runs/faults.jsonl" SHALE_BIN="$$PWD/.build/debug/shale" \
		python3 -m pytest Tests/integration/test_faults.py -q -p no:cacheprovider
	python3 scripts/fault-report.py Docs/bench-runs/faults.jsonl

# The parsers' seeded fuzz runs (chunk framing, trailers, XML bodies,
# presigned queries, ranges, copy sources, conditional headers), longer than
# the 2000 mutations each gets in `make test`. SHALE_FUZZ_ITERATIONS and
# SHALE_FUZZ_SEED choose; a crash found becomes a regression test.
fuzz: deps
	swift build --build-tests
	SHALE_FUZZ_ITERATIONS=$${SHALE_FUZZ_ITERATIONS:-200000} SHALE_FUZZ_SEED=$${SHALE_FUZZ_SEED:-$$RANDOM} \
		swift test --skip-build --filter "ParserFuzzTests|AWSChunkedTests"

# A ready single-node cluster on 127.0.0.1 (state in ./shale-dev, kept
# across restarts); prints the endpoint and credentials. Ctrl-C stops it.
run: release
	$(SHALE) server --dev --data shale-dev

# The user-facing benchmark, then the developers' suite (ordo-one/benchmark,
# with the direct-C ISA-L baseline and malloc counts).
bench: release
	$(SHALE) bench erasure
	cd Benchmarks && swift package benchmark

bench-suite: deps
	cd Benchmarks && swift package benchmark

# The S3 data path on real nodes (release build): issue 14's loads with
# `shale bench s3` as the client (1 node and 6), then the Python harness:
# throughput of 64 MiB objects on one node and on six, peak RSS for a 4 GiB
# object, and a 1 GiB multipart upload (64 MiB parts, 4 in flight) against
# a single PUT. inline_threshold.py measures small objects inline and in
# shards (the choice of inline_max_bytes).
bench-s3: release
	cd Benchmarks/s3 && python3 bench_matrix.py --nodes 1 --seconds 10
	cd Benchmarks/s3 && python3 bench_matrix.py --nodes 6 --seconds 10
	cd Benchmarks/s3 && python3 inline_threshold.py --seconds 6
	python3 Benchmarks/s3/s3_bench.py throughput --nodes 1 --size-mib 64 --rounds 8
	python3 Benchmarks/s3/s3_bench.py throughput --nodes 6 --size-mib 64 --rounds 8
	python3 Benchmarks/s3/s3_bench.py memory --nodes 1 --size-mib 4096
	python3 Benchmarks/s3/s3_bench.py memory --nodes 6 --size-mib 4096
	python3 Benchmarks/s3/s3_bench.py multipart --nodes 1 --size-mib 1024 --part-mib 64 --in-flight 4 --rounds 3
	python3 Benchmarks/s3/s3_bench.py multipart --nodes 6 --size-mib 1024 --part-mib 64 --in-flight 4 --rounds 3

# Rebuild throughput after a node is replaced (6 nodes, 4+2, 4 GiB of
# objects), rate unlimited and no other load, then a client's PUT/GET during a rebuild at the
# default rate against idle.
bench-rebuild: release
	cd Benchmarks/s3 && python3 rebuild_bench.py --objects 64 --size-mib 64 --rate 100000 --no-client
	cd Benchmarks/s3 && python3 rebuild_bench.py --objects 64 --size-mib 64

clean:
	rm -rf .build .build-release .build-noisal Benchmarks/.build
