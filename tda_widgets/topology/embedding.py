"""2-D maps of a layer's cloud, for looking at it (the LayerMap) and for drawing a filtration.

- :func:`embed_2d`: ``"pca"`` (the first two principal components, signs fixed so that the
  largest loading of each is positive: the same map on every run and machine up to rounding),
  ``"tsne"`` (scikit-learn's t-SNE, seeded) or ``"umap"`` (umap-learn, if installed: not a dependency).
- :func:`procrustes_align`: rotate (or reflect) one map onto another by orthogonal Procrustes,
  so that maps of successive checkpoints do not jump: the points' mean displacement never grows.

Only the drawing is 2-D: persistence and mapper always use the cloud's full dimension.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np

from ..core.errors import TDAInputError
from .scaling import validate_cloud

__all__ = ["EMBEDDINGS", "embed_2d", "procrustes_align"]

#: Accepted values of the ``method`` parameter of :func:`embed_2d`.
EMBEDDINGS = ("pca", "tsne", "umap")


def embed_2d(points, method: str = "pca", *, seed: int = 0) -> np.ndarray:
    """A 2-D map of a point cloud.

    Parameters
    ----------
    points : array_like of shape (n_points, n_dims)
    method : {"pca", "tsne", "umap"}, default="pca"
        ``"pca"``: centred projection on the first two principal axes (signs fixed: each axis's
        largest-magnitude loading is positive). ``"tsne"``: ``sklearn.manifold.TSNE`` with
        ``random_state=seed`` (perplexity at most ``(n_points - 1) / 3``). ``"umap"``: umap-learn's
        ``UMAP(random_state=seed)``, if installed (``pip install umap-learn``; not a dependency).
    seed : int, default=0
        Seed of t-SNE and UMAP.

    Returns
    -------
    ndarray of shape (n_points, 2)
        One row per point, in the input's order (a 1-D cloud gets a zero second column).

    Raises
    ------
    TDAInputError
        On an invalid cloud or method, or ``"umap"`` without umap-learn.

    Examples
    --------
    >>> embed_2d([[0, 0, 0], [4, 0, 0], [0, 0, 1], [4, 0, 1]]).round(3).tolist()
    [[-2.0, -0.5], [2.0, -0.5], [-2.0, 0.5], [2.0, 0.5]]
    """
    if not isinstance(method, str) or method not in EMBEDDINGS:
        raise TDAInputError(
            f"The 'method' parameter of embed_2d must be one of {set(EMBEDDINGS)}. Got {method!r} instead.")
    if isinstance(seed, bool) or not isinstance(seed, Integral):
        raise TDAInputError(f"The 'seed' parameter of embed_2d must be an int. Got {seed!r} instead.")
    x = validate_cloud(points, min_points=2)
    if method == "pca":
        centred = x - x.mean(axis=0)
        _, _, vt = np.linalg.svd(centred, full_matrices=False)
        axes = vt[:2]
        signs = np.sign(axes[np.arange(len(axes)), np.argmax(np.abs(axes), axis=1)])
        axes = axes * signs[:, None]
        out = centred @ axes.T
        if out.shape[1] < 2:
            out = np.column_stack([out, np.zeros(len(out))])
        return out
    if method == "tsne":
        from sklearn.manifold import TSNE

        perplexity = float(min(30.0, max(1.0, (len(x) - 1) / 3.0)))
        return TSNE(n_components=2, perplexity=perplexity, random_state=int(seed), init="pca").fit_transform(x)
    try:
        import umap
    except ImportError as error:
        raise TDAInputError(
            "method='umap' needs umap-learn, which is not installed. Install it with "
            "`pip install umap-learn`, or use method='pca' or 'tsne'."
        ) from error
    return np.asarray(umap.UMAP(n_components=2, random_state=int(seed)).fit_transform(x), dtype=np.float64)


def procrustes_align(reference, moving) -> np.ndarray:
    """Rotate (or reflect) ``moving`` onto ``reference`` about their centres.

    Orthogonal Procrustes (:func:`scipy.linalg.orthogonal_procrustes`) on the centred maps,
    then moved to the reference's centre: the orthogonal map that minimises the summed squared
    displacement, so aligning never increases the points' mean squared displacement.

    Parameters
    ----------
    reference, moving : array_like of shape (n_points, 2)
        Two maps of the same points, in the same order.

    Returns
    -------
    ndarray of shape (n_points, 2)
        ``moving``, aligned.

    Examples
    --------
    >>> ref = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]])
    >>> turned = ref @ np.array([[0.0, -1.0], [1.0, 0.0]])
    >>> bool(np.allclose(procrustes_align(ref, turned), ref))
    True
    """
    from scipy.linalg import orthogonal_procrustes

    a = validate_cloud(reference, name="reference")
    b = validate_cloud(moving, name="moving")
    if a.shape != b.shape:
        raise TDAInputError(
            f"procrustes_align needs two maps of the same points: 'reference' has shape {a.shape} and "
            f"'moving' {b.shape}. Pass maps of the same images in the same order.")
    centre_a, centre_b = a.mean(axis=0), b.mean(axis=0)
    rotation, _ = orthogonal_procrustes(b - centre_b, a - centre_a)
    return (b - centre_b) @ rotation + centre_a
