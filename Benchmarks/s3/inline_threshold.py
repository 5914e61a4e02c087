#!/usr/bin/env python3
"""Chooses `inline_max_bytes` by measurement: on a fresh 6-node / 3-zone /
4+2 cluster (release build) with inlining off and with it on up to 128 KiB,
`shale bench s3` PUTs then GETs objects of 4, 16, 64 and 128 KiB, 32 in
flight; prints ops/s and the servers' CPU per request for each.

  python3 Benchmarks/s3/inline_threshold.py --seconds 8
"""
from __future__ import annotations

import argparse
import json
import subprocess

from bench_matrix import cpu_seconds  # noqa: E402
from s3_clients import provision  # noqa: E402
from shale_cluster import SHALE, bench_cluster  # noqa: E402

SIZES = ["4KiB", "16KiB", "64KiB", "128KiB"]


def run(limit: int, seconds: int) -> None:
    with bench_cluster("shale-inline-", [f"127.0.94.{i}" for i in range(1, 7)], log_level="warning", extra=f"inline_max_bytes = {limit}") as (root, nodes):
        key = provision(nodes, ["dc1", "dc1", "dc2", "dc2", "dc3", "dc3"], "inline", "bench", code="4+2", capacity="100G",
                        permissions=("--read", "--write", "--owner"))
        for size in SIZES:
            for op in (["--put"], ["--get", "--prefill", "128"]):
                before = sum(cpu_seconds(n) for n in nodes)
                result = subprocess.run([SHALE, "bench", "s3", "--endpoint", f"http://{nodes[0].ip}:3900", "--access-key", key[0],
                                         "--secret-key", key[1], "--duration", f"{seconds}s", "--json", "--size", size,
                                         "--concurrency", "32", *op], capture_output=True, text=True, timeout=seconds * 10 + 300)
                if result.returncode != 0:
                    print(json.dumps({"inline_max_bytes": limit, "size": size, "op": op[0], "failed": result.stderr[-300:]}))
                    continue
                stats = json.loads(result.stdout)["operations"][0]
                cpu = sum(cpu_seconds(n) for n in nodes) - before
                print(json.dumps({"inline_max_bytes": limit, "size": size, "op": op[0][2:], "ops_per_s": round(stats["opsPerSecond"], 1),
                                  "p50_ms": round(stats["latency"]["p50Millis"], 2),
                                  "server_cpu_ms_per_request": round(cpu * 1000 / max(stats["requests"], 1), 2)}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=8)
    args = parser.parse_args()
    for limit in (0, 131072):
        run(limit, args.seconds)


if __name__ == "__main__":
    main()
