"""Sphinx configuration of the tda-widgets documentation.

Built offline by ``bash scripts/docs.sh`` (warnings are errors) and by Read the Docs
(``.readthedocs.yaml``). No extension reaches the network: intersphinx is off, and names of
numpy, torch, plotly and ipywidgets are linked through the small inventory stored in
``docs/_inventories`` (made offline by ``docs/_inventories/make_inventory.py``).

The gallery's notebooks are executed at build time by ``docs/execute_notebooks.py``, once per
change of a notebook or of the package (the executed copies are kept in ``docs/_build/executed``
and tests/notebooks checks the same copies); ``TDA_DOCS_EXECUTE=0`` shows the stored, stripped
notebooks instead (a preview without figures).
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))

import tda_widgets  # noqa: E402

sys.path.insert(0, str(DOCS))
import execute_notebooks  # noqa: E402  (docs/execute_notebooks.py: the gallery's one execution)

project = "tda-widgets"
author = "The tda-widgets developers"
copyright = "2026, the tda-widgets developers"
version = release = tda_widgets.__version__

extensions = [
    "myst_nb",                       # Markdown pages (myst-parser) and the notebooks of the gallery
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "sphinx.ext.mathjax",
    "sphinx.ext.intersphinx",        # only local inventories: see intersphinx_mapping
]

# ---- sources ------------------------------------------------------------------------------------
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
exclude_patterns = ["_build", "**.ipynb_checkpoints", "_inventories", "jupyter_execute"]
templates_path = ["_templates"]
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

# ---- API reference --------------------------------------------------------------------------------
autosummary_generate = True
autosummary_imported_members = True
autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "none"                 # numpydoc's Parameters sections say the types
numpydoc_show_class_members = False        # the class template lists members
numpydoc_class_members_toctree = False
numpydoc_validation_checks: set[str] = set()
numpydoc_xref_param_type = True            # types in Parameters / Returns link where they can
# words of the types' prose; every other word is tried as a Python name (unresolved ones stay text)
numpydoc_xref_ignore = {"optional", "default", "of", "or", "and", "shape", "the", "a", "an", "in", "to",
                        "with", "each", "per", "one", "same", "as", "like", "for", "from", "any", "its",
                        "if", "else", "by", "on", "is", "not", "none", "keyword", "only", "positive",
                        "non-negative", "length", "name", "names", "layer", "layers", "images", "points"}
numpydoc_xref_aliases = {
    **{name: name for name in (
        "numpy.ndarray", "torch.nn.Module", "torch.Tensor", "torch.device", "torch.utils.data.Dataset",
        "torch.utils.data.DataLoader", "plotly.graph_objects.Figure", "plotly.graph_objects.FigureWidget")},
    # numpydoc's own defaults for these are :term: and :ref: roles into Python's and NumPy's
    # docs, which warn without those inventories; plain object names do not
    "array-like": "numpy.typing.ArrayLike",
    "array_like": "numpy.typing.ArrayLike",
    "sequence": "collections.abc.Sequence",
    "iterable": "collections.abc.Iterable",
    "generator": "collections.abc.Generator",
    "bool": "bool",
    "boolean": "bool",
    "scalar": "numpy.generic",
    "ndarray": "numpy.ndarray",
    "np.ndarray": "numpy.ndarray",
    "nn.Module": "torch.nn.Module",
    "Module": "torch.nn.Module",
    "Tensor": "torch.Tensor",
    "torch.Tensor": "torch.Tensor",
    "Dataset": "torch.utils.data.Dataset",
    "DataLoader": "torch.utils.data.DataLoader",
    "go.Figure": "plotly.graph_objects.Figure",
    "FigureWidget": "plotly.graph_objects.FigureWidget",
    "go.FigureWidget": "plotly.graph_objects.FigureWidget",
    "Study": "tda_widgets.Study",
    "CloudSpec": "tda_widgets.CloudSpec",
    "PointCloud": "tda_widgets.PointCloud",
    "PersistenceResult": "tda_widgets.topology.PersistenceResult",
    "MapperGraph": "tda_widgets.topology.MapperGraph",
}

# Cross-references to numpy, torch, plotly and ipywidgets without network: an inventory made
# offline from a hand-kept table (see _inventories/make_inventory.py); no remote inventory is read.
intersphinx_mapping = {
    "numpy": ("https://numpy.org/doc/stable/", str(DOCS / "_inventories" / "numpy.inv")),
    "torch": ("https://docs.pytorch.org/docs/stable/", str(DOCS / "_inventories" / "torch.inv")),
    "plotly": ("https://plotly.com/python-api-reference/", str(DOCS / "_inventories" / "plotly.inv")),
    "ipywidgets": ("https://ipywidgets.readthedocs.io/en/stable/", str(DOCS / "_inventories" / "ipywidgets.inv")),
}
intersphinx_timeout = 1

# ---- the gallery ------------------------------------------------------------------------------------
# The notebooks are executed at build time, once: docs/execute_notebooks.py runs each in a fresh
# kernel and keeps the executed copy (docs/_build/executed, keyed by the notebook, the package
# and the interpreter), which tests/notebooks checks too; a second build with nothing changed runs
# nothing. myst-nb renders the copies with its own execution off. TDA_DOCS_EXECUTE=0 shows the
# stored (stripped) notebooks instead: a quick preview of the prose, without outputs.
GALLERY = DOCS / "gallery"
NOTEBOOKS = ROOT / "notebooks"
execute = os.environ.get("TDA_DOCS_EXECUTE", "1").lower() not in {"0", "false", "no"}
nb_execution_mode = "off"
nb_merge_streams = True


def _gallery_sources() -> dict[str, Path]:
    """Each notebook's file to show: its executed copy, or the repository's stripped notebook."""
    if not execute:
        return {p.name: p for p in sorted(NOTEBOOKS.glob("*.ipynb"))}
    return execute_notebooks.executed_notebooks()


def _copy_notebooks() -> None:
    """The gallery's notebooks, written to docs/gallery/notebooks only when they change (so
    Sphinx rereads only those; Read the Docs and a plain ``sphinx-build`` see the same files)."""
    import nbformat

    target = GALLERY / "notebooks"
    target.mkdir(parents=True, exist_ok=True)
    sources = _gallery_sources()
    for old in target.glob("*.ipynb"):
        if old.name not in sources:
            old.unlink()
    for name, source in sources.items():
        nb = nbformat.read(source, as_version=4)
        text = nbformat.writes(execute_notebooks.for_the_site(nb) if execute else nb)
        dest = target / name
        if not dest.exists() or dest.read_text() != text:
            dest.write_text(text)


def _write_generated() -> None:
    """Text the pages include, made from the package itself so it cannot drift."""
    out = DOCS / "_generated"
    out.mkdir(exist_ok=True)
    from tda_widgets.__main__ import main

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer), contextlib.suppress(SystemExit):
        os.environ["COLUMNS"] = "100"
        main(["report", "--help"])
    text = buffer.getvalue().replace(Path(sys.argv[0]).name, "python -m tda_widgets", 1)
    path = out / "report_help.txt"
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


def _copy_plotly_js() -> None:
    """plotly.js from the installed plotly package, so the gallery's figures draw offline."""
    from plotly.offline import get_plotlyjs

    static = DOCS / "_static"
    static.mkdir(exist_ok=True)
    path = static / "plotly.min.js"
    code = get_plotlyjs()
    if not path.exists() or path.read_text() != code:
        path.write_text(code)


_copy_notebooks()
_write_generated()
_copy_plotly_js()

# ---- HTML -------------------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"tda-widgets {release}"
html_static_path = ["_static"]
html_js_files = ["plotly.min.js"]
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "navbar_align": "left",
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_context = {"default_mode": "light"}
html_show_sourcelink = False
html_copy_source = False

# The link check of scripts/docs.sh covers internal links (tests/docs/test_docs_build.py);
# external ones are not checked (no network in CI).
linkcheck_ignore = [r"https?://.*"]
