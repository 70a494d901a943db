"""The one rule for text that did not come from our own code: escape it where it enters markup.

Class names come from a user's data (an ``ImageFolder``'s folder names, a dataset's
``classes``), layer names from a user's model, file names from a disk, error messages quote
user input. Every such string is *plain text*. Where plain text enters markup -- an ipywidgets
``HTML`` value, the HTML report, a plotly title, hover text, tick label, legend or annotation
(plotly renders a subset of HTML there) -- it goes through :func:`escape`; markup of our own is
written around it with :func:`markup`. Sinks that take plain text (``textContent`` in the
thumbnail panel, ipywidgets ``Label`` and dropdown options) get the raw string.

No torch, no ipywidgets: every layer of the package may import this module.
"""

from __future__ import annotations

import numbers
import string
from typing import Any

__all__ = ["escape", "markup"]

# Numeric references for the quotes: plotly.js decodes &#NN; but not &quot;, and browsers decode
# both, so one escaped string reads the same in HTML and in a plotly text field.
_TABLE = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&#34;", "'": "&#39;"})


def escape(text: Any) -> str:
    """Plain text (any object, via ``str``) made safe to place inside HTML or plotly markup.

    ``& < > " '`` become character references, so no tag, attribute or entity of the input
    survives, in an element body or in a quoted attribute value. The result displays as the
    original text in a browser and in plotly.js.

    Parameters
    ----------
    text : object
        The foreign text; ``str(text)`` is escaped.

    Returns
    -------
    str

    Examples
    --------
    >>> escape('<img src=x onerror="alert(1)">cat')
    '&lt;img src=x onerror=&#34;alert(1)&#34;&gt;cat'
    >>> escape(3)
    '3'
    """
    return str(text).translate(_TABLE)


class _Escaping(string.Formatter):
    def format_field(self, value: Any, format_spec: str) -> str:
        # numbers keep their format spec ('{:.3g}'); everything else is escaped after formatting
        formatted = super().format_field(value, format_spec)
        if isinstance(value, numbers.Number) and not isinstance(value, bool):
            return formatted
        return escape(formatted)


_FORMATTER = _Escaping()


def markup(template: str, /, *args: Any, **kwargs: Any) -> str:
    """Fill a markup template of our own with foreign values, each escaped.

    ``template`` is trusted (written in this package); every replacement field is escaped
    after formatting, so ``markup("<b>{}</b>: {:.2f}", name, value)`` is the only way foreign
    text and our tags meet.

    Parameters
    ----------
    template : str
        A ``str.format`` template written in this package.
    *args, **kwargs
        The values; non-numbers are escaped.

    Returns
    -------
    str

    Examples
    --------
    >>> markup("<b>{layer}</b> · {n} nodes, purity {p:.0%}", layer="<i>x</i>", n=3, p=0.5)
    '<b>&lt;i&gt;x&lt;/i&gt;</b> · 3 nodes, purity 50%'
    """
    return _FORMATTER.format(template, *args, **kwargs)
