"""S3 versioning on a real node with real clients: the AWS CLI's s3api
(put-bucket-versioning, list-object-versions, get-object --version-id,
delete markers), boto3 for paging and DeleteObjects with version ids, and
rclone's --s3-versions listing old versions."""
from __future__ import annotations

import json
import os
import subprocess

import pytest
from botocore.exceptions import ClientError

from s3_clients import aws, boto, single_node


@pytest.fixture(scope="module")
def node(cluster_module):
    return single_node(cluster_module, extra="shard_deletion_delay_seconds = 0", key_name="owner",
                       permissions=("--read", "--write", "--owner"))


def s3api(node, *args: str, check: bool = True):
    return aws(node, node.key, "s3api", *args, check=check)


def test_aws_cli_versions_and_delete_markers(node, tmp_path):
    client = boto(node, node.key)
    client.create_bucket(Bucket="vcli")
    client.put_object(Bucket="vcli", Key="doc", Body=b"before versioning")
    assert json.loads(s3api(node, "get-bucket-versioning", "--bucket", "vcli").stdout or "{}").get("Status") is None
    s3api(node, "put-bucket-versioning", "--bucket", "vcli", "--versioning-configuration", "Status=Enabled")
    assert json.loads(s3api(node, "get-bucket-versioning", "--bucket", "vcli").stdout)["Status"] == "Enabled"

    ids = []
    for i in range(3):
        (tmp_path / "body").write_bytes(f"version {i}".encode() * (20_000 if i == 1 else 1))
        put = json.loads(s3api(node, "put-object", "--bucket", "vcli", "--key", "doc", "--body", str(tmp_path / "body")).stdout)
        ids.append(put["VersionId"])
    assert len(set(ids)) == 3 and "null" not in ids

    listed = json.loads(s3api(node, "list-object-versions", "--bucket", "vcli").stdout)
    assert [v["VersionId"] for v in listed["Versions"]] == list(reversed(ids)) + ["null"]
    assert [v["IsLatest"] for v in listed["Versions"]] == [True, False, False, False]

    s3api(node, "get-object", "--bucket", "vcli", "--key", "doc", "--version-id", ids[1], str(tmp_path / "out"))
    assert (tmp_path / "out").read_bytes() == b"version 1" * 20_000
    s3api(node, "get-object", "--bucket", "vcli", "--key", "doc", "--version-id", "null", str(tmp_path / "out"))
    assert (tmp_path / "out").read_bytes() == b"before versioning"

    deleted = json.loads(s3api(node, "delete-object", "--bucket", "vcli", "--key", "doc").stdout)
    assert deleted["DeleteMarker"] is True
    marker = deleted["VersionId"]
    gone = s3api(node, "get-object", "--bucket", "vcli", "--key", "doc", str(tmp_path / "out"), check=False)
    assert gone.returncode != 0 and "NoSuchKey" in gone.stderr
    with pytest.raises(ClientError) as head:
        client.head_object(Bucket="vcli", Key="doc")
    assert head.value.response["ResponseMetadata"]["HTTPHeaders"].get("x-amz-delete-marker") == "true"
    listed = json.loads(s3api(node, "list-object-versions", "--bucket", "vcli").stdout)
    assert [(m["VersionId"], m["IsLatest"]) for m in listed["DeleteMarkers"]] == [(marker, True)]
    assert "Contents" not in json.loads(s3api(node, "list-objects-v2", "--bucket", "vcli").stdout or "{}")

    # Removing the marker by id brings the newest version back; removing a version by id removes it for good.
    s3api(node, "delete-object", "--bucket", "vcli", "--key", "doc", "--version-id", marker)
    assert client.get_object(Bucket="vcli", Key="doc")["Body"].read() == b"version 2"
    s3api(node, "delete-object", "--bucket", "vcli", "--key", "doc", "--version-id", ids[2])
    assert client.get_object(Bucket="vcli", Key="doc")["Body"].read() == b"version 1" * 20_000
    with pytest.raises(ClientError) as missing:
        client.get_object(Bucket="vcli", Key="doc", VersionId=ids[2])
    assert missing.value.response["Error"]["Code"] == "NoSuchVersion"

    # Tagging one version; copying an old version back as the latest.
    s3api(node, "put-object-tagging", "--bucket", "vcli", "--key", "doc", "--version-id", ids[0],
          "--tagging", "TagSet=[{Key=v,Value=0}]")
    tags = json.loads(s3api(node, "get-object-tagging", "--bucket", "vcli", "--key", "doc", "--version-id", ids[0]).stdout)
    assert tags["TagSet"] == [{"Key": "v", "Value": "0"}] and tags["VersionId"] == ids[0]
    copied = client.copy_object(Bucket="vcli", Key="doc", CopySource={"Bucket": "vcli", "Key": "doc", "VersionId": ids[0]})
    assert copied["CopySourceVersionId"] == ids[0] and copied["VersionId"] not in ids
    assert client.get_object(Bucket="vcli", Key="doc")["Body"].read() == b"version 0"

    # Suspended: writes replace the null version only.
    s3api(node, "put-bucket-versioning", "--bucket", "vcli", "--versioning-configuration", "Status=Suspended")
    assert client.put_object(Bucket="vcli", Key="doc", Body=b"null one")["VersionId"] == "null"
    client.put_object(Bucket="vcli", Key="doc", Body=b"null two")
    listed = json.loads(s3api(node, "list-object-versions", "--bucket", "vcli").stdout)
    assert [v["VersionId"] for v in listed["Versions"]].count("null") == 1
    assert client.get_object(Bucket="vcli", Key="doc", VersionId="null")["Body"].read() == b"null two"
    refused = client.put_object
    with pytest.raises(ClientError) as conditional:
        refused(Bucket="vcli", Key="doc", Body=b"x", IfNoneMatch="*")
    assert conditional.value.response["Error"]["Code"] == "NotImplemented"


def test_many_versions_page_and_delete_objects_by_version(node):
    client = boto(node, node.key)
    client.create_bucket(Bucket="vpage")
    client.put_bucket_versioning(Bucket="vpage", VersioningConfiguration={"Status": "Enabled"})
    ids = [client.put_object(Bucket="vpage", Key="log/k", Body=str(i).encode())["VersionId"] for i in range(230)]
    client.put_object(Bucket="vpage", Key="other", Body=b"o")
    seen = []
    for page in client.get_paginator("list_object_versions").paginate(Bucket="vpage", Prefix="log/", PaginationConfig={"PageSize": 50}):
        seen += [v["VersionId"] for v in page.get("Versions", [])]
    assert seen == list(reversed(ids))

    doomed = ids[:120]
    for start in range(0, len(doomed), 100):
        answer = client.delete_objects(Bucket="vpage", Delete={"Objects": [{"Key": "log/k", "VersionId": v} for v in doomed[start:start + 100]]})
        assert not answer.get("Errors") and {d["VersionId"] for d in answer["Deleted"]} == set(doomed[start:start + 100])
    marker = client.delete_objects(Bucket="vpage", Delete={"Objects": [{"Key": "other"}]})["Deleted"][0]
    assert marker["DeleteMarker"] is True and marker["DeleteMarkerVersionId"]
    left = []
    for page in client.get_paginator("list_object_versions").paginate(Bucket="vpage", PaginationConfig={"PageSize": 40}):
        left += [(v["Key"], v["VersionId"]) for v in page.get("Versions", [])]
    assert left == [("log/k", v) for v in reversed(ids[120:])] + [("other", next(iter(
        [v for k, v in left if k == "other"]), None))]
    assert client.get_object(Bucket="vpage", Key="log/k")["Body"].read() == b"229"
    # A bucket with versions is not empty.
    with pytest.raises(ClientError) as not_empty:
        client.delete_bucket(Bucket="vpage")
    assert not_empty.value.response["Error"]["Code"] == "BucketNotEmpty"


@pytest.mark.skipif(subprocess.run(["which", "rclone"], capture_output=True).returncode != 0, reason="rclone is not installed")
def test_rclone_lists_old_versions(node):
    client = boto(node, node.key)
    client.create_bucket(Bucket="vrclone")
    client.put_bucket_versioning(Bucket="vrclone", VersioningConfiguration={"Status": "Enabled"})
    for body in (b"first", b"second!", b"third!!!"):
        client.put_object(Bucket="vrclone", Key="notes.txt", Body=body)
    env = {k: v for k, v in os.environ.items() if k != "AWS_CA_BUNDLE"}
    env.update({"RCLONE_CONFIG_SHALE_TYPE": "s3", "RCLONE_CONFIG_SHALE_PROVIDER": "Other",
                "RCLONE_CONFIG_SHALE_ENDPOINT": f"http://{node.ip}:3900", "RCLONE_CONFIG_SHALE_ACCESS_KEY_ID": node.key[0],
                "RCLONE_CONFIG_SHALE_SECRET_ACCESS_KEY": node.key[1], "RCLONE_CONFIG_SHALE_REGION": "us-east-1",
                "RCLONE_CONFIG_SHALE_FORCE_PATH_STYLE": "true", "RCLONE_CONFIG": "/dev/null"})
    result = subprocess.run(["rclone", "ls", "--s3-versions", "shale:vrclone"], capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr
    lines = sorted(line.split() for line in result.stdout.strip().splitlines())
    # The latest under its name, the older two with their version time in the name.
    assert ["8", "notes.txt"] in lines and len(lines) == 3, lines
    assert sorted(int(size) for size, _ in lines) == [5, 7, 8]
