"""An explorer on a study opened from a file without its model (:func:`tda_widgets.open_study`):
its controls offer what the file holds.

The explorers compute from the layers' point clouds; a file saved with its clouds (the default of
:meth:`Study.save <tda_widgets.engine.study.Study.save>`) answers every setting computed from a
cloud (homology, scale, metric, mapper cover, ...) without the model, but a cloud itself (a layer,
a mode, a point budget) only where the file holds it. So the layer, mode and points controls are
limited to the stored clouds: a choice the file does not hold is removed, and a control left with
one value is disabled, its tooltip saying why and how to get the others. The explorer starts on
a stored cloud. The CKA kernel (LayerDistanceExplorer) is limited the same way to the stored CKA.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as W

from ..core.markup import escape
from ..engine.saved import is_opened, stored_keys

__all__ = ["limit_to_file", "is_opened"]


def _value(option: Any) -> Any:
    return option[1] if isinstance(option, tuple) else option


def _restrict(control: Any, allowed: list, why: str) -> None:
    """Keep the control's options in ``allowed`` (sliders: disabled when one value is allowed)."""
    limited = False
    if hasattr(control, "options"):
        kept = [option for option in control.options if _value(option) in allowed]
        if kept and len(kept) != len(control.options):
            control.options, limited = kept, True
    single = len(set(allowed)) <= 1
    control.disabled = single
    if single or limited:
        note = why if single else why.replace("fixed at the value", "limited to the values")
        control.tooltip = f"{control.tooltip or ''} · {note}".lstrip(" ·")


def limit_to_file(explorer: Any, controls: dict, *, every_layer: bool) -> None:
    """Limit ``controls`` (``{"layer": ..., "mode": ..., "max_points": ..., "kernel": ...}``, the
    ones the explorer has) to what the file of ``explorer.study`` holds, and set the explorer's
    settings to a stored cloud (``every_layer``: a cloud of every study layer, the explorers that
    show all layers at once). Nothing happens for a study with its model."""
    study = explorer.study
    if not is_opened(study):
        return
    name = study.source.name
    why = (f"fixed at the value {name} holds: this study was opened from the file without its model "
           f"(tda_widgets.open_study(path, model=model, images=images) computes the others)")
    layers = list(study.layers)
    specs: dict = {}
    for key in stored_keys(study, "cloud"):
        if key[4].max_points is not None:  # the points control holds a number
            specs.setdefault(key[4], set()).add(key[3])
    if every_layer:
        choices = [(None, spec) for spec, held in specs.items() if set(layers) <= held]
    else:
        choices = [(layer, spec) for spec, held in specs.items() for layer in layers if layer in held]
    current = getattr(explorer, "layer", None)
    if choices:
        stored = [c for c in choices if c[1] == explorer.spec and (every_layer or c[0] == current)]
        chosen = (stored or [c for c in choices if every_layer or c[0] == current] or choices)[0]
        if "layer" in controls:
            _restrict(controls["layer"], [c[0] for c in choices] if not every_layer else layers, why)
        _restrict(controls["mode"], [c[1].mode for c in choices], why)
        _restrict(controls["max_points"], [c[1].max_points for c in choices], why)
        explorer.base_spec = chosen[1]
        with explorer.hold_trait_notifications():
            if chosen[0] is not None:
                explorer.layer = chosen[0]
            explorer.mode, explorer.max_points = chosen[1].mode, int(chosen[1].max_points)
    else:
        for control in (controls[n] for n in ("mode", "max_points") if n in controls):
            control.disabled = True
            control.tooltip = (f"{name} holds no point clouds (saved with clouds=False): open it with the model "
                               "to explore it")
    if "kernel" in controls:
        kernels = [key[4] for key in stored_keys(study, "cka") if list(key[3]) == layers]
        if kernels:
            _restrict(controls["kernel"], kernels, why)
            if explorer.kernel not in kernels:
                explorer.kernel = kernels[0]
    fixed = [getattr(control, "description", "") or key for key, control in controls.items() if control.disabled]
    if fixed:  # said on the page too: a Dropdown's tooltip is not drawn by ipywidgets 8
        note = W.HTML(f"<span style='font-size:12px;color:#555'>Opened from <b>{escape(name)}</b> without its model: "
                      f"{escape(', '.join(fixed))} fixed at what the file holds (open_study(path, model=model, "
                      "images=images) computes the others).</span>")
        note.add_class("tda-saved-note")
        explorer.children = [note, *explorer.children]
