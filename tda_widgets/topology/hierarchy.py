"""The class hierarchy a mapper graph reveals, discovered without groups given.

The study this package serves reads mapper graphs for how a model organises *hierarchical* class
knowledge: in early layers, nodes mix classes of a group (CIFAR-10's vehicles, its animals)
before they separate the classes themselves. This module turns that reading into numbers:

1. :func:`class_affinity`: how strongly each pair of classes shares nodes. Each node contributes
   ``size * p_a * p_b`` to the pair ``(a, b)``, where ``p`` is its class make-up (fractions of its
   labelled members), so a big mixed node counts more than a small one; the matrix is normalised
   to ``A[a, b] / sqrt(A[a, a] * A[b, b])`` (1 on the diagonal, 0 for classes that never share a
   node; a cosine similarity of the classes' size-weighted node profiles).
2. :func:`class_tree`: average-linkage hierarchical clustering (scipy) of ``1 - affinity``: the
   classes that share nodes most are joined first.
3. :func:`grouping_agreement`: how well a given grouping (``{class: group}``) agrees with the
   tree: the tree cut into as many clusters as there are groups, compared with the grouping by
   the adjusted Rand index (1: the same partition; about 0: no better than chance).
4. :func:`confusion_affinity`: the same kind of matrix from the model's own mistakes
   (predictions, or the probability it gives to each wrong class, against labels on the same
   images), a sanity reference: classes a model confuses are classes its late layers should mix;
   :func:`confusion_groups` cuts it into a few groups for data without named groups.

Pure numpy / scipy / scikit-learn: no torch, no widgets.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence

import numpy as np

from ..core.errors import TDAInputError

__all__ = ["class_affinity", "class_tree", "grouping_agreement", "confusion_affinity", "confusion_groups",
           "ClassTree", "SUGGESTED_GROUPS"]

#: How many groups :func:`confusion_groups` cuts the model's confusion tree into by default: a
#: few, as CIFAR-10's two (vehicles, animals); three for ten digits read well.
SUGGESTED_GROUPS = 3


def _classes_of(graph, classes: Optional[Sequence]) -> list:
    if classes is not None:
        return list(classes)
    seen = set()
    for node in graph.nodes:
        seen.update(node.class_counts or {})
    try:
        return sorted(seen)
    except TypeError:
        return sorted(seen, key=str)


def class_affinity(graph, classes: Optional[Sequence] = None) -> tuple[np.ndarray, list]:
    """How strongly each pair of classes shares the graph's nodes (see the module docstring).

    Parameters
    ----------
    graph : MapperGraph
        Built with ``labels`` (nodes have ``class_counts``).
    classes : sequence, optional
        The classes, in the matrix's order (default: every label seen, sorted).

    Returns
    -------
    affinity : ndarray of shape (k, k)
        Symmetric, 1 on the diagonal for a class present in some node (0 for an absent one).
    classes : list
    """
    classes = _classes_of(graph, classes)
    if not classes:
        raise TDAInputError("class_affinity needs a mapper graph built with labels (its nodes have no class "
                            "counts). Pass labels= to mapper_graph / the explorer.")
    index = {c: k for k, c in enumerate(classes)}
    raw = np.zeros((len(classes), len(classes)))
    for node in graph.nodes:
        counts = node.class_counts or {}
        total = sum(counts.values())
        if not total:
            continue
        p = np.zeros(len(classes))
        for label, n in counts.items():
            if label in index:
                p[index[label]] = n / total
        raw += node.size * np.outer(p, p)
    return _cosine(raw), classes


def confusion_affinity(labels, predictions, classes: Optional[Sequence] = None) -> tuple[np.ndarray, list]:
    """The model's confusion structure as an affinity: which classes it takes for which.

    ``C[a, b]`` sums, over the images of class a, the model's answer b: a count for hard
    ``predictions``, the probability it gives to b for ``predictions`` of shape (N, K) (a
    good model rarely errs outright, but the probability it leaves for the other classes still
    says which it finds alike). Only the mistakes count: ``S = C + C.T`` with its diagonal
    removed, normalised like :func:`class_affinity`, ``S[a, b] / sqrt(s_a * s_b)`` with ``s_a``
    the total of row a (1 on the diagonal; 0 for classes never taken for each other).

    Parameters
    ----------
    labels : array-like of shape (N,)
    predictions : array-like of shape (N,) or (N, K)
        Predicted classes, or class probabilities with column k for ``classes[k]``.
    classes : sequence, optional
        Default: every label and predicted class seen (0..K-1 for probabilities), sorted.
    """
    labels, predictions = np.asarray(labels), np.asarray(predictions)
    soft = predictions.ndim == 2
    if labels.ndim != 1 or predictions.shape[0] != labels.shape[0] or predictions.ndim not in (1, 2):
        raise TDAInputError(f"confusion_affinity needs labels of shape (N,) and predictions of shape (N,) or "
                            f"(N, n_classes); got {labels.shape} and {predictions.shape}.")
    if classes is None:
        classes = list(range(predictions.shape[1])) if soft else \
            sorted(set(labels.tolist()) | set(predictions.tolist()))
    classes = list(classes)
    if soft and predictions.shape[1] != len(classes):
        raise TDAInputError(f"confusion_affinity: probabilities of shape {predictions.shape} need one column per "
                            f"class; got {len(classes)} classes.")
    index = {c: k for k, c in enumerate(classes)}
    confusion = np.zeros((len(classes), len(classes)))
    for row, a in enumerate(labels.tolist()):
        if a not in index:
            continue
        if soft:
            confusion[index[a]] += predictions[row]
        elif predictions[row].item() in index:
            confusion[index[a], index[predictions[row].item()]] += 1
    raw = confusion + confusion.T
    np.fill_diagonal(raw, 0.0)
    np.fill_diagonal(raw, raw.sum(axis=1))  # s_a: every mistake of or into class a
    return _cosine(raw), classes


def _cosine(raw: np.ndarray) -> np.ndarray:
    """``raw[a, b] / sqrt(raw[a, a] * raw[b, b])`` in [0, 1]; 0 for a class with no weight."""
    norm = np.sqrt(np.diag(raw))
    with np.errstate(invalid="ignore", divide="ignore"):
        affinity = raw / np.outer(norm, norm)
    affinity[~np.isfinite(affinity)] = 0.0
    return np.clip(affinity, 0.0, 1.0)


class ClassTree:
    """A dendrogram of classes: scipy's linkage matrix and the classes in its leaf order."""

    def __init__(self, linkage: np.ndarray, classes: list, affinity: np.ndarray):
        self.linkage, self.classes, self.affinity = linkage, classes, affinity

    def cut(self, n_clusters: int) -> dict:
        """``{class: cluster number}`` of the tree cut into ``n_clusters`` clusters."""
        from scipy.cluster.hierarchy import fcluster

        labels = fcluster(self.linkage, t=int(n_clusters), criterion="maxclust")
        return {c: int(k) for c, k in zip(self.classes, labels)}

    def leaves(self) -> list:
        """The classes in the dendrogram's left-to-right order."""
        from scipy.cluster.hierarchy import leaves_list

        return [self.classes[i] for i in leaves_list(self.linkage)]


def class_tree(affinity: np.ndarray, classes: Sequence) -> ClassTree:
    """Average-linkage clustering of ``1 - affinity`` (scipy); see the module docstring."""
    from scipy.cluster.hierarchy import linkage
    from scipy.spatial.distance import squareform

    affinity = np.asarray(affinity, dtype=np.float64)
    if affinity.ndim != 2 or affinity.shape[0] != affinity.shape[1] or affinity.shape[0] != len(classes):
        raise TDAInputError(f"class_tree needs a square affinity matrix with one row per class; got shape "
                            f"{affinity.shape} for {len(classes)} classes.")
    if len(classes) < 2:
        raise TDAInputError("class_tree needs at least 2 classes.")
    distance = 1.0 - (affinity + affinity.T) / 2
    np.fill_diagonal(distance, 0.0)
    return ClassTree(linkage(squareform(np.clip(distance, 0.0, None), checks=False), method="average"),
                     list(classes), affinity)


def grouping_agreement(tree: ClassTree, groups: Mapping[Any, Any]) -> float:
    """Adjusted Rand index between ``groups`` (``{class: group}``) and the tree cut into as many
    clusters as there are groups (1: the tree's top split is the grouping)."""
    from sklearn.metrics import adjusted_rand_score

    missing = [c for c in tree.classes if c not in groups]
    if missing:
        raise TDAInputError(f"The 'groups' parameter of grouping_agreement must give a group for every class of "
                            f"the tree. Missing: {missing[:10]}.")
    names = [groups[c] for c in tree.classes]
    cut = tree.cut(len(set(names)))
    return float(adjusted_rand_score(names, [cut[c] for c in tree.classes]))


def confusion_groups(labels, predictions, classes: Optional[Sequence] = None,
                     n_groups: int = SUGGESTED_GROUPS) -> Optional[dict]:
    """The groups of classes the model's own mistakes suggest, for data without named groups.

    The confusion tree (:func:`class_tree` of :func:`confusion_affinity`) cut into ``n_groups``
    clusters (at most ``len(classes) - 1``, so that a group holds two classes or more).

    Returns
    -------
    dict or None
        ``{class: "group k"}`` with k = 1, 2, ... in the order of each group's first class;
        None when the tree gives fewer than 2 groups (too few mistakes: with hard predictions a
        good model's tree is mostly ties at the top; pass probabilities) or there are fewer than
        3 classes.
    """
    affinity, classes = confusion_affinity(labels, predictions, classes)
    n_groups = min(int(n_groups), len(classes) - 1)
    if n_groups < 2:
        return None
    cut = class_tree(affinity, classes).cut(n_groups)
    if len(set(cut.values())) < 2:
        return None
    order = {k: n for n, k in enumerate(dict.fromkeys(cut[c] for c in classes), start=1)}
    return {c: f"group {order[cut[c]]}" for c in classes}
