"""The embedded default data and model: scikit-learn's digits and a small CNN, weights shipped.

Nothing here downloads anything. Loaders for torchvision datasets and checkpoints live in a
separate module so that this one does not import torchvision.
"""

from tda_widgets.data.digits import (
    DEMO_LAYERS,
    DemoData,
    DigitsCNN,
    digits_split,
    load_demo,
    load_digits_checkpoints,
    load_digits_cnn,
    load_digits_tensors,
)

__all__ = [
    "DEMO_LAYERS",
    "DemoData",
    "DigitsCNN",
    "digits_split",
    "load_demo",
    "load_digits_checkpoints",
    "load_digits_cnn",
    "load_digits_tensors",
]
