"""PersistenceExplorer: one layer's persistence diagram and barcode, with linked thumbnails."""

from __future__ import annotations

from typing import Optional

import ipywidgets as W
import numpy as np
import traitlets as T

from ..engine.study import CloudSpec, Study
from ..figures.diagrams import barcode_figure, persistence_diagram_figure
from ..topology.persistence import PersistenceResult, PersistenceSpec, bar_points
from ._presets import every_point, explorer_preset, fit_points_slider, initial_settings, points_slider
from ..core.options import unset
from .controls import dropdown, layer_slider, row
from .plot import Plot, ViewCache
from .study_helpers import first_point, make_study, point_marks, thumbnail_panel
from .base import ExplorerBase
from ._saved import limit_to_file

__all__ = ["PersistenceExplorer"]

_CLOUD, _PH = CloudSpec(), PersistenceSpec()  # the declared defaults
_SIZE = dict(width=390, height=400)  # two side by side fit an 800 px output (_common.FIT_WIDTH)


class PersistenceExplorer(ExplorerBase):
    """Persistence diagram and barcode of one layer's point cloud; hover or click a point to
    see the images behind that bar.

    Parameters
    ----------
    model : torch.nn.Module
    images : tensor, ndarray, Dataset or DataLoader
    labels : array-like, optional
    layers : sequence of str, optional
        Layers offered (default: the model's direct children).
    class_names : sequence of str, optional
    study : Study, optional
        Share a cache with other explorers (the Dashboard does).
    preset : {"ph", "mapper"}, Preset or False, optional
        A study preset (:mod:`tda_widgets.presets`; default: ``study``'s preset, if
        any): its layers and number of images when the explorer builds the study, and the
        initial value of every setting left out (a value given wins, even one equal to its
        default; ``preset="ph"``: every Conv2d, ``image-top-l2`` clouds of every image, no rescaling); its cloud settings no control
        shows (activation, seed, ...) stay in :attr:`spec`. ``False``: no preset. What is
        computed is always what the controls show.
    layer, mode, max_points, maxdim, backend, scale
        Initial settings (also traits: set them to recompute); a value given other than the
        default wins over the preset's.
    threaded : bool, default True
        Run computations in a worker thread (with progress and Cancel).
    """

    layer = T.Unicode()
    mode = T.Unicode(_CLOUD.mode)
    max_points = T.Int(_CLOUD.max_points)
    maxdim = T.Int(_PH.maxdim)
    backend = T.Unicode(_PH.backend)
    scale = T.Unicode(_PH.scale)
    selected_bar = T.Tuple(allow_none=True, default_value=None)

    def __init__(self, model=None, images=None, labels=None, layers=None, *, class_names=None,
                 study: Optional[Study] = None, layer: Optional[str] = None, mode: str = unset(CloudSpec, "mode"),
                 max_points: int = unset(CloudSpec, "max_points"), maxdim: int = _PH.maxdim, backend: str = _PH.backend,
                 scale: str = unset(PersistenceSpec, "scale"), preset=None, threaded: bool = True, executor=None,
                 n_images: Optional[int] = None, autostart: bool = True):
        super().__init__(threaded=threaded)
        self.preset = explorer_preset(preset, study)
        #: The cloud settings the mode and points controls change (a preset's activation, seed, ...).
        self.base_spec, mode, max_points, filled = initial_settings(self.preset, mode, max_points, {"scale": scale})
        self.study = make_study(model, images, labels, layers, class_names=class_names, study=study,
                                executor=executor, n_images=n_images, preset=self.preset)
        names = list(self.study.layers)
        self.result_: Optional[PersistenceResult] = None
        self.cloud_ = None
        self._displayed_key = None
        self._views = ViewCache()  # the figures of each view shown, for a quick way back

        with self.hold_trait_notifications():
            self.layer = layer if layer is not None else names[0]
            self.mode, self.max_points, self.maxdim = mode, every_point(max_points, self.study, mode), int(maxdim)
            self.backend, self.scale = backend, filled["scale"]
        self.layer_slider = layer_slider(names)
        self.mode_dropdown = dropdown(CloudSpec, "mode")
        self.points_slider = points_slider(self.study, self.max_points, self.mode)
        # its top follows the mode's clouds (450 images: 450 points per image, 28,800 spatial)
        self.observe(lambda c: fit_points_slider(self.points_slider, self.study, c["new"]), names="mode")
        self.maxdim_dropdown = W.Dropdown(options=[("H0", 0), ("H0, H1", 1), ("H0, H1, H2", 2)],
                                          description="homology", tooltip=PersistenceSpec.options()["maxdim"].help,
                                          layout=W.Layout(width="200px"))
        self.backend_dropdown = dropdown(PersistenceSpec, "backend", width="200px")
        self.scale_dropdown = dropdown(PersistenceSpec, "scale", width="200px")
        self._link_controls((("layer", self.layer_slider), ("mode", self.mode_dropdown),
                               ("max_points", self.points_slider), ("maxdim", self.maxdim_dropdown),
                               ("backend", self.backend_dropdown), ("scale", self.scale_dropdown)))

        self.diagram_fig = Plot(persistence_diagram_figure([np.empty((0, 2))], title="computing…", **_SIZE))
        self.barcode_fig = Plot(barcode_figure([np.empty((0, 2))], title="", **_SIZE))
        self._bind_callbacks()
        self.thumbnails = thumbnail_panel(self.study)

        controls = W.VBox([
            row([self.layer_slider, self.mode_dropdown, self.points_slider]),
            row([self.maxdim_dropdown, self.backend_dropdown, self.scale_dropdown]),
        ])
        self.children = [controls, self.status_row, row([self.diagram_fig, self.barcode_fig]), self.thumbnails]

        limit_to_file(self, {"layer": self.layer_slider, "mode": self.mode_dropdown,  # a study opened from a file
                             "max_points": self.points_slider}, every_layer=False)
        self.observe(self._on_setting, names=["layer", "mode", "max_points", "maxdim", "backend", "scale"])
        if autostart:
            self.recompute()

    # ----------------------------------------------------------- controls

    def _on_setting(self, change) -> None:
        self.recompute()

    @property
    def spec(self) -> CloudSpec:
        """The cloud computed: :attr:`base_spec` with the mode and points controls' values."""
        return self.base_spec.replace(mode=self.mode, max_points=int(self.max_points))

    # ----------------------------------------------------------- compute

    def recompute(self) -> None:
        """Compute (or fetch from the cache) the current layer's diagrams, then redraw."""
        layer, spec, maxdim, backend, scale = self.layer, self.spec, self.maxdim, self.backend, self.scale
        study = self.study

        def work(progress, cancel):
            # preset=False: exactly the settings shown, never the study's preset in their place
            cloud = study.cloud(layer, spec, preset=False, progress=progress, cancel=cancel)
            result = study.diagrams([layer], spec, maxdim=maxdim, scale=scale, backend=backend,
                                    representatives=True, preset=False, progress=progress, cancel=cancel)[layer]
            return cloud, result

        self.jobs.submit(work, lambda out: self._show(layer, *out), label=f"persistence of {layer}")

    def _show(self, layer, cloud, result: PersistenceResult) -> None:
        self.cloud_, self.result_ = cloud, result
        # two lines: the layer first, the settings small below (one line was cut at 390 px)
        title = f"{layer} · persistence diagram"
        subtitle = (f"{cloud.mode} · {cloud.n_points} points in {cloud.n_dims} dims · {self.scale} scale · "
                    f"{result.backend}")
        key = (layer, self.mode, int(self.max_points), self.maxdim, self.backend, self.scale)
        figures = self._views.get(key, cloud, result) or self._views.put(key, (
            persistence_diagram_figure(list(result.diagrams), title=title, subtitle=subtitle, **_SIZE),
            barcode_figure(list(result.diagrams), title="barcode", **_SIZE)), cloud, result)
        self.diagram_fig.show(figures[0])
        self.barcode_fig.show(figures[1])
        self._remember_views([self.diagram_fig, self.barcode_fig])
        self.thumbnails.clear()
        self.selected_bar = None

    # ----------------------------------------------------------- linking

    def _bind_callbacks(self) -> None:
        for fig in (self.diagram_fig, self.barcode_fig):
            fig.on_hover(self._on_point)  # append=False: replaces, never stacks
            fig.on_click(self._on_point)

    def _on_point(self, plot, event) -> None:
        """A hover or click on a bar or point of the H0, H1, ... traces."""
        trace = event.trace
        index = first_point(event)
        if index is None or trace is None or not (trace.name or "").startswith("H") or trace.customdata is None:
            return
        try:
            dim, bar = int(trace.customdata[index][0]), int(trace.customdata[index][1])
            self.show_bar(dim, bar)
        except Exception as exc:  # a callback never raises into the front end
            self._on_state("error", self.format_exception(exc))

    def bar_images(self, dim: int, bar: int) -> np.ndarray:
        """Image indices behind bar ``bar`` of H_dim in the current diagram."""
        if self.result_ is None or self.cloud_ is None:
            return np.empty(0, dtype=np.int64)
        return self.cloud_.images_of(bar_points(self.result_, dim, bar))

    def show_bar(self, dim: int, bar: int) -> None:
        """Show the images behind a bar in the thumbnail panel."""
        images = self.bar_images(dim, bar)
        birth, death = self.result_.diagrams[dim][bar]
        what = "merging edge" if dim == 0 else "representative cycle"
        self.selected_bar = (dim, bar)
        marks = point_marks(self.cloud_, bar_points(self.result_, dim, bar), images)  # where the vectors sit
        self.thumbnails.show([int(i) for i in images],
                             title=f"H{dim} bar {bar} [{birth:.3g}, {death:.3g}) · {what}: {len(images)} images",
                             marks=marks)
