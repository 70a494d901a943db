"""Proves the browser harness: a FigureWidget, a slider and a hover handler in JupyterLab."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.harness import (
    assert_no_widget_errors,
    hover,
    open_notebook,
    plot_data,
    point_pixels,
    run_all_cells,
    write_notebook,
)

pytestmark = pytest.mark.browser

PLOT = ".widget-vbox .js-plotly-plot"  # the figure inside the displayed VBox only
LABEL = ".hover-label .widget-html-content"

CELLS = [
    """import plotly.graph_objects as go
import ipywidgets as widgets
fig = go.FigureWidget(go.Scatter(x=[1, 2, 3], y=[3, 1, 2], mode='markers', marker=dict(size=20)))
fig.update_layout(width=500, height=400, hovermode='closest');""",
    """slider = widgets.IntSlider(value=0, min=0, max=10, description='shift')
def on_slide(change):
    with fig.batch_update():
        fig.data[0].y = [3 + change['new'], 1 + change['new'], 2 + change['new']]
slider.observe(on_slide, names='value')""",
    """label = widgets.HTML(value='none', layout=widgets.Layout(min_height='20px'))
label.add_class('hover-label')
def on_hover(trace, points, state):
    label.value = f'hover:{points.point_inds}'
fig.data[0].on_hover(on_hover)""",
    "widgets.VBox([slider, fig, label])",
]


def test_server_settings_turn_notebook_windowing_off(lab_server):
    # JupyterLab's own default is "contentVisibility"; off-screen outputs must render in tests.
    settings = lab_server.api("GET", "/lab/api/settings/@jupyterlab/notebook-extension:tracker")
    assert settings["schema"]["properties"]["windowingMode"]["default"] == "none"
    assert settings["settings"].get("windowingMode", "none") == "none"


def test_figurewidget_slider_and_hover(page, lab_server):
    write_notebook(lab_server.root, "smoke.ipynb", CELLS)
    open_notebook(page, lab_server, "smoke.ipynb")
    run_all_cells(page, lab_server)

    page.wait_for_selector(PLOT + " .main-svg", timeout=60_000)
    page.wait_for_selector(PLOT + " .scatterlayer .point", timeout=30_000)
    page.wait_for_selector(".widget-slider .noUi-handle", timeout=30_000)
    page.wait_for_selector(LABEL, timeout=30_000)
    assert_no_widget_errors(page)
    assert page.locator(PLOT + " .scatterlayer .point").count() == 3
    assert plot_data(page, PLOT)[0]["y"] == [3, 1, 2]

    # Slider key presses -> Python observer -> figure data in the browser
    handle = page.locator(".widget-slider .noUi-handle").first
    handle.focus()
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    expect(page.locator(".widget-slider .widget-readout").first).to_have_text("3")
    page.wait_for_function(
        "(sel) => document.querySelector(sel).data[0].y[0] === 6", arg=PLOT, timeout=15_000
    )
    assert plot_data(page, PLOT)[0]["y"] == [6, 4, 5]

    # A real mouse hover over point 1 -> plotly_hover -> Python on_hover -> HTML widget
    assert page.locator(LABEL).inner_text() == "none"
    point = point_pixels(page, PLOT, 0, 1)
    hover(page, point["x"], point["y"])
    expect(page.locator(LABEL)).to_have_text(re.compile(r"^hover:\[1\]$"), timeout=15_000)
    assert_no_widget_errors(page)
