"""Registries as records (issue 28): one record per point-cloud mode and one per similarity
measure, read by make_cloud, the budget, the capture's reducers, the similarity step and the
dropdowns. The expectations here are written out by hand (the closed-form sizes of each mode,
the measures' own function signatures), not read back from the records."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from tda_widgets.clouds import CloudSpec, make_cloud
from tda_widgets.clouds.modes import MODE_RECORDS, MODES, ONE_POINT_PER_IMAGE, POOLED_MODES, POSITION_MODES, \
    STREAMED_MODES
from tda_widgets.topology.similarity import MEASURE_INFO, MEASURES, SimilaritySpec

N, C, H, W, F = 5, 3, 4, 2, 7
#: Each mode's (points, dims) for N images of (C, H, W) [or (F,)], by hand from the definitions.
EXPECTED = {
    "image-flatten": (N, C * H * W), "image-avgpool": (N, C), "image-maxpool": (N, C), "image-top-l2": (N, C),
    "image-random-position": (N, C), "spatial": (N * H * W, C), "channel": (C, N * H * W), "linear": (N, F),
}


def test_the_tables_derived_from_the_records():
    assert MODES == tuple(EXPECTED)
    assert POOLED_MODES == {"image-avgpool": "avg", "image-maxpool": "max"}
    assert POSITION_MODES == {"image-top-l2": "top-l2", "image-random-position": "random-position"}
    assert STREAMED_MODES == {**POOLED_MODES, **POSITION_MODES}
    assert set(ONE_POINT_PER_IMAGE) == {"auto", "image-flatten", "image-avgpool", "image-maxpool", "image-top-l2",
                                        "image-random-position", "linear"}
    assert CloudSpec.options()["mode"].choices == ("auto",) + MODES  # the dropdown's choices
    # a record field, no longer a test of the mode's name inside the record class
    assert [name for name, record in MODE_RECORDS.items() if record.samples_before_building] == ["spatial"]


@pytest.mark.parametrize("mode", list(EXPECTED))
def test_each_records_size_is_the_cloud_make_cloud_builds(mode):
    shape = (F,) if mode == "linear" else (C, H, W)
    acts = np.random.default_rng(0).normal(size=(N, *shape))
    cloud = make_cloud(acts, mode, max_points=None)
    assert cloud.points.shape == EXPECTED[mode] == MODE_RECORDS[mode].size(N, shape)


@pytest.mark.parametrize("mode", ["image-avgpool", "spatial", "channel", "image-flatten"])
def test_the_budget_reads_the_same_size(mode):
    from tda_widgets.engine.budget import _layer_estimate

    estimate = _layer_estimate("x", (C, H, W), N, CloudSpec(mode=mode, max_points=None), 1, True)
    assert (estimate.cloud_points, estimate.cloud_dims) == EXPECTED[mode]


def test_the_capture_reductions_are_the_records():
    from tda_widgets.engine import steps

    assert steps.REDUCTIONS == (None, "avg", "max", "top-l2", "random-position")
    for name, record in MODE_RECORDS.items():
        assert CloudSpec(mode=name).reduction == record.reduction


def test_one_record_per_measure_with_its_function_and_its_declared_options():
    assert MEASURES == ("rtd", "svcca", "pwcca", "procrustes", "rsa")
    declared = set(SimilaritySpec.options()) - {"measure"}
    used = set()
    for name, record in MEASURE_INFO.items():
        keywords = [p.name for p in inspect.signature(record.function).parameters.values()
                    if p.kind is inspect.Parameter.KEYWORD_ONLY]
        assert [keyword for keyword, _ in record.options] == keywords, name  # the function's own keywords
        assert {field for _, field in record.options} <= declared, name
        used |= {field for _, field in record.options}
        assert record.description and record.label and record.kind in ("similarity", "distance")
        spec = SimilaritySpec(measure=name)
        assert set(spec.measure_kwargs()) == set(keywords)
        for keyword, field in record.options:  # each function's default is the declared one
            assert inspect.signature(record.function).parameters[keyword].default == SimilaritySpec.default(field)
    assert used == declared  # no declared option belongs to no measure


def test_cloudspec_pooling_is_deprecated_for_reduction():
    """``CloudSpec.pooling`` was declared and never read (issue 28): it warns, points to
    ``reduction`` and keeps its old values (written out by hand) until it goes."""
    expected = {"auto": "avg", "image-avgpool": "avg", "image-maxpool": "max", "image-flatten": None,
                "image-top-l2": None, "image-random-position": None, "spatial": None, "channel": None, "linear": None}
    assert set(expected) == {"auto", *MODES}
    for mode, pooled in expected.items():
        with pytest.warns(DeprecationWarning, match=r"CloudSpec\.reduction"):
            assert CloudSpec(mode=mode).pooling == pooled, mode


def test_the_package_reads_no_deprecated_pooling():
    import ast
    import pathlib

    import tda_widgets

    root = pathlib.Path(tda_widgets.__file__).parent
    readers = [str(path.relative_to(root)) for path in root.rglob("*.py")
               for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
               if isinstance(node, ast.Attribute) and node.attr == "pooling"]
    assert readers == []


def test_every_consumer_reads_the_measure_records():
    """Adding a measure is one record (and its options in SimilaritySpec): the spec's choices, the
    explorers' "compare with" and "measure" dropdowns, the cross-model kinds and labels and the
    measures table's kinds all come from MEASURE_INFO."""
    from tda_widgets.engine.crossmodel import MEASURE_LABELS
    from tda_widgets.engine.crossmodel import MEASURES as CROSS_MEASURES
    from tda_widgets.widgets.crossmodel import MEASURE_OPTIONS
    from tda_widgets.widgets.distances import COMPARE_OPTIONS

    assert SimilaritySpec.options()["measure"].choices == MEASURES == tuple(MEASURE_INFO)
    assert COMPARE_OPTIONS[1:] == [(record.label, name) for name, record in MEASURE_INFO.items()]
    assert {name: CROSS_MEASURES[name] for name in MEASURES} == {n: r.kind for n, r in MEASURE_INFO.items()}
    assert {name: MEASURE_LABELS[name] for name in MEASURES} == {n: r.label for n, r in MEASURE_INFO.items()}
    assert [value for _, value in MEASURE_OPTIONS][2:] == list(MEASURES)


@pytest.mark.parametrize("name", [n for n, r in MEASURE_INFO.items() if r.prepare_layers is not None])
def test_a_measures_layer_preparation_gives_its_function(name):
    """A record's ``prepare_layers`` (each layer prepared once for the matrix) gives, for every
    pair, what its function gives on the two layers (the function is the reference)."""
    from tda_widgets.topology.similarity import similarity_matrix

    rng = np.random.default_rng(1)
    base = rng.normal(size=(40, 6))
    layers = [base, base @ rng.normal(size=(6, 5)) + 0.3 * rng.normal(size=(40, 5)), rng.normal(size=(40, 4))]
    matrix = similarity_matrix(layers, name)
    record = MEASURE_INFO[name]
    for i in range(3):
        assert matrix[i, i] == record.identical
        for j in range(3):
            if i != j:
                assert matrix[i, j] == pytest.approx(record.function(layers[min(i, j)], layers[max(i, j)]), abs=1e-12)


def test_an_unknown_option_names_the_measures_own():
    from tda_widgets.core.errors import TDAInputError
    from tda_widgets.topology.similarity import representation_similarity, similarity_matrix

    x = np.random.default_rng(0).normal(size=(10, 3))
    with pytest.raises(TDAInputError, match=r"unknown option\(s\) \['batch'\]; it takes no options"):
        similarity_matrix([x, x], "procrustes", batch=3)
    with pytest.raises(TDAInputError, match=r"\['kep'\]; its options are keep, n_components, epsilon"):
        representation_similarity(x, x, "svcca", kep=0.9)
