"""Docs/deployment.md followed as a new user would, on loopback, for all
that needs no Kubernetes cluster: the bare-metal block run for three hosts
(10.0.0.11-13 become 127.0.96.11-13, each host's files under its own
directory, the server started with the systemd unit's ExecStart since
systemd cannot run here), then every Kubernetes section's commands as
typed, with `kubectl exec -n lakehouse shale-N -- /shale` reaching host N
(pod shale-N is host N+1) and `helm`, `kubectl scale/get/logs` and
commands inside a pod other than /shale skipped with a printed reason."""
from __future__ import annotations

import os
import re
import signal
import subprocess
from pathlib import Path

from s3_clients import boto
from shale_cluster import REPO, SHALE

DOC = REPO / "Docs" / "deployment.md"
UNIT = REPO / "deploy" / "systemd" / "shale.service"
IPS = ["127.0.96.11", "127.0.96.12", "127.0.96.13"]


def blocks(section: str) -> list[str]:
    """The ```sh blocks of a section (by its heading text)."""
    text = DOC.read_text()
    start = text.index(section)
    following = re.search(r"\n#{2,3} ", text[start + len(section):])
    part = text[start: start + len(section) + following.start()] if following else text[start:]
    return re.findall(r"```sh\n(.*?)```", part, re.S)


def bare_metal_script(block: str, host: int, root: Path) -> str:
    """The bare-metal block for one host, with the documented loopback substitutions."""
    home = root / f"host{host}"
    ip = IPS[host]
    exec_start = re.search(r"^ExecStart=(.*)$", UNIT.read_text(), re.M).group(1)
    script = block
    for i in range(3):
        script = script.replace(f"10.0.0.1{i + 1}", IPS[i])
    for i in range(3):  # the block names host 1's public address; each host has its own
        script = script.replace(f'rpc_public_addr = "{IPS[i]}:3901"', f'rpc_public_addr = "{ip}:3901"')
    # One machine holds the three hosts: each binds its own loopback address, not every address.
    script = script.replace('"0.0.0.0:', f'"{ip}:').replace('"127.0.0.1:3902"', f'"{ip}:3902"')
    script = script.replace("sudo apt-get install -y libisal2 libsqlite3-0", "dpkg -s libisal2 libsqlite3-0 >/dev/null  # installed already")
    script = re.sub(r"^sudo useradd .*$", "# skipped: useradd, the test runs as the current user", script, flags=re.M)
    script = script.replace("sudo chown shale /etc/shale-rpc-secret && ", "")
    script = script.replace("-o shale -g shale ", "")
    if host > 0:  # "the same secret on every host"
        script = re.sub(r"^openssl rand -hex 32 \| sudo tee /etc/shale-rpc-secret.*$",
                        f"cp HOST0_SECRET /etc/shale-rpc-secret", script, flags=re.M)
    # systemd cannot run here: the unit's ExecStart, with this host's paths, in the background.
    script = re.sub(r"^sudo systemctl daemon-reload && sudo systemctl enable --now shale$", "START_THE_UNIT", script, flags=re.M)
    script = script.replace("sudo ", "")
    script = script.replace("/usr/local/bin/shale", f"{root}/bin/shale")
    script = script.replace("/etc/", f"{home}/etc/").replace("/var/lib/shale", f"{home}/var/lib/shale")
    script = script.replace("HOST0_SECRET", f"{root}/host0/etc/shale-rpc-secret")
    service = exec_start.replace("/usr/local/bin/shale", f"{root}/bin/shale").replace("/etc/", f"{home}/etc/")
    assert "START_THE_UNIT" in script, "the block no longer starts the unit the way this test expects"
    script = script.replace("START_THE_UNIT", f"nohup {service} > {home}/server.log 2>&1 &\necho $! > {home}/pid")
    return f"set -euo pipefail\nmkdir -p {home}/etc/systemd/system {root}/bin\ncd {root}/src\n" + script


SHIMS = r"""
set -euo pipefail
# pod shale-N is host N; /shale is the installed binary with that host's config.
kubectl() {
  case "$1" in
    exec)
      shift; [ "$1" = "-n" ] && shift 2
      local pod=$1; shift; [ "$1" = "--" ] && shift
      local index=${pod#shale-}
      if [ "$1" = "/shale" ]; then shift; SHALE_CONFIG=$ROOT/host$index/etc/shale.toml "$ROOT/bin/shale" "$@"
      else echo "skipped on loopback (inside a pod): $*" >&2; fi ;;
    cp)
      local source=$2 index=${2#*/shale-}; index=${index%%:*}
      cp "$ROOT/host$index/var/lib/shale${source#*:}" "$3" ;;
    *) echo "skipped on loopback (needs a cluster): kubectl $*" >&2 ;;
  esac
}
helm() { echo "skipped on loopback (needs a cluster): helm $*" >&2; }
"""


def run(script: str, root: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, ROOT=str(root))
    for name in ("SHALE_CONFIG", "SHALE_ADMIN_ADDR", "SHALE_ADMIN_TOKEN"):
        env.pop(name, None)
    result = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=300, cwd=root / "work")
    assert result.returncode == 0, f"failed ({result.returncode}):\n{script}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    return result


def test_the_deployment_guide_on_loopback(tmp_path):
    root = tmp_path
    (root / "src").mkdir()
    (root / "work").mkdir()
    (root / "src" / "shale").symlink_to(SHALE)  # `install -m 755 shale …` from the build directory
    (root / "src" / "deploy").symlink_to(REPO / "deploy")
    try:
        [bare_metal] = blocks("## Bare metal or VMs, under systemd")
        for host in range(3):
            run(bare_metal_script(bare_metal, host, root), root)
            assert (root / f"host{host}" / "etc" / "systemd" / "system" / "shale.service").read_text() == UNIT.read_text()
        secrets = {(root / f"host{h}" / "etc" / "shale-rpc-secret").read_text() for h in range(3)}
        assert len(secrets) == 1 and len(secrets.pop().strip()) == 64
        for host in range(3):
            wait = f'for i in $(seq 100); do SHALE_CONFIG=$ROOT/host{host}/etc/shale.toml $ROOT/bin/shale node id >/dev/null 2>&1 && exit 0; sleep 0.2; done; exit 1'
            run(wait, root)
        # The hosts find each other from bootstrap_peers alone.
        run(SHIMS + 'for i in $(seq 100); do [ "$(kubectl exec -n lakehouse shale-0 -- /shale status --json | python3 -c '
            '"import json,sys; print(sum(n[\'healthy\'] for n in json.load(sys.stdin)[\'nodes\']))")" = 3 ] && exit 0; sleep 0.3; done; exit 1', root)

        outputs = {}
        for section in ("### Install", "### Initialize the layout", "### Buckets and keys for Airbyte, Trino and dbt",
                        "### Scale to 3, then 6 nodes across zones", "### HTTPS", "### Monitor", "### Back up the cluster's metadata"):
            for block in blocks(section):
                outputs[section] = run(SHIMS + block, root)

        assert "Bucket lakehouse was created." in outputs["### Buckets and keys for Airbyte, Trino and dbt"].stdout
        status = run(SHIMS + "kubectl exec -n lakehouse shale-0 -- /shale status --json", root).stdout
        assert status.count('"healthy" : true') == 3 and '"layoutVersion" : 2' in status
        assert "fully redundant" in outputs["### Monitor"].stdout
        # After the apply, the current layout reports the moves from version 1 (it said "first layout").
        scaled = outputs["### Scale to 3, then 6 nodes across zones"].stdout
        assert "(first layout)" not in scaled.split("CURRENT CLUSTER LAYOUT (version 2)")[1]
        assert re.search(r"CURRENT CLUSTER LAYOUT \(version 2\).*Slots moved: +\d+ of 1536 from version 1", scaled, re.S)
        assert "skipped on loopback (needs a cluster): helm upgrade --install shale" in outputs["### Install"].stderr
        for backup in ("shale-layout-backup.txt", "shale-keys-backup.txt", "shale-buckets-backup.txt", "shale-0-cluster_state.json"):
            assert (root / "work" / backup).stat().st_size > 0, backup
        assert "trino-access" in (root / "work" / "shale-keys-backup.txt").read_text()

        # The keys made by the guide's loop work as the clients would use them.
        created = outputs["### Buckets and keys for Airbyte, Trino and dbt"].stdout
        pairs = re.findall(r"Name: (\S+)\nAccess Key ID: (\S+)\nSecret Access Key: (\S+)", created)
        keys = {name: (key, secret) for name, key, secret in pairs}
        airbyte = boto(type("Host", (), {"ip": IPS[1]}), keys["airbyte-access"])
        airbyte.put_object(Bucket="lakehouse", Key="raw/orders.parquet", Body=b"PAR1")
        trino = boto(type("Host", (), {"ip": IPS[2]}), keys["trino-access"])
        assert trino.get_object(Bucket="lakehouse", Key="raw/orders.parquet")["Body"].read() == b"PAR1"
    finally:
        for host in range(3):
            pid = root / f"host{host}" / "pid"
            if pid.exists():
                try:
                    os.kill(int(pid.read_text()), signal.SIGTERM)
                except ProcessLookupError:
                    pass
