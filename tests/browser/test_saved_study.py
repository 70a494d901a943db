"""An explorer on a study opened from a file without its model (issue 33), in JupyterLab: it
draws the stored cloud's diagram, and the controls the file fixes are disabled in the page, their
tooltip saying why. A screenshot is kept in test-artifacts/ to be looked at."""

from __future__ import annotations

import pytest

from tests.browser.conftest import ARTIFACTS
from tests.browser.harness import assert_no_widget_errors, open_notebook, plot_data, run_all_cells, write_notebook

pytestmark = pytest.mark.browser

OPENED = ".tda-explorer.t-opened"

CELLS = [
    """import tempfile
from pathlib import Path
import tda_widgets as tw
demo = tw.load_demo(n_images=60)
study = tw.Study(demo.model, demo.images, demo.labels, demo.layers, class_names=demo.class_names)
study.diagrams(spec=tw.CloudSpec(max_points=60))
path = study.save(Path(tempfile.mkdtemp()) / 'digits.tda')
del study, demo                       # what follows has no model and no images
shared = tw.open_study(path)""",
    """pe = tw.PersistenceExplorer(study=shared)
pe.add_class('t-opened')
pe""",
]


def test_an_explorer_on_a_saved_study_draws_it_with_the_fixed_controls_disabled(page, lab_server):
    write_notebook(lab_server.root, "saved_study.ipynb", CELLS)
    open_notebook(page, lab_server, "saved_study.ipynb")
    run_all_cells(page, lab_server)
    plot = OPENED + " .js-plotly-plot"
    page.wait_for_selector(plot + " .scatterlayer .point", timeout=90_000)
    assert_no_widget_errors(page)
    names = [trace.get("name") for trace in plot_data(page, plot)]
    assert "H0" in names and "H1" in names
    # the points slider and the mode dropdown: one stored value each, so disabled; the slider's tooltip names
    # the file (ipywidgets 8.1 draws no tooltip for a Dropdown: its `title` stays off the page)
    fixed = page.evaluate("""(sel) => Array.from(document.querySelectorAll(sel + ' [title*="digits.tda"]')).map(
        e => e.parentElement).map(c => ({cls: String(c.className),     // the tooltip is on the control's label
                                         disabled: !!c.querySelector('select:disabled, input:disabled, [disabled]')}))""",
                          OPENED)
    assert len(fixed) == 1 and fixed[0]["disabled"] and "widget-slider" in fixed[0]["cls"], fixed
    assert page.locator(OPENED + " select:disabled").count() == 1           # the mode; homology etc. stay free
    assert page.locator(OPENED + " select:disabled").input_value() == "auto"
    note = page.locator(OPENED + " .tda-saved-note").inner_text()
    assert "Opened from digits.tda without its model: point cloud, points fixed" in note, note
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator(OPENED).screenshot(path=str(ARTIFACTS / "saved_study_persistence_explorer.png"))
