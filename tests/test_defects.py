"""Regression tests for the defects of issue 11 ("One engine"), each failing on the code before
its fix.
"""

from __future__ import annotations

import concurrent.futures
import tracemalloc

import numpy as np
import persim
import pytest

import tda_widgets.engine.steps as steps  # the study's steps: faults are injected here
from tda_widgets import load_demo
from tda_widgets.compute import CloudSpec, Study
from tda_widgets.errors import BudgetExceededError, TDAInputError
from tda_widgets.topology.distances import diagrams_distance


@pytest.fixture(scope="module")
def demo():
    return load_demo(n_images=40)


def test_a_refused_persistence_request_allocates_nothing_large(demo):
    """Defect 1: rescaling built the full distance matrix (n_points**2 floats) before the
    persistence budget was checked (60 s and 17 GB on the demo's 28,800 spatial points)."""
    study = Study(demo.model, demo.images, demo.labels, layers=["block1"], max_memory_bytes=8 * 1024**2)
    spec = CloudSpec(mode="spatial", max_points=None)  # 40 images x 8 x 8 positions = 2,560 points
    study.cloud("block1", spec)  # activations and cloud first: only the refusal is measured
    n = study.cloud("block1", spec).n_points
    assert n == 2560
    tracemalloc.start()
    try:
        with pytest.raises(BudgetExceededError, match="max_memory_bytes"):
            study.diagrams(["block1"], spec)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # one distance matrix would be n * n * 8 = 52 MB; the refusal must stay far below the budget
    assert peak < 2 * 1024**2, f"peak {peak / 2**20:.1f} MiB while refusing"


def test_the_distance_of_a_diagram_to_itself_is_exactly_zero():
    """Defect 5: gudhi's default error bound gave 2.1e-308; persim's own tests
    (test_single_point_same, test_matching_to_self) expect exactly 0."""
    dgm = np.array([[0.1, 0.5], [0.2, 0.9], [0.3, 0.35]])
    assert persim.bottleneck(dgm, dgm) == 0.0  # the reference
    for metric in ("bottleneck", "wasserstein-1", "wasserstein-2", "sliced-wasserstein"):
        assert diagrams_distance([dgm], [dgm.copy()], metric, dims=(0,)) == 0.0, metric
    single = np.array([[0.5, 1.0]])
    assert diagrams_distance([single], [single.copy()], "bottleneck", dims=(0,)) == 0.0


def test_two_identical_layers_are_exactly_zero_apart(demo):
    """Defect 5, in a study: a layer and an Identity after it have equal clouds."""
    from torch import nn

    twin = nn.Sequential()
    twin.add_module("a", demo.model.block1)
    twin.add_module("b", nn.Identity())
    study = Study(twin, demo.images, demo.labels, layers=["a", "b"])
    matrix = study.distance_matrix(spec=CloudSpec(max_points=40), metric="bottleneck")
    assert matrix[0, 1] == 0.0 and matrix[1, 0] == 0.0


def test_a_python_310_future_timeout_is_waited_through(monkeypatch):
    """Defect 4: the polling loops caught the builtin TimeoutError; on Python 3.10
    concurrent.futures.TimeoutError is another class, so the first 0.1 s timeout escaped.
    Simulated here with a distinct class, as on 3.10."""

    class FuturesTimeout(Exception):
        pass

    monkeypatch.setattr(concurrent.futures, "TimeoutError", FuturesTimeout)
    from tda_widgets._progress import wait_result

    class SlowFuture:
        calls = 0

        def result(self, timeout=None):
            SlowFuture.calls += 1
            if SlowFuture.calls < 3:
                raise FuturesTimeout()
            return "done"

    assert wait_result(SlowFuture(), None, "test") == "done" and SlowFuture.calls == 3


def test_a_bad_mode_for_an_explorer_names_the_parameter_and_the_choices(demo):
    """Defect 6: traitlets' 'Invalid selection: value not found' named neither."""
    from tda_widgets import LayerDistanceExplorer, MapperExplorer, PersistenceExplorer

    for cls in (PersistenceExplorer, MapperExplorer, LayerDistanceExplorer):
        with pytest.raises(TDAInputError, match=r"'mode' parameter of .*'auto'.*'spatail'.*'spatial'"):
            cls(demo.model, demo.images, mode="spatail", threaded=False, autostart=False)


def test_a_heat_map_click_with_dims_0_reuses_the_cached_diagrams(demo, monkeypatch):
    """Defect 2: with dims=(0,) the click asked for maxdim=0 diagrams while the matrix had cached
    maxdim=1 ones: a miss, and persistence recomputed on the kernel thread."""
    from tda_widgets import LayerDistanceExplorer

    explorer = LayerDistanceExplorer(demo.model, demo.images, max_points=30, dims=(0,), threaded=False)
    assert explorer.state == "done", explorer.status
    calls = []
    real = steps.persistence
    monkeypatch.setattr(steps, "persistence", lambda *a, **k: calls.append(1) or real(*a, **k))
    explorer.show_pair(0, 1)
    assert calls == []
    assert explorer.selected_pair is not None


def test_cka_on_a_missing_device_is_an_error_even_when_cached(demo, monkeypatch):
    """Defect 3: the CKA cache key left out the device, so device='cuda' on a machine without
    one returned the cached CPU matrix instead of the clear error."""
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # a CPU-only machine, even on a GPU one
    study = Study(demo.model, demo.images, demo.labels)
    cpu = study.cka(backend="torch", device="cpu")
    with pytest.raises(TDAInputError, match="no CUDA GPU"):
        study.cka(backend="torch", device="cuda")
    np.testing.assert_array_equal(study.cka(backend="torch", device="cpu"), cpu)
