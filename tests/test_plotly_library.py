"""The explorers' plots stand on public ground: one plot widget of our own (widgets/plot.py),
plotly.js from its documented distribution sent once per kernel, no plotly private name.

The page side (figures drawn, events, views swapped back in) is tests/browser/; this checks what
the kernel sends and what the package's source touches.
"""

import ast
import inspect
import pathlib
import re

import plotly
import plotly.graph_objects as go
import pytest

import tda_widgets
from tda_widgets.widgets import plot as plot_module
from tda_widgets.widgets.plot import Plot, PlotLibrary, ensure_library

PACKAGE = pathlib.Path(tda_widgets.__file__).parent


def test_a_plot_carries_its_own_small_module_and_the_library_the_documented_plotly_js():
    from plotly.offline import get_plotlyjs

    fig = Plot(go.Figure(go.Scatter(x=[1, 2], y=[3, 4])))
    esm = fig.get_state()["_esm"]
    assert len(esm) < 40_000 and "Plotly.react" not in esm[:0]  # our plot.js, not plotly.js
    assert esm == (PACKAGE / "widgets" / "plot.js").read_text(encoding="utf-8")
    library = ensure_library()
    source = library.get_state()["source"]
    assert get_plotlyjs() in source and len(source) > 1_000_000
    assert fig.library == library.key and library.key.startswith(plotly.__version__ + "-")


def test_one_library_per_kernel_that_survives_close_all():
    Plot()
    library = ensure_library()
    Plot()
    assert ensure_library() is library  # one per kernel, not one per figure
    library.close()  # e.g. ipywidgets.Widget.close_all()
    Plot()
    fresh = ensure_library()
    assert fresh is not library and fresh.comm is not None and fresh.key == library.key


def test_the_comm_opens_with_the_figure_in_its_state(monkeypatch):
    """The front end's first message (comm_open) already holds the figure: no view is ever drawn
    from an empty default state."""
    import ipywidgets.widgets.widget as widget_module

    opened = []
    real = widget_module.comm.create_comm

    def recording(**kwargs):
        opened.append(kwargs["data"]["state"])
        return real(**kwargs)

    monkeypatch.setattr(widget_module.comm, "create_comm", recording)
    Plot(go.Figure(go.Scatter(x=[1, 2], y=[3, 4], name="pts"), layout=dict(width=260, height=160)))
    state = opened[-1]["state"]
    assert [t["name"] for t in state["data"]] == ["pts"] and state["layout"]["width"] == 260


@pytest.fixture(scope="module")
def demo_study():
    from tda_widgets import Study, load_demo

    demo = load_demo(n_images=60)
    return Study(demo.model, demo.images, demo.labels, layers=["block1", "block2"])


@pytest.mark.parametrize("explorer", ["PersistenceExplorer", "LayerDistanceExplorer", "MapperExplorer", "Dashboard"])
def test_every_explorer_figure_is_our_plot_and_no_plotly_widget(explorer, demo_study):
    from tda_widgets.widgets.base import owned_widgets

    widget = getattr(tda_widgets, explorer)(study=demo_study, threaded=False, autostart=False)
    widgets = owned_widgets(widget)
    assert [w for w in widgets if isinstance(w, Plot)]
    assert not [w for w in widgets if isinstance(w, go.FigureWidget)]
    widget.close()


# ----------------------------------------------------------------------------- public ground only

def _plotly_private_names() -> set:
    """Names beginning with one underscore that plotly's classes and modules define (its
    FigureWidget's message methods, a figure's _data / _layout_obj, a trace's callbacks, ...)."""
    import plotly.basedatatypes as bd
    import plotly.basewidget as bw

    names = set()
    for obj in (go.Figure, go.FigureWidget, go.Scatter, go.Layout, bd.BaseFigure, bd.BasePlotlyType,
                bd.BaseTraceType, bd.BaseLayoutType, bw.BaseFigureWidget, plotly.io, plotly.offline):
        names |= {n for n in dir(obj) if n.startswith("_") and not n.startswith("__")}
    for obj in (go.Figure(go.Scatter()), go.Scatter()):
        names |= {n for n in vars(obj) if n.startswith("_") and not n.startswith("__")}
    return names


def _python_sources():
    return sorted(p for p in PACKAGE.rglob("*.py") if "labextension" not in p.parts)


def test_no_module_touches_a_name_of_plotly_that_begins_with_an_underscore():
    private = _plotly_private_names()
    assert {"_send_restyle_msg", "_handle_msg", "_data", "_layout_obj", "_hover_callbacks"} <= private
    found = []
    for path in _python_sources():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            where = f"{path.relative_to(PACKAGE)}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.Attribute) and node.attr in private:
                found.append(f"{where} .{node.attr}")
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                modules = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
                for module in modules:
                    if module.split(".")[0] in ("plotly", "_plotly_utils") and (
                            module.startswith("_") or any(part.startswith("_") for part in module.split("."))):
                        found.append(f"{where} import {module}")
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("plotly"):
                    found += [f"{where} import {a.name}" for a in node.names if a.name.startswith("_")]
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and (
                    "package_data" in node.value or "widgetbundle" in node.value or "_py2js_" in node.value
                    or "_js2py_" in node.value or node.value in ("_widget_data", "_widget_layout")):
                found.append(f"{where} {node.value[:40]!r}")
    assert not found, found


def test_no_module_subclasses_a_plotly_widget():
    found = []
    for path in _python_sources():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                for base in node.bases:
                    text = ast.unparse(base)
                    if "FigureWidget" in text or "basewidget" in text or text.startswith(("go.", "plotly.")):
                        found.append(f"{path.relative_to(PACKAGE)}:{node.lineno} class {node.name}({text})")
    assert not found, found
    # and at run time: no class of the explorers' modules is one
    import importlib

    for path in (PACKAGE / "widgets").glob("*.py"):
        module = importlib.import_module(f"tda_widgets.widgets.{path.stem}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            assert not issubclass(cls, go.FigureWidget), cls


def test_the_front_end_reads_no_underscore_property():
    """plot.js (and the other front ends of the package) read no property whose name begins with
    an underscore: plotly.js's private state (gd._fullData, gd.calcdata's internals, d3's __data__)."""
    found = []
    for path in (PACKAGE / "widgets").glob("*.js"):
        for k, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("//")[0]
            if re.search(r"(\.|\?\.)_[A-Za-z_]|\[\s*[\"']_", code) or "calcdata" in code:
                found.append(f"{path.name}:{k}: {line.strip()}")
    assert not found, found


def test_the_guard_finds_what_the_old_plot_layer_did(tmp_path):
    """The checks above fail on the plot layer this package had (a FigureWidget subclass
    overriding _handle_msg, a reader of package_data/widgetbundle.js)."""
    old = tmp_path / "old.py"
    old.write_text("import plotly.graph_objects as go\nclass FigureWidget(go.FigureWidget):\n"
                   "    def _handle_msg(self, msg):\n        return super()._handle_msg(msg)\n"
                   "BUNDLE = 'package_data/widgetbundle.js'\n", encoding="utf-8")
    private = _plotly_private_names()
    tree = ast.parse(old.read_text())
    attrs = [n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute) and n.attr in private]
    bases = [ast.unparse(b) for n in ast.walk(tree) if isinstance(n, ast.ClassDef) for b in n.bases]
    assert attrs == ["_handle_msg"] and bases == ["go.FigureWidget"]
