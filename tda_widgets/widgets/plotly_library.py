"""plotly.js sent and compiled once per page, however many figures a notebook shows.

plotly's ``FigureWidget`` is an anywidget whose ES module (``_esm``) is the whole plotly.js
bundle, about 5 MB. anywidget's front end compiles each widget's module separately, and its lab
extension rejects a model whose initialisation takes over 2 s ("[anywidget] Failed to initialize
model."); such a model never applies another kernel update. An explorer shows two to eight
figures, a notebook of explorers ten or more: on a loaded machine some of them missed the 2 s and
stayed blank (issue 15, found by ``tests/browser/test_explorers.py``).

Here the bundle is sent once, as the ``source`` of a single :class:`PlotlyLibrary` model kept
alive by this module, and compiled once in the browser; every tda-widgets figure
(:class:`tda_widgets.widgets._common.FigureWidget`) carries a stub of a few hundred bytes that
waits for that compile and then runs plotly's own widget code unchanged. The page-global slot is
keyed by the bundle's hash, so kernels with different plotly versions on one page never mix.
"""

from __future__ import annotations

import hashlib
import pathlib
import threading
from typing import Optional

import anywidget
import plotly
import traitlets

_HERE = pathlib.Path(__file__).parent
BUNDLE = pathlib.Path(plotly.__file__).parent / "package_data" / "widgetbundle.js"
_JS = (_HERE / "plotly_library.js").read_text(encoding="utf-8")


def _compact(source: str) -> str:
    """The module without its comment lines and indentation: every figure carries it (a few KB
    instead of the 22 KB of the commented source, times the 30 figures of the tour)."""
    lines = (line.strip() for line in source.splitlines())
    return "\n".join(line for line in lines if line and not line.startswith("//"))



def _bundle_key() -> str:
    digest = hashlib.sha256(BUNDLE.read_bytes()).hexdigest()[:16]
    return f"{plotly.__version__}-{digest}"


KEY = _bundle_key()

#: The module every tda-widgets figure carries instead of the 5 MB bundle.
FIGURE_ESM = _compact(_JS) + f"\nexport default () => figureWidget({KEY!r});\n"
#: The module of the one model that carries the bundle.
LIBRARY_ESM = _JS + "\nexport default libraryWidget;\n"


class PlotlyLibrary(anywidget.AnyWidget):
    """The one model per kernel that carries plotly.js to the browser (never displayed)."""

    _esm = LIBRARY_ESM
    key = traitlets.Unicode(KEY).tag(sync=True)
    source = traitlets.Unicode("").tag(sync=True)


_LOCK = threading.Lock()
_LIBRARY: Optional[PlotlyLibrary] = None


def ensure_library() -> PlotlyLibrary:
    """The live :class:`PlotlyLibrary`, created (its comm opened) before the first figure's.

    Recreated if it was closed (``Widget.close_all()``), so a figure created later never waits
    for a library that no longer exists."""
    global _LIBRARY
    with _LOCK:
        if _LIBRARY is None or _LIBRARY.comm is None:
            _LIBRARY = PlotlyLibrary(source=BUNDLE.read_text(encoding="utf-8"))
        return _LIBRARY
