"""The CrossModelExplorer (issue 19) in JupyterLab, driven like a user: the heat map of A's
layers x B's layers, a real choice in the measure dropdown, the sensitivity and "identify with
every measure" buttons, and a look at it in an 800 px output.

One notebook compares the shipped digits CNN (A) with its epoch-1 checkpoint (B, no training)
on 150 demo digits with 60-point clouds; the tests run in file order against that one page and
kernel. Expected values are the kernel's own results, read in the kernel (its matrices,
fractions and sensitivity curves), never what the browser shows; each row's best match is
recomputed here from the kernel's matrix.
"""

from __future__ import annotations

import json
import tempfile
import time

import numpy as np
import pytest

from tests.browser.conftest import ARTIFACTS
from tests.browser.test_explorers import _save_screenshot
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

pytestmark = pytest.mark.browser

EXPLORER = ".tda-explorer.t-crossmodel"
HEATMAP, TABLE, SENSITIVITY = 0, 1, 2   # the explorer's figures, in order (sensitivity on demand)
SCRATCH = 2                             # index of the code cell the tests type into

CELLS = [
    "import json\nimport numpy as np" + COLLECT_KERNEL_ERRORS + """from tda_widgets import load_demo, CrossModelExplorer
from tda_widgets.crossmodel import MEASURE_LABELS
from tda_widgets.data.digits import load_digits_checkpoints
demo = load_demo(n_images=150)
epoch1 = load_digits_checkpoints()[1]""",
    """ce = CrossModelExplorer({"trained": demo.model, "epoch 1": epoch1}, demo.images, labels=demo.labels,
                        class_names=demo.class_names, max_points=60)
ce.add_class('t-crossmodel')
ce""",
    "",  # SCRATCH
]

#: The figure ``nth`` of the explorer: its element's one attached plot, looked up afresh (the
#: fast path swaps plots in and out of the element), with every array made a plain list.
_FIGURE_JS = """([sel, nth]) => {
    const fig = document.querySelectorAll(sel + ' .tdaw-figure')[nth];
    const gd = fig && fig.querySelector('.js-plotly-plot');
    if (!gd || !gd.data) return null;
    const list = (v) => (v == null || typeof v === 'string' ? v
        : (Array.isArray(v) || ArrayBuffer.isView(v)) ? Array.from(v, list) : v);
    const title = gd.layout.title;
    // tick labels as the eye reads them: left to right, top to bottom (not in DOM order)
    const ticks = (sel, side) => Array.from(gd.querySelectorAll(sel))
        .map((t) => [t.getBoundingClientRect()[side], t.textContent]).sort((a, b) => a[0] - b[0]).map((p) => p[1]);
    return {title: title && typeof title === 'object' ? title.text : title,
            traces: gd.data.map((t) => ({name: t.name ?? null, type: t.type, x: list(t.x), y: list(t.y),
                                         z: list(t.z)})),
            xticks: ticks('.xtick text', 'left'), yticks: ticks('.ytick text', 'top')};
}"""


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def nb(lab_server, playwright_instance):
    """The explorer's notebook, run to the end in a fresh kernel; its first measure computed."""
    lab_server.delete_sessions()
    with tempfile.TemporaryDirectory(prefix="tdaw-chromium-") as user_data_dir:
        context = launch_chromium(playwright_instance, user_data_dir)
        try:
            page = context.pages[0] if context.pages else context.new_page()
            page.tdaw_console_errors = collect_console_errors(page)
            started = time.monotonic()
            try:
                write_notebook(lab_server.root, "crossmodel.ipynb", CELLS)
                open_notebook(page, lab_server, "crossmodel.ipynb")
                run_all_cells(page, lab_server, timeout=120)
                state = kernel_out(page, lab_server, "ce.wait(); print(json.dumps(ce.state))")
            except Exception:
                _save_screenshot(page, "test_crossmodel_setup")
                raise
            assert state == "done", state
            print(f"cross-model notebook ready in {time.monotonic() - started:.1f} s")
            yield page
        finally:
            context.close()


@pytest.fixture(autouse=True)
def _checks(request, nb):
    yield
    assert_no_dead_models(nb.tdaw_console_errors)
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        _save_screenshot(nb, request.node.nodeid)


# ----------------------------------------------------------------------------- helpers


def kernel_out(page, server, code: str):
    """Run ``code`` in the scratch cell; the JSON its last output line prints."""
    run_code_in_cell(page, server, SCRATCH, code)
    text = page.locator(".jp-Notebook .jp-CodeCell").nth(SCRATCH).locator(
        ".jp-OutputArea-output").last.inner_text(timeout=10_000)
    return json.loads(text.strip().splitlines()[-1])


def figure(page, nth: int):
    return page.evaluate(_FIGURE_JS, [EXPLORER, nth])


def wait_figure(page, nth: int, condition: str, timeout: int = 60_000) -> dict:
    """Wait until figure ``nth`` satisfies ``condition`` (a JS expression of ``f``, the
    :data:`_FIGURE_JS` answer), and return it."""
    page.wait_for_function(f"(arg) => {{ const f = ({_FIGURE_JS})(arg); return !!f && ({condition}); }}",
                           arg=[EXPLORER, nth], timeout=timeout)
    return figure(page, nth)


def trace(fig: dict, name: str) -> dict:
    found = [t for t in fig["traces"] if t["name"] == name]
    assert len(found) == 1, (name, [t["name"] for t in fig["traces"]])
    return found[0]


_KERNEL_MATRIX = """ce.wait()
m = ce.matrices_[ce.model_b]
print(json.dumps([ce.shown_measure_, ce.model_b, ce.layers, np.round(m, 6).tolist(), MEASURE_LABELS]))"""


def check_heatmap(fig: dict, kernel: list, kind: str) -> None:
    """The browser's heat map is the kernel's matrix: A's layers as rows, B's as columns, and
    each row's best match (recomputed here) marked."""
    measure, model_b, layers, matrix, labels = kernel
    matrix = np.array(matrix, dtype=float)
    heat = trace(fig, "matrix")
    z = np.array(heat["z"], dtype=float)
    assert z.shape == (len(layers), len(layers)) == matrix.shape
    assert heat["y"] == layers and heat["x"] == layers
    assert fig["yticks"] == layers and fig["xticks"] == layers
    np.testing.assert_allclose(z, matrix, atol=2e-6)
    best = (matrix.argmin(axis=1) if kind == "distance" else matrix.argmax(axis=1))
    marks = trace(fig, "best")
    assert marks["y"] == layers and marks["x"] == [layers[k] for k in best]
    assert fig["title"].startswith(labels[measure]) and f"layers of {model_b}" in fig["title"]


# ----------------------------------------------------------------------------- tests


def test_heatmap_shows_a_layers_by_b_layers(nb, lab_server):
    kernel = kernel_out(nb, lab_server, _KERNEL_MATRIX)
    assert kernel[:2] == ["ph", "epoch 1"] and len(kernel[2]) >= 3, kernel[:3]
    fig = wait_figure(nb, HEATMAP, f"f.title.startsWith({json.dumps(kernel[4]['ph'])})")
    check_heatmap(fig, kernel, "distance")
    status = nb.locator(EXPLORER + " .tda-status").inner_text()
    assert "Error" not in status, status
    assert_no_widget_errors(nb)


def test_measure_dropdown_redraws_the_heatmap(nb, lab_server):
    label = kernel_out(nb, lab_server, "print(json.dumps(MEASURE_LABELS['cka']))")
    select = nb.locator(EXPLORER + " .widget-dropdown", has_text="measure").locator("select")
    select.select_option(value=label)   # ipywidgets' <option> value is the label (its text has &nbsp;)
    wait_figure(nb, HEATMAP, f"f.title.startsWith({json.dumps(label)})")
    kernel = kernel_out(nb, lab_server, _KERNEL_MATRIX)
    assert kernel[0] == "cka", kernel[:2]
    check_heatmap(figure(nb, HEATMAP), kernel, "similarity")
    assert_no_widget_errors(nb)


def test_sensitivity_and_identification_buttons(nb, lab_server):
    nb.locator(EXPLORER + " button", has_text="sensitivity of this layer").click()
    sens = wait_figure(nb, SENSITIVITY, "f.traces.length >= 2", timeout=60_000)
    layer, fraction, curves = kernel_out(nb, lab_server, """ce.wait()
r = ce.sensitivity_
print(json.dumps([ce.layer, r.fraction.tolist(), {k: np.round(v, 6).tolist() for k, v in r.distances.items()}]))""")
    names = {"ph": f"{layer}: PH distance", "cka": f"{layer}: 1 - linear CKA"}
    assert set(curves) == {"ph", "cka"}
    for measure, values in curves.items():
        shown = trace(sens, names[measure])
        assert shown["x"] == pytest.approx(fraction, abs=1e-9)
        assert shown["y"] == pytest.approx(values, abs=2e-6)
    assert layer in sens["title"]

    before = figure(nb, TABLE)
    nb.locator(EXPLORER + " button", has_text="identify with every measure").click()
    fractions, labels = kernel_out(nb, lab_server, """ce.wait()
print(json.dumps([{MEASURE_LABELS[m]: v['epoch 1'] for m, v in ce.fractions_.items()}, MEASURE_LABELS]))""")
    assert len(fractions) > len(before["traces"][0]["y"]), (fractions, before["traces"][0]["y"])
    assert {"PH", "linear CKA"} <= set(fractions)
    table = wait_figure(nb, TABLE, f"f.traces[0].y.length === {len(fractions)}")["traces"][0]
    assert table["name"] == "identified"
    assert table["y"] == list(fractions) and table["x"] == ["epoch 1"]
    assert np.array(table["z"], dtype=float)[:, 0] == pytest.approx(list(fractions.values()), abs=1e-9)
    assert set(table["y"]) <= set(labels.values())
    assert_no_widget_errors(nb)


_FIT_JS = """(sel) => {
    const el = document.querySelector(sel);
    const out = el.closest('.jp-OutputArea-output').getBoundingClientRect();
    return {output: out.width, scrollWidth: el.scrollWidth, clientWidth: el.clientWidth,
            widest: Math.max(...[...el.querySelectorAll('.js-plotly-plot')].map((gd) => gd.getBoundingClientRect().width)),
            beyond: [...el.querySelectorAll('.js-plotly-plot, .widget-dropdown, .widget-slider, button')]
                .filter((e) => e.getBoundingClientRect().right > out.right + 1).length,
            // each row of controls: [how many lines its controls take, the width they span]
            rows: [...el.firstElementChild.children].map((r) => {
                const boxes = [...r.children].map((c) => c.getBoundingClientRect());
                return [new Set(boxes.map((b) => Math.round(b.top))).size,
                        Math.max(...boxes.map((b) => b.right)) - Math.min(...boxes.map((b) => b.left))];
            })};
}"""


def test_fits_an_800px_output_at_1280x800(nb):
    """With the file browser open at 1280 x 800 nothing of the explorer is clipped; a screenshot."""
    nb.set_viewport_size({"width": 1280, "height": 800})
    try:
        if not nb.evaluate("() => !!document.querySelector('.jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current')"):
            nb.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab").first.click()
        nb.wait_for_timeout(500)
        fit = nb.evaluate(_FIT_JS, EXPLORER)
        print("cross-model explorer at 1280 x 800:", fit)
        assert fit["output"] <= 860, f"the output area should be about 800 px wide here: {fit}"
        assert fit["scrollWidth"] <= fit["clientWidth"] + 1, f"the explorer is clipped: {fit}"
        assert fit["beyond"] == 0 and fit["widest"] <= fit["output"], f"something is too wide: {fit}"
        # every row of controls stays one line, and would in an 800 px output too
        assert len(fit["rows"]) >= 3 and all(lines == 1 and width <= 800 for lines, width in fit["rows"]), fit
        nb.locator(EXPLORER).evaluate("(el) => el.scrollIntoView({block: 'start'})")
        nb.wait_for_timeout(300)
        ARTIFACTS.mkdir(exist_ok=True)
        nb.screenshot(path=str(ARTIFACTS / "crossmodel_1280x800_light.png"))
    finally:
        nb.set_viewport_size({"width": 1280, "height": 1000})


def test_no_kernel_tracebacks(nb, lab_server):
    assert_no_widget_errors(nb)
    texts = nb.locator(".jp-OutputArea-output").all_inner_texts()
    assert not [t for t in texts if "Traceback" in t], texts
    errors = kernel_out(nb, lab_server, "print(json.dumps(_TDAW_KERNEL_ERRORS))")
    assert errors == [], errors[:3]
