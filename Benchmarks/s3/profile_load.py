#!/usr/bin/env python3
"""A CPU profile of the server under one `shale bench s3` load: a fresh
cluster (release build, 4+2), `perf record -g` on every node over the
load's measured phase (not its prefill or clean-up), then `perf report` of the node the client talks to, folded by symbol.
The client (`shale bench s3`) is recorded too, into client.data: on two shared cores its CPU
per request bounds the rate as much as the server's.

  python3 Benchmarks/s3/profile_load.py --nodes 1 --seconds 10 -- --put --size 4KiB --concurrency 32
"""
from __future__ import annotations

import argparse
import re
import signal
import subprocess
from pathlib import Path

from s3_bench import peak_rss_mib  # noqa: E402  (sets SHALE_BIN to the release build)
from s3_clients import provision  # noqa: E402
from shale_cluster import SHALE, bench_cluster  # noqa: E402

PROGRESS = re.compile(r"^\s*([\d.]+)s\s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, choices=(1, 6), default=1)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--top", type=int, default=40, help="symbols to print")
    parser.add_argument("--out", default="/tmp/shale-profile", help="where perf.data files go")
    parser.add_argument("load", nargs=argparse.REMAINDER, help="after --: the bench s3 load flags")
    args = parser.parse_args()
    load = [a for a in args.load if a != "--"]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with bench_cluster("shale-profile-", [f"127.0.93.{i}" for i in range(1, args.nodes + 1)], log_level="warning") as (root, nodes):
        zones = ["dc1", "dc1", "dc2", "dc2", "dc3", "dc3"][:args.nodes]
        key = provision(nodes, zones, "profile", "bench", code="4+2", capacity="100G", permissions=("--read", "--write", "--owner"))
        bench = [SHALE, "bench", "s3", "--endpoint", f"http://{nodes[0].ip}:3900", "--access-key", key[0],
                 "--secret-key", key[1], *load]
        # Recorded over the measured phase only: from the bench's first progress line (a second in) to the
        # one a second before its end; the prefill before and the bench's clean-up after are left out.
        process = subprocess.Popen([*bench, "--duration", f"{args.seconds}s"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        recorders: list[subprocess.Popen] = []
        assert process.stderr is not None
        for line in process.stderr:
            elapsed = PROGRESS.match(line)
            if not elapsed:
                continue
            if not recorders:
                recorders = [subprocess.Popen(["perf", "record", "-F", "499", "-g", "-o", str(out / f"node{i}.data"), "-p", str(n.proc.pid)],
                                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for i, n in enumerate(nodes)]
                recorders.append(subprocess.Popen(["perf", "record", "-F", "499", "-g", "-o", str(out / "client.data"), "-p", str(process.pid)],
                                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            elif float(elapsed.group(1)) >= args.seconds - 1:
                break
        for recorder in recorders:
            recorder.send_signal(signal.SIGINT)
        for recorder in recorders:
            recorder.wait()
        stdout, _ = process.communicate()
        result = subprocess.CompletedProcess(process.args, process.returncode, stdout, "")
        print(result.stdout[-1500:])
        print("peak RSS MiB per node:", [round(peak_rss_mib(n), 1) for n in nodes])
        report = subprocess.run(["perf", "report", "-i", str(out / "node0.data"), "--no-children", "--sort", "symbol",
                                 "--stdio", "-g", "none", "--percent-limit", "0.4"], capture_output=True, text=True)
        lines = [line for line in report.stdout.splitlines() if line.strip() and not line.startswith("#")]
        print("\n".join(lines[:args.top]))


if __name__ == "__main__":
    main()
