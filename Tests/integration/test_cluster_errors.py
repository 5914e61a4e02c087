"""Bad input: clear errors, non-zero exits, nothing changed."""
import http.client
import socket
import ssl
import subprocess
import urllib.error
import urllib.request

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from shale_cluster import ADMIN_TOKEN, SHALE, wait_until


def key_pair_sharing_a_prefix():
    """Two Ed25519 keys whose public keys (node ids) start with the same hex digit."""
    seen = {}
    while True:
        key = Ed25519PrivateKey.generate()
        public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()
        raw = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()).hex()
        if public[0] in seen:
            return seen[public[0]], raw, public[0]
        seen[public[0]] = raw


def test_admin_api_refuses_missing_and_wrong_tokens(cluster):
    node = cluster(1).start()
    body = {"name": "sneaky"}
    assert node.api_status("POST", "/v1/buckets", body, token=None) == 401
    assert node.api_status("POST", "/v1/buckets", body, token="wrong-token-wrong-token") == 403
    assert node.api_status("GET", "/v1/status", token=None) == 401
    assert node.api_status("POST", "/v1/keys", {"name": "k"}, token="nope") == 403
    assert node.api_status("POST", "/v1/layout/assign", {"nodes": [node.node_id], "zone": "z", "capacity": "1G", "gateway": False}, token=None) == 401
    assert node.api("GET", "/v1/buckets") == []
    assert node.api("GET", "/v1/keys") == []
    assert node.api("GET", "/v1/layout")["staged"] == []
    # /health is open to probes: 503 with the reason until a layout is applied.
    assert node.api_status("GET", "/health", token=None) == 503
    wrong = subprocess.run([SHALE, "status", "--admin", f"{node.ip}:3902", "--token", "bad-token-bad-token"],
                           capture_output=True, text=True)
    assert wrong.returncode != 0 and "wrong admin token" in wrong.stderr


def test_bad_cli_input_is_refused_and_changes_nothing(cluster):
    first_key, second_key, prefix = key_pair_sharing_a_prefix()
    a = cluster(1, key_hex=first_key).start()
    b = cluster(2, key_hex=second_key, bootstrap=[a.connect_string]).start()
    wait_until(lambda: len(a.healthy_ids()) == 2, what="joined")

    cases = [
        (("layout", "assign", "-z", "dc1", "-c", "10G", "ffffffffffff"), "no known node matches"),
        (("layout", "assign", "-z", "dc1", "-c", "10G", prefix), "matches several nodes"),
        (("layout", "assign", "-z", "dc1", "-c", "10Q", a.node_id), "unknown unit"),
        (("layout", "assign", "-z", "dc1", "-c", "-5G", a.node_id), "Missing value for '-c"),
        (("layout", "assign", "-c", "10G", a.node_id), "Missing expected argument '--zone"),
        (("layout", "assign", "-z", "dc1", a.node_id), "give a capacity"),
        (("layout", "assign", "-z", "dc1", "-c", "0", a.node_id), "capacity must be above 0"),
        (("layout", "remove", b.node_id), "has no role in the layout"),
        (("layout", "apply", "--version", "1"), "no staged changes"),
        (("layout", "apply"), "Missing expected argument '--version"),
        (("layout", "revert",), "no staged changes"),
        (("layout", "config", "--ec", "0+2"), "k must be at least 1"),
        (("bucket", "create", "Bad_Name"), "invalid bucket name"),
        (("bucket", "allow", "--key", "nobody", "nothing"), "give at least one of --read, --write, --owner"),
        (("bucket", "allow", "--read", "--key", "nobody", "nothing"), "no bucket named 'nothing'"),
        (("bucket", "delete", "nothing"), "no bucket named"),
        (("key", "delete", "nobody"), "no access key"),
        (("key", "import", "GKnothex", "00" * 32), "not an access key id"),
        (("key", "import", "GK" + "1" * 24, "short"), "64 lowercase hex"),
        (("node", "connect", "not-a-node"), "is not NODE_ID@HOST:PORT"),
        (("node", "connect", "ab" * 32 + "@127.0.99.1:3901"), "connection refused"),
    ]
    for args, message in cases:
        result = a.cli(*args, check=False)
        assert result.returncode != 0, (args, result.stdout)
        assert message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr and "Fatal error" not in result.stderr
        assert result.stderr.startswith("Error: "), (args, result.stderr)

    layout = a.api("GET", "/v1/layout")
    assert layout["currentVersion"] == 0 and layout["staged"] == []
    assert a.api("GET", "/v1/buckets") == [] and a.api("GET", "/v1/keys") == []

    # A full id, a unique prefix and ID@HOST:PORT all name the same node.
    a.cli("layout", "assign", "-z", "dc1", "-c", "1G", a.node_id[:10])
    a.cli("layout", "assign", "-z", "dc2", "-c", "1G", b.connect_string)
    staged = {s["node"] for s in a.api("GET", "/v1/layout")["staged"]}
    assert staged == {a.node_id, b.node_id}


def test_config_errors_name_the_key(tmp_path):
    def server(text, env=None):
        path = tmp_path / "bad.toml"
        path.write_text(text)
        return subprocess.run([SHALE, "server", "--config", str(path)], capture_output=True, text=True, timeout=30,
                              env=env)

    base = f'metadata_dir = "{tmp_path}/m"\ndata_dir = "{tmp_path}/d"\n'
    secret = 'rpc_secret = "' + "ab" * 32 + '"\n'
    admin = '[admin]\nadmin_token = "0123456789abcdef0123"\n'
    cases = [
        (base + secret + "colour = 3\n" + admin, "unknown config key 'colour'"),
        (base + admin, "config key 'rpc_secret' is required"),
        (base + 'rpc_secret = "short"\n' + admin, "config key 'rpc_secret': must be 32 bytes"),
        (base + secret, "config key 'admin.admin_token' is required"),
        (base + secret + 'rpc_bind_addr = "nowhere"\n' + admin, "config key 'rpc_bind_addr'"),
        (base + secret + 'log_level = "loud"\n' + admin, "config key 'log_level'"),
        (base + secret + 'bootstrap_peers = ["x@y"]\n' + admin, "config key 'bootstrap_peers'"),
        (base + secret + admin + "metrics = 1\n", "unknown config key 'admin.metrics'"),
        (base + secret + "[admin\n", "bad.toml:"),
    ]
    for text, message in cases:
        result = server(text)
        assert result.returncode != 0, text
        assert message in result.stderr, (text, result.stderr)
    missing = subprocess.run([SHALE, "server", "--config", str(tmp_path / "absent.toml")], capture_output=True, text=True)
    assert missing.returncode != 0 and "cannot read config file" in missing.stderr


def test_environment_overrides_config_keys(cluster):
    node = cluster(1)
    text = node.config.read_text().replace(f'api_bind_addr = "{node.ip}:3902"', 'api_bind_addr = "127.0.0.1:1"')
    node.config.write_text(text)
    import os
    os.environ["SHALE_ADMIN_API_BIND_ADDR"] = f"{node.ip}:3902"
    try:
        node.start()
    finally:
        del os.environ["SHALE_ADMIN_API_BIND_ADDR"]
    assert node.api("GET", "/v1/node/id")["id"]


def rpc_handshake(ip: str, certificate) -> bool:
    """Whether a TLS 1.3 client (with `certificate`, a (cert, key) pair, or
    none) gets an HTTP answer from the RPC port."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    if certificate:
        context.load_cert_chain(str(certificate[0]), str(certificate[1]))
    try:
        with socket.create_connection((ip, 3901), timeout=5) as raw, context.wrap_socket(raw) as tls:
            # TLS 1.3 clients learn of a refused certificate on their first read.
            tls.sendall(b"POST /rpc/v1/sync HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
            return tls.recv(100).startswith(b"HTTP/")
    except (ssl.SSLError, ConnectionError, OSError):
        return False


def test_metrics_endpoint(cluster):
    node = cluster(1, extra="")
    text = node.config.read_text() + 'metrics_token = "metrics-secret-token"\n'
    node.config.write_text(text)
    node.start()
    # The RPC port speaks only mutual TLS with this cluster's certificates: plain
    # HTTP gets no answer, a client without a certificate fails the handshake,
    # and one whose certificate another authority issued is refused and counted.
    try:
        urllib.request.urlopen(urllib.request.Request(f"http://{node.ip}:3901/rpc/v1/sync", data=b"{}", method="POST"), timeout=5)
        raise AssertionError("a plain HTTP RPC call was answered")
    except urllib.error.HTTPError as error:
        raise AssertionError(f"a plain HTTP RPC call got an HTTP answer ({error.code})")
    except (urllib.error.URLError, ConnectionError, http.client.HTTPException):
        pass
    assert rpc_handshake(node.ip, certificate=None) is False
    workdir = node.config.parent
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ed25519", "-nodes", "-keyout", str(workdir / "k.pem"),
                    "-out", str(workdir / "c.pem"), "-subj", "/CN=intruder", "-days", "1"], check=True, capture_output=True)
    assert rpc_handshake(node.ip, certificate=(workdir / "c.pem", workdir / "k.pem")) is False
    assert "refused RPC connection" in node.log.read_text()
    request = urllib.request.Request(f"http://{node.ip}:3902/metrics", headers={"Authorization": "Bearer metrics-secret-token"})
    with urllib.request.urlopen(request, timeout=5) as response:
        body = response.read().decode()
    assert "shale_cluster_nodes_healthy 1" in body
    assert "# TYPE shale_layout_version gauge" in body
    assert "shale_rpc_refused_total 1" in body
    assert node.api_status("GET", "/metrics", token=None) == 401
    assert node.api_status("GET", "/metrics", token="not-the-metrics-token") == 403
    # The master admin token may read the metrics too (it may do everything); so may a named token with Metrics.
    assert node.api_status("GET", "/metrics", token=ADMIN_TOKEN) == 200
    metrics_only = node.cli_json("admin-token", "create", "scraper", "--scope", "Metrics")["secretToken"]
    assert node.api_status("GET", "/metrics", token=metrics_only) == 200
    assert node.api_status("GET", "/v1/status", token=metrics_only) == 403
    # The metrics token reads only /metrics.
    assert node.api_status("GET", "/v1/status", token="metrics-secret-token") == 403
