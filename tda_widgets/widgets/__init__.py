"""Thin ipywidgets explorers over the study engine and the figure builders.

Imported lazily: ``from tda_widgets.widgets.thumbnails import ThumbnailPanel`` does not pull in
torch, the explorers do.
"""

import importlib

_LAZY = {
    "PersistenceExplorer": ".persistence",
    "LayerDistanceExplorer": ".distances",
    "MapperExplorer": ".mapper",
    "CrossModelExplorer": ".crossmodel",
    "Dashboard": ".dashboard",
    "FiltrationExplorer": ".filtration",
    "LayerMap": ".layer_map",
    "ThumbnailPanel": ".thumbnails",
}

__all__ = list(_LAZY)


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module 'tda_widgets.widgets' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name], __name__), name)
    globals()[name] = value
    return value
