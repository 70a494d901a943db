"""The TDA side panel of the JupyterLab extension (issue 12): it lists the kernel's model and
images after a cell defines them, and Insert adds a cell whose source is exactly the preview,
which runs and draws its explorer."""

from __future__ import annotations

import pytest

import json

from tests.browser.harness import (assert_no_widget_errors, kernel_eval, open_notebook, run_all_cells,
                                   wait_kernel_idle, write_notebook)

pytestmark = pytest.mark.browser


def test_the_panel_lists_the_kernels_model_and_inserts_the_previewed_code(page, lab_server, console_errors):
    write_notebook(lab_server.root, "panel.ipynb", [
        "from tda_widgets import load_demo\ndemo = load_demo(n_images=120)\n"
        "model, images, labels = demo.model, demo.images, demo.labels",
    ])
    open_notebook(page, lab_server, "panel.ipynb")
    run_all_cells(page, lab_server, timeout=120)
    page.locator("#tda-widgets-panel").wait_for(state="attached", timeout=30_000)
    tab = page.locator(".jp-SideBar .lm-TabBar-tab[data-id='tda-widgets-panel']")
    if tab.count():
        tab.first.click()
    panel = page.locator("#tda-widgets-panel")
    panel.wait_for(state="visible", timeout=30_000)
    # listed after the execution: the model (class, parameters) and the images (shape)
    page.wait_for_function("() => document.querySelector('#tda-widgets-panel').innerText.includes('DigitsCNN')",
                           timeout=30_000)
    text = panel.inner_text()
    assert "model" in text and "DigitsCNN" in text and "120 × 1 × 8 × 8" in text, text[:800]
    preview = panel.locator("pre").last.inner_text().strip()
    assert "Explorer(model, images" in preview, preview
    cells_before = page.locator(".jp-Notebook .jp-CodeCell").count()
    panel.locator("button.tda-insert").click()
    page.wait_for_function("(n) => document.querySelectorAll('.jp-Notebook .jp-CodeCell').length > n",
                           arg=cells_before, timeout=30_000)
    # the inserted cell ran exactly the preview (the kernel's input history), and its explorer renders
    page.wait_for_function("() => [...document.querySelectorAll('.tda-explorer .js-plotly-plot')].some("
                           "(gd) => (gd.data || []).some((t) => (t.x || []).length > 0))", timeout=120_000)
    wait_kernel_idle(page, lab_server)
    ran = json.loads(kernel_eval(lab_server, "import json as _j; print(_j.dumps(In[-1]))"))
    assert ran.strip() == preview.strip(), (ran, preview)
    assert_no_widget_errors(page)
    assert not [e for e in console_errors if "tda-widgets" in e.lower() or "tda" in e.lower()], console_errors
