"""Import contracts (DESIGN.md, STYLE.md "Layering"): the lower layers pull in neither torch nor
ipywidgets, and ``import tda_widgets`` alone is lazy. Each check runs in a fresh interpreter,
since this test process has imported torch already."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "torchvision", "ipywidgets", "anywidget")


def imported_after(statement: str) -> list[str]:
    """Top-level packages among HEAVY that are in sys.modules after running ``statement``."""
    code = (
        "import json, sys\n"
        f"{statement}\n"
        f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({list(HEAVY)!r}))))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180,
                            cwd=REPO_ROOT)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_probe_sees_a_heavy_import():
    # The check itself can fail: importing the capture layer does pull in torch.
    assert "torch" in imported_after("import tda_widgets.capture")


@pytest.mark.parametrize("module", ["tda_widgets.topology", "tda_widgets.clouds", "tda_widgets.figures"])
def test_lower_layers_import_neither_torch_nor_ipywidgets(module):
    assert imported_after(f"import {module}") == []


def test_all_lower_layers_together_and_their_submodules():
    statement = (
        "import tda_widgets.topology, tda_widgets.clouds, tda_widgets.figures\n"
        "import tda_widgets.topology.persistence, tda_widgets.topology.distances\n"
        "import tda_widgets.topology.cka, tda_widgets.topology.mapper, tda_widgets.topology.scaling"
    )
    assert imported_after(statement) == []


def test_import_tda_widgets_alone_is_lazy():
    statement = "import tda_widgets\nassert 'Study' in dir(tda_widgets)\nassert tda_widgets.__version__"
    assert imported_after(statement) == []
    # ...and a lazy name still resolves on first use.
    assert "torch" in imported_after("import tda_widgets\ntda_widgets.Study")
