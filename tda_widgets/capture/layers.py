"""Layer presets for big models: pick many layers by kind instead of listing their names.

A ResNet-18 has 60-odd named modules; a study usually wants one family of them:

============  ==================================================================================
preset        layers
============  ==================================================================================
``blocks``    every residual block: torchvision ``BasicBlock`` / ``Bottleneck`` /
              ``InvertedResidual`` (and any module whose class name ends in ``Block``,
              ``Bottleneck`` or ``Residual``), else the children of ``layerN`` Sequentials
``stages``    ``layer1`` .. ``layerN`` for ResNets; otherwise (needs ``example``) the last module
              of each spatial resolution among the children of ``features`` (VGG, MobileNet) or
              of the model
``conv``      every ``nn.Conv2d``
``linear``    every ``nn.Linear``
``batchnorm`` every ``nn.BatchNorm1d`` / ``2d`` / ``3d`` (the study's mapper hooks these, with ReLU
              applied: ``CloudSpec(activation="relu")``)
``children``  the model's direct children except ``Flatten`` / ``Dropout`` / ``Identity`` (the
              default layers of :class:`tda_widgets.Study`)
============  ==================================================================================

Names come back in ``model.named_modules()`` order (input to output for sequential models).
With ``example`` (one image batch-first), modules that do not run in the forward pass or do
not return a tensor are left out, using :func:`tda_widgets.capture.describe_layers`.

:class:`tda_widgets.Study` (and so every widget) accepts a preset name wherever it accepts
``layers``: a string that is not a layer name but is a preset is expanded.
"""

from __future__ import annotations

import re
from typing import Any, Optional, Sequence

from torch import nn

from ..core.errors import TDAInputError, TDATypeError

__all__ = ["LAYER_PRESETS", "select_layers", "expand_layers"]


def __getattr__(name: str):
    """``PRESETS``, the older name of :data:`LAYER_PRESETS` (renamed so that "preset" alone means
    a study preset, :mod:`tda_widgets.presets`), still resolves, with a DeprecationWarning."""
    if name == "PRESETS":
        import warnings

        warnings.warn("tda_widgets.layers.PRESETS is now LAYER_PRESETS (a 'preset' alone is a study preset); "
                      "the old name goes in the next minor release.", DeprecationWarning, stacklevel=2)
        return LAYER_PRESETS
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

#: The preset names accepted by :func:`select_layers`, with a one-line description each.
LAYER_PRESETS = {
    "blocks": "every residual block (BasicBlock, Bottleneck, InvertedResidual, children of layerN)",
    "stages": "layer1..layerN for ResNets, else the last module at each spatial resolution",
    "conv": "every nn.Conv2d",
    "linear": "every nn.Linear",
    "batchnorm": "every nn.BatchNorm1d/2d/3d (the study's mapper layers, with CloudSpec(activation='relu'))",
    "children": "direct children except Flatten, Dropout and Identity",
}

_SKIPPED_CHILDREN = (nn.Flatten, nn.Unflatten, nn.Identity, nn.Dropout, nn.Dropout1d, nn.Dropout2d,
                     nn.Dropout3d)
_STAGE_NAME = re.compile(r"^layer\d+$")
_BLOCK_CLASS = re.compile(r"(Block|Bottleneck|Residual)$")


def _torchvision_block_types() -> tuple:
    """torchvision's residual block classes (an empty tuple when torchvision is missing)."""
    try:
        from torchvision.models import mobilenetv2, mobilenetv3, resnet
    except Exception:  # pragma: no cover - torchvision is optional
        return ()
    return (resnet.BasicBlock, resnet.Bottleneck, mobilenetv2.InvertedResidual, mobilenetv3.InvertedResidual)


def _outermost(names: Sequence[str]) -> list[str]:
    """Drop names nested inside another name of the list (a block inside a block)."""
    kept: list[str] = []
    for name in names:
        if not any(name.startswith(parent + ".") for parent in kept):
            kept.append(name)
    return kept


def _blocks(model: nn.Module) -> list[str]:
    types = _torchvision_block_types()
    found = [name for name, module in model.named_modules()
             if name and (isinstance(module, types) or _BLOCK_CLASS.search(type(module).__name__))]
    if not found:
        for name, child in model.named_children():
            if _STAGE_NAME.match(name) and isinstance(child, nn.Sequential):
                found.extend(f"{name}.{sub}" for sub, _ in child.named_children())
    return _outermost(found)


def _stages(model: nn.Module, example: Any, shapes: Optional[dict]) -> list[str]:
    stages = [name for name, child in model.named_children()
              if _STAGE_NAME.match(name) and isinstance(child, nn.Module)]
    if stages:
        return stages
    features = getattr(model, "features", None)
    prefix = "features." if isinstance(features, nn.Sequential) else ""
    parent = features if prefix else model
    candidates = [prefix + name for name, child in parent.named_children()
                  if not isinstance(child, _SKIPPED_CHILDREN)]
    if shapes is None:
        raise TDAInputError(
            f"The 'stages' preset of select_layers needs 'example' for {type(model).__name__}, "
            "which has no layer1..layerN children: stages are found from the output shapes. "
            "Pass one image batch-first, e.g. select_layers(model, 'stages', example=images[:1])."
        )
    # The last module at each spatial resolution ends a stage.
    chosen: list[str] = []
    previous_size = None
    last = ""  # the module that ends the current resolution (set with previous_size)
    for name in candidates:
        shape = shapes.get(name)
        if shape is None or len(shape) != 3:
            continue
        size = tuple(shape[1:])
        if previous_size is not None and size != previous_size:
            chosen.append(last)
        previous_size, last = size, name
    if previous_size is not None:
        chosen.append(last)
    return chosen


def select_layers(model: nn.Module, preset: str, example: Any = None) -> list[str]:
    """Names of the layers of ``model`` that a preset picks.

    Parameters
    ----------
    model : torch.nn.Module
    preset : {"blocks", "stages", "conv", "batchnorm", "linear", "children"}
        Which layers (see the module docstring and :data:`LAYER_PRESETS`).
    example : tensor, ndarray, Dataset or DataLoader, optional
        One image batch-first (only the first is used). When given, modules that do not run
        in the forward pass or return something other than a tensor are left out; the
        ``stages`` preset needs it for models without ``layer1..layerN`` children.

    Returns
    -------
    list of str
        Names as ``model.named_modules()`` gives them, in that order.

    Raises
    ------
    TDAInputError
        An unknown preset (the message lists the presets), or a preset that selects nothing in
        this model (the message suggests another).
    TDATypeError
        ``model`` is not an ``nn.Module`` or ``preset`` is not a string.

    Examples
    --------
    >>> import torchvision
    >>> select_layers(torchvision.models.resnet18(), "stages")
    ['layer1', 'layer2', 'layer3', 'layer4']
    >>> select_layers(torchvision.models.resnet18(), "blocks")[:3]
    ['layer1.0', 'layer1.1', 'layer2.0']
    """
    if not isinstance(model, nn.Module):
        raise TDATypeError(
            f"The 'model' parameter of select_layers must be a torch.nn.Module. Got "
            f"{type(model).__name__} instead."
        )
    if not isinstance(preset, str) or preset not in LAYER_PRESETS:
        import difflib

        close = difflib.get_close_matches(str(preset), list(LAYER_PRESETS), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        listing = "; ".join(f"{name!r}: {text}" for name, text in LAYER_PRESETS.items())
        raise TDAInputError(
            f"The 'preset' parameter of select_layers must be one of {list(LAYER_PRESETS)}. Got "
            f"{preset!r} instead.{hint} Presets: {listing}."
        )
    shapes = None
    if example is not None:
        from .hooks import describe_layers

        shapes = {entry["name"]: entry["output_shape"] for entry in describe_layers(model, example)}
    if preset == "blocks":
        names = _blocks(model)
    elif preset == "stages":
        names = _stages(model, example, shapes)
    elif preset == "conv":
        names = [name for name, module in model.named_modules() if isinstance(module, nn.Conv2d)]
    elif preset == "batchnorm":
        names = [name for name, module in model.named_modules() if isinstance(module, nn.modules.batchnorm._BatchNorm)]
    elif preset == "linear":
        names = [name for name, module in model.named_modules() if isinstance(module, nn.Linear)]
    else:
        names = [name for name, child in model.named_children() if not isinstance(child, _SKIPPED_CHILDREN)]
    if shapes is not None:
        names = [name for name in names if shapes.get(name) is not None]
    if not names:
        others = [p for p in LAYER_PRESETS if p != preset]
        raise TDAInputError(
            f"The preset {preset!r} selects no layer of {type(model).__name__} "
            f"({LAYER_PRESETS[preset]}{'; with example, only modules that ran and returned a tensor' if shapes is not None else ''}). "
            f"Use another preset ({', '.join(map(repr, others))}) or list layer names "
            "(tda_widgets.describe_layers(model, example) shows them)."
        )
    return names


def expand_layers(model: nn.Module, layers: Any, example: Any = None) -> Any:
    """Expand a preset name given as ``layers``; anything else is returned unchanged.

    A string (or a one-element list holding a string, as a command line gives it) that is a
    preset and not the name of one of the model's modules becomes the preset's layer names. A
    module literally named like a preset wins, so existing layer names keep their meaning.

    Parameters
    ----------
    model : torch.nn.Module
    layers : str, sequence of str or None
    example : optional
        Passed to :func:`select_layers`.

    Returns
    -------
    list of str, or ``layers`` unchanged
    """
    if isinstance(layers, str):
        candidate = layers
    elif isinstance(layers, (list, tuple)) and len(layers) == 1 and isinstance(layers[0], str):
        candidate = layers[0]
    else:
        return layers
    if candidate not in LAYER_PRESETS or not isinstance(model, nn.Module):
        return layers
    if candidate in dict(model.named_modules()):
        return layers
    return select_layers(model, candidate, example)
