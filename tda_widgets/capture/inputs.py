"""The image set of a study: counting, labels from a Dataset, a seeded class-balanced sample,
fingerprints (model and images) and thumbnails. Moved out of :class:`tda_widgets.Study` so that
the study is only the wiring of its steps (issue 11)."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import torch
from torch import nn

from .hooks import as_labels
from ..core.errors import TDAInputError

__all__ = ["prepare_images", "ModelKey", "count_images", "labels_from_dataset", "balanced_subsample", "model_fingerprint", "inputs_fingerprint",
           "labels_fingerprint", "thumbnail_array"]


def balanced_subsample(images, labels, n: int, seed: int):
    """A seeded sample of ``n`` images, class-balanced when labels are known."""
    total = count_images(images)
    if not 2 <= n <= total:
        raise TDAInputError(f"n_images must be between 2 and the number of images ({total}); got {n}. "
                            "Pass n_images=None to use every image.")
    if n == total:
        return images, labels
    rng = np.random.default_rng(seed)
    if labels is not None:
        classes = np.unique(labels)
        per_class = {c: rng.permutation(np.flatnonzero(labels == c)) for c in classes}
        chosen, k = [], 0
        while len(chosen) < n:  # round-robin over classes: balanced, and exact when classes run out
            c = classes[k % len(classes)]
            if len(per_class[c]):
                chosen.append(int(per_class[c][0]))
                per_class[c] = per_class[c][1:]
            k += 1
        index = np.sort(np.asarray(chosen))
    else:
        index = np.sort(rng.choice(total, n, replace=False))
    if isinstance(images, np.ndarray):
        images = torch.from_numpy(images)
    if isinstance(images, torch.Tensor):
        subset = images[torch.as_tensor(index)]
    else:
        subset = torch.utils.data.Subset(images, index.tolist())
    return subset, (labels[index] if labels is not None else None)

def count_images(images: Any) -> int:
    """The number of images of a tensor, array, Dataset or DataLoader."""
    if isinstance(images, torch.utils.data.DataLoader):
        return len(images.dataset)  # type: ignore[arg-type]
    if hasattr(images, "__len__"):
        return len(images)
    raise TDAInputError(f"images must have a length (a tensor, array or Dataset); got {type(images).__name__}.")

def labels_from_dataset(images: Any):
    """Labels from a Dataset's ``targets`` or its ``(image, label)`` items, or None."""
    dataset = images.dataset if isinstance(images, torch.utils.data.DataLoader) else images
    if isinstance(dataset, torch.utils.data.Dataset) and not isinstance(dataset, torch.Tensor):
        targets = getattr(dataset, "targets", None)
        if targets is not None and len(targets) == len(dataset):
            return np.asarray(targets)
        try:
            first = dataset[0]
        except Exception:
            return None
        if isinstance(first, (tuple, list)) and len(first) > 1 and np.ndim(first[1]) == 0:
            return np.asarray([int(dataset[i][1]) for i in range(len(dataset))])
    return None


def model_fingerprint(model: nn.Module) -> str:
    """SHA-1 of every parameter and buffer (names, dtypes, shapes and bytes)."""
    digest = hashlib.sha1()
    for name, tensor in model.state_dict().items():
        t = tensor.detach().cpu().contiguous()
        digest.update(name.encode())
        digest.update(str(t.dtype).encode() + str(tuple(t.shape)).encode())
        digest.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return digest.hexdigest()


def inputs_fingerprint(inputs: Any) -> str:
    """A hash of a tensor's or array's bytes; for a Dataset, its type, identity and length."""
    if isinstance(inputs, np.ndarray):
        inputs = torch.from_numpy(inputs)
    if isinstance(inputs, torch.Tensor):
        t = inputs.detach().cpu().contiguous()
        return "tensor:" + hashlib.sha1(t.view(torch.uint8).numpy().tobytes()).hexdigest()
    return f"{type(inputs).__name__}:{id(inputs)}:{len(inputs) if hasattr(inputs, '__len__') else '?'}"


def labels_fingerprint(labels: Any) -> str:
    """A hash of the labels' values (their dtype and shape included)."""
    array = np.ascontiguousarray(np.asarray(labels))
    if array.dtype == object:  # bytes of an object array are pointers: hash the values' text
        return f"labels:object:{array.shape}:" + hashlib.sha1(repr(array.tolist()).encode()).hexdigest()
    return f"labels:{array.dtype.str}:{array.shape}:" + hashlib.sha1(array.tobytes()).hexdigest()


def thumbnail_array(images: Any, max_side: int = 32) -> np.ndarray:
    """The images as a float array (N, C, H, W), downsampled to at most ``max_side`` pixels a
    side (area interpolation), batch by batch."""
    source = images
    if isinstance(source, np.ndarray):
        source = torch.from_numpy(source)
    if isinstance(source, torch.Tensor):
        batches = [source[i:i + 512] for i in range(0, len(source), 512)]
    else:
        from .hooks import _iter_batches

        batches, _ = _iter_batches(source, 256)
    out = []
    for batch in batches:
        batch = batch.detach().cpu().float()
        if batch.ndim == 3:
            batch = batch[:, None]
        if max(batch.shape[-2:]) > max_side:
            factor = max_side / max(batch.shape[-2:])
            size = (max(1, round(batch.shape[-2] * factor)), max(1, round(batch.shape[-1] * factor)))
            batch = torch.nn.functional.interpolate(batch, size=size, mode="area")
        out.append(batch.numpy())
    return np.concatenate(out)


def prepare_images(images: Any, labels: Any = None, n_images=None, seed: int = 0):
    """A study's images and labels: labels taken from a Dataset when not given and checked (one
    per image), then an optional seeded class-balanced sample of ``n_images``.

    Returns ``(images, labels)``; a DataLoader with ``n_images`` is sampled from its dataset.
    """
    if isinstance(images, torch.utils.data.DataLoader) and n_images is not None:
        images = images.dataset
    total = count_images(images)
    if total == 0:
        raise TDAInputError("images is empty (0 images); pass at least 2 images.")
    labels = as_labels(labels_from_dataset(images) if labels is None else labels, total)
    if n_images is not None:
        images, labels = balanced_subsample(images, labels, int(n_images), seed)
    return images, labels


class ModelKey:
    """A live model's fingerprint (:func:`model_fingerprint`), re-hashed only when a tensor was
    replaced or modified in place (torch's per-tensor version counters), so a model trained
    further between two calls gets a new key and an unchanged one costs no hashing."""

    def __init__(self, model: nn.Module):
        self.model, self._memo = model, None

    def __call__(self) -> str:
        state = self.model.state_dict(keep_vars=True)
        versions = tuple((name, id(t), t._version) for name, t in state.items())
        if self._memo is None or self._memo[0] != versions:
            self._memo = (versions, model_fingerprint(self.model))
        return self._memo[1]
