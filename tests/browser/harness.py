"""Helpers for driving JupyterLab 4 in headless Debian Chromium with Playwright (sync API).

The fixtures in ``conftest.py`` start one JupyterLab server per session (:func:`start_lab`)
and one fresh Chromium per test (:func:`launch_chromium`); the helpers below write a
notebook, open it, run it through the menu, and read or hover Plotly figures.
Selectors and pitfalls are the ones verified in the shared FACTS.md ("Browser tests").
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "CHROMIUM",
    "CHROMIUM_FLAGS",
    "LabServer",
    "start_lab",
    "start_server",
    "launch_chromium",
    "chromium_missing_message",
    "write_notebook",
    "open_notebook",
    "run_all_cells",
    "run_code_in_cell",
    "wait_all_cells_executed",
    "wait_kernel_idle",
    "assert_no_widget_errors",
    "plot_data",
    "point_pixels",
    "hover",
]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
REPO_ROOT = Path(__file__).resolve().parents[2]
# First kernel start and widget-manager load are slow on 2 cores (FACTS.md): allow 60 s.
SLOW_MS = 60_000


def chromium_missing_message() -> str | None:
    """A message saying how to install Chromium, or None when it is installed."""
    if Path(CHROMIUM).exists():
        return None
    return (
        f"The browser tests need Debian's Chromium at {CHROMIUM}, which is missing. "
        "Install it with `scripts/install_chromium.sh` (apt-get install chromium "
        "chromium-driver); never `playwright install`."
    )


# --------------------------------------------------------------------------- server


@dataclass
class LabServer:
    """A running JupyterLab server on loopback, started by :func:`start_lab`."""

    process: subprocess.Popen
    port: int
    token: str
    root: Path
    log_path: Path
    temp_dir: Path
    base_url: str = field(init=False)

    def __post_init__(self):
        self.base_url = f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        """``path`` on the server, with the token in the query."""
        sep = "&" if "?" in path else "?"
        return f"{self.base_url}{path}{sep}token={self.token}"

    def api(self, method: str, path: str, timeout: float = 10.0):
        """Call the REST API; the decoded JSON answer (None when empty)."""
        request = urllib.request.Request(self.url(path), method=method)
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
        return json.loads(body) if body else None

    def kernels(self) -> list[dict]:
        return self.api("GET", "/api/kernels")

    def delete_sessions(self) -> None:
        """Delete every session (and so its kernel): each test starts a fresh kernel."""
        for session in self.api("GET", "/api/sessions"):
            self.api("DELETE", f"/api/sessions/{session['id']}")
        for kernel in self.kernels():
            self.api("DELETE", f"/api/kernels/{kernel['id']}")

    def log_tail(self, n_chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-n_chars:]
        except OSError:
            return "<no server log>"

    def stop(self) -> None:
        """Stop the server by its PID: terminate, then kill if it does not exit."""
        if self.process.poll() is None:
            try:
                self.delete_sessions()
            except Exception:
                pass  # the server may be unhealthy; terminate anyway
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)
        shutil.rmtree(self.temp_dir, ignore_errors=True)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def voila_server(folder: Path, notebook: str, timeout: float = 90.0):
    """Serve ``folder / notebook`` with ``python -m voila`` on a free loopback port; yields its
    URL. Jupyter's paths and config live in ``folder``, this extension's built front end is copied
    in (Voilà's static handler refuses files behind a link out of its folders: 403), and the
    repository comes first on the kernel's path. The server is stopped on exit."""
    extensions = folder / "jupyter-path" / "labextensions"
    extensions.mkdir(parents=True, exist_ok=True)
    if not (extensions / "tda-widgets").exists():
        shutil.copytree(REPO_ROOT / "tda_widgets" / "labextension", extensions / "tda-widgets")
    port = _free_port()
    env = dict(os.environ, JUPYTER_PATH=os.pathsep.join(p for p in (str(folder / "jupyter-path"),
                                                                     os.environ.get("JUPYTER_PATH")) if p),
               JUPYTER_CONFIG_DIR=str(folder / "config"), JUPYTER_RUNTIME_DIR=str(folder / "runtime"),
               PYTHONPATH=os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH")) if p))
    log_path = folder / "voila.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "voila", "--no-browser", f"--port={port}",
                                    "--Voila.ip=127.0.0.1", "--token=", str(folder / notebook)],
                                   stdout=log, stderr=subprocess.STDOUT, env=env, cwd=folder)
        try:
            url = f"http://127.0.0.1:{port}/"
            deadline = time.monotonic() + timeout
            while True:
                try:  # any answer (Voilà refuses this path: 403) means the server is up
                    urllib.request.urlopen(url + "api/status", timeout=2)
                    break
                except urllib.error.HTTPError:
                    break
                except Exception:
                    assert process.poll() is None and time.monotonic() < deadline, log_path.read_text()
                    time.sleep(0.3)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def start_lab(timeout: float = 90.0) -> LabServer:
    """Start ``python -m jupyter lab``; see :func:`start_server`."""
    return start_server("lab", timeout)


def start_server(app: str = "lab", timeout: float = 90.0) -> LabServer:
    """Start ``python -m jupyter lab`` or ``python -m jupyter notebook`` (Notebook 7), with
    this interpreter's environment, on a free loopback port.

    Settings, user settings, workspaces and config live in a fresh temporary folder, so the
    host's own JupyterLab settings cannot change the tests. Notebook windowing is off
    (``windowingMode: "none"``) so that outputs of off-screen cells render, and the news
    pop-up is off so that it covers nothing.
    """
    temp_dir = Path(tempfile.mkdtemp(prefix="tdaw-lab-"))
    root = temp_dir / "notebooks"
    app_settings = temp_dir / "app-settings"
    for folder in (root, app_settings, temp_dir / "user-settings", temp_dir / "workspaces",
                   temp_dir / "config", temp_dir / "runtime", temp_dir / "ipython"):
        folder.mkdir()
    # The front end loads this checkout's prebuilt extension, whichever build the environment
    # has installed or linked: JUPYTER_PATH comes first where JupyterLab looks for extensions,
    # and the first folder holding an extension wins.
    extensions = temp_dir / "jupyter-path" / "labextensions"
    extensions.mkdir(parents=True)
    (extensions / "tda-widgets").symlink_to(REPO_ROOT / "tda_widgets" / "labextension", target_is_directory=True)
    overrides = {
        "@jupyterlab/notebook-extension:tracker": {"windowingMode": "none"},
        # no news pop-up over the notebook, no requests to the internet
        "@jupyterlab/apputils-extension:notification": {
            "fetchNews": "false", "checkForUpdates": False,
        },
    }
    (app_settings / "overrides.json").write_text(json.dumps(overrides))
    port = _free_port()
    token = secrets.token_hex(16)
    env = dict(os.environ)
    env.update(
        JUPYTERLAB_SETTINGS_DIR=str(temp_dir / "user-settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(temp_dir / "workspaces"),
        JUPYTER_CONFIG_DIR=str(temp_dir / "config"),
        JUPYTER_RUNTIME_DIR=str(temp_dir / "runtime"),
        IPYTHONDIR=str(temp_dir / "ipython"),
        JUPYTER_PATH=os.pathsep.join(p for p in (str(temp_dir / "jupyter-path"), env.get("JUPYTER_PATH")) if p),
        # the kernel imports this checkout's tda_widgets, installed or not
        PYTHONPATH=os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH")) if p),
    )
    if app not in ("lab", "notebook"):
        raise ValueError(f"The 'app' parameter of start_server must be 'lab' or 'notebook'. "
                         f"Got {app!r} instead.")
    # Notebook 7 reads its settings through the JupyterLab server extension's handler
    # (/lab/api/settings), so point both apps at the overrides.
    app_classes = ["LabApp"] if app == "lab" else ["LabApp", "JupyterNotebookApp"]
    command = [
        sys.executable, "-m", "jupyter", app, "--no-browser",
        f"--port={port}", "--port-retries=0",
        f"--ServerApp.token={token}", f"--ServerApp.root_dir={root}",
        "--ServerApp.ip=127.0.0.1", "--allow-root",
    ] + [f"--{app_class}.app_settings_dir={app_settings}" for app_class in app_classes]
    log_path = temp_dir / "server.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env,
                                   cwd=temp_dir)
    server = LabServer(process, port, token, root, log_path, temp_dir)
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            tail = server.log_tail()
            server.stop()
            raise RuntimeError(f"jupyter {app} exited with code {process.returncode}:\n{tail}")
        try:
            server.api("GET", "/api/status", timeout=2)
            break
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            if time.monotonic() > deadline:
                tail = server.log_tail()
                server.stop()
                raise TimeoutError(f"jupyter {app} did not answer in {timeout} s:\n{tail}")
            time.sleep(0.2)
    return server


# --------------------------------------------------------------------------- browser


def launch_chromium(playwright, user_data_dir: str):
    """A persistent Chromium context with a fresh profile in ``user_data_dir``."""
    return playwright.chromium.launch_persistent_context(
        user_data_dir,
        executable_path=CHROMIUM,
        headless=True,
        viewport={"width": 1280, "height": 1000},
        args=CHROMIUM_FLAGS,
    )


# --------------------------------------------------------------------------- notebooks


def write_notebook(root, name: str, cells: list[str]) -> Path:
    """Write a notebook of code ``cells`` (python3 kernel) as ``root / name``."""
    import nbformat

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    notebook.metadata["kernelspec"] = {
        "name": "python3", "display_name": "Python 3", "language": "python",
    }
    path = Path(root) / name
    nbformat.write(notebook, str(path))
    return path


def wait_kernel_idle(page, server: LabServer, timeout: float = 60.0) -> list[dict]:
    """Wait until the toolbar says idle AND the REST API lists kernels, all idle.

    The UI indicator can read 'idle' before a kernel exists, hence the REST cross-check.
    """
    page.wait_for_selector(
        ".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=timeout * 1000
    )
    deadline = time.monotonic() + timeout
    while True:
        try:
            kernels = server.kernels()
        except urllib.error.HTTPError as exc:
            # jupyter_server answers 500 (KeyError 'last_activity') for a kernel that is
            # still starting; that means "not ready yet", so ask again.
            if exc.code < 500:
                raise
            kernels = [{"execution_state": f"HTTP {exc.code} while starting"}]
        if kernels and all(k["execution_state"] == "idle" for k in kernels):
            return kernels
        if time.monotonic() > deadline:
            raise TimeoutError(f"kernel not idle after {timeout} s: {kernels}")
        time.sleep(0.2)


def open_notebook(page, server: LabServer, name: str) -> None:
    """Open ``name`` (relative to the server root) in a reset workspace; wait for the kernel."""
    page.goto(server.url(f"/lab/tree/{name}?reset"), wait_until="domcontentloaded")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=SLOW_MS)
    wait_kernel_idle(page, server)


_ALL_EXECUTED_JS = """() => {
    const cells = Array.from(document.querySelectorAll('.jp-Notebook .jp-CodeCell'));
    if (cells.length === 0) return false;
    return cells.every((cell) => {
        const source = cell.querySelector('.cm-content');
        if (source && source.innerText.trim() === '') return true;  // empty cells get no count
        const prompt = cell.querySelector('.jp-InputArea-prompt');
        return prompt && /^\\[\\d+\\]:$/.test(prompt.innerText.trim());
    });
}"""


def wait_all_cells_executed(page, server: LabServer, timeout: float = 60.0) -> None:
    """Wait until every non-empty code cell shows an execution count, then kernel idle."""
    page.wait_for_function(_ALL_EXECUTED_JS, timeout=timeout * 1000)
    wait_kernel_idle(page, server, timeout)


def run_all_cells(page, server: LabServer | None = None, timeout: float = 60.0) -> None:
    """Run > Run All Cells through the menu bar (the selectors verified in FACTS.md).

    With ``server``, also waits (up to ``timeout`` seconds) for every cell to finish and the
    kernel to be idle.
    """
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(
        "#jp-mainmenu-run .lm-Menu-item",
        has=page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")),
    ).click()
    if server is not None:
        wait_all_cells_executed(page, server, timeout)


def run_code_in_cell(page, server: LabServer, cell_index: int, code: str) -> None:
    """Replace the source of code cell ``cell_index`` with ``code`` and run it (Shift+Enter).

    The way a user would type into a later cell; waits for its execution count to change.
    """
    cell = page.locator(".jp-Notebook .jp-CodeCell").nth(cell_index)
    cell.scroll_into_view_if_needed()
    before = cell.locator(".jp-InputArea-prompt").inner_text().strip()
    editor = cell.locator(".cm-content")
    editor.click()
    page.keyboard.press("Control+a")
    page.keyboard.press("Delete")
    page.keyboard.insert_text(code)  # no per-key auto-closing of brackets
    page.keyboard.press("Shift+Enter")
    page.wait_for_function(
        """([index, before]) => {
            const cell = document.querySelectorAll('.jp-Notebook .jp-CodeCell')[index];
            const text = cell.querySelector('.jp-InputArea-prompt').innerText.trim();
            return /^\\[\\d+\\]:$/.test(text) && text !== before;
        }""",
        arg=[cell_index, before],
        timeout=SLOW_MS,
    )
    wait_kernel_idle(page, server)


_WIDGET_ERRORS_JS = """() => {
    const problems = [];
    for (const out of document.querySelectorAll('.jp-OutputArea-output')) {
        const text = out.innerText || '';
        if (text.includes('Error displaying widget')) problems.push('Error displaying widget: ' + text.slice(0, 300));
        if (text.includes('Failed to load model class')) problems.push('Failed to load model class: ' + text.slice(0, 300));
        if (/^\\s*(VBox|HBox|Tab|GridBox|FigureWidget|Plot|ThumbnailPanel|PersistenceExplorer|LayerDistanceExplorer|MapperExplorer|Dashboard)\\(/.test(text)) problems.push('widget shown as text (no widget manager): ' + text.slice(0, 300));
        if (out.getAttribute('data-mime-type') === 'application/vnd.jupyter.stderr' && /Traceback|Error/.test(text))
            problems.push('stderr: ' + text.slice(0, 500));
        if (out.querySelector('[data-mime-type="application/vnd.jupyter.error"]') ||
            out.getAttribute('data-mime-type') === 'application/vnd.jupyter.error')
            problems.push('exception in a cell: ' + text.slice(0, 800));
    }
    return problems;
}"""


#: anywidget's page error for a model that took over 2 s to initialise; such a model never
#: applies another kernel update (a blank or frozen figure, an empty thumbnail panel; issue 15).
ANYWIDGET_DEAD = "[anywidget] Failed to initialize model."


def collect_console_errors(page, errors: list[str] | None = None) -> list[str]:
    """Append the page's console errors and uncaught page errors to ``errors`` as they come."""
    errors = [] if errors is None else errors
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    return errors


def kernel_eval(server: LabServer, code: str, timeout: float = 30.0) -> str:
    """Run ``code`` in the server's (only) kernel, beside the page, and return its stdout: a
    diagnostic that reads the kernel's state without adding a cell to the notebook."""
    import zmq
    from jupyter_client import BlockingKernelClient

    kernels = server.kernels()
    if len(kernels) != 1:
        return f"<{len(kernels)} kernels>"
    # a context of its own, destroyed after: the shared one kept each call's sockets, and the browser
    # benchmark's few hundred calls reached zmq's limit ("Too many open files")
    client = BlockingKernelClient(connection_file=str(server.temp_dir / "runtime" / f"kernel-{kernels[0]['id']}.json"),
                                  context=zmq.Context())
    client.load_connection_file()
    client.start_channels()
    out: list[str] = []
    try:
        client.execute_interactive(code, store_history=False, timeout=timeout,
                                   output_hook=lambda m: out.append(m["content"].get("text", "")
                                                                    or str(m["content"].get("evalue", ""))))
    except Exception as exc:  # a diagnostic must not hide the test's own error
        out.append(f"<kernel_eval failed: {exc!r}>")
    finally:
        client.stop_channels()
        client.context.destroy(linger=0)
    return "".join(out).strip()


def assert_no_dead_models(errors: list[str]) -> None:
    """Fail, by name, when a widget model missed anywidget's 2 s initialisation."""
    dead = [e for e in errors if ANYWIDGET_DEAD in e]
    assert not dead, (f"{ANYWIDGET_DEAD!r} in the page: a widget model is dead and will not redraw "
                      f"(see tda_widgets/widgets/plot.js, 'plotly.js, once'). Console errors: {errors}")


def assert_no_widget_errors(page) -> None:
    """Fail when an output shows a widget error, a bare widget repr, or a traceback."""
    problems = page.evaluate(_WIDGET_ERRORS_JS)
    assert not problems, "widget/cell errors in the notebook:\n" + "\n".join(problems)


# --------------------------------------------------------------------------- plotly


def plot_data(page, selector: str) -> list[dict]:
    """The traces of the Plotly graph div at ``selector``: name, x and y as lists."""
    return page.evaluate(
        """(selector) => {
            const gd = document.querySelector(selector);
            if (!gd || !gd.data) throw new Error('no plotly graph at ' + selector);
            const list = (v) => (v == null ? null : Array.from(v));
            return gd.data.map((t) => ({name: t.name ?? null, x: list(t.x), y: list(t.y)}));
        }""",
        selector,
    )


def point_pixels(page, plot_selector: str, trace_index: int, point_index: int) -> dict:
    """Viewport pixel position {x, y} of a point, from Plotly's own axis mapping.

    Scrolls the plot into view first, since a mouse move only reaches visible pixels.
    """
    page.locator(plot_selector).first.scroll_into_view_if_needed()
    return page.evaluate(
        """([selector, trace, index]) => {
            const gd = document.querySelector(selector);
            const fl = gd._fullLayout, point = gd.calcdata[trace][index];
            const xaxis = fl[gd._fullData[trace].xaxis === 'x' ? 'xaxis' : 'xaxis' + gd._fullData[trace].xaxis.slice(1)];
            const yaxis = fl[gd._fullData[trace].yaxis === 'y' ? 'yaxis' : 'yaxis' + gd._fullData[trace].yaxis.slice(1)];
            const box = gd.querySelector('.main-svg').getBoundingClientRect();
            return {x: box.left + xaxis._offset + xaxis.d2p(point.x),
                    y: box.top + yaxis._offset + yaxis.d2p(point.y)};
        }""",
        [plot_selector, trace_index, point_index],
    )


def hover(page, x: float, y: float) -> None:
    """Move the real mouse onto (x, y) in two moves: Plotly throttles hover events."""
    page.mouse.move(x - 30, y - 30)
    page.mouse.move(x, y, steps=5)


_CONTROLS_JS = """(root) => {
    // the explorer's own controls (plotly's toolbar buttons are focusable too, but are the plot's)
    const all = Array.from(root.querySelectorAll(
        '.noUi-handle, select, input:not([type=hidden]), textarea, button'))
        .filter((el) => !el.closest('.js-plotly-plot'));
    const usable = all.filter((el) => !el.disabled && el.offsetParent !== null && el.tabIndex >= 0);
    usable.forEach((el, i) => el.setAttribute('data-tdaw-tab', String(i)));
    const focusable = root.querySelectorAll('a[href], button, input, select, textarea, [tabindex]').length;
    return [usable.map((el) => (el.getAttribute('aria-label') || el.textContent || el.tagName).trim().slice(0, 30)
                                || el.tagName), focusable];
}"""


def tab_through(page, root) -> tuple[list[str], set[int]]:
    """Focus the first usable control of the element ``root`` (a Locator), press Tab once per
    focusable element in it (and a few more), and return (every control's label, the indices of
    the controls the focus reached)."""
    labels, focusable = root.evaluate(_CONTROLS_JS)
    assert labels, "no usable control in the explorer"
    root.locator("[data-tdaw-tab='0']").focus()
    reached = set()
    for _ in range(focusable + 4):
        index = page.evaluate("() => document.activeElement && document.activeElement.getAttribute('data-tdaw-tab')")
        if index is not None:
            reached.add(int(index))
        if len(reached) == len(labels):
            break
        page.keyboard.press("Tab")
    return labels, reached


#: Run first in a test notebook's kernel: what JupyterLab's Log Console would show for it (an
#: exception in a widget's message handler, logged by the comm manager, logger "Comm") is
#: collected in ``_TDAW_KERNEL_ERRORS``, so a test can assert there is none.
COLLECT_KERNEL_ERRORS = """
import logging as _logging
class _Collect(_logging.Handler):
    def emit(self, record):
        _TDAW_KERNEL_ERRORS.append(self.format(record)[:2000])
_TDAW_KERNEL_ERRORS = []
_logging.getLogger().addHandler(_Collect(level=_logging.ERROR))
"""
