"""The report's sections "How sensitive is each measure?" and "Across models" (issue 19), and
the ``--seeds`` flag: numbers against ripser + persim, linear CKA's closed form and Kornblith's
test by hand."""

from __future__ import annotations

import numpy as np
import persim
import pytest
import ripser
import torch

from tda_widgets.__main__ import main
from tda_widgets.compute import CloudSpec, Study
from tda_widgets.data import load_demo
from tda_widgets.data.digits import load_digits_checkpoints
from tda_widgets.errors import TDATypeError
from tda_widgets.report import build_report
from tests.test_presets_crossmodel import centred_linear_cka
from tests.test_report import _decode, _figure_data

SPEC = CloudSpec(mode="auto", max_points=60)
# the direct ripser calls below get 60 points in up to 64 dims, which ripser warns about
pytestmark = pytest.mark.filterwarnings("ignore:The input point cloud has more columns:UserWarning")


@pytest.fixture(scope="module")
def demo():
    return load_demo(n_images=100)


@pytest.fixture(scope="module")
def built(demo):
    study = Study(demo.model, demo.images, demo.labels, demo.layers, class_names=demo.class_names)
    other = load_digits_checkpoints()[1]   # the same architecture after one epoch
    document = build_report(study, spec=SPEC, metric="sliced-wasserstein", dims=(1,), scale="none",
                            other_models={"epoch 1": other})
    return study, other, document


def flattened_outputs(model, images, layers):
    """Each layer's output, flattened per image, from forward hooks of our own."""
    out, modules = {}, dict(model.named_modules())
    handles = [modules[name].register_forward_hook(lambda m, a, o, name=name: out.__setitem__(name, o.detach()))
               for name in layers]
    try:
        with torch.no_grad():
            model(images)
    finally:
        for handle in handles:
            handle.remove()
    return {name: out[name].flatten(1).double().numpy() for name in layers}


def test_sections_sit_after_the_similarity_measures_and_before_the_diagrams(built):
    _, _, document = built
    order = [document.index(text) for text in ("Similarity measures beside PH and CKA", "How sensitive is each measure?",
                                               "Across models", "Persistence diagram per layer")]
    assert order == sorted(order)
    for div in ("sensitivity", "cross-model", "cross-model-ph", "cross-model-cka"):
        assert f'id="{div}"' in document


def test_sensitivity_section_equals_ripser_and_persim_on_the_reduced_clouds(built, demo):
    study, _, document = built
    traces = _figure_data(document, "sensitivity")
    for layer in ("block1", "fc1"):
        points = study.cloud(layer, SPEC).points
        n = points.shape[1]
        removed = sorted({int(round(f * n)) for f in (0.0, 0.25, 0.5, 0.75)})
        u, _, _ = np.linalg.svd(points.T.astype(np.float64))
        h1 = ripser.ripser(points)["dgms"][1]
        expected = [persim.sliced_wasserstein(h1, ripser.ripser(points @ u[:, : n - k])["dgms"][1]) for k in removed]
        trace = traces[f"{layer}: PH distance"]
        np.testing.assert_allclose(_decode(trace["x"]), np.array(removed) / n)
        np.testing.assert_allclose(_decode(trace["y"]), expected, rtol=1e-6, atol=1e-9)
        assert expected[-1] > 0


def test_across_models_equals_persim_and_cka_and_kornblith_by_hand(built, demo):
    study, other, document = built
    layers = list(demo.layers)
    other_study = Study(other, study.images, study.labels, layers)
    h1_a = {n: ripser.ripser(study.cloud(n, SPEC).points)["dgms"][1] for n in layers}
    h1_b = {n: ripser.ripser(other_study.cloud(n, SPEC).points)["dgms"][1] for n in layers}
    ph = np.array([[persim.sliced_wasserstein(h1_a[i], h1_b[j]) for j in layers] for i in layers])
    np.testing.assert_allclose(_decode(_figure_data(document, "cross-model-ph")["matrix"]["z"]), ph,
                               rtol=1e-6, atol=1e-9)
    images = torch.as_tensor(np.asarray(study.images))
    fa, fb = flattened_outputs(demo.model, images, layers), flattened_outputs(other, images, layers)
    cka = np.array([[centred_linear_cka(fa[i], fb[j]) for j in layers] for i in layers])
    np.testing.assert_allclose(_decode(_figure_data(document, "cross-model-cka")["matrix"]["z"]), cka, rtol=1e-6)

    def fraction(m):
        return np.mean([np.argmin(row) == i and np.sum(row == row.min()) == 1 for i, row in enumerate(m)])

    table = _figure_data(document, "cross-model")["identified"]
    assert table["y"] == ["PH", "linear CKA"] and table["x"] == ["epoch 1"]
    np.testing.assert_allclose(_decode(table["z"]).ravel(), [fraction(ph), fraction(-cka)])


def test_reports_without_other_models_have_no_cross_model_section_and_bad_models_are_named(built, demo):
    study, _, _ = built
    with pytest.raises(TDATypeError, match="'other_models'.*wrap one model in a list"):
        build_report(study, spec=SPEC, other_models=demo.model)
    with pytest.raises(TDATypeError, match="Each entry of 'other_models'.*'b'"):
        build_report(study, spec=SPEC, other_models={"b": "weights.pt"})


def test_cli_seeds_adds_the_section_and_needs_the_demo(tmp_path, capsys):
    out = tmp_path / "report.html"
    code = main(["report", "--demo", "--n-images", "60", "--points", "40", "--seeds", "1", "--out", str(out),
                 "--quiet"])
    assert code == 0
    document = out.read_text(encoding="utf-8")
    assert "Across models" in document and 'id="cross-model"' in document and "seed 1" in document
    plain = tmp_path / "plain.html"
    assert main(["report", "--demo", "--n-images", "60", "--points", "40", "--out", str(plain), "--quiet"]) == 0
    assert 'id="cross-model"' not in plain.read_text(encoding="utf-8")
    capsys.readouterr()
    assert main(["report", "--model", "torchvision:resnet18", "--seeds", "1", "--out", str(out), "--quiet"]) == 2
    assert "--seeds trains seeded copies of the demo" in capsys.readouterr().err
    assert main(["report", "--demo", "--seeds", "one", "--out", str(out), "--quiet"]) == 2
    assert "--seeds must be comma-separated whole numbers" in capsys.readouterr().err
