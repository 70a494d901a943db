"""CI fails on a lint finding (ruff, with the rule set of pyproject.toml) or a type error in the
public modules (mypy, as configured there)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str, cwd: Path = ROOT, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *args], cwd=cwd, capture_output=True, text=True, timeout=timeout)


def test_ruff_finds_nothing_in_the_tree():
    result = _run("ruff", "check", "--no-cache", "--output-format", "concise", ".")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def test_the_configured_rules_catch_what_they_should(tmp_path):
    # the configuration is not empty: an unused import, an undefined name and a mutable default
    # argument in a file under the repository's rules are three findings
    bad = tmp_path / "bad.py"
    bad.write_text("import os\n\n\ndef f(x=[]):\n    return undefined_name\n")
    result = _run("ruff", "check", "--no-cache", "--config", str(ROOT / "pyproject.toml"), "--output-format",
                  "concise", str(bad), cwd=tmp_path)
    assert result.returncode == 1
    for code in ("F401", "F821", "B006"):
        assert code in result.stdout, result.stdout


@pytest.mark.slow
def test_mypy_passes_on_the_public_modules():
    result = _run("mypy", "--no-incremental")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "Success" in result.stdout
