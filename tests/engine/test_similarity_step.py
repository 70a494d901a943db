"""Study.similarity and Study.measures_table: the engine's similarity step (issue 18, parts 3-4)."""

import threading

import numpy as np
import pytest

from tda_widgets import Study, load_demo
from tda_widgets.clouds import CloudSpec
from tda_widgets.errors import Cancelled, TDAInputError
from tda_widgets.topology.agreement import measures_table
from tda_widgets.topology.similarity import similarity_matrix

LAYERS = ["block1", "block2", "block3", "fc1"]
SPEC = CloudSpec(max_points=80)


@pytest.fixture(scope="module")
def demo():
    return load_demo(n_images=120)


@pytest.fixture
def study(demo):
    return Study(demo.model, demo.images, demo.labels, LAYERS)


def _clouds(study, spec):
    return [study.cloud(layer, spec).points for layer in LAYERS]


@pytest.mark.parametrize("measure, options", [("svcca", {}), ("procrustes", {}), ("rsa", {"metric": "euclidean"}),
                                              ("pwcca", {}), ("rtd", {"rtd_batch": 20, "rtd_trials": 2})])
def test_similarity_equals_the_pure_function_on_the_clouds(study, measure, options):
    got = study.similarity(measure, spec=SPEC, **options)
    keywords = {"rtd_batch": "batch", "rtd_trials": "trials"}
    expected = similarity_matrix(_clouds(study, SPEC), measure, **{keywords.get(k, k): v for k, v in options.items()})
    assert got.shape == (len(LAYERS), len(LAYERS))
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
    assert not np.allclose(got, got[0, 0])  # a real matrix, not the diagonal's value everywhere


def test_the_second_call_is_a_cache_hit_and_other_options_are_new_entries(study):
    first = study.similarity("svcca", spec=SPEC)
    computed, hits = study.stats["similarity"], study.cache.stats["hits"]
    again = study.similarity("svcca", spec=SPEC, rtd_batch=30)  # not an option of SVCCA: same entry
    assert study.stats["similarity"] == computed == 1
    assert study.cache.stats["hits"] > hits
    np.testing.assert_array_equal(first, again)
    again[0, 1] = 123.0  # a copy: the cached matrix is unchanged
    assert study.similarity("svcca", spec=SPEC)[0, 1] == first[0, 1]
    study.similarity("svcca", spec=SPEC, keep=0.9)
    study.similarity("rsa", spec=SPEC)
    assert study.stats["similarity"] == 3
    entries = [key for key in study.cache_keys() if key[0] == "similarity"]
    assert len(entries) == 3


def test_rows_are_aligned_by_image_across_layers(study):
    spec = CloudSpec(max_points=None, subsample="random")
    clouds = [study.cloud(layer, spec) for layer in LAYERS]
    assert all((c.image_index == np.arange(study.n_images)).all() for c in clouds)
    got = study.similarity("procrustes", spec=spec)
    # shuffling one layer's rows would change the answer: the step must compare image with image
    shuffled = [c.points for c in clouds]
    shuffled[1] = shuffled[1][np.random.default_rng(0).permutation(study.n_images)]
    assert not np.isclose(similarity_matrix(shuffled, "procrustes")[0, 1], got[0, 1])


def test_progress_cancel_and_refused_modes(study):
    seen = []
    study.similarity("procrustes", spec=SPEC, progress=lambda d, t, m: seen.append((d, t)))
    assert seen and seen[-1] == (6, 6)
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        study.similarity("rsa", spec=SPEC, cancel=cancel)
    assert not any(key[0] == "similarity" and "rsa" in key for key in study.cache_keys())
    with pytest.raises(TDAInputError, match="one point per image"):
        study.similarity("svcca", spec=CloudSpec(mode="spatial"))
    with pytest.raises(TDAInputError, match="measure"):
        study.similarity("svca", spec=SPEC)
    with pytest.raises(TDAInputError, match="unknown option 'kep'"):
        study.similarity("svcca", spec=SPEC, kep=0.9)


def test_measures_table_of_a_study(study):
    table = study.measures_table(spec=SPEC, measures=["ph", "cka", "svcca", "procrustes"],
                                 metric="wasserstein-1")
    assert table.names == ["ph", "cka", "svcca", "procrustes"]
    expected = measures_table({"ph": study.distance_matrix(spec=SPEC, metric="wasserstein-1"), "cka": study.cka(),
                               "svcca": study.similarity("svcca", spec=SPEC),
                               "procrustes": study.similarity("procrustes", spec=SPEC)},
                              {"ph": "distance", "cka": "similarity", "svcca": "similarity",
                               "procrustes": "distance"})
    np.testing.assert_allclose(table.agreement, expected.agreement)
    np.testing.assert_allclose(table.monotonicity, expected.monotonicity)
    assert table.labels[1] == "linear CKA"


def test_explorer_compare_with_switches_the_right_panel(study):
    from tda_widgets import LayerDistanceExplorer
    from tda_widgets.topology.cka import rank_correlation

    w = LayerDistanceExplorer(study=study, max_points=80, threaded=False)
    assert w.compare_dropdown.value == "cka" and "CKA" in w.heatmap_fig.layout.annotations[1].text
    cka_z = np.asarray([list(r) for r in w.heatmap_fig.data[1].z], dtype=float)
    np.testing.assert_allclose(cka_z, 1.0 - study.cka(), atol=1e-12)

    w.compare_dropdown.value = "svcca"  # a similarity: shown as 1 - SVCCA, like CKA
    assert w.state == "done", w.status
    svcca = study.similarity("svcca", spec=CloudSpec(max_points=80))
    right = np.asarray([list(r) for r in w.heatmap_fig.data[1].z], dtype=float)
    np.testing.assert_allclose(right, 1.0 - svcca, atol=1e-12)
    assert w.heatmap_fig.layout.annotations[1].text == "1 - SVCCA"
    rho = rank_correlation(w.result_.ph, 1.0 - svcca)
    assert f"Spearman ρ(PH, 1 - SVCCA) = {rho:.2f}" in w.heatmap_fig.layout.title.text

    w.compare_with = "procrustes"  # a distance: shown as it is
    procrustes = study.similarity("procrustes", spec=CloudSpec(max_points=80))
    right = np.asarray([list(r) for r in w.heatmap_fig.data[1].z], dtype=float)
    np.testing.assert_allclose(right, procrustes, atol=1e-12)
    assert w.heatmap_fig.layout.annotations[1].text == "Procrustes"
    assert f"ρ(PH, Procrustes) = {rank_correlation(w.result_.ph, procrustes):.2f}" in w.heatmap_fig.layout.title.text

    w.compare_with = "cka"  # back to CKA, from the cache
    np.testing.assert_allclose(np.asarray([list(r) for r in w.heatmap_fig.data[1].z], dtype=float),
                               1.0 - study.cka(), atol=1e-12)
    assert "Spearman ρ(PH, 1 - CKA)" in w.heatmap_fig.layout.title.text
