"""checkpoint_grid on the shipped digits checkpoints: serial == threads == dask, numbers against
ripser and persim, the model untouched."""

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import persim
import pytest
import torch
from ripser import ripser
from scipy.spatial.distance import pdist

from tda_widgets.checkpoints import checkpoint_grid
from tda_widgets.compute import CloudSpec
from tda_widgets.data.digits import load_demo, load_digits_checkpoints
from tda_widgets.errors import Cancelled, TDAInputError, TDATypeError
from tda_widgets.topology import diagrams_distance

LAYERS = ["block2", "fc1", "head"]
SPEC = CloudSpec(max_points=None)  # 100 images -> 100 points per cloud


@pytest.fixture(scope="module")
def setup():
    demo = load_demo(n_images=100)
    checkpoints = {epoch: m.state_dict() for epoch, m in load_digits_checkpoints().items()}
    return demo, checkpoints


@pytest.fixture(scope="module")
def serial(setup):
    demo, checkpoints = setup
    return checkpoint_grid(demo.model, checkpoints, demo.images, LAYERS, spec=SPEC, full_matrix=True)


def _same(a, b):
    assert a.layers == b.layers and a.checkpoints == b.checkpoints
    np.testing.assert_array_equal(a.consecutive, b.consecutive)
    for key, result in a.diagrams.items():
        for d1, d2 in zip(result.diagrams, b.diagrams[key].diagrams):
            np.testing.assert_array_equal(d1, d2)


def test_grid_shape_and_consecutive_distances_equal_direct_distances(serial):
    assert serial.checkpoints == [0, 1, 3, 10]
    assert serial.consecutive.shape == (3, 3)
    assert len(serial.diagrams) == 12 and all(n == 100 for n in serial.n_points.values())
    for i, layer in enumerate(LAYERS):
        for k in range(3):
            a, b = serial.diagram(layer, serial.checkpoints[k]), serial.diagram(layer, serial.checkpoints[k + 1])
            assert serial.consecutive[i, k] == diagrams_distance(a.diagrams, b.diagrams, "bottleneck", dims=(0, 1))
        matrix = serial.matrices[layer]
        np.testing.assert_array_equal(matrix, matrix.T)
        np.testing.assert_array_equal(np.diagonal(matrix, 1), serial.consecutive[i])
    # training settles: the last step moves fc1 less than the first
    fc1 = serial.consecutive_distances("fc1")
    assert fc1[-1] < fc1[0]


def test_one_cell_matches_ripser_and_persim(setup, serial):
    demo, _ = setup
    models = load_digits_checkpoints()
    clouds = {}
    for epoch in (3, 10):
        m = models[epoch].eval()
        with torch.no_grad():
            x = m.block3(m.block2(m.block1(demo.images)))
            clouds[epoch] = m.fc1(m.flatten(x)).double().numpy()
    dgms = {}
    for epoch, points in clouds.items():
        scaled = points / np.median(pdist(points))
        dgms[epoch] = ripser(scaled, maxdim=1)["dgms"]
        ours = serial.diagram("fc1", epoch).diagrams
        for d in (0, 1):
            ref = dgms[epoch][d][np.lexsort((dgms[epoch][d][:, 1], dgms[epoch][d][:, 0]))]
            np.testing.assert_allclose(ours[d], ref, rtol=1e-6, atol=1e-6)
    # bottleneck over H0 + H1 with persim: finite bars compared, the one infinite H0 bar each
    # (both born at 0) matched to each other at cost 0
    finite = [dgm[0][np.isfinite(dgm[0][:, 1])] for dgm in (dgms[3], dgms[10])]
    ref = max(persim.bottleneck(*finite), persim.bottleneck(dgms[3][1], dgms[10][1]))
    assert serial.consecutive_distances("fc1")[2] == pytest.approx(ref, rel=1e-6, abs=1e-9)


def test_thread_pool_and_dask_give_the_serial_grid(setup, serial):
    demo, checkpoints = setup
    from tda_widgets.engine import shared_cache

    shared_cache(demo.model).clear()  # the grid's cells are cached steps: this run computes them on the pool
    with ThreadPoolExecutor(max_workers=2) as pool:
        threaded = checkpoint_grid(demo.model, checkpoints, demo.images, LAYERS, spec=SPEC, full_matrix=True,
                                   executor=pool)
    _same(serial, threaded)
    distributed = pytest.importorskip("distributed")
    cluster = client = None
    try:
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                           dashboard_address=None)
        client = distributed.Client(cluster)
        shared_cache(demo.model).clear()  # and this one on dask
        on_dask = checkpoint_grid(demo.model, checkpoints, demo.images, LAYERS, spec=SPEC, full_matrix=True,
                                  executor=client.get_executor())
        prefixes = set(cluster.scheduler.task_prefixes)
        assert {"rescaled_persistence", "diagrams_distance"} <= prefixes, prefixes  # persistence ran on dask
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
    _same(serial, on_dask)
    for layer in LAYERS:
        np.testing.assert_array_equal(on_dask.matrices[layer], serial.matrices[layer])


def test_the_model_is_unchanged_and_checkpoints_may_be_models_or_files(setup, serial, tmp_path):
    demo, checkpoints = setup
    model = load_demo(n_images=10).model
    model.train()
    model.block2.eval()
    before = {k: v.detach().clone() for k, v in model.state_dict().items()}
    flags = {name: m.training for name, m in model.named_modules()}
    models = load_digits_checkpoints()
    path = tmp_path / "epoch10.pt"
    torch.save({"state_dict": {"module." + k: v for k, v in checkpoints[10].items()}}, path)
    mixed = {0: models[0], 1: checkpoints[1], 3: models[3], 10: str(path)}
    progress = []
    grid = checkpoint_grid(model, mixed, demo.images, LAYERS, spec=SPEC,
                           progress=lambda done, total, msg: progress.append((done, total)))
    np.testing.assert_array_equal(grid.consecutive, serial.consecutive)
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert flags == {name: m.training for name, m in model.named_modules()}
    assert all(not m._forward_hooks for m in model.modules())
    assert progress[-1][0] == progress[-1][1] == 4 + 12 + 9
    assert [d for d, _ in progress] == sorted(d for d, _ in progress)


def test_factory_cancel_and_bad_input(setup):
    demo, checkpoints = setup
    from tda_widgets.data.digits import DigitsCNN

    grid = checkpoint_grid(DigitsCNN, [checkpoints[0], checkpoints[10]], demo.images, "stages",
                           spec=CloudSpec(max_points=40), maxdim=0, dims=(0,), metric="wasserstein-1")
    assert grid.layers == ["block1", "block2", "block3"] and grid.checkpoints == [0, 1]
    assert grid.consecutive.shape == (3, 1) and (grid.consecutive > 0).all()
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        checkpoint_grid(demo.model, checkpoints, demo.images, LAYERS, cancel=cancel)
    with pytest.raises(TDAInputError, match="is empty"):
        checkpoint_grid(demo.model, [], demo.images, LAYERS)
    with pytest.raises(TDATypeError, match="single state dict"):
        checkpoint_grid(demo.model, checkpoints[0], demo.images, LAYERS)
    with pytest.raises(TDAInputError, match="'dims'"):
        checkpoint_grid(demo.model, checkpoints, demo.images, LAYERS, maxdim=0)
    with pytest.raises(TDAInputError, match="missing keys"):
        checkpoint_grid(demo.model, [{"head.weight": torch.zeros(10, 64)}], demo.images, LAYERS)
