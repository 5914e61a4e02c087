"""deploy/grafana/shale-dashboard.json: well-formed, every metric it plots is
one Shale exports (declared in the sources, and seen on a real node's
/metrics for the data path's), and Docs/operations.md lists its panels."""
from __future__ import annotations

import json
import re
from pathlib import Path

from s3_clients import boto
from test_s3_errors import node  # noqa: F401  (the one-node fixture)

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy" / "grafana" / "shale-dashboard.json"


def panels() -> list[dict]:
    return [p for p in json.loads(DASHBOARD.read_text())["panels"] if p["type"] != "row"]


def plotted_metrics() -> set[str]:
    return {name for p in panels() for t in p["targets"] for name in re.findall(r"shale_[a-z0-9_]+", t["expr"])}


def test_the_dashboard_is_well_formed_and_plots_only_exported_metrics():
    dashboard = json.loads(DASHBOARD.read_text())
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids)) and dashboard["uid"] and dashboard["templating"]["list"][0]["type"] == "datasource"
    for panel in panels():
        assert panel["targets"] and all(t["expr"] and t["refId"] for t in panel["targets"]), panel["title"]
        assert {"h", "w", "x", "y"} <= set(panel["gridPos"])
    sources = "\n".join(p.read_text() for p in (ROOT / "Sources").rglob("*.swift"))
    declared = set(re.findall(r'(?:label|name): "(shale_[a-z0-9_]+)"', sources))
    assert plotted_metrics() <= declared, f"not exported: {sorted(plotted_metrics() - declared)}"


def test_operations_lists_every_panel():
    text = (ROOT / "Docs" / "operations.md").read_text()
    for panel in panels():
        assert panel["title"] in text, panel["title"]


def test_a_node_serves_the_data_path_metrics_the_dashboard_plots(node):
    client = boto(node, node.key)
    client.put_object(Bucket="data", Key="m", Body=b"x" * 100)
    client.get_object(Bucket="data", Key="m")["Body"].read()
    exported = set(re.findall(r"^(shale_[a-z0-9_]+)", node.api("GET", "/metrics"), re.M))
    wanted = {"shale_s3_requests_total", "shale_objects_put_total", "shale_objects_inline_put_total", "shale_cluster_nodes_healthy",
              "shale_cluster_nodes_failed", "shale_layout_version", "shale_buckets", "shale_access_keys"}
    assert wanted <= plotted_metrics()
    assert wanted <= exported, f"missing on /metrics: {sorted(wanted - exported)}"
