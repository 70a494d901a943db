"""Helpers shared by the explorers: in-place figure updates, study construction, thumbnails."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from contextlib import contextmanager, nullcontext
from copy import deepcopy
from typing import Any, Callable, Optional, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.io.json import to_json_plotly

import ipywidgets as W

from ..clouds.make import CloudSpec
from ..engine.study import Study
from ..engine import shared_cache
from ..core.errors import TDAInputError
from ..core.options import Option
from .plotly_library import FIGURE_ESM, ensure_library
from .thumbnails import ThumbnailPanel

#: The cloud modes a dropdown offers: the declaration's choices (tda_widgets.clouds.CloudSpec).
MODE_OPTIONS = CloudSpec.options()["mode"].choices

#: Serialises the explorers' figure updates (made from worker threads) with the kernel's
#: handling of front-end messages for the figures (made on the shell thread).
FIGURE_LOCK = threading.RLock()


class FigureWidget(go.FigureWidget):
    """A plotly FigureWidget whose front-end messages are handled under :data:`FIGURE_LOCK`.

    ipywidgets handles a front-end update inside ``hold_trait_notifications()``: while it
    runs, trait changes made by another thread on the same widget are held, then replayed
    with the value current at the end. Plotly sends each edit as ``_py2js_addTraces = msg``
    followed by ``= None``, so a worker-thread edit made during that window reached the
    browser as ``None`` twice and was lost (figures stayed blank after Run All in JupyterLab;
    found by tests/browser/test_explorers.py). Holding one lock on both sides prevents it.

    Its ES module is a small stub that waits for the page's one compile of plotly.js
    (:mod:`tda_widgets.widgets.plotly_library`) instead of carrying the 5 MB bundle itself.

    Its comm opens only at the end of construction, so that the front end's first message (the
    comm_open state) already holds the figure. plotly sets ``_widget_data`` and
    ``_widget_layout`` after ipywidgets opened the comm, i.e. as separate update messages, and
    plotly.js ignores changes of those two traits (``do_data() {}``): a view rendered before the
    updates were applied stayed an empty default figure for good (the first of twelve figures on
    a loaded page, found by tests/browser/test_plotly_library.py).
    """

    _esm = FIGURE_ESM

    def __init__(self, *args, **kwargs):
        ensure_library()
        self._tdaw_defer_open = True
        try:
            super().__init__(*args, **kwargs)
        finally:
            self._tdaw_defer_open = False
        self.open()

    def open(self):
        if getattr(self, "_tdaw_defer_open", False):
            return  # opened by __init__ once the figure is complete
        super().open()

    def _handle_msg(self, msg):
        state = ((msg.get("content") or {}).get("data") or {}).get("state") or {}
        if any(str(key).startswith("_js2py_") for key in state):
            self._tdaw_front_end_alive = True  # a view applies our edits (see resync_front_end)
        with FIGURE_LOCK:
            if any(key in state for key in ("_js2py_restyle", "_js2py_relayout", "_js2py_update")):
                # a change the browser made (our own fast-path restyles on plotly's own plot, a
                # zoom, a legend click): Python takes it in without sending it back to the views
                # (plotly's echo then made the page ask for the whole figure again, per ring)
                with self.silently():
                    return super()._handle_msg(msg)
            return super()._handle_msg(msg)

    # ------------------------------------------------------------------ the fast path
    # A view the browser has drawn once is kept there (a "frame": the figure's JSON, keyed by a
    # hash of its content); showing it again is one small message and one Plotly.react, with no
    # figure built, validated or serialised on the way. plotly's own path (a restyle and
    # relayouts from Python, each validated, applied one by one by plotly.js, each echoed back)
    # took ~140 ms in the kernel and ~150 ms in the browser for a cached layer switch
    # (benchmarks/bench_browser.py). The Python figure is still brought to the same state,
    # silently (plotly's own messages suppressed), after every figure of the step was sent.

    #: frames remembered per figure (the browser keeps as many)
    FRAMES_KEPT = 64

    _tdaw_silent = False

    def _send_addTraces_msg(self, *args, **kwargs):
        if not self._tdaw_silent:
            return super()._send_addTraces_msg(*args, **kwargs)

    def _send_moveTraces_msg(self, *args, **kwargs):
        if not self._tdaw_silent:
            return super()._send_moveTraces_msg(*args, **kwargs)

    def _send_deleteTraces_msg(self, *args, **kwargs):
        if not self._tdaw_silent:
            return super()._send_deleteTraces_msg(*args, **kwargs)

    def _send_restyle_msg(self, *args, **kwargs):
        if not self._tdaw_silent:
            return super()._send_restyle_msg(*args, **kwargs)

    def _send_relayout_msg(self, *args, **kwargs):
        if not self._tdaw_silent:
            return super()._send_relayout_msg(*args, **kwargs)

    def _send_update_msg(self, *args, **kwargs):
        if not self._tdaw_silent:
            return super()._send_update_msg(*args, **kwargs)

    def _send_animate_msg(self, *args, **kwargs):
        if not self._tdaw_silent:
            return super()._send_animate_msg(*args, **kwargs)

    @contextmanager
    def silently(self):
        """Change the Python figure without sending plotly's edit messages (the browser already
        shows the result through the fast path)."""
        previous, self._tdaw_silent = self._tdaw_silent, True
        try:
            yield
        finally:
            self._tdaw_silent = previous

    def _tdaw_state(self):
        state = self.__dict__.get("_tdaw_fast")
        if state is None:
            state = self.__dict__["_tdaw_fast"] = {"sent": OrderedDict(), "templates": set(), "shown": None,
                                                   "bindings": {}}
            self.on_msg(FigureWidget._tdaw_on_custom)
        return state

    def send_frame(self, new: go.Figure) -> str:
        """Make the browser show ``new`` (a figure of plain JSON-able content, NaN already
        replaced): by name when it has it, else with its JSON. Returns the frame's id. The
        Python figure is not changed here (see :func:`update_in_place`)."""
        state = self._tdaw_state()
        frame_id, text, template_id, template_text = frame_of(new)
        sent = state["sent"]
        if frame_id in sent:
            sent.move_to_end(frame_id)
            self._tdaw_send({"tdaw": "show", "id": frame_id})
        else:
            message = {"tdaw": "frame", "id": frame_id, "figure": text, "template_id": template_id}
            if template_id not in state["templates"]:
                message["template"] = template_text
                state["templates"].add(template_id)
            self._tdaw_send(message)
            sent[frame_id] = True
            while len(sent) > self.FRAMES_KEPT:
                sent.popitem(last=False)
        state["shown"] = frame_id
        return frame_id

    def send_binding(self, control: W.Widget, trait: str, views: dict) -> None:
        """Tell the browser which stored frame each value of ``control``'s ``trait`` brings back
        (``views``: value -> frame id; the other settings as they are now), so that moving the
        control to one of them swaps its plot in at once, before the kernel has answered. Sent only
        when it changed; the kernel's own answer follows as always."""
        state = self._tdaw_state()
        views = {str(value): frame_id for value, frame_id in views.items() if frame_id}
        key = (control.model_id, trait)
        if state["bindings"].get(key) == views:
            return
        state["bindings"][key] = views
        self._tdaw_send({"tdaw": "bind", "control": control.model_id, "trait": trait, "views": views})

    def forget_frames(self) -> None:
        """Forget every stored view, here and in the browser (which keeps only the plot it shows):
        the next view is drawn from its figure, as the first time (benchmarks of first views)."""
        state = self._tdaw_state()
        state["sent"].clear()
        state["bindings"].clear()
        state["shown"] = None
        self._tdaw_send({"tdaw": "forget"})

    def send_restyle(self, props: dict, trace_index: int) -> None:
        """Restyle one trace in the browser with one small message (``props``: plotly.restyle's
        attribute strings to plain values, e.g. ``{"x": [...], "marker.size": [...]}``)."""
        state = self._tdaw_state()
        state["shown"] = None  # the browser's figure is no longer a frame as stored
        self._tdaw_send({"tdaw": "restyle", "trace": int(trace_index),
                         "props": to_json_plotly({key: [value] for key, value in props.items()})})

    def _tdaw_send(self, content: dict) -> None:
        if self.comm is not None:
            self.send(content)

    @staticmethod
    def _tdaw_on_custom(widget, content, buffers) -> None:
        """The browser lacks a frame (a page reloaded, or it forgot it): send the figure as Python
        holds it now, which is always the newest state."""
        if isinstance(content, dict) and content.get("tdaw") == "need":
            with FIGURE_LOCK:
                state = widget._tdaw_state()
                state["sent"].clear()
                state["templates"].clear()
                state["bindings"].clear()
                current = go.Figure(widget.to_dict())
                widget.send_frame(current)

    @staticmethod
    def _remove_overlapping_props(input_data, delta_data, prop_path=()):
        """plotly's own ``BaseFigureWidget._remove_overlapping_props``, safe for numpy arrays.

        When the browser echoes the defaults it computed (``_js2py_traceDeltas`` /
        ``_js2py_layoutDelta``), plotly removes the properties Python also holds, and then tests
        ``if not input_val:`` on what it recursed into. For a property Python holds as a numpy
        array that test raised "The truth value of an array with more than one element is
        ambiguous" in the kernel (twice per persistence redraw, shown only in JupyterLab's Log
        Console), and the rest of the echo was never applied. Same logic, with an emptiness
        test that works for arrays too.
        """
        from plotly.basedatatypes import BaseFigure

        removed = []
        if isinstance(input_data, dict):
            assert isinstance(delta_data, dict)
            for p, delta_val in delta_data.items():
                if isinstance(delta_val, dict) or BaseFigure._is_dict_list(delta_val):
                    if p in input_data:
                        input_val = input_data[p]
                        path = prop_path + (p,)
                        removed.extend(FigureWidget._remove_overlapping_props(input_val, delta_val, path))
                        if _is_empty(input_val):
                            input_data.pop(p)
                            removed.append(path)
                elif p in input_data and p != "uid":
                    input_data.pop(p)
                    removed.append(prop_path + (p,))
        elif isinstance(input_data, list):
            assert isinstance(delta_data, list)
            for i, delta_val in enumerate(delta_data):
                if i >= len(input_data):
                    break
                input_val = input_data[i]
                if input_val is not None and isinstance(delta_val, dict) or BaseFigure._is_dict_list(delta_val):
                    removed.extend(FigureWidget._remove_overlapping_props(input_val, delta_val, prop_path + (i,)))
        return removed


def _is_empty(value) -> bool:
    """``not value`` for plotly's property values, numpy arrays included."""
    if isinstance(value, np.ndarray):
        return value.size == 0
    return not value


def frame_of(fig: go.Figure) -> tuple:
    """``(frame id, figure JSON without its template, template id, template JSON)``, computed once
    per figure object (a view cache hands the same object back: nothing is serialised again)."""
    memo = fig.__dict__.get("_tdaw_frame")
    if memo is not None:
        return memo
    whole = fig.to_dict()  # numeric arrays as plotly's base64 typed arrays (plotly.js decodes them)
    layout = whole.get("layout", {})
    template = layout.pop("template", None)
    template_text = to_json_plotly(template) if template is not None else "null"
    template_id = hashlib.blake2b(template_text.encode(), digest_size=10).hexdigest()
    text = to_json_plotly({"data": whole.get("data", []), "layout": layout})
    frame_id = hashlib.blake2b(text.encode(), digest_size=10).hexdigest() + template_id[:6]
    memo = fig.__dict__["_tdaw_frame"] = (frame_id, text, template_id, template_text)
    return memo


class ViewCache:
    """The figures an explorer drew for each view, so a view seen before is neither built nor
    serialised again: ``get(key, *sources)`` returns what ``put(key, value, *sources)`` stored
    while the same source objects (a cached result, a graph) are still the ones in use."""

    def __init__(self, size: int = 32):
        self.size = size
        self._items: OrderedDict = OrderedDict()

    def get(self, key, *sources):
        item = self._items.get(key)
        if item is None or len(item[0]) != len(sources) or any(a is not b for a, b in zip(item[0], sources)):
            return None
        self._items.move_to_end(key)
        return item[1]

    def put(self, key, value, *sources):
        self._items[key] = (sources, value)
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)
        return value

    def clear(self) -> None:
        self._items.clear()


def control_values(control: W.Widget) -> Optional[tuple]:
    """``(synced trait, {trait value: setting value})`` of a control whose values can be bound to
    frames in the browser (dropdowns and selection sliders by index, int sliders by value), else None."""
    if isinstance(control, (W.Dropdown, W.SelectionSlider)):
        options = [option[1] if isinstance(option, tuple) else option for option in control.options]
        return "index", dict(enumerate(options))
    if isinstance(control, W.IntSlider) and (control.max - control.min) // max(control.step, 1) <= 200:
        return "value", {v: v for v in range(control.min, control.max + 1, max(control.step, 1))}
    return None


def update_in_place(widget: go.FigureWidget, new: go.Figure) -> None:
    """Show ``new`` in ``widget``: the browser draws it at once through the fast path
    (:meth:`FigureWidget.send_frame`), then ``new``'s traces (matched by name) and layout are
    copied into the Python figure inside one silent ``batch_update`` (the FigureWidget and its
    registered callbacks are kept, never rebuilt). Inside :func:`figure_batch` that copy waits
    until every figure of the step was sent. A plain plotly FigureWidget is updated through
    plotly's own messages."""
    json_safe(new)
    if not isinstance(widget, FigureWidget):
        with FIGURE_LOCK:
            _update_in_place(widget, new)
        return
    with FIGURE_LOCK:
        widget.send_frame(new)

        def bookkeeping():
            with widget.silently():
                _update_in_place(widget, new)

        _defer(bookkeeping)


def send_restyle(widget: go.FigureWidget, trace_index: int, props: dict) -> None:
    """Set ``props`` (plotly attribute strings, e.g. ``"marker.size"``) of trace ``trace_index``:
    one small message to the browser, then the same change in the Python figure, silently (inside
    :func:`figure_batch`, once every figure of the step was sent)."""
    with FIGURE_LOCK:
        fast = isinstance(widget, FigureWidget) and widget.__dict__.get("_tdaw_fast", {}).get("sent")
        if fast:
            widget.send_restyle(props, trace_index)

        def bookkeeping():
            trace = widget.data[trace_index]
            context = widget.silently() if fast else nullcontext()
            with context, widget.batch_update():
                for key, value in props.items():
                    trace[key] = value
            if fast:
                resync_front_end(widget)

        _defer(bookkeeping)


_BATCH = threading.local()


@contextmanager
def figure_batch():
    """Within this block, :func:`update_in_place` and :func:`send_restyle` send every figure's
    change to the browser first and bring the Python figures up to date at the end (or at
    :func:`flush_figures`): the last figure of a step no longer waits for the Python copies of the
    ones before it. Holds :data:`FIGURE_LOCK`, so no front-end message sees a half-updated figure."""
    if getattr(_BATCH, "pending", None) is not None:  # nested: the outer block flushes
        yield
        return
    with FIGURE_LOCK:
        _BATCH.pending = []
        try:
            yield
        finally:
            try:
                flush_figures()
            finally:
                _BATCH.pending = None


def flush_figures() -> None:
    """Bring the Python figures up to date now (call before reading a figure's traces inside a
    :func:`figure_batch`)."""
    pending = getattr(_BATCH, "pending", None)
    if not pending:
        return
    error = None
    while pending:
        step = pending.pop(0)
        try:
            step()
        except Exception as exc:  # the others still run; the first error is raised
            error = error or exc
    if error is not None:
        raise error


def _defer(step: Callable[[], None]) -> None:
    pending = getattr(_BATCH, "pending", None)
    if pending is None:
        step()
    else:
        pending.append(step)


_DATA_ARRAYS = ("x", "y", "z", "customdata", "base")


def json_safe(fig: go.Figure) -> go.Figure:
    """Replace non-finite numbers in the traces' data arrays by ``None`` (JSON ``null``), in place.

    ``inf`` and ``NaN`` are not JSON: jupyter_client then sends the message with bare
    ``Infinity`` tokens (warning "Out of range float values are not JSON compliant"), which the
    browser's JSON parser rejects, so the figure update was lost and the view stayed blank or
    stale (infinite deaths in the barcode's customdata did this).
    """
    for trace in fig.data:
        for prop in _DATA_ARRAYS:
            # ask first: a missing property's KeyError made plotly rank every valid name by
            # Levenshtein distance for its message (25 ms of a 95 ms redraw)
            if prop not in trace:
                continue
            try:
                value = trace[prop]
            except (KeyError, ValueError):
                continue
            if value is None or isinstance(value, str):
                continue
            arr = np.asarray(value)
            if arr.dtype.kind != "f" or np.isfinite(arr).all():
                continue
            safe = arr.astype(object)
            safe[~np.isfinite(arr)] = None
            trace[prop] = safe
    return fig


def _update_in_place(widget: go.FigureWidget, new: go.Figure) -> None:
    json_safe(new)
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
        if not _same(widget.layout.annotations, new.layout.annotations):
            widget.layout.annotations = new.layout.annotations
        if not _same(widget.layout.shapes, new.layout.shapes):
            widget.layout.shapes = new.layout.shapes
        # Only the layout properties that changed go through plotly's validation: the whole new
        # layout (its template above all) took 94 % of a redraw, 0.7-1.4 s per figure on a loaded
        # machine (benchmarks/bench_browser.py), for a layer switch that changes a title and ranges.
        layout = new.layout.to_plotly_json()
        for key in ("annotations", "shapes"):
            layout.pop(key, None)
        changed = _changes(widget.layout.to_plotly_json(), layout)
        if changed:
            widget.update_layout(changed, overwrite=False)
    # After batch_update has sent the edits: a model that applied them ends in the same state.
    resync_front_end(widget)


def _same(a, b) -> bool:
    """Equal plotly property values: numbers, strings, dicts, lists, tuples, numpy arrays (NaN
    equal to NaN) and plotly objects, compared by value."""
    if hasattr(a, "to_plotly_json"):
        a = a.to_plotly_json()
    if hasattr(b, "to_plotly_json"):
        b = b.to_plotly_json()
    if isinstance(a, dict) or isinstance(b, dict):
        return isinstance(a, dict) and isinstance(b, dict) and a.keys() == b.keys() and all(
            _same(a[k], b[k]) for k in a)
    sequence = (list, tuple, np.ndarray)
    if isinstance(a, sequence) or isinstance(b, sequence):
        if not (isinstance(a, sequence) and isinstance(b, sequence)) or len(a) != len(b):
            return False
        if isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.dtype.kind in "biuf" \
                and b.dtype.kind in "biuf":
            return a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=True))
        return all(_same(u, v) for u, v in zip(a, b))
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, float) and isinstance(b, float) and a != a and b != b:
        return True
    try:
        return bool(a == b)
    except Exception:  # incomparable values: treat as changed
        return False


def _changes(old: dict, new: dict) -> dict:
    """The properties of ``new`` that differ from ``old``, nested dicts compared key by key
    (a property ``new`` lacks is kept, as ``update_layout(overwrite=False)`` keeps it)."""
    out = {}
    for key, value in new.items():
        if key not in old:
            out[key] = value
        elif isinstance(value, dict) and isinstance(old[key], dict):
            sub = _changes(old[key], value)
            if sub:
                out[key] = sub
        elif not _same(old[key], value):
            out[key] = value
    return out


def resync_front_end(widget: go.FigureWidget, now: bool = False) -> None:
    """Send the figure's whole state to the front-end model, after the incremental edits.

    Plotly's front end applies edits as deltas, through listeners that exist only once its
    JavaScript has loaded; edits sent before that (a result that arrives while the page is
    still loading, e.g. on Run All) were lost and the view then drew the stale or empty state
    the model still held. A view that renders later draws the model's ``_widget_data`` and
    ``_widget_layout``, so keep those current (as plotly does when a figure is displayed).

    Once a view has answered an edit (plotly's front end echoes each one), the copy is only for
    views rendered later, so it waits until the figure has been still for
    :data:`RESYNC_DELAY_S`: quick slider moves no longer send every figure twice (half of the
    214 KB a layer switch moved in the browser benchmark).
    """
    if not now and getattr(widget, "_tdaw_front_end_alive", False):
        with FIGURE_LOCK:
            timer = getattr(widget, "_tdaw_resync_timer", None)
            if timer is not None:
                timer.cancel()
            timer = threading.Timer(RESYNC_DELAY_S, resync_front_end, args=(widget,), kwargs={"now": True})
            timer.daemon = True
            widget._tdaw_resync_timer = timer
            timer.start()
        return
    with FIGURE_LOCK:
        widget._widget_layout = deepcopy(widget._layout_obj._props)
        widget._widget_data = deepcopy(widget._data)


#: Seconds a figure must stay unchanged before its whole state is copied to the front-end model
#: (only once a view is known to apply edits; see :func:`resync_front_end`).
RESYNC_DELAY_S = 1.0


def _in_a_kernel() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with ipywidgets
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


# plotly.js (5 MB) goes to the browser as soon as an explorer is imported in a kernel, not with the
# first figure: the browser compiles it once the page is quiet, which on Run All of the tour is
# while the first cells load the model and data, so the explorers' figures draw as they come
# instead of waiting for the compile (up to 5 s after the first figure before).
if _in_a_kernel():
    ensure_library()


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


# ----------------------------------------------------------------------------- controls
# Every control is built from its option's declaration (tda_widgets.options): choices, label and
# tooltip are read there, never repeated here.


#: Labels at their natural width: ipywidgets' fixed 80 px cut "min samples" to "min samp...".
_LABEL_STYLE = {"description_width": "initial"}


def dropdown(spec: Any, name: str, *, labels: Optional[dict] = None, width: str = "220px") -> W.Dropdown:
    """A dropdown of the declared choices of option ``name`` of ``spec`` (a spec class);
    ``labels`` maps some choices to friendlier text."""
    opt: Option = spec.options()[name]
    labels = labels or {}
    options = [(labels.get(c, str(c)), c) for c in opt.choices]
    return W.Dropdown(options=options, description=opt.text, tooltip=opt.help, layout=W.Layout(width=width),
                      style=_LABEL_STYLE)


def slider(spec: Any, name: str, *, width: str = "260px") -> W.Widget:
    """An int or float slider over the declared ``ui`` range of option ``name`` of ``spec``."""
    opt: Option = spec.options()[name]
    low, high, step = opt.ui
    cls = W.FloatSlider if isinstance(step, float) else W.IntSlider
    return cls(min=low, max=high, step=step, description=opt.text, tooltip=opt.help,
               continuous_update=False, layout=W.Layout(width=width), style=_LABEL_STYLE)


#: Sizes that fit an 800 px output (JupyterLab at 1280 px with the file browser open); rows of
#: controls and figures wrap instead of overflowing, and use a wider output when there is one.
FIT_WIDTH = 780


def row(children, **layout) -> W.HBox:
    """A row that wraps its children onto the next line when the output is too narrow."""
    return W.HBox(list(children), layout=W.Layout(**{"flex_flow": "row wrap", "align_items": "center", **layout}))


def layer_slider(names: Sequence[str], *, width: str = "340px") -> W.SelectionSlider:
    """The explorer's one layer control: a slider over the layer names, in model order.

    One control, not a dropdown beside an index slider: it shows the layer's name, the arrow
    keys step through the layers in order, and a click on the track jumps to any of them."""
    return W.SelectionSlider(options=list(names), description="layer", continuous_update=False,
                             tooltip="the layer shown (arrow keys step through the layers in model order)",
                             layout=W.Layout(width=width), style=_LABEL_STYLE)


def number_or_auto(spec: Any, name: str, *, width: str = "200px") -> W.Text:
    """A text box for a number option whose ``None`` means "chosen from the data" (shown as the
    placeholder "auto"); see :func:`parse_number_or_auto`."""
    opt: Option = spec.options()[name]
    return W.Text(value="" if opt.default is None else str(opt.default), placeholder="auto", description=opt.text,
                  tooltip=f"{opt.help} (leave empty for auto)", continuous_update=False,
                  layout=W.Layout(width=width), style=_LABEL_STYLE)


def parse_number_or_auto(spec: Any, name: str, text: str, where: str) -> Optional[float]:
    """The value typed in a :func:`number_or_auto` box: empty or "auto" is None; anything else
    must pass the option's declaration (a clear error naming the option otherwise)."""
    text = (text or "").strip()
    if text.lower() in ("", "auto", "none"):
        return None
    try:
        value = float(text)
    except ValueError:
        value = text
    try:
        spec.check(where, **{name: value})
    except TDAInputError as exc:
        raise TDAInputError(f"{exc} Type a number, or leave the box empty for auto.") from None
    return value
