"""Loaders for real models, checkpoints and image datasets, all from local paths.

Nothing here downloads anything: torchvision models are built with ``weights=None`` and
datasets with ``download=False``. A missing file or folder raises :class:`DataNotFoundError`
naming the path and how to obtain the data.

Examples
--------
>>> from tda_widgets.data.loaders import torchvision_model, cifar10, balanced_subset
>>> model = torchvision_model("resnet18", num_classes=10,
...                           checkpoint="resnet18_cifar10.pt")       # doctest: +SKIP
>>> data = balanced_subset(cifar10("~/data"), 1000)                  # doctest: +SKIP
"""

from __future__ import annotations

import difflib
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Optional, Union

import numpy as np
import torch
from torch import nn

from tda_widgets.core.errors import TDAInputError, TDATypeError

__all__ = [
    "DataNotFoundError",
    "load_model_file",
    "TORCHVISION_MODELS",
    "NORMALIZATIONS",
    "load_checkpoint",
    "torchvision_model",
    "image_folder",
    "cifar10",
    "cifar100",
    "balanced_subset",
]

PathLike = Union[str, "os.PathLike[str]"]

#: Model names accepted by :func:`torchvision_model` (built with ``weights=None``).
TORCHVISION_MODELS = (
    "resnet18",
    "resnet34",
    "resnet50",
    "vgg11",
    "vgg16",
    "mobilenet_v2",
    "mobilenet_v3_small",
)

#: Per-channel ``(mean, std)`` of the named normalisations (RGB, for images in [0, 1]).
#: The CIFAR values are the per-pixel statistics of the training sets.
NORMALIZATIONS = {
    "imagenet": ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    "cifar100": ((0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)),
}

#: Keys under which training scripts commonly nest the model's state dict.
_NESTING_KEYS = ("state_dict", "model_state_dict", "model")
#: Key prefixes added by wrappers: DataParallel / DistributedDataParallel, torch.compile.
_WRAPPER_PREFIXES = ("module.", "_orig_mod.")

_CIFAR_URL = "https://www.cs.toronto.edu/~kriz/cifar.html"


class DataNotFoundError(TDAInputError, FileNotFoundError):
    """A local file or folder that a loader needs does not exist; the message says how to get it.

    A subclass of both :class:`~tda_widgets.errors.TDAInputError` (``ValueError``) and
    ``FileNotFoundError``, so either ``except`` clause catches it.
    """


def _as_path(path, name: str, func: str) -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise TDATypeError(
            f"The '{name}' parameter of {func} must be a path (str or os.PathLike). "
            f"Got {path!r} of type {type(path).__name__} instead."
        )
    return Path(path).expanduser()


# --------------------------------------------------------------------------- checkpoints


def _is_state_dict(obj) -> bool:
    return isinstance(obj, Mapping) and len(obj) > 0 and all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items()
    )


def _unwrap_state_dict(obj, path: Path) -> dict:
    """Find the state dict inside a checkpoint: a state dict, a module, or nested dicts."""
    seen = []
    for _ in range(4):  # nesting such as {"model": {"state_dict": {...}}}
        if isinstance(obj, nn.Module):
            return dict(obj.state_dict())
        if _is_state_dict(obj):
            return dict(obj)
        if isinstance(obj, Mapping):
            key = next((k for k in _NESTING_KEYS if k in obj), None)
            if key is not None:
                seen.append(key)
                obj = obj[key]
                continue
            keys = sorted(map(str, obj))[:8]
            raise TDAInputError(
                f"The checkpoint {str(path)!r} is a dict without a state dict: its keys are "
                f"{keys}{' ...' if len(obj) > 8 else ''}, none of {list(_NESTING_KEYS)}, and its "
                "values are not all tensors. Save it with torch.save(model.state_dict(), path) or "
                "{'state_dict': model.state_dict()}."
            )
        break
    where = "".join(f"[{k!r}]" for k in seen)
    raise TDAInputError(
        f"The checkpoint {str(path)!r} holds a {type(obj).__name__}{' at ' + where if where else ''}, "
        "not a state dict (a dict of parameter names to tensors). Save it with "
        "torch.save(model.state_dict(), path)."
    )


def _strip_prefixes(state: dict, model_keys: set) -> dict:
    """Remove wrapper prefixes (``module.``) that every key has and the model's keys lack."""
    changed = True
    while changed:
        changed = False
        for prefix in _WRAPPER_PREFIXES:
            if state and all(k.startswith(prefix) for k in state) and not any(
                k.startswith(prefix) for k in model_keys
            ):
                state = {k[len(prefix):]: v for k, v in state.items()}
                changed = True
    return state


def _few(keys, limit: int = 6) -> str:
    keys = sorted(keys)
    text = ", ".join(repr(k) for k in keys[:limit])
    return f"{len(keys)} ({text}{', ...' if len(keys) > limit else ''})"


def load_checkpoint(model: nn.Module, path: PathLike, *, weights_only: bool = True,
                    map_location="cpu") -> nn.Module:
    """Load a checkpoint file into ``model`` (in place) and return the model.

    Accepts a plain state dict, a full training checkpoint that nests it under
    ``"state_dict"``, ``"model_state_dict"`` or ``"model"`` (also nested twice), or a pickled
    module. Key prefixes added by ``nn.DataParallel`` / ``DistributedDataParallel``
    (``module.``) and ``torch.compile`` (``_orig_mod.``) are stripped. The model's training
    mode and ``requires_grad`` flags are left as they were.

    Parameters
    ----------
    model : torch.nn.Module
        The architecture to load into (e.g. ``torchvision_model("resnet18", num_classes=10)``).
    path : str or os.PathLike
        The checkpoint file written by ``torch.save``.
    weights_only : bool, default=True
        Passed to ``torch.load``: only tensors and plain containers are unpickled. Set it to
        False only for a file you trust that also holds other Python objects.
    map_location : str or torch.device, default="cpu"
        Passed to ``torch.load``.

    Returns
    -------
    torch.nn.Module
        ``model``, with the checkpoint's tensors.

    Raises
    ------
    DataNotFoundError
        If ``path`` does not exist.
    TDAInputError
        If the file is not a checkpoint, holds no state dict, or its keys or shapes do not
        match the model: the message names the missing and unexpected keys and the shape
        mismatches.
    TDATypeError
        If ``model`` is not an ``nn.Module``.

    Examples
    --------
    >>> model = load_checkpoint(torchvision_model("resnet18", num_classes=10),
    ...                         "resnet18_cifar10.pt")                # doctest: +SKIP
    """
    func = "load_checkpoint"
    if not isinstance(model, nn.Module):
        raise TDATypeError(
            f"The 'model' parameter of {func} must be a torch.nn.Module (the architecture to "
            f"load into). Got {type(model).__name__} instead."
        )
    path = _as_path(path, "path", func)
    if not path.is_file():
        raise DataNotFoundError(
            f"The checkpoint file {str(path)!r} does not exist"
            + (" (it is a directory)" if path.is_dir() else "")
            + ". Pass the path of a file written by torch.save(model.state_dict(), path)."
        )
    try:
        obj = torch.load(path, map_location=map_location, weights_only=weights_only)
    except Exception as exc:  # torch raises UnpicklingError, RuntimeError, EOFError, ...
        hint = (" If you trust the file and it holds Python objects besides tensors, pass "
                "weights_only=False." if weights_only else "")
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise TDAInputError(
            f"Could not read the checkpoint {str(path)!r} with torch.load: {first}.{hint}"
        ) from exc
    state = _unwrap_state_dict(obj, path)
    expected = model.state_dict()
    state = _strip_prefixes(state, set(expected))
    missing = set(expected) - set(state)
    unexpected = set(state) - set(expected)
    shapes = {k for k in set(expected) & set(state) if tuple(expected[k].shape) != tuple(state[k].shape)}
    if missing or unexpected or shapes:
        parts = []
        if missing:
            parts.append(f"missing keys {_few(missing)}")
        if unexpected:
            parts.append(f"unexpected keys {_few(unexpected)}")
        if shapes:
            shown = sorted(shapes)[:4]
            parts.append(
                f"shape mismatches {len(shapes)} ("
                + ", ".join(f"{k!r}: checkpoint {tuple(state[k].shape)} vs model {tuple(expected[k].shape)}"
                            for k in shown)
                + (", ..." if len(shapes) > 4 else "") + ")"
            )
        raise TDAInputError(
            f"The checkpoint {str(path)!r} does not match {type(model).__name__}: "
            + "; ".join(parts)
            + ". Build the same architecture the checkpoint was trained with (e.g. the right "
            "num_classes)."
        )
    model.load_state_dict(state, strict=True)
    return model


# --------------------------------------------------------------------------- models


def torchvision_model(name: str, num_classes: int = 1000, checkpoint: Optional[PathLike] = None) -> nn.Module:
    """A torchvision architecture with random weights (never downloaded), optionally loaded.

    Parameters
    ----------
    name : str
        One of :data:`TORCHVISION_MODELS`: ``"resnet18"``, ``"resnet34"``, ``"resnet50"``,
        ``"vgg11"``, ``"vgg16"``, ``"mobilenet_v2"``, ``"mobilenet_v3_small"``.
    num_classes : int, default=1000
        Size of the classifier's output.
    checkpoint : str or os.PathLike, optional
        A checkpoint to load with :func:`load_checkpoint`.

    Returns
    -------
    torch.nn.Module
        The model, in eval mode.

    Raises
    ------
    TDAInputError
        If ``name`` is unknown (with close matches) or ``num_classes`` < 1, and as
        :func:`load_checkpoint`.

    Examples
    --------
    >>> torchvision_model("resnet18", num_classes=10).fc.out_features
    10
    """
    import torchvision

    func = "torchvision_model"
    if not isinstance(name, str) or name not in TORCHVISION_MODELS:
        close = difflib.get_close_matches(str(name), TORCHVISION_MODELS, n=3)
        raise TDAInputError(
            f"The 'name' parameter of {func} must be one of {list(TORCHVISION_MODELS)}. Got "
            f"{name!r} instead." + (f" Did you mean {' or '.join(map(repr, close))}?" if close else "")
        )
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 1:
        raise TDAInputError(
            f"The 'num_classes' parameter of {func} must be an int >= 1. Got {num_classes!r} instead."
        )
    model = getattr(torchvision.models, name)(weights=None, num_classes=int(num_classes))
    if checkpoint is not None:
        load_checkpoint(model, checkpoint)
    return model.eval()


# --------------------------------------------------------------------------- datasets


def _normalization(normalize, func: str):
    if normalize is None or normalize is False or normalize == "none":
        return None
    if isinstance(normalize, str):
        if normalize not in NORMALIZATIONS:
            raise TDAInputError(
                f"The 'normalize' parameter of {func} must be one of {sorted(NORMALIZATIONS) + ['none']} "
                f"or a (mean, std) pair. Got {normalize!r} instead."
            )
        return NORMALIZATIONS[normalize]
    try:
        mean, std = normalize
        mean, std = tuple(float(m) for m in mean), tuple(float(s) for s in std)
    except (TypeError, ValueError):
        raise TDAInputError(
            f"The 'normalize' parameter of {func} must be a name such as 'imagenet', None, or a "
            f"(mean, std) pair of per-channel sequences. Got {normalize!r} instead."
        ) from None
    return mean, std


def _transform(image_size: Optional[int], normalization, func: str):
    from torchvision import transforms

    steps = []
    if image_size is not None:
        if isinstance(image_size, bool) or not isinstance(image_size, (int, np.integer)) or image_size < 1:
            raise TDAInputError(
                f"The 'image_size' parameter of {func} must be an int >= 1 or None. Got {image_size!r} instead."
            )
        steps += [transforms.Resize(int(image_size)), transforms.CenterCrop(int(image_size))]
    steps.append(transforms.ToTensor())
    if normalization is not None:
        steps.append(transforms.Normalize(*normalization))
    return transforms.Compose(steps)


def image_folder(root: PathLike, image_size: Optional[int] = 224, normalize="imagenet"):
    """Images in class folders (``root/<class>/<image>``) as a torchvision ``ImageFolder``.

    Parameters
    ----------
    root : str or os.PathLike
        The folder holding one sub-folder per class.
    image_size : int or None, default=224
        Images are resized (shorter side) and centre-cropped to ``image_size`` pixels a side;
        None keeps their size (then they must all have the same size).
    normalize : {"imagenet", "cifar10", "cifar100", "none"}, None or (mean, std), default="imagenet"
        Per-channel normalisation after scaling to [0, 1] (see :data:`NORMALIZATIONS`). Use
        the one the model was trained with.

    Returns
    -------
    torchvision.datasets.ImageFolder
        Items ``(image tensor (3, H, W), class index)``; ``.classes`` holds the folder names
        in sorted order and ``.targets`` the label of every image.

    Raises
    ------
    DataNotFoundError
        If ``root`` does not exist or holds no class folder with images.
    TDAInputError
        If ``image_size`` or ``normalize`` is invalid.
    """
    from torchvision import datasets

    func = "image_folder"
    path = _as_path(root, "root", func)
    transform = _transform(image_size, _normalization(normalize, func), func)
    if not path.is_dir():
        raise DataNotFoundError(
            f"The image folder {str(path)!r} does not exist. Pass a folder with one sub-folder "
            "per class holding its images (root/cat/001.png, root/dog/002.jpg, ...)."
        )
    try:
        return datasets.ImageFolder(str(path), transform=transform)
    except FileNotFoundError as exc:
        raise DataNotFoundError(
            f"The image folder {str(path)!r} holds no class folder with images ({exc}). Put the "
            "images in one sub-folder per class (root/cat/001.png, root/dog/002.jpg, ...)."
        ) from exc


def _cifar(cls_name: str, root: PathLike, train: bool, normalize, func: str, folder: str, archive: str):
    from torchvision import datasets

    path = _as_path(root, "root", func)
    transform = _transform(None, _normalization(normalize, func), func)
    try:
        return getattr(datasets, cls_name)(str(path), train=bool(train), download=False, transform=transform)
    except RuntimeError as exc:  # torchvision: "Dataset not found or corrupted."
        raise DataNotFoundError(
            f"{cls_name} was not found in {str(path)!r}: expected the folder "
            f"{str(path / folder)!r} (torchvision's layout). Nothing is downloaded at run time: "
            f"get {archive} from {_CIFAR_URL} and extract it into {str(path)!r}, or run "
            f"torchvision.datasets.{cls_name}({str(path)!r}, download=True) once on a machine "
            "with network access."
        ) from exc


def cifar10(root: PathLike, train: bool = False, normalize="cifar10"):
    """CIFAR-10 from a local copy (``root/cifar-10-batches-py``), never downloaded.

    Parameters
    ----------
    root : str or os.PathLike
        The folder that holds ``cifar-10-batches-py``.
    train : bool, default=False
        The 50,000 training images, or the 10,000 test images.
    normalize : str, None or (mean, std), default="cifar10"
        Per-channel normalisation (see :data:`NORMALIZATIONS`).

    Returns
    -------
    torchvision.datasets.CIFAR10
        Items ``(image tensor (3, 32, 32), class index)``; ``.classes`` and ``.targets``, and
        ``.class_groups`` (vehicles and animals, ``NAMED_CLASS_GROUPS["cifar10"]``), which the
        MapperExplorer uses when it is given no ``class_groups``.

    Raises
    ------
    DataNotFoundError
        If the data are not in ``root``; the message says where to get them.
    """
    dataset = _cifar("CIFAR10", root, train, normalize, "cifar10", "cifar-10-batches-py", "cifar-10-python.tar.gz")
    from ..topology.mapper import NAMED_CLASS_GROUPS

    dataset.class_groups = dict(NAMED_CLASS_GROUPS["cifar10"])  # vehicles / animals: the mapper explorer's default
    return dataset


def cifar100(root: PathLike, train: bool = False, normalize="cifar100"):
    """CIFAR-100 from a local copy (``root/cifar-100-python``), never downloaded.

    Parameters
    ----------
    root : str or os.PathLike
        The folder that holds ``cifar-100-python``.
    train : bool, default=False
        The 50,000 training images, or the 10,000 test images.
    normalize : str, None or (mean, std), default="cifar100"
        Per-channel normalisation (see :data:`NORMALIZATIONS`).

    Returns
    -------
    torchvision.datasets.CIFAR100
        Items ``(image tensor (3, 32, 32), fine class index)``; ``.classes`` and ``.targets``.

    Raises
    ------
    DataNotFoundError
        If the data are not in ``root``; the message says where to get them.
    """
    return _cifar("CIFAR100", root, train, normalize, "cifar100", "cifar-100-python", "cifar-100-python.tar.gz")


# --------------------------------------------------------------------------- subsets


def _dataset_labels(dataset) -> np.ndarray:
    """Every item's label: from ``.targets`` (also through Subsets), else by reading items."""
    if isinstance(dataset, torch.utils.data.Subset):
        inner = _dataset_labels(dataset.dataset)
        return inner[np.asarray(dataset.indices, dtype=np.int64)]
    targets = getattr(dataset, "targets", None)
    if targets is not None and len(targets) == len(dataset):
        return np.asarray(targets.cpu() if isinstance(targets, torch.Tensor) else targets)
    labels = []
    for i in range(len(dataset)):
        item = dataset[i]
        if not isinstance(item, (tuple, list)) or len(item) < 2 or np.ndim(item[1]) != 0:
            raise TDAInputError(
                "The 'dataset' parameter of balanced_subset must yield (image, label) items or have "
                f"a .targets attribute; item {i} is a {type(item).__name__}. Pass a labelled dataset."
            )
        labels.append(int(item[1]))
    return np.asarray(labels)


def balanced_subset(dataset, n: int, seed: int = 0) -> torch.utils.data.Subset:
    """A seeded, class-balanced random sample of ``n`` items of a labelled dataset.

    Every class gets ``n // n_classes`` items (fewer when it has fewer: all of them); the
    remainder goes to randomly chosen classes that still have items to spare.

    Parameters
    ----------
    dataset : torch.utils.data.Dataset
        A labelled dataset. Labels come from ``.targets`` when present (ImageFolder, CIFAR,
        FakeData; also through ``Subset``), otherwise from reading every item's label.
    n : int
        Number of items, 1 <= n <= len(dataset).
    seed : int, default=0
        Seed of the sample.

    Returns
    -------
    torch.utils.data.Subset
        The items, in increasing index order. Its ``targets`` attribute holds their labels
        (a list), so studies read labels without loading images.

    Raises
    ------
    TDAInputError
        If ``n`` is out of range or the dataset has no labels.

    Examples
    --------
    >>> import torchvision                                     # doctest: +SKIP
    >>> data = torchvision.datasets.FakeData(100, (3, 8, 8), num_classes=4)   # doctest: +SKIP
    >>> len(balanced_subset(data, 20))                         # doctest: +SKIP
    20
    """
    func = "balanced_subset"
    if not hasattr(dataset, "__len__") or not hasattr(dataset, "__getitem__"):
        raise TDATypeError(
            f"The 'dataset' parameter of {func} must be a map-style Dataset (with __len__ and "
            f"__getitem__). Got {type(dataset).__name__} instead."
        )
    size = len(dataset)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= n <= size:
        raise TDAInputError(
            f"The 'n' parameter of {func} must be an int between 1 and the dataset's size ({size}). "
            f"Got {n!r} instead."
        )
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TDATypeError(f"The 'seed' parameter of {func} must be an int. Got {seed!r} instead.")
    labels = _dataset_labels(dataset)
    rng = np.random.default_rng(int(seed))
    classes, counts = np.unique(labels, return_counts=True)
    quota = np.minimum(np.full(len(classes), int(n) // len(classes)), counts)
    while quota.sum() < n:
        spare = np.flatnonzero(quota < counts)
        quota[rng.permutation(spare)[: int(n) - quota.sum()]] += 1
    chosen = np.sort(np.concatenate([
        rng.choice(np.flatnonzero(labels == c), size=q, replace=False) for c, q in zip(classes, quota)
    ])).astype(np.int64)
    subset = torch.utils.data.Subset(dataset, chosen.tolist())
    subset.targets = labels[chosen].tolist()
    return subset


def load_model_file(spec: str, num_classes: Optional[int] = None):
    """An ``nn.Module`` from ``path/to/model.py:ClassName`` (the report's ``--model-file``),
    instantiated without arguments, or with ``num_classes`` when given.

    Raises
    ------
    TDAInputError
        A malformed spec, a file that fails to run, no such ``nn.Module`` class (with the
        classes the file has), or a constructor that fails.
    FileNotFoundError
        The file does not exist.
    """
    import difflib
    import importlib.util

    from torch import nn

    if ":" not in spec:
        raise TDAInputError(f"--model-file must look like path/to/model.py:ClassName. Got {spec!r}.")
    file, class_name = spec.rsplit(":", 1)
    path = Path(file).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"--model-file: the file {str(path)!r} does not exist.")
    module_spec = importlib.util.spec_from_file_location(f"_tda_user_model_{path.stem}", path)
    module = importlib.util.module_from_spec(module_spec)
    sys.path.insert(0, str(path.parent.resolve()))
    try:
        module_spec.loader.exec_module(module)
    except Exception as exc:
        raise TDAInputError(f"--model-file: running {str(path)!r} failed: {type(exc).__name__}: {exc}") from exc
    finally:
        sys.path.remove(str(path.parent.resolve()))
    cls = getattr(module, class_name, None)
    if cls is None or not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        candidates = [n for n, v in vars(module).items()
                      if isinstance(v, type) and issubclass(v, nn.Module) and v.__module__ == module.__name__]
        close = difflib.get_close_matches(class_name, candidates, n=3)
        raise TDAInputError(
            f"--model-file: {str(path)!r} has no nn.Module class {class_name!r}; its classes are "
            f"{candidates or 'none'}" + (f" (did you mean {close[0]!r}?)" if close else "") + "."
        )
    try:
        return cls() if num_classes is None else cls(num_classes=num_classes)
    except Exception as exc:
        raise TDAInputError(f"--model-file: {class_name}({'' if num_classes is None else f'num_classes={num_classes}'}) "
                            f"failed: {type(exc).__name__}: {exc}") from exc
