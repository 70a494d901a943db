"""The notebook extension's Python side: the IPython extension (``%load_ext tda_widgets``).

:mod:`tda_widgets.extension.magics` holds the ``%tda`` magic; the rich display of results is
in :mod:`tda_widgets._display` (it works without loading the extension).
"""

from __future__ import annotations

__all__ = ["load_ipython_extension", "unload_ipython_extension"]


def load_ipython_extension(ipython) -> None:
    """Register the ``%tda`` magic (``%load_ext tda_widgets``)."""
    from .magics import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython) -> None:
    """Remove the ``%tda`` magic (``%unload_ext tda_widgets``)."""
    from .magics import unload_ipython_extension as unload

    unload(ipython)
