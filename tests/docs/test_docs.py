"""The documentation site: its API reference lists every public name, its internal links
resolve, the Guarantees live once, and ``bash scripts/docs.sh`` builds it with no warning."""

from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
NAMESPACES = {"tda_widgets": "tda_widgets.rst", "tda_widgets.topology": "topology.rst",
              "tda_widgets.figures": "figures.rst"}

sys.path.insert(0, str(DOCS))
import execute_notebooks  # noqa: E402
from check_links import broken_links  # noqa: E402


def autosummary_entries(rst: str) -> list[str]:
    """The names listed under every ``.. autosummary::`` directive of a page."""
    names = []
    for block in re.split(r"^\.\. ", rst, flags=re.M):
        if block.startswith("autosummary::"):
            for line in block.splitlines()[1:]:
                if re.fullmatch(r"   [A-Za-z_][A-Za-z0-9_]*", line):
                    names.append(line.strip())
    return names


@pytest.mark.parametrize("namespace", list(NAMESPACES))
def test_the_api_reference_lists_every_public_name(namespace):
    module = importlib.import_module(namespace)
    listed = autosummary_entries((DOCS / "api" / NAMESPACES[namespace]).read_text())
    missing = sorted(set(module.__all__) - set(listed))
    assert not missing, f"{namespace}.__all__ names missing from docs/api/{NAMESPACES[namespace]}: {missing}"
    unknown = sorted(set(listed) - set(module.__all__))
    assert not unknown, f"docs/api/{NAMESPACES[namespace]} lists names {namespace} does not export: {unknown}"
    assert len(listed) == len(set(listed)), "a name listed twice"


def test_the_entry_parser_reads_only_autosummary_blocks():
    rst = ".. autosummary::\n   :toctree: generated\n\n   alpha\n   Beta\n\n.. note::\n\n   gamma\n"
    assert autosummary_entries(rst) == ["alpha", "Beta"]


def test_the_link_checker_reports_a_missing_page_and_a_missing_anchor(tmp_path):
    (tmp_path / "index.html").write_text(
        '<a href="page.html#here">ok</a><a href="page.html#gone">bad anchor</a>'
        '<a href="missing.html">bad page</a><a href="https://example.org/x">external</a><p id="top"></p>'
        '<a href="#top">self</a>')
    (tmp_path / "page.html").write_text('<h1 id="here">Page</h1>')
    problems = broken_links(tmp_path)
    assert len(problems) == 2, problems
    assert any("#gone" in p for p in problems) and any("missing.html" in p for p in problems)


def test_the_guarantees_live_once():
    assert not (DOCS / "GUARANTEES.md").exists()
    headline = "**Your model is never changed.**"
    files = [ROOT / "README.md", *DOCS.rglob("*.md")]
    holders = [p.relative_to(ROOT) for p in files
               if "_build" not in p.parts and headline in p.read_text()]
    assert holders == [Path("docs/guide/guarantees.md")], holders


FIGURE_DIV = re.compile(r'<div[^>]*class="plotly-graph-div"')


def plotly_figures(html: str) -> int:
    """Figures a page draws: the divs ``plotly.io.to_html`` writes, one per figure."""
    return len(FIGURE_DIV.findall(html))


def _executed_figures(notebook: Path) -> int:
    """Figures in the outputs of the notebook's execution (the copy the gallery renders)."""
    cells = json.loads(notebook.read_text())["cells"]
    return sum(plotly_figures("".join(out.get("data", {}).get("text/html", "")))
               for cell in cells for out in cell.get("outputs", []))


def test_the_site_copy_keeps_figures_and_drops_plotlyjs_and_widget_state():
    """The gallery's copy of an executed notebook (execute_notebooks.for_the_site): figures stay,
    the embedded plotly.js and the widgets' saved state go, an explorer's output becomes a note."""
    import nbformat
    import plotly.io as pio
    from plotly.offline import get_plotlyjs

    from tda_widgets.figures.notebook import lazy_plotlyjs

    figure = pio.to_html({"data": [{"type": "bar", "y": [1, 2]}]}, include_plotlyjs=False, full_html=False)
    view = {"application/vnd.jupyter.widget-view+json": {"model_id": "abc", "version_major": 2},
            "text/plain": "PersistenceExplorer(children=(...))"}
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x", outputs=[
        nbformat.v4.new_output("display_data", data=view),
        nbformat.v4.new_output("stream", name="stdout", text="block3: 200 points\n"),
        nbformat.v4.new_output("display_data", data={"text/html": lazy_plotlyjs(get_plotlyjs())}),  # the renderer's
        nbformat.v4.new_output("display_data", data={"text/html": figure, "application/vnd.plotly.v1+json": {}}),
    ])], metadata={"widgets": {"application/vnd.jupyter.widget-state+json": {"state": {"abc": {}}}}})
    site = execute_notebooks.for_the_site(nb)
    outputs = site.cells[0].outputs
    assert "widgets" not in site.metadata
    assert len(outputs) == 3 and outputs[1].text == "block3: 200 points\n"
    assert outputs[0].data == {"text/html": execute_notebooks.LIVE_WIDGET_NOTE, "text/plain": "(a live explorer)"}
    assert plotly_figures(outputs[2].data["text/html"]) == 1 and list(outputs[2].data) == ["text/html"]
    assert "* plotly.js v" not in json.dumps(site)


@pytest.mark.slow
@pytest.mark.timeout(1800)   # the first build of a run executes the five notebooks (~4 min quiet, 10 at load 15)
def test_the_site_builds_without_warnings_and_every_internal_link_resolves():
    if "CI" not in os.environ:
        pytest.importorskip("sphinx", reason="the docs extra: pip install -e '.[docs]'")
    env = dict(os.environ, PYTHON=sys.executable)
    env.pop("TDA_DOCS_EXECUTE", None)  # the default: the gallery's notebooks executed (or this run's execution read)
    result = subprocess.run(["bash", "scripts/docs.sh"], cwd=ROOT, capture_output=True, text=True, timeout=1700,
                            env=env)
    assert result.returncode == 0, (result.stdout + result.stderr)[-6000:]
    assert "0 broken internal links" in result.stdout
    html = DOCS / "_build" / "html"

    # every public name has its page, with the object's anchor
    for namespace in NAMESPACES:
        for name in importlib.import_module(namespace).__all__:
            page = html / "api" / "generated" / f"{namespace}.{name}.html"
            assert page.is_file(), page
            assert f'id="{namespace}.{name}"' in page.read_text(), page

    # the gallery: a page per notebook, executed at build time, with every figure of its execution
    # drawn as a static plotly figure by the plotly.js served with the site (no kernel, no network)
    assert (html / "_static" / "plotly.min.js").stat().st_size > 1_000_000
    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    assert len(notebooks) == 5  # the tour, the paper, the lesson, your model, beyond the paper
    for notebook in notebooks:
        page = (html / "gallery" / "notebooks" / f"{notebook.stem}.html").read_text()
        expected = _executed_figures(execute_notebooks.executed_notebook(notebook.name))   # this build's execution
        assert expected >= 2, (notebook.name, expected)           # every notebook draws figures (2 to 8 today)
        assert plotly_figures(page) == expected, (notebook.name, plotly_figures(page), expected)
        assert page.count("Plotly.newPlot") == expected
        assert "_static/plotly.min.js" in page and "* plotly.js v" not in page   # the site's one copy
        assert "widget-state+json" not in page and "embed-amd.js" not in page    # no widget manager from a CDN

    # today's numbers on the performance page, their history in the changelog
    performance = (html / "performance.html").read_text()
    assert "Latencies in the browser" in performance and "Before the fast path" not in performance
    assert "Before the fast path" in (html / "changelog.html").read_text()
    # the command line's flags, as this version prints them
    assert "--preset" in (html / "guide" / "report.html").read_text()
