"""Torch-backed distances and CKA (run here on the CPU) equal the numpy implementations."""

import numpy as np
import pytest
import torch
from scipy.spatial.distance import cdist

from tda_widgets import Study, load_demo
from tda_widgets.errors import TDAInputError
from tda_widgets.gpu import cka_matrix_torch, default_device, linear_cka_torch, pairwise_distances_torch
from tda_widgets.topology import cka_matrix, linear_cka, pairwise_distances


@pytest.fixture(scope="module")
def reps():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(120, 40))
    y = np.tanh(x @ rng.normal(size=(40, 25))) + 0.1 * rng.normal(size=(120, 25))
    z = rng.normal(size=(120, 300))  # more features than examples: the Gram path in numpy
    return [x, y, z]


def test_pairwise_distances_match_numpy_and_scipy(reps):
    for points in reps:
        d = pairwise_distances_torch(points, device="cpu")
        np.testing.assert_allclose(d, pairwise_distances(points), atol=1e-5)
        np.testing.assert_allclose(d, cdist(points, points), atol=1e-5)
        assert np.array_equal(d, d.T) and not d.diagonal().any()
    # float32 torch input is promoted to float64
    t = torch.from_numpy(reps[0].astype(np.float32))
    np.testing.assert_allclose(pairwise_distances_torch(t, device="cpu"), cdist(reps[0], reps[0]), atol=1e-4)


@pytest.mark.parametrize("kernel", ["linear", "rbf"])
@pytest.mark.parametrize("debiased", [False, True])
def test_cka_matrix_matches_numpy(reps, kernel, debiased):
    got = cka_matrix_torch(reps, kernel=kernel, debiased=debiased, device="cpu")
    np.testing.assert_allclose(got, cka_matrix(reps, kernel=kernel, debiased=debiased), atol=1e-5)
    np.testing.assert_array_equal(got, got.T)
    np.testing.assert_array_equal(got.diagonal(), 1.0)


def test_linear_cka_closed_forms(reps):
    x = reps[0]
    q, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(40, 40)))
    assert linear_cka_torch(x, 5.0 * x @ q + 2.0, device="cpu") == pytest.approx(1.0, abs=1e-12)
    assert linear_cka_torch(x, reps[1]) == pytest.approx(linear_cka(x, reps[1]), abs=1e-5)
    # textbook formula: ||Y^T X||_F^2 / (||X^T X||_F ||Y^T Y||_F) on centred data
    xc, yc = x - x.mean(0), reps[2] - reps[2].mean(0)
    ref = np.linalg.norm(yc.T @ xc) ** 2 / (np.linalg.norm(xc.T @ xc) * np.linalg.norm(yc.T @ yc))
    assert linear_cka_torch(x, reps[2]) == pytest.approx(ref, abs=1e-9)


def test_study_cka_torch_backend_equals_numpy():
    demo = load_demo(n_images=60)
    study = Study(demo.model, demo.images, demo.labels, demo.layers)
    np.testing.assert_allclose(study.cka(backend="torch", device="cpu"), study.cka(), atol=1e-5)
    with pytest.raises(TDAInputError, match="'backend' parameter of Study.cka"):
        study.cka(backend="cupy")


def test_bad_inputs_are_refused_by_name(reps):
    bad = reps[0].copy()
    bad[3, 2] = np.nan
    with pytest.raises(TDAInputError, match="finite"):
        pairwise_distances_torch(bad, device="cpu")
    with pytest.raises(TDAInputError, match="same number of rows"):
        cka_matrix_torch([reps[0], reps[1][:50]], device="cpu")
    with pytest.raises(TDAInputError, match="zero variance"):
        cka_matrix_torch([reps[0], np.ones((120, 3))], device="cpu")
    with pytest.raises(TDAInputError, match="'kernel'"):
        cka_matrix_torch(reps, kernel="cosine", device="cpu")
    with pytest.raises(TDAInputError, match="wrap it in a list"):
        cka_matrix_torch(reps[0])
    if not torch.cuda.is_available():
        with pytest.raises(TDAInputError, match="no CUDA GPU"):
            default_device("cuda")
        assert default_device(None).type == "cpu"
