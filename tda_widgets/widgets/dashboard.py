"""Dashboard: the three explorers as tabs over one shared Study (one cache)."""

from __future__ import annotations

from typing import Optional

import ipywidgets as W

from ..engine.study import Study
from .study_helpers import make_study
from ._presets import explorer_preset
from .base import close_widgets
from .distances import LayerDistanceExplorer
from .mapper import MapperExplorer
from .persistence import PersistenceExplorer

__all__ = ["Dashboard"]


class Dashboard(W.Tab):
    """Persistence, layer distances and mapper explorers as tabs sharing one cache.

    The explorers are built when their tab is first opened, so opening the dashboard costs
    one computation, not three. Extra keyword arguments (``max_points=200``, ``metric=...``,
    ``n_cubes=...``) go to every explorer that takes them. ``preset`` (``"ph"``, ``"mapper"``;
    default: ``study``'s preset, if any; ``False``: none) gives the study it builds the preset's
    layers and number of images, and every explorer the preset's settings
    (a study preset, :mod:`tda_widgets.presets`; see :class:`PersistenceExplorer`).
    """

    TITLES = ("Persistence", "Layer distances", "Mapper")

    def __init__(self, model=None, images=None, labels=None, layers=None, *, class_names=None,
                 study: Optional[Study] = None, preset=None, threaded: bool = True, executor=None,
                 n_images: Optional[int] = None, **explorer_kwargs):
        self.preset = explorer_preset(preset, study)
        self.study = make_study(model, images, labels, layers, class_names=class_names, study=study,
                                executor=executor, n_images=n_images, preset=self.preset)
        self._preset = preset if preset is False else self.preset
        self._threaded = threaded
        self._kwargs = [self._accepted(cls, explorer_kwargs) for cls in (PersistenceExplorer, LayerDistanceExplorer,
                                                                          MapperExplorer)]
        unused = set(explorer_kwargs) - set().union(*self._kwargs)
        if unused:
            raise TypeError(f"Dashboard got settings no explorer takes: {sorted(unused)}. Settings such as "
                            "max_points, mode, metric, n_cubes are passed to the explorers that take them.")
        self._classes = (PersistenceExplorer, LayerDistanceExplorer, MapperExplorer)
        self.explorers: list = [None, None, None]
        placeholders = [W.VBox([W.HTML("opening…")]) for _ in self._classes]
        super().__init__(children=placeholders)
        for i, title in enumerate(self.TITLES):
            self.set_title(i, title)
        self.observe(self._on_tab, names="selected_index")
        self._open(0)

    @staticmethod
    def _accepted(cls, kwargs: dict) -> dict:
        import inspect

        names = inspect.signature(cls.__init__).parameters
        return {k: v for k, v in kwargs.items() if k in names}

    def _open(self, index: int):
        if self.explorers[index] is None:
            explorer = self._classes[index](study=self.study, preset=self._preset, threaded=self._threaded,
                                            **self._kwargs[index])
            self.explorers[index] = explorer
            children = list(self.children)
            placeholder, children[index] = children[index], explorer
            self.children = children
            close_widgets(placeholder)  # "opening…": no longer shown anywhere
        # never switches tabs: code reading dashboard.distances (the tour's check after Run All)
        # builds that tab's explorer and leaves the tab the person looks at where it was
        return self.explorers[index]

    def _on_tab(self, change) -> None:
        if change["new"] is not None:
            self._open(change["new"])

    @property
    def persistence(self) -> PersistenceExplorer:
        return self._open(0)

    @property
    def distances(self) -> LayerDistanceExplorer:
        return self._open(1)

    @property
    def mapper(self) -> MapperExplorer:
        return self._open(2)

    def close(self) -> None:
        """Close the explorers opened (their jobs end), the tabs and every widget they made."""
        for explorer in getattr(self, "explorers", ()):  # absent when __init__ raised
            if explorer is not None:
                explorer.close()
        close_widgets(self)
