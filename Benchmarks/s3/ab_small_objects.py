#!/usr/bin/env python3
"""A/B of two builds on small objects: a fresh one-node cluster (4+2) per
build, `shale bench s3` PUT then GET of 4 KiB with 32 in flight, 12 s each.

  python3 Benchmarks/s3/ab_small_objects.py /path/to/shale-before
  python3 Benchmarks/s3/ab_small_objects.py /path/to/shale-after

Run the two alternately, several times: this machine's speed drifts more
between sittings than most changes move these figures.
"""
import json, os, subprocess, sys
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parent)); sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "Tests" / "integration"))
binary = sys.argv[1]
os.environ["SHALE_BIN"] = binary
import shale_cluster
shale_cluster.SHALE = binary
from s3_clients import provision
from shale_cluster import bench_cluster
with bench_cluster("ab-", ["127.0.93.1"], log_level="warning") as (root, nodes):
    key = provision(nodes, ["dc1"], "abtest", "bench", code="4+2", capacity="100G", permissions=("--read", "--write", "--owner"))
    for load in (["--put", "--size", "4KiB", "--concurrency", "32"], ["--get", "--size", "4KiB", "--concurrency", "32", "--prefill", "256"]):
        r = subprocess.run([binary, "bench", "s3", "--endpoint", "http://127.0.93.1:3900", "--access-key", key[0], "--secret-key", key[1],
                            "--duration", "12s", "--json", *load], capture_output=True, text=True)
        op = json.loads(r.stdout)["operations"][0]
        print(os.path.basename(binary), load[0], round(op["opsPerSecond"], 1), round(op["latency"]["p50Millis"], 2), flush=True)
