"""The fault campaign's tools: a checksummed write load, the checks every
scenario ends with, and the figures each writes for Docs/reliability.md.

Every body is made from a seed, so its MD5 is known before it is sent;
every key is written once, so "acknowledged" and "visible" are plain sets.
"""
from __future__ import annotations

import hashlib
import json
import os
import random
import threading
import time
from pathlib import Path

from s3_clients import boto
from shale_cluster import Node, wait_until

MiB = 1 << 20
# `make test-faults` sets SHALE_FAULTS=full: every scenario at its full length.
FULL = os.environ.get("SHALE_FAULTS") == "full"
REPORT = os.environ.get("SHALE_FAULT_REPORT")


def body_of(key: str, size: int) -> bytes:
    return random.Random(key).randbytes(size)


class Workload:
    """`threads` writers, each on its own node, PUTting new keys (and every
    `multipart_every`-th a two-part multipart upload) until stopped. Records
    what was attempted and what was acknowledged, with each body's MD5."""

    def __init__(self, nodes: list[Node], key: tuple[str, str], bucket: str, prefix: str, threads: int = 4,
                 multipart_every: int = 8, sizes: tuple[int, ...] = (1000, 64 * 1024, 700 * 1024, 2 * MiB + 5)):
        self.nodes, self.key, self.bucket, self.prefix = nodes, key, bucket, prefix
        self.threads, self.multipart_every, self.sizes = threads, multipart_every, sizes
        self.attempted: dict[str, str] = {}
        self.acked: dict[str, str] = {}
        self.failures = 0
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.workers: list[threading.Thread] = []
        self.counter = 0

    def start(self) -> "Workload":
        self.stopping.clear()
        self.workers = [threading.Thread(target=self._writer, args=(i,), daemon=True) for i in range(self.threads)]
        for worker in self.workers:
            worker.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        for worker in self.workers:
            worker.join(timeout=120)

    def run_for(self, seconds: float) -> None:
        self.start()
        time.sleep(seconds)
        self.stop()

    def _next(self) -> int:
        with self.lock:
            self.counter += 1
            return self.counter

    def _writer(self, index: int) -> None:
        node = self.nodes[index % len(self.nodes)]
        client = boto(node, self.key, retries=1)
        rng = random.Random(f"{self.prefix}-{index}")
        while not self.stopping.is_set():
            n = self._next()
            key = f"{self.prefix}/w{index}/{n:06d}"
            multipart = self.multipart_every and n % self.multipart_every == 0
            size = 5 * MiB + 1234 if multipart else rng.choice(self.sizes)
            data = body_of(key, size)
            digest = hashlib.md5(data).hexdigest()
            with self.lock:
                self.attempted[key] = digest
            try:
                if multipart:
                    upload = client.create_multipart_upload(Bucket=self.bucket, Key=key)["UploadId"]
                    cut = 5 * MiB
                    etags = [client.upload_part(Bucket=self.bucket, Key=key, UploadId=upload, PartNumber=i + 1, Body=part)["ETag"]
                             for i, part in enumerate([data[:cut], data[cut:]])]
                    client.complete_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload,
                                                     MultipartUpload={"Parts": [{"PartNumber": i + 1, "ETag": e} for i, e in enumerate(etags)]})
                else:
                    client.put_object(Bucket=self.bucket, Key=key, Body=data)
                with self.lock:
                    self.acked[key] = digest
            except Exception:  # a refused or cut request is an unacknowledged write, which the checks cover
                with self.lock:
                    self.failures += 1
                time.sleep(0.2)


def md5_of(client, bucket: str, key: str) -> str:
    digest = hashlib.md5()
    for chunk in client.get_object(Bucket=bucket, Key=key)["Body"].iter_chunks(1 << 20):
        digest.update(chunk)
    return digest.hexdigest()


def check(load: Workload, reader: Node) -> dict:
    """Every acknowledged write reads back byte-exact; the listing holds
    every acknowledged key and nothing never attempted; an unacknowledged
    key that is visible reads back whole (all of its body, never part)."""
    client = boto(reader, load.key, retries=3)
    corrupt = [key for key, digest in load.acked.items() if md5_of(client, load.bucket, key) != digest]
    listed: set[str] = set()
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=load.bucket, Prefix=load.prefix + "/"):
        listed |= {item["Key"] for item in page.get("Contents", [])}
    lost = sorted(set(load.acked) - listed)
    foreign = sorted(listed - set(load.attempted))
    partial = [key for key in listed - set(load.acked) if md5_of(client, load.bucket, key) != load.attempted[key]]
    figures = {"acknowledged": len(load.acked), "attempted": len(load.attempted), "refused_or_cut": load.failures,
               "lost": len(lost), "corrupt_reads": len(corrupt), "partial_visible": len(partial), "unknown_listed": len(foreign)}
    assert not lost, f"acknowledged but not listed: {lost[:10]}"
    assert not corrupt, f"acknowledged but read back wrong: {corrupt[:10]}"
    assert not partial, f"unacknowledged and visible with a wrong body: {partial[:10]}"
    assert not foreign, f"listed but never written: {foreign[:10]}"
    return figures


def verify_passes(node: Node) -> bool:
    """True when `rebuild verify` exits 0; otherwise raises with its output, so a
    `wait_until` that times out names what was still missing."""
    verified = node.cli("rebuild", "verify", check=False)
    if verified.returncode == 0:
        return True
    raise AssertionError(f"verify exit {verified.returncode}: {(verified.stdout + verified.stderr)[-3000:]}")


def only_not_written(node: Node) -> dict:
    """`{"not written": problems}` once every problem `rebuild verify` finds
    is a slot a quorum write did not reach (which `shale rebuild` restores,
    Docs/operations.md); raises while any other remains (a handoff not yet
    home, a shard missing or unreachable)."""
    verified = node.cli("rebuild", "verify", "--json", check=False)
    problems = json.loads(verified.stdout)["problems"]
    others = [p for p in problems if p["state"] != "not written"]
    if others:
        raise AssertionError(f"verify: {len(others)} problems besides 'not written', e.g. {others[:3]}")
    return {"not written": problems}


def rebuild_until_redundant(node: Node, timeout: float = 300) -> float:
    """Runs `shale rebuild` (and waits for it) until `rebuild verify` exits 0; returns the seconds it took."""
    started = time.time()
    deadline = started + timeout
    while time.time() < deadline:
        status = node.api("GET", "/v1/rebuild")
        if status["phase"] not in ("planning", "rebuilding", "verifying"):
            if node.cli("rebuild", "verify", check=False).returncode == 0:
                return time.time() - started
            node.cli("rebuild", "start")
        time.sleep(1)
    raise AssertionError(f"not fully redundant after {timeout}s: {node.cli('rebuild', 'verify', check=False).stdout[-3000:]}")


def wait_for_rebuild(node: Node, timeout: float = 300) -> dict:
    """Waits for the node's rebuild job to leave its running phases; returns its last status."""
    holder: dict = {}

    def finished() -> bool:
        try:
            holder["status"] = node.api("GET", "/v1/rebuild")
        except OSError:
            return False
        return holder["status"]["phase"] not in ("planning", "rebuilding", "verifying", "idle")
    wait_until(finished, timeout=timeout, interval=1, what=f"the rebuild on {node.ip} to finish")
    return holder["status"]


def report(scenario: str, **figures) -> None:
    """One line of figures for Docs/reliability.md (`make test-faults` collects them)."""
    line = {"scenario": scenario, "full": FULL, **figures}
    print("FAULTS", json.dumps(line))
    if REPORT:
        with open(REPORT, "a") as out:
            out.write(json.dumps(line) + "\n")


def shard_paths(nodes: list[Node]) -> list[tuple[Path, Node]]:
    found = []
    for node in nodes:
        for path in (node.data / "shards").rglob("*"):
            if path.is_file() and ".tmp-" not in path.name:
                found.append((path, node))
    return sorted(found)
