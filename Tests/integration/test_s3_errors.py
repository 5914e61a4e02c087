"""Bad input on the S3 API gets S3's error XML with the right code and
status, and stores nothing: signatures, digests, lengths, ranges,
permissions, operations not offered."""
from __future__ import annotations

import base64
import hashlib
import http.client
import re
import time

import pytest
from botocore.exceptions import ClientError

from s3_clients import boto, create_key, provision, shard_files, sign
from shale_cluster import wait_until


@pytest.fixture
def node(cluster):
    node = cluster(1).start()
    node.cli("layout", "assign", "-z", "dc1", "-c", "10G", node.node_id)
    node.cli("layout", "apply", "--version", "1")
    node.cli("bucket", "create", "data")
    node.key = create_key(node, "writer")
    node.reader = create_key(node, "reader")
    node.cli("bucket", "allow", "--read", "--write", "data", "--key", "writer")
    node.cli("bucket", "allow", "--read", "data", "--key", "reader")
    return node


def raw(node, method: str, path: str, key=None, body: bytes = b"", headers: dict | None = None, **sign_args):
    host = f"{node.ip}:3900"
    signed = sign(method, host, path, key or node.key, headers, **sign_args)
    conn = http.client.HTTPConnection(node.ip, 3900, timeout=30)
    conn.request(method, path, body=body, headers=signed)
    response = conn.getresponse()
    return response.status, response.read().decode(errors="replace"), response


def code_of(text: str) -> str:
    match = re.search(r"<Code>([^<]*)</Code>", text)
    return match.group(1) if match else ""


def test_signature_errors(node):
    status, text, _ = raw(node, "GET", "/data", key=(node.key[0], "0" * 64))
    assert (status, code_of(text)) == (403, "SignatureDoesNotMatch")
    status, text, _ = raw(node, "GET", "/data", key=("GK" + "0" * 24, "0" * 64))
    assert (status, code_of(text)) == (403, "InvalidAccessKeyId")
    conn = http.client.HTTPConnection(node.ip, 3900, timeout=30)
    conn.request("GET", "/data")
    response = conn.getresponse()
    text = response.read().decode()
    assert (response.status, code_of(text)) == (403, "AccessDenied")
    assert "<RequestId>" in text and response.getheader("x-amz-request-id")


def test_payload_digest_mismatches_store_nothing(node):
    before = set(shard_files([node]))
    body = b"x" * 1_500_000
    status, text, _ = raw(node, "PUT", "/data/bad-sha", body=body, headers={"content-length": str(len(body))},
                          payload_hash=hashlib.sha256(b"other").hexdigest())
    assert (status, code_of(text)) == (400, "XAmzContentSHA256Mismatch")
    wrong_md5 = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    status, text, _ = raw(node, "PUT", "/data/bad-md5", body=body,
                          headers={"content-length": str(len(body)), "content-md5": wrong_md5})
    assert (status, code_of(text)) == (400, "BadDigest")
    status, text, _ = raw(node, "PUT", "/data/bad-md5", body=body, headers={"content-length": str(len(body)), "content-md5": "nope"})
    assert (status, code_of(text)) == (400, "InvalidDigest")
    client = boto(node, node.key)
    for key in ("bad-sha", "bad-md5"):
        with pytest.raises(ClientError) as missing:
            client.head_object(Bucket="data", Key=key)
        assert missing.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert set(shard_files([node])) == before
    # A good signed payload goes through.
    status, _, response = raw(node, "PUT", "/data/good", body=body, headers={"content-length": str(len(body))},
                              payload_hash=hashlib.sha256(body).hexdigest())
    assert status == 200 and response.getheader("etag") == f'"{hashlib.md5(body).hexdigest()}"'


def test_object_errors(node):
    client = boto(node, node.key)
    client.put_object(Bucket="data", Key="ten", Body=b"0123456789", ContentType="text/plain", Metadata={"owner": "dbt"})
    head = client.head_object(Bucket="data", Key="ten")
    assert head["ContentType"] == "text/plain" and head["Metadata"] == {"owner": "dbt"} and head["ContentLength"] == 10
    assert client.get_object(Bucket="data", Key="ten", Range="bytes=-3")["Body"].read() == b"789"
    with pytest.raises(ClientError) as bad_range:
        client.get_object(Bucket="data", Key="ten", Range="bytes=10-")
    assert bad_range.value.response["Error"]["Code"] == "InvalidRange"
    assert bad_range.value.response["ResponseMetadata"]["HTTPStatusCode"] == 416
    with pytest.raises(ClientError) as no_key:
        client.get_object(Bucket="data", Key="missing")
    assert no_key.value.response["Error"]["Code"] == "NoSuchKey"
    with pytest.raises(ClientError) as no_bucket:
        client.get_object(Bucket="nowhere", Key="x")
    assert no_bucket.value.response["Error"]["Code"] == "NoSuchBucket"
    with pytest.raises(ClientError) as long_key:
        client.put_object(Bucket="data", Key="k" * 1100, Body=b"")
    assert long_key.value.response["Error"]["Code"] == "KeyTooLongError"
    status, text, _ = raw(node, "PUT", "/data/no-length", headers={"transfer-encoding": "chunked"})
    assert (status, code_of(text)) == (411, "MissingContentLength")


def test_permissions_come_from_the_cluster_state(node):
    reader = boto(node, node.reader)
    boto(node, node.key).put_object(Bucket="data", Key="shared", Body=b"s")
    assert reader.get_object(Bucket="data", Key="shared")["Body"].read() == b"s"
    with pytest.raises(ClientError) as denied:
        reader.put_object(Bucket="data", Key="nope", Body=b"x")
    assert denied.value.response["Error"]["Code"] == "AccessDenied"
    with pytest.raises(ClientError) as denied_delete:
        boto(node, node.key).delete_bucket(Bucket="data")
    assert denied_delete.value.response["Error"]["Code"] == "AccessDenied"  # owner permission needed
    node.cli("bucket", "deny", "--read", "data", "--key", "reader")
    wait_until(lambda: _denied(reader), timeout=5, what="deny takes effect")
    assert [b["Name"] for b in reader.list_buckets()["Buckets"]] == []


def _denied(client) -> bool:
    try:
        client.get_object(Bucket="data", Key="shared")
        return False
    except ClientError as error:
        return error.response["Error"]["Code"] == "AccessDenied"


def test_operations_not_offered_say_so(node):
    client = boto(node, node.key)
    with pytest.raises(ClientError) as policy:
        client.get_bucket_policy(Bucket="data")
    assert policy.value.response["Error"]["Code"] == "NotImplemented"
    assert policy.value.response["ResponseMetadata"]["HTTPStatusCode"] == 501
    with pytest.raises(ClientError) as website:
        client.get_bucket_website(Bucket="data")
    assert website.value.response["Error"]["Code"] == "NotImplemented"


def test_bucket_lifecycle_and_listing_pages(node):
    client = boto(node, node.key)
    client.create_bucket(Bucket="warehouse")
    with pytest.raises(ClientError) as again:
        client.create_bucket(Bucket="warehouse")
    assert again.value.response["Error"]["Code"] == "BucketAlreadyOwnedByYou"
    with pytest.raises(ClientError) as bad:
        client.create_bucket(Bucket="Bad_Name")
    assert bad.value.response["Error"]["Code"] == "InvalidBucketName"
    keys = [f"t/p={i // 10}/f{i:03d}" for i in range(45)] + ["t/top", "u"]
    for key in keys:
        client.put_object(Bucket="warehouse", Key=key, Body=key.encode())
    client.delete_object(Bucket="warehouse", Key="t/p=0/f000")
    pages = list(client.get_paginator("list_objects_v2").paginate(Bucket="warehouse", PaginationConfig={"PageSize": 7}))
    assert [c["Key"] for p in pages for c in p.get("Contents", [])] == sorted(set(keys) - {"t/p=0/f000"})
    folders = client.list_objects_v2(Bucket="warehouse", Prefix="t/", Delimiter="/", MaxKeys=3)
    assert [p["Prefix"] for p in folders["CommonPrefixes"]] == ["t/p=0/", "t/p=1/", "t/p=2/"] and folders["IsTruncated"]
    rest = client.list_objects_v2(Bucket="warehouse", Prefix="t/", Delimiter="/", ContinuationToken=folders["NextContinuationToken"])
    assert [p["Prefix"] for p in rest["CommonPrefixes"]] == ["t/p=3/", "t/p=4/"]
    assert [c["Key"] for c in rest["Contents"]] == ["t/top"]
    v1 = client.list_objects(Bucket="warehouse", Prefix="t/p=1/", MaxKeys=4)
    assert len(v1["Contents"]) == 4 and v1["IsTruncated"]
    with pytest.raises(ClientError) as not_empty:
        client.delete_bucket(Bucket="warehouse")
    assert not_empty.value.response["Error"]["Code"] == "BucketNotEmpty"
    for key in keys:
        client.delete_object(Bucket="warehouse", Key=key)
    client.delete_bucket(Bucket="warehouse")
    assert "warehouse" not in [b["Name"] for b in client.list_buckets()["Buckets"]]


def test_a_healthy_read_never_waits_for_the_slow_shard_deadline(cluster):
    # Regression: the first block of every GET waited the whole deadline.
    node = cluster(2, extra="slow_shard_timeout_millis = 60000").start()
    key = provision([node], ["dc1"], "quick", "quick")
    client = boto(node, key)
    client.put_object(Bucket="quick", Key="k", Body=b"q" * 5000)
    started = time.time()
    for _ in range(3):
        assert client.get_object(Bucket="quick", Key="k")["Body"].read() == b"q" * 5000
    assert time.time() - started < 20


def test_a_client_that_hangs_up_mid_body_leaves_nothing(node):
    import socket

    before = set(shard_files([node]))
    size = 3 * (1 << 20)
    headers = sign("PUT", f"{node.ip}:3900", "/data/half", node.key, {"content-length": str(size)})
    with socket.create_connection((node.ip, 3900)) as conn:
        head = "PUT /data/half HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        conn.sendall(head.encode() + b"h" * (size // 2))
        time.sleep(0.5)
    client = boto(node, node.key)
    with pytest.raises(ClientError) as missing:
        client.head_object(Bucket="data", Key="half")
    assert missing.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    wait_until(lambda: set(shard_files([node])) == before, timeout=10, what="no shard file left")
    leftovers = [p for p in (node.data / "shards").rglob("*.tmp-*")]
    assert not leftovers
