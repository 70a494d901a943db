"""The embedded shapes example: deterministic images, a class hierarchy, shipped weights that work."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tda_widgets import TDAInputError, load_demo
from tda_widgets.data.shapes import (SHAPE_CLASSES, SHAPE_GROUPS, SHAPES_N_IMAGES, ShapesCNN, load_shapes_cnn,
                                     make_shapes, shapes_split)

#: The held-out accuracy the shipped weights reach (measured 0.978 when they were made).
STATED_ACCURACY = 0.95


def test_images_are_deterministic_and_seeded():
    a_images, a_labels = make_shapes(60, seed=3)
    b_images, b_labels = make_shapes(60, seed=3)
    assert np.array_equal(a_images, b_images) and np.array_equal(a_labels, b_labels)
    c_images, _ = make_shapes(60, seed=4)
    assert not np.allclose(a_images, c_images)
    assert a_images.dtype == np.float32 and a_images.shape == (60, 1, 16, 16)
    assert a_images.min() >= 0.0 and a_images.max() <= 1.0


def test_classes_are_balanced_and_fall_into_two_groups():
    _, labels = make_shapes(SHAPES_N_IMAGES)
    assert np.array_equal(np.bincount(labels), np.full(6, SHAPES_N_IMAGES // 6))
    assert set(SHAPE_GROUPS) == set(range(len(SHAPE_CLASSES)))
    assert sorted(SHAPE_GROUPS.values()).count("round") == 3
    split = shapes_split()
    assert len(np.intersect1d(split["train"], split["test"])) == 0
    assert len(split["train"]) + len(split["test"]) == SHAPES_N_IMAGES
    assert np.array_equal(np.bincount(labels[split["test"]]), np.full(6, 75))   # stratified


def test_drawn_shapes_have_their_areas():
    """A disk of radius r covers about pi r^2 pixels, a square of half-side h 4 h^2 (closed forms),
    read from the bright pixels of the images (noise sd 0.08 stays far below half the brightness)."""
    images, labels = make_shapes(120, seed=1)
    bright = (images[:, 0] > 0.4).sum(axis=(1, 2))
    disks, squares = bright[labels == 0], bright[labels == 3]
    # sizes are uniform in [4, 6.5]: pi r^2 in [50, 133]; (2 * 0.85 r)^2 in [46, 122]
    assert 45 <= disks.min() and disks.max() <= 140
    assert 40 <= squares.min() and squares.max() <= 130
    # a plus covers less than the disk of the same size would
    assert bright[labels == 5].mean() < disks.mean()


def test_shipped_weights_reach_the_stated_held_out_accuracy():
    model = load_shapes_cnn()
    images, labels = make_shapes(SHAPES_N_IMAGES, seed=0)
    test = shapes_split()["test"]
    with torch.no_grad():
        predicted = model(torch.from_numpy(images[test])).argmax(dim=1).numpy()
    accuracy = float(np.mean(predicted == labels[test]))
    assert accuracy >= STATED_ACCURACY, accuracy
    # fresh images (another seed) that the model never saw: the same skill
    fresh, fresh_labels = make_shapes(300, seed=99)
    with torch.no_grad():
        fresh_accuracy = float(np.mean(model(torch.from_numpy(fresh)).argmax(dim=1).numpy() == fresh_labels))
    assert fresh_accuracy >= STATED_ACCURACY - 0.03, fresh_accuracy


def test_training_is_deterministic():
    from tda_widgets.data.train_shapes import train

    a, _ = train(epochs=1, seed=5)
    b, _ = train(epochs=1, seed=5)
    for (name, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items()):
        assert torch.equal(x, y), name


def test_load_demo_shapes_and_the_default_unchanged():
    demo = load_demo(dataset="shapes")
    assert isinstance(demo.model, ShapesCNN) and not demo.model.training
    assert demo.images.shape == (450, 1, 16, 16) and demo.class_names == list(SHAPE_CLASSES)
    assert demo.class_groups == SHAPE_GROUPS and demo.layers == ("block1", "block2", "block3", "fc1", "head")
    images, labels = make_shapes(SHAPES_N_IMAGES)
    assert np.array_equal(demo.images.numpy(), images[demo.indices])
    assert np.array_equal(demo.labels, labels[demo.indices])
    assert demo.test_images.shape == (450, 1, 16, 16)
    small = load_demo(n_images=60, dataset="shapes")
    assert np.array_equal(np.bincount(small.labels), np.full(6, 10))

    digits = load_demo()
    assert digits.class_groups is None and digits.dataset == "digits"
    assert repr(digits).startswith("DemoData(model=DigitsCNN")
    with pytest.raises(TDAInputError, match="'dataset' parameter of load_demo"):
        load_demo(dataset="cifar")
