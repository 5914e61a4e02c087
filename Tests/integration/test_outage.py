"""A whole zone out on a real 6-node, 3-zone, 4+2 cluster: PUT, multipart
and DELETE keep working at full redundancy (the absent owners' shards go to
handoff nodes), and when the zone is back the handoffs move home, after
which the objects survive two other nodes down."""
from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from s3_clients import boto, make_file, md5_of_object, provision, shard_files
from shale_cluster import Node, wait_until

MiB = 1 << 20
ZONES = ["dc1", "dc1", "dc2", "dc2", "dc3", "dc3"]


@pytest.fixture
def six(tmp_path: Path):
    extra = "anti_entropy_interval_seconds = 2\nshard_deletion_delay_seconds = 1\n"
    first = Node(tmp_path, "127.0.61.1", extra=extra).start()
    nodes = [first] + [Node(tmp_path, f"127.0.61.{i}", bootstrap=[first.connect_string], extra=extra).start() for i in range(2, 7)]
    try:
        key = provision(nodes, ZONES, "lake", "airbyte", permissions=("--read", "--write", "--owner"))
        yield nodes, key
    finally:
        for node in nodes:
            node.kill()


def by_version(files) -> dict[str, Counter]:
    """Shard files grouped by version id: how many each node holds."""
    grouped: dict[str, Counter] = {}
    for path, node in files.items():
        grouped.setdefault(path.name.split(".")[0], Counter())[node.ip] += 1
    return grouped


def test_zone_outage_keeps_writes_at_full_redundancy_then_moves_home(six, tmp_path):
    nodes, key = six
    client = boto(nodes[0], key)
    client.put_object(Bucket="lake", Key="before/delete-me", Body=b"x" * 1000)
    before = set(shard_files(nodes))
    zone3 = {n.node_id for n in nodes[4:]}
    ids = {n.node_id for n in nodes}
    for node in nodes[4:]:
        node.kill()
    wait_until(lambda: zone3 <= nodes[0].failed_ids(), timeout=20, what="zone dc3 seen down")

    digest = make_file(tmp_path / "obj", 3 * MiB + 11, seed=71)
    with open(tmp_path / "obj", "rb") as body:
        client.put_object(Bucket="lake", Key="during/object", Body=body)
    upload = client.create_multipart_upload(Bucket="lake", Key="during/parts")["UploadId"]
    parts = [bytes([n]) * (5 * MiB + n) for n in (1, 2)]
    etags = [client.upload_part(Bucket="lake", Key="during/parts", UploadId=upload, PartNumber=n, Body=p)["ETag"] for n, p in enumerate(parts, 1)]
    client.complete_multipart_upload(Bucket="lake", Key="during/parts", UploadId=upload,
                                     MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e} for n, e in enumerate(etags, 1)]})
    client.delete_object(Bucket="lake", Key="before/delete-me")

    written = by_version({p: n for p, n in shard_files(nodes[:4]).items() if p not in before})
    assert len(written) == 3, written  # the object and the two parts
    for version, holders in written.items():
        assert sum(holders.values()) == 6, f"{version}: all k + m shards written during the outage: {holders}"

    for node in nodes[4:]:
        node.start()
    for node in nodes:
        wait_until(lambda: node.healthy_ids() == ids, timeout=30, what=f"{node.ip} sees all nodes")

    def home() -> bool:
        grouped = by_version({p: n for p, n in shard_files(nodes).items() if p not in before})
        return all(sorted(holders.values()) == [1] * 6 for holders in grouped.values()) and len(grouped) == 3
    wait_until(home, timeout=90, interval=1, what="every handoff moved home: one shard per node")
    verified = nodes[2].cli("rebuild", "verify")
    assert verified.returncode == 0 and "fully redundant as of" in verified.stdout and "2 objects" in verified.stdout and "18 shards" in verified.stdout, verified.stdout
    # A shard file gone: verify names it and exits non-zero (scripts and jobs wait on it).
    # A data shard (slots 0..k-1), so that reading the object meets the hole and queues its repair.
    victim = next(p for p in shard_files(nodes[2:]) if p not in before and int(p.name.split(".")[1]) < 4)
    victim.unlink()
    failed = nodes[2].cli("rebuild", "verify", check=False)
    assert failed.returncode == 1 and "NOT fully redundant" in failed.stdout and "missing" in failed.stdout, failed.stdout + failed.stderr
    # Reading the objects finds the missing shard and queues its repair; verify then passes again.
    assert md5_of_object(client, "lake", "during/object") == digest
    assert client.get_object(Bucket="lake", Key="during/parts")["Body"].read() == b"".join(parts)
    wait_until(lambda: nodes[2].cli("rebuild", "verify", check=False).returncode == 0, timeout=30, interval=1,
               what="the missing shard repaired")

    for node in nodes[:2]:
        node.kill()
    reader = boto(nodes[3], key)
    assert md5_of_object(reader, "lake", "during/object") == digest
    assert reader.get_object(Bucket="lake", Key="during/parts")["Body"].read() == b"".join(parts)
    with pytest.raises(ClientError):
        reader.head_object(Bucket="lake", Key="before/delete-me")
