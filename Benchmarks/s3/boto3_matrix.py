#!/usr/bin/env python3
"""Issue 14's figures with boto3 as the client, the way the issue measured
its baseline: 16 × 64 MiB PUT then GET, one stream and 4 streams; 2000 ×
4 KiB PUT, GET and DELETE with 8 threads; a fresh cluster (release build)
of 1 node or of 6 nodes in 3 zones, 4+2, on loopback. Server CPU per 4 KiB
PUT is all nodes' user + system time over that phase divided by its PUTs.

  python3 Benchmarks/s3/boto3_matrix.py --nodes 1
  python3 Benchmarks/s3/boto3_matrix.py --nodes 6

These are the numbers a Python user sees: boto3 hashes every body
(SHA-256 for the signature, MD5 or CRC for the checksum) in the same
process that sends it, so on this machine the client, not the server,
bounds the large-object figures. `shale bench s3` (bench_matrix.py) is the
server's measure.
"""
from __future__ import annotations

import argparse
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench_matrix import cpu_seconds  # noqa: E402  (sets SHALE_BIN to the release build)
from s3_bench import peak_rss_mib  # noqa: E402
from s3_clients import boto, provision  # noqa: E402
from shale_cluster import bench_cluster  # noqa: E402

MiB = 1 << 20


def timed(pool_size: int, count: int, job) -> float:
    start = time.monotonic()
    if pool_size == 1:
        for i in range(count):
            job(i)
    else:
        with ThreadPoolExecutor(pool_size) as pool:
            list(pool.map(job, range(count)))
    return time.monotonic() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, choices=(1, 6), default=1)
    parser.add_argument("--large-count", type=int, default=16)
    parser.add_argument("--small-count", type=int, default=2000)
    args = parser.parse_args()
    with bench_cluster("shale-boto3-matrix-", [f"127.0.93.{i}" for i in range(1, args.nodes + 1)], log_level="warning") as (root, nodes):
        zones = ["dc1", "dc1", "dc2", "dc2", "dc3", "dc3"][:args.nodes]
        key = provision(nodes, zones, "boto3matrix", "bench", code="4+2", capacity="100G")
        client = boto(nodes[0], key)
        large = os.urandom(64 * MiB)
        small = os.urandom(4096)

        def report(load: str, seconds: float, count: int, size: int, **extra) -> None:
            print(json.dumps({"load": load, "nodes": args.nodes, "seconds": round(seconds, 2),
                              "mib_per_s": round(count * size / MiB / seconds, 1),
                              "ops_per_s": round(count / seconds, 1),
                              "peak_rss_mib_so_far": round(max(peak_rss_mib(n) for n in nodes), 1), **extra}), flush=True)

        for streams in (1, 4):
            seconds = timed(streams, args.large_count, lambda i: client.put_object(Bucket="boto3matrix", Key=f"large/{i}", Body=large))
            report(f"PUT 64 MiB, {streams} stream(s)", seconds, args.large_count, len(large))
            seconds = timed(streams, args.large_count,
                            lambda i: client.get_object(Bucket="boto3matrix", Key=f"large/{i}")["Body"].read())
            report(f"GET 64 MiB, {streams} stream(s)", seconds, args.large_count, len(large))
        del large

        before = sum(cpu_seconds(n) for n in nodes)
        seconds = timed(8, args.small_count, lambda i: client.put_object(Bucket="boto3matrix", Key=f"small/{i}", Body=small))
        cpu = sum(cpu_seconds(n) for n in nodes) - before
        report("PUT 4 KiB, 8 threads", seconds, args.small_count, len(small),
               server_cpu_ms_per_request=round(cpu * 1000 / args.small_count, 2))
        seconds = timed(8, args.small_count, lambda i: client.get_object(Bucket="boto3matrix", Key=f"small/{i}")["Body"].read())
        report("GET 4 KiB, 8 threads", seconds, args.small_count, len(small))
        seconds = timed(8, args.small_count, lambda i: client.delete_object(Bucket="boto3matrix", Key=f"small/{i}"))
        report("DELETE 4 KiB, 8 threads", seconds, args.small_count, len(small))
        print(json.dumps({"nodes": args.nodes, "peak_rss_mib_per_node": [round(peak_rss_mib(n), 1) for n in nodes]}))


if __name__ == "__main__":
    main()
