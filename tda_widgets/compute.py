"""Old import path of the Study: the module is :mod:`tda_widgets.engine.study`.

``import tda_widgets.compute`` gives that very module object (so ``tda_widgets.compute.Study``,
``tda_widgets.compute.CloudSpec`` ... are the same objects, and patching one patches the other).
Kept until the next minor release.
"""

import sys

from .engine import study as _study

sys.modules[__name__] = _study
