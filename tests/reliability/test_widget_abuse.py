"""Widget abuse (issue 8, part 4): rapid slider changes, cancel in every stage, closing.

- 20 slider moves in a row on each explorer end with the figure of the LAST setting (checked
  against an independent reference: direct ripser, a clean Study, a direct mapper_graph call),
  with results applied in submission order and the last one applied by the newest job, no job
  thread left, never two jobs computing at once, no exception (in the widget or any thread).
- Cancel (the Cancel button) while each stage runs (capture, clouds, persistence, distances,
  CKA, mapper): the widget says "cancelled", its figure is untouched, every cache entry equals
  a clean run's, and the next computation works.
- Closing a widget while it computes stops the work, applies nothing and raises nowhere.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import ripser

import tda_widgets.engine.steps as steps  # the study's steps: faults are injected here
from tda_widgets.compute import CloudSpec, Study
from tda_widgets.topology.mapper import mapper_graph
from tda_widgets.topology.scaling import rescale_points
from tda_widgets.widgets import Dashboard, LayerDistanceExplorer, MapperExplorer, PersistenceExplorer

from . import LAYERS, TinyCNN, tiny_images

N_IMAGES = 40
pytestmark = pytest.mark.usefixtures("thread_errors")  # tests/reliability/conftest.py


@pytest.fixture(scope="module")
def model():
    return TinyCNN().eval()


@pytest.fixture(scope="module")
def images():
    return tiny_images(N_IMAGES)


@pytest.fixture(scope="module")
def labels():
    return np.arange(N_IMAGES) % 3


@pytest.fixture
def study(model, images, labels):
    return Study(model, images, labels, LAYERS, class_names=["a", "b", "c"])


def job_threads():
    return [t for t in threading.enumerate() if t.name.startswith("tda-widgets-job-") and t.is_alive()]


def trace(fig, name):
    return next(t for t in fig.data if t.name == name)


class Recorder:
    """Wraps a widget's job runner: which generation applied a result, and how many jobs were
    computing at the same time."""

    def __init__(self, widget, study, monkeypatch):
        self.applied, self.running, self.max_running, self.submitted = [], 0, 0, 0
        self._lock = threading.Lock()
        runner = widget.jobs
        real_submit = runner.submit

        def submit(work, apply, label="computing"):
            generation = runner.generation + 1  # submits come from this (the main) thread only

            def counted_work(progress, cancel):
                with self._lock:
                    self.running += 1
                    self.max_running = max(self.max_running, self.running)
                try:
                    time.sleep(0.005)  # a slower computation: the next moves arrive while it runs
                    return work(progress, cancel)
                finally:
                    with self._lock:
                        self.running -= 1

            def tagged_apply(result):
                self.applied.append(generation)
                apply(result)

            self.submitted += 1
            return real_submit(counted_work, tagged_apply, label)

        monkeypatch.setattr(runner, "submit", submit)

    def check(self, widget):
        widget.wait(120)
        assert not widget.jobs.busy and not job_threads(), "a background job is still running"
        assert self.max_running == 1, f"{self.max_running} jobs computed at the same time"
        assert self.submitted >= 21 and 1 <= len(self.applied) < self.submitted, \
            f"{len(self.applied)} of {self.submitted} jobs applied: superseded jobs showed stale results (or never overlapped)"
        assert self.applied == sorted(set(self.applied)), f"results applied out of order: {self.applied}"
        assert self.applied[-1] == widget.jobs.generation, "the last result shown is not the newest job's"
        assert widget.state == "done", widget.status
        assert widget.jobs.last_error is None


def reference_diagrams(study_args, layer, max_points):
    """Independent reference: a fresh Study's cloud, rescaled, through ripser directly."""
    cloud = Study(*study_args).cloud(layer, CloudSpec(max_points=max_points))
    scaled, _ = rescale_points(cloud.points, "median")
    return ripser.ripser(scaled, maxdim=1)["dgms"]


# ------------------------------------------------------------------ 20 quick changes


def test_persistence_explorer_twenty_slider_moves(study, model, images, labels, monkeypatch):
    w = PersistenceExplorer(study=study, layer="block1", max_points=20, maxdim=1, autostart=False)
    rec = Recorder(w, study, monkeypatch)
    w.recompute()
    settings = [(k % len(LAYERS), 20 + 10 * (k % 3)) for k in range(1, 21)]
    for layer_index, points in settings:  # the controls a user drags
        w.layer_slider.value = LAYERS[layer_index]
        w.points_slider.value = points
    rec.check(w)
    layer, points = LAYERS[settings[-1][0]], settings[-1][1]
    assert (w.layer, w.max_points) == (layer, points)
    assert w.cloud_.layer == layer and w.cloud_.n_points == points
    title = w.diagram_fig.layout.title.text
    assert title.startswith(f"{layer} ·") and f"{points} points" in title
    ref = reference_diagrams((model, images, labels, LAYERS), layer, points)
    assert len(trace(w.diagram_fig, "H0").x) == len(ref[0])
    np.testing.assert_allclose(sorted(trace(w.diagram_fig, "H1").x), sorted(ref[1][:, 0]), atol=1e-9)
    np.testing.assert_allclose(sorted(trace(w.diagram_fig, "H1").y), sorted(ref[1][:, 1]), atol=1e-9)


def test_twenty_moves_when_the_computation_ignores_cancel(study, monkeypatch):
    """Like a long library call that never checks the cancel event: every superseded job runs
    to its end, and the job runner alone must drop its result."""
    real_cloud, real_diagrams = study.cloud, study.diagrams
    monkeypatch.setattr(study, "cloud", lambda *a, cancel=None, **k: real_cloud(*a, **k))
    monkeypatch.setattr(study, "diagrams", lambda *a, cancel=None, **k: real_diagrams(*a, **k))
    w = PersistenceExplorer(study=study, layer="fc", max_points=20, autostart=False)
    rec = Recorder(w, study, monkeypatch)
    w.recompute()
    for k in range(20):
        w.points_slider.value = 40 - 10 * (k % 3)  # ..., 20, 40, 30, 20, 40: ends on 30
    rec.check(w)
    assert w.cloud_.n_points == 30 and len(trace(w.diagram_fig, "H0").x) == 30


def test_layer_distance_explorer_twenty_changes(study, model, images, labels, monkeypatch):
    w = LayerDistanceExplorer(study=study, max_points=20, autostart=False)
    rec = Recorder(w, study, monkeypatch)
    w.recompute()
    metrics = ["bottleneck", "wasserstein-1", "sliced-wasserstein", "wasserstein-2"]
    for k in range(20):
        w.metric_dropdown.value = metrics[k % 4]
        w.points_slider.value = 20 + 10 * (k % 2)
    rec.check(w)
    assert (w.metric, w.max_points) == ("wasserstein-2", 30)
    ref = Study(model, images, labels, LAYERS).distance_matrix(spec=CloudSpec(max_points=30), metric="wasserstein-2")
    np.testing.assert_allclose(np.asarray(trace(w.heatmap_fig, "ph").z, dtype=float), ref, rtol=1e-12, atol=1e-12)
    assert "wasserstein" in w.heatmap_fig.layout.title.text.lower()


def test_mapper_explorer_twenty_slider_moves(study, monkeypatch):
    w = MapperExplorer(study=study, layer="fc", max_points=40, n_cubes=3, overlap=0.4, show_all_layers=False,
                       autostart=False)
    rec = Recorder(w, study, monkeypatch)
    w.recompute()
    for n_cubes in list(range(2, 12)) + list(range(12, 2, -1)):  # 20 moves, ending on 3
        w.cubes_slider.value = n_cubes
    rec.check(w)
    graph = w.graphs_["fc"]
    assert graph.params["n_cubes"] == 3
    cloud = study.cloud("fc", w.spec)
    ref = mapper_graph(cloud.points, labels=study.labels[cloud.image_index], image_index=cloud.image_index,
                       lens="pca", n_cubes=3, overlap=0.4, min_samples=3)
    assert len(trace(w.main_fig, "nodes").x) == len(ref.nodes) == len(graph.nodes)
    assert sorted(n.size for n in graph.nodes) == sorted(n.size for n in ref.nodes)
    assert w.main_fig.layout.title.text.startswith(f"fc · {len(ref.nodes)} nodes")


# ------------------------------------------------------------------ cancel in every stage

STAGES = {
    # stage: (the function of tda_widgets.engine.steps that runs it, the explorer that reaches it)
    "capture": ("capture_activations", PersistenceExplorer),
    "clouds": ("make_cloud", PersistenceExplorer),
    "persistence": ("persistence", PersistenceExplorer),
    "distances": ("layer_distance_matrix", LayerDistanceExplorer),
    "cka": ("cka_matrix", LayerDistanceExplorer),
    "mapper": ("mapper_graph", MapperExplorer),
}


def make_explorer(cls, study):
    kwargs = dict(study=study, autostart=False)
    if cls is MapperExplorer:
        kwargs.update(layer="fc", max_points=40, show_all_layers=False)
    elif cls is PersistenceExplorer:
        kwargs.update(layer="block2", max_points=30)
    else:
        kwargs.update(max_points=30)
    return cls(**kwargs)


def figures_of(w):
    figs = {"PersistenceExplorer": ("diagram_fig", "barcode_fig"), "LayerDistanceExplorer": ("heatmap_fig",),
            "MapperExplorer": ("main_fig",)}[type(w).__name__]
    return {name: getattr(w, name).to_json() for name in figs}


def block(monkeypatch, function_name):
    """Make one stage wait until released; returns (entered, release)."""
    entered, release = threading.Event(), threading.Event()
    real = getattr(steps, function_name)

    def blocking(*args, **kwargs):
        entered.set()
        assert release.wait(30), "the test never released the stage"
        return real(*args, **kwargs)

    monkeypatch.setattr(steps, function_name, blocking)
    return entered, release


def assert_cache_matches_a_clean_run(study, model, images, labels):
    clean = Study(model, images, labels, LAYERS, class_names=["a", "b", "c"])
    for key in study.cache_keys():
        kind, layer = key[0], key[3] if len(key) > 3 else None
        value = study._get(key)
        if kind == "activations":
            expected = clean.activations([layer], reduce=key[4])[layer]
            np.testing.assert_array_equal(value, expected)
        elif kind == "cloud":
            np.testing.assert_array_equal(value.points, clean.cloud(layer, key[4]).points)
        elif kind == "diagrams":
            spec, scale, maxdim, backend, reps = key[4:9]
            expected = clean.diagrams([layer], spec, maxdim=maxdim, scale=scale, backend=backend,
                                      representatives=reps)[layer]
            for got, want in zip(value.diagrams, expected.diagrams, strict=True):
                np.testing.assert_array_equal(got, want)
        elif kind == "distances":
            spec, scale, maxdim, backend, metric, dims, infinite = key[4:11]
            np.testing.assert_array_equal(value, clean.distance_matrix(list(key[3]), spec, metric=metric, dims=dims,
                                                                       maxdim=maxdim, scale=scale, backend=backend,
                                                                       infinite=infinite))
        elif kind == "cka":
            backend = {"backend": key[6]} if len(key) > 6 else {}
            np.testing.assert_array_equal(value, clean.cka(list(key[3]), kernel=key[4], debiased=key[5], **backend))
        elif kind == "mapper":
            spec, lens, n_cubes, overlap, _, eps, min_samples = key[4:11]
            expected = clean.mapper(layer, spec, lens=lens, n_cubes=n_cubes, overlap=overlap, eps=eps,
                                    min_samples=min_samples)
            assert [n.members.tolist() for n in value.nodes] == [n.members.tolist() for n in expected.nodes]


@pytest.mark.parametrize("stage", list(STAGES))
def test_cancel_during_every_stage(stage, study, model, images, labels, monkeypatch):
    function_name, cls = STAGES[stage]
    if stage == "cka":  # reach CKA with the distances already cached
        study.distance_matrix(spec=CloudSpec(max_points=30))
    w = make_explorer(cls, study)
    before = figures_of(w)
    keys_before = set(study.cache_keys())  # e.g. the outputs captured for the thumbnails' captions
    entered, release = block(monkeypatch, function_name)
    w.recompute()
    assert entered.wait(30), f"the {stage} stage never started"
    assert w.state == "running" and not w.cancel_button.disabled
    w.cancel_button.click()  # the button itself
    release.set()
    w.wait(60)
    assert w.state == "cancelled", (w.state, w.status)
    assert "Cancelled" in w.status_label.value
    assert w.cancel_button.disabled and not job_threads()
    assert figures_of(w) == before, "a cancelled run changed the figure"
    monkeypatch.undo()
    # A stage that takes the cancel event stops inside and stores nothing; the others finish
    # their (complete) result, which may be kept, and the run stops at the next check.
    cancelled_kind = {"capture": "activations", "distances": "distances", "cka": "cka"}.get(stage)
    if cancelled_kind is not None:
        assert cancelled_kind not in [key[0] for key in set(study.cache_keys()) - keys_before]
    assert_cache_matches_a_clean_run(study, model, images, labels)

    # Usable afterwards: the next computation finishes and shows this setting.
    w.recompute()
    w.wait(120)
    assert w.state == "done", w.status
    assert figures_of(w) != before
    if cls is PersistenceExplorer:
        ref = reference_diagrams((model, images, labels, LAYERS), "block2", 30)
        assert len(trace(w.diagram_fig, "H0").x) == len(ref[0]) == 30
        np.testing.assert_allclose(sorted(trace(w.diagram_fig, "H1").x), sorted(ref[1][:, 0]), atol=1e-9)
    elif cls is LayerDistanceExplorer:
        ref = Study(model, images, labels, LAYERS).distance_matrix(spec=CloudSpec(max_points=30))
        np.testing.assert_allclose(np.asarray(trace(w.heatmap_fig, "ph").z, dtype=float), ref, atol=1e-12)
    else:
        assert len(trace(w.main_fig, "nodes").x) == len(w.graphs_["fc"].nodes) > 0


def test_an_error_in_a_stage_is_shown_and_the_widget_recovers(study, monkeypatch):
    w = make_explorer(PersistenceExplorer, study)
    before = figures_of(w)

    def broken(*args, **kwargs):
        raise RuntimeError("backend crashed")

    monkeypatch.setattr(steps, "persistence", broken)
    w.recompute()
    w.wait(60)
    assert w.state == "error" and "backend crashed" in w.status_label.value
    assert figures_of(w) == before
    monkeypatch.undo()
    w.recompute()
    w.wait(60)
    assert w.state == "done" and w.status_label.value == ""
    assert len(trace(w.diagram_fig, "H0").x) == 30


# ------------------------------------------------------------------ closing


@pytest.mark.parametrize("cls, stage", [(PersistenceExplorer, "persistence"), (LayerDistanceExplorer, "distances"),
                                        (MapperExplorer, "mapper")])
def test_closing_a_widget_stops_its_work(cls, stage, study, monkeypatch):
    w = make_explorer(cls, study)
    applied = []
    real_submit = w.jobs.submit
    monkeypatch.setattr(w.jobs, "submit", lambda work, apply, label="": real_submit(
        work, lambda result: (applied.append(1), apply(result)), label))
    entered, release = block(monkeypatch, STAGES[stage][0])
    w.recompute()
    assert entered.wait(30)
    w.close()
    release.set()
    w.jobs.wait(60)  # raises TimeoutError if the work did not stop
    assert not job_threads()
    assert applied == [], "a closed widget applied a result"
    assert w.state in ("cancelled", "running")  # never "error"


def test_closing_the_dashboard_stops_every_explorer(study, monkeypatch):
    d = Dashboard(study=study, max_points=30)
    d.persistence.wait(60)
    entered, release = block(monkeypatch, "layer_distance_matrix")
    explorer = d.distances  # opening the tab starts its computation
    assert entered.wait(30)
    d.close()
    release.set()
    explorer.jobs.wait(60)
    assert explorer.state == "cancelled"
    assert not job_threads()
