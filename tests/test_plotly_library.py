"""plotly.js travels once per kernel: figures carry a stub, one PlotlyLibrary carries the bundle.

The browser side (twelve figures render and update on a CPU-throttled page) is
tests/browser/test_plotly_library.py; this checks what the kernel sends.
"""

import pathlib

import plotly
import plotly.graph_objects as go
import pytest

from tda_widgets.widgets import plotly_library
from tda_widgets.widgets._common import FigureWidget

BUNDLE = pathlib.Path(plotly.__file__).parent / "package_data" / "widgetbundle.js"


def _sent_state(widget) -> dict:
    return widget.get_state()


def test_a_figure_sends_a_small_stub_not_the_plotly_bundle():
    fig = FigureWidget(go.Scatter(x=[1, 2], y=[3, 4]))
    esm = _sent_state(fig)["_esm"]
    assert len(esm) < 20_000 < BUNDLE.stat().st_size  # the stub, its fast path included (compacted)
    assert plotly_library.KEY in esm
    assert plotly_library.KEY.startswith(plotly.__version__ + "-")
    # plain plotly sends the whole bundle with every figure: what the stub replaces
    assert len(_sent_state(go.FigureWidget())["_esm"]) == len(BUNDLE.read_text(encoding="utf-8"))


def test_one_library_carries_the_bundle_and_survives_close_all():
    FigureWidget()
    library = plotly_library.ensure_library()
    FigureWidget()
    assert plotly_library.ensure_library() is library  # one per kernel, not one per figure
    state = _sent_state(library)
    assert state["source"] == BUNDLE.read_text(encoding="utf-8")
    assert state["key"] == plotly_library.KEY
    library.close()  # e.g. ipywidgets.Widget.close_all()
    FigureWidget()
    fresh = plotly_library.ensure_library()
    assert fresh is not library and fresh.comm is not None


@pytest.fixture(scope="module")
def demo_study():
    from tda_widgets import Study, load_demo

    demo = load_demo(n_images=60)
    return Study(demo.model, demo.images, demo.labels, layers=["block1", "block2"])


@pytest.mark.parametrize("explorer", ["PersistenceExplorer", "LayerDistanceExplorer", "MapperExplorer", "Dashboard"])
def test_every_explorer_figure_uses_the_shared_library(explorer, demo_study):
    import tda_widgets

    widget = getattr(tda_widgets, explorer)(study=demo_study, threaded=False, autostart=False)
    figures = [w for w in _walk(widget) if isinstance(w, go.FigureWidget)]
    assert figures
    assert all(isinstance(f, FigureWidget) for f in figures), [type(f) for f in figures]


def _walk(widget, seen=None):
    seen = set() if seen is None else seen
    if id(widget) in seen:
        return
    seen.add(id(widget))
    yield widget
    for child in getattr(widget, "children", ()) or ():
        yield from _walk(child, seen)


def _opened_state(monkeypatch, make):
    """The state a figure's comm_open message carries (what the front end has first)."""
    import ipywidgets.widgets.widget as widget_module

    opened = []
    real = widget_module.comm.create_comm

    def recording(**kwargs):
        opened.append(kwargs["data"]["state"])
        return real(**kwargs)

    monkeypatch.setattr(widget_module.comm, "create_comm", recording)
    make()
    return opened[-1]


def test_the_comm_opens_with_the_figure_already_in_its_state(monkeypatch):
    # plotly sets _widget_data/_widget_layout after the comm opened (as update messages) and its
    # front end ignores changes of those traits: a view rendered in between stayed empty for good.
    make = lambda cls: cls(go.Scatter(x=[1, 2], y=[3, 4], name="pts"), layout=dict(width=260, height=160))
    state = _opened_state(monkeypatch, lambda: make(FigureWidget))
    assert [t["name"] for t in state["_widget_data"]] == ["pts"]
    assert state["_widget_layout"]["width"] == 260
    plain = _opened_state(monkeypatch, lambda: make(go.FigureWidget))
    assert plain["_widget_data"] == []  # plotly's own: the race this subclass removes
    fig = make(FigureWidget)
    assert fig.comm is not None and fig.model_id          # opened, displayable
    fig.data[0].y = [5, 6]                                 # later edits still reach the front end
    assert list(fig.data[0].y) == [5, 6]


_NODE_CHECK = r"""
import stub from "./stub.mjs";
const KEY = Symbol.for("tda-widgets/plotly/TESTKEY");
// a widget model as anywidget hands it over: get / set / on / save_changes
const state = {}, listeners = {};
const model = {
  get: (k) => state[k] ?? null,
  set: (k, v) => { state[k] = v; (listeners["change:" + k] || []).forEach((f) => f()); },
  on: (e, f) => { (listeners[e] ||= []).push(f); },
  off: () => {}, save_changes: () => {}, send: () => {}, widget_manager: null,
};
const seen = [];
// the page: just what the stub touches (its style sheet, its listeners, the view's elements)
const element = (name) => ({ name, style: {}, classList: { add() {} }, appendChild() {}, toString: () => name });
globalThis.document = { createElement: () => element("INNER"), head: { appendChild() {} },
                        addEventListener() {}, removeEventListener() {} };
const figure = stub();                       // what anywidget's loadWidget gets
figure.initialize({ model, experimental: {} });  // returns at once: no compile awaited
model.set("_py2js_restyle", "edit 0"); model.set("_py2js_restyle", null);   // before the compile
model.set("_py2js_restyle", "stale"); model.set("_py2js_restyle", null);
model.set("_widget_data", ["the whole figure, edits included"]);  // a resync: drops the queue
model.set("_py2js_relayout", "edit 2"); model.set("_py2js_relayout", null);
let rendered = false;
// plotly's own view draws in a child of the widget's element (the fast path swaps plots there)
const rendering = figure.render({ el: element("EL") }).then((cleanup) => { rendered = cleanup(); });
// the one compile of plotly.js lands: its widget registers plotly's listeners
globalThis[KEY].resolve({ default: () => ({
  initialize({ model: m }) {
    for (const name of ["_py2js_restyle", "_py2js_relayout"])
      m.on("change:" + name, () => { const v = m.get(name); if (v !== null) seen.push(v); });
  },
  render({ el }) { return () => "rendered " + el; },
}) });
await rendering;
model.set("_py2js_restyle", "edit 3"); model.set("_py2js_restyle", null);    // after: live, once
console.log(JSON.stringify({ seen, rendered }));
"""


def test_the_figure_stub_is_ready_at_once_and_replays_early_edits(tmp_path):
    """The stub's contract, run in Node: initialise without waiting for plotly.js (anywidget's
    2 s), queue the kernel's edits that arrive before the compile, drop those a whole new figure
    state (_widget_data) made stale, replay the rest in order with their values (plotly sends
    each edit then null), then pass later edits through once."""
    import shutil
    import subprocess

    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed (the JupyterLab extension's build needs it too)")
    js = (pathlib.Path(plotly_library.__file__).with_suffix(".js")).read_text(encoding="utf-8")
    (tmp_path / "stub.mjs").write_text(
        js + '\nslot("TESTKEY");\nexport default () => figureWidget("TESTKEY");\n', encoding="utf-8")
    (tmp_path / "check.mjs").write_text(_NODE_CHECK, encoding="utf-8")
    result = subprocess.run([node, "check.mjs"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    import json

    assert json.loads(result.stdout) == {"seen": ["edit 2", "edit 3"], "rendered": "rendered INNER"}
