#!/usr/bin/env python3
"""A/B of two builds on small objects: a fresh cluster (4+2; one node, or
six in three zones) per run, `shale bench s3` PUT then GET of 4 KiB with 32
in flight, 12 s each; ops/s, p50 latency, the nodes' and the client's CPU
per request over the measured window (bench_cpu.py), and the ceiling they
set on a machine the client shares: cores × 1000 / (server + client) ops/s.

  python3 Benchmarks/s3/ab_small_objects.py /path/to/shale-before [--nodes 6]
  python3 Benchmarks/s3/ab_small_objects.py /path/to/shale-after [--nodes 6]

Run the two alternately, several times: this machine's speed drifts more
between sittings than most changes move these figures.
"""
import argparse, os, sys
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parent)); sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "Tests" / "integration"))
parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("binary")
parser.add_argument("--nodes", type=int, choices=(1, 6), default=1)
parser.add_argument("--seconds", type=int, default=12)
args = parser.parse_args()
binary = args.binary
os.environ["SHALE_BIN"] = binary
import shale_cluster
shale_cluster.SHALE = binary
from s3_clients import provision
from shale_cluster import bench_cluster


from bench_cpu import run_bench


ips = [f"127.0.93.{i}" for i in range(1, args.nodes + 1)]
with bench_cluster("ab-", ips, log_level="warning") as (root, nodes):
    zones = ["dc1", "dc1", "dc2", "dc2", "dc3", "dc3"][:args.nodes]
    key = provision(nodes, zones, "abtest", "bench", code="4+2", capacity="100G", permissions=("--read", "--write", "--owner"))
    for load in (["--put", "--size", "4KiB", "--concurrency", "32"], ["--get", "--size", "4KiB", "--concurrency", "32", "--prefill", "256"]):
        report, cpu, client, _ = run_bench([binary, "bench", "s3", "--endpoint", f"http://{ips[0]}:3900", "--access-key", key[0],
                                    "--secret-key", key[1], "--duration", f"{args.seconds}s", "--json", *load],
                                   [n.proc.pid for n in nodes], timeout=600)
        op = report["operations"][0]
        print(os.path.basename(binary), f"{args.nodes} node(s)", load[0], f"{op['opsPerSecond']:.1f} ops/s",
              f"p50 {op['latency']['p50Millis']:.2f} ms", f"server CPU {cpu:.2f} ms/request (measured window)",
              f"client CPU {client:.2f} ms/request", f"ceiling {1000 * os.cpu_count() / (cpu + client):.0f} ops/s",
              f"errors {op['errors']}", flush=True)
