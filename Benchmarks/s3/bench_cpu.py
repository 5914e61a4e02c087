"""Runs `shale bench s3 --json` and measures the nodes' CPU time over the
measured phase only: from its first progress line (a second in) to its
last (the second before the load ends), divided by the requests finished
in between. Prefill and the bench's clean-up (it deletes what it wrote)
fall outside that window, so the figure is the load's own cost."""
from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

PROGRESS = re.compile(r"^\s*([\d.]+)s\s+(.*)$")
DONE = re.compile(r"(PUT|GET|DELETE) (\d+) \(")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_bench(command: list[str], pids: list[int], timeout: float) -> tuple[dict | None, float | None, float | None, str]:
    """The bench's JSON report (None when it failed), the server CPU and the
    client's (the bench process's own) in ms per request over the measured
    window (None when the load was too short for two progress lines), and
    its stderr. On a machine the client shares with the servers, 1000 ×
    cores / (server + client) is the most requests per second it can do."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = last = None
    lines = []
    assert process.stderr is not None
    for line in process.stderr:
        lines.append(line)
        if PROGRESS.match(line):
            done = sum(int(count) for _, count in DONE.findall(line))
            sample = (sum(cpu_seconds(pid) for pid in pids), cpu_seconds(process.pid), done)
            first = first or sample
            last = sample
    out = process.stdout.read() if process.stdout else ""
    process.wait(timeout=timeout)
    report = json.loads(out) if process.returncode in (0, 1) and out.strip() else None
    cpu = client = None
    if first and last and last[2] > first[2]:
        cpu = (last[0] - first[0]) * 1000 / (last[2] - first[2])
        client = (last[1] - first[1]) * 1000 / (last[2] - first[2])
    return report, cpu, client, "".join(lines)
