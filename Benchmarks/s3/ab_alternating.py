#!/usr/bin/env python3
"""A/B of two builds under one small-object load, alternated closely: both
builds' clusters (4+2; one node, or six in three zones) run side by side,
idle but for the load, which goes to each in turn for `--rounds` rounds of
`--seconds` each. This machine's speed drifts by a quarter within minutes;
runs seconds apart see the same machine, runs minutes apart do not.

  python3 Benchmarks/s3/ab_alternating.py /path/to/shale-a /path/to/shale-b --load get --rounds 6
"""
import argparse, os, statistics, sys
from contextlib import ExitStack
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parent)); sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "Tests" / "integration"))
parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("a")
parser.add_argument("b")
parser.add_argument("--nodes", type=int, choices=(1, 6), default=1)
parser.add_argument("--load", choices=("put", "get", "get64", "put64", "put64x4"), default="get")
parser.add_argument("--seconds", type=int, default=6)
parser.add_argument("--rounds", type=int, default=6)
parser.add_argument("--put-before", type=int, default=0, metavar="SECONDS",
                    help="PUT 4 KiB objects for this long into each cluster first (the matrix's GET meets a table its PUT filled)")
args = parser.parse_args()
os.environ.setdefault("SHALE_BIN", args.a)
import shale_cluster
from s3_clients import provision
from shale_cluster import bench_cluster
from bench_cpu import run_bench

load = {"put": ["--put", "--size", "4KiB", "--concurrency", "32"],
        "get": ["--get", "--size", "4KiB", "--concurrency", "32", "--prefill", "256"],
        "get64": ["--get", "--size", "64MiB", "--concurrency", "1", "--prefill", "4"],
        "put64": ["--put", "--size", "64MiB", "--concurrency", "1"],
        "put64x4": ["--put", "--size", "64MiB", "--concurrency", "4"]}[args.load]
large = "64" in args.load  # 64 MiB objects: rates in MiB/s
unit = "MiB/s" if large else "ops/s"
with ExitStack() as stack:
    clusters = []
    for index, binary in enumerate((args.a, args.b)):
        shale_cluster.SHALE = binary
        ips = [f"127.0.{95 + index}.{i}" for i in range(1, args.nodes + 1)]
        root, nodes = stack.enter_context(bench_cluster(f"abalt{index}-", ips, log_level="warning"))
        zones = ["dc1", "dc1", "dc2", "dc2", "dc3", "dc3"][:args.nodes]
        key = provision(nodes, zones, f"ab{index}", "bench", code="4+2", capacity="100G", permissions=("--read", "--write", "--owner"))
        clusters.append((binary, ips, nodes, key))
        if args.put_before:
            run_bench([binary, "bench", "s3", "--endpoint", f"http://{ips[0]}:3900", "--access-key", key[0], "--secret-key", key[1],
                       "--duration", f"{args.put_before}s", "--json", "--put", "--size", "4KiB", "--concurrency", "32"],
                      [n.proc.pid for n in nodes], timeout=600)
    rates = {args.a: [], args.b: []}
    cpus = {args.a: [], args.b: []}
    for turn in range(args.rounds):
        for binary, ips, nodes, key in (clusters if turn % 2 == 0 else clusters[::-1]):
            report, cpu, client, _ = run_bench([binary, "bench", "s3", "--endpoint", f"http://{ips[0]}:3900", "--access-key", key[0],
                                                "--secret-key", key[1], "--duration", f"{args.seconds}s", "--json", *load],
                                               [n.proc.pid for n in nodes], timeout=600)
            op = report["operations"][0]
            rate = op["mibPerSecond"] if large else op["opsPerSecond"]
            rates[binary].append(rate)
            cpus[binary].append(cpu)
            print(f"round {turn} {os.path.basename(binary)} {rate:.1f} {unit} server CPU {cpu:.3f} ms client {client:.3f} ms errors {op['errors']}", flush=True)
    for binary in (args.a, args.b):
        print(f"{os.path.basename(binary)}: median {statistics.median(rates[binary]):.1f} {unit}, "
              f"server CPU median {statistics.median(cpus[binary]):.3f} ms; rates {[round(r) for r in rates[binary]]}")
    from s3_bench import peak_rss_mib
    for binary, ips, nodes, key in clusters:
        print(f"{os.path.basename(binary)}: peak RSS MiB per node {[round(peak_rss_mib(n), 1) for n in nodes]}")
    wins = sum(1 for x, y in zip(rates[args.b], rates[args.a]) if x > y)
    print(f"{os.path.basename(args.b)} faster than {os.path.basename(args.a)} in {wins} of {args.rounds} rounds")
