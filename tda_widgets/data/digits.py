"""The embedded default: a small CNN trained on scikit-learn's 8x8 digits, weights shipped.

Everything here works offline: the images come with scikit-learn (``load_digits``) and the
weights file ``digits_cnn.pt`` is part of the package (made by
``python -m tda_widgets.data.train_digits``).

Examples
--------
>>> from tda_widgets.data import load_demo
>>> demo = load_demo()                       # doctest: +SKIP
>>> demo.images.shape, demo.layers           # doctest: +SKIP
(torch.Size([450, 1, 8, 8]), ('block1', 'block2', 'block3', 'fc1', 'head'))
"""

from __future__ import annotations

import importlib.resources
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from tda_widgets.core.errors import TDAInputError, TDATypeError

__all__ = [
    "DigitsCNN",
    "DEMO_LAYERS",
    "DEMO_DATASETS",
    "DemoData",
    "WEIGHTS_FILE",
    "load_digits_tensors",
    "digits_split",
    "load_demo",
    "load_digits_cnn",
    "load_digits_checkpoints",
    "TRAINED_EPOCHS",
    "SHIPPED_CHECKPOINT_EPOCHS",
]

#: Layers of :class:`DigitsCNN` that the widgets study by default, input to output.
DEMO_LAYERS = ("block1", "block2", "block3", "fc1", "head")

#: Name of the shipped weights file inside the ``tda_widgets.data`` package.
WEIGHTS_FILE = "digits_cnn.pt"

#: Epochs of training behind the shipped ``digits_cnn.pt`` (seed 0).
TRAINED_EPOCHS = 10

#: Epochs of the intermediate checkpoints shipped as ``digits_cnn_epoch{k}.pt`` (0 is the
#: initialisation); the same run as ``digits_cnn.pt``, whose epoch is :data:`TRAINED_EPOCHS`.
SHIPPED_CHECKPOINT_EPOCHS = (0, 1, 3)

_SUBSETS = ("test", "train", "all")
_N_DIGITS = 1797


class DigitsCNN(nn.Module):
    """A small CNN for 8x8 grey-scale digits, with layer names a reader recognises.

    Layers (output shape for a batch of N images):

    - ``block1``: conv 1->16, batch norm, ReLU; (N, 16, 8, 8)
    - ``block2``: conv 16->32, batch norm, ReLU, max-pool; (N, 32, 4, 4)
    - ``block3``: conv 32->64, batch norm, ReLU, max-pool; (N, 64, 2, 2)
    - ``flatten``: (N, 256)
    - ``fc1``: linear 256->64, ReLU; (N, 64)
    - ``head``: linear 64->10, the class logits; (N, 10)

    Examples
    --------
    >>> import torch
    >>> DigitsCNN()(torch.zeros(2, 1, 8, 8)).shape
    torch.Size([2, 10])
    """

    def __init__(self) -> None:
        super().__init__()
        self.block1 = nn.Sequential(
            OrderedDict(conv=nn.Conv2d(1, 16, 3, padding=1), bn=nn.BatchNorm2d(16), relu=nn.ReLU())
        )
        self.block2 = nn.Sequential(
            OrderedDict(
                conv=nn.Conv2d(16, 32, 3, padding=1),
                bn=nn.BatchNorm2d(32),
                relu=nn.ReLU(),
                pool=nn.MaxPool2d(2),
            )
        )
        self.block3 = nn.Sequential(
            OrderedDict(
                conv=nn.Conv2d(32, 64, 3, padding=1),
                bn=nn.BatchNorm2d(64),
                relu=nn.ReLU(),
                pool=nn.MaxPool2d(2),
            )
        )
        self.flatten = nn.Flatten()
        self.fc1 = nn.Sequential(OrderedDict(linear=nn.Linear(256, 64), relu=nn.ReLU()))
        self.head = nn.Linear(64, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits of shape (N, 10) for images of shape (N, 1, 8, 8)."""
        x = self.block3(self.block2(self.block1(x)))
        return self.head(self.fc1(self.flatten(x)))


def load_digits_tensors() -> tuple[torch.Tensor, np.ndarray]:
    """All 1,797 scikit-learn digits as a float tensor and their labels.

    The data ship inside scikit-learn; nothing is downloaded.

    Returns
    -------
    images : torch.Tensor of shape (1797, 1, 8, 8), float32
        Pixel intensities scaled from 0..16 to [0, 1].
    labels : ndarray of shape (1797,), int64
        The digit, 0 to 9.
    """
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = torch.from_numpy(np.asarray(bunch.images, dtype=np.float32) / 16.0).unsqueeze(1)
    labels = np.asarray(bunch.target, dtype=np.int64)
    return images.contiguous(), labels


def _check_int(value, name: str, where: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TDATypeError(
            f"The {name!r} parameter of {where} must be an int >= {minimum}. "
            f"Got {value!r} of type {type(value).__name__} instead."
        )
    if value < minimum:
        raise TDAInputError(
            f"The {name!r} parameter of {where} must be an int >= {minimum}. Got {value!r} instead."
        )
    return int(value)


def digits_split(n: int = _N_DIGITS, seed: int = 0, test_fraction: float = 0.25) -> dict:
    """Deterministic, stratified train/test split of the digits' indices.

    Parameters
    ----------
    n : int, default 1797
        Number of digits (the split is stratified on ``load_digits().target[:n]``).
    seed : int, default 0
        Seed of the split.
    test_fraction : float, default 0.25
        Share of images held out for testing, in (0, 1).

    Returns
    -------
    dict
        ``{"train": ndarray of int64, "test": ndarray of int64}``: sorted, disjoint indices
        whose union is ``range(n)``.

    Raises
    ------
    TDAInputError
        If ``n`` is not in 20..1797 or ``test_fraction`` is not in (0, 1).
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    n = _check_int(n, "n", "digits_split", 20)
    if n > _N_DIGITS:
        raise TDAInputError(
            f"The 'n' parameter of digits_split must be at most {_N_DIGITS} (the number of "
            f"digits). Got {n} instead."
        )
    seed = _check_int(seed, "seed", "digits_split", 0)
    if not isinstance(test_fraction, (float, int)) or not 0.0 < float(test_fraction) < 1.0:
        raise TDAInputError(
            "The 'test_fraction' parameter of digits_split must be a number strictly between "
            f"0 and 1. Got {test_fraction!r} instead; use e.g. 0.25."
        )
    targets = np.asarray(load_digits().target[:n])
    train, test = train_test_split(
        np.arange(n, dtype=np.int64),
        test_size=float(test_fraction),
        random_state=seed,
        stratify=targets,
    )
    return {"train": np.sort(train), "test": np.sort(test)}


def load_digits_cnn() -> DigitsCNN:
    """The shipped, trained :class:`DigitsCNN`, on the CPU and in eval mode.

    Returns
    -------
    DigitsCNN
        Weights from ``tda_widgets/data/digits_cnn.pt``; ``requires_grad`` is left as PyTorch
        sets it (True).
    """
    return _load_shipped(WEIGHTS_FILE)


def _load_shipped(filename: str) -> DigitsCNN:
    model = DigitsCNN()
    resource = importlib.resources.files("tda_widgets.data").joinpath(filename)
    with importlib.resources.as_file(resource) as path:
        state = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(state)
    return model.eval()


def load_digits_checkpoints() -> dict:
    """The shipped training checkpoints of the digits CNN, for studies of training dynamics.

    Returns
    -------
    dict of int to DigitsCNN
        Epoch -> model in eval mode, in increasing epoch order: the initialisation (0), the
        intermediate epochs :data:`SHIPPED_CHECKPOINT_EPOCHS` and the final model
        (:data:`TRAINED_EPOCHS`, the same weights as :func:`load_digits_cnn`), all from one
        seeded run of ``python -m tda_widgets.data.train_digits``.
    """
    models = {k: _load_shipped(f"digits_cnn_epoch{k}.pt") for k in SHIPPED_CHECKPOINT_EPOCHS}
    models[TRAINED_EPOCHS] = load_digits_cnn()
    return models


@dataclass
class DemoData:
    """The embedded demo: a trained model, images, labels and the layers to study.

    Attributes
    ----------
    model : DigitsCNN
        The trained CNN, in eval mode.
    images : torch.Tensor of shape (N, 1, 8, 8), float32
        Pixel intensities in [0, 1].
    labels : ndarray of shape (N,), int64
        The digit shown by each image.
    class_names : list of str
        ``["0", ..., "9"]``.
    split : dict
        ``{"train": ..., "test": ...}`` indices into all 1,797 digits (see :func:`digits_split`).
    layers : tuple of str
        The layer names studied by default, :data:`DEMO_LAYERS`.
    indices : ndarray of shape (N,), int64
        Where each image sits among all 1,797 digits (``load_digits().images[indices]``), or
        among all the embedded shapes for ``dataset="shapes"``.
    subset : str
        Which subset the images come from: ``"test"``, ``"train"`` or ``"all"``.
    class_groups : dict or None
        ``{label: group}`` for data whose classes fall into groups (the shapes: round or
        angular); None for the digits, which have no named groups.
    dataset : str
        ``"digits"`` or ``"shapes"``.
    """

    model: nn.Module
    images: torch.Tensor
    labels: np.ndarray
    class_names: list
    split: dict
    layers: tuple = DEMO_LAYERS
    indices: np.ndarray = field(default=None, repr=False)
    subset: str = "test"
    class_groups: dict = None
    dataset: str = "digits"

    def __repr__(self) -> str:
        shown = "" if self.dataset == "digits" else f"dataset={self.dataset!r}, "
        return (
            f"DemoData({shown}model={type(self.model).__name__}, images={tuple(self.images.shape)}, "
            f"subset={self.subset!r}, layers={self.layers})"
        )

    def _all(self):
        if not hasattr(self, "_all_cache"):
            self._all_cache = load_digits_tensors()
        return self._all_cache

    @property
    def test_images(self) -> torch.Tensor:
        """The held-out test images, shape (n_test, 1, 8, 8), whatever ``subset`` was loaded."""
        return self._all()[0][torch.from_numpy(self.split["test"])]

    @property
    def test_labels(self) -> np.ndarray:
        """Labels of :attr:`test_images`, shape (n_test,), int64."""
        return self._all()[1][self.split["test"]]


def _balanced_subsample(labels: np.ndarray, n_images: int, seed: int) -> np.ndarray:
    """Positions into ``labels``: ``n_images`` of them, classes as equal as possible, sorted."""
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(labels, return_counts=True)
    quota = np.full(len(classes), n_images // len(classes))
    # the remainder goes to randomly chosen classes that still have images to spare
    quota = np.minimum(quota, counts)
    while quota.sum() < n_images:
        spare = np.flatnonzero(quota < counts)
        take = rng.permutation(spare)[: n_images - quota.sum()]
        quota[take] += 1
    chosen = [
        rng.choice(np.flatnonzero(labels == c), size=q, replace=False)
        for c, q in zip(classes, quota)
    ]
    return np.sort(np.concatenate(chosen)).astype(np.int64)


#: The embedded data sets :func:`load_demo` knows.
DEMO_DATASETS = ("digits", "shapes")


def load_demo(subset: str = "test", n_images: int | None = None, seed: int = 0, *,
              dataset: str = "digits") -> DemoData:
    """Load the embedded demo: the shipped digits CNN and a subset of the digits.

    With ``dataset="shapes"``: the shipped shapes CNN and the synthetic shapes of
    :mod:`tda_widgets.data.shapes` (six classes in two groups, round and angular, given as
    ``class_groups``); the held-out split is 450 images, the training split 1,350.

    Parameters
    ----------
    subset : {"test", "train", "all"}, default "test"
        Which images: the held-out test split (450 images, which the model never saw), the
        training split (1,347 images) or all 1,797.
    n_images : int or None, default None
        Take a class-balanced random subsample of this many images from the subset (seeded by
        ``seed``); None keeps the whole subset.
    seed : int, default 0
        Seed of the subsample. The train/test split itself is fixed (seed 0), matching the
        shipped weights.
    dataset : {"digits", "shapes"}, default "digits"
        Which embedded data set and model.

    Returns
    -------
    DemoData
        ``model`` in eval mode, ``images`` of shape (N, 1, 8, 8) float32, ``labels`` (N,)
        int64, ``class_names``, ``split``, ``layers``.

    Raises
    ------
    TDAInputError
        If ``dataset`` or ``subset`` is not one of their names, or ``n_images`` is not between 10 and the
        size of the subset.
    TDATypeError
        If ``n_images`` or ``seed`` is not an int.

    Examples
    --------
    >>> demo = load_demo(n_images=100)           # doctest: +SKIP
    >>> demo.images.shape                        # doctest: +SKIP
    torch.Size([100, 1, 8, 8])
    >>> load_demo(dataset="shapes").class_groups[0]   # doctest: +SKIP
    'round'
    """
    if not isinstance(dataset, str) or dataset not in DEMO_DATASETS:
        raise TDAInputError(
            f"The 'dataset' parameter of load_demo must be one of {list(DEMO_DATASETS)}. "
            f"Got {dataset!r} instead."
        )
    if not isinstance(subset, str) or subset not in _SUBSETS:
        raise TDAInputError(
            f"The 'subset' parameter of load_demo must be one of {set(_SUBSETS)}. "
            f"Got {subset!r} instead."
        )
    seed = _check_int(seed, "seed", "load_demo", 0)
    if dataset == "shapes":
        from tda_widgets.data import shapes

        images, labels = shapes.load_shapes_tensors()
        split = shapes.shapes_split(len(labels))
    else:
        images, labels = load_digits_tensors()
        split = digits_split(len(labels), seed=0)
    if subset == "all":
        indices = np.arange(len(labels), dtype=np.int64)
    else:
        indices = split[subset]
    if n_images is not None:
        n_images = _check_int(n_images, "n_images", "load_demo", 10)
        if n_images > len(indices):
            raise TDAInputError(
                f"The 'n_images' parameter of load_demo must be at most {len(indices)} (the "
                f"size of the {subset!r} subset). Got {n_images} instead; lower it, use "
                "subset='all' (1797 images) or n_images=None."
            )
        indices = indices[_balanced_subsample(labels[indices], n_images, seed)]
    if dataset == "shapes":
        model, class_names = shapes.load_shapes_cnn(), list(shapes.SHAPE_CLASSES)
        layers, class_groups = shapes.SHAPES_LAYERS, dict(shapes.SHAPE_GROUPS)
    else:
        model, class_names = load_digits_cnn(), [str(d) for d in range(10)]
        layers, class_groups = DEMO_LAYERS, None
    demo = DemoData(
        model=model,
        images=images[torch.from_numpy(indices)].contiguous(),
        labels=labels[indices].copy(),
        class_names=class_names,
        split=split,
        layers=layers,
        indices=indices,
        subset=subset,
        class_groups=class_groups,
        dataset=dataset,
    )
    demo._all_cache = (images, labels)
    return demo
