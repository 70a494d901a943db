"""Minibatch linear CKA: CKA between layers accumulated batch by batch, no activation kept.

Nguyen, Raghu & Kornblith, "Do Wide and Deep Networks Learn the Same Things?" (ICLR 2021),
section 3.1: split the ``n`` images into ``k`` minibatches of ``m``; for each minibatch and each
pair of layers compute the unbiased HSIC of Song et al. (2012) of the two linear Gram matrices,
average over minibatches, and normalise::

    CKA_minibatch(X, Y) = mean_i HSIC_1(K_i, L_i) / sqrt(mean_i HSIC_1(K_i, K_i) * mean_i HSIC_1(L_i, L_i))

``HSIC_1(K, L) = <K~, L~> / (m (m - 3))`` with ``K~`` the U-centred Gram matrix of Szekely &
Rizzo (2014): zero diagonal, minus row and column means taken over ``m - 2``, plus the grand
mean over ``2 (m - 1)``, zero diagonal again. This is the authors' construction
(google-research ``do_wide_and_deep_networks_learn_the_same_things/efficient_CKA.py``,
``MinibatchCKA``); they accumulate ``<K~, L~>`` without the factor ``1 / (m (m - 3))``, which is
the same when every minibatch has ``m`` images; here the factor is kept, so a smaller last
batch gets the paper's weight. A minibatch of fewer than 4 images has no unbiased HSIC and is
skipped (counted in :attr:`MinibatchCKA.skipped`).

Memory: one layer's Gram matrix per minibatch (``m x m``), never the activations, so CKA of
every block of a ResNet at 224 px costs megabytes. The estimate converges to the full-data
debiased CKA as the minibatches grow (one batch of all ``n`` images gives it exactly, to
rounding); with ``m`` of 64-256 it is close to it (tests: within 0.05 on the demo). Minibatches
should mix the classes: batches holding one class each estimate a different quantity. The
study feeds images in a seeded random order for this reason (see ``Study.cka``).

Gram matrices are computed in the activations' dtype on their device (float32 on a GPU is
fast) and centred and accumulated in float64.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from ..core.errors import TDAInputError
from .cka import _center_gram

__all__ = ["MinibatchCKA", "minibatch_cka_matrix", "u_centred_gram"]


def u_centred_gram(features: Any) -> np.ndarray:
    """The U-centred linear Gram matrix (float64 ndarray, ``m x m``) of ``m`` rows of features
    (a torch tensor, on any device, or an array); rows are flattened."""
    if hasattr(features, "detach"):  # torch, without importing it here
        x = features.detach().reshape(features.shape[0], -1)
        if not x.is_floating_point():
            x = x.float()
        gram = (x @ x.T).double().cpu().numpy()
    else:
        x = np.asarray(features, dtype=np.float64).reshape(len(features), -1)
        gram = x @ x.T
    return _center_gram(gram, debiased=True)  # the U-centring the exact debiased CKA uses


class MinibatchCKA:
    """Accumulates minibatch linear CKA between ``layers`` (see the module docstring).

    Call :meth:`observe` with each layer's activations of one minibatch (any shape
    ``(m, ...)``), then :meth:`end_batch`; or :meth:`update` with all layers at once.
    :meth:`result` gives the ``L x L`` CKA matrix.
    """

    def __init__(self, layers: Sequence[str]):
        self.layers = list(layers)
        self._hsic = np.zeros((len(self.layers), len(self.layers)))
        self._pending: dict[str, np.ndarray] = {}
        self.batches = 0
        self.images = 0
        self.skipped = 0

    def observe(self, layer: str, features: Any) -> None:
        if layer not in self.layers:
            raise TDAInputError(f"MinibatchCKA got activations of {layer!r}, not one of its layers {self.layers}.")
        m = int(features.shape[0])
        self._pending[layer] = u_centred_gram(features) if m >= 4 else np.zeros((m, m))

    def end_batch(self) -> None:
        missing = [layer for layer in self.layers if layer not in self._pending]
        if missing:
            raise TDAInputError(f"MinibatchCKA.end_batch: no activations of {missing} in this minibatch; "
                                "observe every layer of each minibatch.")
        sizes = {gram.shape[0] for gram in self._pending.values()}
        if len(sizes) != 1:
            raise TDAInputError(f"MinibatchCKA.end_batch: the layers' minibatches differ in size ({sorted(sizes)}).")
        m = sizes.pop()
        if m < 4:
            self.skipped += m
        else:
            grams = np.stack([self._pending[layer].ravel() for layer in self.layers])
            block = grams @ grams.T
            # exactly symmetric on every processor: some BLAS kernels round (i, j) and (j, i)
            # differently (measured: OpenBLAS's Sandybridge kernel, one ulp apart)
            block = np.triu(block) + np.triu(block, 1).T
            self._hsic += block / (m * (m - 3))
            self.batches += 1
            self.images += m
        self._pending = {}

    def update(self, features_by_layer: Mapping[str, Any]) -> None:
        for layer in self.layers:
            self.observe(layer, features_by_layer[layer])
        self.end_batch()

    def hsic(self) -> np.ndarray:
        """The mean over minibatches of the unbiased HSIC between every pair of layers."""
        if self.batches == 0:
            raise TDAInputError("Minibatch CKA saw no minibatch of at least 4 images; use batches of 4 or more "
                                "(batch_size) and at least 4 images.")
        return self._hsic / self.batches

    def result(self) -> np.ndarray:
        hsic = self.hsic()
        diagonal = np.diag(hsic).copy()
        dead = [layer for layer, value in zip(self.layers, diagonal) if not value > 0]
        if dead:
            raise TDAInputError(
                f"Minibatch CKA is undefined for {dead}: zero variance within the minibatches (e.g. a dead "
                "layer), so the self-similarity is 0. Drop those layers or check their activations.")
        scale = np.sqrt(diagonal)
        out = hsic / np.outer(scale, scale)  # s_i * s_j == s_j * s_i exactly: the result stays symmetric
        np.fill_diagonal(out, 1.0)
        return out


def minibatch_cka_matrix(features: Sequence[Any], batch_size: int = 256) -> np.ndarray:
    """Minibatch linear CKA between representations already in memory (``(n, ...)`` each, the
    same ``n`` images in the same order), in consecutive minibatches of ``batch_size``."""
    if int(batch_size) < 4:
        raise TDAInputError(f"The 'batch_size' parameter of minibatch_cka_matrix must be >= 4 (the unbiased "
                            f"HSIC needs 4 images). Got {batch_size!r} instead.")
    n = int(features[0].shape[0])
    if any(int(f.shape[0]) != n for f in features):
        raise TDAInputError("minibatch_cka_matrix: every representation must have one row per image (same n).")
    names = [str(i) for i in range(len(features))]
    acc = MinibatchCKA(names)
    for start in range(0, n, int(batch_size)):
        acc.update({name: f[start:start + int(batch_size)] for name, f in zip(names, features)})
    return acc.result()
