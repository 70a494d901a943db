"""ThumbnailPanel in JupyterLab: renders, follows `selected`, and follows a real scatter hover."""

import io

import numpy as np
import pytest
from PIL import Image

from tests.browser.harness import (
    assert_no_widget_errors,
    hover,
    open_notebook,
    point_pixels,
    run_all_cells,
    run_code_in_cell,
    write_notebook,
)

pytestmark = pytest.mark.browser

PLOT = ".widget-vbox .js-plotly-plot"
PANEL = ".widget-vbox .tdaw-thumbs"
THUMB = PANEL + " .tdaw-thumb"

# Point i of the scatter stands for the images GROUPS[i]: 2 + 3 * i of them.
CELLS = [
    """import numpy as np
import plotly.graph_objects as go
import ipywidgets as widgets
from tda_widgets.widgets.thumbnails import ThumbnailPanel
rng = np.random.default_rng(0)
images = rng.integers(0, 256, size=(50, 8, 8), dtype=np.uint8)
labels = rng.integers(0, 10, size=50)
panel = ThumbnailPanel.from_images(images, labels=labels, predictions=labels, tile=16)
GROUPS = [list(range(5 * i, 5 * i + 2 + 3 * i)) for i in range(4)]""",
    """fig = go.FigureWidget(go.Scatter(x=[1, 2, 3, 4], y=[2, 4, 1, 3], mode='markers',
                                 marker=dict(size=22)))
fig.update_layout(width=480, height=360, hovermode='closest', margin=dict(t=20));
def on_hover(trace, points, state):
    if points.point_inds:
        i = points.point_inds[0]
        panel.show(GROUPS[i], title=f'point {i}: {len(GROUPS[i])} images')
fig.data[0].on_hover(on_hover)""",
    "widgets.VBox([fig, panel])",
    "",  # the test types into this cell later
]


def source_data():
    """The notebook's images and labels, regenerated independently of the panel."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(50, 8, 8), dtype=np.uint8)
    labels = rng.integers(0, 10, size=50)
    return images, labels


def n_shown(page) -> int:
    return int(page.locator(PANEL).get_attribute("data-n-shown"))


def shown_indices(page) -> list[int]:
    return [int(i) for i in page.locator(THUMB).evaluate_all(
        "(cells) => cells.map((c) => c.dataset.index)")]


def test_thumbnail_panel_follows_selection_and_hover(page, lab_server):
    write_notebook(lab_server.root, "thumbs.ipynb", CELLS)
    open_notebook(page, lab_server, "thumbs.ipynb")
    run_all_cells(page, lab_server)

    page.wait_for_selector(PLOT + " .scatterlayer .point", timeout=60_000)
    page.wait_for_selector(PANEL + "[data-sprite-ready='true']", timeout=30_000)
    assert_no_widget_errors(page)
    assert n_shown(page) == 0
    assert page.locator(PANEL + " .tdaw-thumbs-count").inner_text() == "no images selected"

    # A later cell sets `selected`: exactly that many tiles, in that order, with captions.
    run_code_in_cell(page, lab_server, 3, "panel.selected = list(range(7, 19))")
    page.wait_for_function(
        "(sel) => document.querySelector(sel).dataset.nShown === '12'", arg=PANEL,
        timeout=15_000,
    )
    assert shown_indices(page) == list(range(7, 19))
    assert page.locator(THUMB).count() == 12
    assert page.locator(PANEL + " .tdaw-thumbs-count").inner_text() == "12 images, showing 12"
    _, labels = source_data()
    captions = page.locator(THUMB + " .tdaw-thumb-caption").all_inner_texts()
    assert captions == [f"label {labels[i]}\npred {labels[i]}" for i in range(7, 19)]

    # max_shown caps the tiles and reports the rest as "+N more".
    run_code_in_cell(page, lab_server, 3, "panel.max_shown = 5")
    page.wait_for_function(
        "(sel) => document.querySelector(sel).dataset.nShown === '5'", arg=PANEL,
        timeout=15_000,
    )
    assert page.locator(PANEL + " .tdaw-thumbs-more").inner_text() == "+7 more"
    run_code_in_cell(page, lab_server, 3, "panel.max_shown = 200")
    page.wait_for_function(
        "(sel) => document.querySelector(sel).dataset.nShown === '12'", arg=PANEL,
        timeout=15_000,
    )

    # A real mouse hover over point 2 shows GROUPS[2] = images 10..17.
    page.mouse.move(5, 5)
    point = point_pixels(page, PLOT, 0, 2)
    started_at = page.evaluate("() => performance.now()")
    hover(page, point["x"], point["y"])
    page.wait_for_function(
        """([sel, since]) => {
            const root = document.querySelector(sel);
            return root.dataset.nShown === '8' && Number(root.dataset.renderedAt) > since;
        }""",
        arg=[PANEL, started_at],
        timeout=15_000,
    )
    rendered_at = float(page.locator(PANEL).get_attribute("data-rendered-at"))
    assert shown_indices(page) == list(range(10, 18))
    assert page.locator(PANEL + " .tdaw-thumbs-title").inner_text() == "point 2: 8 images"
    # The pixels drawn for a tile are that image's (checks the sprite offsets in the JS):
    # 8x8 images, 16 px tiles, display_scale 1.5 -> 3 screen pixels per image pixel, 1 px border.
    images, _ = source_data()
    for position, index in [(0, 10), (7, 17)]:
        shot = page.locator(THUMB + " .tdaw-thumb-img").nth(position).screenshot()
        pixels = np.asarray(Image.open(io.BytesIO(shot)).convert("L")).astype(int)
        centres = 1 + 3 * np.arange(8) + 1
        drawn = pixels[np.ix_(centres, centres)]
        assert np.abs(drawn - images[index].astype(int)).max() <= 2, (index, drawn)

    print(f"hover-to-thumbnails latency: {rendered_at - started_at:.0f} ms "
          "(from the first mouse move to the panel's render, browser clock)")
    assert_no_widget_errors(page)
