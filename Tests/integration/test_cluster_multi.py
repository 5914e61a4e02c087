"""Several nodes in several zones on 127.0.N.x: joining, replication of the
cluster-wide state, failure detection, restarts, partitions."""
import signal
import time

from shale_cluster import wait_until


def assign_all(coordinator, nodes, zones):
    for node, zone in zip(nodes, zones):
        # The guide's loop: `node id` on each node, fed to `layout assign` on the first.
        result = coordinator.sh(f"shale layout assign -z {zone} -c 10G $(SHALE_CONFIG={node.config} shale node id 2>/dev/null)")
        assert result.returncode == 0, result.stderr


def test_three_nodes_three_zones_joined_by_bootstrap_peers(cluster):
    first = cluster(1).start()
    others = [cluster(i, bootstrap=[first.connect_string]).start() for i in (2, 3)]
    nodes = [first, *others]
    ids = {n.node_id for n in nodes}
    for node in nodes:
        wait_until(lambda: node.healthy_ids() == ids, what=f"{node.ip} sees all 3 nodes")

    assign_all(first, nodes, ["dc1", "dc2", "dc3"])
    first.cli("layout", "apply", "--version", "1")
    for node in nodes:
        wait_until(lambda: node.api("GET", "/v1/layout")["currentVersion"] == 1, what=f"{node.ip} has layout 1")
        zones = {n["role"]["zone"] for n in node.status()["nodes"] if n.get("role")}
        assert zones == {"dc1", "dc2", "dc3"}

    others[0].cli("bucket", "create", "from-two")
    others[1].cli("key", "create", "from-three")
    for node in nodes:
        wait_until(lambda: "from-two" in node.cli("bucket", "list").stdout, timeout=5, what="bucket replicated")
        wait_until(lambda: "from-three" in node.cli("key", "list").stdout, timeout=5, what="key replicated")

    # kill -9: seen as failed within 15 s, healthy again after a restart, state intact.
    victim = others[1]
    victim_id = victim.node_id
    victim.kill()
    started = time.time()
    wait_until(lambda: victim_id in first.failed_ids(), timeout=15, what="failure detected")
    assert time.time() - started < 15
    text = first.cli("status").stdout
    assert "==== FAILED NODES ====" in text and victim_id[:16] in text.split("FAILED NODES")[1]
    victim.start()
    wait_until(lambda: victim_id in first.healthy_ids(), timeout=15, what="healthy after restart")
    assert "from-two" in victim.cli("bucket", "list").stdout
    assert victim.api("GET", "/v1/layout")["currentVersion"] == 1
    assert first.api("GET", "/health")["status"] == "ok"


def test_six_nodes_three_zones_joined_by_node_connect(cluster):
    nodes = [cluster(i).start() for i in range(1, 7)]
    first = nodes[0]
    for other in nodes[1:]:
        out = first.cli("node", "connect", other.connect_string).stdout
        assert "connected" in out
    ids = {n.node_id for n in nodes}
    for node in nodes:
        # Peers learn each other's addresses from the first node's gossip.
        wait_until(lambda: node.healthy_ids() == ids, what=f"{node.ip} sees all 6 nodes")

    assign_all(nodes[3], nodes, ["dc1", "dc1", "dc2", "dc2", "dc3", "dc3"])
    show = nodes[3].cli("layout", "show").stdout
    assert "Fault tolerance:  any 2 node(s), or any 1 zone(s)" in show
    nodes[5].cli("layout", "apply", "--version", "1")
    for node in nodes:
        wait_until(lambda: node.api("GET", "/v1/layout")["currentVersion"] == 1, what=f"{node.ip} has layout 1")
    history = nodes[2].cli_json("layout", "history")
    assert history["versions"][0]["storageNodes"] == 6

    nodes[1].cli("bucket", "create", "lakehouse-raw")
    nodes[4].cli("key", "create", "airbyte-ingestion")
    nodes[2].cli("bucket", "allow", "--read", "--write", "lakehouse-raw", "--key", "airbyte-ingestion", check=False)
    wait_until(lambda: nodes[2].cli("bucket", "allow", "--read", "--write", "lakehouse-raw", "--key", "airbyte-ingestion", check=False).returncode == 0,
               timeout=5, what="bucket and key reach node 3")
    for node in nodes:
        wait_until(lambda: node.cli_json("bucket", "info", "lakehouse-raw")["grants"][0]["permissions"] == ["read", "write"],
                   timeout=5, what=f"grant visible on {node.ip}")

    victim = nodes[4]
    victim_id = victim.node_id
    victim.kill()
    for node in nodes[:4]:
        wait_until(lambda: victim_id in node.failed_ids(), timeout=15, what=f"{node.ip} sees the failure")
    victim.start()
    for node in nodes[:4]:
        wait_until(lambda: node.healthy_ids() == ids, timeout=15, what=f"{node.ip} sees the node back")
    assert victim.cli_json("bucket", "info", "lakehouse-raw")["grants"][0]["keyName"] == "airbyte-ingestion"


def test_node_with_wrong_secret_never_joins(cluster):
    good = [cluster(1).start()]
    good.append(cluster(2, bootstrap=[good[0].connect_string]).start())
    intruder = cluster(3, secret="00" * 32, bootstrap=[good[0].connect_string]).start()
    good[0].cli("bucket", "create", "secret-stuff")

    refused = good[0].cli("node", "connect", intruder.connect_string, check=False)
    assert refused.returncode != 0 and "rpc_secret" in refused.stderr
    time.sleep(4)  # several heartbeats
    intruder_id = intruder.node_id
    for node in good:
        assert intruder_id not in {n["id"] for n in node.status()["nodes"]}
        assert intruder_id[:16] not in node.cli("status").stdout
    assert len(good[0].healthy_ids()) == 2
    # The intruder learned nothing: no peers, no buckets.
    assert intruder.healthy_ids() == {intruder_id}
    assert intruder.cli_json("bucket", "list") == []
    # Each side refuses the other's certificate in the TLS handshake (the client checks the server's first).
    assert "same rpc_secret" in intruder.log.read_text()


def test_changes_on_both_sides_of_a_partition_both_survive(cluster):
    a = cluster(1).start()
    b = cluster(2, bootstrap=[a.connect_string]).start()
    wait_until(lambda: len(a.healthy_ids()) == 2 and len(b.healthy_ids()) == 2, what="joined")
    a.cli("bucket", "create", "shared")
    a.cli("key", "create", "shared-key")
    wait_until(lambda: "shared-key" in b.cli("key", "list").stdout, timeout=5, what="replicated")

    # Partition: each side runs alone and changes different things, including
    # different permission flags of the same key on the same bucket.
    b.kill()
    a.cli("bucket", "create", "only-on-a")
    a.cli("bucket", "allow", "--read", "shared", "--key", "shared-key")
    a.kill()
    b.start()
    b.cli("bucket", "create", "only-on-b")
    b.cli("key", "create", "b-key")
    b.cli("bucket", "allow", "--write", "shared", "--key", "shared-key")
    a.start()  # heal

    for node in (a, b):
        wait_until(lambda: {"only-on-a", "only-on-b", "shared"} <= set(node.cli("bucket", "list").stdout.split()),
                   timeout=10, what=f"{node.ip} has both sides' buckets")
        wait_until(lambda: node.cli_json("bucket", "info", "shared")["grants"][0]["permissions"] == ["read", "write"],
                   timeout=10, what=f"{node.ip} has both permission flags")
        assert "b-key" in node.cli("key", "list").stdout
