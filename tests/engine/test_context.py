"""Steps on a frozen context (issue 28): steps never write onto the Study or its context, the
Study is a façade of at most 150 lines, and the composite results (measures table,
sensitivity, cross-model matrix, thumbnails) are cached steps like the others."""

from __future__ import annotations

import dataclasses
import inspect

import numpy as np
import pytest

from tda_widgets import Study, load_demo
from tda_widgets.clouds import CloudSpec
from tda_widgets.engine.context import Context
from tda_widgets.topology import MapperSpec, mapper_graph

SPEC = CloudSpec(max_points=40)


@pytest.fixture(scope="module")
def demo():
    return load_demo(n_images=60)


@pytest.fixture()
def study(demo):
    return Study(demo.model, demo.images, demo.labels, ["block1", "block2", "fc1"])


def test_the_study_is_a_facade_of_at_most_150_lines():
    from tda_widgets.engine import study as module

    lines, _ = inspect.getsourcelines(module.Study)
    assert len(lines) <= 150
    assert "cache.put" not in "".join(lines) and "_key(" not in "".join(lines)  # no step logic in it


def test_the_context_is_frozen(study):
    with pytest.raises(dataclasses.FrozenInstanceError):
        study.context.cache = None


def test_steps_never_write_onto_the_study_or_its_context(study):
    before = dict(vars(study))
    fields = {f.name: getattr(study.context, f.name) for f in dataclasses.fields(Context)}
    study.compare(spec=SPEC)
    study.mapper("fc1", SPEC)
    study.measures_table(spec=SPEC, measures=["ph", "cka", "svcca"])
    study.sensitivity("fc1", SPEC, removed=[1])
    study.thumbnail_images(8)
    _ = study.batch_size  # a property that once memoised onto the study
    assert vars(study).keys() == before.keys()  # no private state written onto the study
    assert study.context is before["context"]
    for name, value in fields.items():
        assert getattr(study.context, name) is value, name


def test_setting_the_executor_makes_a_new_context_on_the_same_cache(study):
    old = study.context
    study.executor = None
    assert study.context is not old and study.context.cache is old.cache and study.context.stats is old.stats


def test_the_composite_results_are_cached_steps(study, demo):
    from tda_widgets.crossmodel import cross_model_matrix

    table = study.measures_table(spec=SPEC, measures=["ph", "cka", "svcca"])
    sens = study.sensitivity("fc1", SPEC, removed=[1])
    thumbs = study.thumbnail_images(8)
    other = Study(load_demo(n_images=60, seed=1).model, demo.images, demo.labels, ["block1", "block2", "fc1"])
    cross = cross_model_matrix(study, other, "cka")
    counts = dict(study.stats)
    assert counts["measures_tables"] == counts["sensitivity"] == counts["thumbnails"] == counts["cross_model"] == 1
    assert study.measures_table(spec=SPEC, measures=["ph", "cka", "svcca"]) is table
    assert study.sensitivity("fc1", SPEC, removed=[1]) is sens
    assert study.thumbnail_images(8) is thumbs
    np.testing.assert_array_equal(cross_model_matrix(study, other, "cka"), cross)
    assert dict(study.stats) == counts  # nothing recomputed
    kinds = {key[0] for key in study.cache_keys()}
    assert {"measures-table", "sensitivity", "thumbnails", "cross-model"} <= kinds


def test_mapper_takes_its_specs_end_to_end(study):
    # Study.mapper(layer, cloud=CloudSpec(...), mapper=MapperSpec(...)); the keywords are sugar
    spec = MapperSpec(lens="l2norm", n_cubes=6, overlap=0.4, min_samples=2)
    by_spec = study.mapper("fc1", cloud=SPEC, mapper=spec)
    by_keywords = study.mapper("fc1", SPEC, lens="l2norm", n_cubes=6, overlap=0.4, min_samples=2)
    assert by_spec is by_keywords  # one cache entry: the same spec
    sugar_over_spec = study.mapper("fc1", cloud=SPEC, mapper=spec, n_cubes=5)
    assert sugar_over_spec.params["n_cubes"] == 5 and sugar_over_spec.params["lens"] == "l2norm"
    # the numbers are kmapper's through mapper_graph on the same cloud (an independent call)
    cloud = study.cloud("fc1", SPEC)
    direct = mapper_graph(cloud.points, labels=study.labels[cloud.image_index], image_index=cloud.image_index,
                          **spec.kwargs())
    assert [n.members.tolist() for n in by_spec.nodes] == [n.members.tolist() for n in direct.nodes]


def test_an_argument_given_equal_to_its_default_wins_over_the_preset(demo):
    study = Study(demo.model, demo.images, demo.labels, ["block1", "block2", "fc1"], preset="ph")
    from tda_widgets.engine.study import Study as Same

    assert Same is Study
    left_out = study.compare(spec=SPEC)
    assert left_out.metric == "sliced-wasserstein" and left_out.dims == (1,)  # the preset's
    given = study.compare(spec=SPEC, metric="bottleneck", dims=(0, 1))
    assert given.metric == "bottleneck" and given.dims == (0, 1)  # given, though equal to the defaults


def test_the_checkpoint_grids_persistence_is_a_cached_step(demo, monkeypatch):
    from tda_widgets import checkpoint_grid, load_digits_checkpoints
    from tda_widgets.engine.cache import shared_cache
    import importlib

    from tda_widgets.topology.persistence import persistence

    module = importlib.import_module("tda_widgets.topology.persistence")

    calls = []
    real = module.rescaled_persistence
    monkeypatch.setattr(module, "rescaled_persistence", lambda *a, **k: calls.append(1) or real(*a, **k))
    checkpoints = load_digits_checkpoints()
    first = checkpoint_grid(demo.model, checkpoints, demo.images, ["fc1"], spec=SPEC)
    assert len(calls) == len(checkpoints)
    again = checkpoint_grid(demo.model, checkpoints, demo.images, ["fc1"], spec=SPEC)
    assert len(calls) == len(checkpoints)  # every cell came from the cache
    np.testing.assert_array_equal(again.consecutive, first.consecutive)
    assert any(key[0] == "checkpoint-diagrams" for key in shared_cache(demo.model).keys())
    # a cell's diagrams are ripser's on that checkpoint's own cloud, rescaled as the grid says
    from tda_widgets.topology.scaling import rescale_points

    label = first.checkpoints[-1]
    cloud = Study(checkpoints[label], demo.images, None, ["fc1"]).cloud("fc1", SPEC)
    scaled, _ = rescale_points(cloud.points, first.scale)
    expected = persistence(scaled, maxdim=first.maxdim)
    for got, want in zip(first.diagram("fc1", label).diagrams, expected.diagrams):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-9)
