"""SSE-C with boto3 against a real node: the shard files hold no plaintext
of a known body, the right key reads it back, a wrong key or none gets no
bytes, and over plain HTTP the key is refused unless the node allows it."""
from __future__ import annotations

import os

import pytest
from botocore.exceptions import ClientError

from s3_clients import boto, shard_files, single_node


def start(cluster, allow: bool, monkeypatch):
    if allow:
        monkeypatch.setenv("SHALE_S3_SSE_C_ALLOW_HTTP", "true")
    else:
        monkeypatch.delenv("SHALE_S3_SSE_C_ALLOW_HTTP", raising=False)
    return single_node(cluster)


def test_sse_c_objects_are_ciphertext_on_disk_and_need_their_key(cluster, monkeypatch):
    node = start(cluster, True, monkeypatch)
    client = boto(node, node.key)
    key, other = os.urandom(32), os.urandom(32)
    line = b"confidential ledger line %08d\n"
    body = b"".join(line % i for i in range(120_000))  # 3.6 MB: four shard blocks
    small = b"a small secret kept inline in its row\n" * 10
    client.put_object(Bucket="data", Key="ledger", Body=body, SSECustomerAlgorithm="AES256", SSECustomerKey=key)
    client.put_object(Bucket="data", Key="note", Body=small, SSECustomerAlgorithm="AES256", SSECustomerKey=key)

    got = client.get_object(Bucket="data", Key="ledger", SSECustomerAlgorithm="AES256", SSECustomerKey=key)
    assert got["Body"].read() == body and got["SSECustomerAlgorithm"] == "AES256"
    ranged = client.get_object(Bucket="data", Key="ledger", Range="bytes=1000000-1000099", SSECustomerAlgorithm="AES256", SSECustomerKey=key)
    assert ranged["Body"].read() == body[1_000_000:1_000_100]
    assert client.get_object(Bucket="data", Key="note", SSECustomerAlgorithm="AES256", SSECustomerKey=key)["Body"].read() == small

    for kwargs, status in (({"SSECustomerAlgorithm": "AES256", "SSECustomerKey": other}, 403), ({}, 400)):
        with pytest.raises(ClientError) as refused:
            client.get_object(Bucket="data", Key="ledger", **kwargs)
        assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == status

    files = shard_files([node])
    assert files, "the large object is in shards"
    for path in files:
        data = path.read_bytes()
        assert b"confidential ledger line" not in data, f"plaintext in {path}"
    for path in node.meta.rglob("*"):
        if path.is_file():
            assert b"a small secret kept inline" not in path.read_bytes(), f"plaintext in {path}"


def test_sse_c_over_plain_http_is_refused_by_default(cluster, monkeypatch):
    node = start(cluster, False, monkeypatch)
    client = boto(node, node.key)
    with pytest.raises(ClientError) as refused:
        client.put_object(Bucket="data", Key="k", Body=b"x", SSECustomerAlgorithm="AES256", SSECustomerKey=os.urandom(32))
    assert refused.value.response["Error"]["Code"] == "InvalidRequest"
    assert "Contents" not in client.list_objects_v2(Bucket="data")


def test_sse_c_multipart_uploads_and_copies(cluster, monkeypatch):
    node = start(cluster, True, monkeypatch)
    client = boto(node, node.key)
    key, other = os.urandom(32), os.urandom(32)
    sse = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": key}
    line = b"multipart secret row %08d\n"
    first = b"".join(line % i for i in range(200_000))[: 5 << 20]
    second = b"".join(line % i for i in range(200_000, 230_000))
    upload = client.create_multipart_upload(Bucket="data", Key="mp", **sse)
    with pytest.raises(ClientError) as keyless:
        client.upload_part(Bucket="data", Key="mp", UploadId=upload["UploadId"], PartNumber=1, Body=first)
    assert keyless.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    parts = []
    for number, body in ((1, first), (2, second)):
        answer = client.upload_part(Bucket="data", Key="mp", UploadId=upload["UploadId"], PartNumber=number, Body=body, **sse)
        parts.append({"PartNumber": number, "ETag": answer["ETag"]})
    client.complete_multipart_upload(Bucket="data", Key="mp", UploadId=upload["UploadId"], MultipartUpload={"Parts": parts})
    whole = first + second
    assert client.get_object(Bucket="data", Key="mp", **sse)["Body"].read() == whole
    across = client.get_object(Bucket="data", Key="mp", Range=f"bytes={len(first) - 50}-{len(first) + 49}", **sse)["Body"].read()
    assert across == whole[len(first) - 50:len(first) + 50]
    with pytest.raises(ClientError):
        client.get_object(Bucket="data", Key="mp")
    for path in shard_files([node]):
        assert b"multipart secret row" not in path.read_bytes(), f"plaintext in {path}"

    # A copy reads the source with its key and writes the copy under another.
    client.copy_object(Bucket="data", Key="mp-copy", CopySource="data/mp", CopySourceSSECustomerAlgorithm="AES256",
                       CopySourceSSECustomerKey=key, SSECustomerAlgorithm="AES256", SSECustomerKey=other)
    assert client.get_object(Bucket="data", Key="mp-copy", SSECustomerAlgorithm="AES256", SSECustomerKey=other)["Body"].read() == whole
    with pytest.raises(ClientError) as sourceless:
        client.copy_object(Bucket="data", Key="leak", CopySource="data/mp")
    assert sourceless.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "leak" not in [o["Key"] for o in client.list_objects_v2(Bucket="data")["Contents"]]
