#!/usr/bin/env python3
"""How many fsync and fdatasync calls the servers make per object written:
a fresh cluster (4+2; one node, or six in three zones), `strace -c`
attached to every node while `shale bench s3` PUTs `--count` objects of
`--size` with 32 in flight and then, as it always does, DELETEs what it
wrote. So each object counts its PUT and its DELETE (the delete's
tombstone row; its shard files go after `shard_deletion_delay_seconds`,
120 s, outside the count). Counts syscalls, not time, so it does not
drift with the machine's speed the way rates do. Needs strace (Debian's
`strace`).

  python3 Benchmarks/s3/syncs_per_put.py /path/to/shale [--nodes 6] [--size 4KiB] [--count 3000]
"""
import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "Tests" / "integration"))
parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("binary")
parser.add_argument("--nodes", type=int, choices=(1, 6), default=1)
parser.add_argument("--size", default="4KiB")
parser.add_argument("--count", type=int, default=3000)
args = parser.parse_args()
os.environ["SHALE_BIN"] = args.binary
import shale_cluster  # noqa: E402

shale_cluster.SHALE = args.binary
from s3_clients import provision  # noqa: E402
from shale_cluster import bench_cluster  # noqa: E402

SYNCS = ("fsync", "fdatasync")
ips = [f"127.0.94.{i}" for i in range(1, args.nodes + 1)]
with bench_cluster("syncs-", ips, log_level="warning") as (root, nodes):
    zones = ["dc1", "dc1", "dc2", "dc2", "dc3", "dc3"][:args.nodes]
    key = provision(nodes, zones, "syncs", "bench", code="4+2", capacity="100G", permissions=("--read", "--write", "--owner"))
    traces = [subprocess.Popen(["strace", "-f", "-c", "-e", "trace=" + ",".join(SYNCS), "-p", str(node.proc.pid)],
                               stderr=subprocess.PIPE, text=True) for node in nodes]
    time.sleep(1)  # strace attached to every thread
    bench = subprocess.run([args.binary, "bench", "s3", "--endpoint", f"http://{ips[0]}:3900", "--access-key", key[0],
                            "--secret-key", key[1], "--put", "--size", args.size, "--concurrency", "32", "--count", str(args.count)],
                           capture_output=True, text=True)
    if bench.returncode != 0:
        sys.exit(f"bench failed: {bench.stderr[-2000:]}")
    time.sleep(0.5)
    counts = {name: 0 for name in SYNCS}
    for trace in traces:
        trace.send_signal(signal.SIGINT)
        for line in trace.communicate(timeout=30)[1].splitlines():
            fields = line.split()
            # strace -c rows: % time, seconds, usecs/call, calls, [errors,] syscall
            if len(fields) >= 5 and fields[-1] in SYNCS:
                counts[fields[-1]] += int(fields[3])
    per_put = {name: round(calls / args.count, 2) for name, calls in counts.items()}
    print(f"{Path(args.binary).name} {args.nodes} node(s) {args.size} PUT x {args.count}: "
          f"fsync {per_put['fsync']} + fdatasync {per_put['fdatasync']} = {round(sum(per_put.values()), 2)} per object (its PUT and its DELETE, all nodes)")
