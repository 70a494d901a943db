"""The other trust boundaries (issue 13): checkpoints and anything read back from disk.

- A checkpoint is read with ``torch.load(weights_only=True)`` by default: a file whose pickle
  would run code is refused, and the code does not run.
- Nothing in the package unpickles: no ``pickle``/``joblib``/``dill`` import, no
  ``allow_pickle=True``, and every ``torch.load`` names ``weights_only`` (checked on the source,
  so a future on-disk cache cannot slip one in).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import torch

from tda_widgets.data.loaders import load_checkpoint
from tda_widgets.data.digits import DigitsCNN
from tda_widgets.errors import TDAInputError

PACKAGE = Path(__file__).resolve().parents[2] / "tda_widgets"
RAN: list[str] = []


def _mark(what):
    RAN.append(what)
    return what


class Payload:
    """Unpickling this calls ``_mark``: a stand-in for any code a crafted checkpoint could run."""

    def __reduce__(self):
        return (_mark, ("code ran while loading the checkpoint",))


def test_a_checkpoint_that_would_run_code_is_refused_and_the_code_does_not_run(tmp_path):
    path = tmp_path / "crafted.pt"
    torch.save({"state_dict": DigitsCNN().state_dict(), "extra": Payload()}, path)
    RAN.clear()
    with pytest.raises(TDAInputError, match="weights_only=False"):
        load_checkpoint(DigitsCNN(), path)
    assert RAN == []
    # the same file loads only when the user says they trust it
    load_checkpoint(DigitsCNN(), path, weights_only=False)
    assert RAN == ["code ran while loading the checkpoint"]


def _calls(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            yield node


def _dotted(node) -> str:
    if isinstance(node, ast.Attribute):
        return _dotted(node.value) + "." + node.attr
    if isinstance(node, ast.Name):
        return node.id
    return ""


def test_the_package_never_unpickles():
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        where = path.relative_to(PACKAGE.parent)
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] + ([node.module] if isinstance(node, ast.ImportFrom) else [])
                if any(n and n.split(".")[0] in ("pickle", "cPickle", "dill", "joblib", "shelve", "marshal")
                       for n in names):
                    problems.append(f"{where}:{node.lineno}: imports an unpickler")
        for call in _calls(tree):
            name = _dotted(call.func)
            keywords = {k.arg: k.value for k in call.keywords}
            if name.endswith("torch.load") and "weights_only" not in keywords:
                problems.append(f"{where}:{call.lineno}: torch.load without weights_only")
            pickle_kw = keywords.get("allow_pickle")
            if pickle_kw is not None and not (isinstance(pickle_kw, ast.Constant) and pickle_kw.value is False):
                problems.append(f"{where}:{call.lineno}: allow_pickle is not False")
            if name.endswith(("np.load", "numpy.load")) and "allow_pickle" not in keywords:
                problems.append(f"{where}:{call.lineno}: np.load without allow_pickle=False")
    assert not problems, "\n".join(problems)


def test_the_source_check_catches_an_unpickler(tmp_path, monkeypatch):
    bad = tmp_path / "tda_widgets"
    bad.mkdir()
    (bad / "cache.py").write_text("import pickle\nimport numpy as np\nx = np.load('a.npy')\n"
                                  "import torch\ny = torch.load('b.pt')\n")
    monkeypatch.setitem(globals(), "PACKAGE", bad)
    with pytest.raises(AssertionError) as info:
        test_the_package_never_unpickles()
    text = str(info.value)
    assert "imports an unpickler" in text and "np.load without" in text and "torch.load without" in text
