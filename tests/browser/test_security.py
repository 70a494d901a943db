"""Untrusted text in JupyterLab (issue 13): class and layer names that are HTML stay text.

A MapperExplorer on a model whose module names are HTML, with class names carrying ``onerror``
handlers that would count themselves in ``window.__xss``. A node is selected from the kernel
and a node is hovered with the real mouse; no handler may run, and the names must show
literally (as the characters ``<img src=x ...``) in the info panel, the hover label and the
titles. A screenshot is kept in ``test-artifacts/`` to look at.
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
    point_pixels,
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
            info = page.locator(EXPLORER + " .widget-html", has_text="classes:")
            info.wait_for(timeout=30_000)
            text = info.inner_text()
            # the names, as characters: the layer name and the majority class
            assert layer in text and majority in text, text
            assert info.locator("img, svg, a").count() == 0
            # hover a node with the real mouse: plotly's label shows the class names as text
            page.wait_for_selector(MAIN_GRAPH + " .main-svg", timeout=60_000)
            nodes_index = page.evaluate("(s) => document.querySelector(s).data.findIndex((t) => t.name === 'nodes')",
                                        MAIN_GRAPH)
            at = point_pixels(page, MAIN_GRAPH, nodes_index, 0)
            page.mouse.move(at["x"] + 3, at["y"] + 3)
            page.mouse.move(at["x"], at["y"])
            page.wait_for_selector(MAIN_GRAPH + " .hoverlayer .hovertext", timeout=15_000)
            label = page.locator(MAIN_GRAPH + " .hoverlayer .hovertext").first.text_content()
            assert 'onerror="window.__xss' in label, label
            title = page.locator(MAIN_GRAPH + " .gtitle").first.text_content()
            assert title.startswith(layer), (title, layer)
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
