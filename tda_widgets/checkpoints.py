"""Old import path of :mod:`tda_widgets.engine.checkpoints` (kept until the next minor release).

``import tda_widgets.checkpoints`` gives that very module object, so every name (and a test's patch of
one) is shared; nothing was renamed, so no deprecation warning.
"""

import sys

from .engine import checkpoints as _module

sys.modules[__name__] = _module
