"""Record the outputs of named layers of a live PyTorch model, safely.

Promises (each checked by a test in ``tests/test_capture.py``):

- hooks exist only inside :func:`capture_activations`; they are removed in ``finally``, so none
  stays registered after an error in the forward pass, an error in a hook, a cancel, or a
  ``KeyboardInterrupt``;
- the model is left exactly as it was: the ``training`` flag of every module is restored one
  by one, capture runs in eval mode under ``torch.no_grad()`` (so parameters, buffers such as
  BatchNorm running statistics and ``requires_grad`` flags are untouched);
- a layer name that does not exist raises an error listing the closest existing names;
- captures on one model never interfere: each holds the model's lock (:func:`model_lock`, the
  model held weakly) while it runs the model, and its hooks record only forward passes run by
  the thread that registered them, so two explorers (or threads) on one model each get exactly
  their own activations. Work that does not run the model (persistence, distances, mapper)
  still runs in parallel.
"""

from __future__ import annotations

import difflib
import functools
import math
import threading
import weakref
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Optional, Sequence

import numpy as np
import torch
from torch import nn

from ..core._progress import CancelEvent, ProgressCallback, check_cancel, report
from ..core.formatting import format_bytes
from ..core.errors import BudgetExceededError, TDAInputError, TDATypeError

__all__ = [
    "Activations",
    "capture_activations",
    "resolve_layers",
    "layer_names",
    "model_device",
    "as_labels",
    "estimate_capture_bytes",
    "DEFAULT_MAX_BYTES",
    "model_lock",
    "ELEMENTWISE",
    "elementwise_function",
]

#: Default memory budget of one capture (all chosen layers, all images), in bytes.
DEFAULT_MAX_BYTES = 2 * 1024**3

#: A per-layer reduction applied to each batch on the model's device before it is stored,
#: e.g. ``lambda t: t.mean(dim=(2, 3))`` to stream pooled activations. A reducer with a true
#: ``needs_image_index`` attribute is called as ``reducer(output, image_index=...)`` with the
#: images' indices (ndarray of int64, one per row of the batch), e.g. to draw a seeded random
#: position per image whatever the batch size and image order.
Reducer = Callable[[torch.Tensor], torch.Tensor]

#: The element-wise functions named by ``CloudSpec.activation`` (tda_widgets.clouds.ACTIVATIONS)
#: and ``capture_activations(activation=...)``: the names are declared there, the functions here.
ELEMENTWISE: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "relu": torch.relu,
    "gelu": torch.nn.functional.gelu,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "abs": torch.abs,
}


def elementwise_function(activation: Any, where: str = "capture_activations") -> Optional[Callable]:
    """The function ``activation`` names (see :data:`ELEMENTWISE`), a callable as it is, or None.

    Raises
    ------
    TDAInputError
        An unknown name, with the choices and the closest one (checked against the declaration
        of ``CloudSpec.activation``).
    """
    from ..clouds.make import CloudSpec

    CloudSpec.check(where, activation=activation)
    if activation is None or callable(activation):
        return activation
    return ELEMENTWISE[activation]


def _apply_elementwise(function: Callable, out: torch.Tensor, name: str) -> torch.Tensor:
    result = function(out)
    if not isinstance(result, torch.Tensor) or result.shape != out.shape:
        got = tuple(result.shape) if isinstance(result, torch.Tensor) else type(result).__name__
        raise TDAInputError(
            f"The 'activation' function {getattr(function, '__name__', function)!r} must be element-wise "
            f"(return a tensor of the shape it gets); on layer {name!r} it turned {tuple(out.shape)} into {got}. "
            "Pass an element-wise function such as torch.relu, or one of the names in "
            "tda_widgets.capture.ELEMENTWISE."
        )
    return result


_MODEL_LOCKS: "weakref.WeakKeyDictionary[nn.Module, threading.RLock]" = weakref.WeakKeyDictionary()
_MODEL_LOCKS_GUARD = threading.Lock()

#: How often a capture waiting for a model's lock checks its cancel event, in seconds.
_LOCK_POLL_S = 0.05


def model_lock(model: nn.Module) -> "threading.RLock":
    """The lock every capture on ``model`` holds while it runs the model.

    One re-entrant lock per model object, kept in a ``WeakKeyDictionary``: it never keeps a
    model alive. Hold it around your own forward passes when explorers may be capturing from
    the same model in the background.

    Examples
    --------
    >>> from torch import nn
    >>> m = nn.Linear(2, 2)
    >>> model_lock(m) is model_lock(m)
    True
    """
    with _MODEL_LOCKS_GUARD:
        lock = _MODEL_LOCKS.get(model)
        if lock is None:
            lock = _MODEL_LOCKS[model] = threading.RLock()
        return lock


@contextmanager
def _exclusive(model: nn.Module, progress: Optional[ProgressCallback] = None,
               cancel: Optional[CancelEvent] = None):
    """Hold ``model_lock(model)``; while another capture holds it, say so and stay cancellable."""
    lock = model_lock(model)
    if not lock.acquire(blocking=False):
        report(progress, 0, 1, "waiting for another capture on this model")
        while not lock.acquire(timeout=_LOCK_POLL_S):
            check_cancel(cancel, "activation capture (waiting for the model)")
    try:
        yield
    finally:
        lock.release()


def layer_names(model: nn.Module) -> list[str]:
    """Names of every sub-module of ``model`` as ``named_modules()`` gives them (root excluded)."""
    return [name for name, _ in model.named_modules() if name]


def resolve_layers(model: nn.Module, layers: str | Sequence[str] | None = None) -> list[str]:
    """Check layer names against ``model.named_modules()``.

    Parameters
    ----------
    model : torch.nn.Module
    layers : str, sequence of str or None
        Names as ``model.named_modules()`` gives them. ``None`` means every direct child of
        the model (``named_children()``) except Flatten, Identity and Dropout modules.

    Returns
    -------
    list of str
        The names, in the order given.

    Raises
    ------
    TDAInputError
        A name that does not exist (with the closest existing names), a duplicate, or an empty
        selection.
    """
    if not isinstance(model, nn.Module):
        raise TDATypeError(
            f"model must be a torch.nn.Module; got {type(model).__name__}. "
            "Pass the network itself (e.g. torchvision.models.resnet18()), not its state dict."
        )
    available = layer_names(model)
    if layers is None:
        # Reshaping and regularising modules repeat their neighbour's geometry: skip them.
        skip = (nn.Flatten, nn.Unflatten, nn.Identity, nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d)
        chosen = [name for name, module in model.named_children() if not isinstance(module, skip)]
        if not chosen:
            raise TDAInputError(
                f"{type(model).__name__} has no sub-modules to capture; pass a model built "
                "from layers (nn.Sequential or a Module with attributes)."
            )
        return chosen
    if isinstance(layers, str):
        layers = [layers]
    chosen = list(layers)
    if not chosen:
        raise TDAInputError("layers is empty; pass at least one layer name, e.g. "
                            f"{available[:3]}.")
    known = set(available)
    for name in chosen:
        if not isinstance(name, str):
            raise TDATypeError(f"layer names must be strings; got {name!r} ({type(name).__name__}).")
        if name not in known:
            close = difflib.get_close_matches(name, available, n=5, cutoff=0.4)
            hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            shown = ", ".join(repr(a) for a in available[:12])
            more = f" (and {len(available) - 12} more)" if len(available) > 12 else ""
            raise TDAInputError(
                f"Unknown layer {name!r} in {type(model).__name__}.{hint} "
                f"Layer names come from model.named_modules(): {shown}{more}. "
                "tda_widgets.describe_layers(model, example) lists them with their output shapes."
            )
    seen = set()
    for name in chosen:
        if name in seen:
            raise TDAInputError(f"Layer {name!r} is listed twice; list each layer once.")
        seen.add(name)
    return chosen


def model_device(model: nn.Module) -> torch.device:
    """The device of the model's first parameter or buffer (CPU for a model with neither)."""
    for tensor in model.parameters():
        return tensor.device
    for tensor in model.buffers():
        return tensor.device
    return torch.device("cpu")


def as_labels(labels: Any, n_images: int) -> Optional[np.ndarray]:
    """Labels as an int64 array of length ``n_images`` (``None`` passes through).

    Raises
    ------
    TDAInputError
        When the length differs from the number of images.
    """
    if labels is None:
        return None
    if isinstance(labels, torch.Tensor):
        labels = labels.detach().cpu().numpy()
    arr = np.asarray(labels)
    if arr.ndim != 1:
        raise TDAInputError(f"labels must be 1-D (one label per image); got shape {arr.shape}.")
    if len(arr) != n_images:
        raise TDAInputError(
            f"labels has {len(arr)} entries but there are {n_images} images; pass one label per "
            "image, in the same order (or labels=None)."
        )
    return arr


@dataclass
class Activations(Mapping):
    """Captured activations: a read-only mapping ``layer name -> float32 ndarray``.

    Attributes
    ----------
    arrays : dict of str to ndarray
        One array per layer, shape ``(n_images, *layer_output_shape)`` (or reduced), float32, CPU.
    outputs : ndarray or None
        The model's outputs (e.g. logits) of shape ``(n_images, ...)`` when requested.
    n_images : int
    """

    arrays: dict
    outputs: Optional[np.ndarray] = None
    n_images: int = 0
    meta: dict = field(default_factory=dict)

    def __getitem__(self, key: str) -> np.ndarray:
        return self.arrays[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.arrays)

    def __len__(self) -> int:
        return len(self.arrays)

    @property
    def predictions(self) -> Optional[np.ndarray]:
        """Arg-max of the outputs over the last axis (``None`` when outputs were not kept)."""
        if self.outputs is None or self.outputs.ndim != 2:
            return None
        return self.outputs.argmax(axis=1)


# ----------------------------------------------------------------------------- inputs


def _first_tensor(item: Any) -> torch.Tensor:
    """The input part of a dataset item: the item itself, or the first element of a tuple."""
    if isinstance(item, (tuple, list)):
        if not item:
            raise TDAInputError("A dataset item is an empty tuple; items must be images or (image, label).")
        item = item[0]
    if isinstance(item, dict):
        for key in ("image", "images", "pixel_values", "input", "x"):
            if key in item:
                item = item[key]
                break
    if isinstance(item, np.ndarray):
        item = torch.from_numpy(item)
    if not isinstance(item, torch.Tensor):
        raise TDATypeError(
            f"Expected image tensors; a dataset item held a {type(item).__name__}. Give the "
            "dataset a transform that returns tensors (e.g. torchvision.transforms.ToTensor())."
        )
    return item


def _iter_batches(inputs: Any, batch_size: int, order: Optional[np.ndarray] = None
                  ) -> tuple[Iterable[torch.Tensor], Optional[int]]:
    """Batches of input tensors from a tensor, an array, a Dataset or a DataLoader; with
    ``order`` (a permutation of the images), tensors and Datasets are visited in that order (a
    DataLoader batches itself: ``order`` is ignored)."""
    if isinstance(inputs, np.ndarray):
        inputs = torch.from_numpy(inputs)
    if isinstance(inputs, torch.Tensor):
        if inputs.ndim == 0:
            raise TDAInputError("inputs is a scalar tensor; pass a batch of images of shape (N, C, H, W).")
        n = int(inputs.shape[0])
        if order is not None:
            index = torch.as_tensor(order)
            return (inputs[index[i : i + batch_size]] for i in range(0, n, batch_size)), n
        return (inputs[i : i + batch_size] for i in range(0, n, batch_size)), n
    if isinstance(inputs, torch.utils.data.DataLoader):
        try:
            n = len(inputs.dataset)  # type: ignore[arg-type]
        except TypeError:
            n = None
        return (_first_tensor(b) for b in inputs), n
    if isinstance(inputs, torch.utils.data.Dataset) or (
        hasattr(inputs, "__getitem__") and hasattr(inputs, "__len__") and not isinstance(inputs, (str, bytes, dict))
    ):
        n = len(inputs)
        visit = range(n) if order is None else [int(i) for i in order]

        def gen():
            for start in range(0, n, batch_size):
                items = [_first_tensor(inputs[i]) for i in visit[start : start + batch_size]]
                yield torch.stack(items)

        return gen(), n
    raise TDATypeError(
        f"inputs must be a torch.Tensor, a numpy array, a torch Dataset or a DataLoader; got "
        f"{type(inputs).__name__}. Wrap images in torch.as_tensor(...) or a Dataset."
    )


# ----------------------------------------------------------------------------- hooks


def _make_hook(name: str, sink: dict, reducer: Optional[Reducer] = None, *, thread: Optional[int] = None,
               observer: Any = None, activation: Optional[Callable] = None):
    """A forward hook that stores a detached (optionally reduced) copy of a layer's output.

    Built apart from registration so that it can be unit-tested on a fake tensor. With
    ``thread`` (a ``threading.get_ident()``), forward passes run by any other thread are
    ignored: they belong to someone else, never to this capture. ``activation`` (an
    element-wise function) is applied first: the observer and the reducer see its result.
    """

    def hook(module: nn.Module, args: Any, output: Any) -> None:
        if thread is not None and threading.get_ident() != thread:
            return
        if not isinstance(output, torch.Tensor):
            what = type(output).__name__
            if isinstance(output, (tuple, list)):
                what += f" of {len(output)} ({', '.join(type(o).__name__ for o in output[:4])})"
            raise TDATypeError(
                f"Layer {name!r} returned a {what}, not a tensor; pick a sub-module whose output "
                "is a single tensor (see tda_widgets.describe_layers)."
            )
        if name in sink:
            raise TDAInputError(
                f"Layer {name!r} ran more than once in one forward pass (a module reused in the "
                "model, e.g. one ReLU shared by several blocks); its activations would be "
                "ambiguous. Capture a layer that runs once (e.g. its parent block)."
            )
        out = output.detach()
        if activation is not None:
            out = _apply_elementwise(activation, out, name)
        if observer is not None:  # sees the full output at once (before an in-place op changes it)
            observer.observe(name, out)
        if reducer is not None:
            out = reducer(out)
        if out.untyped_storage().data_ptr() == output.untyped_storage().data_ptr():
            # The rest of the forward pass may modify it in place (BatchNorm then
            # ReLU(inplace=True) in torchvision ResNets), so keep a copy.
            out = out.clone()
        sink[name] = out

    return hook


@contextmanager
def _hooks(model: nn.Module, names: Sequence[str], sink: dict, reducers: Optional[dict] = None, observer: Any = None,
           activation: Optional[Callable] = None):
    modules = dict(model.named_modules())
    handles = []
    thread = threading.get_ident()
    watched = set(getattr(observer, "layers", ()))
    try:
        for name in names:
            reducer = (reducers or {}).get(name)
            hook = _make_hook(name, sink, reducer, thread=thread, observer=observer if name in watched else None,
                              activation=activation)
            handles.append(modules[name].register_forward_hook(hook))
        yield
    finally:
        for handle in handles:
            handle.remove()


@contextmanager
def _eval_mode(model: nn.Module):
    """Eval mode and no_grad inside; every module's ``training`` flag restored afterwards."""
    flags = [(module, module.training) for module in model.modules()]
    try:
        model.eval()
        with torch.no_grad():
            yield
    finally:
        for module, flag in flags:
            module.training = flag


def _model_output(out: Any) -> Optional[torch.Tensor]:
    """The tensor of a model's output: itself, the first of a tuple, or 'logits'/'out' of a dict."""
    if isinstance(out, torch.Tensor):
        return out
    if isinstance(out, (tuple, list)) and out and isinstance(out[0], torch.Tensor):
        return out[0]
    if isinstance(out, Mapping):
        for key in ("logits", "out", "output"):
            if isinstance(out.get(key), torch.Tensor):
                return out[key]
    return None


def _forward(model: nn.Module, batch: torch.Tensor) -> Any:
    try:
        return model(batch)
    except (RuntimeError, ValueError, TypeError) as exc:
        if isinstance(exc, (TDAInputError, TDATypeError)):
            raise
        dtype_hint = "" if batch.is_floating_point() else (
            " Integer images (e.g. uint8 pixels 0-255) are passed as they are: convert them as "
            "in training, e.g. images.float() / 255 plus the same normalisation."
        )
        raise TDAInputError(
            f"The model rejected inputs of shape {tuple(batch.shape)} (dtype {batch.dtype}): "
            f"{type(exc).__name__}: {exc}. Pass images in the shape the model expects "
            "(batch first, e.g. (N, C, H, W) with the model's channel count and size)."
            + dtype_hint
        ) from exc


def estimate_capture_bytes(per_image_shapes: Mapping[str, Sequence[int]], n_images: int) -> int:
    """Bytes of float32 storage for ``n_images`` activations of layers with these per-image shapes."""
    return int(sum(4 * n_images * math.prod(shape) for shape in per_image_shapes.values()))


_fmt_bytes = format_bytes  # the package's one byte formatter (core.formatting)


def capture_activations(
    model: nn.Module,
    inputs: Any,
    layers: str | Sequence[str] | None = None,
    *,
    batch_size: int = 256,
    keep_outputs: bool = True,
    reducers: Optional[Mapping[str, Reducer]] = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    progress: Optional[ProgressCallback] = None,
    cancel: Optional[CancelEvent] = None,
    observer: Any = None,
    order: Optional[np.ndarray] = None,
    activation: Any = None,
) -> Activations:
    """Record the outputs of ``layers`` for every input image.

    Parameters
    ----------
    model : torch.nn.Module
        Any model; it is run in eval mode under ``torch.no_grad()`` and left exactly as it was.
    inputs : torch.Tensor, ndarray, Dataset or DataLoader
        Images, batch first. Dataset items may be ``image`` or ``(image, label, ...)``.
    layers : str, sequence of str or None
        Names from ``model.named_modules()``; ``None`` means every direct child.
    batch_size : int, default 256
        Images per forward pass (ignored for a DataLoader, which batches itself).
    keep_outputs : bool, default True
        Keep the model's outputs (for predictions).
    reducers : mapping of str to callable, optional
        Per-layer reduction applied on the model's device before storing (streaming pooling).
        A reducer with a true ``needs_image_index`` attribute also gets
        ``image_index=`` (the indices of the batch's images, ndarray of int64).
    max_bytes : int, default 2 GiB
        Budget for the stored activations; checked after a one-image probe and before anything
        is allocated for the whole set.
    progress : callable, optional
        Called as ``progress(images_done, n_images, message)`` after every batch.
    cancel : threading.Event-like, optional
        Checked between batches; when set, :class:`~tda_widgets.errors.Cancelled` is raised.
    observer : object, optional
        Streams statistics during the capture without storing anything: for each layer in its
        ``layers`` attribute (a subset of ``layers``), ``observer.observe(layer, output)`` gets
        the full output of each batch, then ``observer.end_batch()`` is called (e.g.
        :class:`~tda_widgets.topology.minibatch_cka.MinibatchCKA`).
    order : ndarray of int, optional
        A permutation of the images: they are fed to the model in this order (batches then mix
        what the order mixes) and stored back in their own order. Not for DataLoaders.
    activation : str or callable, optional
        An element-wise function applied to every layer's output before anything else sees it
        (reducers, the observer, the store): ``"relu"``, ``"gelu"``, ``"sigmoid"``, ``"tanh"``,
        ``"abs"`` (:data:`ELEMENTWISE`) or a callable, e.g. ``"relu"`` to record a BatchNorm's
        output after ReLU. The model itself is not changed.

    Returns
    -------
    Activations
        Mapping from layer name to a float32 ndarray of shape ``(n_images, ...)``.

    Raises
    ------
    TDAInputError
        Unknown layer, empty input, shapes the model rejects, non-finite activations, an unknown
        ``activation`` name or one that is not element-wise.
    TDATypeError
        Unsupported input type, or a layer output that is not a tensor.
    BudgetExceededError
        The activations would need more than ``max_bytes``.
    Cancelled
        ``cancel`` was set.
    """
    names = resolve_layers(model, layers)
    activation_fn = elementwise_function(activation)
    if int(batch_size) < 1:
        raise TDAInputError(f"batch_size must be a positive integer; got {batch_size}.")
    if order is not None and isinstance(inputs, torch.utils.data.DataLoader):
        order = None  # a DataLoader batches (and maybe shuffles) itself
    batches, n_total = _iter_batches(inputs, int(batch_size), order)
    if n_total == 0:
        raise TDAInputError("The input holds no images (0 items); pass at least 2 images.")
    device = model_device(model)
    if device.type == "meta":
        raise TDAInputError(
            "The model's parameters are on the 'meta' device: they have shapes but no values, "
            "so there is nothing to record. Materialise and load the weights first, e.g. "
            "model.to_empty(device='cpu') then tda_widgets.data.load_checkpoint(model, path) "
            "(or model.load_state_dict(...))."
        )
    param_dtype = next((p.dtype for p in model.parameters() if p.is_floating_point()), None)
    store: dict[str, Any] = {}
    output_batches: list[np.ndarray] = []
    nonfinite = {name: 0 for name in names}
    done = 0
    with _exclusive(model, progress, cancel), _eval_mode(model):
        for batch in batches:
            check_cancel(cancel, "activation capture")
            m = int(batch.shape[0])
            if m == 0:
                continue
            if batch.device.type == "meta":
                raise TDAInputError(
                    "The inputs are on the 'meta' device and hold no values; pass real tensors "
                    "(e.g. the images on 'cpu')."
                )
            batch = batch.to(device)
            if batch.is_floating_point() and param_dtype is not None:
                batch = batch.to(param_dtype)
            image_index = np.arange(done, done + m) if order is None else np.asarray(order[done : done + m])
            batch_reducers = {
                name: (functools.partial(reducer, image_index=image_index)
                       if getattr(reducer, "needs_image_index", False) else reducer)
                for name, reducer in (reducers or {}).items()
            }
            sink: dict[str, torch.Tensor] = {}
            with _hooks(model, names, sink, batch_reducers, observer, activation_fn):
                out = _forward(model, batch)
            missing = [name for name in names if name not in sink]
            if missing:
                raise TDAInputError(
                    f"Layers {missing} did not run in the forward pass (their hooks captured "
                    "nothing); pick layers that the model's forward() calls."
                )
            for name in names:
                if sink[name].shape[:1] != (m,):
                    raise TDAInputError(
                        f"Layer {name!r} returned shape {tuple(sink[name].shape)}, which is not "
                        f"batch-first for a batch of {m} images; capture a layer whose output has "
                        "one row per image."
                    )
            if not store:
                # Budget check on the first batch's shapes, before allocating for the whole set.
                n_alloc = n_total if n_total is not None else m
                shapes = {k: tuple(sink[k].shape[1:]) for k in names}
                need = estimate_capture_bytes(shapes, n_alloc)
                if need > max_bytes:
                    raise BudgetExceededError(
                        f"Capturing {len(names)} layers for {n_alloc} images needs about "
                        f"{_fmt_bytes(need)} but the budget (max_bytes) is {_fmt_bytes(max_bytes)}. "
                        "Use fewer images (n_images), fewer layers, a pooled point-cloud mode "
                        "(streamed with reducers), or raise max_bytes."
                    )
                for k in names:
                    store[k] = (np.empty((n_total, *shapes[k]), dtype=np.float32)
                                if n_total is not None else [])
            if observer is not None:
                observer.end_batch()
            rows = slice(done, done + m) if order is None else image_index
            for name in names:
                arr = sink[name].to("cpu", torch.float32).numpy()
                nonfinite[name] += int(arr.size - np.count_nonzero(np.isfinite(arr)))
                if isinstance(store[name], list):
                    store[name].append(arr)
                else:
                    store[name][rows] = arr
            if keep_outputs:
                out_t = _model_output(out)
                if out_t is not None and out_t.shape[:1] == (m,):
                    output_batches.append(out_t.detach().to("cpu", torch.float32).numpy())
            done += m
            report(progress, done, n_total or done, "capturing activations")
    if done == 0:
        raise TDAInputError("The input holds no images (every batch was empty); pass at least 2 images.")
    arrays = {
        name: (np.concatenate(value) if isinstance(value, list) else value[:done])
        for name, value in store.items()
    }
    outputs = np.concatenate(output_batches) if len(output_batches) and \
        sum(len(o) for o in output_batches) == done else None
    if outputs is not None and order is not None:
        visited, outputs = outputs, np.empty_like(outputs)
        outputs[np.asarray(order)] = visited
    bad = {name: count for name, count in nonfinite.items() if count}
    if bad:
        detail = "; ".join(
            f"layer {name!r}: {count} of {arrays[name].size} values" for name, count in bad.items()
        )
        raise TDAInputError(
            f"Non-finite (NaN or infinite) activations: {detail}. Check the inputs for NaN/inf "
            "and the model's weights (a diverged checkpoint), or normalise the images."
        )
    return Activations(arrays=arrays, outputs=outputs, n_images=done,
                       meta={"layers": list(names), "device": str(device)})


def describe_layers(model: nn.Module, example: Any) -> list[dict]:
    """Every named module with its output shape, from one forward pass on one example.

    Parameters
    ----------
    model : torch.nn.Module
    example : tensor, ndarray, Dataset or DataLoader
        Only the first image is used.

    Returns
    -------
    list of dict
        ``{"name", "type", "output_shape" (per image, or None if not a tensor), "calls"}`` in
        ``named_modules()`` order, for modules that ran.
    """
    batches, _ = _iter_batches(example, 1)
    batch = next(iter(batches), None)
    if batch is None or batch.shape[0] == 0:
        raise TDAInputError("example holds no image; pass one image batch-first, e.g. images[:1].")
    batch = batch[:1].to(model_device(model))
    modules = [(name, module) for name, module in model.named_modules() if name]
    seen: dict[str, dict] = {}

    thread = threading.get_ident()

    def make(name, module):
        def hook(mod, args, output):
            if threading.get_ident() != thread:  # another thread's forward pass
                return
            entry = seen.setdefault(name, {"name": name, "type": type(module).__name__,
                                           "output_shape": None, "calls": 0})
            entry["calls"] += 1
            if isinstance(output, torch.Tensor):
                entry["output_shape"] = tuple(output.shape[1:])
        return hook

    handles = []
    with _exclusive(model), _eval_mode(model):
        try:
            for name, module in modules:
                handles.append(module.register_forward_hook(make(name, module)))
            _forward(model, batch)
        finally:
            for handle in handles:
                handle.remove()
    return [seen[name] for name, _ in modules if name in seen]


__all__.append("describe_layers")
