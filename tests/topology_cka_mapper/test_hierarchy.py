"""The class hierarchy from mapper graphs (tda_widgets.topology.hierarchy), against hand
computations and a constructed two-level class structure."""

from __future__ import annotations

import math
from types import SimpleNamespace as NS

import numpy as np
import pytest

from tda_widgets.errors import TDAInputError
from tda_widgets.topology.hierarchy import class_affinity, class_tree, confusion_affinity, grouping_agreement
from tda_widgets.topology.mapper import mapper_graph


def test_affinity_by_hand():
    # node 1: 4 members, half class 0, half class 1; node 2: 2 members of class 0
    graph = NS(nodes=[NS(size=4, class_counts={0: 2, 1: 2}), NS(size=2, class_counts={0: 2})])
    affinity, classes = class_affinity(graph)
    # raw = 4 * [[.25, .25], [.25, .25]] + 2 * [[1, 0], [0, 0]] = [[3, 1], [1, 1]]
    assert classes == [0, 1]
    np.testing.assert_allclose(affinity, [[1.0, 1 / math.sqrt(3)], [1 / math.sqrt(3), 1.0]], atol=1e-12)
    with pytest.raises(TDAInputError, match="labels"):
        class_affinity(NS(nodes=[NS(size=3, class_counts={})]))


def test_confusion_affinity_by_hand():
    # labels 0 0 1 1 2 2, predicted 0 1 1 0 2 1: confusion [[1, 1, 0], [1, 1, 0], [0, 1, 1]]
    affinity, classes = confusion_affinity([0, 0, 1, 1, 2, 2], [0, 1, 1, 0, 2, 1])
    # mistakes only: S = C + C.T off the diagonal = [[0, 2, 0], [2, 0, 1], [0, 1, 0]], row totals 2, 3, 1
    expected = [[1.0, 2 / math.sqrt(6), 0.0], [2 / math.sqrt(6), 1.0, 1 / math.sqrt(3)], [0.0, 1 / math.sqrt(3), 1.0]]
    np.testing.assert_allclose(affinity, expected, atol=1e-12)
    assert classes == [0, 1, 2]


def test_confusion_affinity_of_probabilities_sums_what_the_model_gives_each_wrong_class():
    labels = np.array([0, 0, 1, 2])
    probabilities = np.array([[0.8, 0.2, 0.0], [0.6, 0.3, 0.1], [0.1, 0.9, 0.0], [0.0, 0.4, 0.6]])
    affinity, classes = confusion_affinity(labels, probabilities)
    # C = [[1.4, .5, .1], [.1, .9, 0], [0, .4, .6]]; off-diagonal C + C.T: (0,1) .6, (0,2) .1, (1,2) .4
    s = np.array([0.7, 1.0, 0.5])
    off = np.array([[0, 0.6, 0.1], [0.6, 0, 0.4], [0.1, 0.4, 0]])
    np.testing.assert_allclose(affinity, off / np.sqrt(np.outer(s, s)) + np.eye(3), atol=1e-12)
    assert classes == [0, 1, 2]
    with pytest.raises(TDAInputError, match="one column per class"):
        confusion_affinity(labels, probabilities, classes=[0, 1])


def test_confusion_groups_cut_the_mistakes_tree_and_refuse_a_tree_of_ties():
    from tda_widgets.topology.hierarchy import confusion_groups

    # 0 <-> 1 and 2 <-> 3 are confused, never across: two groups
    labels = np.array([0, 0, 1, 1, 2, 2, 3, 3])
    predictions = np.array([0, 1, 1, 0, 2, 3, 3, 2])
    groups = confusion_groups(labels, predictions, n_groups=2)
    assert groups == {0: "group 1", 1: "group 1", 2: "group 2", 3: "group 2"}
    # no mistakes at all: every join at the top, no groups to suggest
    assert confusion_groups(labels, labels, n_groups=2) is None
    assert confusion_groups([0, 1], [1, 0]) is None  # two classes: nothing to group


def _two_level_cloud(seed=0):
    """Four classes on a line: 0 and 1 overlap, 2 and 3 overlap, the two pairs far apart."""
    rng = np.random.default_rng(seed)
    centres = {0: 0.0, 1: 0.6, 2: 10.0, 3: 10.6}
    labels = np.repeat([0, 1, 2, 3], 40)
    points = np.array([[centres[c] + rng.uniform(-0.5, 0.5), rng.normal(0, 0.05)] for c in labels])
    return points, labels


def test_a_two_level_structure_gives_its_tree():
    points, labels = _two_level_cloud()
    graph = mapper_graph(points, labels=labels, lens=("coordinate", 0), n_cubes=12, overlap=0.3, eps=0.4,
                         min_samples=2)
    affinity, classes = class_affinity(graph)
    assert affinity[0, 1] > 0.2 and affinity[2, 3] > 0.2  # the pairs share nodes
    assert affinity[0, 2] == 0 and affinity[1, 3] == 0     # the groups never do
    tree = class_tree(affinity, classes)
    first_two_merges = {frozenset(int(i) for i in row[:2] if i < 4) for row in tree.linkage[:2]}
    assert first_two_merges == {frozenset({0, 1}), frozenset({2, 3})}
    assert tree.cut(2) [0] == tree.cut(2)[1] != tree.cut(2)[2] == tree.cut(2)[3]
    assert grouping_agreement(tree, {0: "a", 1: "a", 2: "b", 3: "b"}) == pytest.approx(1.0)
    assert grouping_agreement(tree, {0: "a", 2: "a", 1: "b", 3: "b"}) < 0.1  # a grouping across the tree
    with pytest.raises(TDAInputError, match="Missing"):
        grouping_agreement(tree, {0: "a"})


def test_tree_figure_draws_the_joins_at_their_heights():
    from tda_widgets.figures import class_tree_figure

    points, labels = _two_level_cloud()
    graph = mapper_graph(points, labels=labels, lens=("coordinate", 0), n_cubes=12, overlap=0.3, eps=0.4,
                         min_samples=2)
    tree = class_tree(*class_affinity(graph))
    fig = class_tree_figure(tree, class_names=["<b>zero</b>", "one", "two", "three"])
    heights = sorted({y for y in fig.data[0].y if y is not None and y > 0})
    np.testing.assert_allclose(heights, sorted(tree.linkage[:, 2]))
    names = list(fig.layout.xaxis.ticktext)
    assert "&lt;b&gt;zero&lt;/b&gt;" in names  # foreign text escaped
    assert [n.replace("&lt;b&gt;", "").replace("&lt;/b&gt;", "") for n in names] == \
        [["zero", "one", "two", "three"][c] for c in tree.leaves()]


def test_tree_figure_marks_a_cut_between_the_joins_that_leave_k_clusters():
    """Average linkage of 1 - affinity by hand: {0,1} join at 0.1, {2,3} at 0.5, the two pairs at
    1 - mean(.1, .1, .1, .2) = 0.875; the cut into k clusters is midway between the joins that
    leave k and k - 1 (below the first join for k = 4), and scipy's fcluster at that height
    gives k clusters."""
    from scipy.cluster.hierarchy import fcluster

    from tda_widgets.figures import class_tree_figure

    affinity = np.array([[1, .9, .1, .1], [.9, 1, .1, .2], [.1, .1, 1, .5], [.1, .2, .5, 1]])
    tree = class_tree(affinity, [0, 1, 2, 3])
    np.testing.assert_allclose(tree.linkage[:, 2], [0.1, 0.5, 0.875])
    for k, expected in ((2, (0.5 + 0.875) / 2), (3, (0.1 + 0.5) / 2), (4, 0.1 / 2)):
        cut = [s for s in class_tree_figure(tree, cut=k).layout.shapes if s.name == "cut"]
        assert len(cut) == 1 and cut[0].y0 == pytest.approx(expected) and cut[0].y1 == cut[0].y0
        assert len(set(fcluster(tree.linkage, t=cut[0].y0, criterion="distance"))) == k
    assert not class_tree_figure(tree).layout.shapes  # no cut asked, none drawn
