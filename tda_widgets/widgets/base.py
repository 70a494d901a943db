"""What every explorer shares: a job runner off the UI thread, a progress bar, Cancel, errors.

A widget callback runs on the kernel's shell thread, so a Cancel click would queue behind a
long computation run there. Explorers therefore run each computation in a worker thread with
a :class:`threading.Event` for cancel. Only the newest job may touch the figures: each job has
a generation number, and a job whose generation is no longer current drops its result (so 20
quick slider moves end with the figure of the last setting, never a stale one).
"""

from __future__ import annotations

import threading
import time
import traceback
import weakref
from typing import Any, Callable, Optional

import ipywidgets as W
import traitlets as T

from ..core.errors import Cancelled, TDAInputError
from ..core.markup import markup
from .plot import PlotLibrary
__all__ = ["JobRunner", "ExplorerBase", "CELLS", "owned_widgets", "close_widgets"]


class CellOwnership:
    """Which notebook cell made which explorers, so that re-running a cell stops its old ones.

    Re-running ``pe = PersistenceExplorer(...)`` while the first explorer still computes left
    that job running (the new explorer queued behind it: 7.4 s instead of 2.9 s in the issue)
    and its widgets alive in the kernel. IPython's ``pre_run_cell`` event carries the cell's id
    (JupyterLab and Notebook 7 send it); when a cell runs again, the explorers it made before
    are closed (their job cancelled at its next check, their widgets closed: the front end has
    just cleared their output anyway). Explorers made outside a cell with an id (a script, a
    terminal IPython, a button's callback) are never closed by this.
    """

    def __init__(self):
        self.current: Optional[str] = None
        self.by_cell: dict[str, list] = {}
        self._shell = None

    def _install(self) -> None:
        try:
            from IPython import get_ipython
        except ImportError:  # pragma: no cover - IPython comes with ipywidgets
            return
        shell = get_ipython()
        if shell is None or shell is self._shell:
            return
        shell.events.register("pre_run_cell", self._pre_run_cell)
        shell.events.register("post_run_cell", self._post_run_cell)
        self._shell = shell
        # the cell running now began before these hooks existed: ask the shell which it is
        result = getattr(getattr(shell, "displayhook", None), "exec_result", None)
        self.current = getattr(getattr(result, "info", None), "cell_id", None)

    def _pre_run_cell(self, info) -> None:
        self.current = getattr(info, "cell_id", None)
        if self.current is None:
            return
        for ref in self.by_cell.pop(self.current, []):
            explorer = ref()
            if explorer is not None:
                explorer.close()

    def _post_run_cell(self, result) -> None:
        self.current = None  # explorers made later (callbacks, threads) belong to no cell

    def adopt(self, explorer: "ExplorerBase") -> None:
        """Record that the running cell (if any) made ``explorer``."""
        self._install()
        if self.current is not None:
            self.by_cell.setdefault(self.current, []).append(weakref.ref(explorer))


#: The one registry of the kernel (see :class:`CellOwnership`).
CELLS = CellOwnership()


def _widgets_in(value, out: list, depth: int = 0) -> None:
    # Containers are copied before the walk (one C-level copy: no other thread runs inside it): an
    # explorer's job thread may set an attribute while close() walks them ("dictionary changed size
    # during iteration" from Dashboard.close, seen once in a few hundred closes).
    if isinstance(value, W.Widget):
        out.append(value)
    elif depth < 3 and isinstance(value, (list, tuple, set, frozenset)):
        for item in tuple(value):
            _widgets_in(item, out, depth + 1)
    elif depth < 3 and isinstance(value, dict):
        for item in tuple(value.values()):
            _widgets_in(item, out, depth + 1)


def owned_widgets(root: W.Widget) -> list:
    """Every widget reachable from ``root``: its children, layouts, styles and the widgets it
    holds as attributes (a plot not shown yet, the explorers of a dashboard), recursively;
    ``root`` first. The one plotly.js library of the kernel is shared and never among them."""
    seen: dict = {}
    stack = [root]
    while stack:
        widget = stack.pop()
        if id(widget) in seen or isinstance(widget, PlotLibrary):
            continue
        seen[id(widget)] = widget
        found: list = []
        _widgets_in(vars(widget), found)  # its attributes, and (one level down) the values of its traits
        stack.extend(w for w in found if id(w) not in seen)
    return list(seen.values())


def close_widgets(root: W.Widget) -> None:
    """Close ``root`` and every widget of :func:`owned_widgets` (children first)."""
    for widget in reversed(owned_widgets(root)):
        if widget is root:
            continue
        widget.close()
    W.Widget.close(root)


class JobRunner:
    """Runs one job at a time in a worker thread; a new job cancels the one before.

    Parameters
    ----------
    on_progress : callable(done, total, message)
    on_state : callable(state, message) with state in {"running", "done", "cancelled", "error"}
    threaded : bool
        False runs jobs inline (deterministic, for scripts); widgets default to threads.
    """

    def __init__(self, on_progress: Callable[[int, int, str], None], on_state: Callable[[str, str], None],
                 threaded: bool = True):
        self.on_progress = on_progress
        self.on_state = on_state
        self.threaded = threaded
        self.generation = 0
        self._cancel: Optional[threading.Event] = None
        self._thread: Optional[threading.Thread] = None
        self._lock = threading.Lock()
        self.last_error: Optional[BaseException] = None
        self.jobs_started = 0

    @property
    def busy(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def cancel(self) -> None:
        """Ask the running job to stop at its next check."""
        with self._lock:
            if self._cancel is not None:
                self._cancel.set()

    def submit(self, work: Callable[[Callable, threading.Event], Any], apply: Callable[[Any], None],
               label: str = "computing") -> int:
        """Run ``work(progress, cancel)``; if still the newest job, call ``apply(result)``."""
        with self._lock:
            if self._cancel is not None:
                self._cancel.set()
            self.generation += 1
            generation = self.generation
            cancel = threading.Event()
            self._cancel = cancel
            self.jobs_started += 1

        def progress(done, total, message=""):
            if generation == self.generation and not cancel.is_set():
                self.on_progress(done, total, message)

        def run():
            if generation != self.generation or cancel.is_set():
                return  # cancelled (or closed) before it began: nothing runs, nothing is shown
            self.on_state("running", label)
            try:
                result = work(progress, cancel)
                if cancel.is_set():
                    raise Cancelled(label)
                if generation != self.generation:
                    return
                apply(result)
                if generation == self.generation:
                    self.last_error = None
                    self.on_state("done", "")
            except Cancelled:
                if generation == self.generation:
                    self.on_state("cancelled", f"Cancelled: {label}. Change a setting or press Recompute.")
            except Exception as exc:  # shown in the widget, never lost in a log
                if generation == self.generation:
                    self.last_error = exc
                    self.on_state("error", f"{type(exc).__name__}: {exc}")

        if self.threaded:
            previous = self._thread
            thread = threading.Thread(target=self._after, args=(previous, run), daemon=True,
                                      name=f"tda-widgets-job-{generation}")
            self._thread = thread
            thread.start()
        else:
            run()
        return generation

    @staticmethod
    def _after(previous: Optional[threading.Thread], run: Callable[[], None]) -> None:
        # One job at a time: wait for the cancelled predecessor to reach its next check.
        if previous is not None:
            previous.join()
        run()

    def close(self) -> None:
        """Cancel the running job and drop the result of any job still under way: it ends at its
        next check and touches nothing (the widgets it would draw in are closed)."""
        with self._lock:
            if self._cancel is not None:
                self._cancel.set()
            self.generation += 1

    @property
    def thread(self) -> Optional[threading.Thread]:
        """The thread of the newest job (None before the first, or when jobs run inline)."""
        return self._thread

    def wait(self, timeout: Optional[float] = 120) -> None:
        """Block until the current job has finished (for tests and scripts)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                raise TimeoutError(f"the background job did not finish within {timeout} s")


class ExplorerBase(W.VBox):
    """A VBox with a status row: progress bar, message, Cancel and Recompute buttons."""

    status = T.Unicode("").tag(sync=False)
    state = T.Unicode("idle").tag(sync=False)

    def __init__(self, *, threaded: bool = True, **kwargs):
        self.progress_bar = W.FloatProgress(value=0.0, min=0.0, max=1.0, description="",
                                            layout=W.Layout(width="220px", visibility="hidden"))
        self.progress_bar.add_class("tda-progress")
        self.status_label = W.HTML("", layout=W.Layout(flex="1"))
        self.status_label.add_class("tda-status")
        self.cancel_button = W.Button(description="Cancel", icon="stop", disabled=True,
                                      layout=W.Layout(width="100px"), tooltip="stop the running computation")
        self.recompute_button = W.Button(description="Recompute", icon="refresh", layout=W.Layout(width="120px"))
        self.cancel_button.on_click(self._on_cancel_click)
        self.recompute_button.on_click(lambda _: self.recompute())
        self.status_row = W.HBox([self.progress_bar, self.cancel_button, self.recompute_button, self.status_label],
                                 layout=W.Layout(align_items="center"))
        self.jobs = JobRunner(self._on_progress, self._on_state, threaded=threaded)
        super().__init__(**kwargs)
        self.add_class("tda-explorer")
        CELLS.adopt(self)

    # --------------------------------------------------------------- status

    def _on_progress(self, done: int, total: int, message: str) -> None:
        self._progress = (done, total)
        if message:
            self._message = message
        if getattr(self, "_busy_shown", True):  # a quick job sends nothing: no messages, no flicker
            self._draw_progress()
            if message:
                self._show_running()

    def _draw_progress(self) -> None:
        done, total = getattr(self, "_progress", (0, 1))
        self.progress_bar.max = max(float(total), 1.0)
        self.progress_bar.value = float(min(done, total))
        self.progress_bar.description = f"{done}/{total}"

    #: Seconds between two updates of a running job's elapsed time.
    TICK_S = 0.5
    #: A threaded job shows its progress bar and status only once it has run this long: a view
    #: from the cache (a few ms) then sends no progress messages and nothing flickers.
    SHOW_AFTER_S = 0.15

    def _show_running(self) -> None:
        elapsed = time.monotonic() - getattr(self, "_started_at", time.monotonic())
        message = getattr(self, "_message", "")
        self.status_label.value = markup("<span>{} · {:.1f} s</span>", message, elapsed) if message \
            else markup("<span>{:.1f} s</span>", elapsed)

    def _show_busy(self, run: int) -> None:
        """Show run ``run``'s progress bar and status, if it is still the one running."""
        with self._ui_lock:
            if self.state != "running" or self._run != run or self._busy_shown:
                return
            self._busy_shown = True
            self.progress_bar.bar_style = "info"
            self._draw_progress()
            self.progress_bar.layout.visibility = "visible"
            self._show_running()

    def _tick(self, run: int) -> None:
        """While job run ``run`` is the running one, show its elapsed time: a long single step
        (one layer's persistence) shows progress that moves, not a frozen "0/1"."""
        time.sleep(self.SHOW_AFTER_S)
        self._show_busy(run)
        while True:
            time.sleep(self.TICK_S)
            if self.state != "running" or self._run != run or getattr(self, "_closed", False):
                return
            self._show_running()

    _ui_lock = threading.Lock()

    def _on_state(self, state: str, message: str) -> None:
        running = state == "running"
        with self._ui_lock:
            if getattr(self, "_closed", False):
                return
            self.state = state
            self.status = message
            self.cancel_button.disabled = not running
            if running:
                self._progress = (0, 1)
                self._started_at, self._message = time.monotonic(), message
                self._run = getattr(self, "_run", 0) + 1
                self._busy_shown = False
                run = self._run
            else:
                self._busy_shown = False
                if self.progress_bar.layout.visibility != "hidden":
                    self.progress_bar.layout.visibility = "hidden"
        if running:
            if self.jobs.threaded:
                threading.Thread(target=self._tick, args=(run,), daemon=True,
                                 name=f"tda-widgets-ticker-{run}").start()
            else:
                self._show_busy(run)
            return
        colour = {"error": "var(--jp-error-color1, #b00020)", "cancelled": "var(--jp-warn-color1, #8a6d00)"}.get(
            state, "var(--jp-ui-font-color2, #555)")  # the theme's colours, readable in light and dark
        template = "<span style='color:{}'><b>Error</b> — {}</span>" if state == "error" \
            else "<span style='color:{}'>{}</span>"
        self.status_label.value = markup(template, colour, message) if message else ""

    def _on_cancel_click(self, _button=None) -> None:
        self.jobs.cancel()

    def cancel(self) -> None:
        """Stop the running computation (same as the Cancel button)."""
        self.jobs.cancel()

    def wait(self, timeout: Optional[float] = 120) -> "ExplorerBase":
        """Block until the current computation has finished; returns self."""
        self.jobs.wait(timeout)
        return self

    def recompute(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def close(self) -> None:
        """Stop any running work, then close the explorer and every widget it made (controls,
        plots, thumbnails, their layouts and styles): the kernel and the page's widget manager
        drop them all. The job under way ends at its next check and draws nothing."""
        self.jobs.close()
        with self._ui_lock:
            self._closed = True  # the elapsed-time ticker ends; a late job's state is not shown
            if self.state == "running":
                self.state = "cancelled"
        close_widgets(self)

    def _link_controls(self, pairs) -> None:
        """Link each trait to its control; a value no dropdown offers is a clear error.

        Without this check traitlets raised "Invalid selection: value not found", naming
        neither the parameter nor its choices.
        """
        import difflib

        for trait, control in pairs:
            value = getattr(self, trait)
            if isinstance(control, (W.Dropdown, W.SelectionSlider)):
                choices = [option[1] if isinstance(option, tuple) else option for option in control.options]
                if value not in choices:
                    close = difflib.get_close_matches(str(value), [str(c) for c in choices], n=1)
                    hint = f" Did you mean {close[0]!r}?" if close else ""
                    raise TDAInputError(
                        f"The '{trait}' parameter of {type(self).__name__} must be one of "
                        f"{{{', '.join(map(repr, choices))}}}. Got {value!r} instead.{hint}"
                    )
            W.link((self, trait), (control, "value"))
            self.__dict__.setdefault("_controls", {})[trait] = control

    #: Traits besides the linked controls' that decide what the figures show.
    VIEW_TRAITS: tuple = ()
    #: Settings remembered per explorer with the frames they showed.
    VIEWS_KEPT = 256

    def _view_settings(self) -> dict:
        names = list(self.__dict__.get("_controls", {})) + list(self.VIEW_TRAITS)
        return {name: repr(getattr(self, name)) for name in names}

    def forget_views(self) -> None:
        """Forget the views seen so far, in the kernel and in the browser: the next view of every
        figure is built and drawn as the first time (the browser benchmark's first-view rows)."""
        from .plot import Plot

        self.__dict__.pop("_seen_views", None)
        cache = self.__dict__.get("_views")
        if cache is not None:
            cache.clear()
        for value in list(self.__dict__.values()):
            figures = value.values() if isinstance(value, dict) else [value]
            for fig in figures:
                if isinstance(fig, Plot):
                    fig.forget()

    def _remember_views(self, figures) -> None:
        """After a redraw: the frames ``figures`` show belong to the current settings. Then tell the
        browser, for each control, which frames its values bring back with the other settings as
        they are (a view seen before then appears before the kernel has even answered; the
        kernel's answer follows and confirms it, or corrects a guess made on stale settings)."""
        from collections import OrderedDict

        from .plot import control_values

        figures = [fig for fig in figures if fig is not None]
        ids = [fig.shown_id for fig in figures]
        if not figures or not all(ids):
            return
        seen = self.__dict__.setdefault("_seen_views", OrderedDict())
        settings = self._view_settings()
        key = tuple(settings.items())
        seen[key] = ids
        seen.move_to_end(key)
        while len(seen) > self.VIEWS_KEPT:
            seen.popitem(last=False)
        for trait, control in self.__dict__.get("_controls", {}).items():
            bindable = control_values(control)
            if bindable is None:
                continue
            synced, values = bindable
            for k, fig in enumerate(figures):
                views = {}
                for value, setting in values.items():
                    got = seen.get(tuple({**settings, trait: repr(setting)}.items()))
                    if got is not None:
                        views[value] = got[k]
                fig.bind(control, synced, views)

    @staticmethod
    def format_exception(exc: BaseException) -> str:
        return "".join(traceback.format_exception_only(type(exc), exc)).strip()
