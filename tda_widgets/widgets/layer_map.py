"""LayerMap: a layer's cloud in 2-D, coloured by class, linked to the mapper and persistence
explorers, and stepped through training checkpoints.

One point per image (the layer's ``CloudSpec`` cloud of every image, pooled for conv layers by
default), drawn by PCA (default), t-SNE or UMAP. Hover shows the image; a lasso or box selection
shows its images and a class histogram. Linked both ways with a
:class:`~tda_widgets.MapperExplorer` on the same images (:meth:`LayerMap.link`): its selected
node rings that node's images on the map, and a selection on the map rings the mapper nodes that
hold those images; a :class:`~tda_widgets.PersistenceExplorer`'s selected bar rings its images.
With ``checkpoints``, a slider steps through training, each checkpoint's map rotated onto the
previous one (orthogonal Procrustes) so that points do not jump.
"""

from __future__ import annotations

from typing import Optional, Sequence

import ipywidgets as W
import numpy as np
import plotly.graph_objects as go
import traitlets as T

from ..clouds import CloudSpec
from ..core.errors import TDAInputError
from ..figures._common import axis_style, class_palette, label_name, layout_defaults
from ..core.markup import escape
from ..figures.filtration import MAP_COLORINGS, layer_map_figure
from ..topology.embedding import EMBEDDINGS, embed_2d, procrustes_align
from .base import ExplorerBase
from .controls import layer_slider, row
from .plot import Plot, ViewCache
from .study_helpers import first_point, make_study, thumbnail_panel

__all__ = ["LayerMap"]

_MAP = dict(width=480, height=440)


class LayerMap(ExplorerBase):
    """A 2-D map of a layer's activations, one point per image.

    Parameters
    ----------
    model : torch.nn.Module
    images : tensor, ndarray, Dataset or DataLoader
    labels : array-like, optional
    layers : sequence of str, optional
    layer : str, optional
        The layer shown (default: the first).
    method : {"pca", "tsne", "umap"}, default="pca"
        :func:`tda_widgets.topology.embed_2d`.
    color_by : {"class", "prediction", "correct", "node"}, default="class"
        ``"node"`` colours by the linked MapperExplorer's node of each image on this layer.
    class_names : sequence of str, optional
    checkpoints : dict or sequence of torch.nn.Module, optional
        Models of the same architecture at successive training steps (e.g.
        :func:`tda_widgets.load_digits_checkpoints`): a slider steps through their maps.
    spec : CloudSpec, optional
        The layer's cloud (default: every image, ``mode="auto"``).
    study : Study, optional
        Share a study and its cache with other explorers.

    Attributes
    ----------
    embedding : ndarray of shape (n_images, 2)
        The map shown (row ``k`` is image ``image_index_[k]``).
    selected : list of int
        The images selected on the map (a lasso, a box, or :meth:`select`).
    """

    layer = T.Unicode()
    method = T.Unicode("pca")
    color_by = T.Unicode("class")
    checkpoint = T.Int(0)
    selected = T.List(T.Int())

    def __init__(self, model=None, images=None, labels=None, layers=None, *, layer: Optional[str] = None,
                 method: str = "pca", color_by: str = "class", class_names=None, checkpoints=None,
                 spec: Optional[CloudSpec] = None, study=None, threaded: bool = True, autostart: bool = True):
        super().__init__(threaded=threaded)
        if method not in EMBEDDINGS:
            raise TDAInputError(f"The 'method' parameter of LayerMap must be one of {set(EMBEDDINGS)}. "
                                f"Got {method!r} instead.")
        if color_by not in MAP_COLORINGS:
            raise TDAInputError(f"The 'color_by' parameter of LayerMap must be one of {set(MAP_COLORINGS)}. "
                                f"Got {color_by!r} instead.")
        self.study = make_study(model, images, labels, layers, class_names=class_names, study=study)
        names = list(self.study.layers)
        if layer is not None and layer not in names:
            raise TDAInputError(f"The 'layer' parameter of LayerMap must be one of {names}. Got {layer!r} instead.")
        self.spec = spec if spec is not None else CloudSpec(max_points=self.study.n_images)
        self.class_names = class_names if class_names is not None else self.study.class_names
        self.checkpoints = self._checkpoint_studies(checkpoints)
        self.embedding: Optional[np.ndarray] = None
        self.image_index_: Optional[np.ndarray] = None
        self.maps_: dict = {}  # (layer, method, checkpoint) -> (image_index, embedding)
        self._mappers: list = []
        self._persistence: list = []
        self._ringed: list = []
        with self.hold_trait_notifications():
            self.layer = layer if layer is not None else names[0]
            self.method, self.color_by = method, color_by

        self.layer_slider = layer_slider(names)
        self.method_dropdown = W.Dropdown(options=list(EMBEDDINGS), description="map", layout=W.Layout(width="160px"),
                                          tooltip="how the layer's cloud is drawn in 2-D (distances elsewhere use "
                                                  "every dimension)")
        self.color_dropdown = W.Dropdown(options=list(MAP_COLORINGS), description="colour", layout=W.Layout(width="180px"),
                                         tooltip="class, the model's prediction, right/wrong, or the linked "
                                                 "MapperExplorer's node")
        links = [(self, "layer", self.layer_slider), (self, "method", self.method_dropdown),
                 (self, "color_by", self.color_dropdown)]
        controls = [self.layer_slider, self.method_dropdown, self.color_dropdown]
        self.checkpoint_slider = None
        if len(self.checkpoints) > 1:
            self.checkpoint_slider = W.SelectionSlider(
                options=[(str(name), k) for k, (name, _) in enumerate(self.checkpoints)], description="checkpoint",
                continuous_update=False, layout=W.Layout(width="300px"),
                tooltip="training step: each map is rotated onto the previous one so points do not jump")
            links.append((self, "checkpoint", self.checkpoint_slider))
            controls.append(self.checkpoint_slider)
        # linked as every explorer's controls: a layer (method, colouring, checkpoint) seen before is
        # swapped in by the page before the kernel answers
        self._link_controls([(trait, control) for _, trait, control in links])
        self._views = ViewCache()  # the map figure of each view drawn
        self.map_fig = Plot(layer_map_figure(np.zeros((0, 2)), color_by="class", labels=[], title="computing…", **_MAP))
        self.histogram_fig = Plot(_histogram_figure({}, self.class_names, "select images with the lasso or box"))
        self.map_fig.on_hover(self._on_hover)
        self.map_fig.on_click(self._on_hover)
        self.map_fig.on_selection(self._on_selection)
        self.thumbnails = thumbnail_panel(self.study)
        self.children = [row(controls), self.status_row, row([self.map_fig, self.histogram_fig]), self.thumbnails]
        self.observe(self._on_setting, names=["layer", "method", "checkpoint"])
        self.observe(lambda change: self._redraw(), names=["color_by"])
        self.observe(lambda change: self._on_selected(), names=["selected"])
        if autostart:
            self.recompute()

    # ------------------------------------------------------------------ setup

    def _checkpoint_studies(self, checkpoints) -> list:
        """[(name, study)]: the explorer's own study alone without checkpoints."""
        if checkpoints is None:
            return [("model", self.study)]
        items = list(checkpoints.items()) if isinstance(checkpoints, dict) else list(enumerate(checkpoints))
        if not items:
            raise TDAInputError("The 'checkpoints' parameter of LayerMap is empty; pass models (a dict or list) or None.")
        study = self.study
        return [(name, make_study(model, study.images, study.labels, list(study.layers),
                                  class_names=study.class_names)) for name, model in items]

    # ------------------------------------------------------------------ compute

    def _on_setting(self, change) -> None:
        self.recompute()

    def recompute(self) -> None:
        """Compute the map of the current layer (for every checkpoint up to the one shown, so each
        can be aligned to the one before), then redraw."""
        layer, method, spec, upto = self.layer, self.method, self.spec, int(self.checkpoint)
        studies = self.checkpoints[: upto + 1]
        maps = self.maps_

        def work(progress, cancel):
            previous = None
            out = None
            for k, (name, study) in enumerate(studies):
                key = (layer, method, k)
                if key not in maps:
                    progress(k, len(studies), f"map of {layer} ({method}), checkpoint {name}")
                    cloud = study.cloud(layer, spec, preset=False, progress=None, cancel=cancel)
                    coords = embed_2d(np.asarray(cloud.points, dtype=np.float64), method)
                    if previous is not None and np.array_equal(previous[0], cloud.image_index):
                        coords = procrustes_align(previous[1], coords)
                    maps[key] = (np.asarray(cloud.image_index), coords)
                previous = out = maps[key]
            return out

        self.jobs.submit(work, self._apply, label=f"map of {layer}")

    def _apply(self, out) -> None:
        self.image_index_, self.embedding = out
        self._redraw()
        self._on_selected()

    # ------------------------------------------------------------------ drawing

    #: besides the linked controls, what decides the map: the images ringed from another explorer
    VIEW_TRAITS = ("ringed_images",)

    @property
    def ringed_images(self) -> tuple:
        """The images ringed on the map (what a linked explorer selected)."""
        return tuple(self._ringed)

    def _study(self):
        return self.checkpoints[int(self.checkpoint)][1] if len(self.checkpoints) > 1 else self.study

    def _colour_inputs(self) -> dict:
        labels = self.study.labels
        labels = None if labels is None else np.asarray(labels)[self.image_index_]
        predictions = self._study().predictions()
        predictions = None if predictions is None else np.asarray(predictions)[self.image_index_]
        nodes = self.node_of_images() if self._mappers else None
        return dict(labels=labels, predictions=predictions, nodes=nodes)

    def node_of_images(self) -> Optional[np.ndarray]:
        """Per point of the map, the index of the first node of the linked MapperExplorer's graph of
        this layer that holds its image (-1: in no node); None without a linked graph."""
        for mapper in self._mappers:
            graph = (getattr(mapper, "graphs_", None) or {}).get(self.layer)
            if graph is None:
                continue
            node_of = np.full(self.study.n_images, -1, dtype=np.int64)
            for k, node in reversed(list(enumerate(graph.nodes))):
                node_of[np.asarray(node.image_indices, dtype=np.int64)] = k
            return node_of[self.image_index_]
        return None

    def _redraw(self) -> None:
        if self.embedding is None:
            return
        inputs = self._colour_inputs()
        color_by = self.color_by
        missing = {"class": inputs["labels"] is None,
                   "prediction": inputs["predictions"] is None,
                   "correct": inputs["labels"] is None or inputs["predictions"] is None,
                   "node": inputs["nodes"] is None}[color_by]
        if missing:
            needs = {"class": "labels", "prediction": "a model with class outputs",
                     "correct": "labels and a model with class outputs",
                     "node": "a linked MapperExplorer (layer_map.link(mapper)) that has drawn this layer"}[color_by]
            self.status_label.value = escape(f"colour by {color_by} needs {needs}; "
                                             + ("showing classes." if inputs["labels"] is not None else
                                                "showing one colour."))
            color_by = "class" if inputs["labels"] is not None else None
        ringed = self._ring_positions()
        # a view the settings and the rings decide (not the linked graph's nodes as colours, which
        # change with the other explorer) is built once and remembered for the page
        settled = "node" not in (color_by, self.color_by)
        key = (self.layer, self.method, int(self.checkpoint), color_by, self.ringed_images)
        cached = self._views.get(key, self.embedding) if settled else None
        if cached is not None:
            self.map_fig.show(cached)
            self._remember_views([self.map_fig])
            return
        hover = self._hover_texts(inputs)
        name = self.checkpoints[int(self.checkpoint)][0] if len(self.checkpoints) > 1 else None
        title = f"{self.layer} · {self.method.upper() if self.method != 'tsne' else 't-SNE'} map" + (
            f" · checkpoint {name}" if name is not None else "")
        axis = ("PC1", "PC2") if self.method == "pca" else (f"{self.method} 1", f"{self.method} 2")
        if color_by is None:
            fig = layer_map_figure(self.embedding, color_by="node", nodes=np.zeros(len(self.embedding), dtype=int),
                                   hover=hover, ringed=ringed, title=title, axis_titles=axis, **_MAP)
        else:
            fig = layer_map_figure(self.embedding, color_by=color_by, class_names=self.class_names, hover=hover,
                                   ringed=ringed, title=title, axis_titles=axis, **inputs, **_MAP)
        fig.layout.meta = {**(fig.layout.meta or {}), "tdaw_select": self._select_link(fig)}
        self.map_fig.show(fig)
        if settled:
            self._views.put(key, fig, self.embedding)
            self._remember_views([self.map_fig])

    #: the thumbnail panel's title of a selection: the layer, then the count, then this
    SELECTED_WORDS = " images selected on the map"

    def _select_link(self, fig: go.Figure) -> dict:
        """What the page needs to answer a lasso or box before the kernel does (plot.js,
        ``onSelect``): the image of each point of the 'points' trace, this map's thumbnail panel
        and the title :meth:`_on_selected` gives it, and the groups of the linked MapperExplorers'
        graphs (their thumbnail panels' ids), whose nodes holding those images it rings. The
        kernel's answer follows with the same state."""
        names = [trace.name for trace in fig.data]
        return dict(group=self.thumbnails.model_id, trace=names.index("points"),
                    images=np.asarray(self.image_index_, dtype=np.int32),
                    # escaped like every string of a figure (a layer name is foreign text)
                    title=[escape(f"{self.layer}: "), escape(self.SELECTED_WORDS)],
                    rings=[mapper.thumbnails.model_id for mapper in self._mappers])

    def _hover_texts(self, inputs) -> list:
        labels, predictions = inputs["labels"], inputs["predictions"]
        out = []
        for k, image in enumerate(self.image_index_):
            text = f"image {int(image)}"
            if labels is not None:
                text += f" · {label_name(labels[k], self.class_names)}"
            if predictions is not None:
                text += f" · predicted {label_name(predictions[k], self.class_names)}"
            out.append(text)
        return out

    def _ring_positions(self) -> list:
        if not self._ringed or self.image_index_ is None:
            return []
        return np.flatnonzero(np.isin(self.image_index_, np.asarray(self._ringed))).tolist()

    # ------------------------------------------------------------------ selection and linking

    def ring(self, images: Sequence[int]) -> None:
        """Ring the points of ``images`` on the map (what another explorer selected)."""
        self._ringed = [int(i) for i in images]
        self._redraw()

    def select(self, indices: Sequence[int]) -> None:
        """Select images (their indices into the study's images): thumbnails, a class histogram,
        and the linked MapperExplorers ring the nodes that hold them."""
        self.selected = sorted({int(i) for i in indices})

    def _on_selected(self) -> None:
        images = list(self.selected)
        labels = self.study.labels
        counts: dict = {}
        if labels is not None:
            for label in np.asarray(labels)[images] if images else []:
                key = label.item() if hasattr(label, "item") else label
                counts[key] = counts.get(key, 0) + 1
        self.histogram_fig.show(_histogram_figure(counts, self.class_names,
                                                  f"{len(images)} images selected" if images else
                                                  "select images with the lasso or box"))
        if images:
            self.thumbnails.show(images, title=f"{self.layer}: {len(images)}{self.SELECTED_WORDS}")
        for mapper in self._mappers:
            ring = getattr(mapper, "ring_images", None)
            if ring is not None:
                ring(images)

    def _on_hover(self, plot, event) -> None:
        index = first_point(event)
        trace = event.trace
        if index is None or trace is None or trace.name != "points" or self.image_index_ is None:
            return
        try:
            image = int(self.image_index_[int(trace.customdata[index])])
            self.thumbnails.show([image], title=f"image {image}")
        except Exception as exc:  # a callback never raises into the front end
            self._on_state("error", self.format_exception(exc))

    def _on_selection(self, plot, event) -> None:
        if self.image_index_ is None:
            return
        positions = [int(p["index"]) for p in (event.points or []) if p.get("trace") == 0 and "index" in p]
        if not positions and event.point_inds and event.trace is not None and event.trace.name == "points":
            positions = list(event.point_inds)
        self.select(self.image_index_[positions].tolist() if positions else [])

    def link(self, explorer) -> "LayerMap":
        """Link with a MapperExplorer (its selected node rings its images here; a selection here
        rings its nodes holding them) or a PersistenceExplorer (its selected bar rings its images).
        Returns self."""
        if hasattr(explorer, "selected_node") and hasattr(explorer, "node_images"):
            self._mappers.append(explorer)
            explorer.observe(lambda change: self._on_mapper_node(explorer), names="selected_node")
        elif hasattr(explorer, "selected_bar") and hasattr(explorer, "bar_images"):
            self._persistence.append(explorer)
            explorer.observe(lambda change: self._on_bar(explorer), names="selected_bar")
        else:
            raise TDAInputError(f"LayerMap.link takes a MapperExplorer or a PersistenceExplorer. "
                                f"Got {type(explorer).__name__} instead.")
        if self._mappers and self.embedding is not None:  # the map drawn names the linked graphs
            self._views.clear()
            self._redraw()
        return self

    def _on_mapper_node(self, mapper) -> None:
        selected = mapper.selected_node
        if not selected:
            return
        layer, node_id = selected.split(":", 1)
        self.ring(mapper.node_images(node_id, layer).tolist())

    def _on_bar(self, explorer) -> None:
        if explorer.selected_bar is None:
            return
        dim, bar = explorer.selected_bar
        self.ring(explorer.bar_images(dim, bar).tolist())


def _histogram_figure(counts: dict, class_names, title: str) -> go.Figure:
    """Bars of a selection's classes (names where known)."""
    keys = sorted(counts, key=str)
    palette = class_palette(max(1, len(keys)))
    layout = layout_defaults(title=title, width=280, height=440)
    layout.update(xaxis=axis_style(title=dict(text="images"), rangemode="tozero"),
                  yaxis=axis_style(type="category", automargin=True), margin=dict(l=80, r=20, t=60, b=50))
    return go.Figure(dict(
        data=[dict(type="bar", name="classes", orientation="h", x=[counts[k] for k in keys],
                   y=[escape(label_name(k, class_names)) for k in keys], marker=dict(color=list(palette[:len(keys)])),
                   hovertemplate="%{y}: %{x} images<extra></extra>")],
        layout=layout))
