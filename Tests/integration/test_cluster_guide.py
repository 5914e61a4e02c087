"""The guide's workflows (Cluster Initialization, Buckets and Access Keys,
Common Operations) with `shale` in place of `/minio`, on one node."""
import re
import signal

from shale_cluster import wait_until


def test_single_node_initialization_as_in_the_guide(cluster):
    node = cluster(1).start()

    # Step 1: status before initialization.
    before = node.cli("status").stdout
    assert "==== HEALTHY NODES ====" in before
    assert "NO ROLE ASSIGNED" in before
    assert re.search(r"^ID\s+Hostname\s+Address\s+Tags\s+Zone\s+Capacity", before, re.M)

    # Step 2: the guide's pipeline picks the node id out of `status`.
    picked = node.sh('shale status 2>/dev/null | grep -A 2 "HEALTHY NODES" | tail -1 | awk \'{print $1}\'')
    assert picked.returncode == 0
    node_id = picked.stdout.strip()
    assert node.node_id.startswith(node_id) and len(node_id) == 16
    assign = node.sh(f"shale layout assign -z dc1 -c 10G {node_id}")
    assert assign.returncode == 0, assign.stderr

    # Step 3: review.
    show = node.cli("layout", "show").stdout
    assert "STAGED ROLE CHANGES" in show
    assert "NEW CLUSTER LAYOUT AFTER APPLYING CHANGES (version 1)" in show
    assert "shale layout apply --version 1" in show

    # Step 4: apply.
    applied = node.cli("layout", "apply", "--version", "1")
    assert "version 1" in applied.stdout

    # Step 5: verify.
    after = node.cli("status").stdout
    assert "NO ROLE ASSIGNED" not in after
    assert re.search(r"^ID\s+Hostname\s+Address\s+Tags\s+Zone\s+Capacity\s+DataAvail", after, re.M)
    row = after.splitlines()[2]
    assert row.startswith(node_id) and "dc1" in row and "10.0 GB" in row

    # Applying the same version again is refused, clearly, and changes nothing.
    again = node.cli("layout", "apply", "--version", "1", check=False)
    assert again.returncode != 0
    assert "cannot be applied: the next version is 2" in again.stderr
    assert node.api("GET", "/v1/layout")["currentVersion"] == 1

    # `node id` prints ID@HOST:PORT, which layout commands also take.
    line = node.cli("node", "id", "-q").stdout.strip()
    assert line == node.connect_string
    assert node.api("GET", "/health")["status"] == "ok"


def test_buckets_and_keys_as_in_the_guide(cluster):
    node = cluster(1).start()
    node.cli("layout", "assign", "-z", "dc1", "-c", "10G", node.node_id)
    node.cli("layout", "apply", "--version", "1")

    assert node.cli("bucket", "create", "lakehouse").returncode == 0
    created = node.cli("key", "create", "lakehouse-access").stdout
    match = re.fullmatch(r"Key created:\nName: lakehouse-access\nAccess Key ID: (GK[0-9a-f]{24})\nSecret Access Key: ([0-9a-f]{64})\n", created)
    assert match, created
    key_id = match.group(1)

    node.cli("bucket", "allow", "--read", "--write", "lakehouse", "--key", "lakehouse-access")
    buckets = node.cli("bucket", "list").stdout.splitlines()
    assert re.match(r"BUCKET\s+VISIBILITY", buckets[0]) and re.match(r"lakehouse\s+private", buckets[1])
    keys = node.cli("key", "list").stdout.splitlines()
    assert re.match(r"Key ID\s+Key Name", keys[0]) and re.match(rf"{key_id}\s+lakehouse-access", keys[1])

    info = node.cli("bucket", "info", "lakehouse").stdout
    assert re.search(rf"read,write\s+{key_id}\s+lakehouse-access", info)
    node.cli("bucket", "deny", "--write", "lakehouse", "--key", "lakehouse-access")
    assert node.cli_json("bucket", "info", "lakehouse")["grants"][0]["permissions"] == ["read"]
    node.cli("bucket", "deny", "--read", "lakehouse", "--key", key_id)
    assert node.cli_json("bucket", "info", "lakehouse")["grants"] == []

    # Pre-provisioned credentials, as the guide's Airbyte/Trino configs hold.
    imported = node.cli("key", "import", "GK1234567890abcdef12345678", "ab" * 32, "--name", "trino-query").stdout
    assert "Access Key ID: GK1234567890abcdef12345678" in imported
    assert node.cli("key", "import", "GK1234567890abcdef12345678", "ab" * 32, check=False).returncode != 0
    assert node.cli_json("key", "info", "trino-query", "--show-secret")["secret"] == "ab" * 32

    node.cli("key", "delete", "lakehouse-access")
    assert "lakehouse-access" not in node.cli("key", "list").stdout
    node.cli("bucket", "delete", "lakehouse")
    assert "lakehouse" not in node.cli("bucket", "list").stdout
    assert node.cli("bucket", "info", "lakehouse", check=False).returncode != 0


def test_sigterm_stops_cleanly_and_state_survives_restart(cluster):
    node = cluster(1).start()
    node.cli("layout", "assign", "-z", "dc1", "-c", "1T", node.node_id)
    node.cli("layout", "apply", "--version", "1")
    node.cli("bucket", "create", "kept")
    first_id = node.node_id
    assert node.stop() == 0
    assert "node stopped" in node.log.read_text()
    node.start()
    assert node.node_id == first_id
    assert "kept" in node.cli("bucket", "list").stdout
    assert node.api("GET", "/v1/layout")["currentVersion"] == 1
    node.kill(signal.SIGINT)
    assert node.proc.returncode == 0


def test_layout_config_revert_remove_replace_and_history(cluster):
    a = cluster(1).start()
    b = cluster(2, bootstrap=[a.connect_string]).start()
    c = cluster(3, bootstrap=[a.connect_string]).start()
    wait_until(lambda: len(a.healthy_ids()) == 3, what="joined")

    a.cli("layout", "config", "--ec", "2+1")
    a.cli("layout", "assign", "-z", "dc1", "-c", "10G", a.node_id, b.node_id)
    assert a.cli_json("layout", "show")["stagedCode"] == "2+1"
    a.cli("layout", "revert")
    show = a.cli_json("layout", "show")
    assert show["staged"] == [] and show.get("stagedCode") is None

    a.cli("layout", "config", "--ec", "2+1")
    a.cli("layout", "assign", "-z", "dc1", "-c", "10G", a.node_id)
    a.cli("layout", "assign", "-z", "dc2", "-c", "10G", "-t", "rack7", b.node_id)
    a.cli("layout", "apply", "--version", "1")
    current = a.cli_json("layout", "show")["current"]
    assert current["ec"] == {"k": 2, "m": 1} and len(current["nodes"]) == 2

    refused = a.cli("layout", "config", "--ec", "4+2", check=False)
    assert refused.returncode != 0 and "fixed once a layout has been applied" in refused.stderr

    # Replace b by c: c takes b's zone and capacity; b leaves.
    a.cli("layout", "assign", "-z", "dc2", "-c", "10G", "--replace", b.node_id, c.node_id)
    a.cli("layout", "apply", "--version", "2")
    roles = {n["id"]: n.get("role") for n in a.status()["nodes"]}
    assert roles[c.node_id]["zone"] == "dc2" and roles[b.node_id] is None

    a.cli("layout", "remove", c.node_id)
    a.cli("layout", "assign", "-z", "dc3", "-c", "5G", b.node_id)
    a.cli("layout", "apply", "--version", "3")
    history = a.cli("layout", "history").stdout
    assert "3 (current)" in history and "2+1" in history
    assert [v["version"] for v in a.cli_json("layout", "history")["versions"]] == [1, 2, 3]
    wait_until(lambda: c.api("GET", "/v1/layout")["currentVersion"] == 3, timeout=5, what="c has version 3")
