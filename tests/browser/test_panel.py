"""The TDA side panel of the notebook extension (issue 12), in JupyterLab and Notebook 7: it lists
the kernel's models, images and the labels that fit them after a cell defines them, shows the
package's memory estimate (and a warning over the budget), and Insert adds a cell whose source
is exactly the preview, which runs and draws its explorer. The panel follows a switch to another
notebook and a kernel restart; the launcher cards and palette commands open the tour and a new
notebook."""

from __future__ import annotations

import json
import re
import time
import urllib.error

import pytest

from tests.browser.conftest import ARTIFACTS
from tests.browser.harness import (REPO_ROOT, SLOW_MS, assert_no_widget_errors, kernel_eval, open_notebook,
                                   run_all_cells, wait_kernel_idle, write_notebook)

pytestmark = pytest.mark.browser

PANEL = "#tda-widgets-panel"
# Far more images than the study's budget holds, at no cost: a view with stride 0.
DEMO_CELL = ("from tda_widgets import load_demo\ndemo = load_demo(n_images=120)\n"
             "model, images, labels = demo.model, demo.images, demo.labels\n"
             "huge = images[:1].expand(20_000_000, -1, -1, -1)\nother_labels = labels[:50]")
TOUR = REPO_ROOT / "notebooks" / "01_tour.ipynb"


def _panel_text_has(page, text: str, present: bool = True, timeout: float = 30_000) -> None:
    page.wait_for_function("([text, present]) => document.querySelector('#tda-widgets-panel').innerText"
                           ".includes(text) === present", arg=[text, present], timeout=timeout)


def _show_panel_in_lab(page):
    page.locator(PANEL).wait_for(state="attached", timeout=30_000)
    tab = page.locator(".jp-SideBar .lm-TabBar-tab[data-id='tda-widgets-panel']")
    if tab.count() and "lm-mod-current" not in (tab.first.get_attribute("class") or ""):
        tab.first.click()
    panel = page.locator(PANEL)
    panel.wait_for(state="visible", timeout=30_000)
    return panel


def _menu(page, *labels: str) -> None:
    """Click through the menu bar: the top menu, then each (sub)menu item by its label."""
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{re.escape(labels[0])}$")).click()
    for label in labels[1:]:
        page.locator(".lm-Menu:visible .lm-Menu-item",
                     has=page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{re.escape(label)}"))).last.click()


def _wait_estimate(page) -> str:
    page.wait_for_function("() => { const box = document.querySelector('#tda-widgets-panel .tda-estimate');"
                           " return box && !box.classList.contains('tda-estimate-pending') && box.innerText.trim(); }",
                           timeout=30_000)
    return page.locator(f"{PANEL} .tda-estimate").inner_text()


def _run_visible_cell(page) -> None:
    """Run the first cell of the notebook on screen (Shift+Enter in its editor)."""
    page.locator(".jp-NotebookPanel:visible .jp-CodeCell .cm-content").first.click()
    page.keyboard.press("Shift+Enter")


def _wait_kernels(server, n: int, timeout: float = 60.0) -> None:
    """Wait until the server runs ``n`` kernels, all idle (a notebook just opened starts its own;
    the REST API, since each open notebook has its own execution indicator)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            kernels = server.kernels()
        except urllib.error.HTTPError:  # 500 while a kernel is starting (see wait_kernel_idle)
            kernels = []
        if len(kernels) >= n and all(k["execution_state"] == "idle" for k in kernels):
            return
        assert time.monotonic() < deadline, kernels
        time.sleep(0.2)


def _screenshot_panel(panel, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    panel.screenshot(path=str(ARTIFACTS / name))


def _insert_and_check(page, server, panel) -> str:
    """Insert and run; the kernel ran exactly the preview and its explorer draws."""
    preview = panel.locator("pre.tda-preview").inner_text().strip()
    cells_before = page.locator(".jp-Notebook .jp-CodeCell").count()
    panel.locator("button.tda-insert").click()
    page.wait_for_function("(n) => document.querySelectorAll('.jp-Notebook .jp-CodeCell').length > n",
                           arg=cells_before, timeout=30_000)
    page.wait_for_function("() => [...document.querySelectorAll('.tda-explorer .js-plotly-plot')].some("
                           "(gd) => (gd.data || []).some((t) => (t.x || []).length > 0))", timeout=120_000)
    wait_kernel_idle(page, server)
    ran = json.loads(kernel_eval(server, "import json as _j; print(_j.dumps(In[-1]))"))
    assert ran.strip() == preview, (ran, preview)
    assert_no_widget_errors(page)
    return preview


def test_the_panel_lists_estimates_and_inserts_the_previewed_code(page, lab_server, console_errors):
    write_notebook(lab_server.root, "panel.ipynb", [DEMO_CELL])
    open_notebook(page, lab_server, "panel.ipynb")
    run_all_cells(page, lab_server, timeout=120)
    panel = _show_panel_in_lab(page)
    # listed after the execution: the model (class, parameters) and the images (shape)
    _panel_text_has(page, "DigitsCNN")
    text = panel.inner_text()
    assert "model" in text and "DigitsCNN" in text and "120 × 1 × 8 × 8" in text, text[:800]
    # the labels that fit the images (120 of them, not other_labels' 50) are offered and chosen;
    # demo.labels is the same array as labels (listed once), demo.indices also has 120 integers
    labels = panel.locator("select.tda-labels-select")
    assert labels.locator("option").all_inner_texts() == ["(none)", "labels", "demo.indices"]
    assert labels.input_value() == "labels"
    # the package's estimate for the chosen settings, within the budget
    estimate = _wait_estimate(page)
    assert "estimated peak" in estimate and "of the 2.0 GiB budget" in estimate, estimate
    assert panel.locator(".tda-estimate-warning").count() == 0
    # 20 million images exceed the budget: a visible warning with the knobs to turn
    panel.locator("select.tda-images-select").select_option("huge")
    page.wait_for_selector(f"{PANEL} .tda-estimate-warning", state="visible", timeout=60_000)
    warning = panel.locator(".tda-estimate-warning").first.inner_text()
    assert "20000000 images" in warning and "budget" in warning and "To fit" in warning, warning
    assert labels.locator("option").all_inner_texts() == ["(none)"]  # no labels array fits
    _screenshot_panel(panel, "panel_estimate_over_budget_lab.png")
    panel.locator("select.tda-images-select").select_option("images")
    page.wait_for_selector(f"{PANEL} .tda-estimate-warning", state="detached", timeout=60_000)
    assert labels.input_value() == "labels"
    # the path: a MapperExplorer on layers ticked in the layer tree, no layer name typed
    panel.locator("select.tda-explorer-select").select_option("mapper")
    panel.locator("select.tda-preset-select").select_option("(choose layers)")
    for name in ("fc1", "head"):
        panel.locator(".tda-layer", has_text=name).first.locator("input[type=checkbox]").check()
    page.wait_for_function("() => { const p = document.querySelector('#tda-widgets-panel pre.tda-preview');"
                           " return p && p.innerText.includes('MapperExplorer(') && p.innerText.includes('head'); }",
                           timeout=30_000)
    preview = _insert_and_check(page, lab_server, panel)
    assert "MapperExplorer(model, images, labels, layers=" in preview, preview
    assert '"fc1"' in preview and '"head"' in preview, preview
    # its graphs drew: the main graph's nodes are the kernel's graph's nodes
    nodes = json.loads(kernel_eval(lab_server, "import json as _j; _w = [v for v in globals().values() "
                                   "if type(v).__name__ == 'MapperExplorer'][-1]; _w.wait(); "
                                   "print(_j.dumps([_w.layer, len(_w.graphs_[_w.layer].nodes)]))"))
    page.wait_for_function(
        """(n) => [...document.querySelectorAll('.tda-explorer .js-plotly-plot')].some((gd) =>
               (gd.data || []).some((t) => t.name === 'nodes' && (t.x || []).length === n))""",
        arg=nodes[1], timeout=60_000)
    assert nodes[0] in ("fc1", "head")
    assert not [e for e in console_errors if "tda" in e.lower()], console_errors


NET_CELL = ("import torch\nfrom torch import nn\n"
            "{net} = nn.Sequential(nn.Flatten(), nn.Linear(4, 3))\n{x} = torch.zeros(6, 2, 2)")


def test_the_panel_follows_the_current_notebook_and_kernel_restarts(page, lab_server, console_errors):
    write_notebook(lab_server.root, "first.ipynb", [NET_CELL.format(net="net_first", x="x_first")])
    write_notebook(lab_server.root, "second.ipynb", [NET_CELL.format(net="net_second", x="x_second")])
    open_notebook(page, lab_server, "first.ipynb")
    run_all_cells(page, lab_server)
    _show_panel_in_lab(page)
    _panel_text_has(page, "net_first")
    # another notebook: its kernel's models, not the first one's
    page.locator(".jp-DirListing-item", has_text=re.compile(r"^second\.ipynb")).dblclick()
    page.locator(".jp-NotebookPanel:visible .jp-Cell").first.wait_for(timeout=SLOW_MS)
    _wait_kernels(lab_server, 2)
    _run_visible_cell(page)
    _panel_text_has(page, "net_second")
    _panel_text_has(page, "net_first", present=False)
    # back to the first notebook
    page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text="first.ipynb").click()
    _panel_text_has(page, "net_first")
    _panel_text_has(page, "net_second", present=False)
    # a restart empties the list; running the cell again lists the model again
    _menu(page, "Kernel", "Restart Kernel…")
    page.locator(".jp-Dialog button.jp-mod-accept").click()
    _panel_text_has(page, "net_first", present=False, timeout=60_000)
    _panel_text_has(page, "0 model(s)", timeout=60_000)
    _wait_kernels(lab_server, 2)
    _run_visible_cell(page)
    _panel_text_has(page, "net_first", timeout=60_000)
    assert not [e for e in console_errors if "tda" in e.lower()], console_errors


def test_the_launcher_opens_the_tour_and_the_palette_a_new_notebook(page, lab_server, console_errors):
    tour = lab_server.root / TOUR.name
    tour.unlink(missing_ok=True)
    before = set(lab_server.root.glob("*.ipynb"))
    page.goto(lab_server.url("/lab?reset"), wait_until="domcontentloaded")
    card = page.locator(".jp-LauncherCard", has_text="Open the tda-widgets tour")
    card.wait_for(timeout=SLOW_MS)
    # both commands are in the palette (checked first, while no document can take the focus)
    page.keyboard.press("Control+Shift+C")
    palette = page.locator(".lm-CommandPalette-input")
    for name, command in (("New tda-widgets notebook", "tda-widgets:new-notebook"),
                          ("Open the tda-widgets tour", "tda-widgets:open-tour")):
        palette.fill(name)
        page.locator(f".lm-CommandPalette-item[data-command='{command}']").first.wait_for(timeout=SLOW_MS)
    page.keyboard.press("Escape")
    # the new-notebook card: a new notebook that loads tda-widgets
    page.locator(".jp-LauncherCard", has_text="New tda-widgets notebook").click()
    page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text="Untitled").wait_for(timeout=SLOW_MS)
    new = set(lab_server.root.glob("*.ipynb")) - before - {tour}
    assert len(new) == 1, new
    cells = json.loads(new.pop().read_text())["cells"]
    assert any("load_demo" in "".join(c["source"]) for c in cells if c["cell_type"] == "code"), cells
    # the tour card, from a fresh launcher: copied into the folder (it was missing) and opened
    page.goto(lab_server.url("/lab?reset"), wait_until="domcontentloaded")
    card.wait_for(timeout=SLOW_MS)
    card.click()
    page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text=TOUR.name).wait_for(timeout=SLOW_MS)
    assert json.loads(tour.read_text()) == json.loads(TOUR.read_text())
    assert not [e for e in console_errors if "tda" in e.lower()], console_errors


def test_the_panel_works_in_notebook7(notebook7_page, notebook7_server):
    page, server = notebook7_page, notebook7_server
    write_notebook(server.root, "panel7.ipynb", [DEMO_CELL])
    page.goto(server.url("/notebooks/panel7.ipynb"), wait_until="domcontentloaded")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=SLOW_MS)
    wait_kernel_idle(page, server)
    run_all_cells(page, server, timeout=120)
    # Notebook 7 lists side panels under View > Right Sidebar, by their caption
    _menu(page, "View", "Right Sidebar", "Show TDA")
    panel = page.locator(PANEL)
    panel.wait_for(state="visible", timeout=30_000)
    _panel_text_has(page, "DigitsCNN")
    assert "120 × 1 × 8 × 8" in panel.inner_text()
    estimate = _wait_estimate(page)
    assert "estimated peak" in estimate, estimate
    _screenshot_panel(panel, "panel_estimate_notebook7.png")
    preview = _insert_and_check(page, server, panel)
    assert "Explorer(model, images, labels, layers=" in preview, preview
