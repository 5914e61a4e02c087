#!/usr/bin/env python3
"""Rebuild benchmark: a 6-node, 3-zone, 4+2 cluster (release build) on
loopback loses a node with its disks; a new node takes its place
(`layout assign --replace`, `layout apply`, which starts the rebuild).
Measures the rebuild's throughput of restored shard data, and a client's
PUT and GET throughput idle and while the rebuild runs.

  python3 Benchmarks/s3/rebuild_bench.py --objects 64 --size-mib 64 --rate 100000 --no-client  # throughput alone, rate unlimited
  python3 Benchmarks/s3/rebuild_bench.py --objects 64 --size-mib 64                             # default rate: a client's PUT/GET against idle

The rebuild's figures are its own (`GET /v1/rebuild`): bytes restored over
the time it spent in its rebuilding phase, sampled every 0.25 s.
"""
from __future__ import annotations

import argparse
import http.client
import json
import shutil
import statistics
import threading
import time

from s3_bench import MiB, get, put  # noqa: E402  (sets SHALE_BIN to the release build)
from s3_clients import provision  # noqa: E402
from shale_cluster import Node, bench_cluster, wait_until  # noqa: E402

ZONES = ["dc1", "dc1", "dc2", "dc2", "dc3", "dc3"]


def client_rounds(node: Node, key, size: int, seconds: float | None = None, rounds: int | None = None,
                  until: threading.Event | None = None, times: list[tuple[float, float]] | None = None) -> tuple[list[float], list[float]]:
    """PUT then GET of a `size`-byte object, repeated; MB/s of each (and, into `times`, when each round began and ended)."""
    conn = http.client.HTTPConnection(node.ip, 3900, timeout=600)
    host = f"{node.ip}:3900"
    puts, gets = [], []
    started = time.time()
    n = 0
    while True:
        if rounds is not None and n >= rounds:
            break
        if seconds is not None and time.time() - started > seconds:
            break
        if until is not None and until.is_set():
            break
        path = f"/bench/client-{n % 4}"
        began = time.time()
        puts.append(size / put(conn, host, key, path, size) / 1e6)
        gets.append(size / get(conn, host, key, path, size) / 1e6)
        if times is not None:
            times.append((began, time.time()))
        n += 1
    return puts, gets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--objects", type=int, default=32)
    parser.add_argument("--size-mib", type=int, default=64)
    parser.add_argument("--rate", type=int, default=None, help="transfer_rate_mib_per_second (default: the node's default, 100)")
    parser.add_argument("--client-mib", type=int, default=64, help="size of the client's objects while measuring")
    parser.add_argument("--no-client", action="store_true", help="no client load during the rebuild (its throughput alone)")
    args = parser.parse_args()
    extra = f"transfer_rate_mib_per_second = {args.rate}\n" if args.rate else ""
    with bench_cluster("shale-rebuild-bench-", [f"127.0.91.{i}" for i in range(1, 7)], log_level="warning", extra=extra) as (root, nodes):
        key = provision(nodes, ZONES, "bench", "bench", capacity="100G")
        conn = http.client.HTTPConnection(nodes[0].ip, 3900, timeout=600)
        size = args.size_mib * MiB
        for n in range(args.objects):
            put(conn, f"{nodes[0].ip}:3900", key, f"/bench/data-{n:04d}", size)
        client_size = args.client_mib * MiB
        idle_puts, idle_gets = client_rounds(nodes[1], key, client_size, rounds=4)

        lost = nodes[5]
        lost_id = lost.node_id
        lost.kill()
        shutil.rmtree(lost.dir / "data")
        shutil.rmtree(lost.dir / "meta")
        newcomer = Node(root, "127.0.91.7", bootstrap=[nodes[0].connect_string], log_level="warning", extra=extra)
        nodes.append(newcomer)
        newcomer.start()
        wait_until(lambda: newcomer.node_id in nodes[0].healthy_ids(), timeout=30, what="the new node joins")
        nodes[0].cli("layout", "assign", "-z", "dc3", "-c", "100G", "--replace", lost_id, newcomer.node_id)
        nodes[0].cli("layout", "apply", "--version", "2")

        done = threading.Event()
        during: dict[str, list[float]] = {}

        times: list[tuple[float, float]] = []

        def client() -> None:
            during["puts"], during["gets"] = client_rounds(nodes[1], key, client_size, until=done, times=times)
        worker = threading.Thread(target=client)
        if not args.no_client:
            worker.start()
        samples = []
        while True:
            status = nodes[0].api("GET", "/v1/rebuild")
            samples.append((time.time(), status["phase"], status["bytesRestored"]))
            if status["phase"] in ("done", "incomplete"):
                break
            time.sleep(0.25)
        done.set()
        if not args.no_client:
            worker.join()
        rebuilding = [(t, b) for t, phase, b in samples if phase == "rebuilding"]
        seconds = rebuilding[-1][0] - rebuilding[0][0] if len(rebuilding) > 1 else float("nan")
        # Only the client's rounds wholly inside the rebuilding phase (not its plan or its verify).
        inside = [i for i, (began, ended) in enumerate(times) if rebuilding and began >= rebuilding[0][0] and ended <= rebuilding[-1][0]]
        during = {"puts": [during["puts"][i] for i in inside], "gets": [during["gets"][i] for i in inside]}
        restored = status["bytesRestored"]
        job_seconds = (status["finishedMillis"] - status["startedMillis"]) / 1000
        result = {
            "mode": "rebuild", "objects": args.objects, "object_mib": args.size_mib,
            "rate_mib_per_second": args.rate or "default (100)",
            "phase": status["phase"], "errors": status["errors"], "objects_rebuilt": status["objectsDone"], "restored_mib": round(restored / MiB, 1),
            "rebuilding_seconds": round(seconds, 2), "job_seconds_with_plan_and_verify": round(job_seconds, 2),
            "rebuild_mb_per_s": round(restored / 1e6 / seconds, 1) if seconds == seconds and seconds > 0 else None,
            "client_put_mb_per_s_idle": round(statistics.median(idle_puts), 1),
            "client_get_mb_per_s_idle": round(statistics.median(idle_gets), 1),
            "client_put_mb_per_s_during": round(statistics.median(during["puts"]), 1) if during.get("puts") else None,
            "client_get_mb_per_s_during": round(statistics.median(during["gets"]), 1) if during.get("gets") else None,
            "client_rounds_during_rebuilding": len(during.get("puts", [])),
        }
        print(json.dumps(result))


if __name__ == "__main__":
    main()
