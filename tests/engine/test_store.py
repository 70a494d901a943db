"""The optional on-disk store: a second session reuses finished diagrams without a forward pass;
a corrupt, foreign or stale file is ignored and recomputed, never trusted (issue 11)."""

import copy

import numpy as np
import pytest
import torch

from tda_widgets import Study, load_demo
from tda_widgets.clouds import CloudSpec
from tda_widgets.errors import TDAInputError

LAYERS = ["block1", "block2", "fc1"]
SPEC = CloudSpec(max_points=60)


@pytest.fixture(scope="module")
def demo():
    return load_demo(n_images=80)


def _same(a, b):
    return all(np.array_equal(x, y) for x, y in zip(a.diagrams, b.diagrams)) and len(a.diagrams) == len(b.diagrams)


def test_a_second_session_reuses_the_diagrams_without_capturing(demo, tmp_path):
    first = Study(demo.model, demo.images, demo.labels, LAYERS, store=tmp_path)
    reference = first.diagrams(spec=SPEC)
    assert len(list(tmp_path.glob("*.npz"))) == len(LAYERS) and first.store.stats["writes"] == len(LAYERS)

    second = Study(demo.model, demo.images, demo.labels, LAYERS, store=tmp_path)
    again = second.diagrams(spec=SPEC)
    assert all(_same(again[layer], reference[layer]) for layer in LAYERS)
    assert second.stats["captures"] == 0 and second.stats["persistence"] == 0
    assert second.store.stats["hits"] == len(LAYERS)
    # the distances from stored diagrams equal those of a study without a store
    plain = Study(demo.model, demo.images, demo.labels, LAYERS)
    assert np.array_equal(second.distance_matrix(spec=SPEC), plain.distance_matrix(spec=SPEC))


def test_corrupt_and_foreign_files_are_recomputed_not_trusted(demo, tmp_path):
    first = Study(demo.model, demo.images, demo.labels, LAYERS, store=tmp_path)
    reference = first.diagrams(spec=SPEC)
    paths = {layer: first.store._path(first._key("diagrams", layer, SPEC, "median", 1, "auto", False))
             for layer in LAYERS}
    assert all(p.exists() for p in paths.values())
    paths["block1"].write_bytes(b"not an npz file")                       # corrupt
    paths["fc1"].write_bytes(paths["block2"].read_bytes())               # foreign: another layer's entry

    second = Study(demo.model, demo.images, demo.labels, LAYERS, store=tmp_path)
    again = second.diagrams(spec=SPEC)
    assert all(_same(again[layer], reference[layer]) for layer in LAYERS)
    assert second.store.stats["rejected"] == 2 and second.stats["persistence"] == 2
    # ...and the files were rewritten correctly
    third = Study(demo.model, demo.images, demo.labels, LAYERS, store=tmp_path)
    third.diagrams(spec=SPEC)
    assert third.store.stats["hits"] == len(LAYERS) and third.stats["persistence"] == 0


def test_a_changed_model_does_not_read_the_old_diagrams(demo, tmp_path):
    Study(demo.model, demo.images, demo.labels, LAYERS, store=tmp_path).diagrams(spec=SPEC)
    changed = copy.deepcopy(demo.model)
    with torch.no_grad():
        next(changed.parameters()).mul_(1.5)
    study = Study(changed, demo.images, demo.labels, LAYERS, store=tmp_path)
    study.diagrams(spec=SPEC)
    assert study.store.stats["hits"] == 0 and study.stats["persistence"] == len(LAYERS)


def test_a_bad_store_is_named(demo, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(TDAInputError, match="'store' parameter must be a directory"):
        Study(demo.model, demo.images, demo.labels, LAYERS, store=blocker / "sub")
