"""The wire formats current SDKs send, on a real node: boto3's flexible
checksums forced into trailer mode (aws-chunked with a CRC64NVME trailer),
signed chunks and signed trailers as the SigV4 streaming spec defines them
(every chunk signature verified: a tampered chunk is refused and nothing
stored), and trailing checksums that do not match the body."""
from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import struct
import zlib

import pytest
from botocore.exceptions import ClientError

from s3_clients import boto, shard_files, sign
from test_s3_errors import code_of, node  # noqa: F401  (the one-node fixture)

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def force_trailer_mode(client) -> None:
    """botocore sends trailing checksums over TLS only; this puts them in a trailer over plain HTTP too."""
    def to_trailer(context, **_):
        algorithm = context.get("checksum", {}).get("request_algorithm")
        if isinstance(algorithm, dict):
            algorithm["in"] = "trailer"
    client.meta.events.register("before-call.s3.PutObject", to_trailer)
    client.meta.events.register("before-call.s3.UploadPart", to_trailer)


def test_boto3_in_trailer_mode_with_crc64nvme(node):
    client = boto(node, node.key)
    force_trailer_mode(client)
    seen = []
    def record(request, **_):
        seen.append({k.lower(): (v.decode() if isinstance(v, bytes) else v) for k, v in request.headers.items()})
    client.meta.events.register("before-send.s3.*", record)
    data = bytes(range(256)) * 4096 + b"tail"
    client.put_object(Bucket="data", Key="wire/trailer", Body=data, ChecksumAlgorithm="CRC64NVME")
    sent = seen[-1]
    assert sent["x-amz-content-sha256"] == "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    assert sent["x-amz-trailer"] == "x-amz-checksum-crc64nvme"
    got = client.get_object(Bucket="data", Key="wire/trailer", ChecksumMode="ENABLED")
    assert got["Body"].read() == data and got["ChecksumCRC64NVME"]
    # The default algorithm (CRC32) through a multipart part, also in a trailer.
    upload = client.create_multipart_upload(Bucket="data", Key="wire/parts", ChecksumAlgorithm="CRC32")["UploadId"]
    etag = client.upload_part(Bucket="data", Key="wire/parts", UploadId=upload, PartNumber=1, Body=data, ChecksumAlgorithm="CRC32")["ETag"]
    assert seen[-1]["x-amz-trailer"] == "x-amz-checksum-crc32"
    client.complete_multipart_upload(Bucket="data", Key="wire/parts", UploadId=upload,
                                     MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
    assert client.get_object(Bucket="data", Key="wire/parts")["Body"].read() == data


def signing_key(secret: str, day: str) -> bytes:
    k = ("AWS4" + secret).encode()
    for part in (day, "us-east-1", "s3", "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    return k


def chunked_put(node, path: str, chunks: list[bytes], payload: str, trailer: tuple[str, str] | None = None,
                tamper_chunk: int | None = None, tamper_trailer: bool = False) -> tuple[int, str]:
    """A PUT with an aws-chunked body, signed as the SigV4 streaming spec says."""
    decoded = sum(len(c) for c in chunks)
    extra = {"content-encoding": "aws-chunked", "x-amz-decoded-content-length": str(decoded)}
    if trailer:
        extra["x-amz-trailer"] = trailer[0]
    signed = payload.startswith("STREAMING-AWS4")
    # The framed length is only known once framed: sign with a placeholder-free header set, then add Content-Length.
    headers = sign("PUT", f"{node.ip}:3900", path, node.key, extra, payload_hash=payload)
    seed = headers["authorization"].rsplit("Signature=", 1)[1]
    amz_date = headers["x-amz-date"]
    scope = f"{amz_date[:8]}/us-east-1/s3/aws4_request"
    key = signing_key(node.key[1], amz_date[:8])
    body, previous = b"", seed
    for index, chunk in enumerate(chunks + [b""]):
        if signed:
            to_sign = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", amz_date, scope, previous, EMPTY_SHA256, hashlib.sha256(chunk).hexdigest()])
            previous = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
            header = f"{len(chunk):x};chunk-signature={previous}\r\n"
        else:
            header = f"{len(chunk):x}\r\n"
        sent = chunk if index != tamper_chunk else chunk[:-1] + bytes([chunk[-1] ^ 1])
        body += header.encode() + sent + (b"\r\n" if chunk else b"")
    if trailer:
        line = f"{trailer[0]}:{trailer[1]}"
        body += (line if not tamper_trailer else line[:-2] + "A=").encode() + b"\r\n"
        if signed:
            to_sign = "\n".join(["AWS4-HMAC-SHA256-TRAILER", amz_date, scope, previous, hashlib.sha256((line + "\n").encode()).hexdigest()])
            body += f"x-amz-trailer-signature:{hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()}\r\n".encode()
    body += b"\r\n"
    headers["content-length"] = str(len(body))
    conn = http.client.HTTPConnection(node.ip, 3900, timeout=30)
    conn.request("PUT", path, body=body, headers=headers)
    response = conn.getresponse()
    return response.status, response.read().decode(errors="replace")


def crc32_b64(data: bytes) -> str:
    return base64.b64encode(struct.pack(">I", zlib.crc32(data))).decode()


def test_signed_chunks_are_verified_and_a_tampered_one_stores_nothing(node):
    client = boto(node, node.key)
    chunks = [b"a" * 65536, b"b" * 1000]
    status, text = chunked_put(node, "/data/wire/signed", chunks, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
    assert status == 200, text
    assert client.get_object(Bucket="data", Key="wire/signed")["Body"].read() == b"".join(chunks)

    before = set(shard_files([node]))
    status, text = chunked_put(node, "/data/wire/tampered", chunks, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", tamper_chunk=1)
    assert (status, code_of(text)) == (403, "SignatureDoesNotMatch"), text
    with pytest.raises(ClientError) as missing:
        client.head_object(Bucket="data", Key="wire/tampered")
    assert missing.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert set(shard_files([node])) == before

    # Overwriting an object with a tampered body leaves the old one whole.
    status, _ = chunked_put(node, "/data/wire/signed", [b"c" * 10], "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", tamper_chunk=0)
    assert status == 403
    assert client.get_object(Bucket="data", Key="wire/signed")["Body"].read() == b"".join(chunks)


def test_signed_trailer_is_verified(node):
    client = boto(node, node.key)
    chunks = [b"x" * 5000, b"y" * 17]
    trailer = ("x-amz-checksum-crc32", crc32_b64(b"".join(chunks)))
    status, text = chunked_put(node, "/data/wire/signed-trailer", chunks, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER", trailer=trailer)
    assert status == 200, text
    head = client.head_object(Bucket="data", Key="wire/signed-trailer", ChecksumMode="ENABLED")
    assert head["ChecksumCRC32"] == trailer[1] and head["ContentLength"] == 5017
    status, text = chunked_put(node, "/data/wire/bad-trailer", chunks, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER", trailer=trailer,
                               tamper_trailer=True)
    assert (status, code_of(text)) == (403, "SignatureDoesNotMatch"), text
    with pytest.raises(ClientError):
        client.head_object(Bucket="data", Key="wire/bad-trailer")


def test_unsigned_trailer_that_does_not_match_the_body_stores_nothing(node):
    client = boto(node, node.key)
    before = set(shard_files([node]))
    status, text = chunked_put(node, "/data/wire/wrong-crc", [b"hello"], "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
                               trailer=("x-amz-checksum-crc32", crc32_b64(b"jello")))
    assert (status, code_of(text)) == (400, "BadDigest"), text
    with pytest.raises(ClientError):
        client.head_object(Bucket="data", Key="wire/wrong-crc")
    assert set(shard_files([node])) == before
    # A trailer the headers did not announce, and a body cut short, are refused too.
    status, text = chunked_put(node, "/data/wire/no-trailer", [b"hello"], "STREAMING-UNSIGNED-PAYLOAD-TRAILER")
    assert status == 400, text
