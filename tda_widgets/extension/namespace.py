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
what each preset of :data:`tda_widgets.LAYER_PRESETS` selects. Given images it runs the model
on **one** image (:func:`tda_widgets.capture.describe_layers`) for the output shapes, as
``%tda layers model images`` does; it is only called on the user's choice, never on refresh.

:func:`estimate_explorer` is the memory estimate the panel shows before Insert: the package's
own :func:`tda_widgets.budget.estimate_study` for the chosen model, images, layers, explorer and
settings (one forward pass on one image), compared with the budgets of the explorer's
:class:`~tda_widgets.Study`; a study over a budget comes back with
:func:`tda_widgets.budget.check_budget`'s message (which knob to turn).
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import json
import keyword
import sys
import types
from typing import Any, Optional

__all__ = ["inspect_namespace", "describe_model", "resolve", "estimate_explorer", "panel_json", "PANEL_SETTINGS"]

#: Names the panel never lists (IPython's own).
_HIDDEN = frozenset({"In", "Out", "exit", "quit", "get_ipython"})
#: At most this many entries per list (a namespace of thousands of tensors stays readable).
MAX_ENTRIES = 200
#: At most this many layers in a description.
MAX_LAYERS = 1000
#: The settings the panel offers beside layers and images: CloudSpec's declared options, which
#: every explorer takes (their choices, defaults and help are read from the declaration).
PANEL_SETTINGS = ("mode", "max_points")


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


#: At most this many attributes or items are read from one object one level down.
MAX_CHILDREN = 200
#: At most this many objects are looked into (a namespace of thousands of objects stays fast).
MAX_PARENTS = 500
#: How long a fit check waits for a model another capture holds, in seconds.
FIT_LOCK_TIMEOUT_S = 2.0

_SCALARS = (str, bytes, bytearray, int, float, complex, bool, type(None), range, slice)


def _is_leaf(value, torch, numpy) -> bool:
    """Values the listing never looks into: plain scalars, containers other than dicts, modules,
    classes and callables, and what is itself a model, tensor, array or dataset."""
    if isinstance(value, _SCALARS) or isinstance(value, (list, tuple, set, frozenset, type, types.ModuleType)):
        return True
    if isinstance(value, (types.FunctionType, types.BuiltinFunctionType, types.MethodType, functools.partial)):
        return True
    if numpy is not None and isinstance(value, numpy.ndarray):
        return True
    if torch is not None:
        data = getattr(getattr(torch, "utils", None), "data", None)
        leaves = (torch.nn.Module, torch.Tensor) + ((data.Dataset, data.DataLoader) if data is not None else ())
        if isinstance(value, leaves):
            return True
    return False


def _instance_dict(value) -> Optional[dict]:
    """An instance's own ``__dict__``, read only when the class keeps it in the ordinary slot (a
    class that defines ``__dict__`` as a property is not asked: a property may run code)."""
    for klass in type(value).__mro__:
        slot = klass.__dict__.get("__dict__")
        if slot is not None:
            if not isinstance(slot, (types.GetSetDescriptorType, types.MemberDescriptorType)):
                return None
            break
    else:
        return None
    try:
        found = object.__getattribute__(value, "__dict__")
    except Exception:
        return None
    return found if type(found) is dict else None


def _slot_value(value, name: str):
    """A dataclass field kept in ``__slots__``: read through its member descriptor (plain storage,
    no user code); anything else (a property, a custom descriptor) is not read."""
    for klass in type(value).__mro__:
        slot = klass.__dict__.get(name)
        if slot is not None:
            if isinstance(slot, types.MemberDescriptorType):
                return slot.__get__(value, type(value))
            break
    raise AttributeError(name)


def _children(value) -> list:
    """``(step, child)`` one level into ``value``: a dict's string keys (``["key"]``), a
    dataclass's fields and an instance's ``__dict__`` entries (``.name``), public names only.
    Nothing is called: no ``getattr`` of a property or descriptor, no ``repr``."""
    out: list = []
    if isinstance(value, dict):
        for key, child in list(dict.items(value))[:MAX_CHILDREN]:
            if isinstance(key, str) and key and not key.startswith("_") and key.isprintable():
                out.append((f"[{json.dumps(key)}]", child))
        return out
    own = _instance_dict(value)
    names: list = []
    if dataclasses.is_dataclass(value):
        names = [f.name for f in dataclasses.fields(value)]
    if own is not None:
        names += [n for n in own if n not in names]
    for name in names[:MAX_CHILDREN]:
        if not isinstance(name, str) or name.startswith("_") or not name.isidentifier() or keyword.iskeyword(name):
            continue
        try:
            child = own[name] if own is not None and name in own else _slot_value(value, name)
        except Exception:
            continue
        out.append((f".{name}", child))
    return out


def _reachable(namespace: dict, torch, numpy) -> list:
    """``(expression, value)``: the namespace's public names, then what each holds one level
    down (``demo.model``, ``models["a"]``), each object once, under its first expression."""
    top: list = []
    for name, value in list(namespace.items()):
        if not isinstance(name, str) or name.startswith("_") or name in _HIDDEN or not name.isidentifier() \
                or isinstance(value, type):
            continue
        top.append((name, value))
    seen = {id(value) for _, value in top}
    out = list(top)
    parents = 0
    for name, value in top:
        if _is_leaf(value, torch, numpy):
            continue
        parents += 1
        if parents > MAX_PARENTS:
            break
        try:
            children = _children(value)
        except Exception:
            continue
        for step, child in children:
            if id(child) in seen or not _is_data(child, torch, numpy):
                continue
            seen.add(id(child))
            out.append((name + step, child))
    return out


def _is_data(value, torch, numpy) -> bool:
    """What the listing may show: a model, a tensor, an array, a Dataset or a DataLoader."""
    if numpy is not None and isinstance(value, numpy.ndarray):
        return True
    if torch is None:
        return False
    data = getattr(getattr(torch, "utils", None), "data", None)
    kinds = (torch.nn.Module, torch.Tensor) + ((data.Dataset, data.DataLoader) if data is not None else ())
    return isinstance(value, kinds)


def resolve(namespace: dict, expression: str):
    """The value of an expression the listing gave (``x``, ``demo.model``, ``models["a"]``),
    read the way the listing reads it (no property, no descriptor, no ``eval``).

    Raises
    ------
    KeyError
        When ``expression`` is not of that form or names nothing (any more).
    """
    try:
        tree = ast.parse(expression, mode="eval").body
    except SyntaxError:
        raise KeyError(expression) from None
    step = None
    if isinstance(tree, ast.Attribute) and isinstance(tree.value, ast.Name):
        step, base = f".{tree.attr}", tree.value.id
    elif isinstance(tree, ast.Subscript) and isinstance(tree.value, ast.Name) and \
            isinstance(tree.slice, ast.Constant) and isinstance(tree.slice.value, str):
        step, base = f"[{json.dumps(tree.slice.value)}]", tree.value.id
    elif isinstance(tree, ast.Name):
        base = tree.id
    else:
        raise KeyError(expression)
    if base not in namespace:
        raise KeyError(expression)
    value = namespace[base]
    if step is None:
        return value
    for found_step, child in _children(value):
        if found_step == step:
            return child
    raise KeyError(expression)


def _lookup(namespace: dict, expression: Optional[str]):
    if not expression:
        return None
    try:
        return resolve(namespace, expression)
    except KeyError:
        return None


def inspect_namespace(namespace: dict) -> dict:
    """The models and what can serve as images (or labels) in ``namespace``, as plain data.

    Returns
    -------
    dict
        ``{"models": [{"name", "class", "parameters", "device", "training"}],
        "images": [{"name", "kind" ("tensor" | "array" | "dataset" | "dataloader"), "class",
        "shape" (tensors and arrays) or "length" (datasets, dataloaders: number of images),
        "batch_size" (dataloaders), "count" (number of images), "labels" (names of the label
        arrays of that length), "own_labels" (datasets and dataloaders bring their labels)}],
        "labels": [{"name", "kind", "shape"}], "truncated": bool}``. Private names (``_x``) and IPython's own are left out;
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
    for name, value in _reachable(namespace, torch, numpy):
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
    for entry in images:
        count = entry["shape"][0] if "shape" in entry else entry.get("length")
        entry["count"] = count
        # the labels that fit these images: one per image
        entry["labels"] = [label["name"] for label in labels if count is not None and label["shape"][0] == count]
        # a Dataset (or a DataLoader's) gives its own labels (targets or (image, label) items)
        entry["own_labels"] = entry["kind"] in ("dataset", "dataloader")
        # whether the chosen model takes them: unknown until a model is chosen (describe_model)
        entry["fits"], entry["why"] = None, ""
    return {"models": models, "images": images, "labels": labels, "truncated": truncated}


def _is_integer(value, kind: str, torch, numpy) -> bool:
    if kind == "tensor":
        return not value.dtype.is_floating_point and not value.dtype.is_complex and value.dtype != torch.bool
    return numpy.issubdtype(value.dtype, numpy.integer)


def _fit(model, data, torch) -> tuple:
    """``(fits, why)``: one image of ``data`` through ``model`` (eval mode, no grad, under the
    model's lock, as the estimate's forward pass): ``(True, "")``, ``(False, reason)``, or
    ``(None, reason)`` when it could not be tried."""
    from ..capture.hooks import _eval_mode, _iter_batches, model_device

    try:
        batches, _ = _iter_batches(data, 1)
        batch = next(iter(batches), None)
    except Exception as exc:
        return False, f"no image could be read: {type(exc).__name__}: {exc}"[:300]
    if batch is None or batch.shape[0] == 0:
        return False, "holds no image"
    try:
        with _eval_mode(model):
            model(batch[:1].to(model_device(model)))
    except Exception as exc:
        shape = "×".join(str(n) for n in batch.shape[1:])
        return False, f"the model rejects one image of shape {shape}: {type(exc).__name__}: {exc}"[:300]
    return True, ""


def describe_model(namespace: dict, model: str, images: Optional[str] = None) -> dict:
    """A model's layers, the layers each preset selects, and which image sets it accepts.

    Parameters
    ----------
    namespace : dict
        The kernel's globals.
    model : str
        An expression of the listing (``"net"``, ``"demo.model"``, ``'models["a"]'``).
    images : str, optional
        The chosen images' expression: their output shapes are read on its first image when
        the model accepts it (else on the first image set it accepts).

    Returns
    -------
    dict
        ``{"model", "class", "layers": [{"name", "type", "output_shape"?}],
        "presets": {layer preset: {"layers": [...]} or {"error": message}} (the layer presets of
        :data:`~tda_widgets.capture.layers.LAYER_PRESETS`), "explorers": {name: class},
        "settings": {name: {"default", "choices", "minimum", "help", "label"}},
        "images": [image entry of :func:`inspect_namespace` with ``"fits"`` (True / False /
        None: unknown) and ``"why"`` (the reason it does not fit, or why it is unknown)],
        "default_images": the first image set that fits (or None), "shapes_from": the image set
        the output shapes come from, "error"?}``. Each image set costs one forward pass of one
        image, under the model's lock; this runs only when the user chooses a model.
    """
    from ..capture.hooks import model_lock
    from ..capture.layers import LAYER_PRESETS, select_layers

    out: dict = {"model": model, "layers": [], "presets": {}, "explorers": _explorers(), "settings": _settings(),
                 "images": [], "default_images": None, "shapes_from": None}
    value = _lookup(namespace, model)
    torch = sys.modules.get("torch")
    if torch is None or not isinstance(value, torch.nn.Module):
        out["error"] = f"{model!r} is not a torch.nn.Module in the kernel (any more)."
        return out
    out["class"] = type(value).__name__
    entries = inspect_namespace(namespace)["images"]
    example = None
    shapes = None
    lock = model_lock(value)
    if not lock.acquire(timeout=FIT_LOCK_TIMEOUT_S):
        for entry in entries:
            entry["why"] = "not checked: the model is busy (an explorer is running it); choose the model again later"
    else:
        try:
            for entry in entries:
                data = _lookup(namespace, entry["name"])
                entry["fits"], entry["why"] = _fit(value, data, torch) if data is not None else (None, "gone")
            fitting = [entry["name"] for entry in entries if entry["fits"]]
            out["default_images"] = fitting[0] if fitting else None
            chosen = images if images in fitting else out["default_images"]
            example = _lookup(namespace, chosen)
            if example is not None:
                from ..capture.hooks import describe_layers

                out["shapes_from"] = chosen
                try:
                    shapes = {entry["name"]: entry["output_shape"] for entry in describe_layers(value, example)}
                except Exception as exc:
                    out["shape_error"] = f"{type(exc).__name__}: {exc}"[:500]
        finally:
            lock.release()
    out["images"] = entries
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
    for preset in LAYER_PRESETS:
        try:
            chosen_layers = select_layers(value, preset, example=example if shapes is not None else None)
            out["presets"][preset] = {"layers": chosen_layers}
        except Exception as exc:
            out["presets"][preset] = {"error": str(exc)[:500]}
    return out


def _explorers() -> dict:
    from .magics import EXPLORERS

    return dict(EXPLORERS)


def _settings() -> dict:
    from ..clouds.make import CloudSpec

    declared = CloudSpec.options()
    return {name: {"default": declared[name].default,
                   "choices": list(declared[name].choices) if declared[name].choices else None,
                   "minimum": declared[name].minimum, "help": declared[name].help, "label": declared[name].text}
            for name in PANEL_SETTINGS}


def _explorer_work(explorer: str) -> tuple:
    """What ``explorer`` computes, for its memory estimate: ``(maxdim, cka)``, the highest
    homology dimension of its persistence step and its CKA estimator (None: no CKA).

    The mapper explorer computes no persistence; its term is H0's (the cloud's distance matrix),
    a bound on its nearest-neighbour radius and clustering."""
    from ..topology.cka import CKASpec
    from ..topology.distances import DistanceSpec
    from ..topology.persistence import PersistenceSpec

    ph, dist, cka = PersistenceSpec().maxdim, max(DistanceSpec().dims), CKASpec().estimator
    work = {"persistence": (ph, None), "distances": (dist, cka), "mapper": (0, None),
            "dashboard": (max(ph, dist), cka)}
    if explorer not in work or explorer not in _explorers():
        raise ValueError(f"unknown explorer {explorer!r}; choose one of {sorted(_explorers())}")
    return work[explorer]


def estimate_explorer(namespace: dict, model: str, images: str, layers: Any, explorer: str = "persistence",
                      mode: Any = None, max_points: Any = None, n_images: Any = None) -> dict:
    """The memory estimate of an explorer on ``model`` and ``images`` (variable names), before
    anything is captured: :func:`tda_widgets.budget.estimate_study` on one image, with the
    explorer's persistence dimension and CKA estimator and the chosen cloud settings.

    Parameters
    ----------
    namespace : dict
        The kernel's globals.
    model, images : str
        Expressions of the listing (``"net"``, ``"demo.model"``).
    layers : str or list of str
        A preset name or layer names, as the inserted code passes them.
    explorer : str
        A key of :data:`tda_widgets.extension.magics.EXPLORERS`.
    mode, max_points : optional
        CloudSpec settings (default: the declared defaults).
    n_images : int, optional
        The explorer's ``n_images`` (default: every image).

    Returns
    -------
    dict
        ``{"explorer", "n_images", "peak_bytes", "capture_bytes", "clouds_bytes", "forward_bytes",
        "cka_bytes", "cka_estimator", "maxdim", "budget_bytes" (the study's ``max_bytes``),
        "persistence_budget_bytes" (its ``max_memory_bytes``), "layers": [{"layer", "output_shape",
        "mode", "captured_bytes", "cloud_points", "cloud_dims", "persistence_bytes"}],
        "over_budget": bool, "warnings": [message], "summary": str}``, or ``{"error": message}``.
    """
    import inspect

    from ..engine.budget import check_budget, estimate_study, format_bytes
    from ..clouds.make import CloudSpec
    from ..engine.study import Study
    from ..core.errors import BudgetExceededError
    from ..capture.inputs import count_images
    from ..topology.persistence import check_persistence_budget

    torch = sys.modules.get("torch")
    net, data = _lookup(namespace, model), _lookup(namespace, images)
    if torch is None or not isinstance(net, torch.nn.Module):
        return {"error": f"{model!r} is not a torch.nn.Module in the kernel (any more)."}
    if data is None:
        return {"error": f"{images!r} is not defined in the kernel (any more)."}
    maxdim, cka = _explorer_work(explorer)
    declared = CloudSpec()
    spec = CloudSpec(mode=declared.mode if mode is None else mode,
                     max_points=declared.max_points if max_points is None else int(max_points))
    total = count_images(data)
    n = total if n_images is None else int(n_images)
    if not 2 <= n <= total:  # as the explorer's Study would refuse it
        return {"error": f"images used (n_images) must be between 2 and the number of images ({total}); got {n}."}
    defaults = {name: p.default for name, p in inspect.signature(Study).parameters.items()}
    budget, persistence_budget = int(defaults["max_bytes"]), int(defaults["max_memory_bytes"])
    est = estimate_study(net, data, layers, n, spec, maxdim=maxdim, stream_pooled=defaults["stream_pooled"],
                         capture_bytes=budget, cka=cka)
    warnings = []
    if est.peak_bytes > budget:
        try:
            check_budget(net, data, layers, n, spec, max_bytes=budget, maxdim=maxdim,
                         stream_pooled=defaults["stream_pooled"], capture_bytes=budget, cka=cka)
        except BudgetExceededError as exc:
            warnings.append(str(exc))
    if explorer != "mapper":
        for row in est.layers:
            try:
                check_persistence_budget(row.cloud_points, row.cloud_dims, maxdim, persistence_budget)
            except BudgetExceededError as exc:
                warnings.append(f"Layer {row.layer!r}: {exc}")
    summary = (f"{len(est.layers)} layer(s), {n} images: estimated peak {format_bytes(est.peak_bytes)} "
               f"of the {format_bytes(budget)} budget (activations {format_bytes(est.capture_bytes)}, clouds "
               f"{format_bytes(est.clouds_bytes)}, forward pass {format_bytes(est.forward_bytes)}"
               + (f", CKA ({est.cka_estimator}) {format_bytes(est.cka_bytes)}" if cka else "") + ")")
    return {"explorer": explorer, "n_images": n, "peak_bytes": est.peak_bytes, "capture_bytes": est.capture_bytes,
            "clouds_bytes": est.clouds_bytes, "forward_bytes": est.forward_bytes, "cka_bytes": est.cka_bytes,
            "cka_estimator": est.cka_estimator, "maxdim": maxdim, "budget_bytes": budget,
            "persistence_budget_bytes": persistence_budget,
            "layers": [{"layer": r.layer, "output_shape": list(r.output_shape), "mode": r.mode,
                        "captured_bytes": r.captured_bytes, "cloud_points": r.cloud_points,
                        "cloud_dims": r.cloud_dims, "persistence_bytes": r.persistence_bytes} for r in est.layers],
            "over_budget": bool(warnings), "warnings": warnings, "summary": summary}


class _JSONText:
    """A value whose text/plain representation is its JSON, as the panel reads it."""

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return self.text

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(self.text)


def panel_json(namespace: dict, request: str = "list", **kwargs: Any) -> _JSONText:
    """The panel's entry point: ``request`` is ``"list"``, ``"describe"`` or ``"estimate"``;
    errors become JSON."""
    try:
        if request == "list":
            result = inspect_namespace(namespace)
        elif request == "describe":
            result = describe_model(namespace, **kwargs)
        elif request == "estimate":
            result = estimate_explorer(namespace, **kwargs)
        else:
            result = {"error": f"unknown request {request!r}"}
    except Exception as exc:  # never a traceback in the panel's kernel messages
        result = {"error": f"{type(exc).__name__}: {exc}"[:500]}
    return _JSONText(json.dumps(result))
