#!/usr/bin/env python3
"""Server CPU of a GET, object by object: a fresh six-node cluster (release
build, 4+2 in three zones), `--objects` objects of 64 MiB written through
the first node, then each one read `--reads` times through that node with
boto3; for each object, the median of all nodes' CPU time around its
GETs, read from every thread's /proc/<pid>/task/*/schedstat (nanoseconds,
not the 10 ms ticks of /proc/<pid>/stat). Which node holds which shard
differs from object to object, so the sorted list shows whether some
placements cost more than others (before 2026-12-03: an object whose data
shards were all on peers, one in three, cost ~20 ms more).

  python3 Benchmarks/s3/get_cpu_per_object.py [--objects 12] [--reads 5]
"""
from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import s3_bench  # noqa: F401,E402  (sets SHALE_BIN to the release build)
from s3_clients import boto, provision  # noqa: E402
from shale_cluster import bench_cluster  # noqa: E402


def cpu_seconds(pid: int) -> float:
    """All of a process's threads' time on a CPU so far, in seconds."""
    total = 0
    for path in Path(f"/proc/{pid}/task").glob("*/schedstat"):
        try:
            total += int(path.read_text().split()[0])
        except OSError:
            pass  # a thread that ended between the listing and the read
    return total / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--objects", type=int, default=12)
    parser.add_argument("--reads", type=int, default=5)
    args = parser.parse_args()
    ips = [f"127.0.97.{i}" for i in range(1, 7)]
    with bench_cluster("shale-cpu-per-object-", ips, log_level="warning") as (root, nodes):
        key = provision(nodes, ["dc1", "dc1", "dc2", "dc2", "dc3", "dc3"], "perobject", "bench", code="4+2",
                        capacity="100G", permissions=("--read", "--write", "--owner"))
        s3 = boto(nodes[0], key)
        body = os.urandom(64 << 20)
        for index in range(args.objects):
            s3.put_object(Bucket="perobject", Key=f"o{index}", Body=body)
        time.sleep(3)  # the writes' last syncs and the nodes idle again
        pids = [node.proc.pid for node in nodes]
        per_object = []
        for index in range(args.objects):
            costs = []
            for _ in range(args.reads):
                before = sum(cpu_seconds(pid) for pid in pids)
                received = sum(len(chunk) for chunk in s3.get_object(Bucket="perobject", Key=f"o{index}")["Body"].iter_chunks(1 << 20))
                assert received == len(body), f"o{index}: {received} bytes"
                costs.append((sum(cpu_seconds(pid) for pid in pids) - before) * 1000)
            per_object.append(statistics.median(costs))
        print("per-object server CPU (ms), sorted:", ", ".join(f"{cost:.1f}" for cost in sorted(per_object)))
        print(f"mean {statistics.mean(per_object):.1f} ms")


if __name__ == "__main__":
    main()
