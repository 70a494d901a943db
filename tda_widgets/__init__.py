"""tda-widgets: interactive topological data analysis of neural-network activations.

Public names are imported lazily so that ``import tda_widgets.topology`` does not pull in
torch or ipywidgets (the layering promised in DESIGN.md).
"""

from __future__ import annotations

import importlib

from ._version import __version__
from .core._display import set_figure_builders
from .core._imports import defer_rfc3987_syntax

defer_rfc3987_syntax()  # seconds off every kernel's first import of plotly (see _imports)
# The results' rich display finds its figure builders here, at the top of the package, so that
# the bottom floor (core) never imports the figures.
set_figure_builders(lambda: importlib.import_module("tda_widgets.figures.results"))


def _jupyter_labextension_paths():
    """The prebuilt JupyterLab extension (``jupyter labextension develop --overwrite .`` links it
    into an editable install; a normal install puts it in share/jupyter/labextensions)."""
    return [{"src": "labextension", "dest": "tda-widgets"}]


_LAZY = {
    # data
    "load_demo": "tda_widgets.data.digits",
    "DemoData": "tda_widgets.data.digits",
    "DigitsCNN": "tda_widgets.data.digits",
    # capture and clouds
    "capture_activations": "tda_widgets.capture",
    "resolve_layers": "tda_widgets.capture",
    "make_cloud": "tda_widgets.clouds",
    "PointCloud": "tda_widgets.clouds",
    "MODES": "tda_widgets.clouds",
    "DEMO_LAYERS": "tda_widgets.data.digits",
    "describe_layers": "tda_widgets.capture",
    # engine
    "Study": "tda_widgets.engine.study",
    "CloudSpec": "tda_widgets.clouds",
    "Comparison": "tda_widgets.engine.study",
    "PersistenceSpec": "tda_widgets.topology.persistence",
    "DistanceSpec": "tda_widgets.topology.distances",
    "CKASpec": "tda_widgets.topology.cka",
    "MapperSpec": "tda_widgets.topology.mapper",
    "select_layers": "tda_widgets.capture.layers",
    "LAYER_PRESETS": "tda_widgets.capture.layers",
    "PRESETS": "tda_widgets.capture.layers",  # the older name of LAYER_PRESETS (a DeprecationWarning)
    "estimate_study": "tda_widgets.engine.budget",
    "check_budget": "tda_widgets.engine.budget",
    "checkpoint_grid": "tda_widgets.engine.checkpoints",
    "CheckpointGrid": "tda_widgets.engine.checkpoints",
    "load_digits_checkpoints": "tda_widgets.data.digits",
    "load_digits_tensors": "tda_widgets.data.digits",
    "open_study": "tda_widgets.engine.saved",
    "StudyFileError": "tda_widgets.engine.saved",
    "NeedsModelError": "tda_widgets.engine.saved",
    # widgets
    "PersistenceExplorer": "tda_widgets.widgets",
    "LayerDistanceExplorer": "tda_widgets.widgets",
    "MapperExplorer": "tda_widgets.widgets",
    "CrossModelExplorer": "tda_widgets.widgets",
    "Dashboard": "tda_widgets.widgets",
    "FiltrationExplorer": "tda_widgets.widgets",
    "LayerMap": "tda_widgets.widgets",
    "ThumbnailPanel": "tda_widgets.widgets",
    # errors
    "TDAInputError": "tda_widgets.core.errors",
    "TDATypeError": "tda_widgets.core.errors",
    "BudgetExceededError": "tda_widgets.core.errors",
    "Cancelled": "tda_widgets.core.errors",
}

__all__ = sorted(set(_LAZY) - {"PRESETS"}) + ["__version__"]


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'tda_widgets' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return __all__


def load_ipython_extension(ipython) -> None:
    """``%load_ext tda_widgets``: register the ``%tda`` magic (see :mod:`tda_widgets.extension.magics`)."""
    from .extension import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython) -> None:
    """``%unload_ext tda_widgets``: remove the ``%tda`` magic."""
    from .extension import unload_ipython_extension as unload

    unload(ipython)
