"""plotly.js travels once per kernel: figures carry a stub, one PlotlyLibrary carries the bundle.

The browser side (twelve figures render and update on a CPU-throttled page) is
tests/browser/test_plotly_library.py; this checks what the kernel sends.
"""

import pathlib

import plotly
import plotly.graph_objects as go
import pytest

from tda_widgets.widgets import plotly_library
from tda_widgets.widgets._common import FigureWidget

BUNDLE = pathlib.Path(plotly.__file__).parent / "package_data" / "widgetbundle.js"


def _sent_state(widget) -> dict:
    return widget.get_state()


def test_a_figure_sends_a_small_stub_not_the_plotly_bundle():
    fig = FigureWidget(go.Scatter(x=[1, 2], y=[3, 4]))
    esm = _sent_state(fig)["_esm"]
    assert len(esm) < 5_000 < BUNDLE.stat().st_size
    assert plotly_library.KEY in esm
    assert plotly_library.KEY.startswith(plotly.__version__ + "-")
    # plain plotly sends the whole bundle with every figure: what the stub replaces
    assert len(_sent_state(go.FigureWidget())["_esm"]) == len(BUNDLE.read_text(encoding="utf-8"))


def test_one_library_carries_the_bundle_and_survives_close_all():
    FigureWidget()
    library = plotly_library.ensure_library()
    FigureWidget()
    assert plotly_library.ensure_library() is library  # one per kernel, not one per figure
    state = _sent_state(library)
    assert state["source"] == BUNDLE.read_text(encoding="utf-8")
    assert state["key"] == plotly_library.KEY
    library.close()  # e.g. ipywidgets.Widget.close_all()
    FigureWidget()
    fresh = plotly_library.ensure_library()
    assert fresh is not library and fresh.comm is not None


@pytest.fixture(scope="module")
def demo_study():
    from tda_widgets import Study, load_demo

    demo = load_demo(n_images=60)
    return Study(demo.model, demo.images, demo.labels, layers=["block1", "block2"])


@pytest.mark.parametrize("explorer", ["PersistenceExplorer", "LayerDistanceExplorer", "MapperExplorer", "Dashboard"])
def test_every_explorer_figure_uses_the_shared_library(explorer, demo_study):
    import tda_widgets

    widget = getattr(tda_widgets, explorer)(study=demo_study, threaded=False, autostart=False)
    figures = [w for w in _walk(widget) if isinstance(w, go.FigureWidget)]
    assert figures
    assert all(isinstance(f, FigureWidget) for f in figures), [type(f) for f in figures]


def _walk(widget, seen=None):
    seen = set() if seen is None else seen
    if id(widget) in seen:
        return
    seen.add(id(widget))
    yield widget
    for child in getattr(widget, "children", ()) or ():
        yield from _walk(child, seen)
