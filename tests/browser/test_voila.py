"""The explorers in Voilà (issue 27, "the same widget everywhere"): a notebook with a
PersistenceExplorer and a MapperExplorer served by Voilà draws both, with the diagram and the
mapper graph the kernel holds, and the page logs no error (but two of Voilà's own, named below). JupyterLab and Notebook 7 have their
own tests (test_explorers.py, test_smoke.py)."""

from __future__ import annotations

import re
import tempfile

import pytest

from tests.browser.conftest import ARTIFACTS
from tests.browser.harness import SLOW_MS, collect_console_errors, launch_chromium, voila_server, write_notebook

pytestmark = pytest.mark.browser

# the kernel prints what its figures hold; the page must draw the same
CELL = """from tda_widgets import load_demo, PersistenceExplorer, MapperExplorer
demo = load_demo(n_images=120)
common = dict(labels=demo.labels, class_names=demo.class_names, max_points=100)
pe = PersistenceExplorer(demo.model, demo.images, layer="block3", **common)
pe.add_class("t-persistence")
me = MapperExplorer(demo.model, demo.images, **common)
me.add_class("t-mapper")
display(pe, me)
pe.wait(); me.wait()
names = lambda plot: [t.name for t in plot.figure.data]
h1 = len(pe.diagram_fig.figure.data[names(pe.diagram_fig).index("H1")].x)
nodes = len(me.main_fig.figure.data[names(me.main_fig).index("nodes")].x)
print(f"states {pe.state} {me.state} h1 {h1} nodes {nodes}")"""

# per explorer: its plots, whether each is drawn (an SVG and traces), and the points of a named trace
DRAWN_JS = """([root, name]) => {
  const el = document.querySelector(root);
  if (!el) return null;
  const plots = Array.from(el.querySelectorAll('.js-plotly-plot:not(.tdaw-hidden)'));
  const counts = plots.map((gd) => (gd.data || []).filter((t) => t.name === name)
                                                   .map((t) => Array.from(t.x || []).length)).flat();
  return {plots: plots.length, drawn: plots.filter((gd) => gd.querySelector('.main-svg') && (gd.data || []).length).length,
          counts};
}"""


def test_voila_draws_a_persistence_and_a_mapper_explorer(playwright_instance, tmp_path):
    pytest.importorskip("voila", reason="Voilà is in the test extra: pip install -e .[test]")
    write_notebook(tmp_path, "explorers.ipynb", [CELL])
    with voila_server(tmp_path, "explorers.ipynb") as url, \
            tempfile.TemporaryDirectory(prefix="tdaw-chromium-") as user_data_dir:
        context = launch_chromium(playwright_instance, user_data_dir)
        try:
            page = context.pages[0] if context.pages else context.new_page()
            page.set_viewport_size({"width": 1280, "height": 800})
            errors = collect_console_errors(page)
            failed: list[str] = []
            page.on("requestfailed", lambda r: failed.append(f"{r.url} ({r.failure})"))
            # Voilà runs the notebook before its page is whole: minutes on a loaded machine
            page.goto(url, wait_until="commit", timeout=SLOW_MS * 3)
            # (the page is only committed: its body may not exist yet, and a predicate that throws
            # ends the wait at once)
            page.wait_for_function(
                "() => !!document.body && /states \\w+ \\w+ h1 \\d+ nodes \\d+/.test(document.body.innerText)",
                timeout=SLOW_MS * 3)
            printed = re.search(r"states (\w+) (\w+) h1 (\d+) nodes (\d+)", page.inner_text("body"))
            assert printed.group(1, 2) == ("done", "done"), printed.group(0)
            h1, nodes = int(printed.group(3)), int(printed.group(4))
            assert h1 > 0 and nodes > 0, printed.group(0)
            want = {".t-persistence": ("H1", h1), ".t-mapper": ("nodes", nodes)}
            page.wait_for_function(
                "(want) => { const drawn = " + DRAWN_JS + """;
                   return Object.entries(want).every(([root, [name, n]]) => {
                       const got = drawn([root, name]);
                       return got && got.plots > 0 && got.drawn === got.plots && got.counts.includes(n);
                   }); }""", arg=want, timeout=SLOW_MS)
            page.wait_for_timeout(1500)  # late errors (plugin activations, the kernel's echoes)
            for root, (name, n) in want.items():
                got = page.evaluate(DRAWN_JS, [root, name])
                assert got["drawn"] == got["plots"] >= 2 and n in got["counts"], (root, got)
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "issue27_voila_explorers.png"), full_page=True)
            # not ours: Voilà's page links Font Awesome from a CDN (no network here), and Notebook 7's
            # extension, which Voilà loads too, misses a shared module of its own
            assert all("fontawesome" in f for f in failed), failed
            others = [e for e in errors if e != "Failed to load resource: net::ERR_NAME_NOT_RESOLVED"
                      and "@jupyter-notebook/lab-extension" not in e]
            assert not others, "\n\n".join(others)
        finally:
            context.close()
