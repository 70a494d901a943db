"""Injected faults and interrupts (issue 8, part 2).

Faults: an exception raised inside the forward pass, inside a hook (our streaming reducer, and
a user's own hook), inside the persistence backend (``ripser.ripser`` / ``gph.ripser_parallel``
monkeypatched), and ``KeyboardInterrupt`` mid-capture and mid-study (from the forward pass and
from progress callbacks, serially and on a thread pool).

After each one:

- no hook of ours remains on any module (a hook the user registered before is still there);
- every module's train/eval mode, every ``requires_grad`` flag and ``.grad``, and every
  parameter and buffer are bit-identical to before;
- every entry in the Study's cache equals the entry under the same key of a clean Study that
  ran to the end (so no partial entry was stored);
- the next run on the same Study gives exactly the numbers of a clean Study.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from torch import nn

import tda_widgets.engine.steps as steps  # the study's steps: faults are injected here
from tda_widgets.capture import capture_activations, describe_layers
from tda_widgets.clouds import PointCloud
from tda_widgets.compute import CloudSpec, Study
from tda_widgets.errors import Cancelled, TDAInputError
from tda_widgets.topology.persistence import PersistenceResult

from . import LAYERS, TinyCNN, assert_model_unchanged, snapshot, tiny_images

N_IMAGES = 24
BATCH = 8  # three batches, so a fault can strike in the middle of a capture


class Boom(Exception):
    """An error raised by the test (not one the package wraps or knows)."""


class Trap(nn.Module):
    """Identity that raises ``exc`` on its ``at``-th call once armed (no parameters)."""

    def __init__(self):
        super().__init__()
        self.exc, self.at, self.calls = None, None, 0

    def arm(self, exc, at):
        self.exc, self.at, self.calls = exc, at, 0

    def disarm(self):
        self.exc = None

    def forward(self, x):
        self.calls += 1
        if self.exc is not None and self.calls == self.at:
            raise self.exc
        return x


class TrappedCNN(TinyCNN):
    def __init__(self):
        super().__init__()
        self.trap = Trap()

    def forward(self, x):
        return self.head(self.fc(self.flatten(self.block2(self.trap(self.block1(x))))))


@pytest.fixture(scope="module")
def images():
    return tiny_images(N_IMAGES)


def user_model():
    """A model in a state a user might leave it in: mixed train/eval modes, a frozen layer,
    gradients from a backward pass, and a forward hook of the user's own."""
    model = TrappedCNN()
    model.train()
    model.block2.eval()
    model.fc[0].weight.requires_grad_(False)
    model(tiny_images(4, seed=9)).sum().backward()  # .grad set; BatchNorm stats moved once
    seen = []
    model.block1.register_forward_hook(lambda module, args, out: seen.append(out.shape[0]))
    model.user_hook_calls = seen
    return model


@pytest.fixture(scope="module")
def clean(images):
    """A clean Study on an identical model that ran everything to the end: the reference."""
    study = Study(user_model(), images, layers=LAYERS, batch_size=BATCH)
    study.distance_matrix()
    study.distance_matrix(metric="wasserstein-1")
    study.cka()
    return study


def same(a, b) -> bool:
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b)
    if isinstance(a, PersistenceResult):
        return (a.maxdim == b.maxdim and a.n_points == b.n_points
                and all(np.array_equal(x, y) for x, y in zip(a.diagrams, b.diagrams)))
    if isinstance(a, PointCloud):
        return same(a.points, b.points) and same(a.image_index, b.image_index) and a.params == b.params
    return a == b


def assert_cache_complete(study: Study, clean: Study) -> None:
    """Every cached entry is one a clean run also produced, equal to it (no partial entry)."""
    reference = dict((key, clean._get(key)) for key in clean.cache_keys())
    for key in study.cache_keys():
        assert key in reference, f"an entry the clean run never made: {key[:1] + key[3:]}"
        assert same(study._get(key), reference[key]), f"a partial or wrong entry under {key[:1] + key[3:]}"


def assert_next_run_is_clean(study: Study, clean: Study) -> None:
    np.testing.assert_array_equal(study.distance_matrix(), clean.distance_matrix())
    np.testing.assert_array_equal(study.distance_matrix(metric="wasserstein-1"),
                                  clean.distance_matrix(metric="wasserstein-1"))
    np.testing.assert_array_equal(study.cka(), clean.cka())
    assert_cache_complete(study, clean)


def faulted_study(images):
    model = user_model()
    return model, snapshot(model), Study(model, images, layers=LAYERS, batch_size=BATCH)


def test_the_reference_is_not_trivial(clean):
    # The user's state really is mixed, and the user's own hook fired during the clean run.
    model = clean.model
    assert model.training and not model.block2.training
    assert model.block1.bn.num_batches_tracked.item() == 1
    assert len(model.block1._forward_hooks) == 1 and model.user_hook_calls[-1] == BATCH
    matrix = clean.distance_matrix()
    assert matrix.shape == (4, 4) and (matrix[~np.eye(4, dtype=bool)] > 0).all()


# ------------------------------------------------------------------ the forward pass


@pytest.mark.parametrize("exc, expected", [(Boom("in forward"), Boom),
                                           (RuntimeError("CUDA error: device-side assert"), TDAInputError),
                                           (KeyboardInterrupt(), KeyboardInterrupt)])
def test_fault_in_the_forward_pass(images, clean, exc, expected):
    model, before, study = faulted_study(images)
    model.trap.arm(exc, at=2)  # the second batch
    with pytest.raises(expected) as info:
        study.distance_matrix()
    if expected is TDAInputError:  # wrapped with the shape, the original chained, not lost
        assert info.value.__cause__ is exc
    model.trap.disarm()
    assert_model_unchanged(model, before)
    assert not study.cache_keys()  # nothing of a half-captured batch set
    assert_next_run_is_clean(study, clean)
    assert_model_unchanged(model, before)


def test_fault_in_the_forward_pass_of_capture_and_describe_layers(images):
    model = user_model()
    before = snapshot(model)
    model.trap.arm(KeyboardInterrupt(), at=3)  # the last batch
    with pytest.raises(KeyboardInterrupt):
        capture_activations(model, images, list(LAYERS), batch_size=BATCH)
    assert_model_unchanged(model, before)
    model.trap.arm(Boom("in describe_layers"), at=1)  # describe_layers hooks every module
    with pytest.raises(Boom):
        describe_layers(model, images)
    model.trap.disarm()
    assert_model_unchanged(model, before)


# ------------------------------------------------------------------ hooks


def test_fault_in_our_hook(images, clean, monkeypatch):
    """The streaming reducer runs inside our forward hook: make it raise mid-capture."""
    model, before, study = faulted_study(images)
    real = steps.POOLERS["avg"]
    calls = []

    def failing(t):
        calls.append(1)
        if len(calls) == 5:  # second batch, a middle layer
            raise Boom("in hook")
        return real(t)

    monkeypatch.setitem(steps.POOLERS, "avg", failing)
    with pytest.raises(Boom):
        study.distance_matrix()
    assert len(calls) == 5
    monkeypatch.setitem(steps.POOLERS, "avg", real)
    assert_model_unchanged(model, before)
    assert not study.cache_keys()
    assert_next_run_is_clean(study, clean)


def test_fault_in_a_users_own_hook(images, clean):
    model, _, study = faulted_study(images)

    def users_hook(module, args, out):
        if out.shape[0] == BATCH and users_hook.armed:
            raise Boom("in the user's hook")

    users_hook.armed = True
    handle = model.fc.register_forward_hook(users_hook)
    before = snapshot(model)
    with pytest.raises(Boom):
        study.activations()
    assert_model_unchanged(model, before)  # our hooks gone, the user's two still there
    users_hook.armed = False
    assert_next_run_is_clean(study, clean)
    handle.remove()


# ------------------------------------------------------------------ the persistence backend


@pytest.mark.parametrize("backend", ["ripser", "giotto-ph"])
def test_fault_inside_the_persistence_backend(images, clean, monkeypatch, backend):
    import gph
    import ripser

    model, before, study = faulted_study(images)
    real = {"ripser": ripser.ripser, "giotto-ph": gph.ripser_parallel}[backend]
    calls = []

    def third_fails(*args, **kwargs):  # two layers succeed, the third raises
        calls.append(1)
        if len(calls) == 3:
            raise Boom(f"inside {backend}")
        return real(*args, **kwargs)

    if backend == "ripser":
        monkeypatch.setattr(ripser, "ripser", third_fails)
    else:
        monkeypatch.setattr(gph, "ripser_parallel", third_fails)
    with pytest.raises(Boom):
        study.distance_matrix(backend=backend)
    assert len(calls) == 3
    kinds = [key[0] for key in study.cache_keys()]
    assert kinds.count("diagrams") == 2 and "distances" not in kinds
    monkeypatch.undo()
    assert_model_unchanged(model, before)
    # The two finished layers are complete and equal a clean run's (with this backend).
    clean.diagrams(backend=backend)
    assert_cache_complete(study, clean)
    np.testing.assert_array_equal(study.distance_matrix(backend=backend), clean.distance_matrix(backend=backend))
    assert_next_run_is_clean(study, clean)


# ------------------------------------------------------------------ interrupts from callbacks


def interrupt_at(step):
    def progress(done, total, message):
        if done == step:
            raise KeyboardInterrupt(f"at {done}/{total}: {message}")
    return progress


def test_keyboard_interrupt_mid_capture_from_progress(images, clean):
    model, before, study = faulted_study(images)
    with pytest.raises(KeyboardInterrupt):
        study.activations(progress=interrupt_at(2 * BATCH))  # after the second batch
    assert_model_unchanged(model, before)
    assert not study.cache_keys()
    assert_next_run_is_clean(study, clean)


@pytest.mark.parametrize("executor", [None, "threads"])
@pytest.mark.parametrize("stage, step", [("persistence", 2), ("distances", 4 + 2)])
def test_keyboard_interrupt_mid_study(images, clean, stage, step, executor):
    """Interrupted from the progress callback of Study.distance_matrix: total is 4 layers of
    persistence, then 6 pairs of distances."""
    model, before, study = faulted_study(images)
    pool = ThreadPoolExecutor(max_workers=2) if executor == "threads" else None
    study.executor = pool
    try:
        with pytest.raises(KeyboardInterrupt, match=f"at {step}/10"):
            study.distance_matrix(progress=interrupt_at(step))
    finally:
        if pool is not None:
            pool.shutdown(wait=True)
    study.executor = None
    assert_model_unchanged(model, before)
    kinds = [key[0] for key in study.cache_keys()]
    assert "distances" not in kinds
    if executor is None:
        assert kinds.count("diagrams") == (2 if stage == "persistence" else 4)
    assert_cache_complete(study, clean)
    assert_next_run_is_clean(study, clean)


def test_keyboard_interrupt_mid_cka(images, clean):
    model, before, study = faulted_study(images)
    with pytest.raises(KeyboardInterrupt):
        study.cka(progress=interrupt_at(1))
    assert_model_unchanged(model, before)
    assert "cka" not in [key[0] for key in study.cache_keys()]
    assert_cache_complete(study, clean)
    assert_next_run_is_clean(study, clean)


def test_cancel_mid_capture_then_resume(images, clean):
    model, before, study = faulted_study(images)
    cancel = threading.Event()

    def progress(done, total, message):
        if done == BATCH:
            cancel.set()

    with pytest.raises(Cancelled):
        study.activations(progress=progress, cancel=cancel)
    assert_model_unchanged(model, before)
    assert not study.cache_keys()
    assert_next_run_is_clean(study, clean)


def test_cached_results_cannot_be_corrupted_by_the_caller(images, clean):
    """Arrays handed out by a Study are the user's to edit: editing them must not change what
    the next call returns (a silent way to lose the cache's correctness)."""
    _, _, study = faulted_study(images)
    matrix = study.distance_matrix()
    matrix[0, 1] = -1.0
    acts = study.activations(["fc"])["fc"]
    try:
        acts *= 0.0
    except ValueError:  # read-only arrays are an acceptable protection too
        pass
    cloud = study.cloud("fc", CloudSpec())
    try:
        cloud.points[:] = 0.0
    except ValueError:
        pass
    assert_next_run_is_clean(study, clean)
