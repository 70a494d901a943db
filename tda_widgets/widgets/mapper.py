"""MapperExplorer: mapper graphs of every layer with linked thumbnails and cross-layer linking."""

from __future__ import annotations

from typing import Optional

import ipywidgets as W
import numpy as np
import plotly.graph_objects as go
import traitlets as T

from ..core.errors import TDAInputError
from ..engine.study import CloudSpec, Study
from ..figures.mapper import COLOR_BY, GROUP_COLORINGS, mapper_graph_figure, purity_by_layer_figure
from ..core.markup import escape, markup
from ..figures._common import label_name, layout_defaults, top_margin, without_toolbar
from ..figures.thumbnails import sprite_sheet, to_uint8_images
from ..topology.mapper import EPS_RULES, MapperGraph, MapperSpec, resolve_class_groups
from .controls import LABEL_STYLE, dropdown, layer_slider, number_or_auto, parse_number_or_auto, row, slider
from .plot import Plot, ViewCache
from .study_helpers import make_study, point_marks, thumbnail_panel
from ._presets import every_point, explorer_preset, fit_points_slider, initial_settings, points_slider
from ..core.options import unset
from .base import ExplorerBase
from ._saved import is_opened, limit_to_file

__all__ = ["MapperExplorer"]


def _empty_tree(title: str, width: int = 260, height: int = 260) -> go.Figure:
    """A placeholder for a class-tree figure (same size, no joins)."""
    fig = go.Figure(go.Scatter(name="joins", x=[], y=[], mode="lines", showlegend=False))
    fig.update_layout(**layout_defaults(title=title, width=width, height=height))
    fig.update_layout(margin=dict(l=60, r=10, t=top_margin(title), b=70), font=dict(size=12))
    return without_toolbar(fig)

LENS_LABELS = {"pca": "PCA (1st component)", "l2norm": "L2 norm", "pca2": "PCA (2 components)"}
#: The colour choices are the figure's (figures.mapper.COLOR_BY), with readable labels.
COLOR_LABELS = {"majority": "majority class", "purity": "purity", "entropy": "class entropy",
                "lens_mean": "lens (mean)", "group": "majority group", "group_purity": "group purity"}
_CLOUD, _MAPPER = CloudSpec(), MapperSpec()  # the declared defaults
#: Sizes chosen so that, at 1280 x 800 with JupyterLab's file browser open (an 800 px output),
#: the main graph, the clicked node's thumbnails beside it and the strip of every layer's graph
#: below it are on screen together.
MAIN_SIZE, SMALL_SIZE = (470, 420), (150, 160)
#: A small graph's title: the layer's name, at most this many characters (a longer one is shortened
#: in its middle; 150 px hold about 20 characters of 12 px type).
SMALL_TITLE_CHARS = 20
#: The class tree's height: its title explains itself in three small lines.
TREE_SIZE = (260, 340)
#: The clicked node's mean image, pixels a side.
MEAN_IMAGE_PX = 64


def _short(name: str, limit: int = SMALL_TITLE_CHARS) -> str:
    """``name`` in at most ``limit`` characters, shortened in its middle ("features.…4.conv2")."""
    if len(name) <= limit:
        return name
    head = (limit - 1) // 2
    return name[:head] + "…" + name[len(name) - (limit - 1 - head):]


def _eps_text(eps) -> str:
    """The eps box's text: empty for auto, a rule's name ("knee"), or the number."""
    return "" if eps is None else eps if isinstance(eps, str) else f"{eps:g}"


class MapperExplorer(ExplorerBase):
    """Mapper graph of the chosen layer, beside small graphs of every layer.

    Hover or click a node to see its images and class make-up; the nodes holding the same
    images are highlighted in every other layer's graph (cross-layer linking).

    Parameters
    ----------
    model, images, labels, layers, class_names, study
        As for :class:`PersistenceExplorer`.
    preset : {"ph", "mapper"}, Preset or False, optional
        As for :class:`PersistenceExplorer` (default: ``study``'s preset, if any): every setting
        left out takes the preset's value (``preset="mapper"``: BatchNorm outputs
        after ReLU, one random position per image, l2-norm lens, 10 intervals, 50 % overlap,
        DBSCAN with min_samples 5 and eps at the knee); its activation, seed and clusterer,
        which no control shows, stay in :attr:`spec` and :meth:`settings`. ``False``: no preset.
    lens : {"pca", "l2norm", "pca2"} or ("logit", class)
    n_cubes, overlap, min_samples, mode, max_points
        Defaults as declared in :class:`~tda_widgets.topology.MapperSpec` and
        :class:`~tda_widgets.clouds.CloudSpec` (the same as :meth:`Study.mapper` and the report).
    color_by : {"majority", "purity", "lens"}
    show_all_layers : bool, default True
        Also draw every layer's graph (small) for cross-layer linking.
    """

    layer = T.Unicode()
    mode = T.Unicode(_CLOUD.mode)
    max_points = T.Int(_CLOUD.max_points)
    lens = T.Any(_MAPPER.lens)
    n_cubes = T.Int(_MAPPER.n_cubes)
    overlap = T.Float(_MAPPER.overlap)
    min_samples = T.Int(_MAPPER.min_samples)
    eps = T.Union([T.Float(), T.Enum(EPS_RULES)], allow_none=True, default_value=_MAPPER.eps)
    color_by = T.Unicode("majority")
    selected_node = T.Unicode(allow_none=True, default_value=None)

    def __init__(self, model=None, images=None, labels=None, layers=None, *, class_names=None,
                 study: Optional[Study] = None, layer: Optional[str] = None, mode: str = unset(CloudSpec, "mode"),
                 max_points: int = unset(CloudSpec, "max_points"), lens=unset(MapperSpec, "lens"),
                 n_cubes: int = unset(MapperSpec, "n_cubes"), overlap: float = unset(MapperSpec, "overlap"),
                 min_samples: int = unset(MapperSpec, "min_samples"), eps: Optional[float] = unset(MapperSpec, "eps"),
                 color_by: str = "majority", class_groups: Optional[dict] = None,
                 show_all_layers: bool = True, preset=None, threaded: bool = True, executor=None,
                 n_images: Optional[int] = None, autostart: bool = True):
        super().__init__(threaded=threaded)
        self.preset = explorer_preset(preset, study)
        #: The cloud settings the mode and points controls change (a preset's activation, seed, ...).
        self.base_spec, mode, max_points, filled = initial_settings(
            self.preset, mode, max_points,
            dict(lens=lens, n_cubes=n_cubes, overlap=overlap, min_samples=min_samples, eps=eps,
                 clusterer=unset(MapperSpec, "clusterer")))
        lens, n_cubes, overlap, min_samples, eps = (filled[name] for name in ("lens", "n_cubes", "overlap",
                                                                              "min_samples", "eps"))
        #: The clusterer (no control: the preset's, else the declared default).
        self.clusterer = filled["clusterer"]
        self.study = make_study(model, images, labels, layers, class_names=class_names, study=study,
                                executor=executor, n_images=n_images, preset=self.preset)
        if class_groups is None:  # data that know their groups (cifar10(...)) bring them
            class_groups = getattr(images, "class_groups", None) or getattr(getattr(images, "dataset", None),
                                                                            "class_groups", None)
        self.class_groups = resolve_class_groups(class_groups, type(self).__name__)
        names = list(self.study.layers)
        self.graphs_: dict[str, MapperGraph] = {}
        self._views = ViewCache(size=64)  # the figures of each view shown (graph, rings, tree)
        self.highlighted_: dict[str, list[str]] = {}
        #: The clicked node's mean image (see :meth:`node_mean_image`); None before a click.
        self.node_mean_: Optional[np.ndarray] = None

        with self.hold_trait_notifications():
            self.layer = layer if layer is not None else names[0]
            self.mode, self.max_points, self.lens = mode, every_point(max_points, self.study, mode), lens
            self.n_cubes, self.overlap, self.min_samples = int(n_cubes), float(overlap), int(min_samples)
            MapperSpec.check(type(self).__name__, eps=eps)
            self.eps = eps
            self.color_by = color_by
        self.layer_slider = layer_slider(names)
        self.mode_dropdown = dropdown(CloudSpec, "mode")
        self.points_slider = points_slider(self.study, self.max_points, self.mode)
        # its top follows the mode's clouds (450 images: 450 points per image, 28,800 spatial)
        self.observe(lambda c: fit_points_slider(self.points_slider, self.study, c["new"]), names="mode")
        self.lens_dropdown = dropdown(MapperSpec, "lens", labels=LENS_LABELS, width="260px")
        # the model's class logits are lenses too (Study.mapper's ("logit", k)), one per class
        self.lens_dropdown.options = list(self.lens_dropdown.options) + [
            (f"logit of class {name}", ("logit", k)) for k, name in enumerate(self._class_labels())]
        self.cubes_slider = slider(MapperSpec, "n_cubes")
        self.overlap_slider = slider(MapperSpec, "overlap")
        self.min_samples_slider = slider(MapperSpec, "min_samples")
        self.eps_text = number_or_auto(MapperSpec, "eps", width="180px")
        self.eps_text.value = _eps_text(self.eps)
        self.eps_text.observe(self._on_eps_text, names="value")
        self.observe(lambda c: setattr(self.eps_text, "value", _eps_text(c["new"])),
                     names="eps")
        # group colourings only when there are groups (class_groups=...)
        colorings = [c for c in COLOR_BY if class_groups is not None or c not in GROUP_COLORINGS]
        self.color_dropdown = W.Dropdown(options=[(COLOR_LABELS.get(c, c), c) for c in colorings], description="colour",
                                         tooltip="what a node's colour shows", layout=W.Layout(width="220px"))
        self._link_controls((("layer", self.layer_slider), ("mode", self.mode_dropdown),
                               ("max_points", self.points_slider), ("n_cubes", self.cubes_slider),
                               ("overlap", self.overlap_slider), ("min_samples", self.min_samples_slider),
                               ("color_by", self.color_dropdown)))
        lens_values = [value for _, value in self.lens_dropdown.options]
        if isinstance(lens, (str, tuple)) and lens in lens_values:
            W.link((self, "lens"), (self.lens_dropdown, "value"))  # an array lens has no entry

        self.main_fig = Plot(self._empty_figure("computing…", *MAIN_SIZE))
        self.layer_figs = {name: Plot(self._empty_figure(name, *SMALL_SIZE)) for name in names} \
            if show_all_layers else {}
        for fig in [self.main_fig, *self.layer_figs.values()]:
            fig.add_class("tda-mapper-graph")  # the dark theme's rings (plotly_library.js)
        self._bind_callbacks()
        self.thumbnails = thumbnail_panel(self.study)
        self.info = W.HTML("")
        # where an image, or a class, lies in every layer's graph: rings on the nodes holding it
        self.image_box = W.Text(value="", placeholder=f"0 to {self.study.n_images - 1}", description="find image #",
                                tooltip="ring, in every layer's graph, the nodes holding this image",
                                continuous_update=False, layout=W.Layout(width="175px"), style=LABEL_STYLE)
        self.class_dropdown = W.Dropdown(options=[("—", None)] + [(name, k) for k, name in
                                                                  enumerate(self._class_labels())],
                                         description="class", tooltip="ring, in every layer's graph, the nodes "
                                         "holding images of this class", layout=W.Layout(width="125px"),
                                         style=LABEL_STYLE, disabled=self.study.labels is None)
        self.image_box.observe(self._on_image_box, names="value")
        self.class_dropdown.observe(self._on_class_dropdown, names="value")
        controls = W.VBox([
            row([self.layer_slider, self.color_dropdown, self.lens_dropdown]),
            row([self.cubes_slider, self.overlap_slider, self.min_samples_slider, self.eps_text]),
            row([self.mode_dropdown, self.points_slider]),
        ])
        # a fixed height: a hover fills the panel at once (in the browser), and a panel that grew
        # with it moved the strip below (wrapped under the main graph in a narrow output) under
        # the mouse, so the click that followed landed on another node
        # its parts keep their height (flex: none) and the box scrolls: in a column of fixed
        # height they shrank instead, and the find row collapsed to nothing under a long grid
        find_row = row([self.image_box, self.class_dropdown], flex="none")
        for part in (self.thumbnails, self.info):
            part.layout.flex = "none"
        side = W.VBox([find_row, self.thumbnails, self.info], layout=W.Layout(flex="1 1 280px", min_width="280px",
                                                                    height=f"{MAIN_SIZE[1]}px", overflow="hidden auto"))
        parts = [controls, self.status_row, row([self.main_fig, side], align_items="flex-start")]
        if self.layer_figs:
            parts.append(W.HTML("<b>Every layer</b> · rings: nodes holding the clicked node's images · "
                                "click a node here to bring its layer up"))
            # one row, scrolled sideways when it is wider than the output
            parts.append(W.HBox(list(self.layer_figs.values()), layout=W.Layout(overflow="auto hidden")))
            # class (and group) purity per layer: where classes, and groups of classes, separate;
            # the class tree the current layer's graph reveals, beside the model's confusion tree
            self.purity_fig = Plot(without_toolbar(purity_by_layer_figure({}, title="purity per layer: computing…",
                                                                          width=260)))
            self.tree_fig = Plot(_empty_tree("class tree: computing…", *TREE_SIZE))
            self.confusion_fig = Plot(_empty_tree("the model's confusions"))
            parts.append(row([self.purity_fig, self.tree_fig, self.confusion_fig], align_items="flex-start"))
        else:
            self.purity_fig = self.tree_fig = self.confusion_fig = None
        self.children = parts
        limit_to_file(self, {"layer": self.layer_slider, "mode": self.mode_dropdown,  # a study opened from a file
                             "max_points": self.points_slider}, every_layer=bool(self.layer_figs))
        self.observe(lambda c: self.recompute(),
                     names=["mode", "max_points", "lens", "n_cubes", "overlap", "min_samples", "eps"])
        self.observe(lambda c: self._redraw(), names=["layer", "color_by"])
        if autostart:
            self.recompute()

    def _class_labels(self) -> list:
        """One name per class whose logit can serve as a lens (class names, else the labels seen)."""
        if self.study.class_names is not None:
            return list(self.study.class_names)
        if self.study.labels is not None:
            return [str(k) for k in range(int(np.max(self.study.labels)) + 1)]
        return []

    def _on_eps_text(self, change) -> None:
        try:
            self.eps = parse_number_or_auto(MapperSpec, "eps", change["new"], f"{type(self).__name__} (eps box)")
        except Exception as exc:
            self._on_state("error", self.format_exception(exc))

    @staticmethod
    def _empty_figure(title, width, height) -> go.Figure:
        empty = MapperGraph(nodes=[], edges=[], lens=np.empty((0, 1)), params={})
        return mapper_graph_figure(empty, title=title, width=width, height=height, toolbar=width >= MAIN_SIZE[0])

    @property
    def spec(self) -> CloudSpec:
        """The clouds: :attr:`base_spec` with the mode and points controls' values."""
        return self.base_spec.replace(mode=self.mode, max_points=int(self.max_points))

    def settings(self) -> dict:
        """The mapper settings computed (:meth:`Study.mapper`'s keyword arguments)."""
        return dict(lens=self.lens, n_cubes=int(self.n_cubes), overlap=float(self.overlap),
                    min_samples=int(self.min_samples), eps=self.eps, clusterer=self.clusterer,
                    class_groups=self.class_groups)

    # ----------------------------------------------------------- compute

    def recompute(self) -> None:
        """Compute (or fetch) every layer's mapper graph, then redraw."""
        spec, settings, study = self.spec, self.settings(), self.study
        layers = list(study.layers) if self.layer_figs else [self.layer]
        # a new setting on graphs already drawn: the layer on screen is computed first and its graph
        # drawn at once, the other layers' follow (the main graph of a new cover in about half the
        # time). Not the first time: the first graphs set up what links to the explorer (a LayerMap).
        early = bool(self.graphs_) and len(layers) > 1
        order = sorted(layers, key=lambda name: name != self.layer) if early else layers

        def work(progress, cancel):
            # one forward pass for every layer (with the cloud's activation function, as the clouds read it)
            if not is_opened(study):  # (without the model: the file's clouds)
                study.activations(layers, activation=spec.activation, progress=progress, cancel=cancel)
            graphs, errors = {}, {}
            for k, layer in enumerate(order):
                progress(k, len(layers), f"mapper of {layer}")
                computed = study.stats["mapper"]
                try:
                    # preset=False: exactly the settings shown, never the study's preset in their place
                    graphs[layer] = study.mapper(layer, spec, preset=False, cancel=cancel, **settings)
                except ValueError as exc:  # e.g. settings that give an empty graph in one layer
                    errors[layer] = str(exc)
                # early only for a graph that was computed: a cover seen before (every graph in the
                # cache) is swapped in by the page and answered at once
                if early and k == 0 and layer in graphs and study.stats["mapper"] > computed and not cancel.is_set():
                    self._show_early(layer, graphs[layer])
            progress(len(layers), len(layers), "mapper graphs ready")
            return {layer: graphs[layer] for layer in layers if layer in graphs}, errors

        self.jobs.submit(work, self._apply, label="mapper graphs")

    def _show_early(self, layer: str, graph) -> None:
        """Draw the new graph of the layer on screen (main graph and its small graph) while the
        other layers' are computed; every other layer keeps its graph until :meth:`_apply`."""
        if layer != self.layer:  # the layer slider moved meanwhile
            return
        self.graphs_ = {**self.graphs_, layer: graph}
        self._forget_selection()
        self._draw_main()
        if layer in self.layer_figs:
            self._draw_small(layer)

    def _forget_selection(self) -> None:
        self.selected_node = None
        self.highlighted_ = {}
        self.thumbnails.clear()
        self.info.value = ""  # the node it described belongs to the graphs just replaced

    def _apply(self, out) -> None:
        graphs, errors = out
        self.graphs_ = graphs
        self.errors_ = errors
        self._forget_selection()
        self._redraw()
        if self.purity_fig is not None:
            complete = {layer: graphs[layer] for layer in self.study.layers if layer in graphs}
            what = "class and group purity" if self.class_groups is not None else "class purity"
            # the three small figures go without plotly's toolbar: at 260 px it wraps over their titles
            self.purity_fig.show(without_toolbar(purity_by_layer_figure(complete, title=f"{what} per layer",
                                                                        width=260)))
            self._draw_confusion_tree()  # the class tree was drawn by _redraw above
            self._remember_views(self._view_figures())  # now with this cover's purity figure
        if errors:
            first = next(iter(errors.items()))
            self._on_state("error", f"{len(errors)} layer(s) gave no graph; {first[0]}: {first[1]}")

    def agreement_groups(self) -> tuple[Optional[dict], str]:
        """The groups the class trees are scored against, and what they are: the explorer's
        ``class_groups`` (``"given"``), else the groups the model's own mistakes suggest
        (:meth:`Study.suggested_groups`, ``"mistakes"``; as in the report), else ``(None, "")``."""
        if self.class_groups is not None:
            return dict(self.class_groups), "given"
        if not hasattr(self, "_suggested"):  # the model's mistakes do not change with the settings
            self._suggested = self.study.suggested_groups()
        return (self._suggested, "mistakes") if self._suggested is not None else (None, "")

    def class_tree(self, layer: Optional[str] = None):
        """The class tree (:func:`tda_widgets.topology.hierarchy.class_tree`) of ``layer``'s
        graph (default: the current layer), and the agreement (adjusted Rand index) of
        :meth:`agreement_groups` with it: the given class groups, else the groups the model's
        mistakes suggest; None when there are neither."""
        from ..topology.hierarchy import class_affinity, class_tree, grouping_agreement

        graph = self.graphs_[layer or self.layer]
        tree = class_tree(*class_affinity(graph, self.study.class_ids()))
        groups, _ = self.agreement_groups()
        return tree, (grouping_agreement(tree, groups) if groups is not None else None)

    def tree_words(self, agreement: Optional[float]) -> str:
        """The class tree's subtitle, in words: what its joins mean and, with groups to score
        it on, what agrees with what and what 0 means (the adjusted Rand index). Lines apart by
        newlines."""
        what = "classes sharing mapper nodes join low"
        if agreement is None:
            return what
        which = {"given": "your class groups", "mistakes": "the model's confusions"}[self.agreement_groups()[1]]
        return (f"{what}\nits groups vs {which}: {agreement:.2f}\n"
                "(1: the same groups, 0: no better than chance)")

    def _draw_class_tree(self) -> None:
        if self.tree_fig is None or self.layer not in self.graphs_ or self.study.labels is None:
            return
        from ..figures.hierarchy import class_tree_figure

        graph, key = self.graphs_[self.layer], ("tree", self.layer, repr(self.class_groups))
        cached = self._views.get(key, graph)
        if cached is None:
            try:
                tree, agreement = self.class_tree()
            except Exception as exc:  # e.g. a layer whose graph holds a single class
                cached = _empty_tree(f"{self.layer}: no class tree ({exc})"[:80], *TREE_SIZE)
            else:
                cached = without_toolbar(class_tree_figure(
                    tree, class_names=self.study.class_names, title=f"{self.layer}: class tree",
                    subtitle=self.tree_words(agreement), width=TREE_SIZE[0], height=TREE_SIZE[1]))
            self._views.put(key, cached, graph)
        self.tree_fig.show(cached)

    def _draw_confusion_tree(self) -> None:
        # the model's mistakes do not depend on the mapper settings: drawn once
        if self.confusion_fig is None or self.study.labels is None or getattr(self, "_confusion_drawn", False):
            return
        self._confusion_drawn = True
        from ..figures.hierarchy import class_tree_figure
        from ..topology.hierarchy import class_tree, confusion_affinity

        try:
            probabilities = self.study.class_probabilities()  # what it gives each wrong class, not only its answer
            tree = class_tree(*confusion_affinity(self.study.labels, probabilities, self.study.class_ids()))
        except Exception as exc:  # a model without class logits has no confusions to show
            self.confusion_fig.show(_empty_tree(f"no confusion tree ({exc})"[:80]))
            return
        groups, source = self.agreement_groups()
        cut = len(set(groups.values())) if source == "mistakes" else None  # the groups the trees are scored on
        self.confusion_fig.show(without_toolbar(class_tree_figure(
            tree, class_names=self.study.class_names, title="the model's confusions", width=260, color="#7f7f7f",
            cut=cut, subtitle=None if cut is None else f"dashed: the cut into {cut} groups")))

    def _figure(self, layer, highlight, width, height, title, subtitle=None) -> go.Figure:
        graph = self.graphs_.get(layer)
        if graph is None:
            return self._empty_figure(f"{layer}: no graph", width, height)
        key = ("graph", layer, width, height, title, subtitle, self.color_by, tuple(highlight or ()))
        cached = self._views.get(key, graph)
        if cached is not None:  # a view seen before: neither built nor serialised again
            return cached
        # markers scale with the figure: at the strip's size the main graph's 8-30 px discs hid
        # each other, and a click picked a neighbour
        scale = min(1.0, width / MAIN_SIZE[0])
        fig = mapper_graph_figure(
            graph, color_by=self.color_by, class_names=self.study.class_names, highlight=highlight, title=title,
            width=width, height=height, size_range=(max(5.0, 8.0 * scale), max(12.0, 30.0 * scale)),
            key=width >= MAIN_SIZE[0], subtitle=subtitle,  # the main graph carries the key
            toolbar=width >= MAIN_SIZE[0])  # a small graph is narrower than plotly's toolbar
        fig.layout.meta = {**(fig.layout.meta or {}), "tdaw_link": self._link(layer, graph)}
        return self._views.put(key, fig, graph)

    #: besides the linked controls, what decides the figures
    VIEW_TRAITS = ("lens", "eps", "class_groups")

    def _redraw(self) -> None:
        self._redraw_figures()
        if not self.highlighted_:  # figures without rings are views the settings alone decide
            self._remember_views(self._view_figures())

    def _view_figures(self) -> list:
        return [self.main_fig, *self.layer_figs.values(), self.tree_fig, self.purity_fig]

    def _redraw_figures(self) -> None:
        if not self.graphs_:
            return
        self._draw_class_tree()  # the tree follows the layer slider
        self._draw_main()
        for name in self.layer_figs:
            self._draw_small(name)

    def _draw_main(self) -> None:
        layer = self.layer
        graph = self.graphs_.get(layer)
        title = f"{layer} · {len(graph.nodes)} nodes, {len(graph.edges)} edges" if graph else f"{layer}: no graph"
        self.main_fig.show(self._figure(layer, self.highlighted_.get(layer), *MAIN_SIZE, title))

    def _draw_small(self, name: str) -> None:
        g = self.graphs_.get(name)
        # the name on its own line, the count below: one line of 150 px read "block1.conv · 18 nc"
        self.layer_figs[name].show(self._figure(name, self.highlighted_.get(name), *SMALL_SIZE, _short(name),
                                                f"{len(g.nodes)} nodes" if g else "no graph"))

    # ----------------------------------------------------------- linking

    def _bind_callbacks(self) -> None:
        figs = [(self.layer, self.main_fig)] + list(self.layer_figs.items())
        for name, fig in figs:
            layer = name if fig is not self.main_fig else None
            # a hover previews (thumbnails, rings); a click also brings that layer to the main
            # graph, so the graph, the node info and the thumbnails agree
            fig.on_hover(self._handler(layer, show_layer=False))
            fig.on_click(self._handler(layer, show_layer=True))

    def _handler(self, layer: Optional[str], show_layer: bool):
        def handler(plot, points):
            trace = points.trace
            inds = list(points.point_inds)
            if not inds or trace is None or trace.name != "nodes" or trace.customdata is None:
                return
            try:
                node_id = trace.customdata[inds[0]]
                node_id = node_id[0] if isinstance(node_id, (list, tuple, np.ndarray)) else node_id
                self.select_node(str(node_id), layer=layer, show_layer=show_layer)
            except Exception as exc:
                self._on_state("error", self.format_exception(exc))
        return handler

    def node_header(self, layer: str, graph: MapperGraph, k: int) -> str:
        """The one line that names node ``k`` (its position in ``graph.nodes``) for a person:
        "head · node 8 of 29 · 27 images · 100 % class 2" (the share of its points in its
        majority class, by name where the study has class names). Plain text: the thumbnail
        panel's title, in the kernel's answer and in the browser's own (:meth:`_link`)."""
        node = graph.nodes[k]
        n_images = len(node.image_indices)
        words = [layer, f"node {k + 1} of {len(graph.nodes)}", f"{n_images} image{'s' if n_images != 1 else ''}"]
        if node.majority is not None and not np.isnan(node.purity):
            words.append(f"{node.purity:.0%} {self._class_word(node.majority)}".replace("%", " %", 1))
        return " · ".join(words)

    def _class_word(self, label) -> str:
        """A class as a person reads it: its name, or "class 3" where the name is a bare number."""
        name = label_name(label, self.study.class_names)
        return f"class {name}" if name.lstrip("-").isdigit() else name

    def node_classes(self, layer: str, node_id: str) -> list:
        """``[(class name, count), ...]`` of a node's points, most common first (the panel's bars)."""
        node = self.graphs_[layer].node(node_id)
        items = sorted(node.class_counts.items(), key=lambda kv: (-kv[1], str(kv[0])))
        return [(label_name(label, self.study.class_names), int(count)) for label, count in items]

    def node_mean_image(self, layer: str, node_id: str) -> np.ndarray:
        """The mean of a node's images (the study's thumbnails, float, (C, H, W)), pixel by pixel."""
        images = self.study.thumbnail_images()
        return np.asarray(images, dtype=np.float64)[self.graphs_[layer].node(node_id).image_indices].mean(axis=0)

    def _mean_png(self, mean: np.ndarray) -> bytes:
        images = self.study.thumbnail_images()  # cached: scaled with the whole set's range, as the thumbnails
        low, high = float(np.min(images)), float(np.max(images))
        picture = to_uint8_images(mean[None], value_range=(low, high) if high > low else None)
        return sprite_sheet(picture, tile=MEAN_IMAGE_PX)["png"]

    def _link(self, layer, graph) -> dict:
        """What the browser needs to answer a hover or click on this graph's nodes by itself,
        before the kernel does (plotly_library.js, "linked graphs"): the explorer's group (its
        thumbnail panel's model id), each node's images (in the nodes trace's order: offsets into
        one array) and the panel title the kernel would show (HTML-escaped). Without the titles (a cloud whose
        points sit at spatial positions: the kernel marks them on the thumbnails) the browser
        draws only the rings. The kernel's answer follows and sets the same state."""
        images = [np.asarray(node.image_indices, dtype=np.int32) for node in graph.nodes]
        offsets = np.zeros(len(images) + 1, dtype=np.int32)
        offsets[1:] = np.cumsum([len(i) for i in images])
        link = dict(group=self.thumbnails.model_id, offsets=offsets,
                    images=np.concatenate(images) if images else np.zeros(0, dtype=np.int32))
        cloud = self.study.cloud(layer, self.spec, preset=False)
        if point_marks(cloud, [], []) is None:
            # escaped like every string of a figure (a layer name is foreign text); the browser
            # turns each back into the kernel's plain title before showing it as text
            link["titles"] = [escape(self.node_header(layer, graph, k)) for k in range(len(graph.nodes))]
        return link

    def node_images(self, node_id: str, layer: Optional[str] = None) -> np.ndarray:
        """Image indices behind a node of ``layer``'s graph (default: the current layer)."""
        return self.graphs_[layer or self.layer].node(node_id).image_indices

    def select_node(self, node_id: str, layer: Optional[str] = None, show_layer: bool = True) -> None:
        """Show a node's thumbnails and ring the nodes with the same images in every layer; with
        ``show_layer``, a node of another layer also brings that layer to the main graph."""
        layer = layer or self.layer
        graph = self.graphs_[layer]
        node = graph.node(node_id)
        if show_layer and layer != self.layer:
            self.layer = layer
        images = [int(i) for i in node.image_indices]
        title = self.node_header(layer, graph, graph.nodes.index(node))
        cloud = self.study.cloud(layer, self.spec, preset=False)  # cached: where in each image its vectors sit
        self.node_mean_ = self.node_mean_image(layer, node.id)
        self.thumbnails.show(images, title=title, marks=point_marks(cloud, node.members, images),
                             bars=self.node_classes(layer, node.id) if node.class_counts else None,
                             mean=self._mean_png(self.node_mean_))
        # what the header and the bars do not say: the points (a node of a spatial cloud holds
        # several per image) and the class groups
        extra = [] if node.size == len(images) else [markup("{} points from {} images", node.size, len(images))]
        if node.group_counts:
            total = sum(node.group_counts.values()) or 1
            shares = sorted(node.group_counts.items(), key=lambda kv: (-kv[1], str(kv[0])))
            extra.append(markup("class groups: {}", ", ".join(f"{g} {n} ({n / total:.0%})".replace("%", " %")
                                                                for g, n in shares)))
        self.info.value = "<br>".join(extra)
        self.highlighted_ = {name: g.nodes_with_images(images) for name, g in self.graphs_.items()}
        self.selected_node = f"{layer}:{node_id}"
        self._redraw_highlights()

    def find_image(self, index: int) -> dict:
        """Ring, in every layer's graph, the nodes that hold image ``index`` and show it in the
        panel; returns ``{layer: node ids}`` (what the "find image #" box does)."""
        n = self.study.n_images
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or not 0 <= int(index) < n:
            raise TDAInputError(f"The 'index' parameter of MapperExplorer.find_image must be an image index from 0 "
                                f"to {n - 1}. Got {index!r} instead.")
        index = int(index)
        self.ring_images([index])
        held = sum(bool(ids) for ids in self.highlighted_.values())
        label = "" if self.study.labels is None else f" ({self._class_word(self.study.labels[index])})"
        self.thumbnails.show([index], title=f"image {index}{label} · in {held} of {len(self.graphs_)} layers' graphs")
        self.info.value = ""
        return dict(self.highlighted_)

    def find_class(self, label) -> dict:
        """Ring, in every layer's graph, the nodes that hold images of class ``label``; returns
        ``{layer: node ids}`` (what the "class" dropdown does). None clears the rings."""
        if label is None:
            self.ring_images([])
            return {}
        if self.study.labels is None:
            raise TDAInputError("MapperExplorer.find_class needs labels: pass labels=... to the explorer.")
        images = np.flatnonzero(np.asarray(self.study.labels) == label)
        self.ring_images(images.tolist())
        held = sum(bool(ids) for ids in self.highlighted_.values())
        self.thumbnails.show(images.tolist(), title=f"{self._class_word(label)} · {len(images)} images · "
                                                    f"in {held} of {len(self.graphs_)} layers' graphs")
        self.info.value = ""
        return dict(self.highlighted_)

    def _on_image_box(self, change) -> None:
        text = (change["new"] or "").strip()
        try:
            if not text:
                self.ring_images([])
                return
            try:
                index = int(text)
            except ValueError:
                raise TDAInputError(f"The 'find image #' box takes an image index from 0 to "
                                    f"{self.study.n_images - 1}. Got {text!r} instead.") from None
            self.find_image(index)
        except Exception as exc:
            self._on_state("error", self.format_exception(exc))

    def _on_class_dropdown(self, change) -> None:
        try:
            self.find_class(change["new"])
        except Exception as exc:
            self._on_state("error", self.format_exception(exc))

    def ring_images(self, images) -> None:
        """Ring, in every layer's graph, the nodes that hold any of ``images`` (indices into the
        study's images): where an image, or a set of them (a class, a selection on a
        :class:`~tda_widgets.LayerMap`), lies in each layer. An empty list clears the rings."""
        images = [int(i) for i in images]
        self.highlighted_ = {name: (g.nodes_with_images(images) if images else [])
                             for name, g in self.graphs_.items()}
        self._redraw_highlights()

    def _redraw_highlights(self) -> None:
        """Show the rings of ``highlighted_`` in every figure: each figure's 'highlight' trace
        holds a ring at every node, so this is one per-point opacity restyle per figure
        (:meth:`Plot.restyle`: one ``Plotly.restyle`` in the page; building every figure again
        took 0.7-0.8 s for a click). The page has usually drawn the same rings already."""
        figs = [(self.layer, self.main_fig)] + list(self.layer_figs.items())
        for name, fig in figs:
            if self.graphs_.get(name) is None:
                continue
            names = fig.trace_names()
            if "highlight" not in names:
                continue
            ring_index = names.index("highlight")
            ids = fig.trace_value(ring_index, "customdata")
            if ids is None:
                continue
            wanted = {str(i) for i in self.highlighted_.get(name) or []}
            opacity = np.array([1.0 if str(np.ravel(i)[0] if np.ndim(i) else i) in wanted else 0.0 for i in ids],
                               dtype=np.float64)
            now = fig.trace_value(ring_index, "marker.opacity")
            if now is not None and np.shape(now) == opacity.shape and np.array_equal(now, opacity):
                continue  # a click on the node the hover already showed: nothing to send
            fig.restyle(ring_index, {"marker.opacity": opacity})
