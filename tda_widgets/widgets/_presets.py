"""How an explorer takes a preset (:mod:`tda_widgets.presets`): one rule for every explorer.

An explorer's ``preset`` (default: its study's) gives the initial value of every setting the
caller left out (:func:`tda_widgets.presets.apply`, the one rule the Study, the report, the
magics and the command line use too; a given value wins, even one equal to its default: the
explorers' signatures default to ``NotGiven`` markers), and the cloud settings no control shows (activation, seed, subsample,
standardising, projection) through a base :class:`~tda_widgets.clouds.CloudSpec` in which the
mode and points controls replace their two fields. A preset's "every point" (``max_points``
None) is :func:`every_point`: the most points the mode's clouds have (:func:`largest_cloud`,
read from the mode records), and the points slider's top follows the mode's clouds, raised to
hold every value given (:func:`points_slider`), so a study of more images than the declared top
is not subsampled behind the control's back, and 450 images give a slider ending at 450.
The explorers then call the study with
``preset=False``: what is computed is what the controls show.
"""

from __future__ import annotations

from typing import Any, Optional

from ..engine import presets as _presets
from ..clouds.make import CloudSpec, resolve_mode
from ..clouds.modes import MODE_RECORDS, ONE_POINT_PER_IMAGE
from .controls import slider

__all__ = ["every_point", "explorer_preset", "fit_points_slider", "initial_settings", "largest_cloud",
           "points_slider"]

_CLOUD = CloudSpec()  # the declared defaults


def explorer_preset(preset: Any, study: Any = None) -> Optional[_presets.Preset]:
    """The preset an explorer uses: ``preset`` (a name or a Preset; an unknown name is a
    :class:`~tda_widgets.errors.TDAInputError` listing the presets), else ``study``'s preset;
    ``False``: none, not even the study's."""
    if preset is False:
        return None
    if preset is not None:
        return _presets.get(preset)
    return getattr(study, "preset", None)


def initial_settings(preset: Optional[_presets.Preset], mode: Any, max_points: Any,
                     given: dict) -> tuple[CloudSpec, str, Any, dict]:
    """``(base_spec, mode, max_points, settings)``: the base cloud (the preset's, else the
    declared default) whose mode and points the controls replace; the initial mode and points;
    and ``given`` with every :class:`~tda_widgets.options.NotGiven` marker (an argument left out:
    the explorers' signatures default to :func:`~tda_widgets.options.unset`) replaced by the
    preset's value, else the declared default (:func:`tda_widgets.presets.apply`). A value given,
    even one equal to its default, wins. None, "every point", is left for :func:`every_point` once
    the study is known. Nothing is validated here: the explorer's controls check the values."""
    cloud = preset.cloud if preset is not None else _CLOUD
    values = _presets.apply(preset, {"mode": mode, "max_points": max_points, **given})
    return cloud, values.pop("mode"), values.pop("max_points"), values


def every_point(max_points: Any, study: Any, mode: str = "auto") -> int:
    """The points control's value for ``max_points``: itself, or for None ("every point") the
    most points a cloud of ``mode`` has in the study's layers (:func:`largest_cloud`)."""
    if max_points is not None:
        return int(max_points)
    return largest_cloud(study, mode)


def _layer_shapes(study: Any) -> Optional[dict]:
    """Each layer's output shape per image (one probe forward, memoised by the study's context),
    or None while another thread's capture holds the model (never wait for it here)."""
    from ..capture.hooks import model_lock
    from ..engine.steps import per_image_shapes

    context = getattr(study, "context", None)
    try:
        lock = model_lock(study.model)
    except Exception:  # no model (a study opened from a file): the per-image rule below
        return None
    if context is None or not lock.acquire(blocking=False):
        return None
    try:
        return per_image_shapes(context)
    except Exception:  # an odd model: the slider keeps the per-image rule below
        return None
    finally:
        lock.release()


def largest_cloud(study: Any, mode: str = "auto") -> int:
    """The most points a cloud of ``mode`` can have in the study's layers: each layer's mode
    record's ``size`` (:data:`tda_widgets.clouds.modes.MODE_RECORDS`) for the study's images,
    as :func:`~tda_widgets.clouds.make_cloud` counts them (the number of images for one point
    per image, images x positions for ``spatial``, channels for ``channel``). Where the layers'
    shapes are not known yet, the number of images for a one-point-per-image mode, else the
    points slider's declared top."""
    n = int(study.n_images)
    shapes = _layer_shapes(study)
    sizes = []
    for layer in (getattr(study, "layers", None) or []) if shapes else []:
        shape = shapes.get(layer)
        if shape is None:
            continue
        try:
            resolved = resolve_mode(mode, shape, layer)
        except Exception:  # a mode this layer cannot take: the explorer says so when it computes
            continue
        sizes.append(int(MODE_RECORDS[resolved].size(n, tuple(shape))[0]))
    if sizes:
        return max(sizes)
    return n if mode in ONE_POINT_PER_IMAGE else int(slider(CloudSpec, "max_points").max)


def fit_points_slider(control, study: Any, mode: str = "auto", value: Optional[int] = None) -> None:
    """Set the points slider's range for ``mode``: its top is the largest cloud's size
    (:func:`largest_cloud`) within the declared range (``CloudSpec``'s ``max_points`` ``ui``),
    raised to ``value`` (a value the caller gave, or "every point" above the declared top, is
    one the slider holds: a slider clamps a value above its top, and the linked trait would
    follow); the bottom is the declared one, or the top when the cloud is smaller."""
    low, high, _ = CloudSpec.options()["max_points"].ui
    value = int(control.value if value is None else value)
    top = max(min(int(high), largest_cloud(study, mode)), value)
    with control.hold_trait_notifications():
        if top < control.min:
            control.min = min(int(low), top)
        control.max = top
        control.min = min(int(low), top)


def points_slider(study: Any, value: int, mode: str = "auto", *, width: str = "280px"):
    """The points slider over the declared range, fitted to ``mode``'s clouds and to ``value``
    (:func:`fit_points_slider`): for 450 images and one point per image it ends at 450, not
    at the declared 3000."""
    control = slider(CloudSpec, "max_points", width=width)
    fit_points_slider(control, study, mode, value)
    control.value = int(value)
    return control
