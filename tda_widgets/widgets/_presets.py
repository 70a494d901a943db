"""How an explorer takes a preset (:mod:`tda_widgets.presets`): one rule for every explorer.

An explorer's ``preset`` (default: its study's) gives the initial value of every setting the
caller left out (:func:`tda_widgets.presets.apply`, the one rule the Study, the report, the
magics and the command line use too; a given value wins, even one equal to its default: the
explorers' signatures default to ``NotGiven`` markers), and the cloud settings no control shows (activation, seed, subsample,
standardising, projection) through a base :class:`~tda_widgets.clouds.CloudSpec` in which the
mode and points controls replace their two fields. A preset's "every point" (``max_points``
None) is :func:`every_point`: the study's image count (every point of a one-point-per-image
cloud, the presets' modes) or the slider's declared top, whichever is larger, and the points
slider's top is raised to hold it (:func:`points_slider`), so a study of more images than the
declared top is not subsampled behind the control's back. The explorers then call the study with
``preset=False``: what is computed is what the controls show.
"""

from __future__ import annotations

from typing import Any, Optional

from ..engine import presets as _presets
from ..clouds.make import CloudSpec
from .controls import slider

__all__ = ["every_point", "explorer_preset", "initial_settings", "points_slider"]

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


def every_point(max_points: Any, study: Any) -> int:
    """The points control's value for ``max_points``: itself, or for None ("every point") the
    study's image count or the slider's declared top, whichever is larger."""
    if max_points is not None:
        return int(max_points)
    return max(int(slider(CloudSpec, "max_points").max), int(study.n_images))


def points_slider(study: Any, value: int, *, width: str = "280px"):
    """The points slider over the declared range, its top raised to the study's image count
    and to ``value`` (so that "every point" and any value the caller gave are values it holds:
    a slider clamps a value above its top, and the linked trait would follow)."""
    control = slider(CloudSpec, "max_points", width=width)
    control.max = max(int(control.max), int(study.n_images), int(value))
    return control
