"""The embedded default data and model: scikit-learn's digits and a small CNN, weights shipped;
and an example with a class hierarchy: synthetic shapes (round or angular) and their CNN.

Nothing here downloads anything. Loaders for torchvision datasets and checkpoints live in a
separate module so that this one does not import torchvision.
"""

from tda_widgets.data.digits import (
    DEMO_DATASETS,
    DEMO_LAYERS,
    DemoData,
    DigitsCNN,
    digits_split,
    load_demo,
    load_digits_checkpoints,
    load_digits_cnn,
    load_digits_tensors,
)
from tda_widgets.data.shapes import SHAPE_CLASSES, SHAPE_GROUPS, ShapesCNN, load_shapes_cnn, make_shapes

__all__ = [
    "DEMO_DATASETS",
    "DEMO_LAYERS",
    "SHAPE_CLASSES",
    "SHAPE_GROUPS",
    "ShapesCNN",
    "load_shapes_cnn",
    "make_shapes",
    "DemoData",
    "DigitsCNN",
    "digits_split",
    "load_demo",
    "load_digits_checkpoints",
    "load_digits_cnn",
    "load_digits_tensors",
]
