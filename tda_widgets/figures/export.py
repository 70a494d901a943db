"""Figures to files: standalone HTML (always offline) and PNG / SVG / PDF (through kaleido).

- :func:`write_html`: one file with plotly.js embedded (no CDN, opens anywhere offline).
- :func:`write_image`: plotly's static export (kaleido 1.x drives a headless Chrome or
  Chromium). It needs the ``export`` extra (``pip install tda-widgets[export]``) and a browser:
  kaleido's own lookup, else Debian's ``/usr/bin/chromium`` (set ``BROWSER_PATH`` to choose
  another). Without either, a clear error says which is missing; nothing is downloaded.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path
from typing import Optional

import plotly.graph_objects as go

from ..core.errors import TDAInputError

__all__ = ["IMAGE_FORMATS", "write_html", "write_image"]

#: Static formats :func:`write_image` writes (from the file's suffix or ``format``).
IMAGE_FORMATS = ("png", "svg", "pdf", "jpeg", "webp")
_BROWSERS = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")


def _check_figure(fig, where: str) -> go.Figure:
    figure = getattr(fig, "figure", fig)  # an explorer's plot holds its figure as .figure
    if not isinstance(figure, go.Figure):
        raise TDAInputError(f"The 'fig' parameter of {where} must be a plotly Figure (or a plot with a .figure). "
                            f"Got {type(fig).__name__} instead.")
    return figure


def write_html(fig, path) -> Path:
    """Write ``fig`` as a standalone HTML page with plotly.js embedded (works offline).

    Parameters
    ----------
    fig : plotly.graph_objects.Figure, or an explorer's plot (anything with ``.figure``)
    path : str or Path

    Returns
    -------
    Path
    """
    figure = _check_figure(fig, "write_html")
    path = Path(path)
    figure.write_html(path, include_plotlyjs=True, full_html=True)
    return path


def write_image(fig, path, *, format: Optional[str] = None, scale: float = 1.0) -> Path:
    """Write ``fig`` as PNG, SVG, PDF, JPEG or WebP through kaleido.

    Parameters
    ----------
    fig : plotly.graph_objects.Figure, or anything with ``.figure``
    path : str or Path
    format : str, optional
        One of :data:`IMAGE_FORMATS`; default: the path's suffix.
    scale : float, default=1.0
        Pixel density for raster formats.

    Raises
    ------
    TDAInputError
        Unknown format, kaleido not installed, or no Chrome / Chromium found.
    """
    figure = _check_figure(fig, "write_image")
    path = Path(path)
    fmt = (format or path.suffix.lstrip(".")).lower()
    if fmt not in IMAGE_FORMATS:
        raise TDAInputError(f"The 'format' of write_image must be one of {set(IMAGE_FORMATS)} (or the path's suffix). "
                            f"Got {fmt!r}; use write_html for an interactive page.")
    if importlib.util.find_spec("kaleido") is None:
        raise TDAInputError("write_image needs kaleido, which is not installed. Install it with "
                            "`pip install tda-widgets[export]` (or `pip install kaleido`), or use write_html.")
    if not os.environ.get("BROWSER_PATH"):
        found = next((p for p in _BROWSERS if Path(p).exists()), None) or shutil.which("chromium")
        if found is None:
            raise TDAInputError("write_image needs Chrome or Chromium for kaleido and found neither. Install one "
                                "(Debian: apt-get install chromium) and set BROWSER_PATH to it, or use write_html.")
        os.environ["BROWSER_PATH"] = found
    figure.write_image(path, format=fmt, scale=scale)
    return path
