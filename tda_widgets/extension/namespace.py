"""What the JupyterLab "TDA" panel asks the kernel: the models and images in a namespace.

The panel (``labextension/src``) runs these through its kernel connection as *silent* user
expressions (no output, no execution count, no history)::

    __import__("tda_widgets.extension.namespace", fromlist=["_"]).panel_json(globals())
    __import__("tda_widgets.extension.namespace", fromlist=["_"]).panel_json(globals(), "describe", model="net", images="x")

Listing (:func:`inspect_namespace`) never runs a model and never formats a value (no
``repr``/``str`` of user objects, only type names, shapes, lengths and parameter counts), and
it does not import torch or numpy: a kernel that has not imported torch cannot hold a model.
It is an ``isinstance`` check per variable, so hundreds of variables take milliseconds.

:func:`describe_model` is what the panel asks for once the user picks a model: the layers and
what each preset of :data:`tda_widgets.layers.PRESETS` selects. Given images it runs the model
on **one** image (:func:`tda_widgets.capture.describe_layers`) for the output shapes, as
``%tda layers model images`` does; it is only called on the user's choice, never on refresh.
"""

from __future__ import annotations

import json
import sys
from typing import Any, Optional

__all__ = ["inspect_namespace", "describe_model", "panel_json"]

#: Names the panel never lists (IPython's own).
_HIDDEN = frozenset({"In", "Out", "exit", "quit", "get_ipython"})
#: At most this many entries per list (a namespace of thousands of tensors stays readable).
MAX_ENTRIES = 200
#: At most this many layers in a description.
MAX_LAYERS = 1000


def _shape(value) -> list:
    return [int(n) for n in value.shape]


def _length(value) -> Optional[int]:
    try:
        return int(len(value))
    except Exception:  # a Dataset without __len__ (IterableDataset) or a broken one
        return None


def _model_entry(name: str, model) -> dict:
    n_params = 0
    device = None
    try:
        for parameter in model.parameters():
            n_params += int(parameter.numel())
            if device is None:
                device = str(parameter.device)
    except Exception:
        pass
    return {"name": name, "class": type(model).__name__, "parameters": n_params,
            "device": device or "cpu", "training": bool(getattr(model, "training", False))}


def inspect_namespace(namespace: dict) -> dict:
    """The models and what can serve as images (or labels) in ``namespace``, as plain data.

    Returns
    -------
    dict
        ``{"models": [{"name", "class", "parameters", "device", "training"}],
        "images": [{"name", "kind" ("tensor" | "array" | "dataset" | "dataloader"), "class",
        "shape" (tensors and arrays) or "length" (datasets, dataloaders: number of images),
        "batch_size" (dataloaders)}], "labels": [{"name", "kind", "shape"}],
        "truncated": bool}``. Private names (``_x``) and IPython's own are left out;
        models are ``torch.nn.Module`` instances; images are tensors and arrays of at least two
        dimensions (the first is the batch), ``torch.utils.data.Dataset`` and ``DataLoader``;
        labels are one-dimensional integer tensors or arrays.
    """
    torch = sys.modules.get("torch")
    numpy = sys.modules.get("numpy")
    module_cls = tensor_cls = dataset_cls = loader_cls = None
    if torch is not None:
        module_cls = torch.nn.Module
        tensor_cls = torch.Tensor
        data = getattr(getattr(torch, "utils", None), "data", None)
        if data is not None:
            dataset_cls, loader_cls = data.Dataset, data.DataLoader
    array_cls = numpy.ndarray if numpy is not None else None
    models: list = []
    images: list = []
    labels: list = []
    truncated = False
    for name, value in list(namespace.items()):
        if not isinstance(name, str) or name.startswith("_") or name in _HIDDEN or not name.isidentifier() \
                or isinstance(value, type):
            continue
        if len(models) >= MAX_ENTRIES or len(images) >= MAX_ENTRIES or len(labels) >= MAX_ENTRIES:
            truncated = True
            break
        try:
            if module_cls is not None and isinstance(value, module_cls):
                models.append(_model_entry(name, value))
            elif (tensor_cls is not None and isinstance(value, tensor_cls)) or \
                    (array_cls is not None and isinstance(value, array_cls)):
                kind = "tensor" if tensor_cls is not None and isinstance(value, tensor_cls) else "array"
                ndim = int(value.ndim)
                if ndim >= 2:
                    images.append({"name": name, "kind": kind, "class": type(value).__name__,
                                   "shape": _shape(value), "dtype": str(value.dtype)})
                elif ndim == 1 and _is_integer(value, kind, torch, numpy):
                    labels.append({"name": name, "kind": kind, "shape": _shape(value)})
            elif loader_cls is not None and isinstance(value, loader_cls):
                images.append({"name": name, "kind": "dataloader", "class": type(value).__name__,
                               "length": _length(value.dataset), "batch_size": value.batch_size})
            elif dataset_cls is not None and isinstance(value, dataset_cls):
                images.append({"name": name, "kind": "dataset", "class": type(value).__name__,
                               "length": _length(value)})
        except Exception:  # a value whose attributes raise is left out, never shown
            continue
    return {"models": models, "images": images, "labels": labels, "truncated": truncated}


def _is_integer(value, kind: str, torch, numpy) -> bool:
    if kind == "tensor":
        return not value.dtype.is_floating_point and not value.dtype.is_complex and value.dtype != torch.bool
    return numpy.issubdtype(value.dtype, numpy.integer)


def describe_model(namespace: dict, model: str, images: Optional[str] = None) -> dict:
    """A model's layers and the layers each preset selects (``images`` adds output shapes).

    Returns
    -------
    dict
        ``{"model", "class", "layers": [{"name", "type", "output_shape"?}],
        "presets": {preset: {"layers": [...]} or {"error": message}}, "error"?}``.
        With ``images`` (a variable name), the model runs on the first image once.
    """
    from ..layers import PRESETS, select_layers

    out: dict = {"model": model, "layers": [], "presets": {}}
    value = namespace.get(model)
    torch = sys.modules.get("torch")
    if torch is None or not isinstance(value, torch.nn.Module):
        out["error"] = f"{model!r} is not a torch.nn.Module in the kernel (any more)."
        return out
    out["class"] = type(value).__name__
    example = namespace.get(images) if images else None
    shapes = None
    if example is not None:
        from ..capture import describe_layers

        try:
            shapes = {entry["name"]: entry["output_shape"] for entry in describe_layers(value, example)}
        except Exception as exc:
            out["shape_error"] = f"{type(exc).__name__}: {exc}"[:500]
    for name, module in value.named_modules():
        if not name:
            continue
        if len(out["layers"]) >= MAX_LAYERS:
            out["layers_truncated"] = True
            break
        entry = {"name": name, "type": type(module).__name__}
        if shapes is not None:
            shape = shapes.get(name)
            entry["output_shape"] = list(shape) if shape is not None else None
        out["layers"].append(entry)
    for preset in PRESETS:
        try:
            chosen = select_layers(value, preset, example=example if shapes is not None else None)
            out["presets"][preset] = {"layers": chosen}
        except Exception as exc:
            out["presets"][preset] = {"error": str(exc)[:500]}
    return out


class _JSONText:
    """A value whose text/plain representation is its JSON, as the panel reads it."""

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return self.text

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(self.text)


def panel_json(namespace: dict, request: str = "list", **kwargs: Any) -> _JSONText:
    """The panel's entry point: ``request`` is ``"list"`` or ``"describe"``; errors become JSON."""
    try:
        if request == "list":
            result = inspect_namespace(namespace)
        elif request == "describe":
            result = describe_model(namespace, **kwargs)
        else:
            result = {"error": f"unknown request {request!r}"}
    except Exception as exc:  # never a traceback in the panel's kernel messages
        result = {"error": f"{type(exc).__name__}: {exc}"[:500]}
    return _JSONText(json.dumps(result))
