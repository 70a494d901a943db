"""The old home of the explorers' helpers, kept so that older imports keep working.

It was split by what each part is: the plot widget (:mod:`.plot`), the control factories
(:mod:`.controls`) and the study helpers (:mod:`.study_helpers`)."""

from .controls import (FIT_WIDTH, MODE_OPTIONS, dropdown, layer_slider, number_or_auto,  # noqa: F401
                       parse_number_or_auto, row, slider)
from .plot import Plot, ViewCache, control_values  # noqa: F401
from .study_helpers import describe_classes, first_point, make_study, point_marks, thumbnail_panel  # noqa: F401
