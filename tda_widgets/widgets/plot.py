"""The explorers' plot widget: a figure drawn by plotly.js in the page, on public APIs only.

:class:`Plot` is an anywidget of our own. Its synced state is the figure as plotly's JSON
(``go.Figure.to_dict()``), numeric arrays travelling as binary buffers, and its front end
(``plot.js``) draws it with plotly.js's public API (``Plotly.newPlot`` / ``react`` /
``restyle``) and sends plotly.js's documented events (``plotly_hover``, ``plotly_click``,
``plotly_selected``, ``plotly_relayout``) back as messages. plotly.js itself is the documented
distribution (:func:`plotly.offline.get_plotlyjs`), sent to the page once, by one
:class:`PlotLibrary` model, and compiled once for every plot of the page.

What the page does by itself, before the kernel answers:

- views seen before: each figure state carries an id (a hash of its content); the page keeps
  the plots it drew for the last ids and swaps one back in when that id comes again, and a
  control bound with :meth:`Plot.bind` shows the plot its new value brings back at once;
- linked mapper graphs: a figure whose ``layout.meta`` holds ``tdaw_link`` answers a hover or
  click on a node with rings in every graph of its group and the group's thumbnail panel
  (``plot.js``, "linked graphs"); the kernel's answer follows with the same state.

The :class:`go.Figure` drawn stays reachable as :attr:`Plot.figure` (``data`` and ``layout``
are its own, for reading).
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import pathlib
import threading
import weakref
from collections import OrderedDict
from typing import Any, Callable, Optional

import anywidget
import ipywidgets as W
import numpy as np
import plotly.graph_objects as go
import traitlets

__all__ = ["Plot", "PlotEvent", "PlotLibrary", "ViewCache", "encode_figure", "ensure_library", "control_values"]

_HERE = pathlib.Path(__file__).parent

#: The kinds of event the page sends back (plotly.js's documented events of the same names).
EVENTS = ("hover", "click", "selected", "relayout")


# ----------------------------------------------------------------------------- plotly.js, once

def _plotly_source(key: str) -> str:
    """plotly.js, the documented distribution (a UMD bundle), as a classic script that hands
    plotly.js to the page-global slot ``key`` (plot.js) and sets no global of its own: the bundle
    finds a local ``module`` to fill, so it never looks for (or sets) a page-global loader."""
    from plotly.offline import get_plotlyjs

    slot = json.dumps("tda-widgets/plotly.js/" + key)
    return ("(function () {\nvar module = { exports: {} }; var exports = module.exports;\n" + get_plotlyjs()
            + f"\n;globalThis[Symbol.for({slot})].resolve(module.exports);\n}})();\n")


class PlotLibrary(anywidget.AnyWidget):
    """The one model per kernel that carries plotly.js to the page (never displayed).

    Its source is compiled once per page and shared by every :class:`Plot` through a
    page-global slot keyed by :attr:`key` (plotly.js's version and a hash of its text), so
    kernels with different plotly versions on one page never mix."""

    _esm = _HERE / "plot.js"
    key = traitlets.Unicode("").tag(sync=True)
    source = traitlets.Unicode("").tag(sync=True)
    role = traitlets.Unicode("library").tag(sync=True)


_LIBRARY_LOCK = threading.Lock()
_LIBRARY: Optional[PlotLibrary] = None
_SOURCE: Optional[tuple] = None


def library_key() -> str:
    """The page-global key of this kernel's plotly.js (version and content hash)."""
    global _SOURCE
    if _SOURCE is None:
        import plotly
        from plotly.offline import get_plotlyjs

        key = f"{plotly.__version__}-{hashlib.sha256(get_plotlyjs().encode()).hexdigest()[:16]}"
        _SOURCE = (key, _plotly_source(key))
    return _SOURCE[0]


def ensure_library() -> PlotLibrary:
    """The live :class:`PlotLibrary`, created (its comm opened) before the first plot's;
    recreated if it was closed (``Widget.close_all()``)."""
    global _LIBRARY
    with _LIBRARY_LOCK:
        if _LIBRARY is None or _LIBRARY.comm is None:
            key = library_key()
            _LIBRARY = PlotLibrary(key=key, source=_SOURCE[1])
        return _LIBRARY


# ----------------------------------------------------------------------------- the figure's state

_TYPED = {"float64": "f8", "float32": "f4", "int8": "i1", "uint8": "u1", "int16": "i2", "uint16": "u2",
          "int32": "i4", "uint32": "u4"}


def _binary(arr: np.ndarray) -> dict:
    """A numeric numpy array as ``{dtype, shape, buffer}`` (ipywidgets sends the buffer as a binary
    frame of the message, no JSON). 64-bit integers go as float64 (JavaScript has no int64 array
    plotly.js draws)."""
    if arr.dtype.kind == "b":
        arr = arr.astype(np.uint8)
    elif arr.dtype.kind in "iu" and arr.dtype.itemsize == 8:
        arr = arr.astype(np.float64)
    elif arr.dtype.kind == "f" and arr.dtype.itemsize not in (4, 8):
        arr = arr.astype(np.float64)
    arr = np.ascontiguousarray(arr)
    return {"dtype": _TYPED[arr.dtype.name], "shape": list(arr.shape), "buffer": arr.tobytes()}


def _plain(value: Any) -> Any:
    """plotly's JSON value (``to_dict()`` output) with numeric arrays as binary buffers and non-finite
    numbers of plain lists as None (``inf`` / ``NaN`` are not JSON: the browser rejected such a
    message and the view stayed blank)."""
    if isinstance(value, dict):
        if "bdata" in value and "dtype" in value and isinstance(value["bdata"], str):
            # plotly >= 6 writes numeric arrays as base64 typed arrays (documented in its JSON schema)
            arr = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]).newbyteorder("<"))
            shape = value.get("shape")
            if shape:
                dims = [int(d) for d in str(shape).split(",") if d.strip()]
                arr = arr.reshape(dims)
            return _binary(arr)
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "biuf" and value.ndim in (1, 2):
            return _binary(value)
        return _plain(value.tolist())
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def _numpy(value: Any) -> Any:
    """A state value back with its binary arrays as numpy arrays (the inverse of :func:`_plain`)."""
    if isinstance(value, dict):
        if set(value) == {"dtype", "shape", "buffer"}:
            dtype = {code: name for name, code in _TYPED.items()}[value["dtype"]]
            return np.frombuffer(value["buffer"], dtype=dtype).reshape(value["shape"])
        return {key: _numpy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_numpy(item) for item in value]
    return value


def _digest(value: Any, h) -> None:
    if isinstance(value, dict):
        for key in sorted(value):
            h.update(b"k" + str(key).encode())
            _digest(value[key], h)
    elif isinstance(value, list):
        h.update(b"[%d" % len(value))
        for item in value:
            _digest(item, h)
    elif isinstance(value, bytes):
        h.update(b"b%d" % len(value))
        h.update(value)
    else:
        h.update(b"v" + json.dumps(value).encode())


def _content_id(value: Any) -> str:
    h = hashlib.blake2b(digest_size=10)
    _digest(value, h)
    return h.hexdigest()


_TEMPLATES: "OrderedDict[str, dict]" = OrderedDict()  # id -> template, one object per distinct template


def _intern_template(template) -> tuple:
    """``(id, template)``: every figure of one theme shares one template object (each figure holds
    its own copy of plotly's template: ~40,000 small objects per figure otherwise)."""
    if not template:
        return _content_id({}), {}
    text = json.dumps(_plain(template), sort_keys=True, default=str)
    template_id = hashlib.blake2b(text.encode(), digest_size=10).hexdigest()
    with _MEMO_LOCK:
        shared = _TEMPLATES.get(template_id)
        if shared is None:
            shared = _TEMPLATES[template_id] = json.loads(text)
            while len(_TEMPLATES) > 8:
                _TEMPLATES.popitem(last=False)
        else:
            _TEMPLATES.move_to_end(template_id)
    return template_id, shared


class _Encoded:
    """A figure's state as the page gets it: ``data``, ``layout`` (without its template), the
    template apart (the same for every figure of a theme), and their ids."""

    __slots__ = ("data", "layout", "template", "template_id", "id", "__weakref__")

    def __init__(self, fig: go.Figure):
        whole = fig.to_dict()
        layout = dict(whole.get("layout") or {})
        template = layout.pop("template", None)
        self.template_id, self.template = _intern_template(template)
        self.data = _plain(whole.get("data") or [])
        self.layout = _plain(layout)
        self.id = _content_id([self.data, self.layout]) + self.template_id[:6]


_MEMO: dict = {}  # id(figure) -> (weak reference to it, its state); plotly figures are unhashable
_MEMO_LOCK = threading.Lock()


def _forget(key: int) -> None:
    with _MEMO_LOCK:
        _MEMO.pop(key, None)


def encode_figure(fig: go.Figure) -> _Encoded:
    """The page's state of ``fig``, computed once per figure object (a view cache hands the same
    object back: nothing is converted again). Change a figure after showing it only through
    :meth:`Plot.show` of a new figure or :meth:`Plot.restyle`."""
    key = id(fig)
    with _MEMO_LOCK:
        memo = _MEMO.get(key)
    if memo is not None and memo[0]() is fig:
        return memo[1]
    encoded = _Encoded(fig)
    with _MEMO_LOCK:
        _MEMO[key] = (weakref.ref(fig), encoded)
    weakref.finalize(fig, _forget, key)
    return encoded


# ----------------------------------------------------------------------------- events

class PlotEvent:
    """A hover, click, selection or zoom in the page, as :class:`Plot` callbacks get it.

    Attributes
    ----------
    kind : str
        ``"hover"``, ``"click"``, ``"selected"`` or ``"relayout"``.
    trace_index : int or None
        The trace of the first point (None for a zoom or an empty selection).
    trace : plotly trace or None
        That trace of :attr:`Plot.figure` (the figure drawn when the event was handled).
    point_inds : list of int
        The points of that trace (for a heat map: the cell's flat index, row-major).
    xs, ys : list
        Their x and y values, as plotly.js reported them.
    points : list of dict
        Every point plotly.js reported: ``trace``, ``index``, ``x``, ``y``.
    relayout : dict
        For a zoom: plotly.js's ``plotly_relayout`` event data (e.g. ``{"xaxis.range[0]": ...}``).
    """

    def __init__(self, kind: str, points: list, trace, relayout: Optional[dict] = None):
        self.kind = kind
        self.points = points
        first = points[0]["trace"] if points else None
        self.trace_index = first
        self.trace = trace
        same = [p for p in points if p["trace"] == first]
        self.point_inds = [int(p["index"]) for p in same if isinstance(p.get("index"), (int, float))]
        self.xs = [p.get("x") for p in same]
        self.ys = [p.get("y") for p in same]
        self.relayout = relayout or {}

    def __repr__(self) -> str:
        return f"PlotEvent({self.kind!r}, trace={self.trace_index}, point_inds={self.point_inds})"


# ----------------------------------------------------------------------------- the widget

class Plot(anywidget.AnyWidget):
    """A plotly figure drawn in the page by plotly.js, updated by replacing its figure.

    Parameters
    ----------
    figure : plotly.graph_objects.Figure, optional
        The first figure shown.

    Notes
    -----
    ``plot.figure`` is the figure drawn (read it; to change it, :meth:`show` a new one or
    :meth:`restyle` a trace). ``plot.data`` and ``plot.layout`` are its traces and layout.
    Register callbacks with :meth:`on_hover`, :meth:`on_click`, :meth:`on_selection` and
    :meth:`on_relayout`; each gets ``(plot, event)`` with a :class:`PlotEvent`.
    """

    _esm = _HERE / "plot.js"
    role = traitlets.Unicode("plot").tag(sync=True)
    library = traitlets.Unicode("").tag(sync=True)
    #: the figure: ``{"id", "data", "layout", "template_id"}`` plus, after a restyle, ``"restyle"``
    #: (``{"base", "trace", "props"}``: the step from the state ``base``)
    state = traitlets.Dict().tag(sync=True)
    #: the layout's template, apart: ``{"id", "value"}`` (sent again only when it changes)
    template = traitlets.Dict().tag(sync=True)
    #: control model id -> {"trait", "views": {value as text: state id}} (see :meth:`bind`)
    bindings = traitlets.Dict().tag(sync=True)
    #: which page events are sent back (only those a callback wants; a hover sends nothing else)
    events = traitlets.List(traitlets.Unicode()).tag(sync=True)

    #: states remembered per plot for :meth:`bind` (the page keeps as many)
    FRAMES_KEPT = 64

    def __init__(self, figure: Optional[go.Figure] = None, **kwargs):
        library = ensure_library()
        figure = figure if figure is not None else go.Figure()
        if not isinstance(figure, go.Figure):
            raise TypeError(f"Plot takes a plotly.graph_objects.Figure. Got {type(figure).__name__} instead; "
                            "build one with go.Figure(...).")
        encoded = encode_figure(figure)
        # the comm opens with the figure in its state: the page's first message can draw it
        super().__init__(library=library.key, state=self._state_dict(encoded.id, 1, encoded.data, encoded.layout,
                                                                      encoded.template_id),
                         template={"id": encoded.template_id, "value": encoded.template}, **kwargs)
        self._lock = threading.RLock()
        self._callbacks: dict = {kind: [] for kind in EVENTS}
        self._figure: go.Figure = go.Figure()
        self._encoded: Optional[_Encoded] = None
        self._revision = 0
        self._stale = False
        self._restyles: list = []
        self._overrides: dict = {}  # (trace, path) -> value restyled since the last show()
        self.sent: OrderedDict = OrderedDict()  # state ids the page has seen, most recent last
        self.last_relayout: dict = {}
        self.on_msg(self._on_page_message)
        self._figure, self._encoded, self._revision = figure, encoded, 1
        self.sent[encoded.id] = True

    # ------------------------------------------------------------------ the figure
    @property
    def figure(self) -> go.Figure:
        """The figure drawn, as a :class:`plotly.graph_objects.Figure` (restyles included)."""
        with self._lock:
            if self._stale:
                fig = go.Figure(self._figure)
                for trace, props in self._restyles:
                    fig.data[trace].update({key: value for key, value in props.items()})
                self._figure, self._restyles, self._stale = fig, [], False
            return self._figure

    @property
    def data(self):
        """The traces of :attr:`figure`."""
        return self.figure.data

    @property
    def layout(self):
        """The layout of :attr:`figure`."""
        return self.figure.layout

    def to_dict(self) -> dict:
        """:attr:`figure` as plotly's dict (``go.Figure.to_dict``)."""
        return self.figure.to_dict()

    def to_plotly_json(self) -> dict:
        """:attr:`figure` as plotly's JSON-able dict (``go.Figure.to_plotly_json``)."""
        return self.figure.to_plotly_json()

    def to_json(self, *args, **kwargs) -> str:
        """:attr:`figure` as plotly's JSON text (``go.Figure.to_json``; same arguments)."""
        return self.figure.to_json(*args, **kwargs)

    @property
    def shown_id(self) -> Optional[str]:
        """The id of the state shown (a hash of its content)."""
        return self.state.get("id")

    def trace_names(self) -> list:
        """The names of the traces shown (None for a trace without one), read from the state."""
        return [trace.get("name") for trace in self.state.get("data", [])]

    def trace_value(self, trace: int, path: str):
        """Property ``path`` (e.g. ``"marker.opacity"``) of trace number ``trace`` as shown:
        numeric arrays as numpy arrays, None where the trace does not set it."""
        node = self.state.get("data", [])[trace]
        for part in path.split("."):
            if not isinstance(node, dict) or part not in node:
                return None
            node = node[part]
        return _numpy(node)

    def show(self, fig: go.Figure) -> str:
        """Draw ``fig`` in every view of this plot; returns its state id. A figure the page has
        drawn before is swapped back in there, with no redraw."""
        if not isinstance(fig, go.Figure):
            raise TypeError(f"Plot.show takes a plotly.graph_objects.Figure. Got {type(fig).__name__} instead; "
                            "build one with go.Figure(...).")
        encoded = encode_figure(fig)
        with self._lock:
            self._figure, self._encoded, self._restyles, self._stale = fig, encoded, [], False
            self._overrides = {}
            self._send_state(encoded.id, encoded.data, encoded.layout, encoded)
            return encoded.id

    def restyle(self, trace: int, props: dict, keep: bool = False) -> str:
        """Set ``props`` of trace number ``trace`` (plotly attribute strings to values, e.g.
        ``{"marker.opacity": array}``): the page applies it with one ``Plotly.restyle``.
        With ``keep``, the page draws the new state as a plot of its own and keeps the plot of
        the state before, so that a bound control (:meth:`bind`) swaps either back in at once
        (the FiltrationExplorer's cursors; the mapper's rings change in place).
        Returns the new state id."""
        with self._lock:
            current = self.state
            if not (0 <= trace < len(current.get("data", []))):
                raise IndexError(f"Plot.restyle: trace {trace} is not one of the {len(current.get('data', []))} "
                                 "traces of the figure shown.")
            sent_props = {key: _plain(np.asarray(value)) if isinstance(value, (list, np.ndarray)) else _plain(value)
                          for key, value in props.items()}
            data = list(current["data"])
            changed = dict(data[trace])
            for path, value in sent_props.items():
                _set_path(changed, path, value)
            data[trace] = changed
            # the id names the state, not the way to it: the figure shown last plus every value
            # restyled since (a cursor moved back to where it was is the state drawn before)
            for path, value in sent_props.items():
                self._overrides[(int(trace), path)] = value
            root = self._encoded.id if self._encoded is not None else current["id"]
            new_id = _content_id([root, [[t, p, v] for (t, p), v in sorted(self._overrides.items(),
                                                                            key=lambda item: item[0])]])
            self._restyles.append((trace, dict(props)))
            self._stale = True
            step = {"base": current["id"], "trace": int(trace), "props": sent_props}
            if keep:
                step["keep"] = True
            self._send_state(new_id, data, current["layout"], None, restyle=step)
            return new_id

    @staticmethod
    def _state_dict(state_id: str, revision: int, data, layout, template_id: str) -> dict:
        return {"id": state_id, "revision": revision, "data": data, "layout": layout, "template_id": template_id}

    def _send_state(self, state_id: str, data, layout, encoded: Optional[_Encoded], restyle=None) -> None:
        self._revision += 1
        template_id = encoded.template_id if encoded is not None else self.state.get("template_id", "")
        state = self._state_dict(state_id, self._revision, data, layout, template_id)
        if restyle is not None:
            state["restyle"] = restyle
        with self.hold_sync():
            if encoded is not None and template_id != self.template.get("id"):
                self.template = {"id": template_id, "value": encoded.template}
            self.state = state
        self.sent[state_id] = True
        self.sent.move_to_end(state_id)
        while len(self.sent) > self.FRAMES_KEPT:
            self.sent.popitem(last=False)

    # ------------------------------------------------------------------ views seen before
    def bind(self, control: W.Widget, trait: str, views: dict) -> None:
        """Tell the page which state each value of ``control``'s ``trait`` brings back (``views``:
        value -> state id, the other settings as they are now): moving the control to one of them
        shows that plot at once, before the kernel has answered (its answer follows)."""
        views = {str(value): state_id for value, state_id in views.items() if state_id in self.sent}
        entry = {"trait": trait, "views": views}
        with self._lock:
            if self.bindings.get(control.model_id) == entry:
                return
            self.bindings = {**self.bindings, control.model_id: entry}

    def forget(self) -> None:
        """Forget the states seen so far, here and in the page: the next view is drawn from its
        figure, as the first time (the benchmarks' first-view rows)."""
        with self._lock:
            self.sent.clear()
            self.bindings = {}
            self.send({"forget": True})

    # ------------------------------------------------------------------ events
    def on_hover(self, callback: Optional[Callable], append: bool = False) -> None:
        """Call ``callback(plot, event)`` when the mouse is over a point (``append=False``
        replaces the callbacks before; ``None`` removes them)."""
        self._register("hover", callback, append)

    def on_click(self, callback: Optional[Callable], append: bool = False) -> None:
        """Call ``callback(plot, event)`` on a click on a point (see :meth:`on_hover`)."""
        self._register("click", callback, append)

    def on_selection(self, callback: Optional[Callable], append: bool = False) -> None:
        """Call ``callback(plot, event)`` when points are selected with the box or lasso."""
        self._register("selected", callback, append)

    def on_relayout(self, callback: Optional[Callable], append: bool = False) -> None:
        """Call ``callback(plot, event)`` on a zoom or pan (``event.relayout``: plotly.js's data)."""
        self._register("relayout", callback, append)

    def _register(self, kind: str, callback, append: bool) -> None:
        if callback is not None and not callable(callback):
            raise TypeError(f"Plot.on_{kind}: the callback must be callable. Got {callback!r}.")
        callbacks = self._callbacks[kind]
        if not append:
            callbacks.clear()
        if callback is not None:
            callbacks.append(callback)
        wanted = [k for k in EVENTS if self._callbacks[k]]
        if wanted != list(self.events):
            self.events = wanted

    def _on_page_message(self, _widget, content, buffers) -> None:
        if not isinstance(content, dict) or content.get("event") not in EVENTS:
            return
        self.dispatch(content["event"], content.get("points") or [], content.get("relayout"))

    def dispatch(self, kind: str, points: list, relayout: Optional[dict] = None) -> None:
        """Run the callbacks of ``kind`` for ``points`` (what the page sends: a list of
        ``{"trace", "index", "x", "y"}``). A callback's error is shown by the explorer that
        registered it; here it never reaches the page."""
        if kind == "relayout":
            self.last_relayout = dict(relayout or {})
        points = [p for p in points if isinstance(p, dict) and isinstance(p.get("trace"), int)]
        fig = self.figure
        first = points[0]["trace"] if points else None
        trace = fig.data[first] if first is not None and 0 <= first < len(fig.data) else None
        event = PlotEvent(kind, points, trace, relayout)
        for callback in list(self._callbacks[kind]):
            callback(self, event)

    # ------------------------------------------------------------------ lifetime
    def close(self) -> None:
        """Close the widget and drop its callbacks."""
        for kind in EVENTS:
            self._callbacks[kind].clear()
        super().close()


def _set_path(target: dict, path: str, value) -> None:
    parts = path.split(".")
    node = target
    for part in parts[:-1]:
        child = node.get(part)
        child = dict(child) if isinstance(child, dict) else {}
        node[part] = child
        node = child
    node[parts[-1]] = value


# ----------------------------------------------------------------------------- helpers

class ViewCache:
    """The figures an explorer drew for each view, so a view seen before is neither built nor
    converted again: ``get(key, *sources)`` returns what ``put(key, value, *sources)`` stored
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
    states in the page (dropdowns and selection sliders by index, int sliders by value), else None."""
    if isinstance(control, (W.Dropdown, W.SelectionSlider)):
        options = [option[1] if isinstance(option, tuple) else option for option in control.options]
        return "index", dict(enumerate(options))
    if isinstance(control, W.IntSlider) and (control.max - control.min) // max(control.step, 1) <= 200:
        return "value", {v: v for v in range(control.min, control.max + 1, max(control.step, 1))}
    return None


def _in_a_kernel() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with ipywidgets
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


# plotly.js (5 MB) goes to the page as soon as an explorer is imported in a kernel, not with the
# first figure: the page compiles it while the first cells load the model and data.
if _in_a_kernel():
    ensure_library()
