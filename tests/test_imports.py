"""The stand-in for rfc3987_syntax (tda_widgets._imports): the kernel's first import skips its
parser build, and jsonschema's "iri" checks give the real module's answers."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytest.importorskip("rfc3987_syntax")

_CASES = ["http://example.com/a b", "http://example.com/ä", "not an iri", "mailto:x@y.z", "//no-scheme"]

_CHECK = """
import json, sys
{setup}
import jsonschema
stand_in = bool(getattr(sys.modules.get("rfc3987_syntax"), "__tdaw_stand_in__", False))  # before any check
checker = jsonschema.FormatChecker()
answers = [[checker.conforms(s, "iri"), checker.conforms(s, "iri-reference")] for s in {cases!r}]
print(json.dumps(dict(answers=answers, stand_in=stand_in)))
"""


def _run(setup: str) -> dict:
    out = subprocess.run([sys.executable, "-c", _CHECK.format(setup=setup, cases=_CASES)], capture_output=True,
                         text=True, check=True, timeout=300)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_importing_the_widgets_leaves_the_parser_unbuilt():
    code = ("from tda_widgets import PersistenceExplorer\n"
            "import sys, json\n"
            "m = sys.modules.get('rfc3987_syntax')\n"
            "print(json.dumps([m is not None, bool(getattr(m, '__tdaw_stand_in__', False)), "
            "'jsonschema._format' in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300)
    present, stand_in, jsonschema_loaded = json.loads(out.stdout.strip().splitlines()[-1])
    # the explorers' own plot widget (widgets/plot.py) imports neither plotly's FigureWidget nor
    # nbformat, so jsonschema (the chain the stand-in is for) is not imported at all now; where it
    # is, the real module (its parser build) must not be
    assert not jsonschema_loaded or (present and stand_in)


def test_iri_checks_give_the_real_modules_answers():
    real = _run("")  # no tda_widgets: jsonschema imports the real module
    ours = _run("import tda_widgets")
    assert not real["stand_in"] and ours["stand_in"]
    assert ours["answers"] == real["answers"]
    assert any(a for pair in real["answers"] for a in pair) and not all(a for pair in real["answers"] for a in pair)
