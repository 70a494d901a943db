"""Old import path of :mod:`tda_widgets.core._progress` (kept until the next minor release).

``import tda_widgets._progress`` gives that very module object, so every name (and a test's patch of
one) is shared; nothing was renamed, so no deprecation warning.
"""

import sys

from .core import _progress as _module

sys.modules[__name__] = _module
