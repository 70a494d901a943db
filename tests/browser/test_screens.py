"""The tour's explorers as a person sees them at 1280 x 800, in JupyterLab's light and dark
themes (issue 29): no control label cut, no graph title under plotly's toolbar on hover, nothing
wider than its output, the mapper's thumbnail grid scrollable to its last image, the dashboard on
its first tab after Run All. Screenshots of every explorer in both themes go to test-artifacts/.

One notebook of the tour's explorers at small budgets, run once; every check reads the page.
"""

from __future__ import annotations

import json

import pytest

from tests.browser.conftest import ARTIFACTS
from tests.browser.harness import (assert_no_widget_errors, kernel_eval, open_notebook, run_all_cells,
                                   write_notebook)
from tests.browser.test_panel_notebooks import _set_theme

pytestmark = pytest.mark.browser

CELLS = [
    """import json
from tda_widgets import load_demo, PersistenceExplorer, LayerDistanceExplorer, MapperExplorer, Dashboard
demo = load_demo(n_images=150)
common = dict(labels=demo.labels, class_names=demo.class_names)""",
    """pe = PersistenceExplorer(demo.model, demo.images, **common, layer="block3", max_points=100)
pe""",
    """de = LayerDistanceExplorer(demo.model, demo.images, metric="bottleneck", max_points=100)
de""",
    """me = MapperExplorer(demo.model, demo.images, **common, max_points=150, show_all_layers=True)
me""",
    """dash = Dashboard(demo.model, demo.images, **common, max_points=100, metric="bottleneck")
dash""",
    # what the tour does after showing the dashboard: read a tab's explorer from code
    "dash.persistence.wait(); dash.distances.wait(); pe.wait(); de.wait(); me.wait()",
]

# Labels of the explorers' controls whose text does not fit their box (ipywidgets cuts with "...").
_CUT_LABELS_JS = """() => [...document.querySelectorAll('.tda-explorer .widget-label, .tda-explorer .widget-label-basic,'
    + ' .tda-explorer .widget-description')]
    .filter((e) => e.offsetParent !== null && e.scrollWidth > e.clientWidth + 1)
    .map((e) => e.innerText)"""

# Text boxes whose placeholder does not fit ("0 to 449" read "0 to 44"): its width in the input's
# font against the input's inner width.
_CUT_PLACEHOLDERS_JS = """() => {
    const ctx = document.createElement('canvas').getContext('2d');
    return [...document.querySelectorAll('.tda-explorer input[placeholder]')]
        .filter((e) => e.offsetParent !== null && e.placeholder && !e.value)
        .filter((e) => { const s = getComputedStyle(e); ctx.font = s.font;
            const inner = e.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight);
            return ctx.measureText(e.placeholder).width > inner + 0.5; })
        .map((e) => e.placeholder);
}"""

# Anything sticking out of its output area, unless a scrolling box holds it (the strip of small
# graphs scrolls sideways on purpose).
_TOO_WIDE_JS = """() => {
    const wide = [];
    for (const out of document.querySelectorAll('.jp-OutputArea-output')) {
        if (!out.querySelector('.tda-explorer')) continue;
        const right = out.getBoundingClientRect().right;
        for (const e of out.querySelectorAll('*')) {
            const r = e.getBoundingClientRect();
            if (r.width === 0 || r.right <= right + 1) continue;
            let held = false;
            for (let a = e.parentElement; a && a !== out; a = a.parentElement) {
                if (['auto', 'scroll', 'hidden'].includes(getComputedStyle(a).overflowX)) { held = true; break; }
            }
            if (!held) wide.push((e.className && e.className.baseVal === undefined ? e.className : e.tagName)
                                 + ' ' + Math.round(r.right - right) + ' px');
        }
    }
    return wide;
}"""

# Per plot with a toolbar, the title-like texts (title, annotations, legend) its toolbar covers.
_COVERED_JS = """(gd) => {
    const bar = gd.querySelector('.modebar');
    if (!bar) return {toolbar: false, covered: []};
    const b = bar.getBoundingClientRect();
    const covered = [...gd.querySelectorAll('.gtitle, .annotation-text, .legendtext')].filter((t) => {
        const r = t.getBoundingClientRect();
        return r.width > 0 && r.left < b.right && b.left < r.right && r.top < b.bottom && b.top < r.bottom;
    }).map((t) => t.textContent);
    return {toolbar: true, width: b.width, height: b.height, covered};
}"""

# The last thumbnail, scrolled into view, inside every box that clips it (and the viewport).
_LAST_THUMB_JS = """(root) => {
    const thumbs = root.querySelectorAll('.tdaw-thumb');
    const last = thumbs[thumbs.length - 1];
    last.scrollIntoView({block: 'end'});
    const r = last.getBoundingClientRect();
    const clips = [];
    for (let a = last.parentElement; a && !a.classList.contains('tda-explorer'); a = a.parentElement) {
        if (getComputedStyle(a).overflowY !== 'visible') {
            const c = a.getBoundingClientRect();
            if (r.top < c.top - 1 || r.bottom > c.bottom + 1) clips.push(a.className || a.tagName);
        }
    }
    return {n: thumbs.length, clips, bottom: r.bottom, viewport: innerHeight};
}"""


@pytest.fixture(scope="module")
def screens(lab_server, playwright_instance):
    import tempfile

    from tests.browser.harness import collect_console_errors, launch_chromium

    lab_server.delete_sessions()
    with tempfile.TemporaryDirectory(prefix="tdaw-chromium-") as user_data_dir:
        context = launch_chromium(playwright_instance, user_data_dir)
        try:
            page = context.pages[0] if context.pages else context.new_page()
            page.tdaw_console_errors = collect_console_errors(page)
            page.set_viewport_size({"width": 1280, "height": 800})
            write_notebook(lab_server.root, "screens.ipynb", CELLS)
            open_notebook(page, lab_server, "screens.ipynb")
            run_all_cells(page, lab_server, timeout=300)
            yield page
        finally:
            context.close()


def _explorers(page):
    return page.locator(".jp-OutputArea-output .tda-explorer")


def test_every_screen_reads_whole_in_both_themes(screens, lab_server):
    page = screens
    assert_no_widget_errors(page)
    # the dashboard shows its first tab after Run All, though a later cell read its distances tab
    tabs = page.locator(".jp-OutputArea-output .lm-TabBar-tab.lm-mod-current, "
                        ".jp-OutputArea-output .widget-tab .p-mod-current")
    assert tabs.first.inner_text().strip() == "Persistence"
    mapper = page.locator(".jp-OutputArea-output .tda-explorer", has=page.locator(".tda-mapper-graph")).first
    ARTIFACTS.mkdir(exist_ok=True)
    for dark in (False, True):
        _set_theme(page, dark)
        theme = "dark" if dark else "light"
        assert page.evaluate(_CUT_LABELS_JS) == [], theme
        assert page.evaluate(_CUT_PLACEHOLDERS_JS) == [], theme
        assert page.evaluate(_TOO_WIDE_JS) == [], theme
        explorers = _explorers(page)
        for i in range(explorers.count()):
            explorer = explorers.nth(i)
            if not explorer.is_visible():  # a dashboard tab not shown
                continue
            explorer.scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / f"screens_{i}_{theme}.png"))
            plots = explorer.locator(".js-plotly-plot")
            for j in range(plots.count()):
                plot = plots.nth(j)
                if not plot.is_visible():
                    continue
                box = plot.bounding_box()
                page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] - 12)  # the toolbar shows
                page.wait_for_timeout(50)
                found = plot.evaluate(_COVERED_JS)
                assert not found["covered"], (theme, i, j, found)
        # a big node of the mapper, as a click shows it (its thumbnails fill more than the panel;
        # the hovers above showed other nodes): the grid reaches its last image
        page.mouse.move(1, 1)
        kernel_eval(lab_server, "g = me.graphs_['block1']; n = max(g.nodes, key=lambda n: n.size)\n"
                                "me.select_node(n.id, layer='block1'); print(len(n.image_indices))")
        page.wait_for_function("(root) => root.querySelector('.tdaw-thumbs-title').textContent.startsWith('block1 ')"
                               " && root.querySelector('.tdaw-thumbs-summary img[src]')", arg=mapper.element_handle(),
                               timeout=20_000)
        mapper.scroll_into_view_if_needed()
        last = mapper.evaluate(_LAST_THUMB_JS)
        assert last["n"] > 20 and last["clips"] == [] and last["bottom"] <= last["viewport"], (theme, last)
        page.screenshot(path=str(ARTIFACTS / f"screens_mapper_node_{theme}.png"))
        # the node as the guide shows it: the graph beside the panel's top (header, bars, mean image)
        box = mapper.evaluate("""(root) => { const side = root.querySelector('.tdaw-thumbs').closest('.widget-vbox');
            side.scrollTop = 0; side.scrollIntoView({block: 'center'});
            const r = side.closest('.widget-hbox').getBoundingClientRect();
            return {x: r.left, y: r.top, width: r.width, height: r.height}; }""")
        page.wait_for_timeout(200)
        # the find controls above the thumbnails keep their height beside a long grid (they shrank to 0)
        heights = mapper.evaluate("(root) => [...root.querySelectorAll('.widget-text input, .widget-dropdown select')]"
                                  ".filter((e) => e.closest('.widget-vbox').contains(root.querySelector('.tdaw-thumbs')))"
                                  ".map((e) => e.getBoundingClientRect().height)")
        assert len(heights) == 2 and min(heights) >= 20, (theme, heights)
        page.screenshot(path=str(ARTIFACTS / f"mapper_node_{theme}.png"), clip=box)
        head = mapper.locator(".tdaw-thumbs-title").inner_text()
        assert head.startswith("block1 · node ") and " images · " in head, head
    _set_theme(page, False)
    errors = json.loads(kernel_eval(lab_server, "print(json.dumps([pe.state, de.state, me.state]))"))
    assert errors == ["done", "done", "done"]
