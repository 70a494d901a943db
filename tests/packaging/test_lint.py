"""CI fails on a lint finding (ruff, with the rule set of pyproject.toml; the JupyterLab extension
template's eslint, prettier and stylelint for labextension/) or a type error in the public modules
(mypy, as configured in pyproject.toml)."""

from __future__ import annotations

import json
import shutil
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


# ---- the JupyterLab extension: the template's eslint, prettier and stylelint ---------------------
# Configured in labextension/ (eslint.config.mjs; package.json's "prettier" and "stylelint"), the
# tools installed at the repository root from package-lock.json (`npm ci`; scripts/test.sh does it).
NODE = shutil.which("node")
BIN = ROOT / "node_modules" / ".bin"
EXTENSION = ROOT / "labextension"
needs_node = pytest.mark.skipif(NODE is None, reason="Node.js is not installed (the extension's linters run on it)")
LINTERS = {
    "stylelint": ["stylelint", "style/**/*.css"],
    "prettier": ["prettier", "--check", "**/*{.ts,.tsx,.js,.jsx,.css,.json,.md}"],
    "eslint": ["eslint", "--max-warnings=0", "."],
}


def _node_tool(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    tool = BIN / args[0]
    assert tool.exists(), (f"{tool} is missing: run `npm ci --prefer-offline` at the repository root "
                           "(scripts/test.sh does) to install the extension's linters")
    return subprocess.run([str(tool), *args[1:]], cwd=cwd, capture_output=True, text=True, timeout=300)


@needs_node
@pytest.mark.parametrize("linter", list(LINTERS))
def test_the_extension_linters_find_nothing(linter):
    result = _node_tool(LINTERS[linter], EXTENSION)
    assert result.returncode == 0, (result.stdout[-4000:] + result.stderr[-2000:])


@needs_node
def test_the_extension_linters_catch_what_they_should(tmp_path):
    # the configuration is not empty: a loose equality, an unknown CSS property and a file in the
    # wrong format are findings under the repository's rules
    (tmp_path / "src").mkdir()
    (tmp_path / "style").mkdir()
    (tmp_path / "src" / "bad.ts").write_text("export function f(a: number): string {\n  if (a == 1) {\n"
                                             "    return 'x';\n  }\n  return 'y';\n}\n")
    (tmp_path / "style" / "bad.css").write_text(".tda-x {\n  colr: red;\n}\n")
    (tmp_path / "ugly.ts").write_text("export const a = 'x'\n")
    eslint = _node_tool(["eslint", "--config", str(EXTENSION / "eslint.config.mjs"),
                         "--parser-options", "project:false", "src"], tmp_path)   # no tsconfig in tmp_path
    assert eslint.returncode == 1 and "eqeqeq" in eslint.stdout, eslint.stdout + eslint.stderr
    stylelint = _node_tool(["stylelint", "--config", str(EXTENSION / "package.json"), "style/bad.css"], tmp_path)
    assert stylelint.returncode == 2 and "property-no-unknown" in stylelint.stdout + stylelint.stderr
    prettier = _node_tool(["prettier", "--config", str(EXTENSION / "package.json"), "--check", "ugly.ts"], tmp_path)
    assert prettier.returncode == 1 and "ugly.ts" in prettier.stdout + prettier.stderr


@needs_node
def test_the_lint_tools_are_locked_as_declared():
    """package-lock.json was made from package.json (npm ci refuses a lock out of step)."""
    package = json.loads((ROOT / "package.json").read_text())
    lock = json.loads((ROOT / "package-lock.json").read_text())
    assert lock["packages"][""]["devDependencies"] == package["devDependencies"]
