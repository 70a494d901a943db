"""Minibatch linear CKA (Nguyen, Raghu & Kornblith 2021) against the textbook unbiased HSIC,
the exact debiased CKA, and the full-data CKA on the demo."""

import numpy as np
import pytest
import torch

from tda_widgets.errors import TDAInputError
from tda_widgets.topology.cka import cka_matrix, linear_cka
from tda_widgets.topology.minibatch_cka import MinibatchCKA, minibatch_cka_matrix


def textbook_unbiased_hsic(K, L):
    """Song et al. (2012), eq. (5): with K~, L~ the Gram matrices with zero diagonal,
    [tr(K~ L~) + 1'K~1 1'L~1 / ((n-1)(n-2)) - 2/(n-2) 1'K~L~1] / (n (n-3))."""
    n = K.shape[0]
    K, L = K.copy(), L.copy()
    np.fill_diagonal(K, 0)
    np.fill_diagonal(L, 0)
    one = np.ones(n)
    return (np.trace(K @ L) + (one @ K @ one) * (one @ L @ one) / ((n - 1) * (n - 2))
            - 2.0 / (n - 2) * (one @ K @ L @ one)) / (n * (n - 3))


def test_one_minibatch_is_the_textbook_unbiased_hsic():
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(7, 3)), rng.normal(size=(7, 5))
    acc = MinibatchCKA(["x", "y"])
    acc.update({"x": X, "y": Y})
    hsic = acc.hsic()
    assert hsic[0, 1] == pytest.approx(textbook_unbiased_hsic(X @ X.T, Y @ Y.T), rel=1e-12)
    assert hsic[0, 0] == pytest.approx(textbook_unbiased_hsic(X @ X.T, X @ X.T), rel=1e-12)
    # one minibatch of every image is the exact debiased linear CKA
    assert acc.result()[0, 1] == pytest.approx(linear_cka(X, Y, debiased=True), rel=1e-10)


def test_the_mean_over_minibatches_with_the_papers_weights():
    rng = np.random.default_rng(1)
    X, Y = rng.normal(size=(23, 4)), rng.normal(size=(23, 6)) + rng.normal(size=(23, 1))
    batches = [slice(0, 10), slice(10, 20), slice(20, 23)]  # the last (3 images) has no unbiased HSIC
    hsic = np.mean([[textbook_unbiased_hsic(A[s] @ A[s].T, B[s] @ B[s].T) for s in batches[:2]]
                    for A, B in ((X, Y), (X, X), (Y, Y))], axis=1)
    expected = hsic[0] / np.sqrt(hsic[1] * hsic[2])
    got = minibatch_cka_matrix([X, Y], batch_size=10)
    assert got[0, 1] == pytest.approx(expected, rel=1e-12) and got[1, 0] == got[0, 1]
    assert np.diag(got).tolist() == [1.0, 1.0]


def test_torch_activations_of_any_shape_give_the_same_numbers():
    rng = np.random.default_rng(2)
    X, Y = rng.normal(size=(12, 2, 3, 3)), rng.normal(size=(12, 5))
    a, b = MinibatchCKA(["x", "y"]), MinibatchCKA(["x", "y"])
    a.update({"x": X, "y": Y})
    b.update({"x": torch.from_numpy(X), "y": torch.from_numpy(Y)})  # float64 tensors
    np.testing.assert_allclose(a.result(), b.result(), rtol=1e-12)


def test_close_to_the_full_data_cka_on_the_demo():
    """Stated tolerance, every pair of the demo's five layers over 600 digits: within 0.03 of the
    exact debiased CKA at minibatches of 128 (measured 0.021; 0.052 at 64, 0.009 at 256)."""
    from tda_widgets import Study, load_demo

    demo = load_demo(subset="all", n_images=600)
    study = Study(demo.model, demo.images, demo.labels, demo.layers)
    acts = study.activations()
    features = [acts[layer].reshape(600, -1).astype(np.float64) for layer in demo.layers]
    exact = cka_matrix(features, debiased=True)
    mini = minibatch_cka_matrix(features, batch_size=128)
    assert np.abs(mini - exact).max() < 0.03
    off = ~np.eye(len(features), dtype=bool)
    assert np.corrcoef(mini[off], exact[off])[0, 1] > 0.95


def test_clear_errors():
    acc = MinibatchCKA(["x", "y"])
    with pytest.raises(TDAInputError, match="not one of its layers"):
        acc.observe("z", np.zeros((5, 2)))
    acc.observe("x", np.ones((5, 2)))
    with pytest.raises(TDAInputError, match=r"no activations of \['y'\]"):
        acc.end_batch()
    with pytest.raises(TDAInputError, match="at least 4 images"):
        MinibatchCKA(["x"]).hsic()
    dead = MinibatchCKA(["x", "y"])
    dead.update({"x": np.ones((6, 2)), "y": np.arange(12.0).reshape(6, 2)})
    with pytest.raises(TDAInputError, match=r"undefined for \['x'\]"):
        dead.result()
    with pytest.raises(TDAInputError, match="batch_size"):
        minibatch_cka_matrix([np.zeros((8, 2))], batch_size=3)


_SYMMETRY_SCRIPT = """
import numpy as np
from tda_widgets.topology.minibatch_cka import minibatch_cka_matrix
rng = np.random.default_rng(1)
X, Y = rng.normal(size=(23, 4)), rng.normal(size=(23, 6)) + rng.normal(size=(23, 1))
got = minibatch_cka_matrix([X, Y, Y ** 2], batch_size=10)
print(bool(np.array_equal(got, got.T)))
"""


@pytest.mark.skipif(__import__("platform").machine() not in ("x86_64", "AMD64"), reason="x86 OpenBLAS kernels")
@pytest.mark.parametrize("core", ["Prescott", "Sandybridge"])
def test_the_matrix_is_exactly_symmetric_under_other_blas_kernels(core):
    # regression (issue 26): under OpenBLAS's Sandybridge kernel (another processor's) the
    # (0, 1) and (1, 0) entries came out one ulp apart
    import os
    import subprocess
    import sys

    env = {**os.environ, "OPENBLAS_CORETYPE": core}
    run = subprocess.run([sys.executable, "-c", _SYMMETRY_SCRIPT], env=env, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "True"
