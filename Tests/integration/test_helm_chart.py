"""The Helm chart (deploy/helm/shale), checked without a cluster: rendered
by Helm's own library (helm-python-sdk), linted strictly, and every object
validated against the Kubernetes schemas (kubernetes-validate), for 1 and
6 replicas; the objects are the ones the platform guide lists, and the
rendered shale.toml is one a real `shale server` starts with."""
from __future__ import annotations

import base64
import re
import subprocess
import time
from pathlib import Path

import pytest

helm = pytest.importorskip("helm_python", reason="helm-python-sdk is not installed (scripts/install-deps.sh installs it)")
kubernetes_validate = pytest.importorskip("kubernetes_validate")
yaml = pytest.importorskip("yaml")

from shale_cluster import ADMIN_TOKEN, RPC_SECRET, SHALE  # noqa: E402

CHART = Path(__file__).resolve().parents[2] / "deploy" / "helm" / "shale"
KUBERNETES = "1.30"


def render(values: dict, upgrade: bool = False) -> dict[tuple[str, str], dict]:
    chart = helm.Chart.load(str(CHART))
    manifests = chart.render(values, name="shale", namespace="lakehouse", is_install=not upgrade, is_upgrade=upgrade)
    objects = {}
    for path, text in manifests.items():
        if path.endswith("NOTES.txt"):
            continue
        for document in yaml.safe_load_all(text):
            if document:
                objects[(document["kind"], document["metadata"]["name"])] = document
    return objects


def test_lint_is_clean():
    report = helm.lint(str(CHART), strict=True)
    assert not report["errors"], report
    assert all(m["severity"] < 2 for m in report["messages"]), report["messages"]


@pytest.mark.parametrize("replicas", [1, 6])
def test_renders_the_guides_objects_and_they_validate(replicas):
    values = {"replicas": replicas, "zones": ["dc1", "dc2", "dc3"], "layout": {"autoApply": True}}
    objects = render(values)
    for (kind, name), document in objects.items():
        kubernetes_validate.validate(document, KUBERNETES, strict=True)
    assert set(objects) == {("StatefulSet", "shale"), ("Service", "shale"), ("Service", "shale-headless"), ("Secret", "shale-secrets"),
                            ("ConfigMap", "shale-config"), ("Job", "shale-layout-1")}
    statefulset = objects[("StatefulSet", "shale")]["spec"]
    assert statefulset["replicas"] == replicas and statefulset["serviceName"] == "shale-headless"
    # data-shale-N and meta-shale-N, as the guide lists them.
    assert [t["metadata"]["name"] for t in statefulset["volumeClaimTemplates"]] == ["data", "meta"]
    pod = statefulset["template"]["spec"]
    container = pod["containers"][0]
    assert container["command"] == ["/shale", "server"]
    assert {p["name"]: p["containerPort"] for p in container["ports"]} == {"s3": 3900, "rpc": 3901, "admin": 3902}
    assert container["readinessProbe"]["httpGet"]["path"] == "/health"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True and pod["securityContext"]["runAsNonRoot"] is True
    assert pod["topologySpreadConstraints"][0]["topologyKey"] == "topology.kubernetes.io/zone"
    headless = objects[("Service", "shale-headless")]["spec"]
    assert headless["clusterIP"] == "None" and headless["publishNotReadyAddresses"] is True
    service = objects[("Service", "shale")]["spec"]
    assert service["type"] == "ClusterIP" and [p["port"] for p in service["ports"]] == [3900]
    secret = objects[("Secret", "shale-secrets")]["data"]
    assert re.fullmatch(r"[0-9a-f]{64}", base64.b64decode(secret["rpc_secret"]).decode())
    assert len(base64.b64decode(secret["admin_token"])) >= 16
    toml = objects[("ConfigMap", "shale-config")]["data"]["shale.toml"]
    peers = re.findall(r'"(shale-\d+\.shale-headless\.lakehouse\.svc\.cluster\.local:3901)"', toml)
    assert len(peers) == replicas
    job = objects[("Job", "shale-layout-1")]
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "post-install,post-upgrade"
    command = job["spec"]["template"]["spec"]["containers"][0]["command"]
    assert command[:3] == ["/shale", "layout", "auto-assign"] and "--apply" in command
    assert command[command.index("--zones") + 1] == "dc1,dc2,dc3" and command[command.index("--wait-for") + 1] == str(replicas)


def test_values_switch_what_they_say():
    objects = render({"admin": {"exposeOnService": True}, "layout": {"autoApply": False}, "existingSecret": "mine",
                      "podAntiAffinity": "required", "extraConfig": {"block_size": 65536, "metadata_replicas": 5}})
    assert ("Job", "shale-layout-1") not in objects and ("Secret", "shale-secrets") not in objects
    assert [p["port"] for p in objects[("Service", "shale")]["spec"]["ports"]] == [3900, 3902]
    pod = objects[("StatefulSet", "shale")]["spec"]["template"]["spec"]
    assert pod["volumes"][1]["secret"]["secretName"] == "mine"
    assert "requiredDuringSchedulingIgnoredDuringExecution" in pod["affinity"]["podAntiAffinity"]
    toml = objects[("ConfigMap", "shale-config")]["data"]["shale.toml"]
    assert "block_size = 65536" in toml and "metadata_replicas = 5" in toml
    for document in objects.values():
        kubernetes_validate.validate(document, KUBERNETES, strict=True)


def test_tls_from_a_certificate_secret():
    objects = render({"replicas": 3, "tls": {"secretName": "shale-tls"}, "layout": {"autoApply": True}})
    for document in objects.values():
        kubernetes_validate.validate(document, KUBERNETES, strict=True)
    toml = objects[("ConfigMap", "shale-config")]["data"]["shale.toml"]
    assert toml.count('tls_cert_file = "/etc/shale/tls/tls.crt"') == 2 and toml.count('tls_key_file = "/etc/shale/tls/tls.key"') == 2
    pod = objects[("StatefulSet", "shale")]["spec"]["template"]["spec"]
    assert any(v.get("secret", {}).get("secretName") == "shale-tls" for v in pod["volumes"])
    assert pod["containers"][0]["readinessProbe"]["httpGet"]["scheme"] == "HTTPS"
    job = objects[("Job", "shale-layout-1")]["spec"]["template"]["spec"]
    env = {e["name"]: e.get("value") for e in job["containers"][0]["env"]}
    assert env["SHALE_ADMIN_ADDR"].startswith("https://shale-0.shale-headless.lakehouse.svc.cluster.local:")
    assert env["SHALE_ADMIN_CA_FILE"] == "/etc/shale/tls/ca.crt"
    # Without a Secret: plain HTTP, no TLS keys at all.
    plain = render({})[("ConfigMap", "shale-config")]["data"]["shale.toml"]
    assert "tls_" not in plain


def test_every_value_is_documented_in_values_yaml():
    text = (CHART / "values.yaml").read_text()
    values = yaml.safe_load(text)
    lines = text.splitlines()
    for key in values:
        at = next(i for i, line in enumerate(lines) if line.startswith(f"{key}:"))
        above = lines[max(0, at - 3):at]
        assert any(line.startswith("#") for line in above) or "#" in lines[at], f"values.yaml: {key} has no comment"


def test_the_rendered_config_starts_a_real_node(tmp_path):
    """The ConfigMap's shale.toml with the pod's paths moved under tmp_path
    and its address on loopback: `shale server` starts with it and answers /health."""
    toml = render({"replicas": 3})[("ConfigMap", "shale-config")]["data"]["shale.toml"]
    (tmp_path / "rpc_secret").write_text(RPC_SECRET)
    (tmp_path / "admin_token").write_text(ADMIN_TOKEN)
    toml = (toml.replace('"/meta"', f'"{tmp_path}/meta"').replace('"/data"', f'"{tmp_path}/data"')
            .replace("/etc/shale/secrets", str(tmp_path)).replace("0.0.0.0", "127.0.74.1"))
    (tmp_path / "shale.toml").write_text(toml)
    process = subprocess.Popen([SHALE, "server"], env={"SHALE_CONFIG": str(tmp_path / "shale.toml"), "PATH": "/usr/bin:/bin"},
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        import urllib.request
        deadline = time.time() + 20
        while True:
            try:
                urllib.request.urlopen("http://127.0.74.1:3902/health", timeout=1)
                break
            except urllib.error.HTTPError as answer:
                assert answer.code == 503  # up, no layout yet: what the readiness probe sees
                break
            except OSError:
                assert time.time() < deadline and process.poll() is None, process.stdout.read().decode() if process.poll() is not None else "no answer"
                time.sleep(0.2)
    finally:
        process.terminate()
        assert process.wait(timeout=20) == 0, "SIGTERM stops the node cleanly (PID 1 in the container)"
