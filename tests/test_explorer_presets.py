"""Issue 19, deliverable 3: the explorers take the study's presets, and what they compute is what
their controls show (one truth on screen, issue 17): references are direct torch hooks, ripser
and persim calls, never the package's own steps."""

from __future__ import annotations

import numpy as np
import persim
import pytest
import ripser
import torch
from torch import nn

from tda_widgets import Dashboard, LayerDistanceExplorer, MapperExplorer, PersistenceExplorer, Study, load_demo
from tda_widgets.compute import CloudSpec
from tda_widgets.errors import TDAInputError
from tests.test_presets_crossmodel import conv_outputs, top_l2_cloud


@pytest.fixture(scope="module")
def demo():
    return load_demo(n_images=150)


def modules_of(model, kind):
    return [name for name, module in model.named_modules() if isinstance(module, kind)]


def top_l2_clouds(model, images):
    """Each Conv2d output (our own hooks: before BatchNorm and ReLU), then per image the channel
    vector at the position of largest l2 norm; no rescaling."""
    outputs = conv_outputs(model, torch.as_tensor(np.asarray(images)))
    return {name: top_l2_cloud(acts) for name, acts in outputs.items()}


@pytest.fixture(scope="module")
def h1(demo):
    return {name: ripser.ripser(cloud, maxdim=1)["dgms"][1] for name, cloud in top_l2_clouds(demo.model, demo.images).items()}


def trace(fig, name):
    return next(t for t in fig.data if t.name == name)


def assert_ph_controls(w, model):
    """The 'ph' preset on screen: controls and traits."""
    conv = modules_of(model, nn.Conv2d)
    assert conv == ["block1.conv", "block2.conv", "block3.conv"]
    assert list(w.study.layers) == conv
    assert w.mode == w.mode_dropdown.value == "image-top-l2"
    assert w.scale == w.scale_dropdown.value == "none"
    # the preset keeps every point: the points slider's top, which one point per image never reaches
    assert w.max_points == w.points_slider.value == w.points_slider.max >= w.study.n_images


def test_persistence_explorer_with_the_ph_preset_shows_and_computes_the_studys_pipeline(demo, h1):
    w = PersistenceExplorer(demo.model, demo.images, demo.labels, preset="ph", threaded=False).wait()
    assert w.state == "done", w.status
    assert_ph_controls(w, demo.model)
    assert w.layer == w.layer_slider.value == "block1.conv"
    clouds = top_l2_clouds(demo.model, demo.images)
    assert w.cloud_.n_points == len(clouds["block1.conv"]) == 150
    ref = ripser.ripser(clouds["block1.conv"], maxdim=1)["dgms"]
    for dim in (0, 1):
        shown = np.asarray(w.result_.diagrams[dim])
        assert len(shown) == len(ref[dim]) and (dim == 0 or len(ref[1]) > 0)
        np.testing.assert_allclose(np.sort(shown, axis=0), np.sort(ref[dim], axis=0), rtol=1e-5, atol=1e-5)
    drawn = trace(w.diagram_fig, "H1")  # what is on screen, not only the result kept
    np.testing.assert_allclose(sorted(drawn.x), sorted(ref[1][:, 0]), rtol=1e-5, atol=1e-5)


def test_layer_distance_explorer_with_the_ph_preset_is_sliced_wasserstein_on_h1(demo, h1):
    w = LayerDistanceExplorer(demo.model, demo.images, demo.labels, preset="ph", threaded=False).wait()
    assert w.state == "done", w.status
    assert_ph_controls(w, demo.model)
    assert w.metric == w.metric_dropdown.value == "sliced-wasserstein"
    assert tuple(w.dims) == tuple(w.dims_dropdown.value) == (1,)
    names = list(h1)
    ref = np.array([[persim.sliced_wasserstein(h1[a], h1[b]) for b in names] for a in names])
    assert ref.max() > 0
    np.testing.assert_allclose(w.result_["ph"], ref, rtol=1e-5, atol=1e-8)


def test_an_explorer_on_a_preset_study_shows_the_preset_and_a_control_set_to_the_default_is_computed(demo, h1):
    """The regression: given study=Study(..., preset="ph") the explorer showed the package's
    defaults while the study computed the preset's; and setting the metric back to the package
    default ("bottleneck") computed sliced Wasserstein."""
    study = Study(demo.model, demo.images, demo.labels, preset="ph")
    w = LayerDistanceExplorer(study=study, threaded=False).wait()
    assert w.preset is study.preset
    assert_ph_controls(w, demo.model)
    assert w.metric_dropdown.value == "sliced-wasserstein" and tuple(w.dims_dropdown.value) == (1,)
    names = list(h1)
    w.metric_dropdown.value = "bottleneck"  # as a person would
    w.wait()
    assert w.state == "done", w.status
    assert w.result_["metric"] == "bottleneck"
    ref = np.array([[persim.bottleneck(h1[a], h1[b]) for b in names] for a in names])
    sw = np.array([[persim.sliced_wasserstein(h1[a], h1[b]) for b in names] for a in names])
    assert not np.allclose(ref, sw)  # the two metrics are told apart on these diagrams
    np.testing.assert_allclose(w.result_["ph"], ref, rtol=1e-5, atol=1e-8)

    p = PersistenceExplorer(study=study, threaded=False).wait()
    assert_ph_controls(p, demo.model)
    p.scale_dropdown.value = "median"  # the package default, chosen on screen
    p.wait()
    assert p.scale == "median" and p.state == "done", p.status
    cloud = top_l2_clouds(demo.model, demo.images)["block1.conv"]
    # unit median pairwise distance (DESIGN.md), written out
    d = np.sqrt(((cloud[:, None, :] - cloud[None, :, :]) ** 2).sum(-1))[np.triu_indices(len(cloud), 1)]
    ref1 = ripser.ripser(cloud / np.median(d), maxdim=1)["dgms"][1]
    np.testing.assert_allclose(np.sort(np.asarray(p.result_.diagrams[1]), axis=0), np.sort(ref1, axis=0),
                               rtol=1e-4, atol=1e-5)


def test_mapper_explorer_with_the_mapper_preset(demo):
    w = MapperExplorer(demo.model, demo.images, demo.labels, preset="mapper", show_all_layers=False,
                       threaded=False).wait()
    assert w.state == "done", w.status
    assert list(w.study.layers) == modules_of(demo.model, nn.BatchNorm2d) == ["block1.bn", "block2.bn", "block3.bn"]
    assert w.lens == w.lens_dropdown.value == "l2norm"
    assert w.n_cubes == w.cubes_slider.value == 10
    assert w.overlap == w.overlap_slider.value == 0.5
    assert w.min_samples == w.min_samples_slider.value == 5
    assert w.eps == "knee" and w.eps_text.value == "knee"
    assert w.mode == w.mode_dropdown.value == "image-random-position"
    assert w.spec.activation == "relu" and w.spec.mode == "image-random-position"
    assert w.settings()["clusterer"] == "dbscan"
    graph = w.graphs_["block1.bn"]
    # the cloud the graph was built on: post-ReLU vectors (no negative entry), one per image
    cloud = w.study.cloud("block1.bn", w.spec, preset=False)
    assert cloud.points.min() >= 0 and cloud.n_points == 150
    # DBSCAN's radius is a knee of the nearest-other-point distances (not the package default's percentile)
    assert graph.params["eps_source"].startswith("knee") and graph.params["min_samples"] == 5
    from scipy.spatial.distance import cdist

    d = cdist(cloud.points, cloud.points)
    np.fill_diagonal(d, np.inf)
    assert np.isclose(d.min(axis=1), graph.params["eps"], rtol=1e-6).any()


def test_an_explicit_setting_wins_over_the_preset(demo):
    """A value other than the explorer's default wins (one equal to the default cannot be told
    from one left out, as in Study: it takes the preset's; a control set to it afterwards is
    computed as shown, see the regression test above)."""
    w = PersistenceExplorer(demo.model, demo.images, demo.labels, preset="ph", scale="diameter", max_points=200,
                            threaded=False).wait()
    assert w.state == "done", w.status
    assert w.scale == w.scale_dropdown.value == "diameter"
    assert w.max_points == w.points_slider.value == 200
    assert w.mode == w.mode_dropdown.value == "image-top-l2"  # the others still the preset's
    cloud = top_l2_clouds(demo.model, demo.images)["block1.conv"]
    diameter = np.sqrt(((cloud[:, None, :] - cloud[None, :, :]) ** 2).sum(-1)).max()
    ref = ripser.ripser(cloud / diameter, maxdim=1)["dgms"][1]
    np.testing.assert_allclose(np.sort(np.asarray(w.result_.diagrams[1]), axis=0), np.sort(ref, axis=0),
                               rtol=1e-4, atol=1e-6)
    d = LayerDistanceExplorer(demo.model, demo.images, demo.labels, preset="ph", metric="wasserstein-1",
                              dims=(0,), mode="image-avgpool", autostart=False, threaded=False)
    assert (d.metric, tuple(d.dims), d.mode, d.scale) == ("wasserstein-1", (0,), "image-avgpool", "none")
    assert d.spec.mode == "image-avgpool"


def test_preset_false_ignores_the_studys_preset(demo):
    study = Study(demo.model, demo.images, demo.labels, preset="ph")
    w = PersistenceExplorer(study=study, preset=False, autostart=False, threaded=False)
    assert w.preset is None and w.mode == CloudSpec().mode and w.scale == "median"
    plain = Study(demo.model, demo.images, demo.labels, list(study.layers)).cloud("block1.conv")
    np.testing.assert_array_equal(study.cloud("block1.conv", preset=False).points, plain.points)
    assert study.cloud("block1.conv").mode == "image-top-l2"


def test_the_dashboard_passes_the_preset_on(demo):
    dash = Dashboard(demo.model, demo.images, demo.labels, preset="ph", threaded=False)
    try:
        assert list(dash.study.layers) == modules_of(demo.model, nn.Conv2d)
        assert dash.persistence.mode == "image-top-l2" and dash.persistence.scale == "none"
        assert dash.distances.metric == "sliced-wasserstein" and tuple(dash.distances.dims) == (1,)
    finally:
        dash.close()


@pytest.mark.parametrize("cls", [PersistenceExplorer, LayerDistanceExplorer, MapperExplorer, Dashboard])
def test_an_unknown_preset_is_a_clear_error(demo, cls):
    with pytest.raises(TDAInputError) as info:
        cls(demo.model, demo.images, demo.labels, preset="mappr", threaded=False)
    message = str(info.value)
    assert "'preset' parameter" in message and "'ph'" in message and "'mapper'" in message
    assert "Did you mean 'mapper'?" in message


@pytest.mark.parametrize("explorer", [PersistenceExplorer, LayerDistanceExplorer, MapperExplorer])
def test_every_point_means_every_image_above_the_sliders_declared_top(demo, explorer):
    """A preset's "every point" on a study of more images than the points slider's declared top
    (3000) keeps every image's point: the slider's top is raised to the image count (it was the
    declared top, and the cloud was silently subsampled to 3000 points). An explicit value above
    the declared top is kept too (a slider clamps a value above its top, and the trait followed)."""
    declared_top = CloudSpec.options()["max_points"].ui[1]
    n = declared_top + 100
    images = np.concatenate([np.asarray(demo.images)] * (n // len(demo.images) + 1))[:n]
    labels = np.concatenate([np.asarray(demo.labels)] * (n // len(demo.labels) + 1))[:n]
    w = explorer(demo.model, images, labels, preset="ph", n_images=n, autostart=False)
    assert w.study.n_images == n
    assert w.max_points == w.points_slider.value == w.points_slider.max == n
    cloud = w.study.cloud(w.study.layers[0], w.spec, preset=False)
    assert cloud.n_points == n  # one top-l2 point per image, none dropped
    reference = top_l2_cloud(conv_outputs(demo.model, torch.as_tensor(images[:5]))["block1.conv"])
    np.testing.assert_allclose(np.asarray(cloud.points)[:5], reference, rtol=1e-5, atol=1e-5)
    explicit = explorer(demo.model, demo.images, demo.labels, max_points=declared_top + 500, autostart=False)
    assert explicit.max_points == explicit.points_slider.value == declared_top + 500


def test_cross_model_explorer_every_point_holds_every_image(demo):
    """The same rule in the CrossModelExplorer (it had its own copy of the slider's top)."""
    from tda_widgets import CrossModelExplorer

    n = CloudSpec.options()["max_points"].ui[1] + 100
    images = np.concatenate([np.asarray(demo.images)] * (n // len(demo.images) + 1))[:n]
    w = CrossModelExplorer([demo.model, demo.model], images, preset="ph", n_images=n, autostart=False)
    assert w.max_points == w.points_slider.value == w.points_slider.max == n
    assert w.spec.max_points == n


#: Each explorer's settings that a study preset fills, and the spec declaring each (by hand).
PRESET_SETTINGS = {
    "PersistenceExplorer": {"mode": CloudSpec, "max_points": CloudSpec, "scale": "PersistenceSpec"},
    "LayerDistanceExplorer": {"mode": CloudSpec, "max_points": CloudSpec, "scale": "PersistenceSpec",
                              "metric": "DistanceSpec", "dims": "DistanceSpec", "infinite": "DistanceSpec"},
    "MapperExplorer": {"mode": CloudSpec, "max_points": CloudSpec, "lens": "MapperSpec", "n_cubes": "MapperSpec",
                       "overlap": "MapperSpec", "min_samples": "MapperSpec", "eps": "MapperSpec"},
    "CrossModelExplorer": {"mode": CloudSpec, "max_points": CloudSpec, "scale": "PersistenceSpec",
                           "metric": "DistanceSpec", "dims": "DistanceSpec", "infinite": "DistanceSpec"},
}


@pytest.mark.parametrize("name", list(PRESET_SETTINGS))
def test_every_explorer_signature_default_is_a_marker_of_the_declaration(name):
    """Issue 28: the explorers' signatures held plain defaults (``max_points=500``), so a value
    given equal to the default could not be told from one left out. Each preset-filled setting
    now defaults to the "not given" marker of its spec's declaration; every other setting that a
    spec declares (``maxdim``, ``backend``, ``kernel``) defaults to the declared value."""
    import inspect

    import tda_widgets
    from tda_widgets.options import NotGiven
    from tda_widgets.topology import CKASpec, DistanceSpec, MapperSpec, PersistenceSpec

    specs = {"CloudSpec": CloudSpec, "PersistenceSpec": PersistenceSpec, "DistanceSpec": DistanceSpec,
             "MapperSpec": MapperSpec}
    parameters = inspect.signature(getattr(tda_widgets, name).__init__).parameters
    for setting, spec in PRESET_SETTINGS[name].items():
        spec = specs.get(spec, spec)
        default = parameters[setting].default
        assert isinstance(default, NotGiven), (name, setting)
        assert default.default == spec.options()[setting].default, (name, setting)
    for setting, parameter in parameters.items():
        for spec in (PersistenceSpec, CKASpec):
            if setting in spec.options() and setting not in PRESET_SETTINGS[name]:
                assert parameter.default == spec.options()[setting].default, (name, setting)


def test_a_setting_given_equal_to_its_default_wins_over_the_preset(demo):
    """The regression (issue 28): ``scale="median"`` and ``metric="bottleneck"`` given to an
    explorer of a "ph" study were taken for "left out" (equal to the default) and replaced by the
    preset's "none" and sliced Wasserstein; a given value wins, as in the Study."""
    study = Study(demo.model, demo.images, demo.labels, preset="ph")
    p = PersistenceExplorer(study=study, scale="median", autostart=False, threaded=False)
    assert p.scale == p.scale_dropdown.value == "median"
    assert p.mode == "image-top-l2"  # left out: the preset's
    d = LayerDistanceExplorer(study=study, metric="bottleneck", max_points=500, autostart=False, threaded=False)
    assert (d.metric, d.max_points, d.mode) == ("bottleneck", 500, "image-top-l2")
    assert tuple(d.dims) == (1,)  # left out: the preset's
    m = MapperExplorer(demo.model, demo.images, demo.labels, preset="mapper", n_cubes=10, overlap=0.3,
                       autostart=False, threaded=False)
    assert (m.n_cubes, m.overlap, m.mode) == (10, 0.3, "image-random-position")
