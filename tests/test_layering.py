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


# ------------------------------------------------------------ the floors of the package (issue 28)

#: Each floor and the floors it may import (DESIGN.md, "Layers of the code"): data flows one way,
#: model + images -> capture -> clouds -> topology -> engine -> figures -> widgets / report /
#: extension, and a lower floor never imports a higher one. The package's top (``__init__``,
#: ``__main__``, ``_version``) and the old import paths kept as shims sit above every floor.
FLOORS = {
    "core": set(),
    "topology": {"core"},
    "clouds": {"core", "topology"},
    "capture": {"core", "topology", "clouds"},
    "data": {"core", "topology"},
    "engine": {"core", "topology", "clouds", "capture", "data"},
    "figures": {"core", "topology", "clouds"},
    "widgets": {"core", "topology", "clouds", "capture", "data", "engine", "figures"},
    "report": {"core", "topology", "clouds", "capture", "data", "engine", "figures"},
    "extension": {"core", "topology", "clouds", "capture", "data", "engine", "figures", "widgets", "report"},
}
PACKAGE = REPO_ROOT / "tda_widgets"
TOP = {"__init__", "__main__", "_version"}
#: The old top-level modules, each now a shim that is the moved module itself.
SHIMS = {"options", "errors", "markup", "_progress", "_display", "_imports", "layers", "inputs", "gpu", "budget",
         "presets", "crossmodel", "checkpoints", "compute"}


def _imports_of(path: Path, root: Path = REPO_ROOT) -> list[tuple[str, int]]:
    """Every ``tda_widgets`` module a file imports (module level or inside a function), absolute."""
    import ast

    package = list(path.relative_to(root).with_suffix("").parts)[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                if node.module:
                    found.append((".".join(base + [node.module]), node.lineno))
                else:  # from . import x: x is a module of that package
                    found += [(".".join(base + [alias.name]), node.lineno) for alias in node.names]
            elif node.module:
                found.append((node.module, node.lineno))
    return [(name, line) for name, line in found if name.split(".")[0] == "tda_widgets"]


def _floor(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_the_floors_cover_every_module_of_the_package():
    for path in PACKAGE.rglob("*.py"):
        floor = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
        assert floor in FLOORS or floor in TOP or floor in SHIMS, f"{path}: on no floor of FLOORS"


def _imports_running_back_up(root: Path = REPO_ROOT) -> list[str]:
    wrong = []
    package = root / "tda_widgets"
    for path in package.rglob("*.py"):
        floor = path.relative_to(package).parts[0].removesuffix(".py")
        if floor not in FLOORS:
            continue  # the top and the shims may import any floor
        for module, line in _imports_of(path, root):
            target = _floor(module)
            if target != floor and target not in FLOORS[floor] and target != "_version":
                wrong.append(f"{path.relative_to(root)}:{line} ({floor}) imports {module} ({target})")
    return wrong


def test_no_import_runs_back_up():
    wrong = _imports_running_back_up()
    assert not wrong, "imports running back up (or through an old path):\n" + "\n".join(wrong)


def test_the_static_check_can_fail(tmp_path):
    # the probe sees an import that runs back up, a lazy one inside a function and one through
    # an old path (a shim is no floor), and passes one that runs down
    probe = tmp_path / "tda_widgets" / "topology" / "probe.py"
    probe.parent.mkdir(parents=True)
    probe.write_text("from ..core import errors\ndef f():\n    from ..engine import steps\n"
                     "    from .. import options\n", encoding="utf-8")
    assert _imports_running_back_up(tmp_path) == [
        "tda_widgets/topology/probe.py:3 (topology) imports tda_widgets.engine (engine)",
        "tda_widgets/topology/probe.py:4 (topology) imports tda_widgets.options (options)"]


@pytest.mark.parametrize("floor", list(FLOORS))
def test_importing_a_floor_loads_no_floor_above_it(floor):
    # In a fresh interpreter: the floor and every module in it, then which floors are loaded.
    code = (
        "import importlib, json, pkgutil, sys\n"
        f"package = importlib.import_module('tda_widgets.{floor}')\n"
        "for info in pkgutil.walk_packages(package.__path__, package.__name__ + '.'):\n"
        "    importlib.import_module(info.name)\n"
        "print(json.dumps(sorted({m.split('.')[1] for m in sys.modules if m.startswith('tda_widgets.')})))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=REPO_ROOT)
    assert result.returncode == 0, result.stderr
    loaded = set(json.loads(result.stdout.strip().splitlines()[-1]))
    assert loaded - {floor, "_version"} <= FLOORS[floor], (floor, sorted(loaded - FLOORS[floor] - {floor}))


def test_old_import_paths_are_the_moved_modules():
    code = (
        "import importlib, json\n"
        "pairs = {'tda_widgets.options': 'tda_widgets.core.options', 'tda_widgets.errors': 'tda_widgets.core.errors',"
        " 'tda_widgets.compute': 'tda_widgets.engine.study', 'tda_widgets.presets': 'tda_widgets.engine.presets',"
        " 'tda_widgets.budget': 'tda_widgets.engine.budget', 'tda_widgets.layers': 'tda_widgets.capture.layers',"
        " 'tda_widgets.inputs': 'tda_widgets.capture.inputs', 'tda_widgets.gpu': 'tda_widgets.topology.gpu',"
        " 'tda_widgets.crossmodel': 'tda_widgets.engine.crossmodel', 'tda_widgets.markup': 'tda_widgets.core.markup',"
        " 'tda_widgets.checkpoints': 'tda_widgets.engine.checkpoints',"
        " 'tda_widgets.engine.scheduler': 'tda_widgets.core.scheduler'}\n"
        "print(json.dumps([old for old, new in pairs.items()"
        " if importlib.import_module(old) is not importlib.import_module(new)]))\n"
    )
    result = subprocess.run([sys.executable, "-W", "error::DeprecationWarning", "-c", code], capture_output=True,
                            text=True, timeout=300, cwd=REPO_ROOT)
    assert result.returncode == 0, result.stderr  # nothing renamed: no deprecation warning
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []
    from tda_widgets.compute import CloudSpec, Study  # what the golden check imports
    from tda_widgets.clouds import CloudSpec as Same

    assert CloudSpec is Same and Study.__module__ == "tda_widgets.engine.study"


def test_the_renamed_layer_presets_warn_under_their_old_name():
    import tda_widgets.capture.layers as layers

    with pytest.warns(DeprecationWarning, match="LAYER_PRESETS"):
        assert layers.PRESETS is layers.LAYER_PRESETS
