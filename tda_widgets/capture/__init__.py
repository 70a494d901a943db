"""Capture: hooks that read a live model's layer outputs (:mod:`.hooks`: removed in
``finally``, the model left unchanged), layer selection (:mod:`.layers`) and input preparation
(:mod:`.inputs`). The old ``tda_widgets.capture`` module's names are this package's."""

from .hooks import *  # noqa: F401,F403 (the public names)
from .hooks import __all__  # noqa: F401


def __getattr__(name: str):
    """Any other name of the old module (private ones included) still resolves."""
    from . import hooks

    try:
        return getattr(hooks, name)
    except AttributeError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
