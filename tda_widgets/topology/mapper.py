"""Mapper graphs of activation point clouds, built with KeplerMapper (kmapper).

:func:`mapper_graph` computes a lens (a low-dimensional filter of the cloud), covers its range
with overlapping intervals (``kmapper.Cover``), clusters the points of each interval in the
full space (DBSCAN, single linkage, or any scikit-learn style clusterer) and links clusters
that share points (``kmapper.GraphNerve``). Node ids, members and edges are exactly those of
``kmapper.KeplerMapper.map`` with the same lens, cover and clusterer; this module only chooses
defaults, validates the settings, and summarises each node (class make-up, images behind it).

Default DBSCAN radius (``eps=None``)
------------------------------------
DBSCAN's ``eps`` depends on the scale of the cloud, which varies wildly between layers. With
``eps=None`` it is set to the 90th percentile (:data:`EPS_PERCENTILE`) over all points of the
distance from a point to its ``(min_samples - 1)``-th nearest other point, i.e. the radius at
which 90 % of the points of the whole cloud would be DBSCAN core points. Clusters inside one
cover interval then merge points that are locally as close as the cloud's typical neighbours.
The same radius is the ``distance_threshold`` of single-linkage clustering. The value used is
recorded in ``MapperGraph.params["eps"]``.

The knee radius (``eps="knee"``, the study's choice)
----------------------------------------------------
With ``eps="knee"`` the radius is the knee of the sorted nearest-neighbour distance curve
(:func:`knee_eps`), the choice of the mapper scripts behind Purvine et al. (AAAI 2023): their
``get_knn.py`` ``elbow_eps`` fits ``NearestNeighbors(n_neighbors=2)`` (the point itself and its
nearest other point), sorts the distances to the nearest other point and takes the knee that
``kneed.KneeLocator(..., curve="convex", direction="decreasing")`` finds. Here the knee is
defined without kneed (:func:`knee_index`): put the distances in increasing order,
``y_0 <= ... <= y_{n-1}`` at ``x_i = i``; rescale both axes to [0, 1]
(``x'_i = i / (n - 1)``, ``y'_i = (y_i - y_0) / (y_{n-1} - y_0)``); the knee is the point
farthest below the chord from the first point to the last, i.e. the maximum of
``x'_i - y'_i`` (Kneedle's difference curve, Satopää et al. 2011; the distance to the chord is
``(x'_i - y'_i) / sqrt(2)``), the first one on a tie. The point is the same whichever axis
holds the distances and in whichever order they are sorted (the study's script puts them on
the x axis in decreasing order), since the rescaled square's reflections keep distances to the
chord. ``kneed`` returns the same point when the difference curve has one local maximum; it may
stop at an earlier local maximum (its sensitivity ``S``) where there are several. The study's
script rounds the radius to 3 decimals; this does not. When the curve has no point below the
chord (a straight or concave curve, or all distances equal) there is no knee, and the median
distance is used, as the study's script does; a knee at distance 0 (duplicate points) falls
back to the smallest positive distance. ``MapperGraph.params["eps_source"]`` says which.
"""

from __future__ import annotations

import difflib
import math
import numbers
from collections import Counter
from dataclasses import dataclass
from typing import Any, Mapping, Optional

import numpy as np

from ..core._display import RichDisplay, one_line
from ..core.errors import TDAInputError, TDATypeError
from ..core.options import Spec, option

__all__ = [
    "MapperNode",
    "MapperGraph",
    "mapper_graph",
    "default_eps",
    "knee_eps",
    "knee_index",
    "EPS_RULES",
    "LENSES",
    "CLUSTERERS",
    "EPS_PERCENTILE",
    "NAMED_CLASS_GROUPS",
    "resolve_class_groups",
]

#: Class groups known by name (``class_groups="cifar10"``): CIFAR-10's vehicles and animals, the
#: two-level hierarchy of the study this package serves (classes in torchvision's order:
#: airplane, automobile, bird, cat, deer, dog, frog, horse, ship, truck).
NAMED_CLASS_GROUPS = {
    "cifar10": {0: "vehicle", 1: "vehicle", 2: "animal", 3: "animal", 4: "animal", 5: "animal", 6: "animal",
                7: "animal", 8: "vehicle", 9: "vehicle"},
}


def resolve_class_groups(class_groups, where: str = "mapper_graph"):
    """``class_groups`` as a mapping: a name of :data:`NAMED_CLASS_GROUPS` is looked up (a clear
    error with close matches otherwise); a mapping or None is returned as it is."""
    if not isinstance(class_groups, str):
        return class_groups
    if class_groups in NAMED_CLASS_GROUPS:
        return dict(NAMED_CLASS_GROUPS[class_groups])
    close = difflib.get_close_matches(class_groups, list(NAMED_CLASS_GROUPS), n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise TDAInputError(
        f"The 'class_groups' parameter of {where} names no known grouping: {class_groups!r}. Known: "
        f"{sorted(NAMED_CLASS_GROUPS)}; or pass a mapping {{class: group}}.{hint}"
    )


#: Lens names accepted by :func:`mapper_graph` (besides ``("coordinate", j)`` and arrays).
LENSES = ("pca", "pca2", "l2norm")
#: Clusterer names accepted by :func:`mapper_graph` (besides clusterer objects).
CLUSTERERS = ("dbscan", "single-linkage")
#: Percentile of k-nearest-neighbour distances used as the default DBSCAN ``eps``.
EPS_PERCENTILE = 90.0
#: Named rules for DBSCAN's ``eps`` besides a number and None (see the module docstring).
EPS_RULES = ("knee",)


@dataclass(frozen=True)
class MapperSpec(Spec):
    """Options of the mapper step (declared once; see :mod:`tda_widgets.options`).

    ``lens`` may also be ``("logit", class)`` or an array in :func:`mapper_graph` and
    :meth:`tda_widgets.Study.mapper`; the declared choices are the named lenses.
    """

    lens: str = option("pca", "the filter: first principal component, the L2 norm of each point, or the "
                       "first two principal components; or a tuple: ('logit', class), ('coordinate', j)",
                       choices=LENSES, kind=tuple, label="lens")
    n_cubes: int = option(10, "intervals of the cover of each lens axis", kind=numbers.Integral, minimum=1,
                          label="intervals", ui=(2, 30, 1))
    overlap: float = option(0.3, "fraction by which neighbouring intervals overlap", kind=numbers.Real,
                            minimum=0.0, maximum=1.0, closed="neither", label="overlap",
                            ui=(0.05, 0.9, 0.05))  # kmapper.Cover's perc_overlap: 0 < overlap < 1
    clusterer: str = option("dbscan", "how each interval's points are clustered into nodes",
                            choices=CLUSTERERS)
    eps: Any = option(None, f"DBSCAN radius; None: the {EPS_PERCENTILE:g}th percentile of the distances to "
                      "the min_samples-th neighbour; 'knee': the knee of the sorted nearest-neighbour distances "
                      "(the study's)", choices=(None,) + EPS_RULES, kind=numbers.Real, minimum=0.0,
                      maximum=math.inf, closed="neither")
    min_samples: int = option(3, "DBSCAN's core-point size (also the smallest node)", kind=numbers.Integral,
                              minimum=1, label="min samples", ui=(1, 20, 1))


# --------------------------------------------------------------------------- results


@dataclass
class MapperNode:
    """One mapper node: a cluster of points inside one cover interval.

    Attributes
    ----------
    id : str
        kmapper's node id, e.g. ``"cube3_cluster0"``: cluster 0 of the fourth *non-empty*
        cover interval (kmapper numbers only intervals that contain points).
    members : ndarray of shape (size,)
        Sorted int indices of the member points in the cloud.
    image_indices : ndarray
        Sorted unique image indices of the members (through ``image_index``); equal to
        ``members`` when no ``image_index`` was given.
    class_counts : dict
        ``{label: count}`` over the members; empty without labels.
    majority : object or None
        Most common label (ties go to the smallest label); None without labels.
    purity : float
        Majority count / size; NaN without labels.
    entropy : float
        Shannon entropy, in bits, of the class make-up; NaN without labels.
    lens_mean : float
        Mean of the first lens coordinate over the members.
    group_counts : dict or None
        ``{group: count}`` when ``class_groups`` was given, else None.
    size : int
        Number of members.
    """

    id: str
    members: np.ndarray
    image_indices: np.ndarray
    class_counts: dict
    majority: object | None
    purity: float
    entropy: float
    lens_mean: float
    group_counts: dict | None
    size: int

    @property
    def group_majority(self):
        """The most common class group (ties go to the first in sorted order); None without
        ``class_groups``."""
        if not self.group_counts:
            return None
        return min(self.group_counts.items(), key=lambda kv: (-kv[1], str(kv[0])))[0]

    @property
    def group_purity(self) -> float:
        """Count of the most common group / members with a label; NaN without ``class_groups``."""
        if not self.group_counts:
            return math.nan
        return max(self.group_counts.values()) / sum(self.group_counts.values())


@dataclass(repr=False)
class MapperGraph(RichDisplay):
    """A mapper graph with per-node summaries.

    Attributes
    ----------
    nodes : list of MapperNode
        Nodes in kmapper's order (by cover interval, then cluster label).
    edges : list of (str, str, ndarray)
        ``(node_a, node_b, shared_members)`` with ``node_a < node_b`` (string order), the shared
        point indices sorted; the list is sorted by ``(node_a, node_b)``.
    lens : ndarray of shape (n_points, k)
        Lens values used for the cover.
    params : dict
        Every setting used: lens, n_cubes, overlap, clusterer (repr), eps and how it was
        chosen, min_samples, random_state, sizes, kmapper version.
    """

    nodes: list[MapperNode]
    edges: list[tuple[str, str, np.ndarray]]
    lens: np.ndarray
    params: dict

    _figure_builder = "mapper_result_figure"

    def summary(self) -> str:
        """One line: nodes, edges, points, the cover and the size-weighted purity; also the
        ``repr``. In a notebook the graph shows as its figure."""
        params = self.params or {}
        purity = self.mean_purity() if self.nodes else math.nan
        return one_line(
            f"MapperGraph: {len(self.nodes)} nodes, {len(self.edges)} edges over {params.get('n_points', '?')} "
            f"points (lens {params.get('lens', '?')}, {params.get('n_cubes', '?')} intervals, overlap "
            f"{params.get('overlap', '?')})" + ("" if math.isnan(purity) else f", purity {purity:.2f}"))

    def node(self, node_id) -> MapperNode:
        """Return the node with id ``node_id``.

        Raises
        ------
        KeyError
            If there is no such node; the message lists close matches.
        """
        for node in self.nodes:
            if node.id == node_id:
                return node
        close = difflib.get_close_matches(str(node_id), [n.id for n in self.nodes], n=3)
        hint = f" Close matches: {close}." if close else ""
        raise KeyError(f"No mapper node with id {node_id!r} among {len(self.nodes)} nodes.{hint}")

    def nodes_with_images(self, image_indices) -> list[str]:
        """Ids of the nodes containing any of ``image_indices`` (for linking across layers).

        Parameters
        ----------
        image_indices : int or iterable of int
            Image indices (the same numbering as ``image_index`` in :func:`mapper_graph`).

        Returns
        -------
        list of str
            Node ids in node order.
        """
        wanted = np.unique(np.asarray(image_indices).ravel())
        if wanted.size == 0:
            return []
        return [node.id for node in self.nodes if np.isin(node.image_indices, wanted).any()]

    def mean_purity(self, by: str = "class") -> float:
        """Purity of the graph's nodes, weighted by node size: sum(size x purity) / sum(size).

        ``by="class"`` uses :attr:`MapperNode.purity`, ``by="group"`` :attr:`MapperNode.group_purity`
        (the graph must have been built with ``class_groups``). A point in several nodes counts
        once per node, as the graph shows it. NaN for a graph without labels or nodes.
        """
        if by not in ("class", "group"):
            raise TDAInputError(f"The 'by' parameter of MapperGraph.mean_purity must be 'class' or 'group'. "
                                f"Got {by!r} instead.")
        values = [(node.size, node.purity if by == "class" else node.group_purity) for node in self.nodes]
        values = [(size, value) for size, value in values if not math.isnan(value)]
        total = sum(size for size, _ in values)
        return sum(size * value for size, value in values) / total if total else math.nan

    def to_networkx(self):
        """The graph as a :class:`networkx.Graph`.

        Nodes carry ``size``, ``majority`` and ``purity`` attributes; edges carry ``weight``,
        the number of shared members.
        """
        import networkx as nx

        graph = nx.Graph()
        for node in self.nodes:
            graph.add_node(node.id, size=node.size, majority=node.majority, purity=node.purity)
        for a, b, shared in self.edges:
            graph.add_edge(a, b, weight=int(len(shared)))
        return graph

    def to_node_link(self) -> dict:
        """The graph as JSON-safe node-link data (:func:`tda_widgets.topology.graph_to_node_link`)."""
        from .exports import graph_to_node_link

        return graph_to_node_link(self)

    def write(self, path) -> None:
        """Write the graph: ``.json`` as node-link JSON (read back with
        :func:`tda_widgets.topology.read_node_link`), ``.graphml`` as GraphML."""
        from .exports import write_graphml, write_node_link

        suffix = str(path).rsplit(".", 1)[-1].lower()
        if suffix not in ("json", "graphml"):
            raise TDAInputError(f"MapperGraph.write writes .json (node-link) or .graphml files. Got {str(path)!r}.")
        (write_node_link if suffix == "json" else write_graphml)(self, path)


# --------------------------------------------------------------------------- helpers


class _FitLabelsClusterer:
    """Adapts a clusterer with ``fit`` and ``labels_`` to kmapper's ``fit_predict`` API."""

    def __init__(self, estimator):
        self.estimator = estimator

    def get_params(self, deep=True):
        get_params = getattr(self.estimator, "get_params", None)
        return get_params(deep=deep) if callable(get_params) else {}

    def fit_predict(self, X):
        self.estimator.fit(X)
        return np.asarray(self.estimator.labels_)

    def __repr__(self):
        return repr(self.estimator)


def _plain(value):
    """numpy scalars to Python scalars, so dict keys print and compare cleanly."""
    return value.item() if isinstance(value, np.generic) else value


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def _validate_points(points) -> np.ndarray:
    try:
        array = np.asarray(points)
    except Exception as exc:
        raise TDATypeError(
            "The 'points' parameter of mapper_graph must be an array of shape "
            f"(n_points, n_features). Could not convert it: {exc}"
        ) from exc
    if array.dtype == object or np.iscomplexobj(array) or not (
        np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.bool_)
    ):
        raise TDATypeError(
            "The 'points' parameter of mapper_graph must hold real numbers. "
            f"Got dtype {array.dtype} instead; convert it with np.asarray(..., dtype=float)."
        )
    if array.ndim != 2:
        raise TDAInputError(
            "The 'points' parameter of mapper_graph must have shape (n_points, n_features). "
            f"Got shape {array.shape} instead; reshape it (for one feature: points.reshape(-1, 1))."
        )
    if array.shape[0] < 2 or array.shape[1] < 1:
        raise TDAInputError(
            "The 'points' parameter of mapper_graph needs at least 2 points and 1 feature. "
            f"Got shape {array.shape}; pass a larger cloud."
        )
    array = array.astype(np.float64, copy=False)
    if not np.all(np.isfinite(array)):
        raise TDAInputError(
            "The 'points' parameter of mapper_graph must be finite. Got "
            f"{int(np.count_nonzero(~np.isfinite(array)))} NaN or infinite value(s); remove or "
            "impute them first."
        )
    return array


def _validate_per_point(values, name: str, n_points: int) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1 or array.shape[0] != n_points:
        raise TDAInputError(
            f"The '{name}' parameter of mapper_graph must have one entry per point, shape "
            f"({n_points},). Got shape {array.shape} instead; map per-image values to points "
            "through the cloud's provenance (e.g. values[provenance.image])."
        )
    return array


def _compute_lens(points: np.ndarray, lens, random_state) -> tuple[np.ndarray, object]:
    """Return (lens values of shape (n, k), description for params)."""
    n_points, n_features = points.shape
    if isinstance(lens, str):
        if lens == "pca" or lens == "pca2":
            from sklearn.decomposition import PCA

            k = 1 if lens == "pca" else 2
            if n_features < k:
                raise TDAInputError(
                    f"The 'lens' parameter of mapper_graph is {lens!r}, which needs at least {k} "
                    f"features, but the points have {n_features}. Use lens='pca' or 'l2norm'."
                )
            values = PCA(n_components=k, random_state=random_state).fit_transform(points)
            return values, lens
        if lens == "l2norm":
            return np.linalg.norm(points, axis=1)[:, None], lens
        close = difflib.get_close_matches(lens, LENSES, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise TDAInputError(
            f"The 'lens' parameter of mapper_graph must be one of {set(LENSES)}, "
            f"('coordinate', j) or an array of shape (n_points,) or (n_points, k). "
            f"Got {lens!r} instead.{hint}"
        )
    if isinstance(lens, tuple) and len(lens) == 2 and isinstance(lens[0], str):
        kind, j = lens
        if kind != "coordinate":
            raise TDAInputError(
                "A tuple 'lens' of mapper_graph must be ('coordinate', j). "
                f"Got {lens!r} instead."
            )
        if not _is_int(j) or not -n_features <= j < n_features:
            raise TDAInputError(
                "The coordinate index j of lens=('coordinate', j) in mapper_graph must be an "
                f"integer in [0, {n_features}) for points with {n_features} features. "
                f"Got {j!r} instead."
            )
        return points[:, [int(j)]].copy(), ("coordinate", int(j))
    try:
        values = np.asarray(lens, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TDATypeError(
            "The 'lens' parameter of mapper_graph must be a lens name, ('coordinate', j) or a "
            f"numeric array. Got {type(lens).__name__} that could not be converted: {exc}"
        ) from exc
    if values.ndim == 1:
        values = values[:, None]
    if values.ndim != 2 or values.shape[0] != n_points or values.shape[1] < 1:
        raise TDAInputError(
            "A user 'lens' array in mapper_graph must have shape (n_points,) or (n_points, k) "
            f"with n_points = {n_points}. Got shape {np.shape(lens)} instead; compute one lens "
            "value per point of the cloud (the same rows, in the same order)."
        )
    if not np.all(np.isfinite(values)):
        raise TDAInputError(
            "A user 'lens' array in mapper_graph must be finite. Got NaN or infinite values; "
            "remove or impute them."
        )
    return values.copy(), "custom"


def default_eps(points, min_samples: int = 3) -> float:
    """The default DBSCAN radius: a high percentile of k-nearest-neighbour distances.

    Returns the :data:`EPS_PERCENTILE`-th percentile, over all points, of the distance from each
    point to its ``(min_samples - 1)``-th nearest other point (the point itself counts towards
    ``min_samples`` in DBSCAN). At that radius 90 % of the points would be core points of the
    whole cloud. Falls back to the largest such distance, then to 1.0, when the percentile is 0
    (many duplicate points).

    Parameters
    ----------
    points : ndarray of shape (n_points, n_features)
        The cloud.
    min_samples : int, default 3
        DBSCAN's ``min_samples``.

    Returns
    -------
    float
        A positive radius.
    """
    from sklearn.neighbors import NearestNeighbors

    points = np.asarray(points, dtype=np.float64)
    k = int(min(max(min_samples, 2), points.shape[0]))
    distances, _ = NearestNeighbors(n_neighbors=k).fit(points).kneighbors(points)
    kth = distances[:, -1]
    eps = float(np.percentile(kth, EPS_PERCENTILE))
    if not eps > 0:
        eps = float(kth.max())
    return eps if eps > 0 else 1.0


def knee_index(curve) -> Optional[int]:
    """Index of the knee of an increasing curve: the point farthest below its chord.

    Both axes are rescaled to [0, 1] (``x'_i = i / (n - 1)``, ``y'_i = (y_i - y_0) /
    (y_{n-1} - y_0)``) and the knee is the first index of the maximum of ``x'_i - y'_i``
    (Kneedle's difference curve; proportional to the distance below the chord).

    Parameters
    ----------
    curve : array_like of shape (n,)
        Values sorted in increasing order (e.g. sorted nearest-neighbour distances).

    Returns
    -------
    int or None
        The knee's index; None when no point lies below the chord (fewer than 3 values, a
        constant, straight or concave curve).

    Examples
    --------
    >>> knee_index([0.0, 0.1, 0.2, 0.3, 2.0, 4.0])
    3
    """
    y = np.asarray(curve, dtype=np.float64).ravel()
    if y.size < 3 or not y[-1] > y[0]:
        return None
    x = np.arange(y.size) / (y.size - 1)
    difference = x - (y - y[0]) / (y[-1] - y[0])
    best = int(np.argmax(difference))
    return best if difference[best] > 1e-12 else None


def knee_eps(points, k: int = 1) -> tuple[float, str]:
    """DBSCAN's radius at the knee of the sorted k-nearest-neighbour distances (the study's).

    Each point's distance to its ``k``-th nearest *other* point, sorted in increasing order; the
    radius is the distance at :func:`knee_index`. See the module docstring for the rule, the
    study's script it follows (``k=1``) and the fallbacks.

    Parameters
    ----------
    points : ndarray of shape (n_points, n_features)
    k : int, default 1
        Which neighbour (1: the nearest other point, as in the study).

    Returns
    -------
    eps : float
        A positive radius.
    source : str
        ``"knee"``; ``"knee-median"`` when the curve has no knee (the median distance is used);
        ``"knee-positive"`` when the knee sits at distance 0 (the smallest positive distance).
    """
    from sklearn.neighbors import NearestNeighbors

    points = np.asarray(points, dtype=np.float64)
    k = int(min(max(k, 1), points.shape[0] - 1))
    distances, _ = NearestNeighbors(n_neighbors=k + 1).fit(points).kneighbors(points)
    curve = np.sort(distances[:, k])
    index = knee_index(curve)
    if index is None:
        eps, source = float(np.median(curve)), "knee-median"
    else:
        eps, source = float(curve[index]), "knee"
    if not eps > 0:
        positive = curve[curve > 0]
        eps, source = (float(positive.min()), "knee-positive") if positive.size else (1.0, "knee-positive")
    return eps, source


def _make_clusterer(clusterer, eps, min_samples, points):
    """Return (kmapper-compatible clusterer, name, eps used, how eps was chosen)."""
    if isinstance(clusterer, str):
        MapperSpec.check("mapper_graph", clusterer=clusterer)  # a name: the declared choices
        if eps is None:
            eps_used, source = default_eps(points, min_samples), "knn-percentile"
        elif eps == "knee":
            eps_used, source = knee_eps(points)
        else:
            eps_used, source = float(eps), "given"
        if clusterer == "dbscan":
            from sklearn.cluster import DBSCAN

            return DBSCAN(eps=eps_used, min_samples=min_samples), clusterer, eps_used, source
        from sklearn.cluster import AgglomerativeClustering

        model = AgglomerativeClustering(
            n_clusters=None, distance_threshold=eps_used, linkage="single"
        )
        return model, clusterer, eps_used, source
    if not callable(getattr(clusterer, "fit", None)):
        raise TDATypeError(
            "The 'clusterer' parameter of mapper_graph must be one of "
            f"{set(CLUSTERERS)} or an object with fit() and labels_ (scikit-learn style). "
            f"Got {type(clusterer).__name__} instead."
        )
    if callable(getattr(clusterer, "fit_predict", None)) and callable(
        getattr(clusterer, "get_params", None)
    ):
        return clusterer, "custom", None, None
    return _FitLabelsClusterer(clusterer), "custom", None, None


def _class_summary(member_labels, class_groups):
    counts = Counter(_plain(v) for v in member_labels)
    try:
        ordered = sorted(counts)
    except TypeError:  # labels of mixed types: keep first-seen order for ties
        ordered = list(counts)
    class_counts = {label: counts[label] for label in ordered}
    size = sum(class_counts.values())
    top = max(class_counts.values())
    majority = next(label for label in ordered if class_counts[label] == top)
    p = np.array(list(class_counts.values()), dtype=np.float64) / size
    entropy = float(-(p * np.log2(p)).sum()) + 0.0  # + 0.0 turns -0.0 into 0.0
    group_counts = None
    if class_groups is not None:
        group_counts = {}
        for label, count in class_counts.items():
            group = class_groups[label]
            group_counts[group] = group_counts.get(group, 0) + count
    return class_counts, majority, top / size, entropy, group_counts


# --------------------------------------------------------------------------- public API


def mapper_graph(
    points,
    *,
    labels=None,
    image_index=None,
    lens=MapperSpec.default("lens"),
    n_cubes: int = MapperSpec.default("n_cubes"),
    overlap: float = MapperSpec.default("overlap"),
    clusterer=MapperSpec.default("clusterer"),
    eps: Any = MapperSpec.default("eps"),
    min_samples: int = MapperSpec.default("min_samples"),
    class_groups: Optional[Mapping] = None,
    random_state=0,
) -> MapperGraph:
    """Mapper graph of a point cloud, with each node's class make-up and images.

    Parameters
    ----------
    points : array_like of shape (n_points, n_features)
        The cloud (e.g. one layer's activations, one row per point).
    labels : array_like of shape (n_points,), optional
        Class label of each *point* (map image labels through the cloud's provenance first).
    image_index : array_like of int, shape (n_points,), optional
        Image each point comes from; nodes then list their images. Defaults to the point index.
    lens : {"pca", "pca2", "l2norm"}, ("coordinate", j) or array_like, default "pca"
        The filter: first principal component (seeded by ``random_state``), the first two,
        the Euclidean norm of each point, feature ``j``, or your own values of shape
        ``(n_points,)`` or ``(n_points, k)`` (e.g. a class logit).
    n_cubes : int, default 10
        Intervals per lens dimension (``kmapper.Cover(n_cubes=...)``).
    overlap : float, default 0.3
        Fraction of overlap of neighbouring intervals, in (0, 1)
        (``kmapper.Cover(perc_overlap=...)``).
    clusterer : {"dbscan", "single-linkage"} or object, default "dbscan"
        ``"dbscan"``: ``sklearn.cluster.DBSCAN(eps, min_samples)``; ``"single-linkage"``:
        ``AgglomerativeClustering(linkage="single", distance_threshold=eps)``; or any object
        with ``fit`` and ``labels_`` (label -1 is noise), used as given.
    eps : float, "knee" or None, default None
        DBSCAN radius / single-linkage distance threshold. None picks :func:`default_eps`,
        ``"knee"`` :func:`knee_eps` (the study's; see the module docstring).
    min_samples : int, default 3
        DBSCAN's ``min_samples``; kmapper also skips intervals with fewer points.
    class_groups : mapping or str, optional
        ``{label: group name}`` (e.g. CIFAR-10 animals vs vehicles: ``"cifar10"``, see
        :data:`NAMED_CLASS_GROUPS`); nodes then get ``group_counts``. Needs ``labels`` and a
        group for every label present.
    random_state : int, default 0
        Seed of the PCA lens.

    Returns
    -------
    MapperGraph
        Nodes (kmapper's ids and members, plus summaries), edges with shared members, the lens
        and every setting used.

    Raises
    ------
    TDAInputError
        On invalid settings (each message names the setting and the fix), or when the settings
        give a graph without nodes.
    TDATypeError
        On arguments of the wrong type.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> angles = rng.uniform(0, 2 * np.pi, 200)
    >>> circle = np.c_[np.cos(angles), np.sin(angles)] + rng.normal(0, 0.02, (200, 2))
    >>> graph = mapper_graph(circle, lens=("coordinate", 0), n_cubes=6, overlap=0.3)
    >>> nx_graph = graph.to_networkx()
    >>> len(nx_graph.nodes) == len(graph.nodes), len(graph.edges) >= 6
    (True, True)
    """
    import kmapper as km

    points = _validate_points(points)
    n_points = points.shape[0]

    # The spec's declarations are the rules (one truth: MapperSpec and mapper_graph accept and
    # refuse the same values); a clusterer object and a lens array are mapper_graph's own extras.
    MapperSpec.check("mapper_graph", n_cubes=n_cubes, overlap=overlap, min_samples=min_samples, eps=eps)
    n_cubes, overlap, min_samples = int(n_cubes), float(overlap), int(min_samples)
    if min_samples > n_points:
        raise TDAInputError(
            f"The 'min_samples' parameter of mapper_graph is {min_samples}, more than the "
            f"{n_points} points of the cloud, so no cluster can form. Lower min_samples."
        )

    if labels is not None:
        labels = _validate_per_point(labels, "labels", n_points)
    if image_index is not None:
        image_index = _validate_per_point(image_index, "image_index", n_points)
        if not np.issubdtype(image_index.dtype, np.integer):
            raise TDATypeError(
                "The 'image_index' parameter of mapper_graph must hold integer image indices. "
                f"Got dtype {image_index.dtype} instead; pass the cloud's provenance image column."
            )
    class_groups = resolve_class_groups(class_groups)
    if class_groups is not None:
        if labels is None:
            raise TDAInputError(
                "The 'class_groups' parameter of mapper_graph summarises labels by group, so it "
                "needs 'labels'. Pass labels=... or drop class_groups."
            )
        if not isinstance(class_groups, Mapping):
            raise TDATypeError(
                "The 'class_groups' parameter of mapper_graph must be a mapping "
                f"{{label: group name}}. Got {type(class_groups).__name__} instead."
            )
        missing = sorted({_plain(v) for v in labels} - set(class_groups), key=repr)
        if missing:
            raise TDAInputError(
                "The 'class_groups' parameter of mapper_graph must give a group for every label "
                f"present. Missing: {missing[:10]}; add them to class_groups."
            )

    lens_values, lens_name = _compute_lens(points, lens, random_state)
    flat = np.ptp(lens_values, axis=0) == 0
    if np.any(flat):
        raise TDAInputError(
            f"The lens {lens_name!r} of mapper_graph is constant along dimension(s) "
            f"{np.flatnonzero(flat).tolist()}, so the cover cannot split the cloud. "
            "Choose another lens."
        )

    model, clusterer_name, eps_used, eps_source = _make_clusterer(
        clusterer, eps, min_samples, points
    )
    cover = km.Cover(n_cubes=n_cubes, perc_overlap=overlap)
    mapper = km.KeplerMapper(verbose=0)
    raw = mapper.map(lens_values, points, clusterer=model, cover=cover)

    if not raw["nodes"]:
        noise_source = "DBSCAN" if clusterer_name == "dbscan" else "the clusterer"
        raise TDAInputError(
            "mapper_graph produced no node: every cover interval had fewer than min_samples "
            f"points or {noise_source} labelled all as noise (n_cubes={n_cubes}, "
            f"overlap={overlap}, min_samples={min_samples}, eps={eps_used}). Raise eps, lower "
            "min_samples, or lower n_cubes."
        )

    nodes = []
    members_of = {}
    for node_id, member_list in raw["nodes"].items():
        members = np.unique(np.asarray(member_list, dtype=np.int64))
        members_of[node_id] = members
        images = members if image_index is None else np.unique(image_index[members])
        if labels is None:
            class_counts, majority, purity, entropy, group_counts = {}, None, math.nan, math.nan, None
        else:
            class_counts, majority, purity, entropy, group_counts = _class_summary(
                labels[members], class_groups
            )
        nodes.append(
            MapperNode(
                id=node_id,
                members=members,
                image_indices=np.asarray(images),
                class_counts=class_counts,
                majority=majority,
                purity=float(purity),
                entropy=float(entropy),
                lens_mean=float(lens_values[members, 0].mean()),
                group_counts=group_counts,
                size=int(members.size),
            )
        )

    edges = []
    for source, targets in raw["links"].items():
        for target in targets:
            a, b = sorted((source, target))
            edges.append((a, b, np.intersect1d(members_of[a], members_of[b])))
    edges.sort(key=lambda edge: (edge[0], edge[1]))

    params = {
        "lens": lens_name,
        "lens_dims": int(lens_values.shape[1]),
        "n_cubes": n_cubes,
        "overlap": overlap,
        "clusterer": repr(model),
        "clusterer_name": clusterer_name,
        "eps": eps_used,
        "eps_source": eps_source,
        "eps_percentile": EPS_PERCENTILE if eps_source == "knn-percentile" else None,
        "min_samples": min_samples,
        "random_state": random_state,
        "n_points": int(n_points),
        "n_features": int(points.shape[1]),
        "cover": repr(cover),
        "nerve": "GraphNerve(min_intersection=1)",
        "kmapper_version": km.__version__,
    }
    return MapperGraph(nodes=nodes, edges=edges, lens=lens_values, params=params)
