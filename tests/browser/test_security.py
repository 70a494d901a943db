"""Untrusted text in JupyterLab (issue 13): class and layer names that are HTML stay text.

A MapperExplorer on a model whose module names are HTML, with class names carrying ``onerror``
handlers that would count themselves in ``window.__xss``. A node is selected from the kernel
and a node is hovered with the real mouse; no handler may run, and the names must show
literally (as the characters ``<img src=x ...``) in the node's header and class bars, the hover
label and the titles. A screenshot is kept in ``test-artifacts/`` to look at.
"""

from __future__ import annotations

import json
import tempfile

import pytest

from tests.browser.conftest import ARTIFACTS
from tests.browser.harness import (
    assert_no_widget_errors,
    launch_chromium,
    open_notebook,
    run_all_cells,
    run_code_in_cell,
    write_notebook,
)

pytestmark = pytest.mark.browser

EXPLORER = ".tda-explorer.t-evil"
MAIN_GRAPH = EXPLORER + " .js-plotly-plot"
SCRATCH = 2

CELLS = [
    """import json
from collections import OrderedDict
from torch import nn
from tda_widgets import load_demo, MapperExplorer
demo = load_demo(n_images=150)
EVIL = [f'<img src=x onerror="window.__xss=(window.__xss||0)+1">c{k}' for k in range(10)]
LAYERS = ["<img src=x onerror=window['__xssL']=1>b1", "<b onmouseover=window['__xssM']=1>b2</b>",
          "<svg onload=window['__xssS']=1>b3", "fc 'one' & \\"two\\"", "<i>head</i>"]
m = demo.model
evil_model = nn.Sequential(OrderedDict([(LAYERS[0], m.block1), (LAYERS[1], m.block2), (LAYERS[2], m.block3),
                                        ("flatten", nn.Flatten()), (LAYERS[3], m.fc1), (LAYERS[4], m.head)]))""",
    """me = MapperExplorer(evil_model, demo.images, labels=demo.labels, class_names=EVIL, layers=LAYERS,
                   max_points=150, show_all_layers=True)
me.add_class('t-evil')
me""",
    "",  # SCRATCH
]

LAYER_NAMES = ["<img src=x onerror=window['__xssL']=1>b1", "<b onmouseover=window['__xssM']=1>b2</b>",
               "<svg onload=window['__xssS']=1>b3", "fc 'one' & \"two\"", "<i>head</i>"]

#: 1 + the index of the first mapper graph of the explorer with its nodes drawn (0: none yet).
DRAWN_GRAPH = """(s) => 1 + Array.from(document.querySelectorAll(s)).findIndex((gd) => gd.calcdata &&
    gd.data.some((t) => t.name === 'nodes' && t.x && t.x.length > 0))"""

#: Viewport pixels of point 0 of trace ``t`` in the k-th graph of selector ``s``.
NODE_PIXELS = """([s, k, t]) => {
    const gd = document.querySelectorAll(s)[k];
    const fl = gd._fullLayout, p = gd.calcdata[t][0];
    const box = gd.querySelector('.main-svg').getBoundingClientRect();
    return {x: box.left + fl.xaxis._offset + fl.xaxis.d2p(p.x), y: box.top + fl.yaxis._offset + fl.yaxis.d2p(p.y)};
}"""

INJECTED = "() => [window.__xss, window.__xssL, window.__xssM, window.__xssS].map((v) => v === undefined ? null : v)"


def kernel_out(page, server, code: str):
    run_code_in_cell(page, server, SCRATCH, code)
    text = page.locator(".jp-Notebook .jp-CodeCell").nth(SCRATCH).locator(
        ".jp-OutputArea-output").last.inner_text(timeout=10_000)
    return json.loads(text.strip().splitlines()[-1])


def test_html_in_class_and_layer_names_shows_as_text_and_runs_nothing(lab_server, playwright_instance):
    lab_server.delete_sessions()
    with tempfile.TemporaryDirectory(prefix="tdaw-chromium-") as user_data_dir:
        context = launch_chromium(playwright_instance, user_data_dir)
        page = context.pages[0] if context.pages else context.new_page()
        try:
            write_notebook(lab_server.root, "evil_names.ipynb", CELLS)
            open_notebook(page, lab_server, "evil_names.ipynb")
            run_all_cells(page, lab_server, timeout=240)
            layer, node, majority = kernel_out(page, lab_server, """me.wait()
g = me.graphs_[me.layer]
n = max(g.nodes, key=lambda n: n.size)
me.select_node(n.id)
print(json.dumps([me.layer, n.id, EVIL[int(n.majority)]]))""")
            # the node's header (the thumbnail panel's title) and its class bars: the layer name and
            # the majority class as characters, no element made from either
            title_box = page.locator(EXPLORER + " .tdaw-thumbs-title")
            page.wait_for_function("""([sel, layer]) => { const t = document.querySelector(sel);
                return t && t.textContent.startsWith(layer + ' · node '); }""",
                                   arg=[EXPLORER + " .tdaw-thumbs-title", layer], timeout=30_000)
            text = title_box.inner_text()
            assert layer in text and majority in text, text
            assert title_box.locator("*").count() == 0
            bars = page.locator(EXPLORER + " .tdaw-thumbs-bars")
            bar_names = bars.locator(".tdaw-bar-name").all_inner_texts()
            assert majority in bar_names, bar_names
            assert bars.locator("img, svg, a").count() == 0
            # no handler ran from the HTML sink (the one that ran script before the fix)
            page.wait_for_timeout(500)
            assert page.evaluate(INJECTED) == [None, None, None, None]
            # hover a node with the real mouse: plotly's label shows the class names as text.
            # Any of the explorer's mapper graphs serves; take the first that has drawn its nodes
            # (a figure can stay blank under load: the lost-update bug of issue 15).
            page.wait_for_function(DRAWN_GRAPH, arg=MAIN_GRAPH, timeout=60_000)
            nth = page.evaluate(DRAWN_GRAPH, MAIN_GRAPH) - 1
            graph = page.locator(MAIN_GRAPH).nth(nth)
            graph.scroll_into_view_if_needed()
            nodes_index = page.evaluate("([s, k]) => document.querySelectorAll(s)[k].data.findIndex("
                                        "(t) => t.name === 'nodes')", [MAIN_GRAPH, nth])
            at = page.evaluate(NODE_PIXELS, [MAIN_GRAPH, nth, nodes_index])
            page.mouse.move(at["x"] + 3, at["y"] + 3)
            page.mouse.move(at["x"], at["y"])
            hover_label = graph.locator(".hoverlayer .hovertext").first
            hover_label.wait_for(timeout=15_000)
            label = hover_label.text_content()
            assert 'onerror="window.__xss' in label, label
            title = graph.locator(".gtitle").first.text_content()
            assert any(title.startswith(name) for name in LAYER_NAMES), title  # the layer name, as text
            # the thumbnail panel's title (the page's own answer to the hover, then the kernel's):
            # the layer name as characters, no element made from it
            page.wait_for_function("""([sel, names]) => { const t = document.querySelector(sel);
                return t && names.some((n) => t.textContent.startsWith(n + ' · node ')); }""",
                                   arg=[EXPLORER + " .tdaw-thumbs-title", LAYER_NAMES], timeout=15_000)
            assert page.locator(EXPLORER + " .tdaw-thumbs-title *").count() == 0
            ARTIFACTS.mkdir(exist_ok=True)
            page.locator(EXPLORER).screenshot(path=str(ARTIFACTS / "security_names_as_text.png"))
            page.wait_for_timeout(500)  # an injected <img src=x> would have errored by now
            assert page.evaluate(INJECTED) == [None, None, None, None]
            assert_no_widget_errors(page)
        except Exception:
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "test_security_failure.png"), full_page=True)
            raise
        finally:
            context.close()
