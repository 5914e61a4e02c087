"""Bulk bucket and key work from the CLI: several buckets per command, a
file of keys, a progress bar on a terminal once the work takes over a
second (none when stderr is not a terminal), a stop at the first failure
that says how far it got, and `--json` answers."""
from __future__ import annotations

import os
import pty
import secrets
import subprocess

from s3_clients import boto, single_node
from shale_cluster import SHALE


def on_a_terminal(node, *args: str) -> tuple[int, str]:
    """Runs the CLI with stderr on a pseudo-terminal; returns its status and what the terminal showed."""
    leader, follower = pty.openpty()
    env = dict(os.environ, SHALE_CONFIG=str(node.config))
    process = subprocess.Popen([SHALE, *args], env=env, stdout=subprocess.PIPE, stderr=follower)
    os.close(follower)
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:
            break
        if not chunk:
            break
        shown += chunk
    process.wait(timeout=120)
    os.close(leader)
    return process.returncode, shown.decode(errors="replace")


def test_bulk_buckets_and_keys(cluster, tmp_path):
    node = single_node(cluster)
    names = [f"bulk-{i:03d}" for i in range(800)]

    # On a terminal, work over a second draws a bar, and clears it at the end.
    status, shown = on_a_terminal(node, "bucket", "create", *names)
    assert status == 0
    assert "\r\x1b[2K[" in shown and "/800 bulk-" in shown, shown[-400:]
    listed = node.cli_json("bucket", "list")
    assert {b["name"] for b in listed} >= set(names)

    # One bucket on a terminal: no bar, and no crash (the CLI trapped here before).
    status, shown = on_a_terminal(node, "bucket", "create", "just-one")
    assert status == 0 and "\x1b" not in shown, shown

    # Not a terminal: no bar at all, one summary line.
    result = node.cli("bucket", "allow", "--read", "--key", "writer", *names[:40])
    assert "\r" not in result.stderr and "\x1b" not in result.stderr
    assert result.stdout.count("are now: read") == 40
    info = node.cli_json("bucket", "info", names[39])
    assert info["grants"][0]["permissions"] == ["read"]

    # A failure stops the run and says how far it got; the ones before it stay done.
    failed = node.cli("bucket", "delete", *names[:3], "Not_A_Bucket", *names[3:6], check=False)
    assert failed.returncode != 0
    assert "Not_A_Bucket" in failed.stderr and "deleted 3 of 7 before it" in failed.stderr
    remaining = {b["name"] for b in node.cli_json("bucket", "list")}
    assert not remaining & set(names[:3]) and set(names[3:6]) <= remaining

    # --json: an array for several, the API's document for one.
    deleted = node.cli_json("bucket", "delete", *names[3:10])
    assert [d["deleted"] for d in deleted] == names[3:10]
    assert node.cli_json("bucket", "delete", names[10]) == {"deleted": names[10]}

    # A file of keys (ID,SECRET[,NAME], comments and blank lines skipped), usable at once.
    keys = [(f"GK{secrets.token_hex(12)}", secrets.token_hex(32), f"migrated-{i}") for i in range(30)]
    listing = tmp_path / "keys.csv"
    listing.write_text("# moved from the old store\n\n" + "\n".join(",".join(k) for k in keys) + "\n" + f"GK{secrets.token_hex(12)},{secrets.token_hex(32)}\n")
    imported = node.cli_json("key", "import", "--file", str(listing))
    assert len(imported) == 31 and imported[0]["key"]["name"] == "migrated-0" and imported[-1]["key"]["name"] == "imported-key"
    node.cli("bucket", "allow", "--read", "--write", "--key", "migrated-7", "data")
    client = boto(node, keys[7][:2])
    client.put_object(Bucket="data", Key="moved", Body=b"ok")
    assert client.get_object(Bucket="data", Key="moved")["Body"].read() == b"ok"
    bad = tmp_path / "bad.csv"
    bad.write_text(f"{keys[0][0]}\n")
    refused = node.cli("key", "import", "--file", str(bad), check=False)
    assert refused.returncode != 0 and "bad.csv:1: expected ID,SECRET[,NAME]" in refused.stderr
    both = node.cli("key", "import", "--file", str(bad), keys[0][0], keys[0][1], check=False)
    assert both.returncode != 0 and "not both" in both.stderr
