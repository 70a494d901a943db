"""The three explorers in JupyterLab, driven like a user: render, slider, progress, hover, click.

One notebook (written here) displays a PersistenceExplorer, a MapperExplorer and a
LayerDistanceExplorer on 150 demo digits with small budgets; the tests below run in file order
against that one page and kernel (a fresh kernel for this module). Expected values come from
the kernel (membership read from ``graphs_`` and ``bar_images``; ringed nodes recomputed from
raw node membership), never from what the browser shows.
"""

from __future__ import annotations

import json
import math
import re
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
    plot_data,
    run_all_cells,
    run_code_in_cell,
    tab_through,
    write_notebook,
)

pytestmark = pytest.mark.browser


PERSISTENCE = ".tda-explorer.t-persistence"
MAPPER = ".tda-explorer.t-mapper"
DISTANCES = ".tda-explorer.t-distances"
DIAGRAM = PERSISTENCE + " .js-plotly-plot"      # the first plot: the diagram (barcode second)
MAIN_GRAPH = MAPPER + " .js-plotly-plot"        # the first plot: the main mapper graph
SCRATCH = 4                                     # index of the code cell the tests type into

CELLS = [
    "import json\nimport numpy as np" + COLLECT_KERNEL_ERRORS + """from tda_widgets import load_demo, PersistenceExplorer, MapperExplorer, LayerDistanceExplorer
demo = load_demo(n_images=150)
common = dict(labels=demo.labels, class_names=demo.class_names)""",
    """pe = PersistenceExplorer(demo.model, demo.images, **common, max_points=120)
pe.add_class('t-persistence')
pe""",
    """me = MapperExplorer(demo.model, demo.images, **common, max_points=150, show_all_layers=True)
me.add_class('t-mapper')
me""",
    """de = LayerDistanceExplorer(demo.model, demo.images, max_points=120)
de.add_class('t-distances')
de""",
    "",  # SCRATCH: the tests type code here
    "",  # RERUN: a cell the re-run test runs twice
]
RERUN = 5

LATENCIES: dict[str, float] = {}


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def nb(lab_server, playwright_instance):
    """The explorers' notebook, run to the end in a fresh kernel; every computation finished."""
    lab_server.delete_sessions()
    with tempfile.TemporaryDirectory(prefix="tdaw-chromium-") as user_data_dir:
        context = launch_chromium(playwright_instance, user_data_dir)
        try:
            page = context.pages[0] if context.pages else context.new_page()
            errors = collect_console_errors(page)
            page.tdaw_console_errors = errors
            started = time.monotonic()
            try:
                write_notebook(lab_server.root, "explorers.ipynb", CELLS)
                open_notebook(page, lab_server, "explorers.ipynb")
                opened = time.monotonic()
                run_all_cells(page, lab_server, timeout=240)
                ran = time.monotonic()
                # The explorers compute in worker threads: wait for them in the kernel.
                states = kernel_out(page, lab_server, "pe.wait(); me.wait(); de.wait()\n"
                                    "print(json.dumps([pe.state, me.state, de.state]))")
            except Exception:
                _save_screenshot(page, "test_explorers_setup")
                raise
            assert states == ["done", "done", "done"], states
            assert_no_dead_models(errors)
            print(f"explorers notebook: opened in {opened - started:.1f} s, cells ran in "
                  f"{ran - opened:.1f} s, computations done {time.monotonic() - ran:.1f} s later")
            yield page
        finally:
            context.close()


@pytest.fixture(autouse=True)
def _screenshot_on_failure(request, nb):
    yield
    assert_no_dead_models(nb.tdaw_console_errors)
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        _save_screenshot(nb, request.node.nodeid)


def _save_screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)
    try:
        page.screenshot(path=str(ARTIFACTS / f"{stem}.png"), full_page=True)
    except Exception as exc:  # a crashed page must not hide the test's own error
        print(f"could not save a screenshot: {exc}")


# ----------------------------------------------------------------------------- helpers


def kernel_out(page, server, code: str):
    """Run ``code`` in the scratch cell; the JSON its last output line prints."""
    run_code_in_cell(page, server, SCRATCH, code)
    text = page.locator(".jp-Notebook .jp-CodeCell").nth(SCRATCH).locator(
        ".jp-OutputArea-output").last.inner_text(timeout=10_000)
    return json.loads(text.strip().splitlines()[-1])


_TRACE_POINTS_JS = """([selector, nth, names]) => {
    const gd = document.querySelectorAll(selector)[nth];
    const box = gd.querySelector('.main-svg').getBoundingClientRect();
    const fl = gd._fullLayout;
    const axis = (id, letter) => fl[id === letter ? letter + 'axis' : letter + 'axis' + id.slice(1)];
    const points = [];
    gd._fullData.forEach((trace, t) => {
        if (!names.includes(trace.name)) return;
        const xa = axis(trace.xaxis, 'x'), ya = axis(trace.yaxis, 'y');
        gd.calcdata[t].forEach((p, i) => {
            if (!isFinite(p.x) || !isFinite(p.y)) return;
            points.push({trace: trace.name, index: i, customdata: gd.data[t].customdata ? gd.data[t].customdata[i] : null,
                         x: box.left + xa._offset + xa.d2p(p.x), y: box.top + ya._offset + ya.d2p(p.y),
                         inside: xa.d2p(p.x) >= 0 && xa.d2p(p.x) <= xa._length && ya.d2p(p.y) >= 0 && ya.d2p(p.y) <= ya._length});
        });
    });
    return points;
}"""


def isolated_point(page, selector: str, names: list[str], candidates: list[str], nth: int = 0,
                   accept=lambda point: True) -> dict:
    """The point of traces ``candidates`` (passing ``accept``) farthest (in pixels) from every
    other hoverable point of traces ``names``, so that a hover there can only pick that point."""
    page.locator(selector).nth(nth).scroll_into_view_if_needed()
    points = page.evaluate(_TRACE_POINTS_JS, [selector, nth, names])
    best, best_gap = None, -1.0
    for p in points:
        if p["trace"] not in candidates or not p["inside"] or not accept(p):
            continue
        gap = min((((p["x"] - q["x"]) ** 2 + (p["y"] - q["y"]) ** 2) ** 0.5
                   for q in points if q is not p), default=1e9)
        if gap > best_gap:
            best, best_gap = p, gap
    assert best is not None, f"no point of {candidates} inside the plot {selector}: {points[:5]}"
    best["gap"] = best_gap
    return best


def hover_and_time(page, panel: str, x: float, y: float, done_js: str) -> float:
    """Real mouse moves onto (x, y); ms from the first move to the panel render satisfying
    ``done_js`` (a JS expression of ``root``), on the browser's clock."""
    page.mouse.move(5, 5)
    page.wait_for_timeout(150)
    started_at = page.evaluate("() => performance.now()")
    page.mouse.move(x + 2, y + 2)   # two moves: Plotly throttles hover events
    page.mouse.move(x, y)
    page.wait_for_function(
        f"""([sel, since]) => {{
            const root = document.querySelector(sel);
            return root && Number(root.dataset.renderedAt) > since && ({done_js});
        }}""",
        arg=[panel, started_at], timeout=15_000,
    )
    return float(page.locator(panel).get_attribute("data-rendered-at")) - started_at


def panel_state(page, panel: str) -> dict:
    root = page.locator(panel)
    return {
        "n_shown": int(root.get_attribute("data-n-shown")),
        "title": root.locator(".tdaw-thumbs-title").inner_text(),
        "count": root.locator(".tdaw-thumbs-count").inner_text(),
        "indices": [int(i) for i in root.locator(".tdaw-thumb").evaluate_all(
            "(cells) => cells.map((c) => c.dataset.index)")],
    }


# ----------------------------------------------------------------------------- tests


def test_each_explorer_renders(nb):
    for explorer in (PERSISTENCE, MAPPER, DISTANCES):
        nb.wait_for_selector(explorer + " .js-plotly-plot .main-svg", timeout=60_000)
    assert nb.locator(".tda-explorer").count() == 3
    for explorer, n_plots in ((PERSISTENCE, 2), (MAPPER, 1 + 5), (DISTANCES, 2)):
        # every FigureWidget drew its SVG (the mapper: main graph + one small graph per layer)
        assert nb.locator(explorer + " .js-plotly-plot .main-svg").count() >= n_plots, explorer
        assert nb.locator(explorer + " .tdaw-thumbs").count() == (0 if explorer == DISTANCES else 1)
    # the figures hold the computed results, not the "computing…" placeholders
    names = [t["name"] for t in plot_data(nb, DIAGRAM)]
    assert names[:2] == ["H0", "H1"] and len(plot_data(nb, DIAGRAM)[0]["x"]) == 120
    assert {"edges", "nodes", "highlight"} <= {t["name"] for t in plot_data(nb, MAIN_GRAPH)}
    assert len([t for t in plot_data(nb, MAIN_GRAPH) if t["name"] == "nodes"][0]["x"]) > 0
    heat = nb.evaluate("(s) => document.querySelector(s).data.map((t) => t.name)",
                       DISTANCES + " .js-plotly-plot")
    assert {"ph", "cka"} <= set(heat)
    for explorer in (PERSISTENCE, MAPPER, DISTANCES):
        status = nb.locator(explorer + " .tda-status").inner_text()
        assert "Error" not in status, f"{explorer}: {status}"
    texts = nb.locator(".jp-OutputArea-output").all_inner_texts()
    assert not [t for t in texts if "Traceback" in t], texts
    assert_no_widget_errors(nb)


def test_layer_slider_redraws_the_diagram(nb, lab_server):
    before = plot_data(nb, DIAGRAM)
    title = nb.evaluate("(s) => document.querySelector(s).layout.title.text", DIAGRAM)
    assert title.startswith("block1 ·"), title
    slider = nb.locator(PERSISTENCE + " .widget-slider", has_text="layer")
    slider.locator(".noUi-handle").focus()
    nb.keyboard.press("ArrowRight")
    nb.wait_for_function(
        "(s) => document.querySelector(s).layout.title.text.startsWith('block2 ·')",
        arg=DIAGRAM, timeout=60_000,
    )
    after = plot_data(nb, DIAGRAM)
    assert [t["name"] for t in after][:2] == ["H0", "H1"]
    assert (before[0]["y"], before[1]["x"]) != (after[0]["y"], after[1]["x"])
    kernel = kernel_out(nb, lab_server, "pe.wait(); print(json.dumps([pe.layer, pe.layer_slider.value, "
                        "sorted(np.round(pe.result_.diagrams[0][:, 1][np.isfinite(pe.result_.diagrams[0][:, 1])], 6).tolist())]))")
    assert kernel[:2] == ["block2", "block2"]
    # the browser's finite H0 deaths are the kernel's new diagram
    shown = sorted(y for y in after[0]["y"] if y is not None)
    # + the one infinite bar, drawn on the 'infinity' line above every finite death
    assert len(shown) == len(kernel[2]) + 1
    assert shown[:-1] == pytest.approx(kernel[2], abs=1e-5)
    assert_no_widget_errors(nb)


def test_a_layer_seen_before_comes_back_as_the_plot_drawn_then(nb, lab_server):
    """Issue 17, 1: a view seen before is not redrawn: the browser keeps the plot it drew for it
    and swaps it back in (the same element, marked here), and its hover still reaches the kernel."""
    layers = ["block1", "block2", "block3", "fc1", "head"]
    handle = nb.locator(PERSISTENCE + " .widget-slider", has_text="layer").locator(".noUi-handle")

    def press(key, layer):
        handle.focus()
        nb.keyboard.press(key)
        nb.wait_for_function("([s, l]) => document.querySelector(s).layout.title.text.startsWith(l + ' ·')",
                             arg=[DIAGRAM, layer], timeout=60_000)

    start = nb.evaluate("(s) => document.querySelector(s).layout.title.text", DIAGRAM).split(" ·")[0]
    there, back = ("ArrowRight", "ArrowLeft") if start != layers[-1] else ("ArrowLeft", "ArrowRight")
    other = layers[layers.index(start) + (1 if there == "ArrowRight" else -1)]
    press(there, other)
    nb.evaluate("([s, l]) => { document.querySelector(s).__tdawMark = l; }", [DIAGRAM, other])
    press(back, start)
    press(there, other)
    assert nb.evaluate("(s) => document.querySelector(s).__tdawMark", DIAGRAM) == other
    assert kernel_out(nb, lab_server, "pe.wait(); print(json.dumps(pe.layer))") == other
    # one plot per figure on the page: the others wait detached
    assert nb.locator(PERSISTENCE + " .tdaw-figure").count() == 2
    assert nb.locator(PERSISTENCE + " .tdaw-figure > .js-plotly-plot").count() == 2
    panel = PERSISTENCE + " .tdaw-thumbs"
    # an isolated H1 point (H0 points share the line birth = 0, a hover there can pick a neighbour)
    point = isolated_point(nb, DIAGRAM, ["H0", "H1"], ["H1"],
                           accept=lambda p: isinstance(p["customdata"][3], (int, float))
                           and math.isfinite(p["customdata"][3]))
    dim, bar = int(point["customdata"][0]), int(point["customdata"][1])
    hover_and_time(nb, panel, point["x"], point["y"],
                   f"root.querySelector('.tdaw-thumbs-title').textContent.startsWith('H{dim} bar {bar} ')")
    assert kernel_out(nb, lab_server, "print(json.dumps(list(pe.selected_bar)))") == [dim, bar]
    assert_no_widget_errors(nb)


def test_tab_reaches_every_control_of_each_explorer(nb):
    """Issue 17, 5: in JupyterLab, Tab from an explorer's first control reaches every one of its
    controls (sliders' handles, dropdowns, text boxes, buttons)."""
    for explorer in (PERSISTENCE, MAPPER, DISTANCES):
        labels, reached = tab_through(nb, nb.locator(explorer))
        assert reached == set(range(len(labels))), (explorer, [labels[i] for i in range(len(labels))
                                                             if i not in reached])


def test_progress_bar_shows_during_a_recompute(nb, lab_server):
    bar = PERSISTENCE + " .tda-progress"
    assert nb.evaluate("(s) => getComputedStyle(document.querySelector(s)).visibility", bar) == "hidden"
    nb.evaluate("""(s) => {
        const el = document.querySelector(s);
        window.__progressSeen = 0;
        const check = () => { if (getComputedStyle(el).visibility === 'visible') window.__progressSeen += 1; };
        window.__progressObserver = new MutationObserver(check);
        window.__progressObserver.observe(el, {attributes: true, attributeFilter: ['style', 'class']});
    }""", bar)
    started = time.monotonic()
    # The bar shows once a job has run SHOW_AFTER_S (0.15 s); on a fast machine this recompute
    # can finish sooner (CI once saw it never show), so this explorer shows it at once.
    run_code_in_cell(nb, lab_server, SCRATCH, "pe.SHOW_AFTER_S = 0.0\n"
                     "pe.max_points = 150   # all 150 images: a new cloud and diagram")
    nb.wait_for_function(
        "(s) => document.querySelector(s).layout.title.text.includes('150 points')",
        arg=DIAGRAM, timeout=60_000,
    )
    print(f"recompute at 150 points: {time.monotonic() - started:.1f} s")
    seen = nb.evaluate("() => { window.__progressObserver.disconnect(); return window.__progressSeen; }")
    assert seen >= 1, "the progress bar never became visible during the recompute"
    nb.wait_for_function("(s) => getComputedStyle(document.querySelector(s)).visibility === 'hidden'",
                         arg=bar, timeout=30_000)
    run_code_in_cell(nb, lab_server, SCRATCH, "del pe.SHOW_AFTER_S   # back to the class default")
    assert_no_widget_errors(nb)


def test_mapper_node_hover_shows_its_thumbnails(nb, lab_server):
    panel = MAPPER + " .tdaw-thumbs"
    # the panel names a node in words ("fc1 · node 3 of 14 · ..."), never by kmapper's id; asked before
    # locating the node, since running a cell scrolls the notebook
    names = kernel_out(nb, lab_server, """g = me.graphs_[me.layer]
print(json.dumps({n.id: me.node_header(me.layer, g, k) for k, n in enumerate(g.nodes)}))""")
    node = isolated_point(nb, MAIN_GRAPH, ["nodes"], ["nodes"])
    node_id = node["customdata"][0] if isinstance(node["customdata"], list) else node["customdata"]
    where = names[node_id]
    try:
        latency = hover_and_time(nb, panel, node["x"], node["y"],
                                 f"root.querySelector('.tdaw-thumbs-title').textContent.includes({json.dumps(where)})")
    except Exception as exc:  # say which side lost the hover: the kernel, or the browser's panel
        kernel = kernel_out(nb, lab_server, "print(json.dumps([me.selected_node, me.thumbnails.title, "
                            "len(me.thumbnails.selected), me.info.value[:80]]))")
        raise AssertionError(f"hover on node {node_id} at ({node['x']:.0f}, {node['y']:.0f}): kernel holds "
                             f"{kernel}, the browser's panel shows {panel_state(nb, panel)}") from exc
    LATENCIES["mapper"] = latency
    state = panel_state(nb, panel)
    expected = kernel_out(nb, lab_server, f"""g = me.graphs_[me.layer]
print(json.dumps([me.layer, me.selected_node, sorted(int(i) for i in g.node({node_id!r}).image_indices)]))""")
    layer, selected, images = expected
    assert selected == f"{layer}:{node_id}"
    assert state["n_shown"] > 0
    assert state["n_shown"] == len(images), (state, len(images))
    assert sorted(state["indices"]) == images
    assert state["title"] == where and f" {len(images)} image" in where and node_id not in state["title"]
    print(f"mapper node {node_id} ({node['gap']:.0f} px from the next node): {len(images)} thumbnails "
          f"in {latency:.0f} ms")
    assert_no_widget_errors(nb)


def test_mapper_click_rings_the_same_images_in_other_layers(nb, lab_server):
    # the last mapper graph (the purity, class-tree and confusion figures come after the strip)
    n_small = nb.evaluate("""(sel) => [...document.querySelectorAll(sel)]
        .map((gd, i) => (gd.data || []).some((t) => t.name === 'nodes') ? i : -1)
        .reduce((a, b) => Math.max(a, b), -1)""", MAPPER + " .js-plotly-plot")
    # click the isolated node of the LAST small graph (the logits), not the main graph's layer
    node = isolated_point(nb, MAPPER + " .js-plotly-plot", ["nodes"], ["nodes"], nth=n_small)
    node_id = node["customdata"][0] if isinstance(node["customdata"], list) else node["customdata"]
    nb.mouse.move(5, 5)
    nb.mouse.move(node["x"], node["y"], steps=2)  # onto the node itself: 2 px off was nearer a neighbour in a small graph
    nb.mouse.click(node["x"], node["y"])
    # independent reference: a node is ringed iff it shares an image with the clicked node
    expected = kernel_out(nb, lab_server, f"""layer = list(me.layer_figs)[-1]
chosen = set(int(i) for i in me.graphs_[layer].node({node_id!r}).image_indices)
rings = {{name: sum(bool(chosen & set(int(i) for i in n.image_indices)) for n in g.nodes)
         for name, g in me.graphs_.items()}}
print(json.dumps([me.selected_node, me.layer, rings]))""")
    selected, main_layer, rings = expected
    assert selected.endswith(f":{node_id}") and selected.startswith("head:"), selected
    # the main graph follows the clicked node's layer, so graph, node info and thumbnails agree
    assert main_layer == "head"
    small_layers = list(rings)  # layer_figs in study order, as drawn in the grid
    nb.wait_for_function(
        """([sel, want]) => Array.from(document.querySelectorAll(sel))
            .filter((gd) => (gd.data || []).some((t) => t.name === 'nodes')).every((gd, k) => {
            const t = gd.data.find((t) => t.name === 'highlight');
            return t && Array.from(t.marker.opacity || []).filter((o) => o > 0).length === want[k];
        })""",
        arg=[MAPPER + " .js-plotly-plot", [rings[main_layer]] + [rings[name] for name in small_layers]],
        timeout=15_000,
    )
    main_title = nb.evaluate("(sel) => document.querySelector(sel).layout.title.text", MAIN_GRAPH)
    assert main_title.startswith("head ·"), main_title
    ringed = nb.evaluate("""(sel) => Array.from(document.querySelectorAll(sel))
            .filter((gd) => (gd.data || []).some((t) => t.name === 'nodes')).map((gd) => {
            const t = gd.data.find((t) => t.name === 'highlight');
            return t ? Array.from(t.marker.opacity || []).filter((o) => o > 0).length : 0; })""",
                           MAPPER + " .js-plotly-plot")
    # what is painted agrees: the rings' SVG points (the last scatter trace) with a visible opacity
    painted = nb.evaluate("""(sel) => Array.from(document.querySelectorAll(sel))
            .filter((gd) => (gd.data || []).some((t) => t.name === 'nodes')).map((gd) => {
            const group = gd.querySelector('.scatterlayer .trace:last-child');
            return Array.from(group ? group.querySelectorAll('path.point') : [])
                .filter((p) => parseFloat(getComputedStyle(p).opacity) > 0).length; })""",
                          MAPPER + " .js-plotly-plot")
    assert painted == ringed, (painted, ringed)
    # the main graph (its layer) is ringed too, and at least one OTHER layer's small graph
    assert ringed[0] == rings[main_layer]
    others = [n for name, n in zip(small_layers, ringed[1:]) if name != "head"]
    assert sum(n > 0 for n in others) >= 1, (ringed, rings)
    print(f"click on head node {node_id}: ringed per layer {dict(zip(small_layers, ringed[1:]))}")
    assert_no_widget_errors(nb)


def test_mapper_click_is_answered_in_the_browser_while_the_kernel_is_busy(nb, lab_server):
    """Issue 17: a click's thumbnails and rings come from the browser itself (each graph carries
    its nodes' images), so they show while the kernel is still busy running a cell; the kernel's
    answer, once it is free, holds the same state."""
    panel = MAPPER + " .tdaw-thumbs"
    node = isolated_point(nb, MAIN_GRAPH, ["nodes"], ["nodes"])
    node_id = node["customdata"][0] if isinstance(node["customdata"], list) else node["customdata"]
    # what the page must show, from the kernel before it gets busy; rings: nodes sharing an image
    layer, title, images, rings = kernel_out(nb, lab_server, f"""g = me.graphs_[me.layer]
node = g.node({node_id!r})
chosen = set(int(i) for i in node.image_indices)
rings = [sum(bool(chosen & set(int(i) for i in n.image_indices)) for n in gr.nodes)
         for gr in [g] + [me.graphs_[name] for name in me.layer_figs]]
print(json.dumps([me.layer, me.node_header(me.layer, g, g.nodes.index(node)), sorted(chosen), rings]))""")
    cell = nb.locator(".jp-Notebook .jp-CodeCell").nth(SCRATCH)
    cell.scroll_into_view_if_needed()
    cell.locator(".cm-content").click()
    nb.keyboard.press("Control+a")
    nb.keyboard.press("Delete")
    nb.keyboard.insert_text("import time; time.sleep(8)   # the kernel is busy")
    nb.keyboard.press("Shift+Enter")
    prompt = cell.locator(".jp-InputArea-prompt")
    nb.wait_for_function("(el) => el.innerText.includes('*')", arg=prompt.element_handle(), timeout=10_000)
    nb.locator(MAIN_GRAPH).first.scroll_into_view_if_needed()
    node = isolated_point(nb, MAIN_GRAPH, ["nodes"], ["nodes"])  # where it is after the scroll
    assert (node["customdata"][0] if isinstance(node["customdata"], list) else node["customdata"]) == node_id
    nb.mouse.move(5, 5)
    nb.mouse.move(node["x"], node["y"], steps=2)  # onto the node itself: 2 px off was nearer a neighbour in a small graph
    nb.mouse.click(node["x"], node["y"])
    nb.wait_for_function(
        """([panel, plots, title, n, rings]) => {
            const root = document.querySelector(panel);
            const shown = root.querySelector('.tdaw-thumbs-title').textContent === title
                && root.querySelectorAll('.tdaw-thumb').length === Math.min(n, 200);
            const ringed = Array.from(document.querySelectorAll(plots))
                .filter((gd) => (gd.data || []).some((t) => t.name === 'nodes')).map((gd) => {
                    const t = gd.data.find((t) => t.name === 'highlight');
                    return t ? Array.from(t.marker.opacity || []).filter((o) => o > 0).length : 0; });
            return shown && JSON.stringify(ringed) === JSON.stringify(rings);
        }""",
        arg=[panel, MAPPER + " .js-plotly-plot", title, len(images), rings], timeout=4_000,
    )
    assert "*" in prompt.inner_text(), "the kernel finished first: this did not test the browser's own answer"
    shown = sorted(int(c) for c in nb.evaluate(
        "(p) => Array.from(document.querySelectorAll(p + ' .tdaw-thumb')).map((c) => c.dataset.index)", panel))
    assert shown == images or len(images) > 200
    nb.wait_for_function("(el) => !el.innerText.includes('*')", arg=prompt.element_handle(), timeout=30_000)
    selected, kernel_title = kernel_out(nb, lab_server, "me.wait(); print(json.dumps([me.selected_node, me.thumbnails.title]))")
    assert selected == f"{layer}:{node_id}" and kernel_title == title
    assert_no_widget_errors(nb)


def test_diagram_hover_shows_the_bar_images(nb, lab_server):
    panel = PERSISTENCE + " .tdaw-thumbs"
    # a finite H1 bar (a loop): customdata is [dim, bar, birth, death, persistence]
    point = isolated_point(nb, DIAGRAM, ["H0", "H1"], ["H1"],
                           accept=lambda p: isinstance(p["customdata"][3], (int, float))
                           and math.isfinite(p["customdata"][3]))
    dim, bar = int(point["customdata"][0]), int(point["customdata"][1])
    latency = hover_and_time(nb, panel, point["x"], point["y"],
                             f"root.querySelector('.tdaw-thumbs-title').textContent.startsWith('H{dim} bar {bar} ')")
    LATENCIES["diagram"] = latency
    state = panel_state(nb, panel)
    selected, images = kernel_out(
        nb, lab_server,
        f"print(json.dumps([list(pe.selected_bar), sorted(int(i) for i in pe.bar_images({dim}, {bar}))]))")
    assert selected == [dim, bar]
    assert state["n_shown"] > 0
    assert state["n_shown"] == len(images)
    assert sorted(state["indices"]) == images
    print(f"diagram point H{dim} bar {bar} ({point['gap']:.0f} px from the next point): "
          f"{len(images)} thumbnails in {latency:.0f} ms")
    print(f"hover-to-thumbnails latency: mapper {LATENCIES.get('mapper', float('nan')):.0f} ms, "
          f"diagram {latency:.0f} ms (goal < 100 ms)")
    assert_no_widget_errors(nb)


# ----------------------------------------------------------------------------- issue 17


_FIT_JS = """(sel) => {
    const el = document.querySelector(sel);
    const out = el.closest('.jp-OutputArea-output');
    const box = out.getBoundingClientRect();
    const plots = [...el.querySelectorAll('.js-plotly-plot')].map((gd) => gd.getBoundingClientRect());
    const scroller = (p) => { for (let e = p.parentElement; e && e !== el; e = e.parentElement)
        if (getComputedStyle(e).overflowX === 'auto') return true; return false; };
    return {output: box.width, explorer: el.getBoundingClientRect().width, scrollWidth: el.scrollWidth,
            clientWidth: el.clientWidth,
            beyond: [...el.querySelectorAll('.js-plotly-plot')].filter((gd) => !scroller(gd))
                .map((gd) => gd.getBoundingClientRect()).filter((r) => r.right > box.right + 1 || r.width > box.width).length,
            widest: Math.max(...plots.map((r) => r.width))};
}"""


def test_every_explorer_fits_an_800px_output_at_1280x800(nb):
    """JupyterLab at 1280 x 800 with the file browser open: no explorer is clipped, no figure
    is wider than its output area; the mapper's main graph, thumbnails and strip show together."""
    nb.set_viewport_size({"width": 1280, "height": 800})
    try:
        sidebar_open = nb.evaluate("() => !!document.querySelector('.jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current')")
        if not sidebar_open:
            nb.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab").first.click()
        nb.wait_for_timeout(500)
        for explorer in (PERSISTENCE, MAPPER, DISTANCES):
            fit = nb.evaluate(_FIT_JS, explorer)
            print(explorer, fit)
            assert fit["output"] <= 860, f"the output area should be about 800 px wide here: {fit}"
            assert fit["scrollWidth"] <= fit["clientWidth"] + 1, f"{explorer} is clipped: {fit}"
            assert fit["beyond"] == 0 and fit["widest"] <= fit["output"], f"{explorer}: a figure is too wide: {fit}"
        # the mapper: main graph at the top of the notebook's view; the thumbnails beside it and
        # the strip of every layer's graph below it are all on screen
        nb.locator(MAIN_GRAPH).first.evaluate("(el) => el.scrollIntoView({block: 'start'})")
        nb.wait_for_timeout(300)
        boxes = nb.evaluate("""(sel) => {
            const el = document.querySelector(sel);
            const r = (e) => { const b = e.getBoundingClientRect(); return [b.top, b.bottom]; };
            const plots = [...el.querySelectorAll('.js-plotly-plot')]
                .filter((gd) => (gd.data || []).some((t) => t.name === 'nodes'));  // the mapper graphs
            return {main: r(plots[0]), thumbs: r(el.querySelector('.tdaw-thumbs')),
                    strip: r(plots[plots.length - 1]), height: window.innerHeight};
        }""", MAPPER)
        for part in ("main", "thumbs", "strip"):
            top, bottom = boxes[part]
            assert top >= 0 and bottom <= boxes["height"], f"the mapper's {part} is off screen at 1280 x 800: {boxes}"
        ARTIFACTS.mkdir(exist_ok=True)
        nb.screenshot(path=str(ARTIFACTS / "mapper_1280x800_light.png"))
    finally:
        nb.set_viewport_size({"width": 1280, "height": 1000})


def test_rerunning_the_cell_cancels_the_old_explorer(nb, lab_server):
    """Re-running a cell whose explorer still computes stops that job at once (issue 17, 5)."""
    cell = ("slow = PersistenceExplorer(demo.model, demo.images, **common, autostart=False)\n"
            "slow.jobs.submit(lambda progress, cancel: cancel.wait(120), lambda r: None, label='slow job')\n"
            "first = globals().get('first', slow)\n"
            "slow")
    run_code_in_cell(nb, lab_server, RERUN, cell)
    run_code_in_cell(nb, lab_server, RERUN, cell)   # the same cell again: the same cell id
    state = kernel_out(nb, lab_server, "first.wait(10); print(json.dumps([first.state, first.comm is None, "
                       "slow is first, slow.state, slow.comm is None]))")
    assert state == ["cancelled", True, False, "running", False], state
    kernel_out(nb, lab_server, "slow.close(); print(json.dumps(1))")


def test_dark_theme_draws_every_figure_in_the_theme(nb):
    """Figures follow JupyterLab's dark theme live (no white boxes); screenshots of both."""
    nb.set_viewport_size({"width": 1280, "height": 800})
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        nb.locator(PERSISTENCE).scroll_into_view_if_needed()
        nb.screenshot(path=str(ARTIFACTS / "persistence_1280x800_light.png"))
        light = nb.evaluate("(s) => getComputedStyle(document.querySelector(s + ' .main-svg')).backgroundColor", DIAGRAM)
        assert light in ("rgb(255, 255, 255)", "white"), light
        set_theme(nb, "JupyterLab Dark")
        nb.wait_for_timeout(500)
        colours = nb.evaluate("""(s) => {
            const gd = document.querySelector(s);
            const page = getComputedStyle(document.body).getPropertyValue('--jp-layout-color0').trim();
            return {svg: getComputedStyle(gd.querySelector('.main-svg')).backgroundColor,
                    bg: getComputedStyle(gd.querySelector('.bg')).fill,
                    title: getComputedStyle(gd.querySelector('.gtitle')).fill,
                    tick: getComputedStyle(gd.querySelector('.xtick text')).fill, page};
        }""", DIAGRAM)
        print("dark theme:", colours)
        assert colours["svg"] in ("rgba(0, 0, 0, 0)", "transparent"), colours
        assert _luminance(colours["title"]) > 0.5 and _luminance(colours["tick"]) > 0.5, colours
        assert _luminance(colours["bg"]) < 0.3, colours
        for name, sel in (("persistence", PERSISTENCE), ("mapper", MAPPER), ("distances", DISTANCES)):
            nb.locator(sel).scroll_into_view_if_needed()
            nb.wait_for_timeout(200)
            nb.screenshot(path=str(ARTIFACTS / f"{name}_1280x800_dark.png"))
    finally:
        set_theme(nb, "JupyterLab Light")
        nb.set_viewport_size({"width": 1280, "height": 1000})


def test_no_kernel_tracebacks_after_every_interaction(nb, lab_server):
    """Nothing went to JupyterLab's Log Console: no exception in any widget message handler
    (plotly's echo of the browser's defaults raised twice per redraw before)."""
    errors = kernel_out(nb, lab_server, "print(json.dumps(_TDAW_KERNEL_ERRORS))")
    assert errors == [], errors[:3]


def set_theme(page, name: str) -> None:
    """Settings > Theme > ``name`` through JupyterLab's menu, as a user would."""
    page.locator(".lm-MenuBar-itemLabel", has_text="Settings").click()
    page.locator("#jp-mainmenu-settings .lm-Menu-itemLabel", has_text="Theme").first.hover()
    page.locator(".lm-Menu-itemLabel", has_text=name).first.click()
    light = "false" if "Dark" in name else "true"
    page.wait_for_function("(light) => document.body.dataset.jpThemeLight === light", arg=light, timeout=20_000)


def _luminance(css: str) -> float:
    values = [float(v) for v in re.findall(r"[\d.]+", css)[:3]]
    return sum(w * v / 255 for w, v in zip((0.2126, 0.7152, 0.0722), values))
