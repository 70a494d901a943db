"""The study's settings as presets, the knee radius, cross-model comparison and the sensitivity
test (issue 19, deliverables 3-5), each against a direct computation written out here."""

import numpy as np
import pytest

from tda_widgets.errors import TDAInputError, TDATypeError
from tda_widgets.topology.mapper import MapperSpec, knee_eps, knee_index, mapper_graph


# ------------------------------------------------------------------ the knee radius


def farthest_below_chord(y):
    """The knee written out geometrically: rescale both axes to [0, 1], then the point with the
    largest perpendicular distance below the line through the first and last points."""
    y = np.asarray(y, dtype=float)
    x = np.linspace(0.0, 1.0, len(y))
    yn = (y - y[0]) / (y[-1] - y[0])
    # signed distance to the line through (0, 0) and (1, 1): positive below it
    distance = (x - yn) / np.hypot(1.0, 1.0)
    return int(np.argmax(distance)), distance


def test_knee_index_is_the_point_farthest_below_the_chord_of_a_constructed_curve():
    # a flat run, then a steep rise: the knee is where the rise starts
    curve = np.r_[np.linspace(0.0, 1.0, 40), 1.0 + np.linspace(0.5, 20.0, 10) ** 1.5]
    expected, distance = farthest_below_chord(curve)
    assert distance[expected] > 0.5
    assert knee_index(curve) == expected == 40   # the first, still low, point of the rise
    # also for an exponential curve, whose knee is not at a corner
    curve = np.exp(np.linspace(0, 6, 101))
    assert knee_index(curve) == farthest_below_chord(curve)[0]


def test_a_curve_without_a_knee_has_none():
    assert knee_index(np.linspace(0, 1, 20)) is None          # a straight line: on the chord
    assert knee_index(np.sqrt(np.linspace(0, 1, 20))) is None  # concave: above the chord
    assert knee_index(np.ones(10)) is None


def test_knee_eps_equals_the_knee_of_nearest_neighbour_distances_computed_directly():
    # points on a line with gaps chosen so that the sorted nearest-neighbour curve has a knee
    rng = np.random.default_rng(4)
    gaps = np.r_[rng.uniform(0.1, 0.2, 60), rng.uniform(2.0, 6.0, 8)]
    rng.shuffle(gaps)
    points = np.c_[np.cumsum(np.r_[0.0, gaps]), np.zeros(len(gaps) + 1)]
    d = np.abs(points[:, 0][:, None] - points[:, 0][None, :])
    np.fill_diagonal(d, np.inf)
    curve = np.sort(d.min(axis=1))               # each point's distance to its nearest other point
    index, _ = farthest_below_chord(curve)
    eps, source = knee_eps(points)
    assert source == "knee"
    assert eps == pytest.approx(curve[index], rel=1e-12)
    assert 0.1 <= eps <= 0.2                      # a within-cluster gap, not a between-cluster one


def test_knee_eps_without_a_knee_uses_the_median():
    points = np.c_[np.arange(10.0), np.zeros(10)]   # every nearest-neighbour distance is 1
    assert knee_eps(points) == (1.0, "knee-median")


def test_eps_knee_is_an_option_of_mapper_anyone_can_choose():
    rng = np.random.default_rng(0)
    points = rng.normal(size=(150, 4))
    graph = mapper_graph(points, lens="l2norm", eps="knee", min_samples=5, overlap=0.5)
    assert graph.params["eps"] == pytest.approx(knee_eps(points)[0])
    assert graph.params["eps_source"] == "knee"
    assert MapperSpec(eps="knee").eps == "knee"
    assert MapperSpec(eps=0.25).eps == 0.25
    with pytest.raises(TDAInputError, match=r"'eps'.*one of \[None, 'knee'\] or a number.*Did you mean 'knee'"):
        MapperSpec(eps="kne")
    with pytest.raises(TDATypeError, match="'eps'"):
        MapperSpec(eps=True)
    with pytest.raises(TDAInputError, match="'eps'"):
        mapper_graph(points, eps="elbow")


# ------------------------------------------------------------------ the presets

import copy  # noqa: E402

import persim  # noqa: E402
import ripser  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from tda_widgets import Study  # noqa: E402
from tda_widgets import presets  # noqa: E402
from tda_widgets.crossmodel import cross_model_comparison, identified_layers  # noqa: E402
from tda_widgets.figures import sensitivity_figure  # noqa: E402
from tda_widgets.topology.sensitivity import pc_removal_sensitivity, remove_principal_components  # noqa: E402


def test_the_presets_hold_the_documented_values_each_with_a_source():
    ph = presets.get("ph")
    assert (ph.layers, ph.n_images) == ("conv", 1000)
    assert (ph.cloud.mode, ph.cloud.max_points, ph.cloud.standardize, ph.cloud.projection, ph.cloud.activation) == \
        ("image-top-l2", None, False, None, None)
    assert (ph.persistence.maxdim, ph.persistence.scale) == (1, "none")
    assert (ph.distance.metric, ph.distance.dims) == ("sliced-wasserstein", (1,))
    mapper = presets.get("mapper")
    assert (mapper.layers, mapper.cloud.mode, mapper.cloud.activation) == ("batchnorm", "image-random-position", "relu")
    assert (mapper.mapper.lens, mapper.mapper.n_cubes, mapper.mapper.overlap, mapper.mapper.clusterer,
            mapper.mapper.min_samples, mapper.mapper.eps) == ("l2norm", 10, 0.5, "dbscan", 5, "knee")
    for preset in (ph, mapper):
        rows = preset.settings()
        assert rows and all(source != "the package's default" and len(source) > 20 for _, _, source in rows), rows
    with pytest.raises(TDAInputError, match=r"'preset'.*\['ph', 'mapper'\].*Did you mean 'ph'"):
        presets.get("pH")


def conv_model(seed):
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(2, 6, 3, padding=1), nn.BatchNorm2d(6), nn.ReLU(),
        nn.Conv2d(6, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
        nn.Conv2d(8, 5, 3, stride=2, padding=1), nn.Flatten(), nn.Linear(5 * 4 * 4, 3),
    ).eval()


@pytest.fixture(scope="module")
def images():
    return torch.randn(40, 2, 8, 8, generator=torch.Generator().manual_seed(7))


def conv_outputs(model, images):
    """Every Conv2d's output, from hooks of our own (the study's hook_conv_layers)."""
    out, handles = {}, []
    for name, module in model.named_modules():
        if isinstance(module, nn.Conv2d):
            handles.append(module.register_forward_hook(
                lambda m, a, o, name=name: out.__setitem__(name, o.detach().clone())))
    try:
        with torch.no_grad():
            model(images)
    finally:
        for handle in handles:
            handle.remove()
    return out


def top_l2_cloud(acts):
    """The study's top_activations, written out."""
    y = acts.flatten(start_dim=2)
    idx = torch.linalg.norm(y, ord=2, dim=1).argmax(dim=-1)
    return y[torch.arange(y.shape[0]), :, idx].double().numpy()


def centred_linear_cka(x, y):
    x = x - x.mean(axis=0)
    y = y - y.mean(axis=0)
    return np.linalg.norm(y.T @ x) ** 2 / (np.linalg.norm(x.T @ x) * np.linalg.norm(y.T @ y))


def test_study_with_the_ph_preset_uses_its_layers_and_settings(images):
    model = conv_model(0)
    study = Study(model, images, preset="ph")
    assert study.layers == ["0", "3", "6"] and study.n_images == 40   # fewer than 1,000 given: all of them
    result = study.compare()
    assert (result.metric, result.dims, result.scale, result.spec) == \
        ("sliced-wasserstein", (1,), "none", presets.get("ph").cloud)
    # an argument given with another value wins over the preset
    assert study.compare(metric="wasserstein-1").metric == "wasserstein-1"
    plain = Study(model, images)
    assert np.array_equal(plain.compare(preset="ph").ph, result.ph)


def test_cross_model_matrix_equals_direct_ripser_and_persim_on_top_l2_clouds(images):
    a, b = conv_model(0), conv_model(1)
    result = cross_model_comparison([a, b], images, preset="ph")
    assert result.layers == ["0", "3", "6"]
    clouds_a = {name: top_l2_cloud(t) for name, t in conv_outputs(a, images).items()}
    clouds_b = {name: top_l2_cloud(t) for name, t in conv_outputs(b, images).items()}
    h1_a = {name: ripser.ripser(c)["dgms"][1] for name, c in clouds_a.items()}
    h1_b = {name: ripser.ripser(c)["dgms"][1] for name, c in clouds_b.items()}
    expected = np.array([[persim.sliced_wasserstein(h1_a[i], h1_b[j]) for j in result.layers] for i in result.layers])
    assert expected.max() > 0
    np.testing.assert_allclose(result.matrices["ph"][0], expected, rtol=1e-6, atol=1e-9)
    # CKA on each layer's flattened activations, against the closed form
    acts_a, acts_b = conv_outputs(a, images), conv_outputs(b, images)
    flat = {k: v.flatten(1).double().numpy() for k, v in acts_a.items()}
    flat_b = {k: v.flatten(1).double().numpy() for k, v in acts_b.items()}
    expected_cka = np.array([[centred_linear_cka(flat[i], flat_b[j]) for j in result.layers] for i in result.layers])
    np.testing.assert_allclose(result.matrices["cka"][0], expected_cka, rtol=1e-6)
    assert result.identified["ph"].shape == (1, 3)
    assert result.fraction_identified["ph"] == pytest.approx(
        np.mean(identified_layers(expected, "distance")))


def test_a_model_compared_with_an_identical_copy_identifies_every_layer(images):
    a = conv_model(0)
    result = cross_model_comparison([a, copy.deepcopy(a), a.state_dict()], images, preset="ph")
    assert result.fraction_identified == {"ph": 1.0, "cka": 1.0}
    assert result.identified["ph"].all() and result.identified["cka"].all()
    assert np.allclose(np.diag(result.matrices["ph"][0]), 0.0)


def test_identification_needs_the_corresponding_layer_to_be_strictly_best():
    assert identified_layers([[0.0, 1.0], [0.2, 0.3]], "distance").tolist() == [True, False]
    assert identified_layers([[1.0, 1.0], [0.0, 1.0]], "similarity").tolist() == [False, True]   # a tie is not


# ------------------------------------------------------------------ the sensitivity test


def product_of_circles(seed, n=80, radii=(3.0, 2.0, 1.4, 1.0, 0.7, 0.5)):
    rng = np.random.default_rng(seed)
    columns = []
    for r in radii:
        t = rng.uniform(0, 2 * np.pi, n)
        columns += [r * np.cos(t), r * np.sin(t)]
    return np.array(columns).T


def test_sensitivity_is_zero_with_nothing_removed_and_grows_as_the_small_circles_go():
    points = product_of_circles(0)
    result = pc_removal_sensitivity(points, removed=[0, 2, 4, 6, 8])
    assert result.distances["ph"][0] == 0.0 and result.distances["cka"][0] == 0.0
    assert np.all(np.diff(result.distances["ph"]) > 0)
    assert np.all(np.diff(result.distances["cka"]) > 0)
    np.testing.assert_allclose(result.fraction, [0, 2 / 12, 4 / 12, 6 / 12, 8 / 12])


def test_sensitivity_equals_the_studys_computation_written_out():
    points = product_of_circles(1, n=50)
    result = pc_removal_sensitivity(points, step=4)
    assert result.removed.tolist() == [0, 4, 8]
    u, _, _ = np.linalg.svd(points.T)                      # the study: SVD of the (c, N) cloud, not centred
    h1 = ripser.ripser(points)["dgms"][1]
    for k, ph, cka in zip(result.removed, result.distances["ph"], result.distances["cka"]):
        reduced = (u.T[: points.shape[1] - k] @ points.T).T   # low_rank(A, U, N - k)
        assert ph == pytest.approx(persim.sliced_wasserstein(h1, ripser.ripser(reduced)["dgms"][1]), rel=1e-6, abs=1e-9)
        assert cka == pytest.approx(1 - centred_linear_cka(points, reduced), abs=1e-12)
    # removing the top components first is the other order
    top_removed = remove_principal_components(points, 4, remove="highest")
    np.testing.assert_allclose(top_removed, points @ u[:, 4:])


def test_the_sensitivity_figure_draws_each_measure_of_each_layer():
    points = product_of_circles(2, n=40)
    result = pc_removal_sensitivity(points, step=3)
    fig = sensitivity_figure({"block1": result})
    names = [trace.name for trace in fig.data]
    assert names == ["block1: PH distance", "block1: 1 - linear CKA"]
    np.testing.assert_allclose(fig.data[0].y, result.distances["ph"])
    np.testing.assert_allclose(fig.data[1].x, result.fraction)
    assert fig.data[1].yaxis == "y2"
    # the right axis (1 - CKA) has its own round ticks, and neither axis mirrors onto the other's
    # side (the right axis showed the left one's tick positions: 0.261, 0.523, ...)
    assert list(fig.layout.yaxis2.tickvals) == [0, 0.25, 0.5, 0.75, 1]
    assert fig.layout.yaxis.mirror is False and fig.layout.yaxis2.mirror is False
    # the title sits below the toolbar's row (~35 px at the top on hover), above the plot
    from_top = (1 - fig.layout.title.y) * fig.layout.height
    assert fig.layout.title.yref == "container" and 40 <= from_top < fig.layout.margin.t


def test_seeded_digits_models_are_deterministic_and_cached_on_disk(tmp_path):
    from tda_widgets.data.train_digits import train, train_seeds

    first = train_seeds((1,), epochs=1, cache_dir=tmp_path)[1]
    assert (tmp_path / "digits_cnn_seed1_epochs1.pt").is_file()
    again, _ = train(epochs=1, seed=1)                       # trained again, not read back
    cached = train_seeds((1,), epochs=1, cache_dir=tmp_path)[1]
    other = train_seeds((2,), epochs=1)[2]
    for name, value in first.state_dict().items():
        assert torch.equal(value, again.state_dict()[name]) and torch.equal(value, cached.state_dict()[name])
    assert not torch.equal(first.state_dict()["block1.conv.weight"], other.state_dict()["block1.conv.weight"])


def test_the_ph_preset_on_the_demo_equals_the_studys_script_written_out():
    """Done when (issue 19): the demo's digits CNN with the 'ph' preset gives the matrices the
    study's scripts give: hooks on every Conv2d output (before BatchNorm and ReLU), each image's
    top-l2 position, ripser (maxdim 1) on the unscaled clouds, persim's sliced Wasserstein on H1,
    within the model and across models (the shipped model against its epoch-1 checkpoint)."""
    from tda_widgets.data import load_demo
    from tda_widgets.data.digits import load_digits_checkpoints

    demo = load_demo()
    other = load_digits_checkpoints()[1]
    images = torch.as_tensor(np.asarray(demo.images))
    h1 = {}
    for label, model in (("a", demo.model), ("b", other)):
        clouds = {name: top_l2_cloud(t) for name, t in conv_outputs(model, images).items()}
        h1[label] = {name: ripser.ripser(cloud, maxdim=1)["dgms"][1] for name, cloud in clouds.items()}
    conv = list(h1["a"])
    assert conv == ["block1.conv", "block2.conv", "block3.conv"] and images.shape[0] == 450
    within = np.array([[persim.sliced_wasserstein(h1["a"][i], h1["a"][j]) for j in conv] for i in conv])
    across = np.array([[persim.sliced_wasserstein(h1["a"][i], h1["b"][j]) for j in conv] for i in conv])
    assert within.max() > 0 and across.max() > 0

    study = Study(demo.model, demo.images, demo.labels, preset="ph")
    assert study.layers == conv and study.n_images == 450
    np.testing.assert_allclose(study.compare().ph, within, rtol=1e-6, atol=1e-9)
    result = cross_model_comparison([demo.model, other], demo.images, preset="ph", measures=("ph",))
    np.testing.assert_allclose(result.matrices["ph"][0], across, rtol=1e-6, atol=1e-9)
