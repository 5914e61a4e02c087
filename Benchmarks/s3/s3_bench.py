#!/usr/bin/env python3
"""S3 data-path benchmark: PUT and GET throughput over one connection, and
the serving node's peak RSS for a large object, against real `shale` nodes
(release build) on loopback.

  python3 Benchmarks/s3/s3_bench.py throughput --nodes 1 --size-mib 64 --rounds 8
  python3 Benchmarks/s3/s3_bench.py throughput --nodes 6 --size-mib 64 --rounds 8
  python3 Benchmarks/s3/s3_bench.py memory --nodes 1 --size-mib 4096
  python3 Benchmarks/s3/s3_bench.py multipart --nodes 6 --size-mib 1024 --part-mib 64 --in-flight 4 --rounds 3

Multipart mode compares a single PUT of the bytes with a multipart upload
of the same bytes (parts sent `--in-flight` at a time, each on its own
connection, spread over the nodes).

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


def request(conn: http.client.HTTPConnection, host: str, key, method: str, path: str, query: str = "", body=None,
            size: int = 0) -> bytes:
    headers = sign(method, host, path, key, {"content-length": str(size)} if method in ("PUT", "POST") else None, query=query)
    conn.request(method, path + (f"?{query}" if query else ""), body=body, headers=headers, encode_chunked=False)
    response = conn.getresponse()
    data = response.read()
    assert response.status == 200, (response.status, data[:300])
    return data


def multipart_put(nodes: list[Node], key, path: str, size: int, part_size: int, in_flight: int) -> float:
    """A multipart upload of `size` bytes in parts of `part_size`, `in_flight`
    parts at once, each on its own connection, spread over the nodes."""
    import concurrent.futures
    import re

    first = nodes[0]
    host = f"{first.ip}:3900"
    start = time.perf_counter()
    conn = http.client.HTTPConnection(first.ip, 3900, timeout=600)
    created = request(conn, host, key, "POST", path, "uploads=")
    upload = re.search(rb"<UploadId>([^<]+)</UploadId>", created).group(1).decode()
    count = (size + part_size - 1) // part_size

    def send_part(number: int) -> str:
        node = nodes[(number - 1) % len(nodes)]
        part_conn = http.client.HTTPConnection(node.ip, 3900, timeout=600)
        length = min(part_size, size - (number - 1) * part_size)
        headers = sign("PUT", f"{node.ip}:3900", path, key, {"content-length": str(length)},
                       query=f"partNumber={number}&uploadId={upload}")
        part_conn.request("PUT", f"{path}?partNumber={number}&uploadId={upload}", body=Body(length), headers=headers, encode_chunked=False)
        response = part_conn.getresponse()
        response.read()
        assert response.status == 200, response.status
        return response.getheader("ETag")

    with concurrent.futures.ThreadPoolExecutor(in_flight) as pool:
        etags = list(pool.map(send_part, range(1, count + 1)))
    body = ("<CompleteMultipartUpload>" + "".join(f"<Part><PartNumber>{n}</PartNumber><ETag>{e}</ETag></Part>"
                                                  for n, e in enumerate(etags, 1)) + "</CompleteMultipartUpload>").encode()
    request(conn, host, key, "POST", path, f"uploadId={upload}", body=body, size=len(body))
    return time.perf_counter() - start


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
    parser.add_argument("mode", choices=["throughput", "memory", "multipart"])
    parser.add_argument("--part-mib", type=int, default=64)
    parser.add_argument("--in-flight", type=int, default=4)
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
            elif args.mode == "multipart":
                singles, multis = [], []
                for i in range(args.rounds):
                    singles.append(size / put(conn, host, key, f"/bench/single-{i}", size) / 1e6)
                    multis.append(size / multipart_put(nodes, key, f"/bench/multi-{i}", size, args.part_mib * MiB, args.in_flight) / 1e6)
                single, multi = statistics.median(singles), statistics.median(multis)
                result.update(rounds=args.rounds, part_mib=args.part_mib, in_flight=args.in_flight,
                              single_put_mb_s_median=round(single, 1), multipart_mb_s_median=round(multi, 1),
                              multipart_vs_single=round(multi / single, 2),
                              single_put_mb_s=[round(x) for x in singles], multipart_mb_s=[round(x) for x in multis])
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
