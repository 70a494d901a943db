"""FiltrationExplorer and LayerMap in JupyterLab (issue 32): the play button grows the
filtration, a click on an H1 bar draws its cycle, the map and a MapperExplorer ring each other's
selections, a warm slider step redraws at once; screenshots in the light and dark themes.

Expected values come from the kernel (the explorers' own state and a direct count), never from
what the page shows.
"""

from __future__ import annotations

import json
import tempfile
import time

import pytest

from tests.browser.conftest import ARTIFACTS
from tests.browser.harness import (
    COLLECT_KERNEL_ERRORS,
    assert_no_dead_models,
    assert_no_widget_errors,
    collect_console_errors,
    launch_chromium,
    open_notebook,
    run_all_cells,
    run_code_in_cell,
    write_notebook,
)
from tests.browser.test_explorers import set_theme

pytestmark = pytest.mark.browser

FILTRATION = ".tda-explorer.t-filtration"
MAP = ".tda-explorer.t-map"
MAPPER = ".tda-explorer.t-mapper"
SCRATCH = 4

CELLS = [
    "import json\nimport numpy as np" + COLLECT_KERNEL_ERRORS + """from tda_widgets import load_demo, FiltrationExplorer, LayerMap, MapperExplorer
demo = load_demo(n_images=150)
rng = np.random.default_rng(0)
theta = np.linspace(0, 2 * np.pi, 40, endpoint=False)
circle = np.c_[np.cos(theta), np.sin(theta)] + 0.03 * rng.standard_normal((40, 2))""",
    """fe = FiltrationExplorer(circle)
fe.add_class('t-filtration')
fe""",
    """lm = LayerMap(demo.model, demo.images, demo.labels, layer='block2', class_names=demo.class_names)
lm.add_class('t-map')
lm""",
    """me = MapperExplorer(demo.model, demo.images, labels=demo.labels, class_names=demo.class_names, max_points=150)
me.add_class('t-mapper')
lm.link(me)
me""",
    "",  # SCRATCH
]


@pytest.fixture(scope="module")
def nb(lab_server, playwright_instance):
    lab_server.delete_sessions()
    with tempfile.TemporaryDirectory(prefix="tdaw-chromium-") as user_data_dir:
        context = launch_chromium(playwright_instance, user_data_dir)
        try:
            page = context.pages[0] if context.pages else context.new_page()
            page.set_viewport_size({"width": 1280, "height": 800})
            page.tdaw_console_errors = collect_console_errors(page)
            write_notebook(lab_server.root, "filtration.ipynb", CELLS)
            open_notebook(page, lab_server, "filtration.ipynb")
            run_all_cells(page, lab_server, timeout=240)
            states = kernel_out(page, lab_server, "fe.wait(); lm.wait(); me.wait()\n"
                                "print(json.dumps([fe.state, lm.state, me.state]))")
            assert states == ["done", "done", "done"], states
            yield page
        finally:
            context.close()


def kernel_out(page, server, code: str):
    run_code_in_cell(page, server, SCRATCH, code)
    text = page.locator(".jp-Notebook .jp-CodeCell").nth(SCRATCH).locator(
        ".jp-OutputArea-output").last.inner_text(timeout=20_000)
    return json.loads(text.strip().splitlines()[-1])


def page_trace(page, selector: str, nth: int, name: str) -> dict:
    return page.evaluate(
        """([selector, nth, name]) => {
            const gd = document.querySelectorAll(selector)[nth];
            const t = gd.data.find((d) => d.name === name);
            const list = (v) => (v == null ? [] : Array.from(v));
            return {x: list(t.x), y: list(t.y)};
        }""", [selector, nth, name])


def finite_count(values) -> int:
    return sum(1 for v in values if v is not None and v == v)


def test_filtration_draws_and_the_play_button_grows_it(nb, lab_server):
    plots = FILTRATION + " .js-plotly-plot:not(.tdaw-hidden)"
    nb.wait_for_selector(plots, timeout=60_000)
    assert nb.locator(plots).count() == 3
    step, edges = kernel_out(nb, lab_server, "print(json.dumps([fe.step_slider.value, "
                                             "int(len(fe.complex_.edges))]))")
    drawn = page_trace(nb, plots, 0, "edges")
    assert finite_count(drawn["x"]) == 2 * edges  # two ends per edge, a gap between
    kernel_out(nb, lab_server, "fe.step_slider.value = 0\nprint(json.dumps(0))")
    buttons = nb.locator(FILTRATION + " .widget-play button")
    buttons.first.scroll_into_view_if_needed()
    buttons.first.click()  # play
    time.sleep(3.0)
    ARTIFACTS.mkdir(exist_ok=True)
    nb.locator(FILTRATION).first.screenshot(path=str(ARTIFACTS / "issue32_playing.png"))
    buttons.first.click()  # pause (the second button, stop, would rewind to 0)
    now, value, edges, play = kernel_out(nb, lab_server, "print(json.dumps([fe.step_slider.value, fe.value, "
                                                         "int(len(fe.complex_.edges)), fe.play.value]))")
    print("after play:", now, value, edges, play, buttons.count())
    assert now > 0, "the play button did not move the filtration"
    nb.wait_for_function(
        """([selector, n]) => {
            const gd = document.querySelectorAll(selector)[0];
            const t = gd.data.find((d) => d.name === 'edges');
            return Array.from(t.x).filter((v) => v === v && v !== null).length === 2 * n;
        }""", arg=[plots, edges], timeout=15_000)
    assert_no_widget_errors(nb)


def test_a_click_on_the_long_h1_bar_draws_its_cycle(nb, lab_server):
    plots = FILTRATION + " .js-plotly-plot:not(.tdaw-hidden)"
    longest, position, trace_index, cycle_len = kernel_out(nb, lab_server, """h1 = fe.result_.diagrams[1]
longest = int(np.argmax(h1[:, 1] - h1[:, 0]))
names = [t.name for t in fe.diagram_fig.figure.data]
position = list(fe.diagram_fig.figure.data[names.index('H1')].customdata[:, 1]).index(longest)
print(json.dumps([longest, position, names.index('H1'), len(fe.cycle(longest))]))
fe._cycle = None; fe._step_views, fe._step_ids = {}, {}; fe._redraw()""")
    assert cycle_len > 20
    nb.wait_for_function(
        """(selector) => {
            const gd = document.querySelectorAll(selector)[0];
            return Array.from(gd.data.find((d) => d.name === 'cycle').x).length === 0;
        }""", arg=plots, timeout=15_000)
    point = _point_of(nb, plots, 1, trace_index, position)
    nb.mouse.move(point["x"] - 20, point["y"] - 20)
    nb.mouse.move(point["x"], point["y"], steps=4)
    nb.mouse.click(point["x"], point["y"])
    nb.wait_for_function(
        """([selector, n]) => {
            const gd = document.querySelectorAll(selector)[0];
            const xs = Array.from(gd.data.find((d) => d.name === 'cycle').x);
            return xs.filter((v) => v === v && v !== null).length === 2 * n;
        }""", arg=[plots, cycle_len], timeout=20_000)
    assert kernel_out(nb, lab_server, "print(json.dumps(fe.selected_bar))") == longest


def _point_of(page, selector: str, nth: int, trace: int, index: int) -> dict:
    page.locator(selector).nth(nth).scroll_into_view_if_needed()
    return page.evaluate(
        """([selector, nth, trace, index]) => {
            const gd = document.querySelectorAll(selector)[nth];
            const fl = gd._fullLayout, point = gd.calcdata[trace][index];
            const box = gd.querySelector('.main-svg').getBoundingClientRect();
            return {x: box.left + fl.xaxis._offset + fl.xaxis.d2p(point.x),
                    y: box.top + fl.yaxis._offset + fl.yaxis.d2p(point.y)};
        }""", [selector, nth, trace, index])


def test_a_warm_step_shows_before_the_kernel_answers(nb, lab_server):
    plots = FILTRATION + " .js-plotly-plot:not(.tdaw-hidden)"
    kernel_out(nb, lab_server, "fe.step_slider.value = 20\nfe.step_slider.value = 21\nfe.step_slider.value = 20\n"
                               "print(json.dumps(0))")
    handle = nb.locator(FILTRATION + " .noUi-handle").first
    handle.scroll_into_view_if_needed()
    handle.focus()
    times = []
    for key in ("ArrowRight", "ArrowLeft", "ArrowRight", "ArrowLeft"):
        before = page_trace(nb, plots, 0, "edges")["x"]
        started = nb.evaluate("() => performance.now()")
        nb.keyboard.press(key)
        nb.wait_for_function(
            """([selector, n]) => Array.from(document.querySelectorAll(selector)[0].data
                   .find((d) => d.name === 'edges').x).length !== n""",
            arg=[plots, len(before)], timeout=15_000)
        times.append(nb.evaluate("() => performance.now()") - started)
    times.sort()
    print(f"filtration warm step: median {times[len(times) // 2]:.0f} ms ({[round(t) for t in times]})")


def test_the_map_and_the_mapper_ring_each_others_selection(nb, lab_server):
    plots = MAP + " .js-plotly-plot:not(.tdaw-hidden)"
    n_ringed = kernel_out(nb, lab_server, """me.layer = 'block2'; me.wait()
node = me.graphs_['block2'].nodes[0]
me.select_node(node.id)
print(json.dumps(len(set(int(i) for i in node.image_indices))))""")
    nb.wait_for_function(
        """([selector, n]) => Array.from(document.querySelectorAll(selector)[0].data
               .find((d) => d.name === 'ringed').x).length === n""",
        arg=[plots, n_ringed], timeout=20_000)
    expected = kernel_out(nb, lab_server, """lm.select([1, 2, 3])
print(json.dumps({k: sorted(v) for k, v in me.highlighted_.items()} == {k: sorted(g.nodes_with_images([1, 2, 3])) for k, g in me.graphs_.items()}))""")
    assert expected is True
    assert_no_widget_errors(nb)


@pytest.mark.parametrize("theme", ["JupyterLab Light", "JupyterLab Dark"])
def test_screenshots_fit_800px_in_both_themes(nb, lab_server, theme):
    set_theme(nb, theme)
    nb.set_viewport_size({"width": 1280, "height": 1100})  # the whole explorer in one screenshot
    try:
        for name, selector in (("filtration", FILTRATION), ("map", MAP)):
            root = nb.locator(selector).first
            root.evaluate("(e) => e.scrollIntoView({block: 'center'})")
            box = root.bounding_box()
            output = nb.locator(".jp-OutputArea-output", has=root).first.bounding_box()
            assert box["width"] <= output["width"] + 1, (name, box, output)
            ARTIFACTS.mkdir(exist_ok=True)
            suffix = "dark" if "Dark" in theme else "light"
            root.screenshot(path=str(ARTIFACTS / f"issue32_{name}_{suffix}.png"))
    finally:
        nb.set_viewport_size({"width": 1280, "height": 800})
        if "Dark" in theme:
            set_theme(nb, "JupyterLab Light")
    assert_no_dead_models(nb.tdaw_console_errors)
    errors = kernel_out(nb, lab_server, "print(json.dumps(_TDAW_KERNEL_ERRORS))")
    assert errors == [], errors[:3]
