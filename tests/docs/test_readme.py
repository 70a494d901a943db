"""README.md is a front door: at most 150 lines, and every Python example in it runs as a
newcomer would run it (the blocks in order, in one fresh interpreter, outside the repository).

Regression: an earlier README's second example, ``study.compare(spec=CloudSpec(
mode="image-avgpool", max_points=500))`` on ``demo.layers``, raised TDAInputError, because
``fc1`` and ``head`` are linear layers (shared/FACTS.md); nothing ran the README then.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"


def python_blocks(text: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.M | re.S)


def test_readme_is_at_most_150_lines():
    assert len(README.read_text().splitlines()) <= 150


def test_readme_links_to_files_that_exist():
    text = README.read_text()
    targets = [t for t in re.findall(r"\]\(([^)\s]+)\)", text) if "://" not in t]
    assert targets, "the README links to the documentation's pages"
    missing = [t for t in targets if not (ROOT / t.split("#")[0]).exists()]
    assert not missing, missing


def test_the_block_extractor_finds_blocks_and_ignores_other_languages():
    text = "x\n```python\na = 1\n```\n```bash\nls\n```\n```python\nb = a\n```\n"
    assert python_blocks(text) == ["a = 1\n", "b = a\n"]


@pytest.mark.slow
def test_every_python_example_in_the_readme_runs(tmp_path):
    blocks = python_blocks(README.read_text())
    assert len(blocks) >= 2
    script = "\n".join(f"# README block {i}\n{block}" for i, block in enumerate(blocks, 1))
    # the README's printed Spearman rho is a number between -1 and 1: check what it claims
    script += "\nimport math\nassert -1 <= float(result.spearman) <= 1 and not math.isnan(float(result.spearman))\n"
    # Outside a notebook the explorers' first computations still run in their threads when the
    # script ends; an interpreter that exits under a running giotto-ph call aborts ("terminate
    # called without an active exception"). Wait for every explorer (ExplorerBase.wait) first.
    script += (
        "\nimport ipywidgets\n"
        "explorers = [w for w in list(ipywidgets.Widget.widgets.values()) if callable(getattr(w, 'wait', None))]\n"
        "assert len(explorers) >= 5, explorers\n"
        "for explorer in explorers:\n"
        "    explorer.wait(timeout=600)\n"
        "print('explorers finished:', len(explorers))\n"
    )
    (tmp_path / "readme_examples.py").write_text(script)
    # outside the repository, with the package as installed (CI: the editable install)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run([sys.executable, "readme_examples.py"], cwd=tmp_path, capture_output=True, text=True,
                            timeout=900, env=env)
    assert result.returncode == 0, result.stderr[-4000:]
    assert "explorers finished" in result.stdout
