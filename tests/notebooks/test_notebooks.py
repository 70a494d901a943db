"""Execute every example notebook top to bottom in a fresh kernel and fail on any cell error.

The kernel is the ``python3`` kernelspec run by *this* interpreter (jupyter_client replaces
the spec's ``python`` with ``sys.executable``), so the notebooks see the same environment as
the tests. Each notebook runs from a temporary copy, so files it writes and relative paths it
reads (notebook 04's checkpoint and data folder, absent there) stay out of the repository.
"""

from __future__ import annotations

import ast
import shutil
import sys
import time
from pathlib import Path

import nbformat
import pytest

nbclient = pytest.importorskip("nbclient")

NOTEBOOKS_DIR = Path(__file__).resolve().parents[2] / "notebooks"
NOTEBOOKS = ["01_tour.ipynb", "02_paper_study.ipynb", "03_teaching_persistence.ipynb", "04_your_model.ipynb"]
MAX_BYTES = 200_000
CELL_TIMEOUT_S = 600


def _read(name: str) -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOKS_DIR / name, as_version=4)


def _code_cells(nb) -> list[str]:
    return [cell.source for cell in nb.cells if cell.cell_type == "code"]


def _execute(nb, workdir: Path) -> nbformat.NotebookNode:
    client = nbclient.NotebookClient(nb, kernel_name="python3", timeout=CELL_TIMEOUT_S,
                                     resources={"metadata": {"path": str(workdir)}})
    client.execute()   # raises CellExecutionError, naming the cell and the traceback
    return nb


def test_the_four_notebooks_exist():
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


def test_kernel_runs_this_interpreter(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import sys; print(sys.executable)")])
    _execute(nb, tmp_path)
    printed = nb.cells[0].outputs[0]["text"].strip()
    assert Path(printed).resolve() == Path(sys.executable).resolve()


@pytest.mark.slow
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_top_to_bottom(name, tmp_path):
    shutil.copy(NOTEBOOKS_DIR / name, tmp_path / name)
    nb = _read(name)
    start = time.perf_counter()
    _execute(nb, tmp_path)
    elapsed = time.perf_counter() - start
    errors = [out for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs
              if out.get("output_type") == "error"]
    assert not errors, errors
    assert all(cell.execution_count is not None for cell in nb.cells if cell.cell_type == "code")
    print(f"{name}: {elapsed:.1f} s")   # shown with pytest -s or -rP
