"""S3 clients for the integration tests: boto3 and the AWS CLI, pointed at a
node's S3 port with a key made through `shale key create`."""
from __future__ import annotations

import datetime
import hashlib
import hmac
import os
import subprocess
from pathlib import Path

import boto3
from botocore.config import Config


def create_key(node, name: str) -> tuple[str, str]:
    out = node.cli("key", "create", name).stdout
    fields = dict(line.split(": ", 1) for line in out.splitlines() if ": " in line)
    return fields["Access Key ID"].strip(), fields["Secret Access Key"].strip()


def boto(node, key: tuple[str, str], retries: int = 1):
    return boto3.client(
        "s3", endpoint_url=f"http://{node.ip}:3900", aws_access_key_id=key[0], aws_secret_access_key=key[1],
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": retries, "mode": "standard"},
                      connect_timeout=5, read_timeout=120))


def aws(node, key: tuple[str, str], *args: str, check: bool = True, cwd: Path | None = None,
        region: str = "us-east-1") -> subprocess.CompletedProcess:
    env = dict(os.environ, AWS_ACCESS_KEY_ID=key[0], AWS_SECRET_ACCESS_KEY=key[1], AWS_DEFAULT_REGION=region,
               AWS_MAX_ATTEMPTS="1", AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null")
    result = subprocess.run(["aws", "--endpoint-url", f"http://{node.ip}:3900", *args], env=env,
                            capture_output=True, text=True, timeout=300, cwd=cwd)
    if check and result.returncode != 0:
        raise AssertionError(f"aws {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def make_file(path: Path, size: int, seed: int) -> str:
    """Writes `size` pseudo-random bytes (fast: one random MiB, varied per block); returns the MD5."""
    digest = hashlib.md5()
    base = hashlib.sha256(str(seed).encode()).digest() * (1 << 15)  # 1 MiB
    with open(path, "wb") as f:
        written, block = 0, 0
        while written < size:
            chunk = (block.to_bytes(8, "little") + base[8:])[: size - written]
            f.write(chunk)
            digest.update(chunk)
            written += len(chunk)
            block += 1
    return digest.hexdigest()


def md5_of_object(client, bucket: str, key: str, **kwargs) -> str:
    body = client.get_object(Bucket=bucket, Key=key, **kwargs)["Body"]
    digest = hashlib.md5()
    for chunk in iter(lambda: body.read(1 << 20), b""):
        digest.update(chunk)
    return digest.hexdigest()


def md5_bytes(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def shard_files(nodes) -> dict[Path, object]:
    """Every shard file on the nodes' disks, with the node holding it."""
    found = {}
    for node in nodes:
        for path in (node.data / "shards").rglob("*"):
            if path.is_file() and ".tmp-" not in path.name:
                found[path] = node
    return found


def sign(method: str, host: str, path: str, key: tuple[str, str], extra: dict[str, str] | None = None,
         payload_hash: str = "UNSIGNED-PAYLOAD", query: str = "", region: str = "us-east-1") -> dict[str, str]:
    """SigV4 headers for a raw request (`path` already percent-encoded, `query` canonical)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    day = amz_date[:8]
    headers = {"host": host, "x-amz-content-sha256": payload_hash, "x-amz-date": amz_date, **(extra or {})}
    names = sorted(headers)
    canonical = "\n".join([method, path, query, *(f"{n}:{headers[n]}" for n in names), "", ";".join(names), payload_hash])
    scope = f"{day}/{region}/s3/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    k = ("AWS4" + key[1]).encode()
    for part in (day, region, "s3", "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = f"AWS4-HMAC-SHA256 Credential={key[0]}/{scope}, SignedHeaders={';'.join(names)}, Signature={signature}"
    return headers


def single_node(cluster, extra: str = "", key_name: str = "writer", permissions: tuple[str, ...] = ("--read", "--write")):
    """One started node with layout 1, bucket `data` and a key allowed on it (`node.key`)."""
    node = cluster(1, extra=extra).start()
    node.cli("layout", "assign", "-z", "dc1", "-c", "10G", node.node_id)
    node.cli("layout", "apply", "--version", "1")
    node.cli("bucket", "create", "data")
    node.key = create_key(node, key_name)
    node.cli("bucket", "allow", *permissions, "data", "--key", key_name)
    return node


def provision(nodes, zones: list[str], bucket: str, key_name: str, code: str | None = None,
              capacity: str = "10G", permissions: tuple[str, ...] = ("--read", "--write"), version: int = 1) -> tuple[str, str]:
    """The guide's set-up on running nodes: wait until they see each other,
    assign roles, apply layout `version`, create a bucket and a key allowed on
    it, and wait until every node knows them. Returns the key."""
    from shale_cluster import wait_until

    first = nodes[0]
    ids = {n.node_id for n in nodes}
    for node in nodes:
        wait_until(lambda: node.healthy_ids() == ids, timeout=30, what=f"{node.ip} sees all {len(nodes)} nodes")
    if code:
        first.cli("layout", "config", "--ec", code)
    for node, zone in zip(nodes, zones):
        first.cli("layout", "assign", "-z", zone, "-c", capacity, node.node_id)
    first.cli("layout", "apply", "--version", str(version))
    first.cli("bucket", "create", bucket)
    key = create_key(first, key_name)
    first.cli("bucket", "allow", *permissions, bucket, "--key", key_name)
    for node in nodes:
        wait_until(lambda: node.api("GET", "/v1/layout")["currentVersion"] == version, what=f"{node.ip} has layout {version}")
        wait_until(lambda: key_name in node.cli("bucket", "info", bucket, check=False).stdout, what=f"grant on {node.ip}")
    return key
