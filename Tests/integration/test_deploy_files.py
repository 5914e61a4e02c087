"""deploy/systemd/shale.service: systemd accepts the unit as written
(`systemd-analyze verify`, with the binary path and user of this machine)."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from shale_cluster import SHALE

ROOT = Path(__file__).resolve().parents[2]


def test_the_systemd_unit_verifies(tmp_path):
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed here")
    unit = (ROOT / "deploy" / "systemd" / "shale.service").read_text()
    assert "ExecStart=/usr/local/bin/shale server --config /etc/shale.toml" in unit and "KillSignal=SIGTERM" in unit
    local = tmp_path / "shale.service"
    local.write_text(unit.replace("/usr/local/bin/shale", str(Path(SHALE).resolve()))
                     .replace("User=shale", "User=root").replace("Group=shale", "Group=root"))
    result = subprocess.run(["systemd-analyze", "verify", str(local)], capture_output=True, text=True)
    assert result.returncode == 0 and "Unknown" not in result.stderr, result.stderr
