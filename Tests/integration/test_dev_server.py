"""`shale server --dev` (what `make run` starts): a ready single node whose
4+2 code puts all six slots on itself, used with the printed credentials."""
from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

from s3_clients import aws, shard_files
from shale_cluster import SHALE


class DevNode:
    """Enough of shale_cluster.Node for the S3 helpers."""

    def __init__(self, ip: str, data: Path):
        self.ip = ip
        self.data = data / "data"


def start_dev(tmp_path: Path, ip: str) -> tuple[subprocess.Popen, dict[str, str], Path]:
    env = dict(os.environ, SHALE_S3_API_BIND_ADDR=f"{ip}:3900", SHALE_RPC_BIND_ADDR=f"{ip}:3901",
               SHALE_ADMIN_API_BIND_ADDR=f"{ip}:3902")
    log = tmp_path / "dev.log"
    proc = subprocess.Popen([SHALE, "server", "--dev", "--data", str(tmp_path / "dev")], env=env,
                            stdout=open(log, "ab"), stderr=subprocess.STDOUT)
    deadline = time.time() + 30
    while time.time() < deadline:
        text = log.read_text()
        if text.count("Secret key:") >= 1 and "AWS:" in text.split("Secret key:")[-1]:
            banner = text.rsplit("Shale dev server is ready", 1)[-1]
            fields = dict(re.findall(r"^\s+([A-Za-z0-9 ]+):\s+(\S+)", banner, re.M))
            return proc, fields, log
        assert proc.poll() is None, text[-2000:]
        time.sleep(0.1)
    raise TimeoutError(log.read_text()[-2000:])


def test_dev_server_serves_s3_with_its_printed_credentials(tmp_path):
    ip = "127.0.70.1"
    proc, fields, log = start_dev(tmp_path, ip)
    try:
        assert fields["S3 endpoint"] == f"http://{ip}:3900"
        key = (fields["Access key"], fields["Secret key"])
        node = DevNode(ip, tmp_path / "dev")
        region = fields["Region"]
        wrong = aws(node, key, "s3", "ls", "s3://dev/", check=False)
        assert wrong.returncode != 0 and f"expecting '{region}'" in wrong.stderr
        payload = tmp_path / "part-0.parquet"
        payload.write_bytes(os.urandom(3 * (1 << 20) + 17))
        aws(node, key, "s3", "cp", str(payload), "s3://dev/tables/orders/part-0.parquet", region=region)
        # 4+2 on one node: all six shards of the object are on it.
        assert len(shard_files([node])) == 6
        assert "part-0.parquet" in aws(node, key, "s3", "ls", "s3://dev/tables/orders/", region=region).stdout
        proc.terminate()
        assert proc.wait(timeout=30) == 0
        proc, fields2, log = start_dev(tmp_path, ip)
        assert fields2["Access key"] == key[0]
        aws(node, key, "s3", "cp", "s3://dev/tables/orders/part-0.parquet", str(tmp_path / "back"), region=region)
        assert (tmp_path / "back").read_bytes() == payload.read_bytes()
        aws(node, key, "s3", "rm", "s3://dev/tables/orders/part-0.parquet", region=region)
        assert aws(node, key, "s3", "ls", "s3://dev/", check=False, region=region).stdout.strip() == ""
    finally:
        proc.kill()
