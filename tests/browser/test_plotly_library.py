"""Twelve plots on a slow page all render and all apply later kernel updates (issue 15, 27).

plotly's FigureWidget carried the 5 MB plotly.js bundle as its own ES module, compiled once per
figure; anywidget gives a model 2 s to initialise and a model that misses it never applies
another update (a blank or frozen figure). The explorers' plots (:class:`tda_widgets.widgets.plot.Plot`)
share one load of plotly.js per page. The page's CPU is throttled 4x, as on a busy 2-core machine;
with plain ``go.FigureWidget`` this test failed with "[anywidget] Failed to initialize model."
(checked when it was written).
"""

import pytest

from tests.browser.harness import (
    assert_no_widget_errors,
    open_notebook,
    run_all_cells,
    run_code_in_cell,
    write_notebook,
)

pytestmark = pytest.mark.browser

N = 12
PLOTS = ".widget-gridbox .js-plotly-plot"
CELLS = [
    """import ipywidgets as W
import plotly.graph_objects as go
from tda_widgets.widgets.plot import Plot
layout = dict(width=260, height=160, margin=dict(l=20, r=10, t=10, b=20))
figs = [Plot(go.Figure(go.Scatter(x=[0, 1, 2], y=[i, i + 1, i], mode='markers'), layout=layout))
        for i in range(%d)]
W.GridBox(figs, layout=W.Layout(grid_template_columns='repeat(4, 270px)'))""" % N,
    "# the update cell",
]


def _first_y(page):
    return page.evaluate(
        "(sel) => [...document.querySelectorAll(sel)].map(p => p.data && p.data[0] ? p.data[0].y[0] : null)",
        PLOTS,
    )


def test_many_figures_render_and_update_on_a_slow_page(page, lab_server, console_errors):
    write_notebook(lab_server.root, "many_figures.ipynb", CELLS)
    cdp = page.context.new_cdp_session(page)
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": 4})
    open_notebook(page, lab_server, "many_figures.ipynb")
    run_all_cells(page, lab_server, timeout=120)
    page.wait_for_function(
        "([sel, n]) => [...document.querySelectorAll(sel)].filter(p => p.data && p.data.length).length === n",
        arg=[PLOTS, N], timeout=120_000,
    )
    assert _first_y(page) == list(range(N))

    # A kernel update reaches every figure: a model that missed its 2 s would drop it.
    run_code_in_cell(page, lab_server, 1, "for i, f in enumerate(figs):\n    f.show(go.Figure(go.Scatter(x=[0, 1, 2], "
                                        "y=[100 + i, 0, 0], mode='markers'), layout=layout))")
    page.wait_for_function(
        "([sel, n]) => [...document.querySelectorAll(sel)].every((p, i) => p.data[0].y[0] === 100 + i)"
        " && document.querySelectorAll(sel).length === n",
        arg=[PLOTS, N], timeout=60_000,
    )
    assert _first_y(page) == [100 + i for i in range(N)]
    assert_no_widget_errors(page)
    assert not [e for e in console_errors if "Failed to initialize model" in e], console_errors
