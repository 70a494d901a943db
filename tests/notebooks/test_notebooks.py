"""Execute every example notebook top to bottom in a fresh kernel and fail on any cell error,
any warning or error text in a cell's output, and any figure missing from its HTML export.

The notebooks are executed once per change of a notebook or of the package, by
``docs/execute_notebooks.py``, whose executed copies the documentation's gallery renders too
(whichever of the two comes first in a run executes, the other reads the copy). The kernel is
the ``python3`` kernelspec run by *this* interpreter (jupyter_client replaces the spec's
``python`` with ``sys.executable``), so the notebooks see the same environment as the tests.
Each notebook runs in a temporary folder, so files it writes and relative paths it reads
(notebook 04's checkpoint, written there first, and its data folder, absent) stay out of the
repository.

Each executed notebook is exported with nbconvert's HTMLExporter (what ``jupyter nbconvert
--to html --execute`` writes) and its drawn figures are counted: plotly's ``plotly-graph-div``
elements, which only the ``text/html`` half of a figure's bundle writes (plotly 7's default
kernel renderer writes only its own MIME type, which an export drops). Set
``TDA_NOTEBOOK_HTML_DIR`` to keep the exports (e.g. to screenshot them).
"""

from __future__ import annotations

import ast
import json
import os
import re
import sys
from pathlib import Path

import nbformat
import pytest

nbclient = pytest.importorskip("nbclient")

NOTEBOOKS_DIR = Path(__file__).resolve().parents[2] / "notebooks"
sys.path.insert(0, str(NOTEBOOKS_DIR.parent / "docs"))
import execute_notebooks  # noqa: E402  (docs/execute_notebooks.py: the one execution, shared with the docs)

sys.path.remove(str(NOTEBOOKS_DIR.parent / "docs"))
NOTEBOOKS = ["01_tour.ipynb", "02_paper_study.ipynb", "03_teaching_persistence.ipynb", "04_your_model.ipynb",
             "05_beyond_the_paper.ipynb"]
#: How many plotly figures each notebook's HTML export draws (static figures, not widgets).
FIGURES = {"01_tour.ipynb": 4, "02_paper_study.ipynb": 5, "03_teaching_persistence.ipynb": 6,
           "04_your_model.ipynb": 2, "05_beyond_the_paper.ipynb": 8}
MAX_BYTES = 200_000


def _read(name: str) -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOKS_DIR / name, as_version=4)


def _code_cells(nb) -> list[str]:
    return [cell.source for cell in nb.cells if cell.cell_type == "code"]


def _execute(nb, workdir: Path) -> nbformat.NotebookNode:
    return execute_notebooks.execute(nb, workdir)   # raises CellExecutionError, naming the cell and the traceback


def test_the_five_notebooks_exist():
    found = sorted(p.name for p in NOTEBOOKS_DIR.glob("*.ipynb"))
    assert found == sorted(NOTEBOOKS)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_is_small_valid_and_stripped(name):
    path = NOTEBOOKS_DIR / name
    assert path.stat().st_size < MAX_BYTES, f"{name} is {path.stat().st_size} bytes"
    nb = _read(name)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{name}: outputs left in a cell"
            ast.parse(cell.source)       # every code cell is valid Python (no IPython magics)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_asserts_on_a_result(name):
    asserts = [node for source in _code_cells(_read(name)) for node in ast.walk(ast.parse(source))
               if isinstance(node, ast.Assert)]
    assert asserts, f"{name} has no assert in a code cell"


def test_notebooks_are_what_the_generator_writes(tmp_path):
    """The committed notebooks equal make_notebooks.py's output (edit the script, not the JSON)."""
    sys.path.insert(0, str(NOTEBOOKS_DIR))
    try:
        import make_notebooks
    finally:
        sys.path.remove(str(NOTEBOOKS_DIR))
    for name, cells in make_notebooks.NOTEBOOKS.items():
        generated = make_notebooks.notebook(cells)
        committed = _read(name)
        assert [c.source for c in committed.cells] == [c.source for c in generated.cells], name
        assert [c.cell_type for c in committed.cells] == [c.cell_type for c in generated.cells], name


def test_the_extension_ships_the_tour_as_it_is():
    """The JupyterLab extension's "Open the tour" copies its own copy: it must be the repository's."""
    shipped = NOTEBOOKS_DIR.parent / "tda_widgets" / "labextension" / "static" / "01_tour.ipynb"
    assert shipped.read_text() == (NOTEBOOKS_DIR / "01_tour.ipynb").read_text()


def test_kernel_runs_this_interpreter(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import sys; print(sys.executable)")])
    _execute(nb, tmp_path)
    printed = nb.cells[0].outputs[0]["text"].strip()
    assert Path(printed).resolve() == Path(sys.executable).resolve()


def _output_texts(nb):
    """(cell index, output type, text) of every stream, error and plain-text result."""
    for index, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            kind = out.get("output_type")
            if kind == "stream":
                yield index, f"stream:{out.get('name')}", out.get("text", "")
            elif kind == "error":
                yield index, "error", "\n".join(out.get("traceback", []))
            else:
                yield index, kind, out.get("data", {}).get("text/plain", "")


def _export_html(nb) -> str:
    from nbconvert import HTMLExporter

    html, _ = HTMLExporter().from_notebook_node(nb)
    return html


def drawn_figures(html: str) -> int:
    """Number of plotly figures an HTML page draws: the divs ``plotly.io.to_html`` writes."""
    return len(re.findall(r'<div[^>]*class="plotly-graph-div"', html))


#: What a clean output must not say.
NOISE = re.compile(r"Warning|Traceback|Error:|not JSON compliant|Message serialization failed")


@pytest.mark.slow
@pytest.mark.timeout(1800)   # under pytest-xdist it may wait for the docs build's execution of the notebooks first
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_top_to_bottom(name):
    path = execute_notebooks.executed_notebook(name)   # executes it, or reads this run's execution
    nb = nbformat.read(path, as_version=4)
    assert [c.source for c in nb.cells] == [c.source for c in _read(name).cells], "a stale executed copy"
    elapsed = json.loads(path.with_suffix(".json").read_text())["seconds"]
    errors = [out for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs
              if out.get("output_type") == "error"]
    assert not errors, errors
    assert all(cell.execution_count is not None for cell in nb.cells if cell.cell_type == "code")
    # no cell writes to stderr (warnings, log lines) or prints a warning or an error
    noisy = [(index, kind, text[:300]) for index, kind, text in _output_texts(nb)
             if kind == "stream:stderr" or NOISE.search(text)]
    assert not noisy, noisy

    html = _export_html(nb)
    if os.environ.get("TDA_NOTEBOOK_HTML_DIR"):
        out_dir = Path(os.environ["TDA_NOTEBOOK_HTML_DIR"])
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / name.replace(".ipynb", ".html")).write_text(html)
    assert drawn_figures(html) == FIGURES[name], (name, drawn_figures(html))
    # plotly.js is embedded once for the static figures, and no figure loads it (or MathJax) from
    # a CDN. (The saved widget state holds the plot widgets' shared copy too, when a notebook
    # shows an explorer: nbconvert stores every live model's state; counted apart.)
    page = re.sub(r'<script type="application/vnd\.jupyter\.widget-state\+json">.*?</script>', "", html,
                  flags=re.DOTALL)
    assert page.count("* plotly.js v") == (1 if FIGURES[name] else 0)
    assert not re.search(r'<script[^>]+src="https://cdn\.plot\.ly', html)
    assert "mathjax/3.2.2" not in html        # plotly's own MathJax link (nbconvert's page has its own)
    if name == "04_your_model.ipynb":   # the checkpoint execute_notebooks writes went through the own-module branch
        printed = "".join(text for _, kind, text in _output_texts(nb) if kind == "stream:stdout")
        assert "Loaded resnet18_cifar10.pt into cifar-resnet18 (11,173,962 parameters)." in printed, printed
        assert "Not in this model" not in printed
    print(f"{name}: executed in {elapsed:.1f} s, {drawn_figures(html)} figures in the HTML export")   # pytest -s or -rP
