"""What the explorers ask of a study: building (or sharing) one, its thumbnail panel, where a
cloud's points sit in the images, and classes in words."""

from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np

from ..engine.study import Study
from ..engine import shared_cache
from .thumbnails import ThumbnailPanel

__all__ = ["make_study", "thumbnail_panel", "point_marks", "describe_classes", "first_point"]


def make_study(model, images, labels=None, layers=None, *, class_names=None, study: Optional[Study] = None,
               executor=None, n_images: Optional[int] = None, seed: int = 0, preset=None) -> Study:
    """Reuse ``study`` (the dashboard shares one cache) or build one (with ``preset``'s layers
    and number of images where ``layers`` / ``n_images`` are not given) that keeps its results
    in the model's shared cache: a second explorer on the same model reuses the first one's."""
    if study is not None:
        return study
    if model is None or images is None:
        raise TypeError("pass a model and images (or study=...): e.g. PersistenceExplorer(demo.model, demo.images)")
    return Study(model, images, labels, layers, class_names=class_names, executor=executor, n_images=n_images,
                 seed=seed, preset=preset, cache=shared_cache(model))


def thumbnail_panel(study: Study, **kwargs) -> ThumbnailPanel:
    """A ThumbnailPanel over the study's images, captioned with labels and predictions."""
    images = study.thumbnail_images()
    try:
        predictions = study.predictions()
    except Exception:  # predictions are a nicety: a model without logits still gets thumbnails
        predictions = None
    return ThumbnailPanel.from_images(images, labels=study.labels, predictions=predictions,
                                      class_names=study.class_names, **kwargs)


def point_marks(cloud, point_indices, images, limit: int = 16) -> Optional[list]:
    """For the thumbnail panel: per image of ``images``, the rectangles (fractions of the image)
    of the spatial positions where the points ``point_indices`` of ``cloud`` sit (one-position
    and spatial clouds: ``cloud.position`` in the layer's ``spatial_shape``); None for clouds
    without positions. At most ``limit`` rectangles per image."""
    shape = (cloud.params or {}).get("spatial_shape") if cloud is not None else None
    if cloud is None or cloud.position is None or not shape:
        return None
    h, w = (int(v) for v in shape)
    points = np.asarray(point_indices, dtype=np.int64).reshape(-1)
    per_image: dict = {}
    for image, (row, col) in zip(cloud.image_index[points].tolist(), cloud.position[points].tolist()):
        rects = per_image.setdefault(int(image), [])
        if len(rects) < 4 * limit:
            rects.extend([row / h, col / w, 1.0 / h, 1.0 / w])
    return [per_image.get(int(i), []) for i in images]


def describe_classes(counts: dict, class_names: Optional[Sequence[str]], top: int = 3) -> str:
    """The most common classes in words: "2: 25 (93%), 7: 2 (7%)", class names where known, and
    "and N more classes" when there are more than ``top``."""
    total = sum(counts.values()) or 1
    items = sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))
    name = lambda c: class_names[int(c)] if class_names is not None and str(c).lstrip("-").isdigit() \
        and 0 <= int(c) < len(class_names) else str(c)
    text = ", ".join(f"{name(c)}: {n} ({n / total:.0%})" for c, n in items[:top])
    rest = len(items) - top
    return text + (f", and {rest} more class{'es' if rest > 1 else ''}" if rest > 0 else "")


def first_point(points: Any) -> Optional[int]:
    """The first point index of a plotly callbacks.Points, or None."""
    inds = list(getattr(points, "point_inds", []) or [])
    return int(inds[0]) if inds else None
