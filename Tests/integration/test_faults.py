"""The fault campaign (issue 13): real 6-node, 3-zone, 4+2 clusters on
loopback under checksummed write load, with nodes killed, a zone stopped, a
node wiped and replaced, shard files rotted, leftovers planted, a zone
added and a disk filled. Each scenario ends with `faults.check` (nothing
acknowledged lost or corrupt, nothing partial visible) and, where the
scenario is about redundancy, `rebuild verify` exiting 0. `make test` runs
them short; `make test-faults` (SHALE_FAULTS=full) at full length, writing
the figures Docs/reliability.md quotes."""
from __future__ import annotations

import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from faults import FULL, MiB, Workload, check, only_not_written, rebuild_until_redundant, report, shard_paths, verify_passes, wait_for_rebuild
from s3_clients import boto, provision
from shale_cluster import Node, metric, start_nodes, wait_until

ZONES = ["dc1", "dc1", "dc2", "dc2", "dc3", "dc3"]
EXTRA = "anti_entropy_interval_seconds = 2\nshard_deletion_delay_seconds = 1\n"


def start_six(tmp_path: Path, subnet: int, stop_all, extra: str = EXTRA) -> tuple[list[Node], tuple[str, str]]:
    """Six nodes in three zones, 4+2, a bucket and a key; each node handed to `stop_all` before it starts."""
    nodes: list[Node] = []
    stop_all(nodes)
    start_nodes(tmp_path, [f"127.0.{subnet}.{i}" for i in range(1, 7)], nodes, extra=extra, log_level="info")
    key = provision(nodes, ZONES, "lake", "faults", permissions=("--read", "--write", "--owner"))
    return nodes, key


@pytest.fixture
def stop_all():
    started: list[list[Node]] = []
    yield started.append
    for nodes in started:
        for node in nodes:
            node.kill()


def wait_all_healthy(nodes: list[Node], ids: set[str], timeout: float = 60) -> None:
    for node in nodes:
        wait_until(lambda: node.healthy_ids() >= ids, timeout=timeout, what=f"{node.ip} sees every node")


def replace_node(nodes: list[Node], index: int, tmp_path: Path, ip: str, extra: str = EXTRA, wipe: bool = True) -> Node:
    """Node `index` lost with its disks; a new node (new id) takes its place
    through `layout assign --replace` and `layout apply` (which starts the rebuild)."""
    old = nodes[index]
    old_id = old.node_id if old.proc and old.proc.poll() is None else None
    old.kill()
    if wipe:
        shutil.rmtree(old.dir / "meta")
        shutil.rmtree(old.dir / "data")
    newcomer = Node(tmp_path, ip, bootstrap=[nodes[0].connect_string], extra=extra, log_level="info").start()
    assert old_id
    wait_until(lambda: newcomer.node_id in nodes[0].healthy_ids(), timeout=30, what="the new node joins")
    version = nodes[0].api("GET", "/v1/layout")["currentVersion"] + 1
    nodes[0].cli("layout", "assign", "-z", ZONES[index], "-c", "10G", "--replace", old_id, newcomer.node_id)
    nodes[0].cli("layout", "apply", "--version", str(version))
    nodes[index] = newcomer
    return newcomer


# 1. kill -9 of a random node during 4-way concurrent PUT and multipart load, repeated with restarts.
def test_kill9_during_load_loses_nothing(tmp_path, stop_all):
    nodes, key = start_six(tmp_path, 71, stop_all)
    ids = {n.node_id for n in nodes}
    rng = random.Random(1)
    load = Workload(nodes, key, "lake", "kill9")
    rounds = 10 if FULL else 2
    for _ in range(rounds):
        load.start()
        time.sleep(rng.uniform(2, 4))
        victim = rng.choice(nodes)
        victim.kill()
        time.sleep(rng.uniform(1, 3))
        load.stop()
        victim.start()
        wait_all_healthy(nodes, ids)
    figures = check(load, nodes[0])
    seconds = rebuild_until_redundant(nodes[0])
    report("1 kill -9 under load", rounds=rounds, seconds_to_full_redundancy=round(seconds, 1), **figures)
    assert figures["acknowledged"] > 0


# 2. A whole zone stopped for the length of a write load, then returned.
def test_zone_outage_under_load_then_home(tmp_path, stop_all):
    nodes, key = start_six(tmp_path, 72, stop_all)
    ids = {n.node_id for n in nodes}
    zone3 = {n.node_id for n in nodes[4:]}
    for node in nodes[4:]:
        node.kill()
    wait_until(lambda: zone3 <= nodes[0].failed_ids(), timeout=20, what="dc3 seen down")
    load = Workload(nodes[:4], key, "lake", "zone")
    load.run_for(20 if FULL else 8)
    assert load.failures == 0, f"{load.failures} writes refused during a zone outage"
    back = time.time()
    for node in nodes[4:]:
        node.start()
    wait_all_healthy(nodes, ids)
    # Every handoff goes home by itself. A PUT acknowledged by its write quorum without one owner's shard (on a
    # loaded machine, a sink dropped at the slow-write deadline) leaves that slot `not written` until the node that took
    # the PUT writes it in the background (scenario 11); what is still not written when the handoffs are home,
    # `shale rebuild` restores.
    not_written = wait_until(lambda: only_not_written(nodes[0]), timeout=180, interval=2, what="handoffs moved home")["not written"]
    # Nothing at all left (no verify problem), or `rebuild_until_redundant` returns only once verify exits 0.
    if not_written:
        rebuild_until_redundant(nodes[0])
    seconds = time.time() - back
    figures = check(load, nodes[5])
    report("2 zone outage under load", seconds_to_full_redundancy=round(seconds, 1), slots_not_written=len(not_written), **figures)


# 3. A node's data and metadata wiped, the node replaced by a new id, rebuilt; then m other nodes killed.
def test_wiped_node_replaced_rebuilt_then_two_more_lost(tmp_path, stop_all):
    nodes, key = start_six(tmp_path, 73, stop_all)
    load = Workload(nodes, key, "lake", "replace")
    load.run_for(10 if FULL else 5)
    started = time.time()
    newcomer = replace_node(nodes, 5, tmp_path, "127.0.73.7")
    stop_all([newcomer])
    status = wait_for_rebuild(nodes[0])
    seconds = time.time() - started
    assert status["phase"] == "done", status
    assert status["objectsDone"] == status["objectsTotal"] > 0 and status["unrecoverableCount"] == 0, status
    follow = nodes[0].cli("rebuild", "status")
    assert "done" in follow.stdout and "fully redundant as of" in follow.stdout, follow.stdout
    verified = nodes[0].cli("rebuild", "verify", check=False)
    assert verified.returncode == 0 and "fully redundant as of" in verified.stdout, verified.stdout
    assert "full redundancy: 256" in nodes[0].cli("status").stdout
    for node in nodes[1:3]:
        node.kill()
    figures = check(load, nodes[3])
    report("3 wiped node replaced, then m more lost", seconds_to_full_redundancy=round(seconds, 1),
           bytes_restored=status["bytesRestored"], objects_rebuilt=status["objectsDone"], **figures)


# 4. The rebuilding node killed mid-way and restarted: the job finishes, nothing finished is redone.
def test_rebuild_resumes_after_its_node_is_killed(tmp_path, stop_all):
    slow = EXTRA + "transfer_rate_mib_per_second = 1\n"
    nodes, key = start_six(tmp_path, 74, stop_all, extra=slow)
    load = Workload(nodes, key, "lake", "resume", multipart_every=0, sizes=(700 * 1024,))
    load.run_for(8 if FULL else 5)
    newcomer = replace_node(nodes, 5, tmp_path, "127.0.74.7", extra=slow)
    stop_all([newcomer])
    coordinator = nodes[0]
    wait_until(lambda: coordinator.api("GET", "/v1/rebuild")["objectsDone"] > 0, timeout=120, interval=0.5, what="rebuild under way")
    before = coordinator.api("GET", "/v1/rebuild")
    assert before["phase"] == "rebuilding" and before["objectsDone"] < before["objectsTotal"], before
    coordinator.kill()
    coordinator.start()
    status = wait_for_rebuild(coordinator, timeout=600)
    assert "resuming the rebuild" in coordinator.log.read_text()
    assert status["phase"] == "done", status
    assert status["objectsDone"] == status["objectsTotal"] == before["objectsTotal"], (before, status)
    # Bytes restored count each body once: none finished before the kill was written again.
    assert status["bytesRestored"] <= status["bytesTotal"], status
    assert coordinator.cli("rebuild", "verify", check=False).returncode == 0
    figures = check(load, nodes[2])
    report("4 rebuilding node killed mid-way", objects_done_at_kill=before["objectsDone"], objects_total=status["objectsTotal"], **figures)


# 5. Bit rot in 1% of shard files (at least a few), and some files truncated: reads stay right, scrub repairs all.
def test_bit_rot_and_truncation_are_read_around_and_scrubbed(tmp_path, stop_all):
    nodes, key = start_six(tmp_path, 75, stop_all)
    load = Workload(nodes, key, "lake", "rot", multipart_every=0)
    load.run_for(8 if FULL else 5)
    rng = random.Random(5)
    files = shard_paths(nodes)
    flipped, truncated, touched = 0, 0, set()
    for path, _ in rng.sample(files, len(files)):
        version = path.name.split(".")[0]
        if version in touched:
            continue  # one damaged shard per object: within what m = 2 covers even with a node down
        touched.add(version)
        size = path.stat().st_size
        if flipped < max(3, len(files) // 100):
            with open(path, "r+b") as handle:
                offset = rng.randrange(64, size)
                handle.seek(offset)
                byte = handle.read(1)
                handle.seek(offset)
                handle.write(bytes([byte[0] ^ 0xFF]))
            flipped += 1
        elif truncated < max(2, len(files) // 200):
            os.truncate(path, rng.randrange(0, size))
            truncated += 1
        else:
            break
    figures = check(load, nodes[1])
    started = time.time()
    nodes[0].cli("scrub", "start")
    wait_until(lambda: not any(s["running"] for s in nodes[0].cli_json("scrub", "status")), timeout=300, interval=1, what="scrub done")
    statuses = nodes[0].cli_json("scrub", "status")
    bad = sum(s["bad"] for s in statuses)
    repaired = sum(s["repaired"] for s in statuses)
    unrepairable = sum(s["unrepairable"] for s in statuses)
    # A read may have repaired a damaged data shard before the scrub reached it.
    assert repaired == bad and unrepairable == 0 and bad <= flipped + truncated, statuses
    assert nodes[0].cli("rebuild", "verify", check=False).returncode == 0
    report("5 bit rot and truncation", shard_files=len(files), flipped=flipped, truncated=truncated, scrub_found=bad, scrub_repaired=repaired,
           seconds_to_full_redundancy=round(time.time() - started, 1), **figures)


# 6. Leftovers placed on a stopped node: nothing real is deleted because of them, and they are cleaned.
def test_leftovers_delete_nothing_real_and_are_cleaned(tmp_path, stop_all):
    nodes, key = start_six(tmp_path, 76, stop_all)
    load = Workload(nodes, key, "lake", "left", multipart_every=0)
    load.run_for(5)
    def rows(node: Node) -> int:
        with sqlite3.connect(f"file:{node.meta / 'objects.sqlite'}?mode=ro", uri=True) as db:
            return db.execute("SELECT COUNT(*) FROM objects WHERE deleted = 0 AND bucket NOT LIKE '%.uploads'").fetchone()[0]
    victim = next(node for node in nodes[1:] if rows(node) > 0)  # a metadata replica of the bucket
    victim.stop()
    mine = sorted(p for p, node in shard_paths([victim]) if node is victim)
    empty, cut = mine[0], mine[1]
    sizes = {empty: empty.stat().st_size, cut: cut.stat().st_size}
    empty.write_bytes(b"")
    os.truncate(cut, cut.stat().st_size // 2)
    temp = cut.parent / (cut.name + ".tmp-1234abcd")
    temp.write_bytes(b"half a shard")
    old = time.time() - 3 * 3600
    os.utime(temp, (old, old))
    # A stale row: one of its keys set back to an old tombstone (as if a delete from long ago resurfaced).
    db = sqlite3.connect(victim.meta / "objects.sqlite")
    bucket, row_key = db.execute("SELECT bucket, key FROM objects WHERE deleted = 0 AND bucket NOT LIKE '%.uploads' LIMIT 1").fetchone()
    db.execute("UPDATE objects SET stamp_millis = 1, stamp_counter = 0, deleted = 1, record = ? WHERE bucket = ? AND key = ?",
               (json.dumps({"bucketID": bucket, "key": row_key, "stamp": {"millis": 1, "counter": 0, "node": "stale"}}).encode(), bucket, row_key))
    db.commit()
    db.close()
    before = len(shard_paths(nodes))
    victim.start()
    wait_all_healthy(nodes, {n.node_id for n in nodes})
    figures = check(load, victim)
    victim.cli("scrub", "start")
    wait_until(lambda: not any(s["running"] for s in victim.cli_json("scrub", "status")), timeout=300, interval=1, what="scrub done")
    mine_status = next(s for s in victim.cli_json("scrub", "status") if s["node"] == victim.node_id)
    assert not temp.exists() and mine_status["leftoversRemoved"] >= 1, mine_status
    # Both damaged shards are whole again: repaired by the reads of the check (data shards) or by the scrub.
    assert all(path.exists() and path.stat().st_size == size for path, size in sizes.items()), mine_status
    assert mine_status["unrepairable"] == 0, mine_status
    assert nodes[0].cli("rebuild", "verify", check=False).returncode == 0
    assert len(shard_paths(nodes)) == before, "no shard file deleted (and none missing)"
    figures = check(load, nodes[0])
    report("6 leftovers", scrub_repaired=mine_status["repaired"], temp_files_removed=mine_status["leftoversRemoved"], **figures)


# 7. A layout change (a zone of two nodes added) under write load, with a node killed in the middle.
@pytest.mark.skipif(not FULL, reason="full campaign only (make test-faults)")
def test_zone_added_under_load_with_a_node_killed(tmp_path, stop_all):
    nodes, key = start_six(tmp_path, 77, stop_all)
    load = Workload(nodes, key, "lake", "grow").start()
    time.sleep(3)
    added = [Node(tmp_path, f"127.0.77.{i}", bootstrap=[nodes[0].connect_string], extra=EXTRA, log_level="info").start() for i in (7, 8)]
    stop_all(added)
    ids = {n.node_id for n in nodes + added}
    wait_all_healthy(nodes[:1], ids)
    for node in added:
        nodes[0].cli("layout", "assign", "-z", "dc4", "-c", "10G", node.node_id)
    nodes[0].cli("layout", "apply", "--version", "2")
    time.sleep(2)
    nodes[2].kill()
    time.sleep(3)
    nodes[2].start()
    time.sleep(3)
    load.stop()
    wait_all_healthy(nodes + added, ids)
    seconds = rebuild_until_redundant(nodes[0], timeout=600)
    figures = check(load, added[0])
    report("7 zone added under load, node killed", seconds_to_full_redundancy=round(seconds, 1), **figures)


# 8. Clock skew: one node's clock ten minutes ahead (libfaketime); a later write always wins, deletes stick.
@pytest.mark.skipif(shutil.which("faketime") is None, reason="needs Debian's faketime (scripts/install-deps.sh installs it)")
def test_a_node_ten_minutes_ahead_never_wins_against_later_writes(tmp_path, stop_all):
    # The wrapper, not a bare LD_PRELOAD: with the latter, Swift's CommandLine.arguments comes out empty.
    nodes = [Node(tmp_path, "127.0.78.1", extra=EXTRA, log_level="info")]
    stop_all(nodes)
    nodes[0].start()
    for i in range(2, 7):
        nodes.append(Node(tmp_path, f"127.0.78.{i}", bootstrap=[nodes[0].connect_string], extra=EXTRA, log_level="info",
                          wrapper=["faketime", "-f", "+10m"] if i == 2 else None))
        nodes[-1].start()
    key = provision(nodes, ZONES, "lake", "faults", permissions=("--read", "--write", "--owner"))
    ahead, behind = boto(nodes[1], key), boto(nodes[3], key)
    overwrites = deletes = 0
    for n in range(20 if FULL else 6):
        name = f"skew/{n}"
        ahead.put_object(Bucket="lake", Key=name, Body=b"from the node ahead")
        behind.put_object(Bucket="lake", Key=name, Body=b"later, from a node on time")
        for client in (ahead, behind):
            assert client.get_object(Bucket="lake", Key=name)["Body"].read() == b"later, from a node on time"
        overwrites += 1
        ahead.put_object(Bucket="lake", Key=name + "/gone", Body=b"x")
        behind.delete_object(Bucket="lake", Key=name + "/gone")
        for client in (ahead, behind):
            with pytest.raises(ClientError):
                client.head_object(Bucket="lake", Key=name + "/gone")
        deletes += 1
        # And the other way round: the node ahead writes last and wins.
        behind.put_object(Bucket="lake", Key=name + "/back", Body=b"first")
        ahead.put_object(Bucket="lake", Key=name + "/back", Body=b"second")
        assert behind.get_object(Bucket="lake", Key=name + "/back")["Body"].read() == b"second"
    time.sleep(5)  # anti-entropy rounds: nothing resurfaces
    for n in range(overwrites):
        assert behind.get_object(Bucket="lake", Key=f"skew/{n}")["Body"].read() == b"later, from a node on time"
        with pytest.raises(ClientError):
            ahead.head_object(Bucket="lake", Key=f"skew/{n}/gone")
    report("8 clock ten minutes ahead", later_writes_won=overwrites, deletes_stuck=deletes, lost=0, corrupt_reads=0)


@pytest.mark.skipif(shutil.which("faketime") is None, reason="needs Debian's faketime (scripts/install-deps.sh installs it)")
def test_a_killed_faketime_node_leaves_nothing_a_later_wrapper_trips_on(tmp_path, stop_all):
    # CI once failed scenario 8 with "faketime: sem_open: File exists": wrappers killed with their servers in
    # earlier runs had left /dev/shm objects named by PID, and a new wrapper was given one of those PIDs.
    dead = subprocess.Popen(["true"])
    dead.wait()
    planted = [Path(f"/dev/shm/sem.faketime_sem_{dead.pid}"), Path(f"/dev/shm/faketime_shm_{dead.pid}")]
    for path in planted:
        path.write_bytes(b"left by a killed wrapper")
    node = Node(tmp_path, "127.0.78.20", log_level="info", wrapper=["faketime", "-f", "+10m"])
    stop_all([node])
    node.start()
    assert not any(path.exists() for path in planted), "leftovers of a dead wrapper are removed before a wrapper starts"
    wrapper_pid = node.proc.pid
    assert Path(f"/dev/shm/sem.faketime_sem_{wrapper_pid}").exists(), "the running wrapper keeps its own"
    node.kill()
    assert not Path(f"/dev/shm/sem.faketime_sem_{wrapper_pid}").exists()
    assert not Path(f"/dev/shm/faketime_shm_{wrapper_pid}").exists()


# 9. Disk full on one node (a small tmpfs): writes go on or fail cleanly; nothing corrupt; the node recovers.
@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small tmpfs needs root")
def test_disk_full_on_one_node(tmp_path, stop_all):
    nodes, key = start_six(tmp_path, 79, stop_all)
    victim = nodes[4]
    victim.stop()
    saved = tmp_path / "saved-data"
    shutil.copytree(victim.data, saved)
    shutil.rmtree(victim.data)
    victim.data.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(victim.data)], check=True)
    try:
        shutil.copytree(saved, victim.data, dirs_exist_ok=True)
        victim.start()
        wait_all_healthy(nodes, {n.node_id for n in nodes})
        load = Workload(nodes[:4], key, "lake", "full", multipart_every=0, sizes=(700 * 1024, 2 * MiB + 5))
        load.run_for(15 if FULL else 8)
        avail_kib = int(subprocess.run(["df", "--output=avail", str(victim.data)], capture_output=True, text=True).stdout.split()[-1])
        assert avail_kib < 1024, f"the load should have filled the node's 6 MiB disk: {avail_kib} KiB left"
        figures = check(load, nodes[0])
        subprocess.run(["mount", "-o", "remount,size=512m", str(victim.data)], check=True)
        seconds = rebuild_until_redundant(nodes[0])
        figures = check(load, victim)
        report("9 disk full on one node", seconds_to_full_redundancy=round(seconds, 1), **figures)
    finally:
        victim.kill()
        subprocess.run(["umount", "-l", str(victim.data)], check=False)


# 11. An owner stalled (SIGSTOP) through a PUT: the PUT is acknowledged by its write quorum without that owner's
# shard, and the node that took it writes the missing shard in the background once the owner answers again.
def test_a_write_that_missed_a_stalled_owner_heals_without_a_rebuild(tmp_path, stop_all):
    nodes, key = start_six(tmp_path, 80, stop_all, extra=EXTRA + "slow_shard_timeout_millis = 300\n")
    s3 = boto(nodes[0], key)
    body = random.Random(11).randbytes(48 * MiB)
    victim = nodes[5]
    os.kill(victim.proc.pid, signal.SIGSTOP)
    try:
        # Sent at once, before the others see the victim fail: it is an owner the PUT writes to, not one it hands off.
        s3.put_object(Bucket="lake", Key="stalled", Body=body)
        assert metric(nodes[0], r"^shale_short_writes_queued_total") >= 1, "the PUT was acknowledged with every shard"
    finally:
        os.kill(victim.proc.pid, signal.SIGCONT)
    started = time.time()
    wait_until(lambda: verify_passes(nodes[0]), timeout=90, interval=1, what="the missing shard written in the background")
    seconds = time.time() - started
    assert metric(nodes[0], r"^shale_short_writes_healed_total") >= 1
    rebuild = nodes[0].api("GET", "/v1/rebuild")
    assert rebuild["objectsTotal"] == 0, f"the only rebuild is the first layout's, of an empty cluster: {rebuild}"
    # With both nodes of dc2 gone, a read needs every other shard, the healed one among them.
    nodes[2].kill()
    nodes[3].kill()
    assert boto(nodes[0], key).get_object(Bucket="lake", Key="stalled")["Body"].read() == body
    report("11 stalled owner healed", seconds_to_full_redundancy=round(seconds, 1))
