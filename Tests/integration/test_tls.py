"""HTTPS on the S3 and admin ports (`tls_cert_file` / `tls_key_file`): the
AWS CLI and boto3 over HTTPS with a self-signed CA, the CLI on its node's
HTTPS admin port, SSE-C taken over HTTPS, the certificate reloaded on
SIGHUP (a broken one refused, the old one kept), SIGTERM still clean."""
from __future__ import annotations

import datetime
import ipaddress
import json
import os
import signal
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from shale_cluster import ADMIN_TOKEN, RPC_SECRET, SHALE

IP = "127.0.75.1"


def name(text: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, text)])


def make_ca():
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name("shale test CA")).issuer_name(name("shale test CA"))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True).sign(key, hashes.SHA256()))
    return key, cert


def issue(ca, directory: Path) -> int:
    """A server certificate for IP and localhost, signed by `ca`, written as cert.pem (with the CA) and key.pem; returns its serial."""
    ca_key, ca_cert = ca
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    serial = x509.random_serial_number()
    cert = (x509.CertificateBuilder().subject_name(name("shale node")).issuer_name(ca_cert.subject).public_key(key.public_key())
            .serial_number(serial).not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(IP)), x509.DNSName("localhost")]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    (directory / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM) + ca_cert.public_bytes(serialization.Encoding.PEM))
    (directory / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                          serialization.NoEncryption()))
    return serial


def served_serial(port: int, ca_file: Path) -> int:
    context = ssl.create_default_context(cafile=str(ca_file))
    with socket.create_connection((IP, port), timeout=5) as raw, context.wrap_socket(raw, server_hostname=IP) as tls:
        return x509.load_der_x509_certificate(tls.getpeercert(binary_form=True)).serial_number


@pytest.fixture
def node(tmp_path):
    ca = make_ca()
    (tmp_path / "ca.pem").write_bytes(ca[1].public_bytes(serialization.Encoding.PEM))
    serial = issue(ca, tmp_path)
    config = tmp_path / "shale.toml"
    config.write_text(f"""
metadata_dir = "{tmp_path}/meta"
data_dir = "{tmp_path}/data"
rpc_bind_addr = "{IP}:3901"
rpc_secret = "{RPC_SECRET}"

[s3_api]
api_bind_addr = "{IP}:3900"
tls_cert_file = "{tmp_path}/cert.pem"
tls_key_file = "{tmp_path}/key.pem"

[admin]
api_bind_addr = "{IP}:3902"
admin_token = "{ADMIN_TOKEN}"
tls_cert_file = "{tmp_path}/cert.pem"
tls_key_file = "{tmp_path}/key.pem"
""")
    log = open(tmp_path / "server.log", "ab")
    process = subprocess.Popen([SHALE, "server", "--config", str(config)], stdout=log, stderr=subprocess.STDOUT)
    context = ssl.create_default_context(cafile=str(tmp_path / "ca.pem"))
    deadline = time.time() + 30
    while True:
        try:
            urllib.request.urlopen(f"https://{IP}:3902/health", context=context, timeout=2)
            break
        except urllib.error.HTTPError as answer:
            assert answer.code == 503
            break
        except OSError:
            assert process.poll() is None and time.time() < deadline, (tmp_path / "server.log").read_text()[-2000:]
            time.sleep(0.2)

    class Running:
        pass
    running = Running()
    running.dir, running.process, running.ca, running.authority, running.serial = tmp_path, process, tmp_path / "ca.pem", ca, serial
    running.ip = IP

    def cli(*args: str, env: dict | None = None, check: bool = True):
        full = {k: v for k, v in os.environ.items() if not k.startswith("SHALE_ADMIN")}
        full.update({"SHALE_CONFIG": str(config), **(env or {})})
        result = subprocess.run([SHALE, *args], env=full, capture_output=True, text=True, timeout=60)
        assert not check or result.returncode == 0, result.stderr
        return result
    running.cli = cli
    yield running
    if process.poll() is None:
        process.kill()
        process.wait()


def test_s3_and_admin_over_https_and_reload_on_sighup(node):
    # The CLI on the node reaches its HTTPS admin port from the config (trusting the node's own certificate).
    node_id = node.cli("node", "id").stdout.split("@")[0].strip()
    node.cli("layout", "assign", "-z", "dc1", "-c", "10G", node_id)
    node.cli("layout", "apply", "--version", "1")
    node.cli("bucket", "create", "secure")
    out = node.cli("key", "create", "tls-key").stdout
    fields = dict(line.split(": ", 1) for line in out.splitlines() if ": " in line)
    key = (fields["Access Key ID"].strip(), fields["Secret Access Key"].strip())
    node.cli("bucket", "allow", "--read", "--write", "secure", "--key", "tls-key")
    # From elsewhere: https:// with the CA; plain http:// to an HTTPS port does not get an answer.
    remote = node.cli("status", "--json", env={"SHALE_ADMIN_ADDR": f"https://{IP}:3902", "SHALE_ADMIN_TOKEN": ADMIN_TOKEN,
                                               "SHALE_ADMIN_CA_FILE": str(node.ca)})
    assert json.loads(remote.stdout)["layoutVersion"] == 1
    plain = node.cli("status", env={"SHALE_ADMIN_ADDR": f"http://{IP}:3902", "SHALE_ADMIN_TOKEN": ADMIN_TOKEN}, check=False)
    assert plain.returncode != 0
    untrusted = node.cli("status", env={"SHALE_ADMIN_ADDR": f"https://{IP}:3902", "SHALE_ADMIN_TOKEN": ADMIN_TOKEN}, check=False)
    assert untrusted.returncode != 0, "the system's roots do not trust a self-signed CA"
    # The console over HTTPS: its session cookie is marked Secure (as well as HttpOnly and SameSite=Strict).
    import requests
    login = requests.post(f"https://{IP}:3902/ui/login", data={"token": ADMIN_TOKEN}, verify=str(node.ca), allow_redirects=False)
    assert login.status_code == 303
    cookie = login.headers["Set-Cookie"]
    assert "; Secure" in cookie and "; HttpOnly" in cookie and "SameSite=Strict" in cookie, cookie
    page = requests.get(f"https://{IP}:3902/ui/cluster", cookies={"shale_session": login.cookies["shale_session"]}, verify=str(node.ca))
    assert page.status_code == 200 and "Zone dc1" in page.text

    import boto3
    from botocore.config import Config
    s3 = boto3.client("s3", endpoint_url=f"https://{IP}:3900", aws_access_key_id=key[0], aws_secret_access_key=key[1],
                      region_name="us-east-1", verify=str(node.ca), config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))
    s3.put_object(Bucket="secure", Key="a", Body=b"over tls" * 1000)
    assert s3.get_object(Bucket="secure", Key="a")["Body"].read() == b"over tls" * 1000
    # SSE-C travels over HTTPS, so it is taken without sse_c_allow_http.
    customer_key = os.urandom(32)
    s3.put_object(Bucket="secure", Key="sealed", Body=b"secret", SSECustomerAlgorithm="AES256", SSECustomerKey=customer_key)
    assert s3.get_object(Bucket="secure", Key="sealed", SSECustomerAlgorithm="AES256", SSECustomerKey=customer_key)["Body"].read() == b"secret"
    (node.dir / "up.txt").write_text("from the AWS CLI")
    env = dict(os.environ, AWS_ACCESS_KEY_ID=key[0], AWS_SECRET_ACCESS_KEY=key[1], AWS_DEFAULT_REGION="us-east-1",
               AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null")
    done = subprocess.run(["aws", "--endpoint-url", f"https://{IP}:3900", "--ca-bundle", str(node.ca), "s3", "cp", str(node.dir / "up.txt"),
                           "s3://secure/up.txt"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert s3.get_object(Bucket="secure", Key="up.txt")["Body"].read() == b"from the AWS CLI"

    # SIGHUP: a renewed certificate is served to new connections on both ports.
    assert served_serial(3900, node.ca) == node.serial
    renewed = issue(node.authority, node.dir)
    node.process.send_signal(signal.SIGHUP)
    deadline = time.time() + 10
    while served_serial(3900, node.ca) != renewed:
        assert time.time() < deadline, "the renewed certificate is not served"
        time.sleep(0.2)
    assert served_serial(3902, node.ca) == renewed
    # A broken file is refused: the node keeps serving the last good certificate, and says so.
    (node.dir / "cert.pem").write_text("not a certificate")
    node.process.send_signal(signal.SIGHUP)
    time.sleep(1)
    assert node.process.poll() is None
    assert served_serial(3900, node.ca) == renewed
    assert "not reloaded" in (node.dir / "server.log").read_text()
    assert s3.get_object(Bucket="secure", Key="a")["Body"].read() == b"over tls" * 1000

    # boto3's pool still holds idle TLS connections: the node closes them and stops promptly.
    node.process.send_signal(signal.SIGTERM)
    try:
        code = node.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        raise AssertionError("no exit after SIGTERM:\n" + (node.dir / "server.log").read_text()[-3000:])
    assert code == 0


def test_half_a_tls_configuration_is_refused(tmp_path):
    config = tmp_path / "shale.toml"
    config.write_text(f"""
metadata_dir = "{tmp_path}/meta"
data_dir = "{tmp_path}/data"
rpc_secret = "{RPC_SECRET}"
[s3_api]
tls_cert_file = "{tmp_path}/cert.pem"
[admin]
admin_token = "{ADMIN_TOKEN}"
""")
    (tmp_path / "cert.pem").write_text("x")
    result = subprocess.run([SHALE, "server", "--config", str(config)], capture_output=True, text=True, timeout=30)
    assert result.returncode != 0 and "s3_api.tls_key_file" in result.stderr, result.stderr


def test_sigterm_after_gets_stops_promptly(cluster):
    """A GET's answer ends its response (before the fix the body writer never
    finished, the connection stayed mid-response and SIGTERM waited on it
    for good); boto3's pool keeps its connection open meanwhile."""
    from s3_clients import boto, single_node
    node = single_node(cluster)
    client = boto(node, node.key)
    client.put_object(Bucket="data", Key="small", Body=b"s" * 100)
    client.put_object(Bucket="data", Key="large", Body=b"l" * 300_000)
    for key in ("small", "large", "small"):
        client.get_object(Bucket="data", Key=key)["Body"].read()
    node.proc.send_signal(signal.SIGTERM)
    assert node.proc.wait(timeout=15) == 0
