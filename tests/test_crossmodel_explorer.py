"""The cross-model explorer, its figures and the sensitivity test in it (issue 19, 4-5): every
number against a direct computation written out here (ripser + persim on top-l2 clouds from our
own hooks, linear CKA's closed form, Procrustes' closed form), never against the code under test."""

import numpy as np
import persim
import pytest
import ripser

from tda_widgets import CrossModelExplorer
from tda_widgets.errors import TDAInputError, TDATypeError
from tda_widgets.figures import cross_model_figure, identification_figure
from tda_widgets.widgets.crossmodel import sensitivity_step
from tests.test_presets_crossmodel import centred_linear_cka, conv_model, conv_outputs, top_l2_cloud

import torch

LAYERS = ["0", "3", "6"]


@pytest.fixture(scope="module")
def images():
    return torch.randn(40, 2, 8, 8, generator=torch.Generator().manual_seed(7))


@pytest.fixture(scope="module")
def models():
    return {"seed 0": conv_model(0), "seed 1": conv_model(1), "seed 2": conv_model(2)}


@pytest.fixture(scope="module")
def direct(models, images):
    """The study's script, written out: Conv2d outputs from hooks, top-l2 clouds, ripser H1."""
    out = {}
    for label, model in models.items():
        acts = conv_outputs(model, images)
        clouds = {name: top_l2_cloud(t) for name, t in acts.items()}
        out[label] = dict(acts=acts, clouds=clouds, h1={n: ripser.ripser(c)["dgms"][1] for n, c in clouds.items()})
    return out


@pytest.fixture(scope="module")
def explorer(models, images):
    return CrossModelExplorer(models, images, preset="ph", threaded=False)


def expected_identified(matrix, kind):
    """Kornblith's test by hand: row i's best column is i and nothing ties with it."""
    m = np.asarray(matrix) if kind == "distance" else -np.asarray(matrix)
    return np.array([np.argmin(row) == i and np.sum(row == row.min()) == 1 for i, row in enumerate(m)])


def test_the_ph_preset_matrix_of_every_model_equals_ripser_and_persim_on_top_l2_clouds(explorer, direct):
    assert explorer.state == "done", explorer.status
    assert explorer.layers == LAYERS and (explorer.metric, explorer.dims, explorer.scale) == \
        ("sliced-wasserstein", (1,), "none")
    for label in ("seed 1", "seed 2"):
        expected = np.array([[persim.sliced_wasserstein(direct["seed 0"]["h1"][i], direct[label]["h1"][j])
                              for j in LAYERS] for i in LAYERS])
        assert expected.max() > 0
        np.testing.assert_allclose(explorer.matrices_[label], expected, rtol=1e-6, atol=1e-9)
        assert explorer.fractions_["ph"][label] == pytest.approx(expected_identified(expected, "distance").mean())
    # the heat map shows model B (the second model) with each row's best match marked
    heat = {trace.name: trace for trace in explorer.heatmap_fig.data}
    expected = np.array([[persim.sliced_wasserstein(direct["seed 0"]["h1"][i], direct["seed 1"]["h1"][j])
                          for j in LAYERS] for i in LAYERS])
    np.testing.assert_allclose(np.array(heat["matrix"].z, dtype=float), expected, rtol=1e-6, atol=1e-9)
    assert list(heat["best"].x) == [LAYERS[k] for k in expected.argmin(axis=1)]
    assert [c[2] for c in heat["best"].customdata] == expected_identified(expected, "distance").tolist()
    # the table: one row (PH), a column per model and "all"
    table = explorer.identified_fig.data[0]
    assert list(table.y) == ["PH"] and list(table.x) == ["seed 1", "seed 2", "all"]
    fractions = [explorer.fractions_["ph"]["seed 1"], explorer.fractions_["ph"]["seed 2"]]
    np.testing.assert_allclose(np.array(table.z, dtype=float)[0], fractions + [np.mean(fractions)])


def test_measure_and_model_dropdowns_redraw_against_cka_and_procrustes_closed_forms(explorer, direct):
    try:
        explorer.measure_dropdown.value = "cka"
        assert explorer.state == "done", explorer.status
        flat = lambda label: {k: v.flatten(1).double().numpy() for k, v in direct[label]["acts"].items()}
        a, b = flat("seed 0"), flat("seed 1")
        expected = np.array([[centred_linear_cka(a[i], b[j]) for j in LAYERS] for i in LAYERS])
        heat = {trace.name: trace for trace in explorer.heatmap_fig.data}
        np.testing.assert_allclose(np.array(heat["matrix"].z, dtype=float), expected, rtol=1e-6)
        assert heat["matrix"].colorscale[0][1] != "#440154"   # a similarity: the scale is reversed
        assert list(heat["best"].x) == [LAYERS[k] for k in expected.argmax(axis=1)]
        assert explorer.fractions_["cka"]["seed 1"] == pytest.approx(expected_identified(expected, "similarity").mean())

        explorer.model_dropdown.value = "seed 2"
        c = flat("seed 2")
        expected = np.array([[centred_linear_cka(a[i], c[j]) for j in LAYERS] for i in LAYERS])
        heat = {trace.name: trace for trace in explorer.heatmap_fig.data}
        np.testing.assert_allclose(np.array(heat["matrix"].z, dtype=float), expected, rtol=1e-6)
        assert "seed 2" in explorer.heatmap_fig.layout.xaxis.title.text

        explorer.measure = "procrustes"   # on the top-l2 clouds, one point per image
        assert explorer.state == "done", explorer.status

        def procrustes(x, y):
            x, y = x - x.mean(axis=0), y - y.mean(axis=0)
            x, y = x / np.linalg.norm(x), y / np.linalg.norm(y)
            return 2 - 2 * np.linalg.norm(x.T @ y, ord="nuc")

        clouds_a, clouds_c = direct["seed 0"]["clouds"], direct["seed 2"]["clouds"]
        expected = np.array([[procrustes(clouds_a[i], clouds_c[j]) for j in LAYERS] for i in LAYERS])
        np.testing.assert_allclose(explorer.matrices_["seed 2"], expected, atol=1e-9)
        # the table keeps each measure computed on these settings
        assert list(explorer.identified_fig.data[0].y) == ["PH", "linear CKA", "Procrustes"]
    finally:
        with explorer.hold_trait_notifications():
            explorer.model_b = "seed 1"
        explorer.measure = "ph"


def test_identify_with_every_measure_fills_the_table_and_settings_reset_it(explorer, direct):
    explorer.identify_every_measure()
    assert explorer.state == "done", explorer.status
    labels = list(explorer.identified_fig.data[0].y)
    assert labels[:2] == ["PH", "linear CKA"] and len(labels) + len(explorer.skipped_) == 7
    expected = np.array([[persim.sliced_wasserstein(direct["seed 0"]["h1"][i], direct["seed 2"]["h1"][j])
                          for j in LAYERS] for i in LAYERS])
    assert explorer.fractions_["ph"]["seed 2"] == pytest.approx(expected_identified(expected, "distance").mean())
    explorer.scale = "median"     # other clouds' diagrams: the fractions of the old settings go
    try:
        assert explorer.state == "done" and list(explorer.fractions_) == ["ph"]
    finally:
        explorer.scale = "none"


def test_sensitivity_of_the_chosen_layer_equals_the_studys_computation_and_follows_the_layer(explorer, direct):
    explorer.show_sensitivity()
    assert explorer.state == "done", explorer.status
    assert [t.name for t in explorer.sensitivity_fig.data] == ["0: PH distance", "0: 1 - linear CKA"]

    def by_hand(layer):
        points = direct["seed 0"]["clouds"][layer]
        n = points.shape[1]
        u, _, _ = np.linalg.svd(points.T)
        removed = list(range(0, n, sensitivity_step(n)))
        h1 = ripser.ripser(points)["dgms"][1]
        return removed, [persim.sliced_wasserstein(h1, ripser.ripser(points @ u[:, : n - k])["dgms"][1])
                         for k in removed]

    removed, ph = by_hand("0")
    np.testing.assert_array_equal(explorer.sensitivity_.removed, removed)
    np.testing.assert_allclose(explorer.sensitivity_fig.data[0].y, ph, rtol=1e-6, atol=1e-9)
    # a click on a row of the heat map chooses that layer: the outline and the curve follow
    names = [trace.name for trace in explorer.heatmap_fig.data]
    explorer.heatmap_fig.dispatch("click", [{"trace": names.index("matrix"), "index": None, "x": "0", "y": "3"}])
    assert explorer.layer == "3" and explorer.layer_slider.value == "3"
    shape = explorer.heatmap_fig.layout.shapes[0]
    assert (shape.y0, shape.y1) == (0.5, 1.5)
    removed, ph = by_hand("3")
    np.testing.assert_allclose(explorer.sensitivity_.distances["ph"], ph, rtol=1e-6, atol=1e-9)
    assert explorer.sensitivity_fig.data[0].name == "3: PH distance"


def test_sensitivity_step_is_the_studys_four_or_at_most_eight_steps():
    assert sensitivity_step(6) == 4 and sensitivity_step(32) == 4 and sensitivity_step(64) == 8
    assert sensitivity_step(65) == 9 and len(range(0, 65, sensitivity_step(65))) <= 8


def test_bad_input_is_a_clear_error(models, images):
    a = models["seed 0"]
    with pytest.raises(TDAInputError, match=r"'measure'.*Did you mean 'cka'"):
        CrossModelExplorer([a, models["seed 1"]], images, measure="cka2", autostart=False)
    with pytest.raises(TDAInputError, match="at least two models"):
        CrossModelExplorer([a], images, autostart=False)
    with pytest.raises(TDATypeError, match="first entry of 'models'.*CrossModelExplorer"):
        CrossModelExplorer(["weights.pt", a], images, autostart=False)
    with pytest.raises(TDAInputError, match="needs the images"):
        CrossModelExplorer([a, models["seed 1"]], autostart=False)
    with pytest.raises(TDAInputError, match=r"'model_b'.*'model 1'"):
        CrossModelExplorer([a, models["seed 1"]], images, model_b="seed 1", autostart=False)
    wider = torch.nn.Sequential(torch.nn.Conv2d(2, 4, 3), torch.nn.ReLU()).eval()
    with pytest.raises(TDAInputError, match="pairs layers by name"):
        CrossModelExplorer([a, wider], images, layers="conv", autostart=False)
    with pytest.raises(TDAInputError, match=r"shape \(len\(layers_a\), len\(layers_b\)\)"):
        cross_model_figure(np.zeros((2, 3)), ["a", "b"], ["a", "b"])
    with pytest.raises(TDAInputError, match="'kind'"):
        cross_model_figure(np.zeros((2, 2)), ["a", "b"], ["a", "b"], kind="similar")
    with pytest.raises(TDAInputError, match=r"\[0, 1\]"):
        identification_figure({"PH": {"B": 1.5}})


def test_the_figures_escape_layer_and_model_names():
    evil = "<img src=x onerror=alert(1)>"
    fig = cross_model_figure(np.array([[0.0, 1.0], [1.0, 0.0]]), [evil, "b"], [evil, "b"], model_b=evil)
    text = fig.to_json()
    assert "<img" not in text and "&lt;img" in text
    assert [c[2] for c in fig.data[1].customdata] == [True, True]
    table = identification_figure({evil: {evil: 0.5}})
    assert "<img" not in table.to_json()


def test_rerunning_the_cell_closes_the_cross_model_explorer(models, images):
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    try:
        shell.user_ns.update(models=models, images=images, CrossModelExplorer=CrossModelExplorer)
        shell.run_cell("cm = CrossModelExplorer(models, images, autostart=False)", cell_id="cell-x")
        old = shell.user_ns["cm"]
        shell.run_cell("cm = CrossModelExplorer(models, images, autostart=False)", cell_id="cell-x")
        assert old.comm is None and shell.user_ns["cm"].comm is not None
    finally:
        InteractiveShell.clear_instance()


def test_the_placeholder_figures_send_no_nan_as_json(models, images):
    # regression (issue 30): the first heat map is all NaN; sent as JSON it failed ("Out of range
    # float values are not JSON compliant", a red message in notebook 02). The plot widget sends
    # numeric arrays as binary buffers: no non-finite float is left in either plot's JSON state.
    import json

    explorer = CrossModelExplorer(models, images, threaded=False, autostart=False)
    for plot in (explorer.heatmap_fig, explorer.identified_fig):
        json.dumps(plot.state, allow_nan=False, default=lambda value: None)  # raises on NaN / inf
    explorer.close()
