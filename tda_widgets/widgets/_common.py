"""Helpers shared by the explorers: in-place figure updates, study construction, thumbnails."""

from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np
import plotly.graph_objects as go

from ..compute import Study
from .thumbnails import ThumbnailPanel

MODE_OPTIONS = ("auto", "image-avgpool", "image-maxpool", "image-flatten", "spatial", "channel")


def update_in_place(widget: go.FigureWidget, new: go.Figure) -> None:
    """Copy ``new``'s traces (matched by name) and layout into ``widget`` inside one
    ``batch_update``: the FigureWidget and its registered callbacks are kept, never rebuilt."""
    with widget.batch_update():
        existing = {trace.name: trace for trace in widget.data}
        new_names = [trace.name for trace in new.data]
        if set(existing) != set(new_names) or len(existing) != len(new_names):
            # The structure changed (e.g. another number of dimensions): swap the traces only.
            widget.data = []
            widget.add_traces(list(new.data))
        else:
            for trace in new.data:
                plotly_json = trace.to_plotly_json()
                plotly_json.pop("type", None)
                target = existing[trace.name]
                # Reset fields absent in the new trace (e.g. customdata of an emptied trace).
                target.update(plotly_json, overwrite=True)
        widget.layout.annotations = new.layout.annotations
        widget.layout.shapes = new.layout.shapes
        widget.update_layout(new.layout.to_plotly_json(), overwrite=False)


def make_study(model, images, labels=None, layers=None, *, class_names=None, study: Optional[Study] = None,
               executor=None, n_images: Optional[int] = None, seed: int = 0) -> Study:
    """Reuse ``study`` (the dashboard shares one cache) or build one."""
    if study is not None:
        return study
    if model is None or images is None:
        raise TypeError("pass a model and images (or study=...): e.g. PersistenceExplorer(demo.model, demo.images)")
    return Study(model, images, labels, layers, class_names=class_names, executor=executor, n_images=n_images,
                 seed=seed)


def thumbnail_panel(study: Study, **kwargs) -> ThumbnailPanel:
    """A ThumbnailPanel over the study's images, captioned with labels and predictions."""
    images = study.thumbnail_images()
    try:
        predictions = study.predictions()
    except Exception:  # predictions are a nicety: a model without logits still gets thumbnails
        predictions = None
    return ThumbnailPanel.from_images(images, labels=study.labels, predictions=predictions,
                                      class_names=study.class_names, **kwargs)


def describe_classes(counts: dict, class_names: Optional[Sequence[str]], top: int = 3) -> str:
    """'3: 40, 8: 2' style text of the most common classes."""
    items = sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))[:top]
    name = lambda c: class_names[int(c)] if class_names is not None and str(c).lstrip("-").isdigit() \
        and 0 <= int(c) < len(class_names) else str(c)
    return ", ".join(f"'{name(c)}': {n}" for c, n in items)


def first_point(points: Any) -> Optional[int]:
    """The first point index of a plotly callbacks.Points, or None."""
    inds = list(getattr(points, "point_inds", []) or [])
    return int(inds[0]) if inds else None
