#!/usr/bin/env python3
"""Versioning at scale (issue 15): one key with 100,000 versions on a fresh
release-build node (or 6 nodes in 3 zones, 4+2), through boto3.

  python3 Benchmarks/s3/versions_bench.py [--versions 100000] [--nodes 1]

Measures, in order: PUT of the versions (8 threads, 1-byte bodies, so the
figure is the metadata path's); GET and HEAD latency of the key's latest
(the head lookup reads the null row and the first live version row, not
the versions); ListObjectVersions of every version in pages of 1000 with
the node's RSS before and after (a key's versions are paged from the
tables, never gathered); ListObjectsV2 of the bucket; DeleteObjects of
every version by id in requests of 1000; and then GET of the emptied key
(404 after one index seek per replica, however many versions were
deleted). One JSON line per phase.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

from bench_matrix import cpu_seconds  # noqa: E402  (sets SHALE_BIN to the release build)
from botocore.exceptions import ClientError
from s3_bench import peak_rss_mib  # noqa: E402
from s3_clients import boto, provision  # noqa: E402
from shale_cluster import bench_cluster  # noqa: E402

BUCKET = "versions"
KEY = "one/key"


def rss_mib(node) -> float:
    for line in open(f"/proc/{node.proc.pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def latencies(count: int, call) -> dict:
    times = []
    for _ in range(count):
        start = time.monotonic()
        call()
        times.append((time.monotonic() - start) * 1000)
    times.sort()
    return {"p50_ms": round(statistics.median(times), 2), "p99_ms": round(times[int(len(times) * 0.99) - 1], 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--versions", type=int, default=100_000)
    parser.add_argument("--nodes", type=int, choices=(1, 6), default=1)
    args = parser.parse_args()
    with bench_cluster("shale-versions-", [f"127.0.94.{i}" for i in range(1, args.nodes + 1)], log_level="warning") as (root, nodes):
        zones = ["dc1", "dc1", "dc2", "dc2", "dc3", "dc3"][:args.nodes]
        key = provision(nodes, zones, BUCKET, "bench", code="4+2", capacity="100G", permissions=("--read", "--write", "--owner"))
        client = boto(nodes[0], key)
        client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        client.put_object(Bucket=BUCKET, Key="other", Body=b"o")

        def report(phase: str, **figures) -> None:
            print(json.dumps({"phase": phase, "nodes": args.nodes, "versions": args.versions, **figures}), flush=True)

        before = sum(cpu_seconds(n) for n in nodes)
        start = time.monotonic()
        with ThreadPoolExecutor(8) as pool:
            ids = list(pool.map(lambda i: client.put_object(Bucket=BUCKET, Key=KEY, Body=b"x")["VersionId"], range(args.versions)))
        seconds = time.monotonic() - start
        cpu = sum(cpu_seconds(n) for n in nodes) - before
        report("PUT versions, 8 threads", seconds=round(seconds, 1), ops_per_s=round(args.versions / seconds, 1),
               server_cpu_ms_per_put=round(cpu * 1000 / args.versions, 2))
        report("GET latest", **latencies(200, lambda: client.get_object(Bucket=BUCKET, Key=KEY)["Body"].read()))
        report("HEAD latest", **latencies(200, lambda: client.head_object(Bucket=BUCKET, Key=KEY)))

        rss_before = rss_mib(nodes[0])
        start = time.monotonic()
        listed = pages = 0
        for page in client.get_paginator("list_object_versions").paginate(Bucket=BUCKET, Prefix="one/", PaginationConfig={"PageSize": 1000}):
            listed += len(page.get("Versions", []))
            pages += 1
        seconds = time.monotonic() - start
        assert listed == args.versions, listed
        report("ListObjectVersions, pages of 1000", seconds=round(seconds, 2), pages=pages, versions_per_s=round(listed / seconds),
               rss_mib_before=round(rss_before, 1), rss_mib_after=round(rss_mib(nodes[0]), 1))
        report("ListObjectsV2 of the bucket",
               **latencies(20, lambda: client.list_objects_v2(Bucket=BUCKET)))

        start = time.monotonic()
        for first in range(0, len(ids), 1000):
            answer = client.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": KEY, "VersionId": v} for v in ids[first:first + 1000]],
                                                                  "Quiet": True})
            assert not answer.get("Errors"), answer["Errors"][:3]
        seconds = time.monotonic() - start
        report("DeleteObjects by version id, 1000 per request", seconds=round(seconds, 1), versions_per_s=round(len(ids) / seconds))

        def missing() -> None:
            try:
                client.head_object(Bucket=BUCKET, Key=KEY)
            except ClientError as error:
                assert error.response["Error"]["Code"] in ("404", "NoSuchKey"), error.response
            else:
                raise AssertionError("the emptied key still answers")
        report("HEAD of the emptied key (404)", **latencies(100, missing))
        report("peak RSS", peak_rss_mib_per_node=[round(peak_rss_mib(n), 1) for n in nodes])


if __name__ == "__main__":
    main()
