"""Keep one slow optional import out of the kernel's start-up, without changing any behaviour.

plotly's FigureWidget imports ``plotly.io._renderers``, which imports nbformat, whose validator
imports jsonschema's format checkers, which import ``rfc3987_syntax`` (when installed, as in every
JupyterLab environment) to check the "iri" formats. That module builds a parser when imported:
4.7 s of the 15-22 s that ``from tda_widgets import ...`` took on a loaded 2-core machine, paid by
every notebook's first cell (issue 17: Run All). jsonschema only ever uses its
``is_valid_syntax``, and only when someone validates an "iri" string.

:func:`defer_rfc3987_syntax` puts a stand-in module in ``sys.modules`` whose ``is_valid_syntax``
(and any other attribute) imports the real module on first use and hands over to it, so every
caller gets the real function's answers, only later. Nothing happens when the module is absent
or already imported.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types

_NAME = "rfc3987_syntax"


def defer_rfc3987_syntax() -> None:
    """Install the stand-in described in the module docstring (idempotent)."""
    if _NAME in sys.modules:
        return
    try:
        if importlib.util.find_spec(_NAME) is None:
            return
    except (ImportError, ValueError):
        return
    stub = types.ModuleType(_NAME, "stand-in installed by tda_widgets: the real module is imported on first use")

    def real():
        module = sys.modules.get(_NAME)
        if module is stub or module is None:
            sys.modules.pop(_NAME, None)
            try:
                module = importlib.import_module(_NAME)
            except BaseException:
                sys.modules[_NAME] = stub
                raise
        return module

    def is_valid_syntax(*args, **kwargs):
        return real().is_valid_syntax(*args, **kwargs)

    stub.is_valid_syntax = is_valid_syntax
    def __getattr__(attr):
        if attr.startswith("__") and attr.endswith("__"):  # the import system's probes (__path__, ...)
            raise AttributeError(attr)
        return getattr(real(), attr)

    stub.__getattr__ = __getattr__
    stub.__tdaw_stand_in__ = True
    sys.modules[_NAME] = stub
