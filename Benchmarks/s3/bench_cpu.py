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


def run_bench(command: list[str], pids: list[int], timeout: float) -> tuple[dict | None, float | None, str]:
    """The bench's JSON report (None when it failed), the server CPU in ms
    per request over the measured window (None when the load was too short
    for two progress lines), and its stderr."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = last = None
    lines = []
    assert process.stderr is not None
    for line in process.stderr:
        lines.append(line)
        if PROGRESS.match(line):
            done = sum(int(count) for _, count in DONE.findall(line))
            sample = (sum(cpu_seconds(pid) for pid in pids), done)
            first = first or sample
            last = sample
    out = process.stdout.read() if process.stdout else ""
    process.wait(timeout=timeout)
    report = json.loads(out) if process.returncode in (0, 1) and out.strip() else None
    cpu = None
    if first and last and last[1] > first[1]:
        cpu = (last[0] - first[0]) * 1000 / (last[1] - first[1])
    return report, cpu, "".join(lines)
