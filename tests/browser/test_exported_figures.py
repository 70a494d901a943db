"""Figures everywhere, in a real browser (show_figures_everywhere).

An nbconvert HTML export draws every figure with the one plotly.js the notebook embeds (compiled
for the first figure), and a live JupyterLab, which draws the plotly MIME type with its own
copy, never compiles that embedded copy (before, every Run All compiled and ran its 4.9 MB on
the page's main thread).
"""

from __future__ import annotations

import tempfile

import nbformat
import pytest

from tests.browser.harness import launch_chromium, open_notebook, run_all_cells, write_notebook
from tests.notebooks.test_notebooks import _execute, _export_html
from tests.notebooks.test_renderer import CELLS

pytestmark = pytest.mark.browser

#: Counts, in the page, the compilations of a script of over a million characters (the embedded
#: plotly.js is compiled through the global eval when window.Plotly is first read); JupyterLab's
#: own plotly renderer sets window.Plotly to its copy, which replaces the embedded one unread.
COUNT_BIG_EVALS = """window.__bigEvals = 0;
window.eval = new Proxy(window.eval, { apply(target, self, args) {
    if (typeof args[0] === 'string' && args[0].length > 1e6) window.__bigEvals += 1;
    return Reflect.apply(target, self, args); } });"""

DRAWN = "(n) => document.querySelectorAll('.js-plotly-plot .main-svg').length >= n"


def test_an_exported_notebook_draws_its_figures_in_chromium(tmp_path, playwright_instance):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    _execute(nb, tmp_path)
    exported = tmp_path / "exported.html"
    exported.write_text(_export_html(nb), encoding="utf-8")
    with tempfile.TemporaryDirectory(prefix="tdaw-chromium-") as user_data_dir:
        context = launch_chromium(playwright_instance, user_data_dir)
        page = context.pages[0] if context.pages else context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.add_init_script(COUNT_BIG_EVALS)
        try:
            page.goto(exported.as_uri())
            page.wait_for_function(DRAWN, arg=2, timeout=30_000)
            titles = page.evaluate("() => Array.from(document.querySelectorAll('.js-plotly-plot'),"
                                   " (gd) => gd.layout.title.text)")
            assert titles == ["one", "two"]
            assert page.evaluate("() => window.__bigEvals") == 1  # the embedded copy, once
            assert errors == []
        finally:
            context.close()


def test_a_live_notebook_never_compiles_the_embedded_plotlyjs(lab_server, playwright_instance):
    lab_server.delete_sessions()
    with tempfile.TemporaryDirectory(prefix="tdaw-chromium-") as user_data_dir:
        context = launch_chromium(playwright_instance, user_data_dir)
        page = context.pages[0] if context.pages else context.new_page()
        page.add_init_script(COUNT_BIG_EVALS)
        try:
            write_notebook(lab_server.root, "figures_everywhere.ipynb", CELLS)
            open_notebook(page, lab_server, "figures_everywhere.ipynb")
            run_all_cells(page, lab_server, timeout=120)
            page.wait_for_function(DRAWN, arg=2, timeout=60_000)  # drawn by JupyterLab's plotly renderer
            page.wait_for_timeout(500)
            assert page.evaluate("() => window.__bigEvals") == 0
        finally:
            context.close()
