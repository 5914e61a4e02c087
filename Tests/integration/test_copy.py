"""CopyObject and UploadPartCopy on a real node: the AWS CLI's copy-object,
metadata COPY and REPLACE, across buckets, conditions on the source,
sources of any size streamed and byte-exact, ranges into parts, and the
errors S3 gives (a copy onto itself, a source that is missing or not
readable)."""
from __future__ import annotations

import hashlib
import json

import pytest
from botocore.exceptions import ClientError

from s3_clients import aws, boto, create_key, make_file, md5_of_object
from test_s3_errors import node  # noqa: F401  (the one-node fixture)

MiB = 1 << 20


def error_code(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


def test_copy_object_with_the_aws_cli_and_boto3(node, tmp_path):
    client = boto(node, node.key)
    node.cli("bucket", "create", "other")
    node.cli("bucket", "allow", "--read", "--write", "other", "--key", "writer")
    digest = make_file(tmp_path / "src", 20 * MiB + 5, seed=9)
    with open(tmp_path / "src", "rb") as body:
        source = client.put_object(Bucket="data", Key="src/object", Body=body, ContentType="text/csv", Metadata={"team": "lake"},
                                   CacheControl="max-age=60")
    out = json.loads(aws(node, node.key, "s3api", "copy-object", "--bucket", "other", "--key", "copied",
                         "--copy-source", "data/src/object").stdout)
    assert out["CopyObjectResult"]["ETag"] == source["ETag"]  # a copy of a single-part source keeps its content ETag
    head = client.head_object(Bucket="other", Key="copied")
    assert head["ContentType"] == "text/csv" and head["Metadata"] == {"team": "lake"} and head["CacheControl"] == "max-age=60"
    assert md5_of_object(client, "other", "copied") == digest

    client.copy_object(Bucket="data", Key="src/replaced", CopySource={"Bucket": "data", "Key": "src/object"},
                       MetadataDirective="REPLACE", ContentType="application/json", Metadata={"team": "bi"})
    head = client.head_object(Bucket="data", Key="src/replaced")
    assert head["ContentType"] == "application/json" and head["Metadata"] == {"team": "bi"} and "CacheControl" not in head

    # Onto itself: only with REPLACE (S3 refuses a copy that changes nothing).
    with pytest.raises(ClientError) as itself:
        client.copy_object(Bucket="data", Key="src/object", CopySource="data/src/object")
    assert error_code(itself) == "InvalidRequest"
    client.copy_object(Bucket="data", Key="src/object", CopySource="data/src/object", MetadataDirective="REPLACE", Metadata={"v": "2"})
    assert client.head_object(Bucket="data", Key="src/object")["Metadata"] == {"v": "2"}
    assert md5_of_object(client, "data", "src/object") == digest

    # Conditions on the source.
    etag = client.head_object(Bucket="data", Key="src/object")["ETag"]
    client.copy_object(Bucket="data", Key="src/if", CopySource="data/src/object", CopySourceIfMatch=etag)
    for condition in ({"CopySourceIfMatch": '"' + "0" * 32 + '"'}, {"CopySourceIfNoneMatch": etag}):
        with pytest.raises(ClientError) as failed:
            client.copy_object(Bucket="data", Key="src/if-failed", CopySource="data/src/object", **condition)
        assert failed.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412
    with pytest.raises(ClientError):
        client.head_object(Bucket="data", Key="src/if-failed")

    # Missing source, unreadable source bucket.
    with pytest.raises(ClientError) as missing:
        client.copy_object(Bucket="data", Key="x", CopySource="data/no/such/key")
    assert error_code(missing) == "NoSuchKey"
    # A key that may write the destination but not read the source, and one that may read but not write.
    narrow = boto(node, create_key(node, "narrow"))
    node.cli("bucket", "allow", "--write", "other", "--key", "narrow")
    for who, bucket in ((narrow, "other"), (boto(node, node.reader), "data")):
        with pytest.raises(ClientError) as denied:
            who.copy_object(Bucket=bucket, Key="copy-denied", CopySource="data/src/object")
        assert error_code(denied) == "AccessDenied"


def test_multipart_source_and_upload_part_copy_with_ranges(node, tmp_path):
    client = boto(node, node.key)
    data = (hashlib.sha256(b"seed").digest() * (1 << 15)) * 12  # 12 MiB
    upload = client.create_multipart_upload(Bucket="data", Key="mp/source")["UploadId"]
    parts = [data[:6 * MiB], data[6 * MiB:]]
    etags = [client.upload_part(Bucket="data", Key="mp/source", UploadId=upload, PartNumber=n + 1, Body=p)["ETag"] for n, p in enumerate(parts)]
    client.complete_multipart_upload(Bucket="data", Key="mp/source", UploadId=upload,
                                     MultipartUpload={"Parts": [{"PartNumber": n + 1, "ETag": e} for n, e in enumerate(etags)]})
    # CopyObject of a multipart source: one body, the plain MD5 ETag.
    copied = client.copy_object(Bucket="data", Key="mp/flat", CopySource="data/mp/source")
    assert copied["CopyObjectResult"]["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'
    assert client.get_object(Bucket="data", Key="mp/flat")["Body"].read() == data

    # UploadPartCopy: ranges across the source's part boundary, into a new object.
    target = client.create_multipart_upload(Bucket="data", Key="mp/assembled")["UploadId"]
    ranges = [(MiB, 7 * MiB - 1), (0, 99)]
    copied_parts = []
    for n, (first, last) in enumerate(ranges, 1):
        answer = client.upload_part_copy(Bucket="data", Key="mp/assembled", UploadId=target, PartNumber=n,
                                         CopySource="data/mp/source", CopySourceRange=f"bytes={first}-{last}")
        copied_parts.append({"PartNumber": n, "ETag": answer["CopyPartResult"]["ETag"]})
    with pytest.raises(ClientError) as beyond:
        client.upload_part_copy(Bucket="data", Key="mp/assembled", UploadId=target, PartNumber=3, CopySource="data/mp/source",
                                CopySourceRange=f"bytes=0-{len(data)}")
    assert beyond.value.response["ResponseMetadata"]["HTTPStatusCode"] in (400, 416)
    client.complete_multipart_upload(Bucket="data", Key="mp/assembled", UploadId=target, MultipartUpload={"Parts": copied_parts})
    expected = b"".join(data[first:last + 1] for first, last in ranges)
    assert client.get_object(Bucket="data", Key="mp/assembled")["Body"].read() == expected
