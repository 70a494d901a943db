"""``python -m tda_widgets report --help`` prints every flag (the docs' command-line page shows it).

Regression: argparse formats help strings with ``%``, and the "mapper" preset's description
("10 intervals, 50 % overlap") made ``report --help`` raise ``TypeError: %o format``.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tda_widgets.__main__ import main
from tda_widgets.presets import STUDY_PRESETS


def test_report_help_prints_every_preset_description(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["report", "--help"])
    assert stop.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for name, preset in STUDY_PRESETS.items():
        assert f"{name}: {' '.join(preset.description.split())}" in text
    assert "50 % overlap" in text  # the literal percent sign, not argparse's %-formatting
    for flag in ("--preset", "--metric", "--mode", "--max-points", "--out"):
        assert flag in text


def test_report_help_from_a_shell_exits_zero():
    result = subprocess.run([sys.executable, "-m", "tda_widgets", "report", "--help"], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith("usage:")
