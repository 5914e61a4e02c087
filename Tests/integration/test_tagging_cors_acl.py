"""Object and bucket tagging, CORS and the ACL answers with real clients
(the AWS CLI's s3api, boto3, a browser's preflight sent by hand) against a
real node; what is set survives a restart."""
from __future__ import annotations

import http.client
import json

from s3_clients import aws, boto
from test_s3_errors import code_of, node  # noqa: F401  (the one-node fixture)


def owner(node):
    node.cli("bucket", "allow", "--owner", "data", "--key", "writer")
    return node


def tag_dict(tag_set: list[dict]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in tag_set}


def test_object_tagging_with_the_aws_cli_and_boto3(node, tmp_path):
    body = tmp_path / "body.csv"
    body.write_bytes(b"a,b\n1,2\n")
    aws(node, node.key, "s3api", "put-object", "--bucket", "data", "--key", "t.csv", "--body", str(body),
        "--tagging", "team=data&stage=raw%20zone")
    got = json.loads(aws(node, node.key, "s3api", "get-object-tagging", "--bucket", "data", "--key", "t.csv").stdout)
    assert tag_dict(got["TagSet"]) == {"team": "data", "stage": "raw zone"}
    client = boto(node, node.key)
    assert client.get_object(Bucket="data", Key="t.csv")["TagCount"] == 2

    aws(node, node.key, "s3api", "put-object-tagging", "--bucket", "data", "--key", "t.csv",
        "--tagging", "TagSet=[{Key=owner,Value=dbt}]")
    assert tag_dict(client.get_object_tagging(Bucket="data", Key="t.csv")["TagSet"]) == {"owner": "dbt"}
    assert client.get_object(Bucket="data", Key="t.csv")["Body"].read() == b"a,b\n1,2\n"

    # Copies keep the tags, or take new ones with REPLACE.
    client.copy_object(Bucket="data", Key="kept.csv", CopySource="data/t.csv")
    assert tag_dict(client.get_object_tagging(Bucket="data", Key="kept.csv")["TagSet"]) == {"owner": "dbt"}
    client.copy_object(Bucket="data", Key="new.csv", CopySource="data/t.csv", TaggingDirective="REPLACE", Tagging="x=1")
    assert tag_dict(client.get_object_tagging(Bucket="data", Key="new.csv")["TagSet"]) == {"x": "1"}

    # A multipart upload's tags go to the object it completes.
    upload = client.create_multipart_upload(Bucket="data", Key="mp.bin", Tagging="stage=curated")
    part = client.upload_part(Bucket="data", Key="mp.bin", UploadId=upload["UploadId"], PartNumber=1, Body=b"x" * 1000)
    client.complete_multipart_upload(Bucket="data", Key="mp.bin", UploadId=upload["UploadId"],
                                     MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
    assert tag_dict(client.get_object_tagging(Bucket="data", Key="mp.bin")["TagSet"]) == {"stage": "curated"}

    # AWS's limits, refused with nothing changed.
    refused = aws(node, node.key, "s3api", "put-object-tagging", "--bucket", "data", "--key", "t.csv", "--tagging",
                  "TagSet=[" + ",".join(f"{{Key=k{i},Value=v}}" for i in range(11)) + "]", check=False)
    assert refused.returncode != 0 and "InvalidTag" in refused.stderr
    assert tag_dict(client.get_object_tagging(Bucket="data", Key="t.csv")["TagSet"]) == {"owner": "dbt"}

    aws(node, node.key, "s3api", "delete-object-tagging", "--bucket", "data", "--key", "t.csv")
    assert client.get_object_tagging(Bucket="data", Key="t.csv")["TagSet"] == []
    assert "TagCount" not in client.head_object(Bucket="data", Key="t.csv")

    # A reader sees tags but cannot change them.
    reader = boto(node, node.reader)
    assert tag_dict(reader.get_object_tagging(Bucket="data", Key="new.csv")["TagSet"]) == {"x": "1"}
    denied = aws(node, node.reader, "s3api", "put-object-tagging", "--bucket", "data", "--key", "new.csv",
                 "--tagging", "TagSet=[{Key=y,Value=2}]", check=False)
    assert denied.returncode != 0 and "AccessDenied" in denied.stderr


def test_bucket_tagging_and_acl_survive_a_restart(node):
    owner(node)
    missing = aws(node, node.key, "s3api", "get-bucket-tagging", "--bucket", "data", check=False)
    assert missing.returncode != 0 and "NoSuchTagSet" in missing.stderr
    aws(node, node.key, "s3api", "put-bucket-tagging", "--bucket", "data",
        "--tagging", "TagSet=[{Key=cost-center,Value=lakehouse}]")

    acl = json.loads(aws(node, node.key, "s3api", "get-bucket-acl", "--bucket", "data").stdout)
    assert acl["Grants"] == [{"Grantee": {"ID": node.key[0], "DisplayName": "writer", "Type": "CanonicalUser"},
                              "Permission": "FULL_CONTROL"}]
    aws(node, node.key, "s3api", "put-bucket-acl", "--bucket", "data", "--acl", "private")
    public = aws(node, node.key, "s3api", "put-bucket-acl", "--bucket", "data", "--acl", "public-read", check=False)
    assert public.returncode != 0 and "NotImplemented" in public.stderr
    grant = aws(node, node.key, "s3api", "put-bucket-acl", "--bucket", "data", "--grant-read", "id=someone", check=False)
    assert grant.returncode != 0 and "NotImplemented" in grant.stderr
    client = boto(node, node.key)
    client.put_object(Bucket="data", Key="o", Body=b"1")
    assert client.get_object_acl(Bucket="data", Key="o")["Grants"][0]["Permission"] == "FULL_CONTROL"
    client.put_object_acl(Bucket="data", Key="o", ACL="bucket-owner-full-control")

    node.stop()
    node.start()
    got = json.loads(aws(node, node.key, "s3api", "get-bucket-tagging", "--bucket", "data").stdout)
    assert tag_dict(got["TagSet"]) == {"cost-center": "lakehouse"}
    aws(node, node.key, "s3api", "delete-bucket-tagging", "--bucket", "data")
    assert aws(node, node.key, "s3api", "get-bucket-tagging", "--bucket", "data", check=False).returncode != 0


def preflight(node, path: str, origin: str, method: str, headers: str | None = None):
    conn = http.client.HTTPConnection(node.ip, 3900, timeout=10)
    sent = {"Origin": origin, "Access-Control-Request-Method": method}
    if headers:
        sent["Access-Control-Request-Headers"] = headers
    conn.request("OPTIONS", path, headers=sent)
    response = conn.getresponse()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read().decode()


def test_cors_rules_answer_a_browsers_preflight_and_requests(node):
    owner(node)
    rules = {"CORSRules": [
        {"AllowedOrigins": ["https://console.example.com"], "AllowedMethods": ["GET", "PUT"],
         "AllowedHeaders": ["content-type", "x-amz-*"], "ExposeHeaders": ["ETag"], "MaxAgeSeconds": 300},
    ]}
    status, _, text = preflight(node, "/data/upload.csv", "https://console.example.com", "PUT")
    assert status == 403 and code_of(text) == "AccessForbidden"
    aws(node, node.key, "s3api", "put-bucket-cors", "--bucket", "data", "--cors-configuration", json.dumps(rules))
    got = json.loads(aws(node, node.key, "s3api", "get-bucket-cors", "--bucket", "data").stdout)
    assert got["CORSRules"][0]["AllowedMethods"] == ["GET", "PUT"] and got["CORSRules"][0]["MaxAgeSeconds"] == 300

    status, headers, _ = preflight(node, "/data/upload.csv", "https://console.example.com", "PUT", "content-type,x-amz-date")
    assert status == 200
    assert headers["access-control-allow-origin"] == "https://console.example.com"
    assert headers["access-control-allow-headers"] == "content-type, x-amz-date"
    assert headers["access-control-max-age"] == "300"
    assert preflight(node, "/data/upload.csv", "https://evil.example", "PUT")[0] == 403
    assert preflight(node, "/data/upload.csv", "https://console.example.com", "DELETE")[0] == 403

    client = boto(node, node.key)
    client.put_object(Bucket="data", Key="page.html", Body=b"<p>hi</p>")
    def with_origin(params, **kwargs):
        params["headers"]["Origin"] = "https://console.example.com"
    client.meta.events.register("before-call.s3.GetObject", with_origin)
    answer = client.get_object(Bucket="data", Key="page.html")
    assert answer["ResponseMetadata"]["HTTPHeaders"]["access-control-allow-origin"] == "https://console.example.com"
    assert answer["ResponseMetadata"]["HTTPHeaders"]["access-control-expose-headers"] == "ETag"

    aws(node, node.key, "s3api", "delete-bucket-cors", "--bucket", "data")
    assert preflight(node, "/data/upload.csv", "https://console.example.com", "PUT")[0] == 403
