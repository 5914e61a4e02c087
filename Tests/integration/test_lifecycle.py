"""Lifecycle rules with the AWS CLI against a real node whose lifecycle
worker runs every second: objects a rule has expired go, nothing else."""
from __future__ import annotations

import json

import pytest

from s3_clients import aws, boto, single_node
from shale_cluster import wait_until


@pytest.fixture
def node(cluster):
    return single_node(cluster, extra="lifecycle_interval_seconds = 1\nshard_deletion_delay_seconds = 0", key_name="owner",
                       permissions=("--read", "--write", "--owner"))


def keys(client) -> list[str]:
    return [o["Key"] for o in client.list_objects_v2(Bucket="data").get("Contents", [])]


def test_expired_objects_go_and_nothing_else_is_touched(node):
    client = boto(node, node.key)
    for key in ("tmp/a.csv", "tmp/b/c.csv", "keep/a.csv", "tmpfile"):
        client.put_object(Bucket="data", Key=key, Body=b"x" * 70_000)
    client.put_object(Bucket="data", Key="scratch/tagged", Body=b"1", Tagging="class=scratch")
    client.put_object(Bucket="data", Key="scratch/plain", Body=b"2")
    rules = {"Rules": [
        {"ID": "tmp", "Filter": {"Prefix": "tmp/"}, "Status": "Enabled", "Expiration": {"Date": "2020-01-01T00:00:00Z"}},
        {"ID": "scratch", "Filter": {"And": {"Prefix": "scratch/", "Tags": [{"Key": "class", "Value": "scratch"}]}},
         "Status": "Enabled", "Expiration": {"Date": "2020-01-01T00:00:00Z"}},
        {"ID": "later", "Filter": {"Prefix": "keep/"}, "Status": "Enabled", "Expiration": {"Days": 30}},
        {"ID": "uploads", "Filter": {"Prefix": ""}, "Status": "Enabled", "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7}},
    ]}
    aws(node, node.key, "s3api", "put-bucket-lifecycle-configuration", "--bucket", "data", "--lifecycle-configuration", json.dumps(rules))
    shown = json.loads(aws(node, node.key, "s3api", "get-bucket-lifecycle-configuration", "--bucket", "data").stdout)
    assert [r["ID"] for r in shown["Rules"]] == ["tmp", "scratch", "later", "uploads"]

    wait_until(lambda: keys(client) == ["keep/a.csv", "scratch/plain", "tmpfile"], timeout=30, what="the expired objects to go")
    head = client.head_object(Bucket="data", Key="keep/a.csv")
    assert 'rule-id="later"' in head["Expiration"]
    assert "Expiration" not in client.head_object(Bucket="data", Key="tmpfile")
    assert client.get_object(Bucket="data", Key="keep/a.csv")["Body"].read() == b"x" * 70_000

    transition = {"Rules": [{"ID": "cold", "Filter": {}, "Status": "Enabled", "Transitions": [{"Days": 30, "StorageClass": "GLACIER"}]}]}
    refused = aws(node, node.key, "s3api", "put-bucket-lifecycle-configuration", "--bucket", "data",
                  "--lifecycle-configuration", json.dumps(transition), check=False)
    assert refused.returncode != 0 and "NotImplemented" in refused.stderr
    aws(node, node.key, "s3api", "delete-bucket-lifecycle", "--bucket", "data")
    gone = aws(node, node.key, "s3api", "get-bucket-lifecycle-configuration", "--bucket", "data", check=False)
    assert gone.returncode != 0 and "NoSuchLifecycleConfiguration" in gone.stderr
