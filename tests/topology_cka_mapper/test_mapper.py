"""Tests of tda_widgets.topology.mapper against direct kmapper calls and hand computations."""

import math

import kmapper as km
import networkx as nx
import numpy as np
import pytest
from scipy.spatial.distance import cdist
from sklearn.cluster import DBSCAN, AgglomerativeClustering, KMeans
from sklearn.decomposition import PCA

from tda_widgets.errors import TDAInputError, TDATypeError
from tda_widgets.topology.mapper import MapperGraph, MapperNode, default_eps, mapper_graph


@pytest.fixture(scope="module")
def circle():
    """A noisy circle in 3-D, lifted so that PCA and the norm are informative."""
    rng = np.random.default_rng(0)
    angles = rng.uniform(0, 2 * np.pi, 150)
    points = np.c_[2 * np.cos(angles), np.sin(angles), 0.3 * np.cos(angles) ** 2]
    return points + rng.normal(0, 0.03, points.shape)


def direct_kmapper(lens, points, clusterer, n_cubes, overlap):
    mapper = km.KeplerMapper(verbose=0)
    return mapper.map(
        lens, points, clusterer=clusterer, cover=km.Cover(n_cubes=n_cubes, perc_overlap=overlap)
    )


def assert_same_as_kmapper(graph, raw):
    assert [n.id for n in graph.nodes] == list(raw["nodes"])
    for node in graph.nodes:
        assert node.members.tolist() == sorted(raw["nodes"][node.id])
        assert node.size == len(raw["nodes"][node.id])
    expected_edges = {frozenset((a, b)) for a, targets in raw["links"].items() for b in targets}
    assert {frozenset(e[:2]) for e in graph.edges} == expected_edges
    for a, b, shared in graph.edges:
        assert a < b
        assert shared.tolist() == sorted(set(raw["nodes"][a]) & set(raw["nodes"][b]))
    assert graph.edges == sorted(graph.edges, key=lambda e: (e[0], e[1]))


# ----------------------------------------------------------------- agreement with kmapper


@pytest.mark.parametrize(
    "lens, reference_lens",
    [
        ("pca", lambda X: PCA(n_components=1, random_state=0).fit_transform(X)),
        ("pca2", lambda X: PCA(n_components=2, random_state=0).fit_transform(X)),
        ("l2norm", lambda X: np.sqrt((X**2).sum(axis=1, keepdims=True))),
        (("coordinate", 1), lambda X: X[:, [1]]),
    ],
)
def test_same_graph_as_direct_kmapper_dbscan(circle, lens, reference_lens):
    n_cubes = 4 if lens == "pca2" else 8
    graph = mapper_graph(circle, lens=lens, n_cubes=n_cubes, overlap=0.35, eps=0.3, min_samples=3)
    reference = reference_lens(circle)
    np.testing.assert_allclose(graph.lens, reference, atol=1e-12)
    raw = direct_kmapper(reference, circle, DBSCAN(eps=0.3, min_samples=3), n_cubes, 0.35)
    assert len(raw["nodes"]) > 3
    assert_same_as_kmapper(graph, raw)


def test_same_graph_as_kmapper_with_user_lens_and_single_linkage(circle):
    lens = np.arctan2(circle[:, 1], circle[:, 0])  # angle: a 1-D user lens
    graph = mapper_graph(circle, lens=lens, n_cubes=6, overlap=0.2, clusterer="single-linkage",
                         eps=0.25)
    raw = direct_kmapper(
        lens[:, None], circle,
        AgglomerativeClustering(n_clusters=None, distance_threshold=0.25, linkage="single"),
        6, 0.2,
    )
    assert_same_as_kmapper(graph, raw)
    assert graph.params["lens"] == "custom"
    assert graph.params["clusterer_name"] == "single-linkage"


def test_circle_gives_a_cycle(circle):
    # A known shape: mapper of a circle with the x-coordinate lens is one loop.
    graph = mapper_graph(circle, lens=("coordinate", 0), n_cubes=6, overlap=0.3, eps=0.5)
    g = graph.to_networkx()
    assert nx.is_connected(g)
    assert len(nx.cycle_basis(g)) == 1


def test_default_eps_is_knn_percentile_and_used(circle):
    min_samples = 4
    distances = np.sort(cdist(circle, circle), axis=1)  # column 0 is the point itself
    expected = np.percentile(distances[:, min_samples - 1], 90)
    assert default_eps(circle, min_samples) == pytest.approx(expected, rel=1e-12)

    graph = mapper_graph(circle, n_cubes=7, overlap=0.3, min_samples=min_samples)
    assert graph.params["eps"] == pytest.approx(expected, rel=1e-12)
    assert graph.params["eps_source"] == "knn-percentile"
    reference = PCA(n_components=1, random_state=0).fit_transform(circle)
    raw = direct_kmapper(reference, circle, DBSCAN(eps=expected, min_samples=min_samples), 7, 0.3)
    assert_same_as_kmapper(graph, raw)


def test_custom_clusterer_objects(circle):
    class SignOfFirstFeature:
        """Has fit and labels_ only (no fit_predict, no get_params)."""

        def fit(self, X):
            self.labels_ = (X[:, 0] > 0).astype(int)
            return self

    graph = mapper_graph(circle, lens=("coordinate", 1), n_cubes=3, overlap=0.2,
                         clusterer=SignOfFirstFeature())
    for node in graph.nodes:
        signs = set((circle[node.members, 0] > 0).tolist())
        assert len(signs) == 1
        assert node.id.endswith(f"cluster{int(signs.pop())}")
    assert graph.params["eps"] is None

    kmeans = KMeans(n_clusters=2, n_init=3, random_state=0)
    graph = mapper_graph(circle, n_cubes=3, overlap=0.2, clusterer=kmeans)
    raw = direct_kmapper(PCA(n_components=1, random_state=0).fit_transform(circle), circle,
                         KMeans(n_clusters=2, n_init=3, random_state=0), 3, 0.2)
    assert_same_as_kmapper(graph, raw)


# ----------------------------------------------------------------- class make-up


def test_class_makeup_hand_computed():
    # Six points on a line, one interval, a radius joining them all: one node with everything.
    points = np.arange(6.0)[:, None]
    labels = np.array([2, 0, 0, 1, 0, 1])
    graph = mapper_graph(points, labels=labels, lens=("coordinate", 0), n_cubes=1, overlap=0.5,
                         eps=1.5, min_samples=2, class_groups={0: "even", 2: "even", 1: "odd"})
    (node,) = graph.nodes
    assert node.members.tolist() == [0, 1, 2, 3, 4, 5]
    assert node.class_counts == {0: 3, 1: 2, 2: 1}
    assert node.majority == 0
    assert node.purity == pytest.approx(0.5)
    expected_entropy = -(0.5 * math.log2(0.5) + (1 / 3) * math.log2(1 / 3) + (1 / 6) * math.log2(1 / 6))
    assert node.entropy == pytest.approx(expected_entropy, abs=1e-12)
    assert node.group_counts == {"even": 4, "odd": 2}
    assert node.group_majority == "even" and node.group_purity == pytest.approx(4 / 6)
    assert node.lens_mean == pytest.approx(2.5)
    assert graph.edges == []


def test_mean_purity_weights_nodes_by_size():
    """Class and group purity of a graph, against a count made from the members' labels."""
    rng = np.random.default_rng(3)
    points = np.concatenate([rng.normal(c, 0.3, size=(30, 2)) for c in range(4)])
    labels = np.repeat([0, 1, 2, 3], 30)
    labels[::7] = (labels[::7] + 1) % 4  # some mixing
    groups = {0: "a", 1: "a", 2: "b", 3: "b"}
    graph = mapper_graph(points, labels=labels, lens=("coordinate", 0), n_cubes=4, overlap=0.3,
                         min_samples=2, class_groups=groups)
    sizes, class_top, group_top = [], [], []
    for node in graph.nodes:
        member_labels = labels[node.members]
        sizes.append(len(member_labels))
        class_top.append(np.bincount(member_labels).max())
        group_top.append(max(sum(groups[c] == g for c in member_labels) for g in ("a", "b")))
    assert graph.mean_purity("class") == pytest.approx(sum(class_top) / sum(sizes), abs=1e-12)
    assert graph.mean_purity("group") == pytest.approx(sum(group_top) / sum(sizes), abs=1e-12)
    assert graph.mean_purity("group") >= graph.mean_purity("class")  # a group holds its classes
    with pytest.raises(TDAInputError, match="'by' parameter"):
        graph.mean_purity("classes")
    plain = mapper_graph(points, labels=labels, lens=("coordinate", 0), n_cubes=4, overlap=0.3, min_samples=2)
    assert math.isnan(plain.mean_purity("group")) and plain.nodes[0].group_majority is None


def test_majority_tie_goes_to_smallest_label_and_strings():
    points = np.arange(4.0)[:, None]
    graph = mapper_graph(points, labels=["dog", "cat", "dog", "cat"], lens=("coordinate", 0),
                         n_cubes=1, overlap=0.5, eps=1.5, min_samples=2)
    (node,) = graph.nodes
    assert node.class_counts == {"cat": 2, "dog": 2}
    assert node.majority == "cat"
    assert node.purity == pytest.approx(0.5)
    assert node.entropy == pytest.approx(1.0)


def test_without_labels_summaries_are_empty(circle):
    graph = mapper_graph(circle, n_cubes=4, eps=0.3)
    node = graph.nodes[0]
    assert node.class_counts == {} and node.majority is None and node.group_counts is None
    assert math.isnan(node.purity) and math.isnan(node.entropy)
    np.testing.assert_array_equal(node.image_indices, node.members)


def test_per_node_makeup_matches_kmapper_members(circle):
    labels = (np.arctan2(circle[:, 1], circle[:, 0]) > 0).astype(int)
    graph = mapper_graph(circle, labels=labels, lens=("coordinate", 0), n_cubes=5, overlap=0.3,
                         eps=0.3)
    raw = direct_kmapper(circle[:, [0]], circle, DBSCAN(eps=0.3, min_samples=3), 5, 0.3)
    for node in graph.nodes:
        member_labels = labels[raw["nodes"][node.id]]
        ones = int(member_labels.sum())
        zeros = len(member_labels) - ones
        expected = {k: v for k, v in ((0, zeros), (1, ones)) if v}
        assert node.class_counts == expected
        assert node.purity == pytest.approx(max(zeros, ones) / len(member_labels))
        assert node.lens_mean == pytest.approx(circle[raw["nodes"][node.id], 0].mean())


def test_two_separated_blobs_have_pure_unlinked_nodes():
    rng = np.random.default_rng(1)
    blob_a = rng.normal(0, 0.3, (50, 4))
    blob_b = rng.normal(0, 0.3, (50, 4)) + 10.0
    points = np.r_[blob_a, blob_b]
    labels = np.r_[np.zeros(50, int), np.ones(50, int)]
    graph = mapper_graph(points, labels=labels, lens="pca", n_cubes=6, overlap=0.3)
    assert {n.majority for n in graph.nodes} == {0, 1}
    assert all(n.purity == 1.0 and n.entropy == 0.0 for n in graph.nodes)
    for a, b, _ in graph.edges:
        assert graph.node(a).majority == graph.node(b).majority
    assert nx.number_connected_components(graph.to_networkx()) >= 2


# ----------------------------------------------------------------- linking and export


def test_image_indices_and_nodes_with_images(circle):
    image_index = np.arange(len(circle)) // 3  # three points per image, as in a spatial cloud
    graph = mapper_graph(circle, image_index=image_index, lens=("coordinate", 0), n_cubes=6,
                         eps=0.3)
    raw = direct_kmapper(circle[:, [0]], circle, DBSCAN(eps=0.3, min_samples=3), 6, 0.3)
    for node in graph.nodes:
        assert node.image_indices.tolist() == sorted({i // 3 for i in raw["nodes"][node.id]})
    wanted = [0, 17]
    expected = [nid for nid, members in raw["nodes"].items()
                if any(m // 3 in wanted for m in members)]
    assert expected
    assert graph.nodes_with_images(wanted) == expected
    assert graph.nodes_with_images(10_000) == []
    assert graph.nodes_with_images([]) == []


def test_node_lookup_and_networkx(circle):
    labels = (circle[:, 1] > 0).astype(int)
    graph = mapper_graph(circle, labels=labels, lens=("coordinate", 0), n_cubes=6, eps=0.3)
    first = graph.nodes[0]
    assert graph.node(first.id) is first
    with pytest.raises(KeyError, match="Close matches"):
        graph.node(first.id + "9")
    g = graph.to_networkx()
    assert set(g.nodes) == {n.id for n in graph.nodes}
    assert g.number_of_edges() == len(graph.edges)
    assert g.nodes[first.id] == {"size": first.size, "majority": first.majority,
                                 "purity": first.purity}
    a, b, shared = graph.edges[0]
    assert g.edges[a, b]["weight"] == len(shared)


def test_dataclass_fields_are_the_agreed_interface():
    from dataclasses import fields

    assert [f.name for f in fields(MapperNode)] == [
        "id", "members", "image_indices", "class_counts", "majority", "purity", "entropy",
        "lens_mean", "group_counts", "size",
    ]
    assert [f.name for f in fields(MapperGraph)] == ["nodes", "edges", "lens", "params"]


# ----------------------------------------------------------------- validation


@pytest.mark.parametrize("n_cubes", [0, -2, 2.5, "10", True])
def test_bad_n_cubes(circle, n_cubes):
    # the declared rule (MapperSpec's): a bad value is refused, a wrong type as a TDATypeError
    with pytest.raises((TDAInputError, TDATypeError), match="'n_cubes'.*an int >= 1"):
        mapper_graph(circle, n_cubes=n_cubes)


@pytest.mark.parametrize("overlap", [0, 1, 1.5, -0.1, "0.3"])
def test_bad_overlap(circle, overlap):
    with pytest.raises((TDAInputError, TDATypeError), match="'overlap'.*> 0.0 and < 1.0"):
        mapper_graph(circle, overlap=overlap)


def test_lens_errors(circle):
    with pytest.raises(TDAInputError, match=r"'lens'.*Did you mean 'pca'"):
        mapper_graph(circle, lens="pac")
    with pytest.raises(TDAInputError, match=r"shape \(n_points,\).*n_points = 150"):
        mapper_graph(circle, lens=np.zeros(149))
    with pytest.raises(TDAInputError, match="coordinate index j"):
        mapper_graph(circle, lens=("coordinate", 3))
    with pytest.raises(TDAInputError, match="needs at least 2 features"):
        mapper_graph(circle[:, :1], lens="pca2")
    with pytest.raises(TDAInputError, match="constant"):
        mapper_graph(circle, lens=np.ones(150))


def test_clusterer_errors(circle):
    with pytest.raises(TDAInputError, match=r"'clusterer'.*Did you mean 'dbscan'"):
        mapper_graph(circle, clusterer="dbscn")
    with pytest.raises(TDATypeError, match="'clusterer'"):
        mapper_graph(circle, clusterer=42)
    with pytest.raises(TDAInputError, match="'eps'"):
        mapper_graph(circle, eps=-1.0)
    with pytest.raises(TDAInputError, match="'min_samples'"):
        mapper_graph(circle, min_samples=0)


def test_per_point_argument_errors(circle):
    with pytest.raises(TDAInputError, match=r"'labels'.*\(150,\).*provenance"):
        mapper_graph(circle, labels=np.zeros(50))
    with pytest.raises(TDAInputError, match=r"'image_index'.*\(150,\)"):
        mapper_graph(circle, image_index=np.arange(151))
    with pytest.raises(TDATypeError, match="integer image indices"):
        mapper_graph(circle, image_index=np.zeros(150))
    with pytest.raises(TDAInputError, match="needs 'labels'"):
        mapper_graph(circle, class_groups={0: "a"})
    with pytest.raises(TDAInputError, match=r"Missing: \[1\]"):
        mapper_graph(circle, labels=np.arange(150) % 2, class_groups={0: "a"})


def test_points_errors():
    with pytest.raises(TDAInputError, match="finite"):
        mapper_graph(np.array([[0.0, 1.0], [np.nan, 2.0], [3.0, 4.0]]))
    with pytest.raises(TDAInputError, match=r"shape \(n_points, n_features\)"):
        mapper_graph(np.arange(10.0))


def test_empty_graph_error(circle):
    # A tiny radius: DBSCAN labels every point noise.
    with pytest.raises(TDAInputError, match="no node.*DBSCAN labelled all as noise.*Raise eps, lower min_samples"):
        mapper_graph(circle, eps=1e-6, n_cubes=5)
    # Many thin intervals with few points each and a large min_samples.
    with pytest.raises(TDAInputError, match="no node"):
        mapper_graph(circle[:20], n_cubes=19, overlap=0.01, min_samples=10, eps=5.0)


def test_modules_import_neither_torch_nor_ipywidgets():
    import subprocess
    import sys

    code = (
        "import sys, numpy as np\n"
        "from tda_widgets.topology import cka, mapper\n"
        "mapper.mapper_graph(np.random.default_rng(0).normal(size=(30, 3)), n_cubes=2)\n"
        "cka.cka_matrix([np.eye(5), np.eye(5)[::-1]])\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('torch', 'ipywidgets')]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_named_class_groups_cifar10():
    """class_groups="cifar10": CIFAR-10's vehicles and animals (torchvision's class order)."""
    from tda_widgets.topology.mapper import NAMED_CLASS_GROUPS, resolve_class_groups

    classes = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    vehicles = {"airplane", "automobile", "ship", "truck"}
    groups = resolve_class_groups("cifar10")
    assert groups == {k: ("vehicle" if name in vehicles else "animal") for k, name in enumerate(classes)}
    assert groups is not NAMED_CLASS_GROUPS["cifar10"]  # a copy: the registry cannot be edited by accident
    points = np.arange(20.0)[:, None]
    labels = np.arange(20) % 10
    graph = mapper_graph(points, labels=labels, lens=("coordinate", 0), n_cubes=1, overlap=0.5, eps=1.5,
                         min_samples=2, class_groups="cifar10")
    (node,) = graph.nodes
    assert node.group_counts == {"vehicle": 8, "animal": 12}
    with pytest.raises(TDAInputError, match="Did you mean 'cifar10'"):
        mapper_graph(points, labels=labels, class_groups="cifar-10")
