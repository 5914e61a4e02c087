"""What the Helm chart relies on, with real nodes on loopback: pods that
list every pod's address (theirs included) as `HOST:PORT` bootstrap peers
find each other with no `node connect`, and the layout Job's command,
`shale layout auto-assign`, gives every node without a role one (zones
round-robin) and applies the next version — again after a scale-up."""
from __future__ import annotations

from shale_cluster import Node, wait_until

ZONES = "dc1,dc2,dc3"


def test_address_only_bootstrap_and_auto_assign(tmp_path):
    ips = [f"127.0.71.{i}" for i in range(1, 5)]
    listed = [f"{ip}:3901" for ip in ips[:3]]  # the chart lists the pods it starts with; a later pod is not listed
    nodes = [Node(tmp_path, ip, bootstrap=listed) for ip in ips[:3]]
    try:
        for node in nodes:
            node.start()
        ids = {n.node_id for n in nodes}
        for node in nodes:
            wait_until(lambda: node.healthy_ids() == ids, timeout=30, what=f"{node.ip} finds the others by address alone")

        out = nodes[1].cli("layout", "auto-assign", "--zones", ZONES, "-c", "10G", "--ec", "2+1", "--wait-for", "3", "--apply").stdout
        assert "applied" in out, out
        status = nodes[0].cli_json("status")
        assert status["layoutVersion"] == 1
        zones = sorted(n["role"]["zone"] for n in status["nodes"])
        assert zones == ["dc1", "dc2", "dc3"], status
        assert nodes[2].cli_json("layout", "show")["current"]["ec"] == {"k": 2, "m": 1}
        # Each node counts the disk its shards take and reports it with its heartbeats: `status` shows it per node.
        wait_until(lambda: all(n.get("shardBytes") is not None for n in nodes[0].cli_json("status")["nodes"]), timeout=15,
                   what="every node's shard disk use known")
        assert "Shards" in nodes[0].cli("status").stdout

        # A scale-up: a fourth pod bootstraps from the listed ones; only it gets a role, in the next zone.
        fourth = Node(tmp_path, ips[3], bootstrap=listed)
        nodes.append(fourth)
        fourth.start()
        wait_until(lambda: len(nodes[0].healthy_ids()) == 4, timeout=30, what="the fourth node joins")
        again = nodes[0].cli("layout", "auto-assign", "--zones", ZONES, "-c", "10G", "--wait-for", "4", "--apply").stdout
        assert "version 2" in again, again
        status = nodes[0].cli_json("status")
        assert status["layoutVersion"] == 2
        roles = {n["id"]: n["role"]["zone"] for n in status["nodes"]}
        assert len(roles) == 4 and sorted(roles.values()).count("dc1") == 2, roles
        # Nothing left to assign: a no-op that says so.
        idle = nodes[0].cli("layout", "auto-assign", "--zones", ZONES, "-c", "10G", "--apply").stdout
        assert "nothing staged" in idle.lower(), idle
        assert nodes[0].cli_json("status")["layoutVersion"] == 2
    finally:
        for node in nodes:
            node.kill()
