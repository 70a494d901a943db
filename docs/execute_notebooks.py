"""Execute the example notebooks once, for both the documentation's gallery and the notebook tests.

Running the five notebooks takes minutes, so one execution per change serves everyone: the
executed copies are kept in ``docs/_build/executed/`` (``TDA_NOTEBOOK_CACHE`` moves it), under a
key made of the notebook, the package's files, the code that executes it and the environment
(the interpreter and the installed distributions' versions). The documentation build
(``docs/conf.py``) renders those copies with execution off, and ``tests/notebooks`` checks the
same copies (errors, noise, figures in the HTML export), in whichever order the two come: a file lock per notebook makes a second caller (another pytest-xdist
worker, a docs build) wait for the first and then read its result. A changed notebook or a
changed package file is executed again; a failed execution is not kept (the error is raised to
the caller, naming the cell).

Each notebook runs in a fresh kernel (the ``python3`` kernelspec run by this interpreter:
jupyter_client replaces the spec's ``python`` with ``sys.executable``) from a temporary folder, so
files it writes stay out of the repository. Notebook 04 finds there a training checkpoint of the
usual CIFAR ResNet-18 (``module.`` prefixes, nested under ``state_dict``, as DataParallel saves it),
so its own-module branch runs ``load_checkpoint``.

Usage: ``python docs/execute_notebooks.py [NAME ...]`` executes (or finds) the notebooks and
prints what each cost, cell by cell for the slowest cells.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import inspect
import json
import os
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS_DIR = ROOT / "notebooks"
PACKAGE_DIR = ROOT / "tda_widgets"
CELL_TIMEOUT_S = 600
#: The file notebook 04 loads when it exists (its ``CHECKPOINT``).
CIFAR_CHECKPOINT = "resnet18_cifar10.pt"


def cache_dir() -> Path:
    """Where executed copies are kept: ``$TDA_NOTEBOOK_CACHE`` or ``docs/_build/executed``."""
    return Path(os.environ.get("TDA_NOTEBOOK_CACHE") or ROOT / "docs" / "_build" / "executed")


def notebook_names() -> list[str]:
    """The example notebooks, by file name, in order."""
    return sorted(p.name for p in NOTEBOOKS_DIR.glob("*.ipynb"))


def _package_digest() -> str:
    """Every file a kernel may read from the package (the prebuilt JupyterLab extension aside)."""
    digest = hashlib.sha256()
    for path in sorted(PACKAGE_DIR.rglob("*")):
        parts = path.relative_to(PACKAGE_DIR).parts
        if path.is_file() and "__pycache__" not in parts and parts[0] != "labextension" and path.suffix != ".pyc":
            digest.update(str(path.relative_to(ROOT)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _environment() -> str:
    """The interpreter and every installed distribution's version (an upgrade executes again)."""
    from importlib.metadata import distributions

    versions = sorted(f"{d.metadata['Name']}=={d.version}" for d in distributions())
    return "\n".join([sys.prefix, sys.version, *versions])


def execution_key(name: str, package_digest: str | None = None) -> str:
    """What an executed copy depends on: the notebook, the package, how it is executed here (the
    code of :func:`execute` and :func:`write_cifar_checkpoint`), the environment."""
    digest = hashlib.sha256()
    digest.update((NOTEBOOKS_DIR / name).read_bytes())
    digest.update((package_digest or _package_digest()).encode())
    digest.update((inspect.getsource(execute) + inspect.getsource(write_cifar_checkpoint)).encode())
    digest.update(_environment().encode())
    return digest.hexdigest()


def write_cifar_checkpoint(path: Path) -> None:
    """A training checkpoint of the usual CIFAR ResNet-18 (3 x 3 ``conv1``, no max-pool), as a
    DataParallel run saves it (``module.`` prefixes, nested under ``state_dict``); seeded weights."""
    import torch
    import torchvision
    from torch import nn

    torch.manual_seed(1)
    net = torchvision.models.resnet18(num_classes=10)
    net.conv1 = nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
    net.maxpool = nn.Identity()
    state = {f"module.{key}": value for key, value in net.state_dict().items()}
    torch.save({"state_dict": state, "epoch": 7}, path)


def execute(nb, workdir: Path):
    """Run ``nb`` (a NotebookNode, changed in place) in a fresh kernel in ``workdir``; raises
    nbclient's CellExecutionError, naming the cell and the traceback, on the first error."""
    import nbclient

    client = nbclient.NotebookClient(nb, kernel_name="python3", timeout=CELL_TIMEOUT_S,
                                     resources={"metadata": {"path": str(workdir)}})
    client.execute()
    return nb


def cell_seconds(nb) -> list[tuple[int, float]]:
    """(cell index, seconds) of every executed code cell, from the timing nbclient records."""
    out = []
    for index, cell in enumerate(nb.cells):
        timing = cell.get("metadata", {}).get("execution", {})
        start, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
        if start and end:
            seconds = (datetime.fromisoformat(end.replace("Z", "+00:00"))
                       - datetime.fromisoformat(start.replace("Z", "+00:00"))).total_seconds()
            out.append((index, seconds))
    return out


@contextlib.contextmanager
def _locked(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def executed_notebook(name: str, package_digest: str | None = None) -> Path:
    """The path of ``name`` executed top to bottom, executing it only if no copy for the same
    notebook, package and interpreter is kept. Next to it, ``NAME.json`` records the key, the
    seconds the execution took and each cell's seconds."""
    import nbformat

    cache = cache_dir()
    key = execution_key(name, package_digest)
    target, record = cache / name, cache / f"{Path(name).stem}.json"
    with _locked(cache / f"{Path(name).stem}.lock"):
        if target.exists() and record.exists() and json.loads(record.read_text()).get("key") == key:
            return target
        nb = nbformat.read(NOTEBOOKS_DIR / name, as_version=4)
        start = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="tda-notebook-") as workdir:
            if name.startswith("04_"):
                write_cifar_checkpoint(Path(workdir) / CIFAR_CHECKPOINT)
            execute(nb, Path(workdir))
        seconds = time.perf_counter() - start
        partial = target.with_suffix(".partial")
        nbformat.write(nb, partial)
        os.replace(partial, target)
        record.write_text(json.dumps({"key": key, "seconds": round(seconds, 2), "cells": cell_seconds(nb)}))
    return target


def executed_notebooks(names: list[str] | None = None) -> dict[str, Path]:
    """Every notebook (or those named) executed, as :func:`executed_notebook` keeps them."""
    digest = _package_digest()
    return {name: executed_notebook(name, digest) for name in (names or notebook_names())}


PLOTLY_JSON = "application/vnd.plotly.v1+json"
#: What a live explorer's output says on a static page (its widget state is not shipped).
LIVE_WIDGET_NOTE = ('<p class="tda-live-widget"><em>An explorer: live in JupyterLab or Notebook 7, where a '
                    'kernel answers its controls. The static figures below show what it draws.</em></p>')


def _is_plotly_js(output) -> bool:
    """The output in which the notebook's figure renderer embeds plotly.js itself (once)."""
    html = "".join(output.get("data", {}).get("text/html", ""))
    return html.lstrip().startswith("<script") and "* plotly.js v" in html[:2000] and "plotly-graph-div" not in html


def for_the_site(nb):
    """An executed notebook as the site shows it, changed in place and returned.

    - The output embedding plotly.js goes: every page loads the site's one copy
      (``_static/plotly.min.js``, see ``html_js_files``), so the figures' divs draw without a
      kernel, a CDN or 4.6 MB of script per page; a figure's plotly JSON (what JupyterLab
      draws) goes too, as the page draws the figure's HTML and myst-nb knows no plotly renderer.
    - The widgets' saved state goes (with it, myst-nb's loaders of the ipywidgets HTML manager
      from a CDN): each explorer's output becomes a short note; its static figures follow it.
    """
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        outputs = []
        for output in cell.get("outputs", []):
            if _is_plotly_js(output):
                continue
            data = output.get("data", {})
            if "application/vnd.jupyter.widget-view+json" in data:
                output["data"] = {"text/html": LIVE_WIDGET_NOTE, "text/plain": "(a live explorer)"}
            elif PLOTLY_JSON in data and "text/html" in data:
                del data[PLOTLY_JSON]    # the live front ends' half of the bundle; the page draws the HTML
            outputs.append(output)
        cell["outputs"] = outputs
    return nb


def main(argv: list[str]) -> int:
    import nbformat

    for name, path in executed_notebooks(argv[1:] or None).items():
        record = json.loads((path.parent / f"{path.stem}.json").read_text())
        nb = nbformat.read(path, as_version=4)
        slow = sorted(record["cells"], key=lambda pair: -pair[1])[:5]
        cells = ", ".join(f"cell {i}: {s:.1f} s" for i, s in slow)
        print(f"{name}: {record['seconds']:.1f} s in all, cells {sum(s for _, s in record['cells']):.1f} s; "
              f"slowest {cells}")
        for index, seconds in slow:
            first = nb.cells[index].source.strip().splitlines()[0][:100]
            print(f"    [{index}] {seconds:6.1f} s  {first}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
