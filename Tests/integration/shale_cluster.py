"""Real `shale` processes on loopback addresses, for the integration tests.

Each node gets its own 127.x.y.z address (same ports 3900-3902 on each),
its own metadata and data directories, and a config file; the CLI is run
exactly as an operator would, with SHALE_CONFIG pointing at that file.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHALE = os.environ.get("SHALE_BIN", str(REPO / ".build" / "debug" / "shale"))
RPC_SECRET = "7d9f1c0e5b3a2f4e6d8c0b1a3e5f7d9c1b3a5e7f9d1c3b5a7e9f1d3c5b7a9e1f"
ADMIN_TOKEN = "integration-admin-token-0123456789"


def remove_faketime_objects(pid: int) -> None:
    for name in (f"sem.faketime_sem_{pid}", f"faketime_shm_{pid}"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(f"/dev/shm/{name}")


def remove_dead_faketime_objects() -> None:
    """Objects left by faketime wrappers that were killed (by earlier runs, or a harness before this one
    cleaned up after itself); a process that still lives keeps its own."""
    with contextlib.suppress(FileNotFoundError):
        for name in os.listdir("/dev/shm"):
            prefix = next((p for p in ("sem.faketime_sem_", "faketime_shm_") if name.startswith(p)), None)
            pid = name[len(prefix):] if prefix else ""
            if pid.isdigit() and not Path(f"/proc/{pid}").exists():
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(f"/dev/shm/{name}")


class Node:
    def __init__(self, root: Path, ip: str, secret: str = RPC_SECRET, bootstrap: list[str] | None = None,
                 extra: str = "", key_hex: str | None = None, log_level: str = "debug", wrapper: list[str] | None = None):
        self.ip = ip
        # A command the server runs under (the fault campaign's `faketime -f +10m`).
        self.wrapper = wrapper or []
        self.dir = root / ip
        self.meta = self.dir / "meta"
        self.data = self.dir / "data"
        self.config = self.dir / "shale.toml"
        self.log = self.dir / "server.log"
        self.proc: subprocess.Popen | None = None
        self.meta.mkdir(parents=True, exist_ok=True)
        self.data.mkdir(parents=True, exist_ok=True)
        if key_hex:
            (self.meta / "node_key").write_bytes(bytes.fromhex(key_hex))
        peers = ", ".join(f'"{p}"' for p in (bootstrap or []))
        self.config.write_text(f"""
metadata_dir = "{self.meta}"
data_dir = "{self.data}"
rpc_bind_addr = "{ip}:3901"
rpc_secret = "{secret}"
bootstrap_peers = [{peers}]
log_level = "{log_level}"
{extra}
[s3_api]
api_bind_addr = "{ip}:3900"

[admin]
api_bind_addr = "{ip}:3902"
admin_token = "{ADMIN_TOKEN}"
""")

    # -- process --------------------------------------------------------
    def start(self, wait: bool = True) -> "Node":
        if self.wrapper[:1] == ["faketime"]:
            remove_dead_faketime_objects()
        log = open(self.log, "ab")
        # Under a wrapper the server is the wrapper's child: its own process group, so a kill reaches both.
        self.proc = subprocess.Popen([*self.wrapper, SHALE, "server", "--config", str(self.config)], stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=bool(self.wrapper))
        if wait:
            self.wait_up()
        return self

    def wait_up(self, timeout: float = 30) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc and self.proc.poll() is not None:
                raise RuntimeError(f"node {self.ip} exited {self.proc.returncode}:\n{self.log.read_text()[-3000:]}")
            try:
                self.api("GET", "/v1/node/id")
                return
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.1)
        raise TimeoutError(f"node {self.ip} did not come up:\n{self.log.read_text()[-3000:]}")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc and self.proc.poll() is None:
            if self.wrapper:
                os.killpg(self.proc.pid, sig)
            else:
                self.proc.send_signal(sig)
            self.proc.wait(timeout=30)
            if self.wrapper[:1] == ["faketime"]:
                # Killed with its server, the wrapper never removes its semaphore and shared memory,
                # and a later wrapper given the same PID then fails to start ("sem_open: File exists").
                remove_faketime_objects(self.proc.pid)

    def stop(self) -> int | None:
        self.kill(signal.SIGTERM)
        return self.proc.returncode if self.proc else None

    # -- clients --------------------------------------------------------
    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        env = dict(os.environ, SHALE_CONFIG=str(self.config))
        env.pop("SHALE_ADMIN_ADDR", None)
        env.pop("SHALE_ADMIN_TOKEN", None)
        result = subprocess.run([SHALE, *args], env=env, capture_output=True, text=True, timeout=60)
        if check and result.returncode != 0:
            raise AssertionError(f"shale {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
        return result

    def cli_json(self, *args: str):
        return json.loads(self.cli(*args, "--json").stdout)

    def sh(self, script: str) -> subprocess.CompletedProcess:
        """Runs a shell line (the guide's pipelines) with `shale` on PATH for this node."""
        bindir = self.dir / "bin"
        bindir.mkdir(exist_ok=True)
        link = bindir / "shale"
        if not link.exists():
            link.symlink_to(SHALE)
        env = dict(os.environ, SHALE_CONFIG=str(self.config), PATH=f"{bindir}:{os.environ['PATH']}")
        return subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=60)

    def api(self, method: str, path: str, body=None, token: str | None = ADMIN_TOKEN):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"http://{self.ip}:3902{path}", data=data, method=method)
        if token is not None:
            request.add_header("Authorization", f"Bearer {token}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=10) as response:
            text = response.read().decode()
            return json.loads(text) if text and response.headers.get("Content-Type", "").startswith("application/json") else text

    def api_status(self, method: str, path: str, body=None, token: str | None = ADMIN_TOKEN) -> int:
        try:
            self.api(method, path, body, token)
            return 200
        except urllib.error.HTTPError as error:
            return error.code

    # -- views ----------------------------------------------------------
    @property
    def node_id(self) -> str:
        return self.api("GET", "/v1/node/id")["id"]

    @property
    def connect_string(self) -> str:
        doc = self.api("GET", "/v1/node/id")
        return f"{doc['id']}@{doc['address']}"

    def status(self) -> dict:
        return self.api("GET", "/v1/status")

    def healthy_ids(self) -> set[str]:
        return {n["id"] for n in self.status()["nodes"] if n["healthy"]}

    def failed_ids(self) -> set[str]:
        return {n["id"] for n in self.status()["nodes"] if not n["healthy"]}


def start_nodes(root: Path, ips: list[str], nodes: list[Node] | None = None, **kwargs) -> list[Node]:
    """Starts a node at each of `ips`, every one after the first bootstrapped
    from the first; each is appended to `nodes` (a list the caller stops
    later) before it starts, so a failed start leaks no server."""
    nodes = [] if nodes is None else nodes
    first = None
    for ip in ips:
        node = Node(root, ip, bootstrap=[first.connect_string] if first else None, **kwargs)
        nodes.append(node)
        node.start()
        first = first or node
    return nodes


def metric(node: Node, pattern: str) -> float:
    """The sum of the node's /metrics samples whose line matches `pattern`."""
    text = node.api("GET", "/metrics")
    total = 0.0
    for line in text.splitlines():
        if not line.startswith("#") and re.search(pattern, line):
            total += float(line.rsplit(" ", 1)[1])
    return total


def wait_until(predicate, timeout: float = 15, interval: float = 0.2, what: str = "condition"):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            last = predicate()
            if last:
                return last
        except (AssertionError, urllib.error.URLError, OSError, KeyError) as error:
            last = error
        time.sleep(interval)
    raise TimeoutError(f"{what} not reached in {timeout} s (last: {last!r})")


@contextlib.contextmanager
def bench_cluster(prefix: str, ips: list[str], **kwargs):
    """A fresh cluster in a temporary directory, for a benchmark: yields
    (root, nodes) once every node is up; afterwards kills them (nodes the
    caller appends too) and removes the directory."""
    root = Path(tempfile.mkdtemp(prefix=prefix))
    nodes: list[Node] = []
    try:
        start_nodes(root, ips, nodes, **kwargs)
        yield root, nodes
    finally:
        for node in nodes:
            node.kill()
        shutil.rmtree(root, ignore_errors=True)


def remove_if_all_passed(request, root: Path):
    """A module's shared disks go once its nodes are stopped, as pytest.ini has
    passed tests' own directories go; kept if any test so far has failed."""
    if request.session.testsfailed == 0:
        shutil.rmtree(root, ignore_errors=True)
