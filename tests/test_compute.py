"""The study engine (tda_widgets.compute): cache keys, numbers against independent references,
cancel, executors (serial, process pool, threads, dask.distributed) and model safety.

References are computed here without the code under test: the layer outputs by calling the
CNN's blocks in order, clouds by hand (spatial mean for conv blocks), scale by the median of
``scipy.spatial.distance.pdist``, diagrams by ``ripser.ripser``, distances by
``persim.bottleneck`` and CKA by the textbook formula.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch

import tda_widgets.engine.steps as steps  # the study's steps: faults are injected here
from tda_widgets.compute import CloudSpec, Study
from tda_widgets.data import load_demo
from tda_widgets.errors import Cancelled
from tda_widgets.topology.persistence import PersistenceResult

LAYERS = ("block1", "block2", "block3", "fc1", "head")


@pytest.fixture(scope="module")
def demo():
    return load_demo(n_images=100)


@pytest.fixture()
def study(demo):
    return Study(demo.model, demo.images, demo.labels, LAYERS, class_names=demo.class_names)


@pytest.fixture(scope="module")
def serial_matrix(demo):
    """The bottleneck H0+H1 distance matrix of a clean serial study (the executors' reference)."""
    return Study(demo.model, demo.images, demo.labels, LAYERS).distance_matrix()


def reference_features(model, images) -> dict:
    """Each layer's output, by calling the CNN's blocks in order (no hooks, no capture code)."""
    with torch.no_grad():
        b1 = model.block1(images)
        b2 = model.block2(b1)
        b3 = model.block3(b2)
        f1 = model.fc1(torch.flatten(b3, 1))
        head = model.head(f1)
    return {name: t.double().numpy() for name, t in
            zip(LAYERS, (b1, b2, b3, f1, head))}


def reference_cloud(output: np.ndarray) -> np.ndarray:
    """The default cloud: spatial mean for (N, C, H, W), the output itself for (N, F)."""
    return output.mean(axis=(2, 3)) if output.ndim == 4 else output


def reference_diagrams(cloud: np.ndarray):
    from ripser import ripser
    from scipy.spatial.distance import pdist

    scaled = cloud / np.median(pdist(cloud))
    dgms = ripser(scaled, maxdim=1)["dgms"]
    return [d[np.lexsort((d[:, 1], d[:, 0]))] for d in dgms]


def textbook_linear_cka(x: np.ndarray, y: np.ndarray) -> float:
    x = x - x.mean(axis=0)
    y = y - y.mean(axis=0)
    return float(np.linalg.norm(y.T @ x) ** 2 / (np.linalg.norm(x.T @ x) * np.linalg.norm(y.T @ y)))


def count_persistence_calls(monkeypatch) -> list:
    calls = []
    original = steps.persistence

    def counting(*args, **kwargs):
        calls.append(args[0].shape)
        return original(*args, **kwargs)

    monkeypatch.setattr(steps, "persistence", counting)
    return calls


# --------------------------------------------------------------------------- cache keys


def test_view_changes_never_recompute_diagrams(study, monkeypatch):
    calls = count_persistence_calls(monkeypatch)
    first = study.distance_matrix(metric="bottleneck", dims=(0, 1))
    assert len(calls) == len(LAYERS)
    assert study.stats["distance_matrices"] == 1

    # Other metrics and other dimensions shown: new distances, the same diagrams.
    for metric, dims in [("wasserstein-1", (0, 1)), ("bottleneck", (1,)), ("bottleneck", (0,)),
                         ("sliced-wasserstein", (0, 1))]:
        study.distance_matrix(metric=metric, dims=dims)
    assert len(calls) == len(LAYERS)
    assert study.stats["persistence"] == len(LAYERS)
    assert study.stats["distance_matrices"] == 5

    # Back to the first view: served from the cache, equal, and a copy (callers may edit it).
    again = study.distance_matrix(metric="bottleneck", dims=(0, 1))
    assert study.stats["distance_matrices"] == 5
    np.testing.assert_array_equal(again, first)
    again[0, 1] = -1.0
    assert study.distance_matrix()[0, 1] == first[0, 1]
    assert study.stats["captures"] >= 1 and len(calls) == len(LAYERS)


def test_activations_are_captured_once_per_layer(study):
    def activation_keys():
        return [k for k in study.cache_keys() if k[0] == "activations"]

    study.distance_matrix()
    assert study.stats["captures"] == 1  # one forward pass over the images for every layer
    # One cached entry per layer (the pooled clouds may be captured in a stream).
    assert sorted(k[3] for k in activation_keys()) == sorted(LAYERS)
    study.cka()  # CKA needs the full activations: at most one more capture of each layer
    keys, captures = activation_keys(), study.stats["captures"]
    assert len(keys) <= 2 * len(LAYERS) and len(set(keys)) == len(keys)

    # New clouds, new diagrams, other metrics, RBF CKA, mapper: no layer is captured again.
    study.diagrams(spec=CloudSpec(max_points=50, seed=3))
    study.distance_matrix(metric="wasserstein-1")
    study.cka(kernel="rbf")
    study.mapper("fc1")
    study.mapper("block3", CloudSpec(mode="image-flatten"))
    study.predictions()
    assert study.stats["captures"] == captures
    assert set(activation_keys()) == set(keys)  # (the LRU cache reorders keys on use)


def test_changing_one_layers_spec_recomputes_only_that_layer(study, monkeypatch):
    calls = count_persistence_calls(monkeypatch)
    base = study.diagrams()
    assert len(calls) == len(LAYERS)
    captures = study.stats["captures"]

    other = CloudSpec(max_points=60, seed=1)
    changed = study.diagrams(["block2"], other)
    assert len(calls) == len(LAYERS) + 1 and calls[-1][0] == 60
    assert changed["block2"].n_points == 60
    # The other layers' results (and block2's default one) are still served from the cache.
    again = study.diagrams()
    assert len(calls) == len(LAYERS) + 1
    assert all(again[layer] is base[layer] for layer in LAYERS)
    assert study.stats["captures"] == captures


def test_a_model_changed_in_place_gets_a_new_fingerprint_and_recomputes(demo, monkeypatch):
    model = load_demo(n_images=10).model  # a private copy: the shared demo model stays intact
    study = Study(model, demo.images, demo.labels, LAYERS)
    calls = count_persistence_calls(monkeypatch)
    before = study.diagrams(["fc1"])["fc1"]
    key_before = study.model_key()
    assert study.model_key() == key_before  # stable while nothing changes

    with torch.no_grad():
        model.fc1.linear.weight.add_(0.5)
    assert study.model_key() != key_before
    captures = study.stats["captures"]
    after = study.diagrams(["fc1"])["fc1"]
    assert len(calls) == 2
    assert study.stats["captures"] == captures + 1
    # The recomputed diagrams are those of the changed model, not the cached ones.
    expected = reference_diagrams(reference_features(model, demo.images)["fc1"])
    np.testing.assert_allclose(after.diagrams[1], expected[1], rtol=1e-9, atol=1e-9)
    assert not (len(before.diagrams[1]) == len(after.diagrams[1])
                and np.allclose(before.diagrams[1], after.diagrams[1]))


# --------------------------------------------------------------------------- numbers


def test_diagrams_equal_direct_ripser_on_the_rescaled_cloud(study, demo):
    features = reference_features(demo.model, demo.images)
    results = study.diagrams(maxdim=1, scale="median")
    for layer in LAYERS:
        expected = reference_diagrams(reference_cloud(features[layer]))
        got = results[layer]
        assert isinstance(got, PersistenceResult) and got.n_points == len(demo.images)
        for dim in (0, 1):
            assert got.diagrams[dim].shape == expected[dim].shape, (layer, dim)
            np.testing.assert_allclose(got.diagrams[dim], expected[dim], rtol=1e-6, atol=1e-7,
                                       err_msg=f"{layer} H{dim}")
        assert np.isinf(got.diagrams[0][:, 1]).sum() == 1


def test_distance_matrix_equals_a_loop_of_persim_bottleneck(study):
    import persim

    results = study.diagrams()
    # The policy: every H0 has exactly one infinite bar, born at 0, so "match" pairs them at
    # cost 0 and the distance is that of the finite parts.
    for layer in LAYERS:
        h0 = results[layer].diagrams[0]
        assert np.isinf(h0[:, 1]).sum() == 1 and h0[np.isinf(h0[:, 1]), 0] == 0.0
        assert np.isfinite(results[layer].diagrams[1]).all()
    matrix = study.distance_matrix(metric="bottleneck", dims=(0, 1), infinite="match")
    expected = np.zeros((len(LAYERS), len(LAYERS)))
    for i, a in enumerate(LAYERS):
        for j, b in enumerate(LAYERS):
            if i == j:
                continue
            values = []
            for dim in (0, 1):
                da, db = results[a].diagrams[dim], results[b].diagrams[dim]
                values.append(persim.bottleneck(da[np.isfinite(da[:, 1])], db[np.isfinite(db[:, 1])]))
            expected[i, j] = max(values)
    np.testing.assert_allclose(matrix, expected, rtol=0, atol=1e-9)
    assert (matrix[~np.eye(len(LAYERS), dtype=bool)] > 0).all()


def test_cka_matrix_equals_textbook_linear_cka(study, demo):
    features = {k: v.reshape(len(v), -1) for k, v in reference_features(demo.model, demo.images).items()}
    matrix = study.cka(kernel="linear", debiased=False)
    expected = np.array([[textbook_linear_cka(features[a], features[b]) for b in LAYERS] for a in LAYERS])
    np.testing.assert_allclose(matrix, expected, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(np.diag(matrix), 1.0, atol=1e-12)


# --------------------------------------------------------------------------- cancel


def _assert_cache_complete(study, maxdim=1):
    for key in study.cache_keys():
        value = study._get(key)
        if key[0] == "diagrams":
            assert isinstance(value, PersistenceResult)
            assert len(value.diagrams) == maxdim + 1 and value.maxdim == maxdim
            assert all(np.asarray(d).ndim == 2 and np.asarray(d).shape[1] == 2 for d in value.diagrams)
        if key[0] == "distances":
            raise AssertionError(f"a cancelled run left a distance matrix in the cache: {key}")


@pytest.mark.parametrize("stop_after", ["persistence", "distances"])
def test_cancel_from_the_progress_callback(demo, serial_matrix, stop_after):
    study = Study(demo.model, demo.images, demo.labels, LAYERS)
    cancel = threading.Event()
    n = len(LAYERS)
    seen = []

    def progress(done, total, message):
        seen.append((done, total))
        # total is n layers + n(n-1)/2 pairs; stop after 2 layers, or after 2 pairs.
        if (stop_after == "persistence" and done == 2) or (stop_after == "distances" and done == n + 2):
            cancel.set()

    with pytest.raises(Cancelled):
        study.distance_matrix(progress=progress, cancel=cancel)
    assert cancel.is_set()
    done_layers = len([k for k in study.cache_keys() if k[0] == "diagrams"])
    assert done_layers == (2 if stop_after == "persistence" else n)
    assert study.stats["persistence"] == done_layers
    _assert_cache_complete(study)

    # The next run finishes the rest and gives the numbers of a clean study.
    matrix = study.distance_matrix()
    np.testing.assert_array_equal(matrix, serial_matrix)
    assert study.stats["persistence"] == n


def test_cancel_before_start_computes_nothing(demo):
    study = Study(demo.model, demo.images, demo.labels, LAYERS)
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        study.diagrams(cancel=cancel)
    assert study.stats["persistence"] == 0
    assert not [k for k in study.cache_keys() if k[0] in ("diagrams", "distances")]


# --------------------------------------------------------------------------- executors


@pytest.fixture()
def fresh_local_pool():
    """Shut the shared local pool down afterwards so no worker outlives the test."""
    from tda_widgets.engine import scheduler

    yield
    with scheduler._POOL_LOCK:
        if scheduler._POOL is not None:
            scheduler._POOL.shutdown(wait=True, cancel_futures=True)
            scheduler._POOL = None


def test_local_process_pool_gives_the_serial_matrix(demo, serial_matrix, fresh_local_pool):
    study = Study(demo.model, demo.images, demo.labels, LAYERS, executor="processes")
    matrix = study.distance_matrix()
    assert study.stats["persistence"] == len(LAYERS)
    np.testing.assert_array_equal(matrix, serial_matrix)


def test_thread_pool_gives_the_serial_matrix(demo, serial_matrix):
    with ThreadPoolExecutor(max_workers=2) as pool:
        study = Study(demo.model, demo.images, demo.labels, LAYERS, executor=pool)
        matrix = study.distance_matrix()
    np.testing.assert_array_equal(matrix, serial_matrix)


def test_dask_distributed_local_cluster_gives_the_serial_matrix(demo, serial_matrix):
    distributed = pytest.importorskip("distributed")
    cluster = client = None
    try:
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                           dashboard_address=None)
        client = distributed.Client(cluster)
        study = Study(demo.model, demo.images, demo.labels, LAYERS, executor=client.get_executor())
        matrix = study.distance_matrix()
        # The work really ran as tasks on the cluster: per-layer persistence, per-pair distances.
        prefixes = set(cluster.scheduler.task_prefixes)
        assert {"rescaled_persistence", "pair_distance"} <= prefixes, prefixes  # persistence ran on dask
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
    np.testing.assert_array_equal(matrix, serial_matrix)


def test_an_invalid_executor_is_refused_by_name(demo):
    from tda_widgets.errors import TDAInputError

    study = Study(demo.model, demo.images, demo.labels, LAYERS, executor="threads")
    with pytest.raises(TDAInputError, match="'executor' parameter of Study must be None, 'processes'"):
        study.diagrams()


# --------------------------------------------------------------------------- model safety


def test_the_model_is_unchanged_after_a_full_study(demo):
    model = load_demo(n_images=10).model
    model.train()
    model.block2.eval()  # a mixed state must come back exactly as it was
    model.fc1.linear.weight.requires_grad_(False)
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    flags = {name: m.training for name, m in model.named_modules()}
    grads = {name: p.requires_grad for name, p in model.named_parameters()}

    study = Study(model, demo.images, demo.labels, LAYERS)
    study.compare()
    study.mapper("block3")
    study.predictions()

    after = model.state_dict()
    assert list(after) == list(state)
    for name, tensor in state.items():
        assert after[name].dtype == tensor.dtype
        assert after[name].numpy().tobytes() == tensor.numpy().tobytes(), name
    assert {name: m.training for name, m in model.named_modules()} == flags
    assert {name: p.requires_grad for name, p in model.named_parameters()} == grads
    for name, module in model.named_modules():
        assert not module._forward_hooks, name
        assert not module._forward_pre_hooks, name
        assert not module._backward_hooks, name
