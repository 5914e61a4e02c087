"""Named admin tokens (`shale admin-token create / list / revoke`): a scope
and an expiry enforced on every admin call, refusals that change nothing;
failed S3 and admin authentications counted in /metrics and rate-limited
per client without touching other clients."""
from __future__ import annotations

import http.client
import json
import os
import subprocess
import time

import botocore.exceptions

from s3_clients import boto, create_key, single_node
from shale_cluster import ADMIN_TOKEN, SHALE, metric


def as_token(node, token: str, *args: str) -> subprocess.CompletedProcess:
    """The CLI run with a named token (SHALE_ADMIN_TOKEN), the node's address from its config."""
    env = dict(os.environ, SHALE_CONFIG=str(node.config), SHALE_ADMIN_TOKEN=token)
    return subprocess.run([SHALE, *args], env=env, capture_output=True, text=True, timeout=60)


def admin_call(node, method: str, path: str, token: str | None, body=None, source: str | None = None):
    """One admin call from `source` (a local address); returns (status, headers, JSON or text)."""
    connection = http.client.HTTPConnection(node.ip, 3902, timeout=10, source_address=(source, 0) if source else None)
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    connection.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    response = connection.getresponse()
    text = response.read().decode()
    connection.close()
    try:
        return response.status, dict(response.getheaders()), json.loads(text)
    except json.JSONDecodeError:
        return response.status, dict(response.getheaders()), text


def create_token(node, name: str, *args: str) -> str:
    created = node.cli_json("admin-token", "create", name, *args)
    assert created["token"]["name"] == name and created["secretToken"].startswith(created["token"]["id"] + ".")
    return created["secretToken"]


def test_scoped_expired_and_revoked_tokens(cluster):
    node = single_node(cluster)
    monitor = create_token(node, "monitor", "--scope", "read-only")
    buckets = create_token(node, "provisioner", "--scope", "buckets-and-keys", "--expires-in", "30d")
    short = create_token(node, "short", "--scope", "*", "--expires-in", "3s")

    listed = node.cli_json("admin-token", "list")
    assert {t["name"] for t in listed} == {"monitor", "provisioner", "short"}
    assert all(t.split(".")[1] not in json.dumps(listed) for t in (monitor, buckets, short))
    assert all(t["expired"] is False for t in listed)
    table = node.cli("admin-token", "list").stdout
    assert "monitor" in table and "never" in table and monitor.split(".")[1] not in table

    # In scope: read-only reads; buckets-and-keys creates a bucket and a key.
    assert "data" in as_token(node, monitor, "bucket", "list").stdout
    assert as_token(node, monitor, "status").returncode == 0
    made = as_token(node, buckets, "bucket", "create", "made-by-token")
    assert made.returncode == 0, made.stderr
    assert as_token(node, buckets, "key", "create", "etl").returncode == 0

    # Out of scope: refused, and nothing changed.
    before_buckets = node.cli_json("bucket", "list")
    refused = as_token(node, monitor, "bucket", "create", "not-made")
    assert refused.returncode != 0 and "scope does not include CreateBucket" in refused.stderr
    assert node.cli_json("bucket", "list") == before_buckets
    layout_before = node.cli_json("layout", "show")
    status, _, body = admin_call(node, "POST", "/v1/layout/assign", buckets,
                                 {"nodes": [node.node_id], "zone": "elsewhere", "capacity": "1G", "gateway": False})
    assert status == 403 and body["code"] == "Forbidden" and "UpdateClusterLayout" in body["error"]
    assert node.cli_json("layout", "show") == layout_before
    # A monitoring token never reads a key's secret.
    key_id = node.key[0]
    assert admin_call(node, "GET", f"/v1/keys/{key_id}", monitor)[0] == 200
    assert admin_call(node, "GET", f"/v1/keys/{key_id}?show_secret=true", monitor)[0] == 403
    # Only '*' (or the master token) manages tokens: no escalation from a scoped one.
    status, _, body = admin_call(node, "POST", "/v1/admin-tokens", buckets, {"name": "wider", "scope": ["*"]})
    assert status == 403 and "CreateAdminToken" in body["error"]
    bad = node.cli("admin-token", "create", "x", "--scope", "CreateAdminToken", check=False)
    assert bad.returncode != 0 and "only '*'" in bad.stderr
    bad = node.cli("admin-token", "create", "x", "--scope", "read-only", "--expires-in", "tomorrow", check=False)
    assert bad.returncode != 0 and "--expires-in" in bad.stderr
    # A path the API does not have tells a scoped token nothing.
    assert admin_call(node, "GET", "/v1/nothing-here", monitor)[0] == 403
    assert admin_call(node, "GET", "/v1/nothing-here", ADMIN_TOKEN)[0] == 404

    # Expired: refused with a reason, nothing changed; list shows it expired.
    assert as_token(node, short, "bucket", "list").returncode == 0
    time.sleep(3.5)
    before_buckets = node.cli_json("bucket", "list")
    expired = as_token(node, short, "bucket", "create", "too-late")
    assert expired.returncode != 0 and "has expired" in expired.stderr
    assert node.cli_json("bucket", "list") == before_buckets
    assert {t["name"]: t["expired"] for t in node.cli_json("admin-token", "list")}["short"] is True

    # Revoked: refused at once.
    assert "was revoked" in node.cli("admin-token", "revoke", "provisioner").stdout
    revoked = as_token(node, buckets, "bucket", "create", "after-revoke")
    assert revoked.returncode != 0 and "was revoked" in revoked.stderr
    assert "after-revoke" not in node.cli("bucket", "list").stdout
    assert {t["name"] for t in node.cli_json("admin-token", "list")} == {"monitor", "short"}
    assert metric(node, r'^shale_auth_failures_total\{.*api="admin".*reason="expired"') >= 1
    assert metric(node, r'^shale_admin_scope_refusals_total\{operation="CreateBucket"\}') >= 1


def test_failed_authentications_are_counted_and_limited_per_client(cluster):
    node = single_node(cluster)
    good = boto(node, node.key)
    good.put_object(Bucket="data", Key="k", Body=b"x")
    other_key = create_key(node, "other")
    node.cli("bucket", "allow", "--read", "data", "--key", "other")

    # Guessing the secret of a real key: refused per signature until the budget is spent, then SlowDown.
    guesser = boto(node, (node.key[0], "0" * 64))
    codes = []
    for _ in range(40):
        try:
            guesser.head_bucket(Bucket="data")
            codes.append("ok")
        except botocore.exceptions.ClientError as error:
            codes.append(error.response["Error"]["Code"] or str(error.response["ResponseMetadata"]["HTTPStatusCode"]))
    # (The budget refills at one failure per 5 s, so a slow run may see a 403 among the 503s.)
    assert codes[:30] == ["403"] * 30 and codes[30:].count("503") >= 5, codes

    def right_secret_slowed_down() -> bool:
        """Limited, the right secret from the same client gets SlowDown too: the answer tells nothing of
        a guess. A refill may fall between the two requests on a slow machine, so the caller retries."""
        try:
            guesser.head_bucket(Bucket="data")
        except botocore.exceptions.ClientError as error:
            if error.response["ResponseMetadata"]["HTTPStatusCode"] != 503:
                return False  # the budget had refilled: that guess spent it, try again
        try:
            good.get_object(Bucket="data", Key="k")
            return False
        except botocore.exceptions.ClientError as error:
            return error.response["Error"]["Code"] == "SlowDown"

    assert any(right_secret_slowed_down() for _ in range(5))
    # Another key from the same address goes on untouched.
    assert boto(node, other_key).get_object(Bucket="data", Key="k")["Body"].read() == b"x"

    # Made-up key ids share one budget per address: a spray is limited, real keys are not.
    sprayed = []
    for i in range(35):
        try:
            boto(node, (f"GK{i:024x}", "0" * 64)).list_buckets()
        except botocore.exceptions.ClientError as error:
            sprayed.append(error.response["Error"]["Code"])
    assert sprayed[:30] == ["InvalidAccessKeyId"] * 30 and sprayed[30:].count("SlowDown") >= 3, sprayed
    assert boto(node, other_key).get_object(Bucket="data", Key="k")["Body"].read() == b"x"

    # Admin: wrong tokens from one address are limited (429), the master token from another address is not.
    statuses = [admin_call(node, "GET", "/v1/status", "not-the-token", source="127.0.0.1")[0] for _ in range(35)]
    assert statuses[:30] == [403] * 30 and statuses[30:].count(429) >= 3, statuses

    def master_token_refused_while_limited() -> bool:
        if admin_call(node, "GET", "/v1/status", "not-the-token", source="127.0.0.1")[0] != 429:
            return False  # refilled: that wrong token spent it again
        status, headers, body = admin_call(node, "GET", "/v1/status", ADMIN_TOKEN, source="127.0.0.1")
        return status == 429 and body["code"] == "TooManyRequests" and int(headers["Retry-After"]) >= 1

    assert any(master_token_refused_while_limited() for _ in range(5))
    assert admin_call(node, "GET", "/v1/status", ADMIN_TOKEN, source="127.0.0.2")[0] == 200

    # Counted in /metrics: by reason, by existing key, by client (bounded), and the refusals.
    assert metric(node, r'^shale_auth_failures_total\{.*api="s3".*reason="SignatureDoesNotMatch"') >= 30
    assert metric(node, r'^shale_auth_failures_total\{.*api="s3".*reason="InvalidAccessKeyId"') >= 30
    assert metric(node, r'^shale_auth_failures_total\{.*api="admin".*reason="wrong"') >= 30
    assert metric(node, rf'^shale_s3_auth_failures_by_key_total\{{key="{node.key[0]}"\}}') >= 30
    assert metric(node, r'^shale_auth_rate_limited_total\{api="s3"\}') >= 5
    assert metric(node, r'^shale_auth_rate_limited_total\{api="admin"\}') >= 3
    assert metric(node, rf'^shale_auth_failures_by_client\{{api="s3",source="127.0.0.1",credential="{node.key[0]}"\}}') >= 30
    assert metric(node, r'^shale_auth_failures_by_client\{api="admin",source="127.0.0.1",credential="master"\}') >= 30
    assert 1 <= metric(node, r"^shale_auth_clients_tracked ") <= 4096
    # The budget refills (one failure per 5 s): later the limited key works again from that address.
    time.sleep(5.5)
    assert good.get_object(Bucket="data", Key="k")["Body"].read() == b"x"
