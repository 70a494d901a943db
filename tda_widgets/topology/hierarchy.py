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
   (predictions against labels on the same images), a sanity reference: classes a model confuses
   are classes its late layers should mix.

Pure numpy / scipy / scikit-learn: no torch, no widgets.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence

import numpy as np

from ..errors import TDAInputError

__all__ = ["class_affinity", "class_tree", "grouping_agreement", "confusion_affinity", "ClassTree"]


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
    """The model's confusion structure as an affinity: ``C + C.T`` of the confusion matrix
    (counts of label a predicted as b), normalised like :func:`class_affinity`."""
    labels, predictions = np.asarray(labels), np.asarray(predictions)
    if labels.shape != predictions.shape or labels.ndim != 1:
        raise TDAInputError(f"confusion_affinity needs labels and predictions of the same 1-D shape; got "
                            f"{labels.shape} and {predictions.shape}.")
    classes = list(classes) if classes is not None else sorted(set(labels.tolist()) | set(predictions.tolist()))
    index = {c: k for k, c in enumerate(classes)}
    confusion = np.zeros((len(classes), len(classes)))
    for a, b in zip(labels.tolist(), predictions.tolist()):
        if a in index and b in index:
            confusion[index[a], index[b]] += 1
    return _cosine(confusion + confusion.T), classes


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
