#!/usr/bin/env python3
"""RPC calls per request under one `shale bench s3` load: a fresh six-node
cluster (release build, 3 zones, 4+2), the nodes' `shale_rpc_requests_total`
summed by method before and after the load, divided by the requests the
bench finished. The counts include the bench's prefill and clean-up, which
for a load of many requests over few objects are a small share.

  python3 Benchmarks/s3/rpc_counts.py -- --get --size 1GiB --range 64KiB --concurrency 1 --prefill 1
"""
from __future__ import annotations

import argparse
import collections
import json
import re
import subprocess

from s3_bench import peak_rss_mib  # noqa: E402,F401  (sets SHALE_BIN to the release build)
from s3_clients import provision  # noqa: E402
from shale_cluster import SHALE, bench_cluster  # noqa: E402

COUNTER = re.compile(r'^shale_rpc_requests_total\{[^}]*method="([^"]+)"[^}]*\} (\d+)', re.M)


def rpc_counts(nodes) -> collections.Counter:
    counts: collections.Counter = collections.Counter()
    for node in nodes:
        for method, value in COUNTER.findall(node.api("GET", "/metrics")):
            counts[method] += int(value)
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("load", nargs=argparse.REMAINDER, help="after --: the bench s3 load flags")
    args = parser.parse_args()
    load = [a for a in args.load if a != "--"]
    with bench_cluster("shale-rpc-counts-", [f"127.0.96.{i}" for i in range(1, 7)], log_level="warning") as (root, nodes):
        key = provision(nodes, ["dc1", "dc1", "dc2", "dc2", "dc3", "dc3"], "rpccounts", "bench", code="4+2", capacity="100G",
                        permissions=("--read", "--write", "--owner"))
        before = rpc_counts(nodes)
        bench = subprocess.run([SHALE, "bench", "s3", "--endpoint", f"http://{nodes[0].ip}:3900", "--access-key", key[0],
                                "--secret-key", key[1], "--duration", f"{args.seconds}s", "--json", *load],
                               capture_output=True, text=True, check=True)
        after = rpc_counts(nodes)
        requests = sum(op["requests"] for op in json.loads(bench.stdout)["operations"])
        calls = {method: after[method] - before.get(method, 0) for method in sorted(after)}
        print(json.dumps({"requests": requests,
                          "calls_per_request": {m: round(n / requests, 2) for m, n in calls.items() if n and m != "ping"}}))


if __name__ == "__main__":
    main()
