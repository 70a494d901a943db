"""Point clouds: how a layer's activations become points (:class:`CloudSpec`, the modes,
:func:`make_cloud`; :mod:`.make`). The old ``tda_widgets.clouds`` module's names are this
package's."""

from .make import *  # noqa: F401,F403 (the public names)
from .make import __all__  # noqa: F401


def __getattr__(name: str):
    """Any other name of the old module (private ones included) still resolves."""
    from . import make

    try:
        return getattr(make, name)
    except AttributeError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
