#!/usr/bin/env python3
"""Issue 14's figures with `shale bench s3` as the client: a fresh cluster
(release build) of 1 node and of 6 nodes in 3 zones, 4+2, on loopback;
each load for `--seconds`; the server's CPU time per request over the
measured phase (bench_cpu.py) and peak RSS per node. Before each load it
waits for the previous one's writes to reach the disk and the nodes to go
idle (`settle`; the wait is printed as settled_s).

  python3 Benchmarks/s3/bench_matrix.py --nodes 1 --seconds 10
  python3 Benchmarks/s3/bench_matrix.py --nodes 6 --seconds 10
  python3 Benchmarks/s3/bench_matrix.py --nodes 6 --seconds 10 --fresh   (a fresh cluster per load)
  python3 Benchmarks/s3/bench_matrix.py --nodes 6 --fresh --only "GET 64 MiB"   (one load, for an A/B)
"""
from __future__ import annotations

import argparse
import json
import os
import time

from s3_bench import peak_rss_mib  # noqa: E402  (sets SHALE_BIN to the release build)
from s3_clients import provision  # noqa: E402
from shale_cluster import SHALE, bench_cluster  # noqa: E402
from bench_cpu import cpu_seconds as process_cpu_seconds, run_bench  # noqa: E402

LOADS = [
    ("PUT 64 MiB, 1 stream", ["--put", "--size", "64MiB", "--concurrency", "1"]),
    ("PUT 64 MiB, 4 streams", ["--put", "--size", "64MiB", "--concurrency", "4"]),
    ("GET 64 MiB, 1 stream", ["--get", "--size", "64MiB", "--concurrency", "1", "--prefill", "4"]),
    ("PUT 4 KiB, 32 in flight", ["--put", "--size", "4KiB", "--concurrency", "32"]),
    ("GET 4 KiB, 32 in flight", ["--get", "--size", "4KiB", "--concurrency", "32", "--prefill", "256"]),
    ("GET 64 KiB range of 1 GiB", ["--get", "--size", "1GiB", "--range", "64KiB", "--concurrency", "1", "--prefill", "1"]),
]


def cpu_seconds(node) -> float:
    """A node's user + system CPU time so far (boto3_matrix.py, inline_threshold.py and versions_bench.py use it)."""
    return process_cpu_seconds(node.proc.pid)


def dirty_mib() -> float:
    """The page cache's data not yet on the disk (Dirty + Writeback in /proc/meminfo), MiB."""
    fields = dict(line.split(":", 1) for line in open("/proc/meminfo"))
    return sum(int(fields[name].split()[0]) for name in ("Dirty", "Writeback")) / 1024


def settle(nodes, limit_s: float = 90) -> float:
    """Waits until the previous load's writes are on the disk and the nodes
    are idle (under 5% of a core for half a second), at most `limit_s`;
    returns the seconds waited. A 64 MiB load leaves dirty pages behind and
    the bench's clean-up deletes what it wrote; waiting makes each load's
    figure its own, not partly the previous load's writeback or deletions
    (the waits were 0.5–3.5 s on this machine)."""
    start = time.monotonic()
    os.sync()
    while time.monotonic() - start < limit_s:
        before = sum(cpu_seconds(n) for n in nodes)
        time.sleep(0.5)
        if dirty_mib() < 32 and sum(cpu_seconds(n) for n in nodes) - before < 0.025:
            break
    return round(time.monotonic() - start, 1)


def run_loads(nodes, key, loads, seconds: int, nodes_count: int, rss_per_load: bool) -> None:
    for name, load in loads:
        settled = settle(nodes)
        report, cpu, client, stderr = run_bench([SHALE, "bench", "s3", "--endpoint", f"http://{nodes[0].ip}:3900", "--access-key", key[0],
                                         "--secret-key", key[1], "--duration", f"{seconds}s", "--json", *load],
                                        [n.proc.pid for n in nodes], timeout=seconds * 10 + 600)
        if report is None:
            print(json.dumps({"load": name, "nodes": nodes_count, "failed": stderr[-500:]}))
            continue
        op = report["operations"][0]
        line = {
            "load": name, "nodes": nodes_count, "requests": op["requests"], "errors": op["errors"],
            "mib_per_s": round(op["mibPerSecond"], 1), "ops_per_s": round(op["opsPerSecond"], 1),
            "p50_ms": round(op["latency"]["p50Millis"], 2), "p99_ms": round(op["latency"]["p99Millis"], 2),
            # Over the measured phase only (bench_cpu.py): not the prefill, not the bench's clean-up.
            "server_cpu_ms_per_request": None if cpu is None else round(cpu, 2),
            "client_cpu_ms_per_request": None if client is None else round(client, 2),
            "settled_s": settled,
        }
        if rss_per_load:
            line["peak_rss_mib_per_node"] = [round(peak_rss_mib(n), 1) for n in nodes]
        print(json.dumps(line), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, choices=(1, 6), default=1)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--fresh", action="store_true",
                        help="a fresh cluster for each load, its peak RSS per node reported with the load (the issue's "
                             "'under any of these loads'); without it one cluster takes every load in turn")
    parser.add_argument("--only", metavar="TEXT", help="only the loads whose name contains TEXT (e.g. 'GET 64 MiB')")
    args = parser.parse_args()
    loads_chosen = [load for load in LOADS if args.only is None or args.only in load[0]]
    if not loads_chosen:
        parser.error(f"no load's name contains {args.only!r}: " + ", ".join(name for name, _ in LOADS))
    ips = [f"127.0.92.{i}" for i in range(1, args.nodes + 1)]
    zones = ["dc1", "dc1", "dc2", "dc2", "dc3", "dc3"][:args.nodes]
    for loads in ([[load] for load in loads_chosen] if args.fresh else [loads_chosen]):
        with bench_cluster("shale-bench-matrix-", ips, log_level="warning") as (root, nodes):
            key = provision(nodes, zones, "matrix", "bench", code="4+2", capacity="100G", permissions=("--read", "--write", "--owner"))
            run_loads(nodes, key, loads, args.seconds, args.nodes, rss_per_load=args.fresh)
            if not args.fresh:
                print(json.dumps({"nodes": args.nodes, "peak_rss_mib_per_node": [round(peak_rss_mib(n), 1) for n in nodes]}))


if __name__ == "__main__":
    main()
