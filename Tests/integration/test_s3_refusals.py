"""Shale never answers "done" for work it did not do: every row of the
refusal table (Docs/s3-api.md, the same table the router uses) and every S3
sub-resource Shale does not offer is refused on a real node with nothing
stored, changed or left on disk; and what ordinary clients send is not
refused. Also the regression tests of issue 10's bugs."""
from __future__ import annotations

import base64
import hashlib
import http.client
import os
import re
import socket
import time
import urllib.parse
import zlib
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from s3_clients import aws, boto, shard_files, sign
from test_s3_errors import code_of, node  # noqa: F401  (the one-node fixture)

DOCS = Path(__file__).resolve().parents[2] / "Docs" / "s3-api.md"
TARGETS = {"existing object": "/data/existing", "new object": "/data/fresh", "existing bucket": "/data", "new bucket": "/fresh-bucket"}
ORIGINAL = b"the original bytes"


def refusal_rows() -> list[dict]:
    text = DOCS.read_text()
    table = text.split("<!-- refusals:begin -->\n", 1)[1].split("\n<!-- refusals:end -->", 1)[0]
    rows = []
    for line in table.splitlines()[2:]:
        cells = [c.strip() for c in line.strip("|").split(" | ")]
        status, code = cells[3].split(" ", 1)
        method_target, field = cells[4].split(" · ", 1)
        method, target = method_target.split(" ", 1)
        rows.append({"field": cells[0], "status": int(status), "code": code, "method": method, "target": target, "probe": field})
    return rows


def send(node, method: str, path: str, headers: dict[str, str] | None = None, query: dict[str, str] | None = None,
         body: bytes = b"", key=None, timeout: float = 30) -> tuple[int, str, http.client.HTTPResponse]:
    """A SigV4-signed request (UNSIGNED-PAYLOAD) with any headers and query."""
    query = query or {}
    canonical = "&".join(f"{urllib.parse.quote(k, safe='-_.~')}={urllib.parse.quote(v, safe='-_.~')}" for k, v in sorted(query.items()))
    extra = {k.lower(): v for k, v in (headers or {}).items()}
    if method in ("PUT", "POST") and "transfer-encoding" not in extra:
        extra.setdefault("content-length", str(len(body)))
    signed = sign(method, f"{node.ip}:3900", path, key or node.key, extra, query=canonical)
    conn = http.client.HTTPConnection(node.ip, 3900, timeout=timeout)
    conn.request(method, path + (f"?{canonical}" if canonical else ""), body=body, headers=signed)
    response = conn.getresponse()
    return response.status, response.read().decode(errors="replace"), response


def snapshot(node, client) -> dict:
    """What a refused request must not change: objects, buckets, files on disk."""
    listing = client.list_objects_v2(Bucket="data").get("Contents", [])
    files = sorted(str(p.relative_to(node.data)) for p in node.data.rglob("*") if p.is_file())
    return {
        "objects": sorted((o["Key"], o["ETag"], o["Size"]) for o in listing),
        "buckets": sorted(b["Name"] for b in client.list_buckets()["Buckets"]),
        "existing": client.get_object(Bucket="data", Key="existing")["Body"].read(),
        "shards": sorted(map(str, shard_files([node]))),
        "temp files": [f for f in files if ".tmp-" in f],
    }


def test_every_row_of_the_refusal_table_is_refused_and_changes_nothing(node):
    client = boto(node, node.key)
    client.put_object(Bucket="data", Key="existing", Body=ORIGINAL)
    before = snapshot(node, client)
    rows = refusal_rows()
    assert len(rows) >= 25
    for row in rows:
        headers, query = {}, {}
        if row["probe"].startswith("?"):
            name, _, value = row["probe"][1:].partition("=")
            query[name] = value
        else:
            name, _, value = row["probe"].partition(": ")
            headers[name] = value
        body = b"probe" if row["method"] == "PUT" and "object" in row["target"] else b""
        status, text, response = send(node, row["method"], TARGETS[row["target"]], headers, query, body)
        assert (status, code_of(text)) == (row["status"], row["code"]), f"{row['field']}: {status} {text}"
        assert name.lower() in text.lower(), f"the answer names {name}: {text}"
    after = snapshot(node, client)
    assert after == before
    assert after["existing"] == ORIGINAL and after["temp files"] == []


# S3's sub-resources (AWS's API reference), none of which Shale offers yet.
BUCKET_SUBRESOURCES = ["accelerate", "analytics", "delete", "encryption", "intelligent-tiering", "inventory",
                       "logging", "metrics", "notification", "object-lock", "ownershipControls", "policy",
                       "policyStatus", "publicAccessBlock", "replication", "requestPayment", "uploads",
                       "versions", "website"]
OBJECT_SUBRESOURCES = ["attributes", "legal-hold", "restore", "retention", "select", "torrent", "uploads"]
# Offered: DeleteObjects, ListMultipartUploads, CreateMultipartUpload, GetObjectAttributes (their own tests);
# ?acl, ?tagging and ?cors are in test_tagging_cors_acl.py, ?lifecycle in test_lifecycle.py, ?versioning and
# ListObjectVersions (GET ?versions) in test_versioning.py.
OFFERED = {("/data", "delete", "POST"), ("/data", "uploads", "GET"), ("/data/existing", "uploads", "POST"),
           ("/data/existing", "attributes", "GET"), ("/data", "versions", "GET")}


def test_every_subresource_not_offered_is_refused_and_changes_nothing(node):
    client = boto(node, node.key)
    client.put_object(Bucket="data", Key="existing", Body=ORIGINAL)
    before = snapshot(node, client)
    for path, names in (("/data", BUCKET_SUBRESOURCES), ("/data/existing", OBJECT_SUBRESOURCES)):
        for sub in names:
            for method in ("GET", "PUT", "POST", "DELETE"):
                if (path, sub, method) in OFFERED:
                    continue
                status, text, _ = send(node, method, path, query={sub: ""})
                assert (status, code_of(text)) == (501, "NotImplemented"), f"{method} {path}?{sub}: {status} {text}"
    # partNumber on a PUT belongs to UploadPart, which needs an upload: never a PUT of the object.
    status, text, _ = send(node, "PUT", "/data/existing", query={"partNumber": "1"}, body=b"x")
    assert (status, code_of(text)) == (400, "InvalidArgument")
    assert snapshot(node, client) == before


def crc32_b64(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def test_what_ordinary_clients_send_is_not_refused(node, tmp_path):
    client = boto(node, node.key)  # boto3's defaults: CRC32 checksum on every PUT, checksum mode on GET
    body = os.urandom(300_000)
    put = client.put_object(Bucket="data", Key="sdk", Body=body)
    assert put["ChecksumCRC32"] == crc32_b64(body)
    got = client.get_object(Bucket="data", Key="sdk")
    assert got["Body"].read() == body and got["ChecksumCRC32"] == crc32_b64(body)
    for algorithm in ("CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"):
        client.put_object(Bucket="data", Key=f"sdk-{algorithm}", Body=body, ChecksumAlgorithm=algorithm)
        got = client.get_object(Bucket="data", Key=f"sdk-{algorithm}", ChecksumMode="ENABLED")
        assert got["Body"].read() == body and f"Checksum{algorithm}" in got  # boto3 validated it while reading
    assert client.head_object(Bucket="data", Key="sdk")["ContentLength"] == len(body)
    assert [o["Key"] for o in client.list_objects_v2(Bucket="data", Prefix="sdk")["Contents"]][0] == "sdk"
    client.delete_object(Bucket="data", Key="sdk")

    # The headers SDKs add to ordinary requests, sent by hand with a correct checksum.
    ordinary = {"amz-sdk-invocation-id": "7b6e3c1e-0000-4000-8000-000000000000", "amz-sdk-request": "attempt=1; max=3",
                "x-amz-user-agent": "aws-sdk-cpp/1.11", "x-amz-sdk-checksum-algorithm": "CRC32",
                "x-amz-checksum-crc32": crc32_b64(b"hello"), "content-md5": base64.b64encode(hashlib.md5(b"hello").digest()).decode(),
                "x-amz-acl": "private", "x-amz-storage-class": "STANDARD", "x-amz-request-payer": "requester",
                "content-type": "text/plain", "expect": "100-continue"}
    status, text, _ = send(node, "PUT", "/data/by-hand", ordinary, body=b"hello")
    assert status == 200, text

    # The AWS CLI, high level and low level.
    source = tmp_path / "cli.bin"
    source.write_bytes(body)
    aws(node, node.key, "s3", "cp", str(source), "s3://data/cli.bin")
    aws(node, node.key, "s3", "cp", "s3://data/cli.bin", str(tmp_path / "back.bin"))
    assert (tmp_path / "back.bin").read_bytes() == body
    aws(node, node.key, "s3api", "put-object", "--bucket", "data", "--key", "cli-c", "--body", str(source),
        "--checksum-algorithm", "CRC32C")
    assert "cli.bin" in aws(node, node.key, "s3", "ls", "s3://data/").stdout



def test_a_wrong_checksum_stores_nothing(node):
    client = boto(node, node.key)
    before = sorted(map(str, shard_files([node])))
    for algorithm, good in (("crc32", crc32_b64(b"other")), ("sha256", base64.b64encode(hashlib.sha256(b"other").digest()).decode())):
        status, text, _ = send(node, "PUT", f"/data/bad-{algorithm}", {f"x-amz-checksum-{algorithm}": good}, body=b"x" * 1_500_000)
        assert (status, code_of(text)) == (400, "BadDigest"), text
        assert f"x-amz-checksum-{algorithm}" in text
    status, text, _ = send(node, "PUT", "/data/two", {"x-amz-checksum-crc32": crc32_b64(b"a"), "x-amz-checksum-crc32c": "AAAAAA=="},
                           body=b"a")
    assert (status, code_of(text)) == (400, "InvalidRequest")
    status, text, _ = send(node, "PUT", "/data/short", {"x-amz-checksum-sha1": "AAAAAA=="}, body=b"a")
    assert (status, code_of(text)) == (400, "InvalidRequest")
    assert client.list_objects_v2(Bucket="data").get("KeyCount") == 0
    assert sorted(map(str, shard_files([node]))) == before


# --- issue 10's misexecutions, run as a user would -------------------------------------------------

def test_copy_object_stores_the_bytes_never_an_empty_object(node, tmp_path):
    """Issue 10's first bug: a copy answered 200 and stored an empty object.
    Refused until CopyObject was built; now it copies every byte."""
    source = tmp_path / "f5m"
    source.write_bytes(os.urandom(5_000_000))
    aws(node, node.key, "s3api", "put-object", "--bucket", "data", "--key", "f5m", "--body", str(source))
    aws(node, node.key, "s3api", "copy-object", "--copy-source", "data/f5m", "--bucket", "data", "--key", "f5m-copy")
    aws(node, node.key, "s3api", "get-object", "--bucket", "data", "--key", "f5m-copy", str(tmp_path / "back"))
    assert (tmp_path / "back").read_bytes() == source.read_bytes()


def test_conditional_put_and_conditional_get_are_honoured(node):
    """Issue 10: If-None-Match on PUT was ignored (the object overwritten);
    then refused; now evaluated atomically."""
    client = boto(node, node.key)
    client.put_object(Bucket="data", Key="k", Body=b"original")
    with pytest.raises(ClientError) as put:
        client.put_object(Bucket="data", Key="k", Body=b"new", IfNoneMatch="*")
    assert put.value.response["Error"]["Code"] == "PreconditionFailed"
    assert client.get_object(Bucket="data", Key="k")["Body"].read() == b"original"
    head = client.head_object(Bucket="data", Key="k")
    etag, modified = head["ETag"], head["LastModified"]

    def status_of(call, **conditions) -> int:
        try:
            return call(Bucket="data", Key="k", **conditions)["ResponseMetadata"]["HTTPStatusCode"]
        except ClientError as error:
            return int(error.response["ResponseMetadata"]["HTTPStatusCode"])

    past = modified.replace(year=2000)
    future = modified.replace(year=2099)
    for call in (client.get_object, client.head_object):
        assert status_of(call, IfMatch='"wrong"') == 412
        assert status_of(call, IfMatch=etag) == 200
        assert status_of(call, IfNoneMatch=etag) == 304
        assert status_of(call, IfNoneMatch='"other"') == 200
        assert status_of(call, IfModifiedSince=future) == 304
        assert status_of(call, IfModifiedSince=past) == 200
        assert status_of(call, IfUnmodifiedSince=past) == 412
        assert status_of(call, IfUnmodifiedSince=future) == 200
        assert status_of(call, IfMatch=etag, IfUnmodifiedSince=past) == 200  # RFC 7232: If-Match decides
    with pytest.raises(ClientError) as wrong:
        client.get_object(Bucket="data", Key="k", IfMatch='"wrong"')
    assert wrong.value.response["Error"]["Code"] == "PreconditionFailed"
    with pytest.raises(ClientError) as delete:
        client.delete_object(Bucket="data", Key="k", IfMatch=etag)
    assert delete.value.response["Error"]["Code"] == "NotImplemented"
    assert client.get_object(Bucket="data", Key="k")["Body"].read() == b"original"


def test_encryption_is_refused_never_stored_in_plaintext(node):
    client = boto(node, node.key)
    before = sorted(map(str, shard_files([node])))
    # SSE-C is offered (test_sse_c.py), but not over plain HTTP unless the node allows it.
    with pytest.raises(ClientError) as sse_c:
        client.put_object(Bucket="data", Key="secret", Body=b"plain", SSECustomerAlgorithm="AES256", SSECustomerKey=os.urandom(32))
    assert sse_c.value.response["Error"]["Code"] == "InvalidRequest"
    for kind in ({"ServerSideEncryption": "AES256"}, {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": "k"}):
        with pytest.raises(ClientError) as sse:
            client.put_object(Bucket="data", Key="secret", Body=b"plain", **kind)
        assert sse.value.response["Error"]["Code"] == "NotImplemented"
    with pytest.raises(ClientError) as missing:
        client.get_object(Bucket="data", Key="secret")
    assert missing.value.response["Error"]["Code"] == "NoSuchKey"
    assert sorted(map(str, shard_files([node]))) == before


# --- issue 10's correctness bugs ---------------------------------------------------------------------

def raw_put_bytes(node, path: str, header: str, value: bytes) -> None:
    """A PUT whose header value is sent as raw bytes and signed over those bytes."""
    headers = sign("PUT", f"{node.ip}:3900", path, node.key, {header: value.decode("utf-8"), "content-length": "2"})
    conn = http.client.HTTPConnection(node.ip, 3900, timeout=30)
    conn.putrequest("PUT", path, skip_host=True, skip_accept_encoding=True)
    for name, text in headers.items():
        conn.putheader(name, text.encode("utf-8"))
    conn.endheaders(b"hi")
    assert conn.getresponse().status == 200


def raw_header_bytes(node, path: str, header: str) -> bytes:
    headers = sign("HEAD", f"{node.ip}:3900", path, node.key)
    conn = http.client.HTTPConnection(node.ip, 3900, timeout=30)
    conn.request("HEAD", path, headers=headers)
    response = conn.getresponse()
    response.read()
    # http.client decodes header bytes as Latin-1: encoding back gives the bytes on the wire.
    return response.getheader(header).encode("latin-1")


def test_user_metadata_comes_back_byte_for_byte(node):
    raw_put_bytes(node, "/data/utf8", "x-amz-meta-x", "Hello Worldé".encode())
    assert raw_header_bytes(node, "/data/utf8", "x-amz-meta-x") == "Hello Worldé".encode()
    encoded_word = b"=?UTF-8?B?SGVsbG8gV29ybGTDqQ==?="
    raw_put_bytes(node, "/data/rfc2047", "x-amz-meta-x", encoded_word)
    assert raw_header_bytes(node, "/data/rfc2047", "x-amz-meta-x") == encoded_word


def test_content_headers_are_stored_and_returned(node):
    client = boto(node, node.key)
    client.put_object(Bucket="data", Key="h", Body=b"x", CacheControl="max-age=60", ContentDisposition='attachment; filename="a.csv"',
                      ContentEncoding="gzip", ContentLanguage="de-CH", Expires="Thu, 01 Jan 2099 00:00:00 GMT")
    for answer in (client.head_object(Bucket="data", Key="h"), client.get_object(Bucket="data", Key="h")):
        assert answer["CacheControl"] == "max-age=60"
        assert answer["ContentDisposition"] == 'attachment; filename="a.csv"'
        assert answer["ContentEncoding"] == "gzip"
        assert answer["ContentLanguage"] == "de-CH"
        assert answer["ResponseMetadata"]["HTTPHeaders"]["expires"] == "Thu, 01 Jan 2099 00:00:00 GMT"


def test_a_prefix_with_a_newline_is_listed_as_sent(node):
    client = boto(node, node.key)
    client.put_object(Bucket="data", Key="a\nb", Body=b"n")
    v1 = client.list_objects(Bucket="data", Prefix="a\n")  # boto3 asks for encoding-type=url itself
    assert v1["Prefix"] == "a\n" and [c["Key"] for c in v1["Contents"]] == ["a\nb"]
    v2 = client.list_objects_v2(Bucket="data", Prefix="a\n")
    assert v2["Prefix"] == "a\n" and [c["Key"] for c in v2["Contents"]] == ["a\nb"]
    status, text, _ = send(node, "GET", "/data", query={"prefix": "a\n"})
    assert status == 200 and "<Prefix>a\n</Prefix>" in text and "%0A" not in text


def expect_continue(node, key, path: str, extra: dict[str, str] | None = None) -> tuple[bytes, bytes]:
    """Sends only the head of a PUT with Expect: 100-continue; returns the first answer and what follows it."""
    headers = sign("PUT", f"{node.ip}:3900", path, key, {"content-length": "5", "expect": "100-continue", **(extra or {})})
    with socket.create_connection((node.ip, 3900), timeout=10) as conn:
        conn.sendall((f"PUT {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n").encode())
        first = conn.recv(65536)
        if first.startswith(b"HTTP/1.1 100"):
            conn.sendall(b"hello")
            return first, conn.recv(65536)
        conn.settimeout(5)
        return first, conn.recv(65536)  # b"" once the node closed the connection


def test_100_continue_comes_only_after_authentication_and_authorization(node):
    first, then = expect_continue(node, node.key, "/data/cont")
    assert first.startswith(b"HTTP/1.1 100") and then.startswith(b"HTTP/1.1 200")
    for key, path, extra, status in (((node.key[0], "0" * 64), "/data/c1", None, b"403"),
                                     (node.reader, "/data/c2", None, b"403"),
                                     (node.key, "/data/c3", {"x-amz-website-redirect-location": "/b"}, b"501")):
        started = time.time()
        first, then = expect_continue(node, key, path, extra)
        assert first.startswith(b"HTTP/1.1 " + status), first
        assert b"connection: close" in first.lower() and then == b""
        assert time.time() - started < 3
    client = boto(node, node.key)
    assert [o["Key"] for o in client.list_objects_v2(Bucket="data").get("Contents", [])] == ["cont"]


def test_list_buckets_pages(node):
    client = boto(node, node.key)
    for name in ("lake-a", "lake-b", "lake-c", "other"):
        client.create_bucket(Bucket=name)
    first = client.list_buckets(MaxBuckets=2, Prefix="lake-")
    assert [b["Name"] for b in first["Buckets"]] == ["lake-a", "lake-b"] and first["Prefix"] == "lake-"
    second = client.list_buckets(MaxBuckets=2, Prefix="lake-", ContinuationToken=first["ContinuationToken"])
    assert [b["Name"] for b in second["Buckets"]] == ["lake-c"] and "ContinuationToken" not in second
    assert [b["Name"] for b in client.list_buckets()["Buckets"]] == ["data", "lake-a", "lake-b", "lake-c", "other"]
    names = [b["Name"] for page in client.get_paginator("list_buckets").paginate(PaginationConfig={"PageSize": 2})
             for b in page["Buckets"]]
    assert names == ["data", "lake-a", "lake-b", "lake-c", "other"]
    status, text, _ = send(node, "GET", "/", query={"max-buckets": "0"})
    assert (status, code_of(text)) == (400, "InvalidArgument")


def test_date_header_without_x_amz_date_and_with_it(node):
    import datetime
    import hmac

    def signed_with(date_headers: dict[str, str], amz_date: str) -> int:
        headers = {"host": f"{node.ip}:3900", "x-amz-content-sha256": "UNSIGNED-PAYLOAD", **date_headers}
        names = sorted(headers)
        canonical = "\n".join(["GET", "/data", "", *(f"{n}:{headers[n]}" for n in names), "", ";".join(names), "UNSIGNED-PAYLOAD"])
        scope = f"{amz_date[:8]}/us-east-1/s3/aws4_request"
        to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
        k = ("AWS4" + node.key[1]).encode()
        for part in (amz_date[:8], "us-east-1", "s3", "aws4_request"):
            k = hmac.new(k, part.encode(), hashlib.sha256).digest()
        signature = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
        headers["authorization"] = f"AWS4-HMAC-SHA256 Credential={node.key[0]}/{scope}, SignedHeaders={';'.join(names)}, Signature={signature}"
        conn = http.client.HTTPConnection(node.ip, 3900, timeout=30)
        conn.request("GET", "/data", headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status

    now = datetime.datetime.now(datetime.timezone.utc)
    amz = now.strftime("%Y%m%dT%H%M%SZ")
    http_date = now.strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert signed_with({"date": http_date}, amz) == 200
    assert signed_with({"date": (now - datetime.timedelta(hours=2)).strftime("%a, %d %b %Y %H:%M:%S GMT"), "x-amz-date": amz}, amz) == 200


def test_chunked_put_is_told_to_send_a_length(node):
    status, text, _ = send(node, "PUT", "/data/streamed", {"transfer-encoding": "chunked"})
    assert (status, code_of(text)) == (411, "MissingContentLength")
    message = re.search(r"<Message>([^<]*)</Message>", text).group(1)
    assert "Content-Length" in message and "Transfer-Encoding: chunked" in message


def test_delete_objects(node, tmp_path):
    """DeleteObjects with boto3 (which sends a checksum of the body) and the AWS CLI; Quiet; a malformed version id refused per key."""
    client = boto(node, node.key)
    for i in range(5):
        client.put_object(Bucket="data", Key=f"batch/{i}", Body=b"x")
    answer = client.delete_objects(Bucket="data", Delete={"Objects": [{"Key": f"batch/{i}"} for i in range(3)] + [{"Key": "never"}]})
    assert sorted(d["Key"] for d in answer["Deleted"]) == ["batch/0", "batch/1", "batch/2", "never"]
    assert "Errors" not in answer
    quiet = client.delete_objects(Bucket="data", Delete={"Objects": [{"Key": "batch/3"}], "Quiet": True})
    assert "Deleted" not in quiet and "Errors" not in quiet
    versioned = client.delete_objects(Bucket="data", Delete={"Objects": [{"Key": "batch/4", "VersionId": "v1"}]})
    assert versioned["Errors"][0]["Code"] == "InvalidArgument" and versioned["Errors"][0]["VersionId"] == "v1"
    assert [o["Key"] for o in client.list_objects_v2(Bucket="data", Prefix="batch/")["Contents"]] == ["batch/4"]
    request = tmp_path / "delete.json"
    request.write_text('{"Objects": [{"Key": "batch/4"}]}')
    out = aws(node, node.key, "s3api", "delete-objects", "--bucket", "data", "--delete", f"file://{request}").stdout
    assert "batch/4" in out
    assert client.list_objects_v2(Bucket="data", Prefix="batch/").get("KeyCount") == 0
    status, text, _ = send(node, "POST", "/data", query={"delete": ""}, body=b"<Delete></Delete>")
    assert (status, code_of(text)) == (400, "MalformedXML")


def test_presigned_urls_with_curl(node, tmp_path):
    """Presigned GET and PUT used with curl; an expired URL and a tampered signature are refused and store nothing."""
    import subprocess

    import boto3
    from botocore.config import Config

    client = boto(node, node.key)
    client.put_object(Bucket="data", Key="shared.csv", Body=b"a,b\n1,2\n")
    # Presigned URLs are SigV4 (boto3 would sign them with the old SigV2 unless told).
    signer = boto3.client("s3", endpoint_url=f"http://{node.ip}:3900", aws_access_key_id=node.key[0], aws_secret_access_key=node.key[1],
                          region_name="us-east-1", config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))
    get_url = signer.generate_presigned_url("get_object", Params={"Bucket": "data", "Key": "shared.csv"}, ExpiresIn=600)
    got = subprocess.run(["curl", "-sS", "-f", get_url], capture_output=True, timeout=30)
    assert got.returncode == 0 and got.stdout == b"a,b\n1,2\n", got.stderr
    upload = tmp_path / "up.bin"
    upload.write_bytes(os.urandom(100_000))
    put_url = signer.generate_presigned_url("put_object", Params={"Bucket": "data", "Key": "uploaded.bin"}, ExpiresIn=600)
    put = subprocess.run(["curl", "-sS", "-f", "-X", "PUT", "-T", str(upload), put_url], capture_output=True, timeout=30)
    assert put.returncode == 0, put.stderr
    assert client.get_object(Bucket="data", Key="uploaded.bin")["Body"].read() == upload.read_bytes()
    before = sorted(map(str, shard_files([node])))
    tampered = put_url.replace("uploaded.bin", "other.bin")
    refused = subprocess.run(["curl", "-sS", "-X", "PUT", "-T", str(upload), tampered], capture_output=True, timeout=30)
    assert b"<Code>SignatureDoesNotMatch</Code>" in refused.stdout
    expired_url = signer.generate_presigned_url("put_object", Params={"Bucket": "data", "Key": "late.bin"}, ExpiresIn=1)
    time.sleep(2.5)
    expired = subprocess.run(["curl", "-sS", "-w", "%{http_code}", "-X", "PUT", "-T", str(upload), expired_url], capture_output=True, timeout=30)
    assert expired.stdout.endswith(b"403") and b"Request has expired" in expired.stdout
    with pytest.raises(ClientError):
        client.head_object(Bucket="data", Key="other.bin")
    with pytest.raises(ClientError):
        client.head_object(Bucket="data", Key="late.bin")
    assert sorted(map(str, shard_files([node]))) == before


def test_virtual_host_addressing(cluster):
    """With [s3_api] root_domain, BUCKET.<root_domain> in the Host names the bucket (raw SigV4 requests: no DNS needed)."""
    from s3_clients import create_key

    node = cluster(3)
    node.config.write_text(node.config.read_text().replace("[s3_api]\n", '[s3_api]\nroot_domain = "s3.test"\n'))
    node.start()
    node.cli("layout", "assign", "-z", "dc1", "-c", "10G", node.node_id)
    node.cli("layout", "apply", "--version", "1")
    node.cli("bucket", "create", "lake")
    node.key = create_key(node, "vh")
    node.cli("bucket", "allow", "--read", "--write", "lake", "--key", "vh")

    def virtual(method: str, path: str, body: bytes = b"", query: str = ""):
        host = "lake.s3.test:3900"
        headers = sign(method, host, path, node.key, {"content-length": str(len(body))} if method == "PUT" else None, query=query)
        conn = http.client.HTTPConnection(node.ip, 3900, timeout=30)
        conn.request(method, path + (f"?{query}" if query else ""), body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()

    assert virtual("PUT", "/t/part-0.parquet", b"parquet bytes")[0] == 200
    assert virtual("GET", "/t/part-0.parquet") == (200, b"parquet bytes")
    status, listing = virtual("GET", "/", query="list-type=2")
    assert status == 200 and b"<Key>t/part-0.parquet</Key>" in listing
    # Path-style still works beside it.
    assert boto(node, node.key).get_object(Bucket="lake", Key="t/part-0.parquet")["Body"].read() == b"parquet bytes"
