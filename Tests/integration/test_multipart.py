"""Multipart uploads on a real node with real clients: the AWS CLI's
`s3 cp` and `s3 sync` over the multipart threshold, every multipart call of
boto3 with its rules and errors, checksums of both types, and parts that
survive a restart. Aborted and replaced parts leave no shard behind."""
from __future__ import annotations

import base64
import json
import hashlib
import struct
import zlib

import pytest
from botocore.exceptions import ClientError

from s3_clients import aws, boto, make_file, md5_of_object, shard_files, single_node
from shale_cluster import wait_until

MiB = 1 << 20


@pytest.fixture
def node(cluster):
    """One node with bucket `data`; replaced shards go after 1 s, so their collection is seen."""
    return single_node(cluster, extra="shard_deletion_delay_seconds = 1")


def bodies_on_disk(node) -> set[str]:
    """The version ids of the shard files on the node (one per object or part body)."""
    return {path.name.split(".")[0] for path in shard_files([node])}


def error_code(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


def multipart_etag(parts: list[bytes]) -> str:
    joined = b"".join(hashlib.md5(p).digest() for p in parts)
    return f'"{hashlib.md5(joined).hexdigest()}-{len(parts)}"'


def body(size: int, seed: int) -> bytes:
    block = hashlib.sha256(str(seed).encode()).digest() * (1 << 15)
    return (block * (size // len(block) + 1))[:size]


def test_aws_cli_copies_200_mib_up_and_down_byte_exact(node, tmp_path):
    digest = make_file(tmp_path / "big", 200 * MiB, seed=3)
    aws(node, node.key, "s3", "cp", str(tmp_path / "big"), "s3://data/lake/big.bin")
    head = boto(node, node.key).head_object(Bucket="data", Key="lake/big.bin")
    assert head["ContentLength"] == 200 * MiB
    assert head["ETag"].strip('"').endswith("-25"), head["ETag"]  # the CLI's 8 MiB parts
    aws(node, node.key, "s3", "cp", "s3://data/lake/big.bin", str(tmp_path / "back"))
    assert hashlib.md5((tmp_path / "back").read_bytes()).hexdigest() == digest
    uploads = aws(node, node.key, "s3api", "list-multipart-uploads", "--bucket", "data").stdout
    assert "UploadId" not in uploads


def test_aws_cli_sync_of_a_tree_with_a_large_file(node, tmp_path):
    tree = tmp_path / "tree"
    (tree / "year=2026" / "month=11").mkdir(parents=True)
    digests = {
        "small.txt": make_file(tree / "small.txt", 100, seed=1),
        "year=2026/month=11/part-0.parquet": make_file(tree / "year=2026" / "month=11" / "part-0.parquet", 20 * MiB, seed=2),
    }
    aws(node, node.key, "s3", "sync", str(tree), "s3://data/synced/")
    client = boto(node, node.key)
    for name, digest in digests.items():
        assert md5_of_object(client, "data", f"synced/{name}") == digest
    again = aws(node, node.key, "s3", "sync", str(tree), "s3://data/synced/").stdout
    assert again.strip() == ""  # nothing changed, nothing copied


def test_every_multipart_call_with_unequal_parts(node):
    client = boto(node, node.key)
    before = bodies_on_disk(node)
    upload = client.create_multipart_upload(Bucket="data", Key="mp/object", ContentType="application/x-parquet",
                                            Metadata={"origin": "airbyte"})["UploadId"]
    # In progress: listed as an upload, not as an object.
    listed = client.list_multipart_uploads(Bucket="data", Prefix="mp/")
    assert [u["UploadId"] for u in listed["Uploads"]] == [upload]
    assert "Contents" not in client.list_objects_v2(Bucket="data", Prefix="mp/")

    parts = {1: body(5 * MiB + 3, 1), 2: body(7 * MiB, 2), 3: body(1000, 3)}
    etags = {n: client.upload_part(Bucket="data", Key="mp/object", UploadId=upload, PartNumber=n, Body=b)["ETag"]
             for n, b in parts.items()}
    # Part 2 again, other bytes: the later one counts, the earlier one's shards go.
    parts[2] = body(6 * MiB, 22)
    etags[2] = client.upload_part(Bucket="data", Key="mp/object", UploadId=upload, PartNumber=2, Body=parts[2])["ETag"]

    listed_parts = client.list_parts(Bucket="data", Key="mp/object", UploadId=upload)["Parts"]
    assert [(p["PartNumber"], p["ETag"], p["Size"]) for p in listed_parts] == [(n, etags[n], len(parts[n])) for n in (1, 2, 3)]
    page = client.list_parts(Bucket="data", Key="mp/object", UploadId=upload, MaxParts=2)
    assert page["IsTruncated"] and [p["PartNumber"] for p in page["Parts"]] == [1, 2]
    rest = client.list_parts(Bucket="data", Key="mp/object", UploadId=upload, PartNumberMarker=page["NextPartNumberMarker"])
    assert [p["PartNumber"] for p in rest["Parts"]] == [3]

    with pytest.raises(ClientError) as bad_order:
        client.complete_multipart_upload(Bucket="data", Key="mp/object", UploadId=upload, MultipartUpload={"Parts": [
            {"PartNumber": 2, "ETag": etags[2]}, {"PartNumber": 1, "ETag": etags[1]}]})
    assert error_code(bad_order) == "InvalidPartOrder"
    with pytest.raises(ClientError) as bad_etag:
        client.complete_multipart_upload(Bucket="data", Key="mp/object", UploadId=upload, MultipartUpload={"Parts": [
            {"PartNumber": 1, "ETag": '"' + "0" * 32 + '"'}]})
    assert error_code(bad_etag) == "InvalidPart"
    with pytest.raises(ClientError) as unknown:
        client.complete_multipart_upload(Bucket="data", Key="mp/object", UploadId=upload, MultipartUpload={"Parts": [
            {"PartNumber": 1, "ETag": etags[1]}, {"PartNumber": 9, "ETag": etags[1]}]})
    assert error_code(unknown) == "InvalidPart"
    # A part under 5 MiB that is not the last: EntityTooSmall.
    small_upload = client.create_multipart_upload(Bucket="data", Key="mp/small")["UploadId"]
    small_etags = [client.upload_part(Bucket="data", Key="mp/small", UploadId=small_upload, PartNumber=n, Body=b"x" * 100)["ETag"]
                   for n in (1, 2)]
    with pytest.raises(ClientError) as too_small:
        client.complete_multipart_upload(Bucket="data", Key="mp/small", UploadId=small_upload, MultipartUpload={"Parts": [
            {"PartNumber": n, "ETag": e} for n, e in zip((1, 2), small_etags)]})
    assert error_code(too_small) == "EntityTooSmall"
    client.abort_multipart_upload(Bucket="data", Key="mp/small", UploadId=small_upload)

    chosen = {"Parts": [{"PartNumber": n, "ETag": etags[n]} for n in (1, 2, 3)]}
    done = client.complete_multipart_upload(Bucket="data", Key="mp/object", UploadId=upload, MultipartUpload=chosen)
    whole = parts[1] + parts[2] + parts[3]
    assert done["ETag"] == multipart_etag([parts[1], parts[2], parts[3]])
    # A retry of the same completion answers the same object.
    again = client.complete_multipart_upload(Bucket="data", Key="mp/object", UploadId=upload, MultipartUpload=chosen)
    assert again["ETag"] == done["ETag"]

    got = client.get_object(Bucket="data", Key="mp/object")
    assert got["Body"].read() == whole
    assert got["ContentType"] == "application/x-parquet" and got["Metadata"] == {"origin": "airbyte"}
    # partNumber: the part's bytes and the part count.
    second = client.get_object(Bucket="data", Key="mp/object", PartNumber=2)
    assert second["Body"].read() == parts[2] and second["PartsCount"] == 3
    assert second["ContentRange"] == f"bytes {len(parts[1])}-{len(parts[1]) + len(parts[2]) - 1}/{len(whole)}"
    assert client.head_object(Bucket="data", Key="mp/object", PartNumber=3)["ContentLength"] == 1000
    with pytest.raises(ClientError) as beyond:
        client.head_object(Bucket="data", Key="mp/object", PartNumber=4)
    assert beyond.value.response["ResponseMetadata"]["HTTPStatusCode"] == 416
    # A range across the boundary of parts 1 and 2, and one across 2 and 3.
    for start, end in [(len(parts[1]) - 10, len(parts[1]) + 10), (len(whole) - 1500, len(whole) - 1)]:
        ranged = client.get_object(Bucket="data", Key="mp/object", Range=f"bytes={start}-{end}")["Body"].read()
        assert ranged == whole[start:end + 1]

    # Completed: the upload is gone, and only the chosen parts' bodies remain.
    assert "Uploads" not in client.list_multipart_uploads(Bucket="data", Prefix="mp/")
    with pytest.raises(ClientError) as gone:
        client.list_parts(Bucket="data", Key="mp/object", UploadId=upload)
    assert error_code(gone) == "NoSuchUpload"
    wait_until(lambda: len(bodies_on_disk(node) - before) == 3, timeout=20, what="replaced and abandoned parts collected")


def test_deleting_a_bucket_aborts_its_uploads_and_collects_their_parts(node):
    """As AWS: a bucket without objects is deleted with its uploads in progress; their parts do not linger."""
    node.cli("bucket", "allow", "--owner", "data", "--key", "writer")
    client = boto(node, node.key)
    client.create_bucket(Bucket="scratch")
    before = bodies_on_disk(node)
    uploads = [client.create_multipart_upload(Bucket="scratch", Key=f"mp/{i}")["UploadId"] for i in range(3)]
    for i, upload in enumerate(uploads):
        client.upload_part(Bucket="scratch", Key=f"mp/{i}", UploadId=upload, PartNumber=1, Body=body(MiB, i))
    assert len(bodies_on_disk(node) - before) == 3
    client.put_object(Bucket="scratch", Key="blocker", Body=b"x")
    with pytest.raises(ClientError) as not_empty:
        client.delete_bucket(Bucket="scratch")
    assert error_code(not_empty) == "BucketNotEmpty"
    assert len(client.list_multipart_uploads(Bucket="scratch").get("Uploads", [])) == 3, "a refused delete aborts nothing"
    client.delete_object(Bucket="scratch", Key="blocker")
    client.delete_bucket(Bucket="scratch")
    wait_until(lambda: bodies_on_disk(node) - before == set(), timeout=20, what="the deleted bucket's part shards collected")
    assert "scratch" not in [b["Name"] for b in client.list_buckets()["Buckets"]]


def test_abort_collects_the_parts_and_later_calls_find_no_upload(node):
    client = boto(node, node.key)
    before = bodies_on_disk(node)
    upload = client.create_multipart_upload(Bucket="data", Key="mp/aborted")["UploadId"]
    for n in (1, 2):
        client.upload_part(Bucket="data", Key="mp/aborted", UploadId=upload, PartNumber=n, Body=body(MiB, n))
    assert len(bodies_on_disk(node) - before) == 2
    aws(node, node.key, "s3api", "abort-multipart-upload", "--bucket", "data", "--key", "mp/aborted", "--upload-id", upload)
    for call in (lambda: client.upload_part(Bucket="data", Key="mp/aborted", UploadId=upload, PartNumber=3, Body=b"x"),
                 lambda: client.list_parts(Bucket="data", Key="mp/aborted", UploadId=upload),
                 lambda: client.abort_multipart_upload(Bucket="data", Key="mp/aborted", UploadId=upload),
                 lambda: client.complete_multipart_upload(Bucket="data", Key="mp/aborted", UploadId=upload,
                                                          MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": '"x"'}]})):
        with pytest.raises(ClientError) as excinfo:
            call()
        assert error_code(excinfo) == "NoSuchUpload"
    with pytest.raises(ClientError) as unknown:
        client.list_parts(Bucket="data", Key="mp/aborted", UploadId="not-an-upload")
    assert error_code(unknown) == "NoSuchUpload"
    wait_until(lambda: bodies_on_disk(node) - before == set(), timeout=20, what="aborted parts collected")
    with pytest.raises(ClientError) as missing:
        client.head_object(Bucket="data", Key="mp/aborted")
    assert missing.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_list_multipart_uploads_pages_and_rolls_up(node):
    client = boto(node, node.key)
    made = []
    for key in ["lu/a/1", "lu/a/2", "lu/b", "lu/b", "lu/c/deep/x"]:
        made.append((key, client.create_multipart_upload(Bucket="data", Key=key)["UploadId"]))
    made.sort()
    seen, marker = [], {}
    while True:
        page = client.list_multipart_uploads(Bucket="data", Prefix="lu/", MaxUploads=2, **marker)
        seen += [(u["Key"], u["UploadId"]) for u in page.get("Uploads", [])]
        if not page["IsTruncated"]:
            break
        marker = {"KeyMarker": page["NextKeyMarker"], "UploadIdMarker": page["NextUploadIdMarker"]}
    assert seen == made
    rolled = client.list_multipart_uploads(Bucket="data", Prefix="lu/", Delimiter="/")
    assert [p["Prefix"] for p in rolled["CommonPrefixes"]] == ["lu/a/", "lu/c/"]
    assert [u["Key"] for u in rolled["Uploads"]] == ["lu/b", "lu/b"]
    for key, upload in made:
        client.abort_multipart_upload(Bucket="data", Key=key, UploadId=upload)
    assert "Uploads" not in client.list_multipart_uploads(Bucket="data", Prefix="lu/")


def crc32_b64(data: bytes) -> str:
    return base64.b64encode(struct.pack(">I", zlib.crc32(data))).decode()


def test_composite_and_full_object_checksums(node):
    client = boto(node, node.key)
    parts = [body(5 * MiB, 7), body(2 * MiB + 5, 8)]
    # COMPOSITE CRC32: the CRC32 of the parts' CRC32s, "-2".
    upload = client.create_multipart_upload(Bucket="data", Key="ck/composite", ChecksumAlgorithm="CRC32")["UploadId"]
    sent = []
    for n, data in enumerate(parts, 1):
        answer = client.upload_part(Bucket="data", Key="ck/composite", UploadId=upload, PartNumber=n, Body=data, ChecksumAlgorithm="CRC32")
        assert answer["ChecksumCRC32"] == crc32_b64(data)
        sent.append({"PartNumber": n, "ETag": answer["ETag"], "ChecksumCRC32": answer["ChecksumCRC32"]})
    listed = client.list_parts(Bucket="data", Key="ck/composite", UploadId=upload)
    assert [p["ChecksumCRC32"] for p in listed["Parts"]] == [crc32_b64(p) for p in parts]
    done = client.complete_multipart_upload(Bucket="data", Key="ck/composite", UploadId=upload, MultipartUpload={"Parts": sent})
    composite = crc32_b64(b"".join(base64.b64decode(crc32_b64(p)) for p in parts)) + "-2"
    assert done["ChecksumCRC32"] == composite
    head = client.head_object(Bucket="data", Key="ck/composite", ChecksumMode="ENABLED")
    assert head["ChecksumCRC32"] == composite and head["ChecksumType"] == "COMPOSITE"

    # FULL_OBJECT CRC32: the CRC of the whole body, combined from the parts' CRCs.
    upload = client.create_multipart_upload(Bucket="data", Key="ck/full", ChecksumAlgorithm="CRC32", ChecksumType="FULL_OBJECT")["UploadId"]
    sent = [{"PartNumber": n, "ETag": client.upload_part(Bucket="data", Key="ck/full", UploadId=upload, PartNumber=n, Body=data,
                                                          ChecksumAlgorithm="CRC32")["ETag"]} for n, data in enumerate(parts, 1)]
    done = client.complete_multipart_upload(Bucket="data", Key="ck/full", UploadId=upload, MultipartUpload={"Parts": sent})
    assert done["ChecksumCRC32"] == crc32_b64(b"".join(parts)) and done["ChecksumType"] == "FULL_OBJECT"
    got = client.get_object(Bucket="data", Key="ck/full", ChecksumMode="ENABLED")
    assert got["Body"].read() == b"".join(parts) and got["ChecksumCRC32"] == crc32_b64(b"".join(parts))

    # A part whose body does not match its checksum is refused and not recorded.
    upload = client.create_multipart_upload(Bucket="data", Key="ck/bad", ChecksumAlgorithm="CRC32")["UploadId"]
    with pytest.raises(ClientError) as bad:
        client.upload_part(Bucket="data", Key="ck/bad", UploadId=upload, PartNumber=1, Body=b"abc", ChecksumCRC32=crc32_b64(b"abd"))
    assert error_code(bad) == "BadDigest"
    assert "Parts" not in client.list_parts(Bucket="data", Key="ck/bad", UploadId=upload)
    client.abort_multipart_upload(Bucket="data", Key="ck/bad", UploadId=upload)


def test_uploaded_parts_survive_a_restart(node):
    client = boto(node, node.key)
    upload = client.create_multipart_upload(Bucket="data", Key="mp/restart")["UploadId"]
    first = body(5 * MiB, 31)
    etag1 = client.upload_part(Bucket="data", Key="mp/restart", UploadId=upload, PartNumber=1, Body=first)["ETag"]
    node.kill()
    node.start()
    client = boto(node, node.key)
    second = body(100, 32)
    etag2 = client.upload_part(Bucket="data", Key="mp/restart", UploadId=upload, PartNumber=2, Body=second)["ETag"]
    client.complete_multipart_upload(Bucket="data", Key="mp/restart", UploadId=upload, MultipartUpload={"Parts": [
        {"PartNumber": 1, "ETag": etag1}, {"PartNumber": 2, "ETag": etag2}]})
    assert client.get_object(Bucket="data", Key="mp/restart")["Body"].read() == first + second


def test_object_attributes_and_listing_details(node):
    client = boto(node, node.key)
    upload = client.create_multipart_upload(Bucket="data", Key="attr/mp", ChecksumAlgorithm="CRC32")["UploadId"]
    parts = [body(5 * MiB, 61), body(5 * MiB + 1, 62), body(10, 63)]
    done = [{"PartNumber": n, "ETag": client.upload_part(Bucket="data", Key="attr/mp", UploadId=upload, PartNumber=n, Body=p,
                                                         ChecksumAlgorithm="CRC32")["ETag"]} for n, p in enumerate(parts, 1)]
    client.complete_multipart_upload(Bucket="data", Key="attr/mp", UploadId=upload, MultipartUpload={"Parts": done})
    attributes = json.loads(aws(node, node.key, "s3api", "get-object-attributes", "--bucket", "data", "--key", "attr/mp",
                                "--object-attributes", "ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize",
                                "--max-parts", "2").stdout)
    assert attributes["ObjectSize"] == sum(len(p) for p in parts) and attributes["StorageClass"] == "STANDARD"
    assert attributes["ETag"] == multipart_etag(parts).strip('"')
    assert attributes["Checksum"]["ChecksumType"] == "COMPOSITE" and attributes["Checksum"]["ChecksumCRC32"].endswith("-3")
    object_parts = attributes["ObjectParts"]
    assert object_parts["TotalPartsCount"] == 3 and object_parts["IsTruncated"] is True
    assert [(p["PartNumber"], p["Size"], p["ChecksumCRC32"]) for p in object_parts["Parts"]] == \
        [(n, len(p), crc32_b64(p)) for n, p in enumerate(parts[:2], 1)]
    rest = client.get_object_attributes(Bucket="data", Key="attr/mp", ObjectAttributes=["ObjectParts"],
                                        PartNumberMarker=object_parts["NextPartNumberMarker"])
    assert [p["PartNumber"] for p in rest["ObjectParts"]["Parts"]] == [3]
    single = client.get_object_attributes(Bucket="data", Key="attr/mp", ObjectAttributes=["ObjectSize"])
    assert single["ObjectSize"] == sum(len(p) for p in parts) and "ETag" not in single

    # Listings: the checksum algorithm, the owner when asked, and a delimiter of several characters.
    client.put_object(Bucket="data", Key="attr/x--y--z", Body=b"1")
    client.put_object(Bucket="data", Key="attr/x--w", Body=b"2")
    listed = client.list_objects_v2(Bucket="data", Prefix="attr/", FetchOwner=True)
    by_key = {c["Key"]: c for c in listed["Contents"]}
    assert by_key["attr/mp"]["ChecksumAlgorithm"] == ["CRC32"]
    assert by_key["attr/x--w"]["Owner"]["ID"]
    assert "Owner" not in client.list_objects_v2(Bucket="data", Prefix="attr/")["Contents"][0]
    rolled = client.list_objects_v2(Bucket="data", Prefix="attr/x", Delimiter="--")
    assert [p["Prefix"] for p in rolled["CommonPrefixes"]] == ["attr/x--"]
    deeper = client.list_objects_v2(Bucket="data", Prefix="attr/x--", Delimiter="--")
    assert [p["Prefix"] for p in deeper["CommonPrefixes"]] == ["attr/x--y--"] and [c["Key"] for c in deeper["Contents"]] == ["attr/x--w"]


def test_concurrent_complete_and_abort_of_one_upload(node):
    """Issue 13's scenario 10: a completion and an abort race on one upload.
    Exactly one wins each time: the object exists whole and the abort finds
    no upload, or the abort went through and the completion finds none."""
    import threading
    client = boto(node, node.key)
    data = body(5 * MiB + 1, 90)
    for round_ in range(10):
        key = f"race/{round_}"
        upload = client.create_multipart_upload(Bucket="data", Key=key)["UploadId"]
        etag = client.upload_part(Bucket="data", Key=key, UploadId=upload, PartNumber=1, Body=data)["ETag"]
        outcome: dict[str, object] = {}

        def complete():
            try:
                boto(node, node.key).complete_multipart_upload(Bucket="data", Key=key, UploadId=upload,
                                                               MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
                outcome["complete"] = "ok"
            except ClientError as error:
                outcome["complete"] = error.response["Error"]["Code"]

        def abort():
            try:
                boto(node, node.key).abort_multipart_upload(Bucket="data", Key=key, UploadId=upload)
                outcome["abort"] = "ok"
            except ClientError as error:
                outcome["abort"] = error.response["Error"]["Code"]

        threads = [threading.Thread(target=complete), threading.Thread(target=abort)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(outcome.values()) == ["NoSuchUpload", "ok"], outcome
        if outcome["complete"] == "ok":
            assert client.get_object(Bucket="data", Key=key)["Body"].read() == data
        else:
            with pytest.raises(ClientError):
                client.head_object(Bucket="data", Key=key)
