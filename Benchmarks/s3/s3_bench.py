#!/usr/bin/env python3
"""S3 data-path benchmark: PUT and GET throughput over one connection, and
the serving node's peak RSS for a large object, against real `shale` nodes
(release build) on loopback.

  python3 Benchmarks/s3/s3_bench.py throughput --nodes 1 --size-mib 64 --rounds 8
  python3 Benchmarks/s3/s3_bench.py throughput --nodes 6 --size-mib 64 --rounds 8
  python3 Benchmarks/s3/s3_bench.py memory --nodes 1 --size-mib 4096

The client signs with SigV4 and UNSIGNED-PAYLOAD and sends from one
reusable in-memory block, so the figures are the server's, not the
client's hashing. The server still computes MD5 (the ETag) of every byte.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "Tests" / "integration"))
os.environ.setdefault("SHALE_BIN", str(Path(__file__).resolve().parents[2] / ".build-release" / "release" / "shale"))
from shale_cluster import SHALE, Node  # noqa: E402
from s3_clients import provision, sign  # noqa: E402

MiB = 1 << 20


class Body:
    """`size` bytes from one reused 1 MiB block: no client-side memory growth."""

    def __init__(self, size: int):
        self.size = size
        self.block = os.urandom(MiB)

    def __iter__(self):
        sent = 0
        while sent < self.size:
            n = min(MiB, self.size - sent)
            yield self.block if n == MiB else self.block[:n]
            sent += n


def put(conn: http.client.HTTPConnection, host: str, key, path: str, size: int) -> float:
    headers = sign("PUT", host, path, key, {"content-length": str(size)})
    start = time.perf_counter()
    conn.request("PUT", path, body=Body(size), headers=headers, encode_chunked=False)
    response = conn.getresponse()
    response.read()
    elapsed = time.perf_counter() - start
    assert response.status == 200, response.status
    return elapsed


def get(conn: http.client.HTTPConnection, host: str, key, path: str, size: int) -> float:
    headers = sign("GET", host, path, key)
    start = time.perf_counter()
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    got = 0
    while chunk := response.read(4 * MiB):
        got += len(chunk)
    elapsed = time.perf_counter() - start
    assert response.status == 200 and got == size, (response.status, got)
    return elapsed


def start_cluster(root: Path, count: int, code: str) -> tuple[list[Node], tuple[str, str]]:
    first = Node(root, "127.0.90.1", log_level="warning").start()
    nodes = [first] + [Node(root, f"127.0.90.{i}", bootstrap=[first.connect_string], log_level="warning").start()
                       for i in range(2, count + 1)]
    zones = ["dc1", "dc1", "dc2", "dc2", "dc3", "dc3"] if count == 6 else [f"dc{i % 3 + 1}" for i in range(count)]
    key = provision(nodes, zones, "bench", "bench", code=code, capacity="100G")
    return nodes, key


def peak_rss_mib(node: Node) -> float:
    for line in Path(f"/proc/{node.proc.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["throughput", "memory"])
    parser.add_argument("--nodes", type=int, default=1)
    parser.add_argument("--code", default="4+2")
    parser.add_argument("--size-mib", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not os.access(SHALE, os.X_OK):
        sys.exit(f"no release binary at {SHALE}: run `make release` first")
    size = args.size_mib * MiB
    with tempfile.TemporaryDirectory(prefix="shale-bench-") as tmp:
        nodes, key = start_cluster(Path(tmp), args.nodes, args.code)
        try:
            serving = nodes[0]
            host = f"{serving.ip}:3900"
            conn = http.client.HTTPConnection(serving.ip, 3900, timeout=600)
            result: dict = {"mode": args.mode, "nodes": args.nodes, "code": args.code, "size_mib": args.size_mib}
            if args.mode == "throughput":
                puts, gets = [], []
                for i in range(args.rounds):
                    path = f"/bench/obj-{i}"
                    puts.append(size / put(conn, host, key, path, size) / 1e6)
                    gets.append(size / get(conn, host, key, path, size) / 1e6)
                result.update(rounds=args.rounds, put_mb_s_median=round(statistics.median(puts), 1),
                              get_mb_s_median=round(statistics.median(gets), 1),
                              put_mb_s=[round(x) for x in puts], get_mb_s=[round(x) for x in gets])
            else:
                baseline = peak_rss_mib(serving)
                seconds_put = put(conn, host, key, "/bench/big", size)
                after_put = peak_rss_mib(serving)
                seconds_get = get(conn, host, key, "/bench/big", size)
                result.update(rss_before_mib=round(baseline), peak_rss_after_put_mib=round(after_put),
                              peak_rss_after_get_mib=round(peak_rss_mib(serving)),
                              put_mb_s=round(size / seconds_put / 1e6), get_mb_s=round(size / seconds_get / 1e6))
            print(json.dumps(result) if args.json else "\n".join(f"{k}: {v}" for k, v in result.items()))
        finally:
            for node in nodes:
                node.kill()


if __name__ == "__main__":
    main()
