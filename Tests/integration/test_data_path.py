"""The erasure-coded data path on a 6-node, 3-zone cluster with 4+2:
every byte back through node and zone loss, corruption, quorum failures and
concurrent writers, with boto3 and the AWS CLI."""
from __future__ import annotations

import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from botocore.exceptions import ClientError

from s3_clients import aws, boto, make_file, md5_bytes, md5_of_object, provision, shard_files
from shale_cluster import Node, remove_if_all_passed, wait_until

MiB = 1 << 20
BLOCK = MiB
ZONES = ["dc1", "dc1", "dc2", "dc2", "dc3", "dc3"]
BUCKET = "lakehouse"


class Cluster:
    def __init__(self, nodes: list[Node], key: tuple[str, str]):
        self.nodes = nodes
        self.key = key

    def client(self, index: int = 0):
        return boto(self.nodes[index], self.key)

    def ids(self) -> set[str]:
        return {n.node_id for n in self.nodes}

    def live(self) -> list[Node]:
        return [n for n in self.nodes if n.proc and n.proc.poll() is None]

    def restart_all(self) -> None:
        for node in self.nodes:
            if not (node.proc and node.proc.poll() is None):
                node.start()
        ids = self.ids()
        for node in self.nodes:
            wait_until(lambda: node.healthy_ids() == ids, timeout=30, what=f"{node.ip} sees all nodes")


@pytest.fixture(scope="module")
def six(request, tmp_path_factory):
    root = tmp_path_factory.mktemp("six")
    first = Node(root, "127.0.60.1").start()
    nodes = [first] + [Node(root, f"127.0.60.{i}", bootstrap=[first.connect_string]).start() for i in range(2, 7)]
    try:
        key = provision(nodes, ZONES, BUCKET, "trino", permissions=("--read", "--write", "--owner"))
        yield Cluster(nodes, key)
    finally:
        for node in nodes:
            node.kill()
        remove_if_all_passed(request, root)


SIZES = [0, 1, BLOCK - 1, BLOCK, BLOCK + 1, 3 * BLOCK + 17, 64 * MiB]


def check_all(cluster: Cluster, expected: dict[str, str], via: int) -> None:
    client = cluster.client(via)
    for key, digest in expected.items():
        assert md5_of_object(client, BUCKET, key) == digest, key
    listed = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix="sizes/", PaginationConfig={"PageSize": 3}):
        for item in page.get("Contents", []):
            listed[item["Key"]] = item["ETag"].strip('"')
    assert listed == expected


def test_objects_of_every_size_survive_two_nodes_and_a_zone(six, tmp_path):
    client = six.client(0)
    expected = {}
    for i, size in enumerate(SIZES):
        path = tmp_path / f"obj{i}"
        digest = make_file(path, size, seed=i)
        with open(path, "rb") as body:
            etag = client.put_object(Bucket=BUCKET, Key=f"sizes/{size}", Body=body)["ETag"].strip('"')
        assert etag == digest
        expected[f"sizes/{size}"] = digest

    check_all(six, expected, via=3)
    # Any two nodes, in two different zones.
    six.nodes[1].kill()
    six.nodes[4].kill()
    check_all(six, expected, via=0)
    six.restart_all()
    # A whole zone.
    six.nodes[2].kill()
    six.nodes[3].kill()
    check_all(six, expected, via=5)
    # Ranges cross blocks and come only from the stripes they need.
    got = client.get_object(Bucket=BUCKET, Key=f"sizes/{3 * BLOCK + 17}", Range=f"bytes={BLOCK - 5}-{2 * BLOCK + 4}")["Body"].read()
    with open(tmp_path / "obj5", "rb") as f:
        f.seek(BLOCK - 5)
        assert got == f.read(BLOCK + 10)
    six.restart_all()


def test_one_gib_object_round_trips(six, tmp_path):
    path = tmp_path / "big"
    digest = make_file(path, 1 << 30, seed=99)
    client = six.client(2)
    with open(path, "rb") as body:
        client.put_object(Bucket=BUCKET, Key="big/1GiB", Body=body)
    path.unlink()
    assert md5_of_object(six.client(4), BUCKET, "big/1GiB") == digest
    # A whole zone gone: two of every stripe's six shards are missing.
    six.nodes[4].kill()
    six.nodes[5].kill()
    assert md5_of_object(six.client(0), BUCKET, "big/1GiB") == digest
    six.restart_all()
    client.delete_object(Bucket=BUCKET, Key="big/1GiB")


def test_flipped_byte_in_a_shard_is_rebuilt_logged_and_counted(six, tmp_path):
    client = six.client(0)
    before = set(shard_files(six.nodes))
    data = make_file(tmp_path / "c", 3 * BLOCK + 17, seed=7)
    with open(tmp_path / "c", "rb") as body:
        client.put_object(Bucket=BUCKET, Key="corrupt/me", Body=body)
    new = {p: n for p, n in shard_files(six.nodes).items() if p not in before}
    assert len(new) == 6
    victim_path, holder = next((p, n) for p, n in new.items() if p.name.endswith(".0"))
    original = victim_path.read_bytes()
    raw = bytearray(original)
    raw[32 + 1000] ^= 0x40  # inside chunk 0's data, past the 32-byte header
    victim_path.write_bytes(bytes(raw))

    for via in range(6):
        assert md5_of_object(six.client(via), BUCKET, "corrupt/me") == data
    assert "corrupt shard chunk" in holder.log.read_text()
    metrics = holder.api("GET", "/metrics")
    counted = [line for line in metrics.splitlines() if line.startswith("shale_corrupt_chunks_total")]
    assert counted and float(counted[0].split()[-1]) >= 1
    # The read queued the shard for repair: it is rebuilt from the others, byte for byte.
    wait_until(lambda: victim_path.read_bytes() == original, timeout=15, what="corrupt shard repaired")
    assert "shard repaired" in "".join(n.log.read_text() for n in six.nodes)


def test_a_stopped_node_is_read_around(six, tmp_path):
    """SIGSTOP: the node's sockets still accept, but it answers nothing."""
    client = six.client(0)
    before = set(shard_files(six.nodes))
    digest = make_file(tmp_path / "s", 4 * BLOCK, seed=21)
    with open(tmp_path / "s", "rb") as body:
        client.put_object(Bucket=BUCKET, Key="slow/object", Body=body)
    new = {p: n for p, n in shard_files(six.nodes).items() if p not in before}
    holder = next(n for p, n in sorted(new.items()) if int(p.name.split(".")[1]) < 4 and n is not six.nodes[0])
    holder.proc.send_signal(signal.SIGSTOP)
    try:
        started = time.time()
        assert md5_of_object(client, BUCKET, "slow/object") == digest
        assert time.time() - started < 30
    finally:
        holder.proc.send_signal(signal.SIGCONT)
    assert "shard unavailable" in six.nodes[0].log.read_text() or "too slow" in six.nodes[0].log.read_text()
    six.restart_all()


def test_put_with_one_node_down_then_read_after_it_returns(six, tmp_path):
    six.nodes[5].kill()
    digest = make_file(tmp_path / "d", 2 * BLOCK + 3, seed=11)
    with open(tmp_path / "d", "rb") as body:
        six.client(0).put_object(Bucket=BUCKET, Key="degraded/put", Body=body)
    six.restart_all()
    for via in range(6):
        assert md5_of_object(six.client(via), BUCKET, "degraded/put") == digest


def test_put_without_write_quorum_fails_and_leaves_nothing(six, tmp_path):
    """m + 1 owners down: beyond what handoffs cover (m absent owners), the PUT is refused."""
    before = set(shard_files(six.nodes))
    six.nodes[0].kill()
    six.nodes[2].kill()
    six.nodes[4].kill()
    live = six.live()
    make_file(tmp_path / "q", 2 * BLOCK, seed=12)
    with pytest.raises(ClientError) as raised:
        with open(tmp_path / "q", "rb") as body:
            boto(live[0], six.key).put_object(Bucket=BUCKET, Key="quorum/fail", Body=body)
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    assert raised.value.response["Error"]["Code"] == "ServiceUnavailable"
    six.restart_all()
    with pytest.raises(ClientError) as missing:
        six.client(1).head_object(Bucket=BUCKET, Key="quorum/fail")
    assert missing.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    listed = six.client(1).list_objects_v2(Bucket=BUCKET, Prefix="quorum/")
    assert listed["KeyCount"] == 0
    wait_until(lambda: set(shard_files(six.nodes)) <= before, timeout=10, what="stray shards removed")


def test_concurrent_writers_never_mix_shards(six):
    a = bytes([0xAA]) * (3 * BLOCK + 5)
    b = bytes([0x55]) * (3 * BLOCK + 5)
    digests = {md5_bytes(a), md5_bytes(b)}
    errors: list[str] = []
    stop = time.time() + 8

    def writer(payload: bytes, via: int) -> None:
        client = six.client(via)
        while time.time() < stop:
            client.put_object(Bucket=BUCKET, Key="race/key", Body=payload)

    def reader(via: int) -> None:
        client = six.client(via)
        while time.time() < stop:
            try:
                got = md5_of_object(client, BUCKET, "race/key")
            except Exception as error:  # a broken stream is as wrong as mixed bytes
                errors.append(repr(error))
                continue
            if got not in digests:
                errors.append(f"mixed object: {got}")

    six.client(0).put_object(Bucket=BUCKET, Key="race/key", Body=a)
    threads = [threading.Thread(target=writer, args=(a, 1)), threading.Thread(target=writer, args=(b, 4)),
               threading.Thread(target=reader, args=(2,))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:3]
    assert md5_of_object(six.client(0), BUCKET, "race/key") in digests


def test_aws_cli_mb_cp_ls_rm(six, tmp_path):
    node = six.nodes[3]
    aws(node, six.key, "s3", "mb", "s3://cli-bucket")
    (tmp_path / "hello.txt").write_text("hello shale\n")
    aws(node, six.key, "s3", "cp", str(tmp_path / "hello.txt"), "s3://cli-bucket/docs/hello.txt")
    listing = aws(six.nodes[0], six.key, "s3", "ls", "s3://cli-bucket/docs/").stdout
    assert "hello.txt" in listing and " 12 " in listing
    aws(six.nodes[5], six.key, "s3", "cp", "s3://cli-bucket/docs/hello.txt", str(tmp_path / "back.txt"))
    assert (tmp_path / "back.txt").read_text() == "hello shale\n"
    failed = aws(node, six.key, "s3", "rb", "s3://cli-bucket", check=False)
    assert failed.returncode != 0 and "BucketNotEmpty" in failed.stderr
    aws(node, six.key, "s3", "rm", "s3://cli-bucket/docs/hello.txt")
    aws(node, six.key, "s3", "rb", "s3://cli-bucket")
    assert "cli-bucket" not in aws(node, six.key, "s3", "ls").stdout


def test_multipart_parts_through_different_nodes_with_nodes_down(six, tmp_path):
    """Parts sent to different nodes complete while one node is down, and
    the object reads back byte-exact after a second node is stopped."""
    six.nodes[5].kill()
    clients = [six.client(i) for i in range(5)]
    upload = clients[0].create_multipart_upload(Bucket=BUCKET, Key="mp/lossy")["UploadId"]
    parts = [make_file(tmp_path / f"p{n}", 5 * MiB + n, seed=40 + n) for n in range(1, 4)]
    done = []
    for n in range(1, 4):
        with open(tmp_path / f"p{n}", "rb") as part:
            etag = clients[n].upload_part(Bucket=BUCKET, Key="mp/lossy", UploadId=upload, PartNumber=n, Body=part)["ETag"]
        done.append({"PartNumber": n, "ETag": etag})
    listed = clients[4].list_parts(Bucket=BUCKET, Key="mp/lossy", UploadId=upload)["Parts"]
    assert [p["PartNumber"] for p in listed] == [1, 2, 3]
    clients[4].complete_multipart_upload(Bucket=BUCKET, Key="mp/lossy", UploadId=upload, MultipartUpload={"Parts": done})
    whole = b"".join((tmp_path / f"p{n}").read_bytes() for n in range(1, 4))
    six.nodes[4].kill()
    for via in range(4):
        assert md5_of_object(six.client(via), BUCKET, "mp/lossy") == md5_bytes(whole)
    assert parts  # the parts' digests were computed from the files read back above
    six.restart_all()
    for via in range(6):
        assert md5_of_object(six.client(via), BUCKET, "mp/lossy") == md5_bytes(whole)


def test_eight_concurrent_if_none_match_writers_one_wins(six):
    """Iceberg-style commits: of 8 concurrent `If-None-Match: *` PUTs of one
    new key through different nodes, exactly one gets 200; also with a node down."""
    for round_, down in enumerate([None, 5]):
        if down is not None:
            six.nodes[down].kill()
        key = f"commits/v{round_}.metadata.json"
        results: dict[int, object] = {}

        def writer(i: int) -> None:
            via = [n for n in range(6) if n != down][i % (6 if down is None else 5)]
            try:
                six.client(via).put_object(Bucket=BUCKET, Key=key, Body=f"writer {i}".encode(), IfNoneMatch="*")
                results[i] = 200
            except ClientError as error:
                results[i] = (error.response["ResponseMetadata"]["HTTPStatusCode"], error.response["Error"]["Code"])

        threads = [threading.Thread(target=writer, args=(i,)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        winners = [i for i, r in results.items() if r == 200]
        assert len(winners) == 1, results
        assert all(r == 200 or r[0] in (412, 409) for r in results.values()), results
        body = six.client(0 if down != 0 else 1).get_object(Bucket=BUCKET, Key=key)["Body"].read()
        assert body == f"writer {winners[0]}".encode()
    six.restart_all()


def test_versions_survive_a_zone_outage(six):
    """A versioned bucket on 6 nodes / 3 zones / 4+2: 10 versions of 50 keys
    written with a zone stopped, every version read back byte-exact; delete
    markers and deletes by version id after the zone returns. Last in this
    module: it turns versioning on for the shared bucket."""
    client = six.client(0)
    client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    wait_until(lambda: all(boto(n, six.key).get_bucket_versioning(Bucket=BUCKET).get("Status") == "Enabled" for n in six.nodes),
               timeout=30, what="every node knows the bucket is versioned")
    zone3 = {six.nodes[4].node_id, six.nodes[5].node_id}
    six.nodes[4].kill()
    six.nodes[5].kill()
    wait_until(lambda: zone3 <= six.nodes[0].failed_ids(), timeout=20, what="zone dc3 seen down")

    def body(key: int, v: int) -> bytes:
        size = 3000 + key if v % 3 else 150_000 + key * 7 + v  # inline and sharded versions
        return bytes((key * 31 + v * 7 + i) % 251 for i in range(size))

    def write(key: int) -> list[str]:
        writer = six.client(key % 4)
        return [writer.put_object(Bucket=BUCKET, Key=f"versions/{key}", Body=body(key, v))["VersionId"] for v in range(10)]

    def check(key: int, via: list[int]) -> None:
        for v in range(10):
            reader = six.client(via[(key + v) % len(via)])
            got = reader.get_object(Bucket=BUCKET, Key=f"versions/{key}", VersionId=ids[key][v])["Body"].read()
            assert got == body(key, v), (key, v)

    with ThreadPoolExecutor(4) as pool:
        ids = dict(zip(range(50), pool.map(write, range(50))))
        assert all(len(set(v)) == 10 for v in ids.values())
        list(pool.map(lambda key: check(key, [0, 1, 2, 3]), range(50)))  # every version, with the zone still down
    six.restart_all()
    wait_until(lambda: not (zone3 & six.nodes[0].failed_ids()), timeout=30, what="zone dc3 back")
    for key in range(0, 50, 7):
        check(key, [4, 5])
    marker = six.client(5).delete_object(Bucket=BUCKET, Key="versions/0")
    assert marker["DeleteMarker"] is True
    with pytest.raises(ClientError) as gone:
        six.client(4).get_object(Bucket=BUCKET, Key="versions/0")
    assert gone.value.response["Error"]["Code"] == "NoSuchKey"
    six.client(4).delete_object(Bucket=BUCKET, Key="versions/1", VersionId=ids[1][9])
    assert six.client(3).get_object(Bucket=BUCKET, Key="versions/1")["Body"].read() == body(1, 8)
    versions = []
    for page in six.client(2).get_paginator("list_object_versions").paginate(Bucket=BUCKET, Prefix="versions/", PaginationConfig={"PageSize": 64}):
        versions += page.get("Versions", [])
    assert len(versions) == 499
    listed = [o["Key"] for p in six.client(1).get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix="versions/") for o in p.get("Contents", [])]
    assert sorted(listed) == sorted(f"versions/{k}" for k in range(1, 50))
