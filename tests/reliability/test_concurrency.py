"""Several explorers on one model at once (issue 16): never fail, never mix activations.

Each check runs 20 times. References are independent of capture: a layer's activations are
recomputed by calling the model's sub-modules directly, and the explorers' results are compared
with a clean single-threaded Study.

- Two threads capturing from one model (left in *train* mode, so a capture that restored the
  mode under another one's feet would run BatchNorm on batch statistics and change its buffers)
  each get exactly their own activations; the model is bit-identical afterwards, no hook left.
  Without the per-model lock this fails.
- A user's own forward passes on another thread while a capture runs are never recorded by the
  capture's hooks. Without the thread check this fails ("ran more than once", or wrong rows).
- Three explorers and a Dashboard with every tab computing, all started at once on one model:
  no error shown, every result equal to a clean Study's, no hook left.
- A module really reused in one forward pass is still refused, with the reuse message.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import torch
from torch import nn

from tda_widgets.capture import capture_activations, model_lock
from tda_widgets.compute import CloudSpec, Study
from tda_widgets.errors import Cancelled, TDAInputError
from tda_widgets.widgets import Dashboard, MapperExplorer, PersistenceExplorer

from . import LAYERS, TinyCNN, assert_model_unchanged, assert_no_hooks, snapshot, tiny_images

ROUNDS = 20
pytestmark = pytest.mark.usefixtures("thread_errors")  # tests/reliability/conftest.py


class SlowCNN(TinyCNN):
    """TinyCNN whose forward pass sleeps between blocks (releasing the GIL), so that two
    threads' forward passes overlap in every round."""

    def forward(self, x):
        x = self.block1(x)
        time.sleep(0.002)
        x = self.block2(x)
        time.sleep(0.002)
        return self.head(self.fc(self.flatten(x)))


def direct_activations(model: TinyCNN, x: torch.Tensor) -> dict[str, np.ndarray]:
    """The reference: the sub-modules called one by one in eval mode (not through hooks)."""
    flags = [(m, m.training) for m in model.modules()]
    try:
        model.eval()
        with torch.no_grad():
            b1 = model.block1(x)
            b2 = model.block2(b1)
            fc = model.fc(model.flatten(b2))
            head = model.head(fc)
    finally:
        for m, flag in flags:
            m.training = flag
    return {"block1": b1.numpy(), "block2": b2.numpy(), "fc": fc.numpy(), "head": head.numpy()}


def test_two_threads_capturing_from_one_model_get_their_own_activations():
    model = SlowCNN().train()  # train mode: a mode restored too early would show
    # the second capture starts a little later and runs longer, so without the lock it would
    # start after the first switched to eval mode and still run after the first restored train
    inputs = [tiny_images(8, seed=10), tiny_images(24, seed=11)]
    references = [direct_activations(model, x) for x in inputs]
    before = snapshot(model)
    for round_ in range(ROUNDS):
        barrier = threading.Barrier(2)
        results: list = [None, None]

        def run(k):
            barrier.wait()
            if k == 1:
                time.sleep(0.001 * (round_ % 5))
            try:
                results[k] = capture_activations(model, inputs[k], LAYERS, batch_size=4)
            except Exception as exc:  # reported below, with the round
                results[k] = exc

        threads = [threading.Thread(target=run, args=(k,)) for k in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        for k in range(2):
            assert not isinstance(results[k], Exception), results[k]
            for layer in LAYERS:
                np.testing.assert_array_equal(results[k][layer], references[k][layer], err_msg=layer)
        assert_model_unchanged(model, before)
        assert_no_hooks(model)


def test_a_users_forward_passes_on_another_thread_are_not_recorded():
    model = SlowCNN().eval()
    mine, theirs = tiny_images(12, seed=20), tiny_images(5, seed=21)
    reference = direct_activations(model, mine)
    for _ in range(ROUNDS):
        stop = threading.Event()

        def user():  # the user's own code, running the model in a thread of theirs
            with torch.no_grad():
                while not stop.is_set():
                    model(theirs)

        thread = threading.Thread(target=user)
        thread.start()
        try:
            time.sleep(0.003)
            acts = capture_activations(model, mine, LAYERS, batch_size=3)
        finally:
            stop.set()
            thread.join(30)
        for layer in LAYERS:
            np.testing.assert_array_equal(acts[layer], reference[layer], err_msg=layer)
        assert_no_hooks(model)


def test_a_capture_waiting_for_the_model_reports_it_and_can_be_cancelled():
    model = TinyCNN().eval()
    cancel, messages = threading.Event(), []
    held, release = threading.Event(), threading.Event()

    def someone_else():  # another thread is running the model
        with model_lock(model):
            held.set()
            release.wait(30)

    holder = threading.Thread(target=someone_else)
    holder.start()
    held.wait(30)
    threading.Timer(0.2, cancel.set).start()
    started = time.monotonic()
    try:
        with pytest.raises(Cancelled, match="waiting for the model"):
            capture_activations(model, tiny_images(4), ["fc"], cancel=cancel,
                                progress=lambda done, total, message: messages.append(message))
    finally:
        release.set()
        holder.join(30)
    assert time.monotonic() - started < 5
    assert messages == ["waiting for another capture on this model"]
    assert_no_hooks(model)
    capture_activations(model, tiny_images(4), ["fc"])  # the lock was released


def test_a_module_really_reused_is_still_refused_with_the_reuse_message():
    relu = nn.ReLU()
    model = nn.Sequential(nn.Linear(4, 4), relu, nn.Linear(4, 4), relu)
    with pytest.raises(TDAInputError, match="ran more than once in one forward pass"):
        capture_activations(model, torch.randn(3, 4), ["1"])
    assert_no_hooks(model)


N_IMAGES = 40


@pytest.mark.slow
def test_explorers_and_a_dashboard_started_at_once_on_one_model_equal_a_clean_study():
    """Two explorers and a Dashboard with all three tabs opened at once: five explorers, three
    Studies capturing from one model, persistence of every layer in two of them (~5 s a round)."""
    model = SlowCNN().eval()
    images, labels = tiny_images(N_IMAGES, seed=30), np.arange(N_IMAGES) % 3
    before = snapshot(model)
    clean = Study(model, images, labels, LAYERS)
    spec_p, spec_m, spec_d = CloudSpec(max_points=30), CloudSpec(max_points=40), CloudSpec(max_points=25)
    want_diagrams = clean.diagrams(["block2"], spec_p)["block2"].diagrams
    # the MapperExplorer's defaults are Study.mapper's (one declaration: MapperSpec)
    want_mapper = sorted(n.size for n in clean.mapper("fc", spec_m).nodes)
    want_dash_mapper = sorted(n.size for n in clean.mapper(LAYERS[0], spec_d).nodes)
    want_distances = clean.distance_matrix(spec=spec_d, metric="bottleneck")
    common = dict(labels=labels, layers=list(LAYERS))
    for round_ in range(ROUNDS):
        pe = PersistenceExplorer(model, images, **common, layer="block2", max_points=30)
        me = MapperExplorer(model, images, **common, layer="fc", max_points=40, show_all_layers=False)
        dashboard = Dashboard(model, images, **common, max_points=25, show_all_layers=False)
        dashboard.selected_index = 1
        dashboard.selected_index = 2  # every tab computing at once, on one shared Study
        everything = [pe, me] + dashboard.explorers
        for explorer in everything:
            explorer.wait(120)
        errors = [(type(e).__name__, e.status) for e in everything if e.state != "done"]
        assert not errors, f"round {round_}: {errors}"
        for dim, want in enumerate(want_diagrams):
            np.testing.assert_array_equal(pe.result_.diagrams[dim], want)
        assert sorted(n.size for n in me.graphs_["fc"].nodes) == want_mapper
        d_pe, d_de, d_me = dashboard.explorers
        np.testing.assert_array_equal(d_de.result_["ph"], want_distances)
        assert sorted(n.size for n in d_me.graphs_[d_me.layer].nodes) == want_dash_mapper
        assert d_pe.result_ is not None and d_pe.state == "done"
        assert_no_hooks(model)
    assert_model_unchanged(model, before)


GIOTTO_FROM_FOUR_THREADS = """
import threading, numpy as np, ripser
from tda_widgets.topology.persistence import persistence
rng = np.random.default_rng(0)
clouds = [rng.normal(size=(60, 8)) for _ in range(8)]
got = {}
def run(k):  # the threads make giotto-ph's first calls in this process (where it hung)
    for i in range(20):
        j = (k + i) % 8
        got.setdefault(j, []).append(persistence(clouds[j], maxdim=1, backend="giotto-ph").diagrams)
threads = [threading.Thread(target=run, args=(k,)) for k in range(4)]
[t.start() for t in threads]; [t.join() for t in threads]
want = [persistence(c, maxdim=1, backend="giotto-ph").diagrams for c in clouds]  # one at a time
rows = lambda d: d[np.lexsort((d[:, 1], d[:, 0]))]
ref = [ripser.ripser(c, maxdim=1)["dgms"] for c in clouds]
assert all(np.allclose(rows(a), rows(b), atol=1e-5) for w, r in zip(want, ref) for a, b in zip(w, r))
bad = [j for j, runs in got.items() for diagrams in runs
       if not all(np.array_equal(a, b) for a, b in zip(diagrams, want[j]))]
print("runs", sum(map(len, got.values())), "bad", bad)
"""


def test_giotto_ph_from_four_threads_finishes_with_the_serial_results():
    """Regression: giotto-ph's ripser_parallel hung the process when two explorers computed
    persistence at once (uninterruptible, so it runs in a child process with a time limit)."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", GIOTTO_FROM_FOUR_THREADS], capture_output=True, text=True,
                          timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "runs 80 bad []"
