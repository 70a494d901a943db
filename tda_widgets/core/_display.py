"""Rich display of results: an interactive figure in a notebook, one line in a terminal.

A result class (``PersistenceResult``, ``MapperGraph``, ``PointCloud``, ``Comparison``,
``CheckpointGrid``) mixes in :class:`RichDisplay` and names its figure builder. Left as the
last expression of a cell, it is shown as a plotly figure: the bundle holds the
``application/vnd.plotly.v1+json`` mime type (JupyterLab, Notebook 7, VS Code render it
without a kernel-side widget, so it survives in a saved notebook) and a ``text/html``
fallback for exporters that do not know that mime type (nbconvert's HTML, nbviewer). In a
terminal, ``repr`` and IPython's pretty printer give a one-line summary.

This module imports nothing heavy and nothing above it: the figure builders
(:mod:`tda_widgets.figures.results`, plotly) are loaded, through the loader the package's top
installs (:func:`set_figure_builders`), only when a front end asks for the rich display, so the result classes'
own modules keep their light imports (tests/test_layering.py).
"""

from __future__ import annotations

from typing import Any, Callable, Optional

__all__ = ["RichDisplay", "one_line", "set_figure_builders"]


def one_line(text: Any) -> str:
    """``str(text)`` with every run of whitespace (newlines included) made one space."""
    return " ".join(str(text).split())


#: Where the figure builders come from: a callable returning a namespace of them, installed by
#: the package's top (``tda_widgets/__init__.py``, which sits above every floor), so this bottom
#: floor never reaches up to the figures.
_BUILDERS_LOADER: Optional[Callable[[], Any]] = None


def set_figure_builders(loader: Callable[[], Any]) -> None:
    """Install the loader of the figure builders (called once, by ``tda_widgets/__init__.py``)."""
    global _BUILDERS_LOADER
    _BUILDERS_LOADER = loader


def _builders() -> Any:
    if _BUILDERS_LOADER is None:  # pragma: no cover - the package's __init__ always installs it
        raise RuntimeError("no figure builders installed; import tda_widgets first")
    return _BUILDERS_LOADER()


class RichDisplay:
    """Mixin: ``summary()`` as ``repr``; ``figure()`` as the notebook's rich display.

    Subclasses define :meth:`summary` and set ``_figure_builder`` to the name of a function
    of :mod:`tda_widgets.figures.results` that takes the object and returns a
    ``go.Figure``. A dataclass that mixes this in must say ``repr=False`` (else the dataclass
    writes its own ``__repr__``).
    """

    __slots__ = ()
    _figure_builder: str = ""

    def summary(self) -> str:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def figure(self, **kwargs: Any):
        """The figure shown by the notebook's rich display, as a ``plotly.graph_objects.Figure``
        (keyword arguments go to the builder, e.g. ``width``)."""
        return getattr(_builders(), self._figure_builder)(self, **kwargs)

    def __repr__(self) -> str:
        return self.summary()

    def _repr_pretty_(self, printer, cycle: bool) -> None:
        printer.text(self.summary())

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        return _builders().result_mimebundle(self, include=include, exclude=exclude)
