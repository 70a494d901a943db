"""Figures that show everywhere a notebook goes: JupyterLab, Notebook 7, nbviewer, HTML exports.

Plotly's default renderer in a kernel writes only plotly's MIME type
(``application/vnd.plotly.v1+json``): JupyterLab, Notebook 7 and VS Code draw it, but an
nbconvert HTML export, nbviewer, GitHub's preview and a documentation gallery show nothing.
:func:`show_figures_everywhere` registers a renderer (plotly.io's public renderer registry) that
writes the plotly MIME type *and* a ``text/html`` div, with plotly.js embedded once per
notebook (in the output of the first figure) and no CDN: nothing is downloaded to draw them.

Examples
--------
>>> from tda_widgets.figures.notebook import show_figures_everywhere
>>> show_figures_everywhere()          # doctest: +SKIP
'plotly_mimetype+tda_widgets_html'
"""

from __future__ import annotations

import json
from typing import Optional

import plotly.io as pio
from plotly.io.base_renderers import MimetypeRenderer

__all__ = ["EmbeddedHtmlRenderer", "RENDERER_NAME", "show_figures_everywhere"]

#: Name under which :class:`EmbeddedHtmlRenderer` is registered in ``plotly.io.renderers``.
RENDERER_NAME = "tda_widgets_html"

#: Height of a figure that sets none (plotly's notebook default).
_DEFAULT_HEIGHT = 525


def lazy_plotlyjs(source: str) -> str:
    """A ``<script>`` that defines ``window.Plotly`` as plotly.js ``source``, compiled the first
    time it is read (a string literal is parsed in milliseconds; the library's code is compiled
    only by a page that draws with it). A page that already has ``window.Plotly`` keeps its own."""
    literal = json.dumps(source).replace("</", "<\\/")  # never a closing tag inside the script
    return ('<script type="text/javascript">(function () {\n'
            "if (window.Plotly) return;\n"
            f"var source = {literal};\n"
            "Object.defineProperty(window, 'Plotly', {configurable: true, enumerable: true,\n"
            "  get: function () { delete window.Plotly; (0, eval)(source); return window.Plotly; },\n"
            "  set: function (value) { delete window.Plotly; window.Plotly = value; }});\n"
            "})();</script>")


class EmbeddedHtmlRenderer(MimetypeRenderer):
    """A ``text/html`` renderer whose figures need no network.

    On activation (the first figure shown after it becomes the default) it displays one
    ``<script>`` holding plotly.js itself (:func:`plotly.offline.get_plotlyjs`); every figure is
    then a ``<div>`` drawn by that copy (``include_plotlyjs=False``), without MathJax. plotly.js
    travels as a string and is compiled the first time a page asks for ``window.Plotly``: an
    exported page compiles it for its first figure, while JupyterLab and Notebook 7, which draw
    the plotly MIME type with their own copy, never do (before, every Run All compiled and ran
    4.9 MB of script on a live page's main thread, for nothing).

    Parameters
    ----------
    config : dict, optional
        plotly.js configuration of every figure (e.g. ``{"displaylogo": False}``).
    """

    def __init__(self, config: Optional[dict] = None):
        self.config = dict(config) if config else {}

    def activate(self) -> None:
        """Display plotly.js once, as raw HTML, so that the figures after it can draw."""
        from IPython.display import display
        from plotly.offline import get_plotlyjs

        display({"text/html": lazy_plotlyjs(get_plotlyjs())}, raw=True)

    def to_mimebundle(self, fig_dict) -> dict:
        """``{"text/html": a div and the script that draws the figure into it}``."""
        html = pio.to_html(fig_dict, config=self.config, include_plotlyjs=False, include_mathjax=False,
                           full_html=False, default_width="100%", default_height=_DEFAULT_HEIGHT,
                           validate=False)
        return {"text/html": html}


def show_figures_everywhere(config: Optional[dict] = None) -> str:
    """Make every plotly figure of this kernel show in live front ends *and* in exports.

    Registers :class:`EmbeddedHtmlRenderer` as ``plotly.io.renderers["tda_widgets_html"]`` and sets
    the default renderer to ``"plotly_mimetype+tda_widgets_html"``: each figure's display bundle
    holds both MIME types (JupyterLab draws the first, an HTML export the second). Calling it
    again keeps the renderer and does not embed plotly.js a second time.

    Parameters
    ----------
    config : dict, optional
        plotly.js configuration for the HTML figures; default ``{"displaylogo": False}``.

    Returns
    -------
    str
        The new ``plotly.io.renderers.default``.
    """
    default = f"plotly_mimetype+{RENDERER_NAME}"
    if pio.renderers.default == default:
        return default
    pio.renderers[RENDERER_NAME] = EmbeddedHtmlRenderer(config if config is not None else {"displaylogo": False})
    pio.renderers.default = default
    return default
