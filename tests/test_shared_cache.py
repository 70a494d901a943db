"""Issue 17, 5: a second explorer on the same model shares the first one's cache, and never
reads results that belong to other images, labels or weights."""

import numpy as np
import pytest
import ripser
import torch

from tda_widgets import MapperExplorer, PersistenceExplorer, Study, load_demo
from tda_widgets.engine import ResultCache, reset_shared_caches, shared_cache
from tda_widgets.errors import TDAInputError
from tda_widgets.topology.scaling import rescale_points


@pytest.fixture(scope="module")
def demo():
    return load_demo(n_images=80)


def _persistence(demo, **kwargs):
    return PersistenceExplorer(demo.model, demo.images, labels=demo.labels, layer="fc1", max_points=60,
                               threaded=False, **kwargs)


def test_a_second_explorer_on_the_model_computes_nothing(demo):
    first = _persistence(demo)
    assert first.study.stats["captures"] >= 1 and first.study.stats["persistence"] == 1
    second = _persistence(demo)
    assert second.study is not first.study and second.study.cache is first.study.cache
    assert second.study.stats["persistence"] == 0 and second.study.stats["captures"] == 0
    # the same diagrams, and those of ripser on the same points
    for a, b in zip(first.result_.diagrams, second.result_.diagrams):
        np.testing.assert_array_equal(a, b)
    scaled, _ = rescale_points(np.asarray(second.cloud_.points, dtype=np.float64), second.scale)
    reference = ripser.ripser(scaled, maxdim=1)["dgms"]
    ours = second.result_.diagrams[1]
    assert len(ours) == len(reference[1])
    np.testing.assert_allclose(sorted(map(tuple, ours)), sorted(map(tuple, reference[1])), atol=1e-6)


def test_other_labels_are_not_read_from_the_shared_cache(demo):
    """A mapper node's classes come from the labels: explorers with other labels recompute."""
    kwargs = dict(layer="fc1", max_points=60, n_cubes=4, show_all_layers=False, threaded=False)
    first = MapperExplorer(demo.model, demo.images, labels=demo.labels, **kwargs)
    shifted = (np.asarray(demo.labels) + 1) % 10
    second = MapperExplorer(demo.model, demo.images, labels=shifted, **kwargs)
    assert second.study.cache is first.study.cache
    assert second.study.stats["mapper"] == 1  # computed again, not read
    for graph, labels in ((first.graphs_["fc1"], np.asarray(demo.labels)), (second.graphs_["fc1"], shifted)):
        cloud = first.study.cloud("fc1", first.spec)
        for node in graph.nodes:  # reference: the node's images' own labels, counted here
            images = cloud.image_index[node.members]
            want = {int(k): int(v) for k, v in zip(*np.unique(labels[images], return_counts=True))}
            assert {int(k): int(v) for k, v in node.class_counts.items()} == want


def test_changed_weights_are_not_read_from_the_shared_cache(demo):
    first = _persistence(demo)
    model = demo.model
    saved = {k: v.clone() for k, v in model.state_dict().items()}
    try:
        with torch.no_grad():
            for p in model.parameters():
                p.mul_(1.5)
        second = _persistence(demo)
        assert second.study.cache is first.study.cache
        assert second.study.stats["persistence"] == 1
        assert not np.array_equal(first.cloud_.points, second.cloud_.points)
    finally:
        model.load_state_dict(saved)


def test_explorers_on_other_models_keep_their_own_cache(demo):
    other = load_demo(n_images=80)  # the same weights in a new model object
    first, second = _persistence(demo), PersistenceExplorer(other.model, other.images, layer="fc1",
                                                            max_points=60, threaded=False)
    assert first.study.cache is shared_cache(demo.model) and second.study.cache is shared_cache(other.model)
    assert first.study.cache is not second.study.cache


def test_a_dataset_is_kept_alive_by_the_cache_that_holds_its_results(demo):
    """A Dataset is fingerprinted by its identity: the shared cache keeps it, so no later
    Dataset can take that identity while its results are there."""
    dataset = torch.utils.data.TensorDataset(demo.images[:40], torch.as_tensor(demo.labels[:40]))
    study = Study(demo.model, dataset, layers=["fc1"], cache=shared_cache(demo.model))
    assert not study._inputs_key.startswith("tensor:")
    assert any(value is dataset for value in shared_cache(demo.model)._pinned.values())


def test_a_study_takes_only_a_result_cache():
    demo = load_demo(n_images=20)
    with pytest.raises(TDAInputError, match="'cache' parameter of Study.*ResultCache"):
        Study(demo.model, demo.images, cache={})
    own = ResultCache(10_000)
    assert Study(demo.model, demo.images, cache=own).cache is own
    assert Study(demo.model, demo.images).cache is not shared_cache(demo.model)  # a Study alone: its own


def test_reset_gives_later_explorers_a_new_cache(demo):
    before = shared_cache(demo.model)
    reset_shared_caches()
    assert shared_cache(demo.model) is not before


def test_explorers_with_and_without_labels_share_what_does_not_read_labels(demo):
    """Diagrams do not depend on the labels: a labelled explorer after one without labels
    (the tour's distance explorer, then its dashboard) reads them."""
    first = PersistenceExplorer(demo.model, demo.images, layer="fc1", max_points=60, threaded=False)
    second = _persistence(demo)  # with labels
    assert second.study.stats["persistence"] == 0 and second.study.stats["captures"] == 0
    for a, b in zip(first.result_.diagrams, second.result_.diagrams):
        np.testing.assert_array_equal(a, b)
