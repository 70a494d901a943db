"""figures/ imports neither torch nor ipywidgets (the layering promised in DESIGN.md)."""

import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_importing_figures_pulls_in_no_torch_or_ipywidgets():
    code = (
        "import sys, tda_widgets.figures\n"
        "import tda_widgets.figures.diagrams, tda_widgets.figures.heatmaps\n"
        "import tda_widgets.figures.mapper, tda_widgets.figures.thumbnails\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('torch', 'ipywidgets', 'anywidget', 'torchvision'))\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, timeout=120, cwd=REPO_ROOT)
    assert result.stdout.strip() == ""
