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


#: The modules that read files a user may have been sent (issue 33: saved studies; the diagram store).
FILE_READERS = ("engine/saved.py", "engine/store.py")
_RUNS_CODE = ("eval", "exec", "compile", "__import__", "builtins.eval", "builtins.exec")


def test_the_file_readers_run_no_code_and_name_no_class_from_a_file():
    """Besides the unpickling scan above (which covers these modules too): no eval/exec/import of a
    name, and the saved-study reader rebuilds only the classes of its fixed registry."""
    problems = []
    for relative in FILE_READERS:
        path = PACKAGE / relative
        assert path in set(PACKAGE.rglob("*.py"))  # inside the unpickling scan
        for call in _calls(ast.parse(path.read_text())):
            full = _dotted(call.func)
            name = full.rsplit(".", 1)[-1]
            if full in _RUNS_CODE or name in ("import_module", "find_class", "__import__"):
                problems.append(f"{relative}:{call.lineno}: calls {name}")
            if name == "getattr" and call.args and _dotted(call.args[0]) in ("importlib", "sys.modules", "builtins"):
                problems.append(f"{relative}:{call.lineno}: looks a name up in a module")
    assert not problems, "\n".join(problems)
    from tda_widgets.engine.saved import classes

    assert all(cls.__module__.startswith("tda_widgets.") for cls in classes().values())


def test_a_study_file_naming_a_class_outside_the_registry_is_refused_and_runs_nothing(tmp_path):
    import json
    import zipfile

    from tda_widgets.engine.saved import FORMAT, FORMAT_VERSION, StudyFileError, open_study

    path = tmp_path / "crafted.tda"
    payload = {"$dc": "Payload", "fields": {}}  # this module's class whose unpickling would run code
    manifest = {"format": FORMAT, "format_version": FORMAT_VERSION, "study": {"preset": payload}, "entries": []}
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("manifest.json", json.dumps(manifest))
    RAN.clear()
    with pytest.raises(StudyFileError, match="corrupt"):
        open_study(path)
    assert RAN == []
