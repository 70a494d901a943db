"""The figure builders that a view change redraws are plain dicts validated once by plotly
(3-5x faster); each must equal the figure plotly's object API builds (the former code, kept in
_plotly_api_reference.py), on diagrams with infinite bars, empty and missing dimensions."""

import json

import numpy as np
import pytest

from tda_widgets.figures import barcode_figure, persistence_diagram_figure
from tests.figures import _plotly_api_reference as reference

INF = np.inf
CASES = {
    "two dims, one infinite bar": ([np.array([[0.0, 0.5], [0.0, 0.9], [0.0, INF]]),
                                    np.array([[0.3, 0.7], [0.2, 0.25]])], {}),
    "empty H1, title": ([np.array([[0.0, 1.0]]), np.zeros((0, 2))], {"title": "block1 <b>x</b>"}),
    "a dimension not computed": ([np.array([[0.0, 2.0], [0.0, INF]])], {"dims": (0, 1, 2)}),
    "infinite H1 bar, size": ([np.array([[0.0, 1.0]]), np.array([[0.5, INF]])],
                              {"inf_label": "inf", "width": 300, "height": 200}),
    "no bars": ([np.zeros((0, 2))], {}),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("builder", ["persistence_diagram_figure", "barcode_figure"])
def test_dict_builder_equals_the_plotly_object_construction(builder, case):
    diagrams, kwargs = CASES[case]
    ours = {"persistence_diagram_figure": persistence_diagram_figure, "barcode_figure": barcode_figure}[builder]
    got = json.loads(ours(diagrams, **kwargs).to_json())
    assert got == json.loads(getattr(reference, builder)(diagrams, **kwargs).to_json())
    assert got["data"] and got["layout"]["meta"]["top"] > 0
