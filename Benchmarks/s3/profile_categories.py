#!/usr/bin/env python3
"""Shares of a node's CPU samples (a `perf record -g` file from
profile_load.py) whose stack passes through each part of the server; a
sample can count in several parts (e.g. JSON encoding under an RPC call).

  python3 Benchmarks/s3/profile_categories.py /tmp/shale-profile/node0.data
"""
import re
import subprocess
import sys

PARTS = [
    ("S3 request signature (SigV4)", r"SigV4"),
    ("RPC client (AsyncHTTPClient)", r"AsyncHTTPClient"),
    ("HTTP/2 stream set-up", r"createStreamChannel|HTTP2StreamMultiplexer.*create"),
    ("TLS (NIOSSL, BoringSSL)", r"NIOSSL|BoringSSL"),
    ("JSON encoding", r"JSONEncoder"),
    ("JSON decoding", r"JSONDecoder"),
    ("SQLite (GRDB)", r"GRDB|sqlite3"),
    ("erasure coding (ISA-L)", r"ec_encode|gf_.*vect|ISAL"),
    ("kernel", r"\[kernel\.kallsyms\]"),
]


def main() -> None:
    for path in sys.argv[1:]:
        script = subprocess.run(["perf", "script", "-i", path], capture_output=True, text=True).stdout
        samples = [s for s in script.split("\n\n") if s.strip()]
        print(f"{path}: {len(samples)} samples")
        for name, pattern in PARTS:
            rx = re.compile(pattern)
            share = sum(1 for s in samples if rx.search(s)) / max(len(samples), 1)
            print(f"  {name:34s} {100 * share:5.1f}%")


if __name__ == "__main__":
    main()
