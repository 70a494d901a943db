"""One rule per option (issue 28): the pure functions validate through the specs' declarations,
so a spec and its function accept and refuse the same values; one preset rule with an explicit
"not given"; the Study's steps take their specs end to end."""

from __future__ import annotations

import argparse
import math

import numpy as np
import pytest

from tda_widgets.clouds import CloudSpec, make_cloud
from tda_widgets.errors import TDAInputError, TDATypeError
from tda_widgets.options import NOT_GIVEN, NotGiven, Option, unset
from tda_widgets.topology import DistanceSpec, MapperSpec, mapper_graph
from tda_widgets.topology.distances import check_dims, diagram_distance
from tda_widgets.topology.similarity import SimilaritySpec, similarity_matrix, svcca

REFUSED = (TDAInputError, TDATypeError)


def accepts(call) -> bool:
    try:
        call()
    except REFUSED:
        return False
    return True


@pytest.fixture(scope="module")
def circle():
    rng = np.random.default_rng(0)
    angles = rng.uniform(0, 2 * np.pi, 120)
    return np.c_[np.cos(angles), np.sin(angles)] + rng.normal(0, 0.02, (120, 2))


# ------------------------------------------------------------------ Option's intervals


@pytest.mark.parametrize("closed, inside", [("both", [0, 0.5, 1]), ("left", [0, 0.5]), ("right", [0.5, 1]),
                                            ("neither", [0.5])])
def test_open_and_closed_bounds_as_scikit_learn_interval(closed, inside):
    opt = Option("x", 0.5, "a fraction", kind=float, minimum=0.0, maximum=1.0, closed=closed)
    for value in (-0.1, 0.0, 0.5, 1.0, 1.1, float("nan")):
        assert opt.within(value) == (value in inside), (closed, value)


def test_an_open_infinite_maximum_means_finite_and_nan_is_never_within():
    opt = Option("eps", None, "a radius", kind=float, minimum=0.0, maximum=math.inf, closed="neither")
    assert opt.within(1e300) and not opt.within(math.inf) and not opt.within(float("nan")) and not opt.within(0.0)
    assert "finite" in opt.rule() and "> 0.0" in opt.rule()


def test_a_bad_closed_word_is_refused():
    with pytest.raises(ValueError, match="closed"):
        Option("x", 0, "a number", kind=float, minimum=0, closed="open")


# --------------------------------------------- each contradiction of the issue, now one rule


@pytest.mark.parametrize("overlap", [0.0, 1e-9, 0.3, 0.95, 0.97, 0.999, 1.0, 1.5, -0.1])
def test_mapper_spec_and_mapper_graph_accept_and_refuse_the_same_overlaps(circle, overlap):
    # Before: the spec accepted 0.0 (which mapper_graph refused) and refused 0.97 (which
    # mapper_graph accepted). kmapper's Cover needs 0 < perc_overlap < 1.
    in_spec = accepts(lambda: MapperSpec(overlap=overlap))
    in_function = accepts(lambda: mapper_graph(circle, lens=("coordinate", 0), n_cubes=4, overlap=overlap))
    assert in_spec == in_function == (0 < overlap < 1)


@pytest.mark.parametrize("eps", [None, "knee", 0.5, 0.0, -1.0, math.inf, float("nan"), "kne"])
def test_mapper_spec_and_mapper_graph_accept_and_refuse_the_same_eps(circle, eps):
    # Before: the spec accepted eps=0.0 and inf, which mapper_graph refused.
    in_spec = accepts(lambda: MapperSpec(eps=eps))
    in_function = accepts(lambda: mapper_graph(circle, lens=("coordinate", 0), n_cubes=4, eps=eps))
    assert in_spec == in_function == (eps in (None, "knee", 0.5))


@pytest.mark.parametrize("n_cubes", [1, 3, 0, -2, 2.5, True])
def test_mapper_spec_and_mapper_graph_accept_and_refuse_the_same_n_cubes(circle, n_cubes):
    in_spec = accepts(lambda: MapperSpec(n_cubes=n_cubes))
    in_function = accepts(lambda: mapper_graph(circle, lens=("coordinate", 0), n_cubes=n_cubes, eps=0.5))
    assert in_spec == in_function == (n_cubes in (1, 3) and n_cubes is not True)


@pytest.mark.parametrize("changes", [dict(max_points=0), dict(max_points=2.5), dict(max_points=True),
                                     dict(max_points=10), dict(n_components=0, projection="pca"),
                                     dict(n_components=2, projection="pca"), dict(projection="pca"),
                                     dict(projection="umap", n_components=2), dict(subsample="every"),
                                     dict(seed=-1), dict(standardize="yes")])
def test_cloud_spec_and_make_cloud_accept_and_refuse_the_same_values(changes):
    # Before: make_cloud checked with its own rules (int(max_points) took 2.5 and True).
    acts = np.random.default_rng(0).normal(size=(30, 6))
    in_spec = accepts(lambda: CloudSpec(**changes))
    in_function = accepts(lambda: make_cloud(acts, "linear", **changes))
    assert in_spec == in_function


@pytest.mark.parametrize("metric", ["bottleneck", "wasserstein-1", "sliced-wasserstein", "wasserstein", "", None])
def test_distance_spec_and_the_distance_functions_accept_the_same_metrics(metric):
    in_spec = accepts(lambda: DistanceSpec(metric=metric))
    in_function = accepts(lambda: diagram_distance([[0, 1]], [[0, 2]], metric))
    assert in_spec == in_function == (metric in ("bottleneck", "wasserstein-1", "sliced-wasserstein"))


@pytest.mark.parametrize("dims", [(0, 1), (1,), (), (-1,), (1, 1), (0.5,), (True,)])
def test_one_rule_for_dims_in_the_spec_the_functions_and_the_report(dims):
    from tda_widgets.topology.distances import diagrams_distance

    expected = dims in ((0, 1), (1,)) and not any(isinstance(d, bool) for d in dims)
    assert accepts(lambda: DistanceSpec(dims=dims)) == expected
    assert accepts(lambda: check_dims(dims, "build_report")) == expected
    assert accepts(lambda: diagrams_distance([[[0, 1]], [[0, 2]]], [[[0, 1]], [[0, 3]]], dims=dims)) == expected


@pytest.mark.parametrize("measure", ["svcca", "rtd", "cka", "svcaa"])
def test_similarity_spec_and_similarity_matrix_accept_the_same_measures(measure):
    reps = [np.random.default_rng(k).normal(size=(20, 3)) for k in range(2)]
    in_spec = accepts(lambda: SimilaritySpec(measure=measure))
    in_function = accepts(lambda: similarity_matrix(reps, measure, **({"batch": 10, "trials": 1}
                                                                       if measure == "rtd" else {})))
    assert in_spec == in_function == (measure in ("svcca", "rtd"))


@pytest.mark.parametrize("keep", [0.0, 1e-3, 0.99, 1.0, 1.01, float("nan")])
def test_similarity_spec_and_svcca_accept_the_same_keep(keep):
    rng = np.random.default_rng(1)
    X, Y = rng.normal(size=(30, 4)), rng.normal(size=(30, 4))
    assert accepts(lambda: SimilaritySpec(keep=keep)) == accepts(lambda: svcca(X, Y, keep=keep)) == (0 < keep <= 1)


def test_the_report_command_line_takes_cloud_specs_rule_for_points(tmp_path):
    # Before: "--points must be at least 3" against CloudSpec's minimum of 1.
    from tda_widgets.report import add_report_parser, check_report_settings

    parser = argparse.ArgumentParser()
    add_report_parser(parser.add_subparsers())
    for points, ok in (("1", True), ("2", True), ("0", False), ("-4", False)):
        args = parser.parse_args(["report", "--demo", "--points", points, "--out", str(tmp_path / "r.html")])
        assert accepts(lambda: check_report_settings(args)) == accepts(lambda: CloudSpec(max_points=int(points))) == ok


# ------------------------------------------------------------------ one preset rule


def test_apply_fills_exactly_what_was_left_out():
    from tda_widgets import presets

    ph = presets.get("ph")
    given = {"metric": unset(DistanceSpec, "metric"), "dims": (0, 1), "scale": "median", "spec": NotGiven(CloudSpec())}
    out = presets.apply("ph", given)
    assert out["metric"] == ph.distance.metric == "sliced-wasserstein"   # left out: the preset's
    assert out["dims"] == (0, 1) and out["scale"] == "median"            # given, even equal to a default: kept
    assert out["spec"] == ph.cloud
    assert presets.apply(None, given)["metric"] == DistanceSpec().metric  # no preset: the declared default
    assert presets.apply(False, {"mapper": NOT_GIVEN}) == {"mapper": None}
    assert not any(isinstance(v, NotGiven) for v in out.values())


def test_apply_spec_merges_keyword_sugar_onto_the_presets_spec():
    from tda_widgets import presets

    mapper = presets.get("mapper").mapper
    assert presets.apply_spec("mapper", "mapper", MapperSpec, NOT_GIVEN) == mapper
    assert presets.apply_spec("mapper", "mapper", MapperSpec, NOT_GIVEN, n_cubes=4) == mapper.replace(n_cubes=4)
    assert presets.apply_spec(None, "mapper", MapperSpec, MapperSpec(n_cubes=7), overlap=unset(MapperSpec, "overlap")) \
        == MapperSpec(n_cubes=7)
    with pytest.raises(TDATypeError, match="'mapper' parameter must be a MapperSpec"):
        presets.apply_spec(None, "mapper", MapperSpec, {"n_cubes": 3})


def test_the_widgets_initial_settings_read_the_same_rule():
    from tda_widgets import presets
    from tda_widgets.widgets._presets import initial_settings

    ph = presets.get("ph")
    left_out = {"metric": unset(DistanceSpec, "metric"), "scale": NotGiven("median")}
    base, mode, points, settings = initial_settings(ph, unset(CloudSpec, "mode"), unset(CloudSpec, "max_points"),
                                                    left_out)
    assert (base, mode, points) == (ph.cloud, ph.cloud.mode, ph.cloud.max_points)
    assert settings == {"metric": ph.distance.metric, "scale": ph.persistence.scale}
    _, mode, points, settings = initial_settings(ph, "spatial", NotGiven(500), {"metric": "wasserstein-1"})
    assert (mode, points) == ("spatial", ph.cloud.max_points) and settings == {"metric": "wasserstein-1"}
    # given equal to the declared default is given (it was taken for "left out" by equality)
    _, mode, points, settings = initial_settings(ph, "auto", 500, {"metric": "bottleneck", "scale": "median"})
    assert (mode, points) == ("auto", 500) and settings == {"metric": "bottleneck", "scale": "median"}


def _declared_defaults_differing(function, *specs, exceptions=()):
    """The keyword defaults of ``function`` that name an option of ``specs`` but differ from its
    declaration (a NotGiven marker counts by the default it carries)."""
    import inspect

    out = []
    for name, parameter in inspect.signature(function).parameters.items():
        default = parameter.default
        if default is inspect.Parameter.empty or name in exceptions:
            continue
        default = default.default if isinstance(default, NotGiven) else default
        for spec in specs:
            if name in spec.options() and not (default == spec.options()[name].default):
                out.append((function.__qualname__, name, default, spec.__name__))
    return out


def test_every_function_default_of_a_declared_option_is_the_declared_one():
    """One truth per default (issue 28): each public function's keyword named after a declared
    option defaults to the declaration (the pure functions keep their defaults in the signature
    for help(), so this test holds them together). One deliberate exception: make_cloud, a
    function on arrays, keeps every point (max_points=None) where the study's CloudSpec budgets
    500; its docstring says so."""
    from tda_widgets.engine.budget import check_budget, estimate_study
    from tda_widgets.engine.checkpoints import checkpoint_grid
    from tda_widgets.engine.study import Study
    from tda_widgets.figures import layer_distance_figure
    from tda_widgets.topology import PersistenceSpec, diagram_distance, layer_distance_matrix, mapper_graph
    from tda_widgets.topology.cka import CKASpec, cka_matrix, linear_cka, rbf_cka
    from tda_widgets.topology.distances import diagrams_distance, matching
    from tda_widgets.topology.persistence import persistence, rescaled_persistence
    from tda_widgets.topology.scaling import rescale_points

    differing = _declared_defaults_differing(make_cloud, CloudSpec, exceptions=("max_points",))
    for function in (persistence, rescaled_persistence, rescale_points):
        differing += _declared_defaults_differing(function, PersistenceSpec)
    for function in (diagram_distance, diagrams_distance, layer_distance_matrix, matching):
        differing += _declared_defaults_differing(function, DistanceSpec)
    for function in (cka_matrix, linear_cka, rbf_cka):
        differing += _declared_defaults_differing(function, CKASpec)
    differing += _declared_defaults_differing(mapper_graph, MapperSpec)
    for function in (checkpoint_grid, layer_distance_figure, Study.estimate, estimate_study, check_budget):
        differing += _declared_defaults_differing(function, DistanceSpec, PersistenceSpec, CKASpec)
    assert differing == []
    import inspect

    assert inspect.signature(make_cloud).parameters["max_points"].default is None  # the exception, stated


def test_one_byte_formatter():
    """Issue 28: byte sizes were written by four formatters (budget, capture, clouds and
    persistence's own) and the report's command line printed decimal MB; every one is now
    core.formatting.format_bytes, the only place that names the binary units."""
    import ast
    import pathlib

    import tda_widgets
    from tda_widgets.core.formatting import format_bytes

    root = pathlib.Path(tda_widgets.__file__).parent
    units = []
    for path in root.rglob("*.py"):
        if path.relative_to(root).as_posix() == "core/formatting.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and node.value in ("KiB", "MiB", "GiB", "MB", "GB"):
                units.append(str(path.relative_to(root)))
    assert units == []
    assert (format_bytes(3 * 2**30), format_bytes(1023), format_bytes(1024)) == ("3.0 GiB", "1023 B", "1.0 KiB")
