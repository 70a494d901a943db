"""Text from data and models never becomes markup (issue 13).

Every explorer, the dashboard and the report are built with markup in the class names *and* in
the layer names (a model whose module names are HTML), driven through selection, hover and
click; then every ipywidgets HTML value and every string of every figure is parsed as HTML and
must hold only the tags of our own templates, with no attribute but ``style``. The last test
bypasses the escaping helper and checks that this detector then finds the injected markup, so
the tests can fail.
"""

from __future__ import annotations

import html
from collections import OrderedDict
from html.parser import HTMLParser

import ipywidgets as W
import numpy as np
import pytest
from tda_widgets.widgets.plot import Plot
from torch import nn

import tda_widgets.markup
from tda_widgets import Dashboard, LayerDistanceExplorer, MapperExplorer, PersistenceExplorer, Study, load_demo
from tda_widgets.compute import CloudSpec
from tda_widgets.markup import escape, markup
from tda_widgets.report import build_report

#: Class names as a crafted dataset could have them (an ImageFolder's folder names).
EVIL_CLASSES = [
    f'<img src=x onerror="window.__xss=(window.__xss||0)+1">c{k}' if k % 3 == 0 else
    f"</script><script>window.__xss=1</script>c{k}" if k % 3 == 1 else
    f"<a href='javascript:alert(1)'>c{k}</a> & \"q\""
    for k in range(10)
]
#: Layer names as a crafted model could have them (any string without a dot is a module name).
EVIL_LAYERS = ["<img src=x onerror=window['__xssL']=1>b1", "<b onmouseover=alert(1)>b2</b>",
               "<svg onload=alert(1)>b3", "fc 'one' & \"two\"", "<i>head</i>"]

#: Tags our own templates write (plotly's <extra> included); nothing else may survive.
OUR_TAGS = {"b", "br", "span", "extra"}


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, list]] = []

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, attrs))

    handle_startendtag = handle_starttag


def foreign_markup(text: str) -> list[str]:
    """Tags or attributes in ``text`` that none of our templates writes."""
    parser = _Tags()
    parser.feed(text)
    parser.close()
    problems = []
    for tag, attrs in parser.found:
        if tag not in OUR_TAGS:
            problems.append(f"<{tag}> in {text[:120]!r}")
        problems += [f"attribute {name}= on <{tag}> in {text[:120]!r}" for name, _ in attrs if name != "style"]
    if "<script" in text.lower() or "<img" in text.lower():
        problems.append(f"raw tag text in {text[:120]!r}")
    return problems


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _strings(v)
    elif isinstance(value, np.ndarray) and value.dtype == object:
        for v in value.ravel():
            yield from _strings(v)


def widget_sinks(root):
    """(where, markup) for every HTML value and every figure string below ``root``."""
    seen, stack = set(), [root]
    while stack:
        widget = stack.pop()
        if id(widget) in seen:
            continue
        seen.add(id(widget))
        if isinstance(widget, (W.HTML, W.HTMLMath)):
            yield f"{type(widget).__name__}.value", widget.value
        if isinstance(widget, Plot):
            for text in _strings(widget.figure.to_plotly_json()):
                yield "figure", text
        if isinstance(widget, W.Widget) and getattr(widget, "description_allow_html", False):
            yield "description", widget.description
        stack.extend(getattr(widget, "children", ()) or ())
        for value in vars(widget).values():  # explorers keep figures and panels as attributes
            if isinstance(value, W.Widget):
                stack.append(value)
            elif isinstance(value, dict):
                stack.extend(v for v in value.values() if isinstance(v, W.Widget))


def assert_no_foreign_markup(root):
    problems = [f"{where}: {p}" for where, text in widget_sinks(root) for p in foreign_markup(text)]
    assert not problems, "\n".join(problems[:20])


@pytest.fixture(scope="module")
def demo():
    return load_demo(n_images=120)


@pytest.fixture(scope="module")
def evil_model(demo):
    m = demo.model
    return nn.Sequential(OrderedDict([
        (EVIL_LAYERS[0], m.block1), (EVIL_LAYERS[1], m.block2), (EVIL_LAYERS[2], m.block3),
        ("flatten", nn.Flatten()), (EVIL_LAYERS[3], m.fc1), (EVIL_LAYERS[4], m.head),
    ]))


@pytest.fixture
def evil_study(demo, evil_model):
    return Study(evil_model, demo.images, demo.labels, EVIL_LAYERS, class_names=EVIL_CLASSES)


def fire(plot, name, index, kind="hover"):
    """What the page sends for a hover or click on point ``index`` of trace ``name`` (plot.js)."""
    assert kind in plot.events, f"no {kind} callback on the plot of {name!r}"
    names = [t.name for t in plot.data]
    trace = plot.data[names.index(name)]
    plot.dispatch(kind, [{"trace": names.index(name), "index": index, "x": trace.x[index], "y": trace.y[index]}])


# ----------------------------------------------------------------------------- the helper


def test_escape_leaves_no_tag_and_reads_back_as_the_text():
    for text in EVIL_CLASSES + EVIL_LAYERS:
        out = escape(text)
        assert not foreign_markup(out) and "<" not in out and '"' not in out and "'" not in out
        assert html.unescape(out) == text


def test_markup_escapes_fields_not_the_template_and_keeps_number_formats():
    out = markup("<b>{}</b> {n:.2f} {p:.0%}", EVIL_CLASSES[0], n=1 / 3, p=0.5)
    assert out == f"<b>{html.escape(EVIL_CLASSES[0]).replace('&quot;', '&#34;')}</b> 0.33 50%"
    assert markup("{}", True) == "True"


# ----------------------------------------------------------------------------- every sink


def test_persistence_explorer_hover_and_click_keep_names_as_text(evil_study):
    explorer = PersistenceExplorer(study=evil_study, layer=EVIL_LAYERS[1], max_points=60, threaded=False)
    assert explorer.state == "done", explorer.status
    fire(explorer.diagram_fig, "H0", 0, "hover")
    fire(explorer.diagram_fig, "H0", 1, "click")
    assert explorer.thumbnails.title.startswith("H0 bar")  # plain text sink: not escaped
    explorer.layer = EVIL_LAYERS[4]
    assert explorer.diagram_fig.layout.title.text.startswith(escape(EVIL_LAYERS[4]))
    assert_no_foreign_markup(explorer)


def test_mapper_explorer_select_hover_click_keep_names_as_text(evil_study):
    explorer = MapperExplorer(study=evil_study, max_points=100, show_all_layers=True, threaded=False)
    assert explorer.state == "done", explorer.status
    graph = explorer.graphs_[explorer.layer]
    node = max(graph.nodes, key=lambda n: n.size)
    explorer.select_node(node.id)
    # the names show raw in the plain-text sinks: the panel's header and its class bars (the
    # browser draws them with textContent); the HTML info line holds none of them
    assert explorer.thumbnails.title.startswith(explorer.layer + " · node ")
    assert EVIL_CLASSES[int(node.majority)] in explorer.thumbnails.title
    assert explorer.thumbnails.bars[0]["name"] == EVIL_CLASSES[int(node.majority)]
    fire(explorer.main_fig, "nodes", 0, "hover")
    small = next(iter(explorer.layer_figs.values()))
    fire(small, "nodes", 0, "click")
    assert_no_foreign_markup(explorer)


def test_layer_distance_explorer_heat_map_and_matching_keep_names_as_text(evil_study):
    explorer = LayerDistanceExplorer(study=evil_study, max_points=50, threaded=False)
    assert explorer.state == "done", explorer.status
    explorer.show_pair(0, 1)
    ph = next(t for t in explorer.heatmap_fig.data if t.name == "ph")
    assert list(ph.x) == [escape(name) for name in EVIL_LAYERS]  # tick labels are plotly markup
    assert_no_foreign_markup(explorer)


def test_dashboard_with_every_tab_open_keeps_names_as_text(evil_study):
    dashboard = Dashboard(study=evil_study, max_points=50, threaded=False)
    for index in range(3):
        dashboard.selected_index = index
    assert all(e is not None and e.state == "done" for e in dashboard.explorers)
    assert_no_foreign_markup(dashboard)


def test_error_messages_quoting_user_input_are_escaped(evil_study):
    explorer = PersistenceExplorer(study=evil_study, max_points=40, threaded=False)
    explorer._on_state("error", f"Unknown layer {EVIL_LAYERS[0]!r}")
    assert escape(EVIL_LAYERS[0]) in explorer.status_label.value
    assert_no_foreign_markup(explorer)


def test_report_has_no_foreign_tag_or_handler(evil_study):
    page = build_report(evil_study, spec=CloudSpec(mode="auto", max_points=50), title=EVIL_LAYERS[2],
                        model_name=EVIL_LAYERS[1], data_name=EVIL_CLASSES[0])
    parser = _Tags()
    parser.feed(page)
    handlers = [(tag, name) for tag, attrs in parser.found for name, _ in attrs if name.lower().startswith("on")]
    assert not handlers
    assert not [tag for tag, _ in parser.found if tag in ("img", "svg", "a", "iframe")]
    # the payloads appear nowhere as markup, neither in the page nor in the figures' JSON
    # (the inlined plotly.js itself contains "<svg", so look for the payloads, not bare tags)
    for payload in ("<img src=x", "<svg onload", "<b onmouseover", "</script><script>window.__xss",
                    "<a href='javascript"):
        assert payload not in page
        assert payload.replace("<", "\\u003c") not in page
    assert page.count("</script>") == page.count("<script")
    assert escape(EVIL_CLASSES[0]) in page and escape(EVIL_LAYERS[2]) in page


def test_report_class_hierarchy_keeps_class_layer_and_group_names_as_text(evil_study):
    """The class hierarchy's section: group names in its text, class names on the dendrograms'
    axes, layer names in its table and titles, all escaped."""
    groups = {k: EVIL_CLASSES[k % 2] for k in range(10)}
    page = build_report(evil_study, spec=CloudSpec(mode="auto", max_points=50), mapper_kwargs={"class_groups": groups})
    section = page.split("The class hierarchy, layer by layer")[1].split("<h2>")[0]
    assert 'id="class-tree-0"' in section and 'id="confusion-tree"' in section
    parser = _Tags()
    parser.feed(section)
    assert not [(tag, name) for tag, attrs in parser.found for name, _ in attrs if name.lower().startswith("on")]
    assert not [tag for tag, _ in parser.found if tag in ("img", "svg", "a", "iframe")]
    for payload in ("<img src=x", "<svg onload", "<b onmouseover", "</script><script>window.__xss",
                    "<a href='javascript"):
        assert payload not in section and payload.replace("<", "\\u003c") not in section
    assert escape(EVIL_CLASSES[1]) in section and escape(EVIL_LAYERS[0]) in section


# ----------------------------------------------------------------------------- the checks can fail


def test_the_detector_finds_markup_when_the_helper_is_bypassed(evil_study, monkeypatch):
    monkeypatch.setattr(tda_widgets.markup, "_TABLE", {})  # escape() becomes the identity
    explorer = MapperExplorer(study=evil_study, max_points=100, show_all_layers=False, threaded=False)
    graph = explorer.graphs_[explorer.layer]
    explorer.select_node(max(graph.nodes, key=lambda n: n.size).id)
    problems = [p for _, text in widget_sinks(explorer) for p in foreign_markup(text)]
    assert any("onerror" in p for p in problems) and any("<img>" in p for p in problems), problems[:5]
