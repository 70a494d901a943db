"""FiltrationExplorer: watch a Vietoris–Rips filtration grow on a point cloud, for teaching.

A slider (and a play button) moves the filtration value: the drawing shows the edges and filled
triangles of the complex at that value (and, for a 2-D cloud, the balls of radius ``value / 2``
that meet exactly where an edge exists); the persistence diagram beside it shades the bars alive
at the value and the barcode shows a cursor. :attr:`FiltrationExplorer.betti` gives β0, β1 at
the value. A click on an H1 bar (or :meth:`FiltrationExplorer.cycle`) draws a loop that
represents it; for a layer, the images on the loop are shown as thumbnails.
"""

from __future__ import annotations

from typing import Optional

import ipywidgets as W
import numpy as np
import torch
import traitlets as T

from ..clouds import CloudSpec
from ..core.errors import TDAInputError
from ..figures.diagrams import barcode_figure, persistence_diagram_figure
from ..figures.filtration import filtration_cursor, filtration_figure
from ..figures._common import class_palette, label_name
from ..topology.embedding import embed_2d
from ..topology.filtration import (MAX_TRIANGLES, _complex_from_distances, betti_numbers, distance_matrix,
                                   representative_cycle)
from ..topology.persistence import PersistenceResult, persistence
from ..topology.scaling import validate_cloud
from .base import ExplorerBase
from .controls import row
from .plot import Plot
from .study_helpers import first_point, make_study, thumbnail_panel

__all__ = ["FiltrationExplorer", "MAX_FILTRATION_POINTS"]

#: The most points a filtration is drawn for: beyond, the complex is a blob and each step slow.
MAX_FILTRATION_POINTS = 400
#: Slider positions between 0 and the largest finite death (times 1.1).
N_STEPS = 60
_FIG = dict(width=390, height=390)


class FiltrationExplorer(ExplorerBase):
    """The Rips filtration of a point cloud, step by step, beside its diagram and barcode.

    ``FiltrationExplorer(points)`` for any cloud (2-D or higher; drawn by its first two
    principal components when higher), or ``FiltrationExplorer(model, images, layer=...,
    labels=...)`` for a layer's cloud (:class:`~tda_widgets.CloudSpec`, default 120 pooled
    points). Distances, the complex and the diagrams always use the cloud's full dimension.

    Parameters
    ----------
    points_or_model : array_like of shape (n_points, n_dims), or torch.nn.Module
    images : tensor, ndarray, Dataset or DataLoader, optional
        With a model.
    layer : str, optional
        The layer (default: the study's first).
    labels, class_names : optional
        Colour the points by class.
    spec : CloudSpec, optional
        The layer's cloud (default ``CloudSpec(max_points=120)``).
    study : Study, optional
        Share a study (and its cache) with other explorers.
    value : float, optional
        Initial filtration value (default: the middle of the longest H1 bar, or of H0's deaths).
    threaded : bool, default True

    Attributes
    ----------
    value : float
        The filtration value (an edge length; balls of radius ``value / 2``). Set it to redraw.
    result_ : PersistenceResult
        H0 and H1 of the cloud (ripser).
    points_ : ndarray of shape (n_points, n_dims)
        The cloud.
    coords_ : ndarray of shape (n_points, 2)
        Where each point is drawn.
    """

    value = T.Float(0.0)
    selected_bar = T.Int(allow_none=True, default_value=None)

    def __init__(self, points_or_model=None, images=None, *, layer: Optional[str] = None, labels=None,
                 class_names=None, spec: Optional[CloudSpec] = None, study=None, value: Optional[float] = None,
                 threaded: bool = True, autostart: bool = True):
        super().__init__(threaded=threaded)
        self.study = None
        self.layer = None
        self._labels = None
        self.class_names = class_names
        if isinstance(points_or_model, torch.nn.Module) or study is not None:
            self.study = make_study(points_or_model, images, labels, None, class_names=class_names, study=study)
            self.layer = layer if layer is not None else list(self.study.layers)[0]
            if self.layer not in self.study.layers:
                raise TDAInputError(f"The 'layer' parameter of FiltrationExplorer must be one of "
                                    f"{list(self.study.layers)}. Got {layer!r} instead.")
            self.spec = spec if spec is not None else CloudSpec(max_points=120)
            self.class_names = class_names if class_names is not None else self.study.class_names
            self._fixed_points = None
        else:
            if points_or_model is None:
                raise TDAInputError("FiltrationExplorer needs a point cloud (FiltrationExplorer(points)) or a model "
                                    "and images (FiltrationExplorer(model, images, layer=...)).")
            self._fixed_points = validate_cloud(points_or_model, min_points=3)
            if len(self._fixed_points) > MAX_FILTRATION_POINTS:
                raise TDAInputError(
                    f"FiltrationExplorer draws at most {MAX_FILTRATION_POINTS} points; got "
                    f"{len(self._fixed_points)}. Pass a subsample (e.g. points[::k]).")
            self._labels = None if labels is None else np.asarray(labels).reshape(-1)
            self.spec = None
        self._initial_value = value
        self.points_: Optional[np.ndarray] = None
        self.coords_: Optional[np.ndarray] = None
        self.result_: Optional[PersistenceResult] = None
        self.image_index_: Optional[np.ndarray] = None
        self._distances: Optional[np.ndarray] = None
        self._cycle: Optional[list] = None
        self.steps_ = np.zeros(N_STEPS)
        self._step_views: dict = {}
        self._step_ids: dict = {}

        self.step_slider = W.IntSlider(value=0, min=0, max=N_STEPS - 1, description="edge length",
                                       readout=False, continuous_update=True, layout=W.Layout(width="300px"),
                                       style={"description_width": "initial"},
                                       tooltip="the filtration value: an edge joins two points at most this far apart")
        self.play = W.Play(value=0, min=0, max=N_STEPS - 1, interval=300, description="play",
                           tooltip="grow the filtration step by step")
        W.jslink((self.play, "value"), (self.step_slider, "value"))
        self.readout = W.HTML("")
        self.filtration_fig = Plot(filtration_figure(np.zeros((0, 2)), _empty_complex(), title="computing…", **_FIG))
        self.diagram_fig = Plot(persistence_diagram_figure([np.empty((0, 2))], title="", **_FIG))
        self.barcode_fig = Plot(barcode_figure([np.empty((0, 2))], title="", width=780, height=260))
        for fig in (self.diagram_fig, self.barcode_fig):
            fig.on_click(self._on_bar)
        self.thumbnails = thumbnail_panel(self.study) if self.study is not None else None
        self.step_slider.observe(self._on_step, names="value")
        self.observe(self._on_value, names="value")
        children = [row([self.play, self.step_slider, self.readout]), self.status_row,
                    row([self.filtration_fig, self.diagram_fig]), self.barcode_fig]
        if self.thumbnails is not None:
            children.append(self.thumbnails)
        self.children = children
        if autostart:
            self.recompute()

    # ------------------------------------------------------------------ compute

    def recompute(self) -> None:
        """Compute the cloud, its distances and diagrams (a worker thread for a layer)."""
        study, layer, spec, fixed = self.study, self.layer, self.spec, self._fixed_points

        def work(progress, cancel):
            if fixed is not None:
                points, image_index = fixed, None
            else:
                cloud = study.cloud(layer, spec, preset=False, progress=progress, cancel=cancel)
                if cloud.n_points > MAX_FILTRATION_POINTS:
                    raise TDAInputError(
                        f"FiltrationExplorer draws at most {MAX_FILTRATION_POINTS} points; the cloud has "
                        f"{cloud.n_points}. Pass spec=CloudSpec(max_points={MAX_FILTRATION_POINTS}) or fewer.")
                points, image_index = np.asarray(cloud.points, dtype=np.float64), np.asarray(cloud.image_index)
            progress(0, 1, f"distances and persistence of {len(points)} points")
            distances = distance_matrix(points)
            result = persistence(distances, maxdim=1, backend="ripser", distance_matrix=True)
            coords = points[:, :2] if points.shape[1] == 2 else embed_2d(points, "pca")
            return points, image_index, distances, result, coords

        self.jobs.submit(work, self._apply, label="filtration")

    def _apply(self, out) -> None:
        self.points_, self.image_index_, self._distances, self.result_, self.coords_ = out
        finite = np.concatenate([d[np.isfinite(d[:, 1]), 1] for d in self.result_.diagrams] + [[0.0]])
        top = float(finite.max()) * 1.1 or 1.0
        self.steps_ = np.linspace(0.0, top, N_STEPS)
        self._cycle = None
        self.selected_bar = None
        self._step_views, self._step_ids = {}, {}
        diagram = persistence_diagram_figure(list(self.result_.diagrams), title="persistence diagram",
                                             subtitle="shaded: the bars alive at the value", **_FIG)
        diagram.update_layout(xaxis_title_text="birth (edge length = 2 × ball radius)",
                              yaxis_title_text="death (edge length)")
        diagram.add_trace(filtration_cursor(0.0, "diagram", top=top))
        barcode = barcode_figure(list(self.result_.diagrams), title="barcode", width=780, height=260)
        barcode.update_layout(xaxis_title_text="edge length (= 2 × ball radius)", margin_b=45)
        # the barcode's rows: every bar, and two between dimensions (figures.diagrams.barcode_figure)
        self._barcode_rows = float(sum(len(d) for d in self.result_.diagrams) + 2 * len(self.result_.diagrams) - 2)
        barcode.add_trace(filtration_cursor(0.0, "barcode", top=self._barcode_rows))
        self.diagram_fig.show(diagram)
        self.barcode_fig.show(barcode)
        start = self._initial_value if self._initial_value is not None else self._default_value()
        if self._initial_value is None:  # start on the slider's grid, so the view is remembered
            start = float(self.steps_[int(np.argmin(np.abs(self.steps_ - start)))])
        if self.value == start:
            self._redraw()
        else:
            self.value = float(start)

    def _default_value(self) -> float:
        h1 = self.result_.diagrams[1]
        if len(h1):
            longest = int(np.argmax(np.where(np.isfinite(h1[:, 1]), h1[:, 1], self.steps_[-1]) - h1[:, 0]))
            death = h1[longest, 1] if np.isfinite(h1[longest, 1]) else self.steps_[-1]
            return float((h1[longest, 0] + death) / 2)
        deaths = self.result_.diagrams[0][:, 1]
        return float(np.median(deaths[np.isfinite(deaths)])) if np.isfinite(deaths).any() else 0.0

    # ------------------------------------------------------------------ the value

    def _on_step(self, change) -> None:
        self.value = float(self.steps_[int(change["new"])])

    def _on_value(self, change) -> None:
        if self.result_ is not None:
            self._redraw()

    @property
    def betti(self) -> tuple:
        """(β0, β1) at :attr:`value`: the bars of the diagrams alive there (birth <= value < death)."""
        if self.result_ is None:
            raise TDAInputError("FiltrationExplorer.betti: nothing computed yet; call .wait() first.")
        return betti_numbers(self.result_.diagrams, self.value)

    @property
    def complex_(self):
        """The Rips complex at :attr:`value` (:class:`~tda_widgets.topology.RipsComplex`)."""
        return _complex_from_distances(self._distances, float(self.value), MAX_TRIANGLES)

    def _colors(self):
        labels = self._point_labels()
        if labels is None:
            return None
        order = sorted({v.item() if hasattr(v, "item") else v for v in labels}, key=str)
        palette = class_palette(len(order))
        colour = {v: palette[i % len(palette)] for i, v in enumerate(order)}
        return [colour[v.item() if hasattr(v, "item") else v] for v in labels]

    def _point_labels(self):
        if self.study is not None and self.study.labels is not None and self.image_index_ is not None:
            return np.asarray(self.study.labels)[self.image_index_]
        return self._labels

    def _hover(self) -> list:
        labels = self._point_labels()
        texts = []
        for i in range(len(self.coords_)):
            text = f"point {i}"
            if self.image_index_ is not None:
                text += f" · image {int(self.image_index_[i])}"
            if labels is not None:
                text += f" · {label_name(labels[i], self.class_names)}"
            texts.append(text)
        return texts

    def _step_of(self, value: float) -> Optional[int]:
        """The slider position whose value this is, if any (views on the grid are remembered)."""
        hits = np.flatnonzero(self.steps_ == value)
        return int(hits[0]) if len(hits) else None

    def _filtration(self, value: float):
        two_d = self.points_.shape[1] == 2
        title = f"Rips complex at edge length {value:.3g}" + ("" if two_d else " (drawn by PCA)")
        return filtration_figure(self.coords_, self.complex_, balls=two_d, cycle=self._cycle, colors=self._colors(),
                                 hover=self._hover(), title=title, **_FIG)

    def _redraw(self) -> None:
        """Draw the complex at :attr:`value` and move the cursors of the diagram and barcode (one
        restyle each). The drawings of each slider position are kept, and the page is told which
        state each position brings back: a step seen before (a second play, a step back) shows at
        once, before the kernel answers."""
        value = float(self.value)
        step = self._step_of(value)
        drawing = self._step_views.get(step) if step is not None else None
        if drawing is None:
            try:
                drawing = self._filtration(value)
            except Exception as exc:  # too many triangles to draw: say so, keep the last drawing
                self._on_state("error", self.format_exception(exc))
                return
            if step is not None:
                self._step_views[step] = drawing
        top = max(float(self.steps_[-1]), value) * 1.05
        ids = [self.filtration_fig.show(drawing)]
        for plot, kind, upper in ((self.diagram_fig, "diagram", top), (self.barcode_fig, "barcode", self._barcode_rows)):
            cursor = filtration_cursor(value, kind, top=upper)
            ids.append(plot.restyle(plot.trace_names().index("cursor"), {"x": cursor["x"], "y": cursor["y"]}, keep=True))
        if step is not None:
            self._step_ids[step] = ids
            for k, plot in enumerate((self.filtration_fig, self.diagram_fig, self.barcode_fig)):
                plot.bind(self.step_slider, "value", {s: shown[k] for s, shown in self._step_ids.items()})
            if self.step_slider.value != step:
                self.step_slider.unobserve(self._on_step, names="value")
                try:
                    self.step_slider.value = step
                finally:
                    self.step_slider.observe(self._on_step, names="value")
        b0, b1 = self.betti
        self.readout.value = (f"edge length <b>{value:.3g}</b> (ball radius {value / 2:.3g}) · "
                              f"β<sub>0</sub> = {b0}, β<sub>1</sub> = {b1}")

    # ------------------------------------------------------------------ cycles

    def cycle(self, i: int) -> list:
        """Draw (and return) a representative cycle of H1 bar ``i``: edges ``[(a, b), ..., (z, a)]``
        of the complex at the bar's birth (:func:`tda_widgets.topology.representative_cycle`)."""
        if self.result_ is None:
            raise TDAInputError("FiltrationExplorer.cycle: nothing computed yet; call .wait() first.")
        loop = representative_cycle(self._distances, i, distance_matrix=True)
        self._cycle = loop
        self._step_views, self._step_ids = {}, {}  # the drawings now carry the cycle
        self.selected_bar = int(i)
        self._redraw()
        if self.thumbnails is not None and self.image_index_ is not None:
            images = sorted({int(self.image_index_[a]) for a, _ in loop})
            birth, death = self.result_.diagrams[1][i]
            self.thumbnails.show(images, title=f"H1 bar {i} [{birth:.3g}, {death:.3g}) · a loop through "
                                               f"{len(loop)} points of {len(images)} images")
        return loop

    def _on_bar(self, plot, event) -> None:
        trace = event.trace
        index = first_point(event)
        if index is None or trace is None or trace.name != "H1" or trace.customdata is None:
            return
        try:
            self.cycle(int(trace.customdata[index][1]))
        except Exception as exc:  # a callback never raises into the front end
            self._on_state("error", self.format_exception(exc))


def _empty_complex():
    from ..topology.filtration import RipsComplex

    return RipsComplex(value=0.0, n_points=0, edges=np.empty((0, 2), dtype=np.int64),
                       triangles=np.empty((0, 3), dtype=np.int64))
