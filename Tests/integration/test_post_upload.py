"""Browser-based uploads: boto3's generate_presigned_post, sent as a form by
the `requests` library (as a web page would), against a real node."""
from __future__ import annotations

import hashlib
import os

import boto3
import requests
from botocore.config import Config

from s3_clients import boto, shard_files
from test_s3_errors import code_of, node  # noqa: F401  (the one-node fixture)


def poster(node):
    """boto3 signs POST policies with SigV2 unless told s3v4 (Shale takes SigV4 only)."""
    return boto3.client("s3", endpoint_url=f"http://{node.ip}:3900", aws_access_key_id=node.key[0], aws_secret_access_key=node.key[1],
                        region_name="us-east-1", config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))


def listed(client) -> list[str]:
    return [o["Key"] for o in client.list_objects_v2(Bucket="data").get("Contents", [])]


def test_a_presigned_post_form_uploads_and_its_policy_is_enforced(node):
    client = boto(node, node.key)
    body = os.urandom(300_000)
    post = poster(node).generate_presigned_post("data", "uploads/${filename}", Fields={"Content-Type": "text/csv", "x-amz-meta-origin": "web"},
                                          Conditions=[["starts-with", "$key", "uploads/"], {"Content-Type": "text/csv"},
                                                      {"x-amz-meta-origin": "web"}, ["content-length-range", 1, 1 << 20]],
                                          ExpiresIn=600)
    answer = requests.post(post["url"], data=post["fields"], files={"file": ("report.csv", body, "text/csv")}, timeout=60)
    assert answer.status_code == 204, answer.text
    stored = client.get_object(Bucket="data", Key="uploads/report.csv")
    assert stored["Body"].read() == body
    assert stored["ContentType"] == "text/csv" and stored["Metadata"] == {"origin": "web"}
    assert answer.headers["ETag"] == f"\"{hashlib.md5(body).hexdigest()}\""

    # Too large for the policy's content-length-range: refused, nothing stored.
    too_large = requests.post(post["url"], data=post["fields"], files={"file": ("big.csv", os.urandom((1 << 20) + 1), "text/csv")}, timeout=60)
    assert too_large.status_code == 400 and code_of(too_large.text) == "EntityTooLarge"
    # A key outside the policy's prefix: refused, nothing stored.
    fields = dict(post["fields"], key="elsewhere/${filename}")
    outside = requests.post(post["url"], data=fields, files={"file": ("x.csv", b"x", "text/csv")}, timeout=60)
    assert outside.status_code == 403 and code_of(outside.text) == "AccessDenied" and "Policy" in outside.text
    # A field the policy does not name, and a forged signature.
    extra = requests.post(post["url"], data=dict(post["fields"], **{"x-amz-meta-extra": "1"}),
                          files={"file": ("y.csv", b"y", "text/csv")}, timeout=60)
    assert extra.status_code == 403 and "Extra input fields" in extra.text
    forged = requests.post(post["url"], data=dict(post["fields"], **{"x-amz-signature": "0" * 64}),
                           files={"file": ("z.csv", b"z", "text/csv")}, timeout=60)
    assert forged.status_code == 403 and code_of(forged.text) == "SignatureDoesNotMatch"
    assert listed(client) == ["uploads/report.csv"]
    # A SigV2 form (boto3's default signer for POST) is refused, not half-checked.
    v2 = client.generate_presigned_post("data", "uploads/v2.csv")
    answer = requests.post(v2["url"], data=v2["fields"], files={"file": ("v2.csv", b"v2", "text/csv")}, timeout=60)
    assert answer.status_code == 501 and "Signature Version 2" in answer.text
    assert listed(client) == ["uploads/report.csv"]


def test_post_answers_redirects_and_large_files(node):
    client = boto(node, node.key)
    signer = poster(node)
    created = signer.generate_presigned_post("data", "page/created.txt", Fields={"success_action_status": "201"},
                                             Conditions=[{"success_action_status": "201"}])
    answer = requests.post(created["url"], data=created["fields"], files={"file": ("c.txt", b"hello", "text/plain")}, timeout=60)
    assert answer.status_code == 201 and "<Key>page/created.txt</Key>" in answer.text and "<Bucket>data</Bucket>" in answer.text

    redirected = signer.generate_presigned_post("data", "page/next.txt", Fields={"success_action_redirect": "https://app.example/done"},
                                                Conditions=[{"success_action_redirect": "https://app.example/done"}])
    answer = requests.post(redirected["url"], data=redirected["fields"], files={"file": ("n.txt", b"next", "text/plain")},
                           allow_redirects=False, timeout=60)
    assert answer.status_code == 303
    assert answer.headers["Location"].startswith("https://app.example/done?bucket=data&key=page%2Fnext.txt&etag=")

    # A file larger than a block streams into shards like any PUT.
    large = os.urandom(9 * (1 << 20) + 17)
    post = signer.generate_presigned_post("data", "big.bin")
    answer = requests.post(post["url"], data=post["fields"], files={"file": ("big.bin", large)}, timeout=120)
    assert answer.status_code == 204, answer.text
    assert client.get_object(Bucket="data", Key="big.bin")["Body"].read() == large
    assert len(shard_files([node])) > 0

    # A field S3 defines that Shale does not do is refused, nothing stored.
    encrypted = signer.generate_presigned_post("data", "secret.txt", Fields={"x-amz-server-side-encryption": "AES256"},
                                               Conditions=[{"x-amz-server-side-encryption": "AES256"}])
    answer = requests.post(encrypted["url"], data=encrypted["fields"], files={"file": ("s.txt", b"plain", "text/plain")}, timeout=60)
    assert answer.status_code == 501 and code_of(answer.text) == "NotImplemented"
    assert "secret.txt" not in listed(client)
