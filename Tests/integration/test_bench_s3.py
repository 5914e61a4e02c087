"""`shale bench s3` against a real node: every load mode sends what it says,
measures every request, and leaves nothing behind (its objects and its
bucket are deleted)."""
from __future__ import annotations

import json
import subprocess

from s3_clients import boto, provision
from shale_cluster import SHALE


def bench(node, key, *args: str) -> dict:
    result = subprocess.run([SHALE, "bench", "s3", "--endpoint", f"http://{node.ip}:3900", "--access-key", key[0],
                             "--secret-key", key[1], "--json", *args], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


def test_every_mode_measures_and_cleans_up(cluster):
    node = cluster(1).start()
    key = provision([node], ["dc1"], "keep", "bench", permissions=("--read", "--write", "--owner"))
    put = bench(node, key, "--put", "--size", "4KiB", "--count", "40", "--concurrency", "4")
    (op,) = put["operations"]
    assert op["operation"] == "PUT" and op["requests"] == 40 and op["errors"] == 0 and op["bytes"] == 40 * 4096
    assert 0 < op["latency"]["p50Millis"] <= op["latency"]["p99Millis"] <= op["latency"]["maxMillis"]

    get = bench(node, key, "--get", "--size", "1MiB", "--range", "64KiB", "--count", "30", "--prefill", "3")
    (op,) = get["operations"]
    assert op["requests"] == 30 and op["errors"] == 0 and op["bytes"] == 30 * 65536, op

    mixed = bench(node, key, "--mixed", "50/40/10", "--size", "8KiB", "--count", "60")
    assert sum(o["requests"] for o in mixed["operations"]) == 60 and all(o["errors"] == 0 for o in mixed["operations"])

    multipart = bench(node, key, "--put", "--size", "11MiB", "--multipart-part", "5MiB", "--count", "2", "--concurrency", "1")
    assert multipart["operations"][0]["requests"] == 2 and multipart["operations"][0]["bytes"] == 2 * 11 * (1 << 20)

    deletes = bench(node, key, "--delete", "--size", "1KiB", "--count", "25")
    assert deletes["operations"][0]["requests"] == 25

    buckets = [b["Name"] for b in boto(node, key).list_buckets()["Buckets"]]
    assert buckets == ["keep"], f"the bench's buckets are gone: {buckets}"

    refused = subprocess.run([SHALE, "bench", "s3", "--endpoint", f"http://{node.ip}:3900", "--access-key", key[0],
                              "--secret-key", "wrong", "--put", "--count", "1"], capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0 and "403" in refused.stderr, refused.stderr
