"""An embedded example with a class hierarchy: synthetic shapes, round or angular, and a small CNN.

Six classes of 16 x 16 grey-scale shapes fall into two groups: **round** (disk, ellipse,
crescent) and **angular** (square, triangle, plus). Every image is drawn here from a seeded
random generator (position, size, rotation, brightness, pixel noise), so nothing is downloaded
and the same seed gives the same images on every machine. The weights of a small CNN trained on
them ship as ``shapes_cnn.pt`` (made by ``python -m tda_widgets.data.train_shapes``).

The groups are what the study's second finding asks about: do early layers' mapper nodes mix
the classes *of a group* before later layers separate the classes themselves?

Examples
--------
>>> from tda_widgets.data.shapes import make_shapes, SHAPE_CLASSES, SHAPE_GROUPS
>>> images, labels = make_shapes(12, seed=0)
>>> images.shape, labels[:6].tolist()
((12, 1, 16, 16), [0, 1, 2, 3, 4, 5])
>>> [SHAPE_GROUPS[k] for k in range(len(SHAPE_CLASSES))]
['round', 'round', 'round', 'angular', 'angular', 'angular']
"""

from __future__ import annotations

import importlib.resources
from collections import OrderedDict

import numpy as np
import torch
from torch import nn

from tda_widgets.core.errors import TDAInputError

__all__ = [
    "SHAPE_CLASSES",
    "SHAPE_GROUPS",
    "SHAPES_IMAGE_SIZE",
    "SHAPES_LAYERS",
    "SHAPES_N_IMAGES",
    "SHAPES_WEIGHTS_FILE",
    "ShapesCNN",
    "make_shapes",
    "shapes_split",
    "load_shapes_tensors",
    "load_shapes_cnn",
]

#: The six classes, in label order.
SHAPE_CLASSES = ("disk", "ellipse", "crescent", "square", "triangle", "plus")

#: The two-level hierarchy: ``{label: group}`` (the form ``class_groups=`` takes).
SHAPE_GROUPS = {0: "round", 1: "round", 2: "round", 3: "angular", 4: "angular", 5: "angular"}

#: Side of the images in pixels.
SHAPES_IMAGE_SIZE = 16

#: Number of images of the embedded set (an equal number per class); a quarter is held out.
SHAPES_N_IMAGES = 1800

#: Layers of :class:`ShapesCNN` studied by default, input to output.
SHAPES_LAYERS = ("block1", "block2", "block3", "fc1", "head")

#: Name of the shipped weights file inside the ``tda_widgets.data`` package.
SHAPES_WEIGHTS_FILE = "shapes_cnn.pt"

_SUPERSAMPLE = 4   # each pixel is the mean of a 4 x 4 grid of samples (smooth edges)
_NOISE = 0.08      # standard deviation of the Gaussian pixel noise


class ShapesCNN(nn.Module):
    """A small CNN for the 16 x 16 shapes, layer names as in :class:`~tda_widgets.data.DigitsCNN`.

    Layers (output shape for a batch of N images):

    - ``block1``: conv 1->16, batch norm, ReLU; (N, 16, 16, 16)
    - ``block2``: conv 16->32, batch norm, ReLU, max-pool; (N, 32, 8, 8)
    - ``block3``: conv 32->32, batch norm, ReLU, max-pool; (N, 32, 4, 4)
    - ``flatten``: (N, 512)
    - ``fc1``: linear 512->64, ReLU; (N, 64)
    - ``head``: linear 64->6, the class logits; (N, 6)

    Examples
    --------
    >>> import torch
    >>> ShapesCNN()(torch.zeros(2, 1, 16, 16)).shape
    torch.Size([2, 6])
    """

    def __init__(self) -> None:
        super().__init__()
        self.block1 = nn.Sequential(
            OrderedDict(conv=nn.Conv2d(1, 16, 3, padding=1), bn=nn.BatchNorm2d(16), relu=nn.ReLU())
        )
        self.block2 = nn.Sequential(OrderedDict(
            conv=nn.Conv2d(16, 32, 3, padding=1), bn=nn.BatchNorm2d(32), relu=nn.ReLU(), pool=nn.MaxPool2d(2)
        ))
        self.block3 = nn.Sequential(OrderedDict(
            conv=nn.Conv2d(32, 32, 3, padding=1), bn=nn.BatchNorm2d(32), relu=nn.ReLU(), pool=nn.MaxPool2d(2)
        ))
        self.flatten = nn.Flatten()
        self.fc1 = nn.Sequential(OrderedDict(linear=nn.Linear(512, 64), relu=nn.ReLU()))
        self.head = nn.Linear(64, len(SHAPE_CLASSES))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits of shape (N, 6) for images of shape (N, 1, 16, 16)."""
        x = self.block3(self.block2(self.block1(x)))
        return self.head(self.fc1(self.flatten(x)))


def _inside(label: int, u: np.ndarray, v: np.ndarray, size: float, aspect: float) -> np.ndarray:
    """Mask of the shape ``label`` in its own rotated frame (u, v), centred at 0."""
    if label == 0:    # disk
        return u ** 2 + v ** 2 <= size ** 2
    if label == 1:    # ellipse, long axis ``aspect`` times the short one
        return (u / size) ** 2 + (v * aspect / size) ** 2 <= 1.0
    if label == 2:    # crescent: a disk minus a shifted disk
        return (u ** 2 + v ** 2 <= size ** 2) & ((u - 0.6 * size) ** 2 + v ** 2 > (0.75 * size) ** 2)
    if label == 3:    # square of half-side ``0.85 * size``
        half = 0.85 * size
        return (np.abs(u) <= half) & (np.abs(v) <= half)
    if label == 4:    # equilateral triangle inscribed in the circle of radius ``1.1 * size``
        r = 1.1 * size
        inside = np.ones_like(u, dtype=bool)
        for angle in (np.pi / 2, np.pi / 2 + 2 * np.pi / 3, np.pi / 2 + 4 * np.pi / 3):
            inside &= u * np.cos(angle) + v * np.sin(angle) >= -r / 2
        return inside
    # plus: two bars of half-width ``0.35 * size``
    arm, width = size, 0.35 * size
    return ((np.abs(u) <= arm) & (np.abs(v) <= width)) | ((np.abs(v) <= arm) & (np.abs(u) <= width))


def make_shapes(n: int = SHAPES_N_IMAGES, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``n`` shape images, the labels cycling 0, 1, ..., 5, 0, ... (equal classes).

    Each image: one white shape on black, its centre moved up to 2 pixels from the middle, its
    size 4 to 6.5 pixels (radius or half-side), turned by a random angle, brightness 0.6 to 1,
    anti-aliased (4 x 4 samples per pixel), then Gaussian noise (sd 0.08) and clipping to [0, 1].

    Parameters
    ----------
    n : int, default SHAPES_N_IMAGES
        Number of images, at least 1.
    seed : int, default 0
        Seed of numpy's ``default_rng``: the same seed gives the same images everywhere.

    Returns
    -------
    images : ndarray of shape (n, 1, 16, 16), float32
    labels : ndarray of shape (n,), int64

    Raises
    ------
    TDAInputError
        If ``n`` < 1 or ``seed`` < 0.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise TDAInputError(f"The 'n' parameter of make_shapes must be an int >= 1. Got {n!r} instead.")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise TDAInputError(f"The 'seed' parameter of make_shapes must be an int >= 0. Got {seed!r} instead.")
    rng = np.random.default_rng(int(seed))
    side, s = SHAPES_IMAGE_SIZE, _SUPERSAMPLE
    # sample positions of every pixel's s x s sub-grid, in pixel units centred on the image
    coords = (np.arange(side * s) + 0.5) / s - side / 2
    ys, xs = np.meshgrid(coords, coords, indexing="ij")
    labels = np.arange(n, dtype=np.int64) % len(SHAPE_CLASSES)
    images = np.empty((n, 1, side, side), dtype=np.float32)
    for k, label in enumerate(labels):
        cx, cy = rng.uniform(-2.0, 2.0, size=2)
        size = rng.uniform(4.0, 6.5)
        angle = rng.uniform(0.0, 2 * np.pi)
        aspect = rng.uniform(1.4, 1.8)
        brightness = rng.uniform(0.8, 1.0)
        dx, dy = xs - cx, ys - cy
        u = dx * np.cos(angle) + dy * np.sin(angle)
        v = -dx * np.sin(angle) + dy * np.cos(angle)
        mask = _inside(int(label), u, v, size, aspect).astype(np.float32)
        image = mask.reshape(side, s, side, s).mean(axis=(1, 3)) * brightness
        image = image + rng.normal(scale=_NOISE, size=image.shape)
        images[k, 0] = np.clip(image, 0.0, 1.0)
    return images, labels


def shapes_split(n: int = SHAPES_N_IMAGES, test_fraction: float = 0.25) -> dict:
    """The fixed train/test split of :func:`make_shapes`'s images: every fourth image of each
    class is held out (stratified, no randomness).

    Returns
    -------
    dict
        ``{"train": ndarray of int64, "test": ndarray of int64}``, sorted and disjoint.
    """
    if not 0.0 < float(test_fraction) < 1.0:
        raise TDAInputError(f"The 'test_fraction' parameter of shapes_split must be in (0, 1). "
                            f"Got {test_fraction!r} instead.")
    every = int(round(1.0 / float(test_fraction)))
    index = np.arange(n, dtype=np.int64)
    per_class_rank = index // len(SHAPE_CLASSES)     # labels cycle, so this is the rank within the class
    test = per_class_rank % every == every - 1
    return {"train": index[~test], "test": index[test]}


def load_shapes_tensors() -> tuple[torch.Tensor, np.ndarray]:
    """All :data:`SHAPES_N_IMAGES` embedded shapes (seed 0) as a float tensor, and their labels."""
    images, labels = make_shapes(SHAPES_N_IMAGES, seed=0)
    return torch.from_numpy(images), labels


def load_shapes_cnn() -> ShapesCNN:
    """The shipped, trained :class:`ShapesCNN`, on the CPU and in eval mode."""
    model = ShapesCNN()
    resource = importlib.resources.files("tda_widgets.data").joinpath(SHAPES_WEIGHTS_FILE)
    with importlib.resources.as_file(resource) as path:
        state = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(state)
    return model.eval()
