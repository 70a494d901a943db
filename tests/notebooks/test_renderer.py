"""The notebooks' figure renderer: both MIME types, plotly.js embedded once, nothing from a CDN."""

from __future__ import annotations

import nbformat
import plotly.graph_objects as go
import plotly.io as pio
import pytest

from tests.notebooks.test_notebooks import _execute, _export_html, drawn_figures

CELLS = [
    "from tda_widgets.figures.notebook import show_figures_everywhere\nrenderer = show_figures_everywhere()",
    "import plotly.graph_objects as go\ngo.Figure(go.Scatter(x=[0, 1, 2], y=[1, 3, 2]), layout=dict(title='one'))",
    "show_figures_everywhere()   # a second call embeds nothing more\n"
    "go.Figure(go.Bar(x=['a', 'b'], y=[2, 5]), layout=dict(title='two')).show()",
]


def test_the_renderer_writes_both_mime_types_and_no_cdn():
    from tda_widgets.figures.notebook import RENDERER_NAME, EmbeddedHtmlRenderer

    renderer = EmbeddedHtmlRenderer()
    fig = go.Figure(go.Scatter(x=[0, 1], y=[2, 3], name="line"))
    html = renderer.to_mimebundle(fig.to_dict())["text/html"]
    assert 'class="plotly-graph-div"' in html and "Plotly.newPlot" in html
    assert "<script src=" not in html and "cdn" not in html.lower()      # no download of any script
    assert '"name":"line"' in html.replace(" ", "")          # the figure's trace travels in the div's script
    previous = pio.renderers.default
    try:
        from tda_widgets.figures.notebook import show_figures_everywhere

        assert show_figures_everywhere() == f"plotly_mimetype+{RENDERER_NAME}"
        assert pio.renderers.default == f"plotly_mimetype+{RENDERER_NAME}"
        assert isinstance(pio.renderers[RENDERER_NAME], EmbeddedHtmlRenderer)
    finally:
        pio.renderers.default = previous


def test_the_embedded_plotlyjs_is_a_string_compiled_when_first_read(monkeypatch):
    """The activation's one output holds plotly.js as a JavaScript string behind a getter of
    window.Plotly (a live front end, drawing with its own copy, never compiles it; an exported
    page compiles it for its first figure: tests/browser/test_exported_figures.py), with no
    closing tag inside; a page that has window.Plotly keeps it."""
    import json

    from plotly.offline import get_plotlyjs

    from tda_widgets.figures import notebook

    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj, raw=False: shown.append(obj))
    notebook.EmbeddedHtmlRenderer().activate()
    assert len(shown) == 1 and list(shown[0]) == ["text/html"]
    html = shown[0]["text/html"]
    body = html[len('<script type="text/javascript">'):-len("</script>")]
    assert "</" not in body and "<script" not in body
    assert "if (window.Plotly) return;" in body and "Object.defineProperty(window, 'Plotly'" in body
    start = body.index("var source = ") + len("var source = ")
    literal = body[start:body.index(";\nObject.defineProperty")]
    assert json.loads(literal) == get_plotlyjs()  # the library itself, as a string


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:Your element with mimetype")   # nbconvert on the bare notebook: the point
def test_an_exported_notebook_draws_every_figure_with_one_embedded_plotlyjs(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    _execute(nb, tmp_path)
    # in the kernel, each figure's bundle holds plotly's MIME type and HTML
    figure_outputs = [out for cell in nb.cells for out in cell.outputs
                      if "application/vnd.plotly.v1+json" in out.get("data", {})]
    assert len(figure_outputs) == 2
    assert all("text/html" in out["data"] for out in figure_outputs)
    html = _export_html(nb)
    assert drawn_figures(html) == 2
    assert html.count("* plotly.js v") == 1
    # the default renderer alone (no setup) draws nothing in an export: what the setup fixes
    bare = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(CELLS[1])])
    bare.metadata["kernelspec"] = nb.metadata["kernelspec"]
    _execute(bare, tmp_path)
    assert drawn_figures(_export_html(bare)) == 0
