"""The TDA panel on the four shipped notebooks as a new user finds them (issue 29): open the
notebook in JupyterLab, run all, open the panel; the model the notebook holds (``demo.model``,
a dict of models, a variable) is already selected, the images it offers first are ones the model
takes, and Insert and run draws a new explorer. A notebook that holds no model says so, on the
disabled controls. Screenshots of the panel at 1280 x 800 in the light and dark themes. And the
extension loads without an error where there is no file browser or launcher (Voilà)."""

from __future__ import annotations

import json
import shutil
import tempfile

import pytest

from tests.browser.conftest import ARTIFACTS
from tests.browser.harness import (REPO_ROOT, SLOW_MS, assert_no_widget_errors, collect_console_errors,
                                   kernel_eval, launch_chromium, open_notebook, run_all_cells, wait_kernel_idle)
from tests.browser.test_panel import PANEL, _show_panel_in_lab

pytestmark = pytest.mark.browser

NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("0*.ipynb"))

# An independent look into the kernel: every torch module a name holds, or one level inside it
# (a dict's items, an instance's attributes), found by a plain scan, not by the panel's code.
_MODELS_IN_KERNEL = """
import json as _j, sys as _s, types as _t
def _tda_scan():
    torch = _s.modules.get("torch")
    if torch is None:
        return []
    found = []
    for _n, _v in list(globals().items()):
        if _n.startswith("_") or isinstance(_v, (type, _t.ModuleType)):
            continue
        if isinstance(_v, torch.nn.Module):
            found.append(_n)
        elif isinstance(_v, dict):
            found += [_n for _k, _w in _v.items() if isinstance(_w, torch.nn.Module)]
        elif isinstance(getattr(type(_v), "__dict__", {}).get("__dict__"), _t.GetSetDescriptorType):
            found += [_n for _w in vars(_v).values() if isinstance(_w, torch.nn.Module)]
    return found
print(_j.dumps(_tda_scan()))
"""

# Does the model take one image of the images? Evaluated in the kernel on the panel's choice.
_TAKES = """
import json as _j, torch as _torch
_m, _x = {model}, {images}
_x = _torch.as_tensor(_x[:1]) if hasattr(_x, "shape") else _torch.as_tensor(_x[0][0])[None]
_was = _m.training; _m.eval()
with _torch.no_grad():
    _m(_x)
_m.train(_was)
print(_j.dumps([type({model}).__name__, isinstance({model}, _torch.nn.Module)]))
"""

_SELECT_STATE_JS = """(selector) => { const s = document.querySelector(selector);
    return {value: s.value, disabled: s.disabled, title: s.title,
            options: [...s.options].map((o) => ({value: o.value, text: o.text, title: o.title}))}; }"""

# Every label, option text and table cell of the panel that is cut without a tooltip holding
# its full text, and anything wider than the panel.
_OVERFLOW_JS = """() => {
    const panel = document.querySelector('#tda-widgets-panel');
    const box = panel.getBoundingClientRect();
    const wide = [...panel.querySelectorAll('*')].filter((e) => {
        const r = e.getBoundingClientRect();
        return r.width > 0 && r.right > box.right + 1;
    }).map((e) => e.className || e.tagName);
    const cut = [...panel.querySelectorAll('td, th, .tda-layer-name, .tda-row > span')].filter((e) =>
        e.scrollWidth > e.clientWidth + 1 && !(e.title || e.parentElement.title)).map((e) => e.innerText);
    return {wide, cut, scrollsSideways: panel.scrollWidth > panel.clientWidth + 1};
}"""


def _select(page, name: str) -> dict:
    return page.evaluate(_SELECT_STATE_JS, f"{PANEL} select.{name}")


def _set_theme(page, dark: bool) -> None:
    """Settings > Theme > JupyterLab Dark / Light through the menu, as a person would."""
    name = "JupyterLab Dark" if dark else "JupyterLab Light"
    page.locator(".lm-MenuBar-itemLabel", has_text="Settings").click()
    page.locator("#jp-mainmenu-settings .lm-Menu-itemLabel", has_text="Theme").first.hover()
    page.locator(".lm-Menu-itemLabel", has_text=name).first.click()
    page.wait_for_function("(d) => document.body.dataset.jpThemeLight === (d ? 'false' : 'true')", arg=dark,
                           timeout=30_000)
    page.wait_for_timeout(500)  # the theme's stylesheet applies after the flag


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_the_panel_finds_the_notebooks_model_and_inserts_an_explorer(page, lab_server, console_errors, notebook):
    page.set_viewport_size({"width": 1280, "height": 800})
    shutil.copy(notebook, lab_server.root / notebook.name)
    open_notebook(page, lab_server, notebook.name)
    run_all_cells(page, lab_server, timeout=900)
    expected = json.loads(kernel_eval(lab_server, _MODELS_IN_KERNEL))
    panel = _show_panel_in_lab(page)
    page.wait_for_function("() => !document.querySelector('#tda-widgets-panel .tda-status').innerText"
                           ".includes('No notebook')", timeout=30_000)
    if not expected:
        # a notebook without a model (point clouds only): the panel says so where it matters
        page.wait_for_function("() => document.querySelector('#tda-widgets-panel .tda-status').innerText"
                               ".includes('0 model(s)')", timeout=30_000)
        model = _select(page, "tda-model-select")
        assert model["disabled"] and model["title"].startswith("No model"), model
        assert panel.locator("button.tda-insert").is_disabled()
        assert "Insert needs a model" in panel.locator(".tda-insert-hint").inner_text()
        assert "None: no torch.nn.Module" in panel.locator("table.tda-models").inner_text()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"panel_{notebook.stem}_no_model_lab.png"))
        return
    # the model is already selected, and the images offered first are ones it takes
    page.wait_for_function("() => { const s = document.querySelector('#tda-widgets-panel select.tda-model-select');"
                           " return s && s.value; }", timeout=60_000)
    page.wait_for_function("() => document.querySelector('#tda-widgets-panel select.tda-images-select')"
                           ".selectedOptions[0]?.text.startsWith('✓')", timeout=120_000)
    model, images = _select(page, "tda-model-select"), _select(page, "tda-images-select")
    assert not model["disabled"] and model["value"], model
    assert [o["value"] for o in model["options"]][0] == model["value"]
    assert json.loads(kernel_eval(lab_server, _TAKES.format(model=model["value"], images=images["value"])))[1]
    # the panel fits its width: nothing sideways, nothing cut without its full text as a tooltip
    layout = page.evaluate(_OVERFLOW_JS)
    assert not layout["wide"] and not layout["cut"] and not layout["scrollsSideways"], layout
    for dark in (False, True):
        _set_theme(page, dark)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"panel_{notebook.stem}_{'dark' if dark else 'light'}_lab.png"))
    _set_theme(page, False)
    # Insert and run: a new cell runs exactly the preview and draws a new explorer
    page.wait_for_function("() => !document.querySelector('#tda-widgets-panel button.tda-insert').disabled",
                           timeout=60_000)
    preview = panel.locator("pre.tda-preview").inner_text().strip()
    assert model["value"] in preview and images["value"] in preview, preview
    page.evaluate("() => document.querySelectorAll('.tda-explorer').forEach((e) => e.dataset.before = '1')")
    panel.locator("button.tda-insert").click()
    page.wait_for_function("() => [...document.querySelectorAll('.tda-explorer:not([data-before])')].some((e) =>"
                           " [...e.querySelectorAll('.js-plotly-plot')].some((gd) =>"
                           " (gd.data || []).some((t) => (t.x || []).length > 0)))", timeout=300_000)
    wait_kernel_idle(page, lab_server, timeout=300)
    ran = json.loads(kernel_eval(lab_server, "import json as _j; print(_j.dumps(In[-1]))"))
    assert ran.strip() == preview, (ran, preview)
    assert_no_widget_errors(page)
    assert not [e for e in console_errors if "tda" in e.lower()], console_errors


def test_disabled_controls_say_why_and_long_names_are_shortened(page, lab_server, console_errors):
    from tests.browser.harness import write_notebook

    long = "a_model_with_a_name_far_longer_than_the_side_panel_is_wide_" * 2
    write_notebook(lab_server.root, "why.ipynb", [
        "import numpy as np, torch\nfrom torch import nn\n"
        f"holder = {{'{long}': nn.Sequential(nn.Flatten(), nn.Linear(4, 3))}}\n"
        "diagram = np.zeros((78, 2))\ncloud = torch.zeros(6, 2, 2)"])
    page.set_viewport_size({"width": 1280, "height": 800})
    open_notebook(page, lab_server, "why.ipynb")
    run_all_cells(page, lab_server, timeout=120)
    panel = _show_panel_in_lab(page)
    page.wait_for_function("() => document.querySelector('#tda-widgets-panel select.tda-images-select')"
                           ".selectedOptions[0]?.text.startsWith('✓')", timeout=60_000)
    model, images = _select(page, "tda-model-select"), _select(page, "tda-images-select")
    assert model["value"] == f'holder["{long}"]', model  # listed by its expression
    assert long in model["title"]  # the full name as the tooltip of the shortened select
    assert images["value"] == "cloud", images  # the first image set that fits, not the diagram
    diagram = next(o for o in images["options"] if o["value"] == "diagram")
    assert diagram["text"].startswith("✗") and "rejects" in diagram["title"], diagram
    labels = _select(page, "tda-labels-select")
    assert labels["disabled"] and labels["title"].startswith("No labels"), labels
    # a preset locks the layer boxes: each says why, and the hint says how to unlock them
    page.wait_for_selector(f"{PANEL} .tda-layer input[type=checkbox]", timeout=30_000)
    boxes = page.evaluate("() => [...document.querySelectorAll('#tda-widgets-panel .tda-layer')].map((l) =>"
                          " [l.querySelector('input').disabled, l.title])")
    assert boxes and all(disabled and "(choose layers)" in title for disabled, title in boxes), boxes
    assert "(choose layers)" in panel.locator(".tda-preset-info").inner_text()
    # choosing images the model rejects: marked, explained, Insert disabled with the reason
    panel.locator("select.tda-images-select").select_option("diagram")
    hint = panel.locator(".tda-images-hint")
    page.wait_for_function("() => document.querySelector('#tda-widgets-panel .tda-images-hint').innerText"
                           ".includes('does not fit')", timeout=30_000)
    assert "rejects one image of shape 2" in hint.inner_text()
    page.wait_for_function("() => document.querySelector('#tda-widgets-panel button.tda-insert').disabled",
                           timeout=10_000)
    assert "diagram does not fit" in panel.locator("button.tda-insert").get_attribute("title")
    layout = page.evaluate(_OVERFLOW_JS)
    assert not layout["wide"] and not layout["cut"] and not layout["scrollsSideways"], layout
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "panel_disabled_reasons_light_lab.png"))
    _set_theme(page, True)
    page.screenshot(path=str(ARTIFACTS / "panel_disabled_reasons_dark_lab.png"))
    _set_theme(page, False)
    assert not [e for e in console_errors if "tda" in e.lower()], console_errors


VOILA_CELL = "import tda_widgets\nfrom tda_widgets import load_demo\ndemo = load_demo(n_images=40)\nprint('ready', len(demo.images))"


def test_the_extension_loads_without_errors_in_voila(playwright_instance, tmp_path):
    pytest.importorskip("voila", reason="Voilà is in the test extra: pip install -e .[test]")
    from tests.browser.harness import voila_server, write_notebook

    write_notebook(tmp_path, "voila.ipynb", [VOILA_CELL])
    with voila_server(tmp_path, "voila.ipynb") as url:
        with tempfile.TemporaryDirectory(prefix="tdaw-chromium-") as user_data_dir:
            context = launch_chromium(playwright_instance, user_data_dir)
            try:
                page = context.pages[0] if context.pages else context.new_page()
                errors = collect_console_errors(page)
                loaded = []
                page.on("response", lambda r: "labextensions/tda-widgets/" in r.url and loaded.append((r.url, r.status)))
                page.goto(url, wait_until="domcontentloaded")
                page.wait_for_function("() => document.body.innerText.includes('ready 40')", timeout=SLOW_MS * 2)
                page.wait_for_timeout(2000)  # late plugin activations log after the render
                assert any("remoteEntry" in u and s == 200 for u, s in loaded), loaded  # Voilà loaded it
                # errors of this extension: its messages, or a stack through its files (other
                # extensions, e.g. Notebook 7's, log their own missing shared modules here)
                ours = [e for e in errors if "tda" in e.lower()]
                assert not ours, "\n\n".join(errors)
            finally:
                context.close()
