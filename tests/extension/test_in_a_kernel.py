"""The magic and the rich display in a real kernel (issue 12, 3 and 4), through nbclient.

One notebook runs once in a fresh python3 kernel (this interpreter, with this checkout first on
PYTHONPATH); each test reads the outputs of its cells: the widget an explore line displays, the
short error of a typo, the help text, and the plotly bundle a result shows when it ends a cell,
compared with the numbers the kernel prints as JSON.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import nbformat
import numpy as np
import pytest

nbclient = pytest.importorskip("nbclient")

REPO_ROOT = Path(__file__).resolve().parents[2]
PLOTLY = "application/vnd.plotly.v1+json"
WIDGET = "application/vnd.jupyter.widget-view+json"

CELLS = {
    "setup": "import json\nimport numpy as np\nfrom tda_widgets import load_demo, Study, CloudSpec\n"
             "demo = load_demo(n_images=40)\nmodel, images = demo.model, demo.images",
    "load": "%load_ext tda_widgets",
    "explore": "w = %tda explore model images --layers stages --explorer mapper --labels demo.labels "
               "--n-cubes 4 --max-points 40\nw",
    "explored": "w.wait(300)\nprint(json.dumps({'cls': type(w).__name__, 'layers': list(w.study.layers), "
                "'n_cubes': w.n_cubes, 'max_points': w.max_points, 'state': w.state, "
                "'labels': w.study.labels is not None}))",
    "typo_variable": "%tda explore modle images",
    "typo_layer": "%tda explore model images --layers block9",
    "help": "%tda explore --help",
    "layers": "%tda layers model images",
    "study": "study = Study(model, images, demo.labels, ['block2', 'fc1', 'head'])\nspec = CloudSpec(max_points=40)",
    "diagram": "result = study.diagrams(['block2'], spec)['block2']\nresult",
    "diagram_data": "print(json.dumps([[[float(v) for v in bar] for bar in d] for d in result.diagrams]))",
    "graph": "graph = study.mapper('fc1', spec)\ngraph",
    "graph_data": "print(json.dumps({'nodes': [n.id for n in graph.nodes], 'edges': len(graph.edges)}))",
    "comparison": "comparison = study.compare(spec=spec)\ncomparison",
    "comparison_data": "print(json.dumps({'ph': comparison.ph.tolist(), 'cka': comparison.cka.tolist()}))",
    "cloud": "cloud = study.cloud('block2', spec)\ncloud",
    "cloud_data": "print(json.dumps(cloud.points.tolist()))",
    "grid": "from tda_widgets import checkpoint_grid, load_digits_checkpoints\n"
            "grid = checkpoint_grid(model, load_digits_checkpoints(), images, ['block2', 'head'], spec=spec)\ngrid",
    "grid_data": "print(json.dumps(grid.consecutive.tolist()))",
    "summary": "print(repr(result)); print(repr(grid))",
}
EXPECTED_ERRORS = {"typo_variable", "typo_layer"}


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(source, metadata={"name": name}) for name, source in CELLS.items()]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")])}
    client = nbclient.NotebookClient(nb, kernel_name="python3", timeout=600, allow_errors=True,
                                     resources={"metadata": {"path": str(tmp_path_factory.mktemp("nb"))}})
    client.execute(env=env)
    return {cell.metadata["name"]: cell.outputs for cell in nb.cells}


def stdout(cell_outputs) -> str:
    return "".join(o.get("text", "") for o in cell_outputs if o.output_type == "stream" and o.name == "stdout")


def printed(cell_outputs):
    return json.loads(stdout(cell_outputs))


def shown(cell_outputs) -> dict:
    """The data of the one execute_result of a cell."""
    results = [o for o in cell_outputs if o.output_type == "execute_result"]
    assert len(results) == 1, cell_outputs
    return results[0]["data"]


def decode(value):
    if isinstance(value, dict) and "bdata" in value:
        array = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        return array.reshape([int(n) for n in value["shape"].split(",")]) if value.get("shape") else array
    return np.array(value, dtype=np.float64)


def traces(data) -> dict:
    return {trace["name"]: trace for trace in data[PLOTLY]["data"]}


def test_only_the_typos_fail(outputs):
    failed = {name for name, cell in outputs.items() if any(o.output_type == "error" for o in cell)}
    assert failed == EXPECTED_ERRORS, {name: [o.get("evalue") for o in outputs[name]] for name in failed}


def test_explore_displays_the_chosen_explorer_on_the_chosen_layers(outputs):
    assert WIDGET in shown(outputs["explore"])
    facts = printed(outputs["explored"])
    assert facts == {"cls": "MapperExplorer", "layers": ["block1", "block2", "block3"], "n_cubes": 4,
                     "max_points": 40, "state": "done", "labels": True}


@pytest.mark.parametrize("cell, message", [
    ("typo_variable", "no variable 'modle' (the model) in this notebook. Did you mean 'model'"),
    ("typo_layer", "DigitsCNN has no layer 'block9'. Did you mean 'blocks', 'block3', 'block2'"),
])
def test_typos_are_one_line_errors_naming_close_matches(outputs, cell, message):
    (error,) = [o for o in outputs[cell] if o.output_type == "error"]
    assert error.ename == "TDAInputError" and message in error.evalue
    assert len(error.traceback) == 1  # the message only, not the frames of the magic's machinery


def test_help_text(outputs):
    text = stdout(outputs["help"])
    assert text.startswith("usage: %tda explore") and "--explorer {persistence,distances,mapper,dashboard}" in text
    assert "intervals of the cover of each lens axis (default 10)" in text


def test_layers_lists_shapes_and_presets(outputs):
    text = stdout(outputs["layers"])
    assert "block2.pool  MaxPool2d        (32, 4, 4)" in text
    assert "stages    block1, block2, block3" in text


def test_a_persistence_result_shows_its_diagram(outputs):
    data = shown(outputs["diagram"])
    assert data["text/plain"].startswith("PersistenceResult: 40 points, H0 40 bars (1 infinite)")
    diagrams = printed(outputs["diagram_data"])
    figure = traces(data)
    assert list(figure) == ["H0", "H1", "diagonal", "infinity"]
    for dim, diagram in enumerate(diagrams):
        diagram = np.array(diagram, dtype=np.float64)
        np.testing.assert_allclose(decode(figure[f"H{dim}"]["x"]), diagram[:, 0])
        finite = np.isfinite(diagram[:, 1])
        np.testing.assert_allclose(decode(figure[f"H{dim}"]["y"])[finite], diagram[finite, 1])
    assert len(diagrams[1]) > 0


def test_a_mapper_graph_shows_its_nodes(outputs):
    data, facts = shown(outputs["graph"]), printed(outputs["graph_data"])
    figure = traces(data)
    assert figure["nodes"]["customdata"] == facts["nodes"]
    assert len(figure["edges"]["x"]) == 3 * facts["edges"]
    assert data["text/plain"].startswith(f"MapperGraph: {len(facts['nodes'])} nodes, {facts['edges']} edges")


def test_a_comparison_shows_both_heat_maps(outputs):
    figure, facts = traces(shown(outputs["comparison"])), printed(outputs["comparison_data"])
    np.testing.assert_allclose(decode(figure["ph"]["z"]), facts["ph"])
    np.testing.assert_allclose(decode(figure["cka"]["z"]), 1 - np.array(facts["cka"]))
    assert figure["ph"]["x"] == ["block2", "fc1", "head"]


def test_a_point_cloud_shows_its_principal_components(outputs):
    figure, points = traces(shown(outputs["cloud"])), np.array(printed(outputs["cloud_data"]))
    centred = points - points.mean(axis=0)
    _, _, axes = np.linalg.svd(centred, full_matrices=False)
    for k, key in enumerate("xy"):
        values = decode(figure["points"][key])
        reference = centred @ axes[k]
        np.testing.assert_allclose(np.sign(values @ reference) * values, reference, atol=1e-8)


def test_a_checkpoint_grid_shows_its_moves(outputs):
    data, moves = shown(outputs["grid"]), printed(outputs["grid_data"])
    np.testing.assert_allclose(decode(traces(data)["consecutive"]["z"]), moves)
    assert np.array(moves).shape == (2, 3)
    assert data["text/plain"].startswith("CheckpointGrid: 2 layers x 4 checkpoints")


def test_terminal_repr_is_one_line(outputs):
    lines = stdout(outputs["summary"]).splitlines()
    assert len(lines) == 2 and lines[0].startswith("PersistenceResult:") and lines[1].startswith("CheckpointGrid:")
