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
from tda_widgets.widgets.plot import Plot, ensure_library

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


# ----------------------------------------------------------------------------- plot.js, in Node

_NODE_PAGE = r"""
import plot from "./plot.mjs";
// a tiny page: elements with children, classes and styles (what plot.js touches)
function element(tag) {
  const el = { tag, children: [], parentNode: null, style: {}, dataset: {},
    classList: { set: new Set(), add(...c) { c.forEach((x) => this.set.add(x)); }, remove(c) { this.set.delete(c); },
                 contains(c) { return this.set.has(c); } },
    querySelectorAll() { return []; },
    appendChild(child) { if (child.parentNode) child.remove(); child.parentNode = el; el.children.push(child); return child; },
    remove() { const p = el.parentNode; if (p) { p.children = p.children.filter((c) => c !== el); el.parentNode = null; } },
    set className(v) { v.split(" ").forEach((c) => el.classList.add(c)); } };
  return el;
}
globalThis.document = { createElement: element, head: element("head"), addEventListener() {} };
// the model of a Plot and the control bound to it, as anywidget hands them over
function makeModel(state) {
  const listeners = {};
  return { state, sent: [], listeners,
    get(k) { return this.state[k]; },
    set(k, v) {
      if (typeof k === "object") { for (const [key, value] of Object.entries(k)) this.set(key, value); return; }
      this.state[k] = v; (listeners["change:" + k] || []).forEach((f) => f()); },
    on(e, f) { (listeners[e] ||= []).push(f); }, off() {}, send(m) { this.sent.push(m); } };
}
const f8 = (values) => ({ dtype: "f8", shape: [values.length], buffer: new DataView(new Float64Array(values).buffer) });
const i4 = (values) => ({ dtype: "i4", shape: [values.length], buffer: new DataView(new Int32Array(values).buffer) });
"""

_NODE_CHECK = _NODE_PAGE + r"""
const frame = (id, y, extra = {}) => ({ id, revision: 1, template_id: "t", layout: { width: 300, height: 200, title: { text: id } },
  data: [{ type: "scatter", name: "pts", x: f8([1, 2]), y: f8(y), marker: { opacity: f8([0, 0]) } }], ...extra });
const control = makeModel({ index: 0 });
const model = makeModel({ role: "plot", library: "KEY", events: ["click"], bindings: {},
  template: { id: "t", value: { layout: { font: { size: 11 } } } }, state: frame("a", [3, 4]) });
model.widget_manager = { get_model: async () => control };
// plotly.js's public API, recorded
const calls = [];
const P = {
  async react(gd, data, layout) { calls.push(["react", layout.title.text, Array.from(data[0].y), layout.template ? 1 : 0]);
    gd.data = data; gd.layout = layout; gd.handlers ??= {}; gd.on = (e, cb) => (gd.handlers[e] ||= []).push(cb); },
  async restyle(gd, props, traces) { calls.push(["restyle", Object.keys(props)[0], Array.from(props[Object.keys(props)[0]][0]), traces]); },
  purge(gd) { calls.push(["purge"]); },
};
const settle = () => new Promise((r) => setTimeout(r, 10));
plot.initialize({ model });
const el = element("div");
const cleanup = plot.render({ model, el });
const slot = globalThis[Symbol.for("tda-widgets/plotly.js/KEY")];
slot.resolve(P);
await settle();
const shown = () => el.children.filter((c) => c.classList.contains("tdaw-gd"));
const out = { first: calls.splice(0), children1: shown().length };
const gdA = shown()[0];
model.set("state", frame("b", [5, 6]));            // a new view: drawn, swapped in
await settle();
out.second = calls.splice(0); out.children2 = shown().length;
model.set("state", frame("a", [3, 4]));            // seen before: the same plot back, no drawing
await settle();
out.third = calls.splice(0); out.backIsSame = shown()[0] === gdA && shown().length === 1;
model.set("state", frame("c", [3, 4], { restyle: { base: "a", trace: 0, props: { "marker.opacity": f8([1, 0]) } } }));
await settle();
out.restyle = calls.splice(0);
model.set("bindings", { C: { trait: "index", views: { "1": "b" } } });   // the control's value 1 brings back "b"
await settle();
control.set("index", 1);
await settle();
out.bound = calls.splice(0); out.boundShows = shown()[0].layout.title.text;
shown()[0].handlers.plotly_click[0]({ points: [{ curveNumber: 0, pointNumber: 1, pointIndex: 1, x: 2, y: 6 }] });
shown()[0].handlers.plotly_hover[0]({ points: [{ curveNumber: 0, pointNumber: 0, x: 1, y: 5 }] });  // no hover callback
out.sent = model.sent;
// a restyle that keeps the state before (the filtration's cursors): a plot of its own, and the
// state before swapped back in with no drawing, and the restyled one again too
model.set("state", frame("k", [5, 6], { restyle: { base: "b", trace: 0, keep: true, props: { "marker.opacity": f8([0, 1]) } } }));
await settle();
out.keep = calls.splice(0);
model.set("state", frame("b", [5, 6]));
await settle();
out.keepBack = [calls.splice(0), shown()[0].layout.title.text];
model.set("state", frame("k", [5, 6], { restyle: { base: "b", trace: 0, keep: true, props: { "marker.opacity": f8([0, 1]) } } }));
await settle();
out.keepAgain = [calls.splice(0), shown()[0].layout.title.text];
cleanup();
out.afterClose = el.children.length;
console.log(JSON.stringify(out));
"""


def _run_plot_js(tmp_path, script: str) -> dict:
    """Run ``script`` (importing plot.js as ./plot.mjs) in Node; the JSON it printed."""
    import json
    import shutil
    import subprocess

    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed (the JupyterLab extension's build needs it too)")
    shutil.copy(PACKAGE / "widgets" / "plot.js", tmp_path / "plot.mjs")
    (tmp_path / "check.mjs").write_text(script, encoding="utf-8")
    result = subprocess.run([node, "check.mjs"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_plot_js_draws_swaps_restyles_binds_and_sends_events(tmp_path):
    """plot.js's contract, run in Node against a recorded plotly.js: a state is drawn with one
    Plotly.react (template joined, binary arrays decoded); a state seen before brings its plot back
    with no drawing; a restyle state is one Plotly.restyle; a bound control shows its view at once;
    a click the kernel wants comes back as a message, a hover it does not want sends nothing; a
    restyle that keeps the state before is drawn as a plot of its own, both swapped back in."""
    out = _run_plot_js(tmp_path, _NODE_CHECK)
    assert out["first"] == [["react", "a", [3, 4], 1]] and out["children1"] == 1
    assert out["second"] == [["react", "b", [5, 6], 1]] and out["children2"] == 1
    assert out["third"] == [] and out["backIsSame"]
    assert out["restyle"] == [["restyle", "marker.opacity", [1, 0], [0]]]
    assert out["bound"] == [] and out["boundShows"] == "b"
    assert out["sent"] == [{"event": "click", "points": [{"trace": 0, "index": 1, "x": 2, "y": 6}]}]
    assert out["keep"] == [["react", "k", [5, 6], 1]]
    assert out["keepBack"] == [[], "b"] and out["keepAgain"] == [[], "k"]
    assert out["afterClose"] == 0


_NODE_SELECT = _NODE_PAGE + r"""
// a map whose frame links its selection: points 0..3 are images 7, 3, 9, 3
const panel = makeModel({});
const model = makeModel({ role: "plot", library: "KEY", events: ["selected"], bindings: {},
  template: { id: "t", value: {} },
  state: { id: "m", revision: 1, template_id: "t",
    layout: { width: 300, height: 200, title: { text: "map" },
              meta: { tdaw_select: { group: "PANEL", trace: 0, images: i4([7, 3, 9, 3]),
                                     title: ["&lt;b&gt;: ", " images selected on the map"], rings: ["G"] } } },
    data: [{ type: "scatter", name: "points", x: f8([0, 1, 2, 3]), y: f8([0, 1, 2, 3]) }] } });
model.widget_manager = { get_model: async (id) => (id === "PANEL" ? panel : null) };
const ringed = [];
globalThis[Symbol.for("tda-widgets/linked")].set("G", new Set([{ ring: (chosen) => ringed.push([...chosen].sort()) }]));
const P = { async react(gd, data, layout) { gd.data = data; gd.layout = layout; gd.handlers ??= {};
  gd.on = (e, cb) => (gd.handlers[e] ||= []).push(cb); }, async restyle() {}, purge() {} };
const settle = () => new Promise((r) => setTimeout(r, 10));
plot.initialize({ model });
const el = element("div");
plot.render({ model, el });
globalThis[Symbol.for("tda-widgets/plotly.js/KEY")].resolve(P);
await settle();
const gd = el.children.find((c) => c.classList.contains("tdaw-gd"));
gd.handlers.plotly_selected[0]({ points: [3, 1, 2].map((k) => ({ curveNumber: 0, pointIndex: k, pointNumber: k, x: k, y: k }))
  .concat([{ curveNumber: 1, pointIndex: 0, pointNumber: 0, x: 0, y: 0 }]) });   // another trace's point: not an image
await settle();
console.log(JSON.stringify({ panel: panel.state, ringed, sent: model.sent.length }));
"""


def test_plot_js_answers_a_lasso_on_a_linked_map_in_the_page(tmp_path):
    """plot.js, run in Node: a selection on a map whose frame links it (a LayerMap's
    ``tdaw_select``) sets the map's thumbnail panel to the selected images (sorted, once each,
    the kernel's title with the layer name as text) and rings them in every graph of the linked
    groups, and still sends the selection to the kernel."""
    out = _run_plot_js(tmp_path, _NODE_SELECT)
    assert out["panel"] == {"title": "<b>: 2 images selected on the map", "marks": [], "selected": [3, 9]}
    assert out["ringed"] == [[3, 9]]
    assert out["sent"] == 1
