"""LayerDistanceExplorer: PH distances between layers beside CKA; click a cell to see the two
layers' diagrams matched."""

from __future__ import annotations

from typing import Optional

import ipywidgets as W
import numpy as np
import traitlets as T

from ..engine.study import CloudSpec, Study
from ..figures.diagrams import matching_figure
from ..core.markup import escape
from ..figures.heatmaps import layer_distance_figure
from ..topology.agreement import as_dissimilarity
from ..topology.cka import CKASpec, rank_correlation
from ..topology.distances import DistanceSpec, matching
from ..topology.persistence import PersistenceSpec
from ..topology.similarity import MEASURE_INFO, MEASURES
from ._presets import every_point, explorer_preset, fit_points_slider, initial_settings, points_slider
from ..core.options import unset
from .controls import FIT_WIDTH, LABEL_STYLE, dropdown, row
from .plot import Plot, ViewCache
from .study_helpers import make_study
from .base import ExplorerBase
from ._saved import limit_to_file

__all__ = ["LayerDistanceExplorer"]

_CLOUD, _PH, _DIST, _CKA = CloudSpec(), PersistenceSpec(), DistanceSpec(), CKASpec()  # the declared defaults

DIMS_OPTIONS = [("H0", (0,)), ("H1", (1,)), ("H0 + H1", (0, 1))]
#: What the right-hand panel shows: CKA (as before) or one of the similarity measures.
COMPARE_OPTIONS = [("CKA", "cka")] + [(MEASURE_INFO[m].label, m) for m in MEASURES]


class LayerDistanceExplorer(ExplorerBase):
    """L x L heat map of diagram distances between layers beside (1 - CKA), with their Spearman
    rank correlation; click a cell to see the two layers' diagrams and the optimal matching.

    Parameters
    ----------
    model, images, labels, layers, class_names, study
        As for :class:`PersistenceExplorer`.
    preset : {"ph", "mapper"}, Preset or False, optional
        As for :class:`PersistenceExplorer` (default: ``study``'s preset, if any): every setting
        left out takes the preset's value (``preset="ph"``: every Conv2d, top-l2
        clouds, sliced Wasserstein on H1, no rescaling); ``False``: no preset.
    metric : {"bottleneck", "wasserstein-1", "wasserstein-2", "sliced-wasserstein"}
    dims : tuple of int, default (0, 1)
    mode : str, default "auto"
    max_points : int, default 500 (CloudSpec's)
    kernel : {"linear", "rbf"}
        CKA kernel.
    compare_with : {"cka", "rtd", "svcca", "pwcca", "procrustes", "rsa"}, default "cka"
        The right-hand panel: CKA, or a representational-similarity measure on the same clouds
        (:meth:`Study.similarity`, default options); Spearman ρ(PH, that measure) in the title.
    infinite : {"match", "error", "drop"}
        Infinite bars: matched separately (inf when their counts differ), an error, or dropped
        (see :class:`~tda_widgets.topology.DistanceSpec`).
    """

    metric = T.Unicode(_DIST.metric)
    dims = T.Tuple(_DIST.dims)
    mode = T.Unicode(_CLOUD.mode)
    max_points = T.Int(_CLOUD.max_points)
    scale = T.Unicode(_PH.scale)
    kernel = T.Unicode(_CKA.kernel)
    compare_with = T.Unicode("cka")
    infinite = T.Unicode(_DIST.infinite)
    selected_pair = T.Tuple(allow_none=True, default_value=None)

    def __init__(self, model=None, images=None, labels=None, layers=None, *, class_names=None,
                 study: Optional[Study] = None, metric: str = unset(DistanceSpec, "metric"), dims=unset(DistanceSpec, "dims"),
                 mode: str = unset(CloudSpec, "mode"), max_points: int = unset(CloudSpec, "max_points"),
                 scale: str = unset(PersistenceSpec, "scale"), kernel: str = _CKA.kernel,
                 infinite: str = unset(DistanceSpec, "infinite"), compare_with: str = "cka", preset=None, threaded: bool = True,
                 executor=None, n_images: Optional[int] = None, autostart: bool = True):
        super().__init__(threaded=threaded)
        self.preset = explorer_preset(preset, study)
        #: The cloud settings the mode and points controls change (a preset's activation, seed, ...).
        self.base_spec, mode, max_points, filled = initial_settings(
            self.preset, mode, max_points, dict(metric=metric, dims=dims, scale=scale, infinite=infinite))
        metric, dims, scale, infinite = filled["metric"], filled["dims"], filled["scale"], filled["infinite"]
        self.study = make_study(model, images, labels, layers, class_names=class_names, study=study,
                                executor=executor, n_images=n_images, preset=self.preset)
        self.result_: Optional[dict] = None
        #: The right-hand panel's measure and matrix when it is not CKA (else None).
        self.measure_: Optional[str] = None
        self.measure_matrix_: Optional[np.ndarray] = None
        with self.hold_trait_notifications():
            self.metric, self.dims, self.mode = metric, tuple(dims), mode
            self.max_points, self.scale, self.kernel = every_point(max_points, self.study, mode), scale, kernel
            self.infinite, self.compare_with = infinite, compare_with
        self.metric_dropdown = dropdown(DistanceSpec, "metric", width="260px")
        self.dims_dropdown = W.Dropdown(options=DIMS_OPTIONS, description="homology",
                                        tooltip=DistanceSpec.options()["dims"].help, layout=W.Layout(width="200px"),
                                        style=LABEL_STYLE)
        self.mode_dropdown = dropdown(CloudSpec, "mode")
        self.points_slider = points_slider(self.study, self.max_points, self.mode)
        # its top follows the mode's clouds (450 images: 450 points per image, 28,800 spatial)
        self.observe(lambda c: fit_points_slider(self.points_slider, self.study, c["new"]), names="mode")
        self.scale_dropdown = dropdown(PersistenceSpec, "scale", width="200px")
        self.kernel_dropdown = dropdown(CKASpec, "kernel", width="200px")
        self.infinite_dropdown = dropdown(DistanceSpec, "infinite", width="220px")
        self.compare_dropdown = W.Dropdown(options=COMPARE_OPTIONS, description="compare with",
                                           tooltip="the right-hand panel: CKA or a representational-similarity "
                                                   "measure on the same clouds", layout=W.Layout(width="240px"),
                                           style=LABEL_STYLE)  # the fixed 80 px label read "compare ..."
        self._link_controls((("metric", self.metric_dropdown), ("dims", self.dims_dropdown),
                               ("mode", self.mode_dropdown), ("max_points", self.points_slider),
                               ("scale", self.scale_dropdown), ("kernel", self.kernel_dropdown),
                               ("infinite", self.infinite_dropdown), ("compare_with", self.compare_dropdown)))

        n = len(self.study.layers)
        empty = np.zeros((n, n))
        self._views = ViewCache()  # the heat maps of each view shown
        self.heatmap_fig = Plot(layer_distance_figure(empty, empty, list(self.study.layers),
                                                              title="computing…", width=FIT_WIDTH))
        # until a cell is clicked, a line of text says what a click shows (an empty plot took 400 px)
        self.matching_fig = Plot(self._empty_matching(self.HINT))
        self.matching_box = W.Box([self.matching_fig], layout=W.Layout(display="none"))  # shown on a click
        self.matching_hint = W.HTML(escape(self.HINT))
        self._bind_callbacks()
        controls = W.VBox([
            row([self.metric_dropdown, self.dims_dropdown, self.kernel_dropdown, self.compare_dropdown]),
            row([self.mode_dropdown, self.points_slider, self.scale_dropdown, self.infinite_dropdown]),
        ])
        # every measure side by side (issue 18, 4): computed on demand, it runs them all
        self.table_button = W.Button(description="compare every measure", icon="table",
                                     tooltip="PH, CKA, RTD, SVCCA, PWCCA, Procrustes and RSA on these clouds: how "
                                             "they agree over the layer pairs, and whether each grows with depth",
                                     layout=W.Layout(width="220px"))
        self.table_button.on_click(lambda _: self.compare_every_measure())
        self.measures_fig = None
        self.measures_table_ = None
        self.children = [controls, self.status_row, self.heatmap_fig, self.matching_hint, self.matching_box,
                         self.table_button]
        limit_to_file(self, {"mode": self.mode_dropdown, "max_points": self.points_slider,  # opened from a file
                             "kernel": self.kernel_dropdown}, every_layer=True)
        self.observe(lambda change: self.recompute(),
                     names=["metric", "dims", "mode", "max_points", "scale", "kernel", "infinite", "compare_with"])
        if autostart:
            self.recompute()

    @property
    def spec(self) -> CloudSpec:
        """The clouds compared: :attr:`base_spec` with the mode and points controls' values."""
        return self.base_spec.replace(mode=self.mode, max_points=int(self.max_points))

    def recompute(self) -> None:
        """Compute (or fetch from the cache) both matrices, then redraw the heat maps."""
        spec, metric, dims, scale, kernel = self.spec, self.metric, tuple(self.dims), self.scale, self.kernel
        infinite, study, measure = self.infinite, self.study, self.compare_with

        def work(progress, cancel):
            # preset=False: exactly the settings shown, never the study's preset in their place
            result = study.compare(spec=spec, metric=metric, dims=dims, scale=scale, kernel=kernel,
                                   infinite=infinite, preset=False, progress=progress, cancel=cancel)
            if measure == "cka":
                return result, None, None
            return result, measure, study.similarity(measure, result.layers, spec, preset=False, progress=progress,
                                                     cancel=cancel)

        self.jobs.submit(work, self._show_with_measure, label=f"{metric} distances between layers")

    def compare_every_measure(self) -> None:
        """Compute the measures table (:meth:`Study.measures_table`) on the current settings and
        show it under the heat maps: each measure's agreement with the others over the layer
        pairs, and its layer monotonicity. Measures these clouds cannot give are named."""
        spec, metric, dims, scale, kernel, study = (self.spec, self.metric, tuple(self.dims), self.scale,
                                                    self.kernel, self.study)

        def work(progress, cancel):
            return study.measures_table(spec=spec, metric=metric, dims=dims, scale=scale, kernel=kernel,
                                        skip_errors=True, preset=False, progress=progress, cancel=cancel)

        self.jobs.submit(work, self._show_table, label="every measure")

    def _show_table(self, table) -> None:
        from ..figures.heatmaps import measures_table_figure

        self.measures_table_ = table
        skipped = f" · left out: {', '.join(sorted(table.skipped))}" if table.skipped else ""
        fig = measures_table_figure(table.labels, table.agreement, table.monotonicity, table.depth_correlation,
                                    title=f"every measure on these clouds{skipped}", width=FIT_WIDTH)
        if self.measures_fig is None:
            self.measures_fig = Plot(fig)
            self.children = list(self.children) + [self.measures_fig]
        else:
            self.measures_fig.show(fig)

    def _show_with_measure(self, outcome: tuple) -> None:
        result, self.measure_, self.measure_matrix_ = outcome
        self._show(result)

    def _show(self, result: dict) -> None:
        self.result_ = result
        rho = result["spearman"]
        right, kind, rho_label = result["cka"], "similarity", None
        name = f"{self.kernel} CKA" + (" (minibatch)" if result["cka_estimator"] == "minibatch" else "")
        if self.measure_ is not None:
            info = MEASURE_INFO[self.measure_]
            right, kind, name = self.measure_matrix_, info.kind, info.label
            rho_label = name if kind == "distance" else f"1 - {name}"
            ph = result["ph"]
            finite = len(result["layers"]) >= 3 and np.isfinite(ph).all() and np.isfinite(right).all()
            rho = rank_correlation(ph, as_dissimilarity(right, kind)) if finite else float("nan")
        # a view seen before (same settings, same numbers) is neither built nor serialised again
        key = ("heatmap", tuple(result["layers"]), result["metric"], tuple(result["dims"]), result["scale"], name,
               kind, rho_label, repr(float(rho)), np.asarray(result["ph"]).tobytes(), np.asarray(right).tobytes())
        fig = self._views.get(key) or self._views.put(key, layer_distance_figure(
            result["ph"], right, result["layers"], metric=result["metric"],
            rank_correlation=None if np.isnan(rho) else rho, scale=result["scale"], dims=result["dims"],
            cka_name=name, cka_kind=kind, rho_label=rho_label, width=FIT_WIDTH))
        self.heatmap_fig.show(fig)
        self._remember_views([self.heatmap_fig])
        self._bind_callbacks()
        shown = self._matching_settings()
        if self.selected_pair is not None and getattr(self, "_matching_shown", None) != shown:
            # the matching drawn belongs to other settings (metric, homology, cloud): never leave it
            # beside a heat map it contradicts
            self._hide_matching("settings changed: " + self.HINT)
            self.selected_pair = None

    def _matching_settings(self) -> tuple:
        r = self.result_
        return (r["metric"], tuple(r["dims"]), r["spec"], r["scale"], r["infinite"]) if r is not None else ()

    #: What the matching's place says before a cell is clicked.
    HINT = "click a cell of the PH heat map to see the two layers' diagrams and their matching"

    def _hide_matching(self, hint: str) -> None:
        """The matching plot hidden (an empty figure in it), a line of text in its place."""
        self.matching_fig.show(self._empty_matching(hint))
        self.matching_box.layout.display = "none"
        self.matching_hint.value = escape(hint)
        self.matching_hint.layout.display = None

    @staticmethod
    def _empty_matching(title: str):
        return matching_figure(np.empty((0, 2)), np.empty((0, 2)), np.empty((0, 2), dtype=int), title=title)

    def _bind_callbacks(self) -> None:
        self.heatmap_fig.on_click(self._on_cell)

    def _on_cell(self, plot, points) -> None:
        """A click on a cell of the PH heat map (``points``: a PlotEvent)."""
        if points.trace is None or points.trace.name != "ph" or not getattr(points, "xs", None):
            return
        try:
            layers = list(self.study.layers)
            self.show_pair(layers.index(points.ys[0]), layers.index(points.xs[0]))
        except Exception as exc:
            self._on_state("error", self.format_exception(exc))

    def show_pair(self, i: int, j: int, dim: Optional[int] = None) -> None:
        """Draw the diagrams of layers ``i`` and ``j`` (cached) in H_dim with their matching."""
        if self.result_ is None:
            return
        layers = self.result_["layers"]
        dim = max(self.result_["dims"]) if dim is None else dim
        diagrams = self.study.diagrams([layers[i], layers[j]], self.result_["spec"], maxdim=self.result_["maxdim"],
                                       scale=self.result_["scale"], preset=False)
        a = diagrams[layers[i]].diagrams[dim]
        b = diagrams[layers[j]].diagrams[dim]
        metric = self.result_["metric"] if self.result_["metric"] in ("bottleneck", "wasserstein-1", "wasserstein-2") \
            else "wasserstein-1"
        distance, pairs = matching(a, b, metric=metric)
        fig = matching_figure(a, b, pairs, names=(layers[i], layers[j]),
                              title=f"H{dim} of {layers[i]} vs {layers[j]} · {metric} matching · d = {distance:.3g}")
        self.matching_fig.show(fig)
        self.matching_box.layout.display = None
        self.matching_hint.layout.display = "none"
        self._matching_shown = self._matching_settings()
        self.selected_pair = (layers[i], layers[j])
