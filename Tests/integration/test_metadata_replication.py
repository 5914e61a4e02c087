"""Object-table replicas converge: read repair on a quorum read, and
periodic anti-entropy, seen in a restarted replica's own SQLite file."""
from __future__ import annotations

import sqlite3
import time

from s3_clients import boto, provision, shard_files
from shale_cluster import wait_until


def three_nodes(cluster, extra: str):
    first = cluster(1, extra=extra).start()
    nodes = [first] + [cluster(i, bootstrap=[first.connect_string], extra=extra).start() for i in (2, 3)]
    return nodes, provision(nodes, ["a", "b", "c"], "tables", "dbt", code="2+1", capacity="1G")


def rows_on(node) -> set[str]:
    with sqlite3.connect(f"file:{node.meta / 'objects.sqlite'}?mode=ro", uri=True) as db:
        return {row[0] for row in db.execute("SELECT key FROM objects WHERE deleted = 0")}


def test_read_repair_brings_a_returning_replica_up_to_date(cluster):
    nodes, key = three_nodes(cluster, extra="anti_entropy_interval_seconds = 3600\nwrite_quorum = 2")
    nodes[2].kill()
    client = boto(nodes[0], key)
    client.put_object(Bucket="tables", Key="model/orders.parquet", Body=b"x" * 1000)
    nodes[2].start()
    ids = {n.node_id for n in nodes}
    wait_until(lambda: nodes[0].healthy_ids() == ids, timeout=30, what="node 3 back")
    assert "model/orders.parquet" not in rows_on(nodes[2])
    # A read asks a majority, the node it arrives at first: through node 3 it meets its own stale row.
    assert boto(nodes[2], key).get_object(Bucket="tables", Key="model/orders.parquet")["Body"].read() == b"x" * 1000
    wait_until(lambda: "model/orders.parquet" in rows_on(nodes[2]), timeout=10, what="read repair")


def test_anti_entropy_fills_a_replica_that_missed_writes(cluster):
    nodes, key = three_nodes(cluster, extra="anti_entropy_interval_seconds = 2\nwrite_quorum = 2")
    nodes[2].kill()
    client = boto(nodes[0], key)
    written = {f"day={d:02d}/part-0.parquet" for d in range(1, 31)}
    for name in written:
        client.put_object(Bucket="tables", Key=name, Body=name.encode())
    client.delete_object(Bucket="tables", Key="day=01/part-0.parquet")
    nodes[2].start()
    expected = written - {"day=01/part-0.parquet"}
    wait_until(lambda: rows_on(nodes[2]) == expected, timeout=30, what="anti-entropy")
    # The coordinator goes away: the quorum is now the returned replica and node 2.
    nodes[0].kill()
    listed = boto(nodes[2], key).list_objects_v2(Bucket="tables")
    assert {item["Key"] for item in listed["Contents"]} == expected


def test_shards_a_down_node_missed_deleting_are_collected(cluster):
    nodes, key = three_nodes(cluster, extra="anti_entropy_interval_seconds = 1\nwrite_quorum = 2\n"
                                           "shard_deletion_delay_seconds = 0\nstray_shard_grace_seconds = 2")
    client = boto(nodes[0], key)
    client.put_object(Bucket="tables", Key="tmp/scratch.parquet", Body=b"s" * 300_000)
    held = [p for p, n in shard_files(nodes).items() if n is nodes[2]]
    assert len(held) == 1
    nodes[2].kill()
    client.delete_object(Bucket="tables", Key="tmp/scratch.parquet")
    wait_until(lambda: not [p for p, n in shard_files(nodes).items() if n is not nodes[2]], timeout=10, what="live nodes delete")
    assert held[0].exists()  # node 3 was down: its shard stays behind
    # The deletion's call to node 3 waits up to its 3 s deadline for a connection: a node back
    # sooner gets the call itself. Return after it gave up, so only the collector is left.
    time.sleep(4)
    assert held[0].exists()
    nodes[2].start()
    wait_until(lambda: not held[0].exists(), timeout=20, what="stray shard collected on node 3")
    # The log line follows the deletion: wait for it rather than race it.
    wait_until(lambda: "stray shards collected" in nodes[2].log.read_text(), timeout=10, what="the collection logged")
