"""Objects written under one layout stay readable, listable and deletable
after the next is applied (data is not moved yet: reads consult every
applied layout version)."""
from __future__ import annotations

from s3_clients import boto, md5_bytes, md5_of_object, provision
from shale_cluster import wait_until


def test_objects_survive_a_layout_change(cluster):
    first = cluster(1).start()
    nodes = [first] + [cluster(i, bootstrap=[first.connect_string]).start() for i in (2, 3)]
    key = provision(nodes, ["a", "b", "c"], "iceberg", "trino", code="2+1", capacity="1G")
    client = boto(first, key)
    old = {f"v1/part-{i}": bytes([i]) * (700_000 + i) for i in range(12)}
    for name, body in old.items():
        client.put_object(Bucket="iceberg", Key=name, Body=body)

    added = [cluster(i, bootstrap=[first.connect_string]).start() for i in (4, 5, 6)]
    everyone = nodes + added
    for node in everyone:
        wait_until(lambda: len(node.healthy_ids()) == 6, timeout=30, what="6 nodes joined")
    for node, zone in zip(added, ["a", "b", "c"]):
        first.cli("layout", "assign", "-z", zone, "-c", "1G", node.node_id)
    first.cli("layout", "apply", "--version", "2")
    for node in everyone:
        wait_until(lambda: node.api("GET", "/v1/layout")["currentVersion"] == 2, what=f"{node.ip} has layout 2")
        wait_until(lambda: "trino" in node.cli("bucket", "info", "iceberg", check=False).stdout, what="grant everywhere")

    new = {f"v2/part-{i}": bytes([100 + i]) * (500_000 + i) for i in range(6)}
    via_new = boto(added[0], key)
    for name, body in new.items():
        via_new.put_object(Bucket="iceberg", Key=name, Body=body)
    via_new.delete_object(Bucket="iceberg", Key="v1/part-0")
    expected = {**old, **new}
    del expected["v1/part-0"]
    for node in (everyone[1], everyone[4]):
        reader = boto(node, key)
        for name, body in expected.items():
            assert md5_of_object(reader, "iceberg", name) == md5_bytes(body), name
        listed = [c["Key"] for p in reader.get_paginator("list_objects_v2").paginate(Bucket="iceberg", PaginationConfig={"PageSize": 5})
                  for c in p.get("Contents", [])]
        assert listed == sorted(expected)
