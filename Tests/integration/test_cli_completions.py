"""`shale completions bash|zsh|fish`: scripts a shell accepts and that complete
the guide's commands."""
from __future__ import annotations

import shutil
import subprocess

import pytest

from shale_cluster import SHALE


def complete_in_bash(script: str, line: str) -> list[str]:
    words = line.split(" ")
    program = f"""
source {script}
COMP_LINE='{line}'; COMP_POINT={len(line)}; COMP_WORDS=({' '.join(repr(w) if w else "''" for w in words)}); COMP_CWORD={len(words) - 1}
_shale
printf '%s\\n' "${{COMPREPLY[@]}}"
"""
    return subprocess.run(["bash", "-c", program], capture_output=True, text=True, check=True).stdout.split()


def test_bash_completion_completes_commands_and_subcommands(tmp_path):
    script = tmp_path / "shale.bash"
    script.write_text(subprocess.run([SHALE, "completions", "bash"], capture_output=True, text=True, check=True).stdout)
    assert "layout" in complete_in_bash(str(script), "shale la")
    assert set(complete_in_bash(str(script), "shale layout a")) >= {"assign", "apply"}
    assert "completions" in complete_in_bash(str(script), "shale comp")


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_zsh_and_fish_scripts_parse(shell, tmp_path):
    script = subprocess.run([SHALE, "completions", shell], capture_output=True, text=True, check=True).stdout
    assert "layout" in script and "rebuild" in script
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} is not installed here; the script was generated but not parsed")
    path = tmp_path / f"shale.{shell}"
    path.write_text(script)
    flag = "-n" if shell == "zsh" else "--no-execute"
    subprocess.run([shell, flag, str(path)], check=True)


def test_an_unknown_shell_is_refused():
    result = subprocess.run([SHALE, "completions", "tcsh"], capture_output=True, text=True)
    assert result.returncode != 0 and "bash" in result.stderr
