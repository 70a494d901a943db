"""CrossModelExplorer: the layers of model A against the layers of model B (differently seeded
runs, wider models, checkpoints), with any measure, each row's best match marked, Kornblith et
al.'s fraction of layers identified per measure, and the principal-component sensitivity test
of the layer chosen."""

from __future__ import annotations

from typing import Optional

import ipywidgets as W
import numpy as np
import traitlets as T

from ..engine import presets as _presets
from ..engine.study import CloudSpec, Study
from ..engine.crossmodel import MEASURE_LABELS, MEASURES, _as_models, cross_model_matrix
from ..engine import shared_cache
from ..core.errors import TDAInputError
from ..figures.crossmodel import cross_model_figure, identification_figure
from ..figures.sensitivity import sensitivity_figure
from ..topology.distances import DistanceSpec
from ..topology.identification import identified_layers
from ..topology.persistence import PersistenceSpec
from .controls import FIT_WIDTH, dropdown, layer_slider, row
from .plot import Plot
from ._presets import every_point, points_slider
from ..core.options import NOT_GIVEN, unset
from .base import ExplorerBase
from .distances import DIMS_OPTIONS

__all__ = ["CrossModelExplorer"]

_CLOUD, _PH, _DIST = CloudSpec(), PersistenceSpec(), DistanceSpec()  # the declared defaults
MEASURE_OPTIONS = [(MEASURE_LABELS[m], m) for m in MEASURES]
#: The sensitivity test removes components in steps of the study's 4, or in at most this many
#: steps for wide layers (each step is one persistence computation).
SENSITIVITY_STEP, SENSITIVITY_MAX_STEPS = 4, 8


def sensitivity_step(n_features: int) -> int:
    """The step of the explorer's sensitivity test for a cloud of ``n_features`` dimensions:
    the study's 4, or larger so that there are at most :data:`SENSITIVITY_MAX_STEPS` steps."""
    return max(SENSITIVITY_STEP, -(-int(n_features) // SENSITIVITY_MAX_STEPS))


class CrossModelExplorer(ExplorerBase):
    """One measure between every layer of model A (rows) and every layer of model B (columns),
    each row's best match marked (a star where it is the corresponding layer), the fraction of
    layers identified per measure and model (Kornblith et al. 2019), and on demand the
    sensitivity test of the chosen layer of A.

    Parameters
    ----------
    models : list or mapping
        ``[A, B, ...]`` or ``{label: model}``: the first an ``nn.Module``, the others models with
        the same layer names or checkpoints of A's architecture (see
        :func:`tda_widgets.crossmodel.cross_model_comparison`).
    images, labels, layers, class_names
        The images every model sees, as for :class:`LayerDistanceExplorer`; ``layers`` names
        layers every model has (default: the preset's, else the children).
    preset : {"ph", "mapper"}, optional
        A study preset (:mod:`tda_widgets.presets`): its layers, number of images and the
        value of every setting left out; ``"ph"`` is the study's own cross-seed test
        (every Conv2d, top-l2 clouds of all images, sliced Wasserstein on H1, no rescaling).
    measure : str, default "ph"
        One of :data:`tda_widgets.crossmodel.MEASURES`: PH (under ``metric`` and ``dims``),
        linear CKA, RTD, SVCCA, PWCCA, Procrustes, RSA.
    model_b : str, optional
        The label of the model shown as columns (default: the second model).
    layer : str, optional
        The layer of A outlined in the heat map and used by the sensitivity test.
    metric, dims, mode, max_points, scale, infinite
        As for :class:`LayerDistanceExplorer` (the PH measure and the clouds).
    n_images, seed : int, optional
        A seeded sample of the images, the same for every model.
    """

    measure = T.Unicode("ph")
    model_b = T.Unicode()
    layer = T.Unicode()
    metric = T.Unicode(_DIST.metric)
    dims = T.Tuple(_DIST.dims)
    mode = T.Unicode(_CLOUD.mode)
    max_points = T.Int(_CLOUD.max_points)
    scale = T.Unicode(_PH.scale)
    infinite = T.Unicode(_DIST.infinite)

    def __init__(self, models, images=None, labels=None, layers=None, *, class_names=None, preset=None,
                 measure: str = "ph", model_b: Optional[str] = None, layer: Optional[str] = None,
                 metric: str = unset(DistanceSpec, "metric"), dims=unset(DistanceSpec, "dims"),
                 mode: str = unset(CloudSpec, "mode"), max_points: int = unset(CloudSpec, "max_points"),
                 scale: str = unset(PersistenceSpec, "scale"), infinite: str = unset(DistanceSpec, "infinite"),
                 n_images: Optional[int] = None, seed: int = 0, threaded: bool = True, autostart: bool = True):
        super().__init__(threaded=threaded)
        where = "CrossModelExplorer"
        if images is None:
            raise TDAInputError(f"{where} needs the images every model sees: CrossModelExplorer([model_a, model_b, "
                                "...], images).")
        filled = _presets.apply(preset, dict(metric=metric, dims=dims, scale=scale, infinite=infinite))
        #: The cloud settings the mode and points controls change (a preset's activation, seed, ...):
        #: the preset's cloud (else the declared one) with the mode and points given.
        self.base_spec: CloudSpec = _presets.apply_spec(preset, "spec", CloudSpec, NOT_GIVEN, mode=mode,
                                                        max_points=max_points)
        labels_, loaded = _as_models(models, where)
        self.model_labels = [str(label) if not isinstance(label, int) else f"model {label}" for label in labels_]
        if len(set(self.model_labels)) != len(self.model_labels):
            raise TDAInputError(f"The models of {where} need distinct labels. Got {self.model_labels}.")
        self.studies = {label: Study(model, images, labels, layers, class_names=class_names, preset=preset,
                                     n_images=n_images, seed=seed, cache=shared_cache(model))
                        for label, model in zip(self.model_labels, loaded)}
        self.study = self.studies[self.model_labels[0]]  # model A
        names = list(self.study.layers)
        for label, study in self.studies.items():
            if list(study.layers) != names:
                raise TDAInputError(f"Model {label!r} has layers {list(study.layers)}, model A has {names}; "
                                    f"{where} pairs layers by name. Pass layers= names every model has.")
        self.layers = names
        others = self.model_labels[1:]
        with self.hold_trait_notifications():
            self.measure = measure
            self.model_b = others[0] if model_b is None else str(model_b)
            self.layer = names[0] if layer is None else layer
            self.metric, self.dims, self.mode = filled["metric"], tuple(filled["dims"]), self.base_spec.mode
            self.max_points = every_point(self.base_spec.max_points, self.study)  # a preset's "every point" too
            self.scale, self.infinite = filled["scale"], filled["infinite"]

        #: Results: the current measure's matrix per other model, and the fraction of layers
        #: identified per measure and model for the current settings (filled as measures run).
        self.matrices_: dict = {}
        self.shown_measure_: Optional[str] = None
        self.fractions_: dict = {}
        self.skipped_: dict = {}
        self.sensitivity_ = None
        self._fraction_settings = None

        self.model_dropdown = W.Dropdown(options=others, description="model B", style={"description_width": "initial"},
                                         tooltip="the model whose layers are the columns", layout=W.Layout(width="220px"))
        self.measure_dropdown = W.Dropdown(options=MEASURE_OPTIONS, description="measure",
                                           tooltip="PH distance (metric and homology below), linear CKA, or a "
                                                   "representational-similarity measure on the same clouds",
                                           style={"description_width": "initial"}, layout=W.Layout(width="220px"))
        self.metric_dropdown = dropdown(DistanceSpec, "metric", width="260px")
        self.dims_dropdown = W.Dropdown(options=DIMS_OPTIONS, description="homology",
                                        tooltip=DistanceSpec.options()["dims"].help, layout=W.Layout(width="200px"))
        self.mode_dropdown = dropdown(CloudSpec, "mode")
        self.points_slider = points_slider(self.study, self.max_points)
        self.scale_dropdown = dropdown(PersistenceSpec, "scale", width="200px")
        self.infinite_dropdown = dropdown(DistanceSpec, "infinite", width="220px")
        self.layer_slider = layer_slider(names, width="300px")
        self._link_controls((("model_b", self.model_dropdown), ("measure", self.measure_dropdown),
                             ("metric", self.metric_dropdown), ("dims", self.dims_dropdown),
                             ("mode", self.mode_dropdown), ("max_points", self.points_slider),
                             ("scale", self.scale_dropdown), ("infinite", self.infinite_dropdown),
                             ("layer", self.layer_slider)))

        empty = np.full((len(names), len(names)), np.nan)
        self.heatmap_fig = Plot(cross_model_figure(empty, names, names, model_a=self.model_labels[0],
                                                           model_b=self.model_b, title="computing…", width=FIT_WIDTH))
        self.identified_fig = Plot(identification_figure(
            {MEASURE_LABELS[self.measure]: {label: np.nan for label in others}}, width=FIT_WIDTH))
        self._bind_callbacks()
        self.identify_button = W.Button(description="identify with every measure", icon="table",
                                        tooltip="the fraction of layers identified by every measure, against every "
                                                "model (Kornblith et al. 2019)", layout=W.Layout(width="220px"))
        self.identify_button.on_click(lambda _: self.identify_every_measure())
        self.sensitivity_button = W.Button(description="sensitivity of this layer", icon="line-chart",
                                           tooltip="remove the layer's principal components in steps and plot PH and "
                                                   "CKA distances to the original (Ding et al. 2021)",
                                           layout=W.Layout(width="200px"))
        self.sensitivity_button.on_click(lambda _: self.show_sensitivity())
        self.sensitivity_fig = None
        # rows that fit an 800 px output (FIT_WIDTH) whole: what is compared, the PH measure's
        # settings, the clouds', then the layer and what to do with it
        controls = W.VBox([
            row([self.model_dropdown, self.measure_dropdown, self.metric_dropdown]),
            row([self.dims_dropdown, self.scale_dropdown, self.infinite_dropdown]),
            row([self.mode_dropdown, self.points_slider]),
            row([self.layer_slider, self.sensitivity_button, self.identify_button]),
        ])
        self.children = [controls, self.status_row, self.heatmap_fig, self.identified_fig]
        self.observe(lambda change: self.recompute(),
                     names=["measure", "model_b", "metric", "dims", "mode", "max_points", "scale", "infinite"])
        self.observe(self._on_layer, names=["layer"])
        if autostart:
            self.recompute()

    # ----------------------------------------------------------- settings

    @property
    def spec(self) -> CloudSpec:
        """The clouds' settings: the preset's (or the defaults) with the mode and points chosen."""
        return self.base_spec.replace(mode=self.mode, max_points=int(self.max_points))

    def _settings(self) -> tuple:
        """What the fractions identified depend on besides the measure and the model."""
        return (self.spec, self.metric, tuple(self.dims), self.scale, self.infinite)

    def _measure_kwargs(self) -> dict:
        return dict(spec=self.spec, metric=self.metric, dims=tuple(self.dims), scale=self.scale,
                    infinite=self.infinite)

    # ----------------------------------------------------------- compute

    def recompute(self) -> None:
        """Compute (or fetch from the caches) the measure between A and every other model, then
        redraw the heat map (model B) and the fractions identified."""
        measure, settings, kwargs = self.measure, self._settings(), self._measure_kwargs()
        study_a, others = self.study, [(label, self.studies[label]) for label in self.model_labels[1:]]

        def work(progress, cancel):
            out = {}
            for k, (label, study_b) in enumerate(others):
                step = lambda d, t, msg, k=k, label=label: progress(k * t + d, len(others) * t, f"{label}: {msg}")
                out[label] = cross_model_matrix(study_a, study_b, measure, progress=step, cancel=cancel, **kwargs)
            return out

        self.jobs.submit(work, lambda out: self._show(measure, settings, out),
                         label=f"{MEASURE_LABELS[measure]} across models")

    def identify_every_measure(self) -> None:
        """Compute every measure against every model on the current settings and fill the table of
        fractions identified; a measure these clouds cannot give is named, not fatal."""
        settings, kwargs, study_a = self._settings(), self._measure_kwargs(), self.study
        others = [(label, self.studies[label]) for label in self.model_labels[1:]]

        def work(progress, cancel):
            matrices, skipped = {}, {}
            total = len(MEASURES) * len(others)
            for m, measure in enumerate(MEASURES):
                try:
                    for k, (label, study_b) in enumerate(others):
                        done = m * len(others) + k
                        progress(done, total, f"{MEASURE_LABELS[measure]} · {label}")
                        matrices.setdefault(measure, {})[label] = cross_model_matrix(study_a, study_b, measure,
                                                                                     cancel=cancel, **kwargs)
                except TDAInputError as exc:
                    if measure in ("ph", "cka"):
                        raise
                    matrices.pop(measure, None)
                    skipped[measure] = str(exc)
            return matrices, skipped

        def apply(out):
            matrices, skipped = out
            self._reset_fractions(settings)
            for measure, per_model in matrices.items():
                self._record(measure, per_model)
            self.skipped_ = skipped
            self._redraw_table()

        self.jobs.submit(work, apply, label="every measure across models")

    def show_sensitivity(self) -> None:
        """The sensitivity test of the chosen layer of model A (:meth:`Study.sensitivity`): its
        cloud under the current settings, unscaled as in the study, principal components removed
        lowest-variance first; PH distance (metric, homology) and 1 - linear CKA to the original."""
        layer, spec, metric, dims, infinite, study = (self.layer, self.spec, self.metric, tuple(self.dims),
                                                      self.infinite, self.study)

        def work(progress, cancel):
            # preset=False: exactly the settings shown, never the study's preset in their place
            n_features = study.cloud(layer, spec, preset=False, cancel=cancel).n_dims
            step = sensitivity_step(n_features)
            return study.sensitivity(layer, spec, step=step, metric=metric, dims=dims, infinite=infinite,
                                     preset=False, progress=progress, cancel=cancel)

        self.jobs.submit(work, lambda result: self._show_sensitivity(layer, result), label=f"sensitivity of {layer}")

    # ----------------------------------------------------------- drawing

    def _reset_fractions(self, settings) -> None:
        if settings != self._fraction_settings:
            self.fractions_, self.skipped_, self._fraction_settings = {}, {}, settings

    def _record(self, measure: str, per_model: dict) -> None:
        self.fractions_[measure] = {label: float(np.mean(identified_layers(matrix, MEASURES[measure], self.layers,
                                                                           self.layers)))
                                    for label, matrix in per_model.items()}

    def _show(self, measure: str, settings: tuple, per_model: dict) -> None:
        self.matrices_, self.shown_measure_ = per_model, measure
        self._reset_fractions(settings)
        self._record(measure, per_model)
        self._redraw_heatmap()
        self._redraw_table()

    def _subtitle(self) -> str:
        spec = self.spec
        points = "every point" if spec.max_points is None else f"≤ {spec.max_points} points"
        if self.shown_measure_ == "ph":
            dims = ", ".join(f"H{d}" for d in self.dims)
            return f"{self.metric} on {dims} · {spec.mode} clouds, {points} · {self.scale} scale"
        if self.shown_measure_ == "cka":
            return "linear CKA of the flattened activations of all images"
        return f"{spec.mode} clouds, one point per image"

    def _redraw_heatmap(self) -> None:
        measure = self.shown_measure_
        if measure is None or self.model_b not in self.matrices_:
            return
        label = MEASURE_LABELS[measure] + (f" ({self.metric})" if measure == "ph" else "")
        fig = cross_model_figure(self.matrices_[self.model_b], self.layers, self.layers, kind=MEASURES[measure],
                                 measure=label, model_a=self.model_labels[0], model_b=self.model_b,
                                 selected=self.layers.index(self.layer), subtitle=self._subtitle(), width=FIT_WIDTH)
        self.heatmap_fig.show(fig)
        self._bind_callbacks()

    def _redraw_table(self) -> None:
        fractions = {MEASURE_LABELS[m]: values for m, values in self.fractions_.items()}
        if not fractions:
            return
        skipped = f" · left out: {', '.join(MEASURE_LABELS[m] for m in sorted(self.skipped_))}" if self.skipped_ else ""
        self.identified_fig.show(identification_figure(
            fractions, title=f"fraction of {self.model_labels[0]}'s layers identified (Kornblith et al. 2019){skipped}",
            width=FIT_WIDTH))

    def _show_sensitivity(self, layer: str, result) -> None:
        self.sensitivity_ = result
        step = result.settings.get("step")
        fig = sensitivity_figure({layer: result}, width=FIT_WIDTH, height=360,
                                 title=f"{layer} of {self.model_labels[0]}: components removed in steps of {step} "
                                       "(unscaled cloud)")
        if self.sensitivity_fig is None:
            self.sensitivity_fig = Plot(fig)
            self.children = list(self.children) + [self.sensitivity_fig]
        else:
            self.sensitivity_fig.show(fig)

    # ----------------------------------------------------------- linking

    def _on_layer(self, change) -> None:
        self._redraw_heatmap()
        if self.sensitivity_fig is not None:  # the sensitivity curve follows the layer shown
            self.show_sensitivity()

    def _bind_callbacks(self) -> None:
        self.heatmap_fig.on_click(self._on_cell)

    def _on_cell(self, plot, points) -> None:
        """A click on a cell of the matrix (``points``: a PlotEvent)."""
        trace = points.trace
        if trace is None or trace.name != "matrix" or not getattr(points, "ys", None):
            return
        try:
            self.layer = self.layers[[str(name) for name in trace.y].index(str(points.ys[0]))]
        except Exception as exc:  # a callback never raises into the front end
            self._on_state("error", self.format_exception(exc))
