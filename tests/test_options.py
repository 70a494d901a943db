"""Every option is declared once (tda_widgets.options) and read by validation, the widgets'
controls, the report and the command line: defaults and choices agree everywhere (issue 11)."""

import argparse
import inspect

import pytest

from tda_widgets import LayerDistanceExplorer, MapperExplorer, PersistenceExplorer, Study, load_demo
from tda_widgets.clouds import MODES, CloudSpec, make_cloud
from tda_widgets.errors import TDAInputError, TDATypeError
from tda_widgets.report import add_report_parser, build_report
from tda_widgets.topology import CKASpec, DistanceSpec, MapperSpec, PersistenceSpec
from tda_widgets.topology.distances import METRICS

SPECS = (CloudSpec, PersistenceSpec, DistanceSpec, CKASpec, MapperSpec)


@pytest.fixture(scope="module")
def study():
    demo = load_demo(n_images=80)
    return Study(demo.model, demo.images, demo.labels, ["block1", "block2"], class_names=demo.class_names)


def _defaults(func) -> dict:
    return {k: p.default for k, p in inspect.signature(func).parameters.items()
            if p.default is not inspect.Parameter.empty}


@pytest.mark.parametrize("spec", SPECS)
def test_every_option_has_help_and_a_valid_default(spec):
    assert spec.options()
    for name, opt in spec.options().items():
        assert opt.help and len(opt.help) > 15, name
        assert opt.check(opt.default, spec.__name__) == opt.default
        if opt.choices is not None:
            assert opt.default in opt.choices
    assert spec() == spec(**{name: opt.default for name, opt in spec.options().items()})


def test_a_bad_value_names_the_parameter_the_rule_and_a_close_match():
    with pytest.raises(TDAInputError, match=r"The 'mode' parameter of CloudSpec must be one of .*'spatial'.* "
                                            r"Got 'spatail' instead\. Did you mean 'spatial'\?"):
        CloudSpec(mode="spatail")
    with pytest.raises(TDAInputError, match=r"'n_cubes' parameter of MapperSpec must be an int >= 1\. Got 0"):
        MapperSpec(n_cubes=0)
    with pytest.raises(TDATypeError, match=r"'max_points' parameter of CloudSpec must be an int >= 1 or None\. "
                                           r"Got True \(a bool\)"):
        CloudSpec(max_points=True)
    with pytest.raises(TDAInputError, match=r"'metric' parameter of Study.distance_matrix must be one of"):
        DistanceSpec.check("Study.distance_matrix", metric="wasserstein")
    with pytest.raises(TDAInputError, match="needs n_components"):
        CloudSpec(projection="pca")


def test_study_report_and_widgets_share_the_declared_defaults():
    cloud, ph, dist, cka, mapper = (s() for s in SPECS)
    study_mapper = _defaults(Study.mapper)
    for name in ("lens", "n_cubes", "overlap", "clusterer", "eps", "min_samples"):
        assert study_mapper[name] == getattr(mapper, name), name
    assert _defaults(Study.distance_matrix)["metric"] == dist.metric
    assert _defaults(Study.compare)["dims"] == dist.dims
    assert _defaults(Study.cka)["kernel"] == cka.kernel
    assert _defaults(Study.diagrams)["scale"] == ph.scale
    report = _defaults(build_report)
    assert report["spec"] == cloud and report["metric"] == dist.metric and report["scale"] == ph.scale
    for explorer in (PersistenceExplorer, LayerDistanceExplorer, MapperExplorer):
        init = _defaults(explorer.__init__)
        assert init["max_points"] == cloud.max_points, explorer
        assert init["mode"] == cloud.mode, explorer
    me = _defaults(MapperExplorer.__init__)
    assert (me["n_cubes"], me["overlap"], me["min_samples"]) == (mapper.n_cubes, mapper.overlap, mapper.min_samples)
    assert MapperExplorer.n_cubes.default_value == mapper.n_cubes
    assert LayerDistanceExplorer.metric.default_value == dist.metric


def test_the_mapper_explorer_draws_the_graph_the_report_draws(study):
    # Regression: the report's mapper used 10 intervals / 0.3 overlap, the explorer 8 / 0.35,
    # so the same layer gave two different graphs.
    me = MapperExplorer(study=study, threaded=False, show_all_layers=False)
    reported = study.mapper("block1", CloudSpec())  # what build_report calls with no mapper_kwargs
    shown = me.graphs_["block1"]
    assert shown.params["n_cubes"] == reported.params["n_cubes"] == MapperSpec().n_cubes
    assert shown.params["overlap"] == reported.params["overlap"]
    assert shown is reported  # one cache entry: the very same graph


def test_controls_offer_the_declared_choices_with_their_help(study):
    pe = PersistenceExplorer(study=study, threaded=False, autostart=False)
    de = LayerDistanceExplorer(study=study, threaded=False, autostart=False)
    me = MapperExplorer(study=study, threaded=False, autostart=False, show_all_layers=False)
    values = lambda dropdown: [value for _, value in dropdown.options]
    for explorer in (pe, de, me):
        assert values(explorer.mode_dropdown) == ["auto", *MODES]  # 'linear' was missing
        assert explorer.mode_dropdown.tooltip == CloudSpec.options()["mode"].help
        assert explorer.points_slider.value == CloudSpec().max_points
    assert values(de.metric_dropdown) == list(METRICS)
    assert values(de.kernel_dropdown) == list(CKASpec.options()["kernel"].choices)
    assert values(pe.scale_dropdown) == list(PersistenceSpec.options()["scale"].choices)
    named = list(MapperSpec.options()["lens"].choices)  # then one logit per class
    assert values(me.lens_dropdown) == named + [("logit", k) for k in range(len(values(me.lens_dropdown)) - len(named))]
    assert (me.cubes_slider.min, me.cubes_slider.max) == MapperSpec.options()["n_cubes"].ui[:2]


def test_the_command_line_reads_the_declarations():
    parser = argparse.ArgumentParser()
    add_report_parser(parser.add_subparsers())
    args = parser.parse_args(["report", "--demo"])
    assert args.metric == DistanceSpec().metric and args.max_points == CloudSpec().max_points
    assert (args.n_cubes, args.overlap, args.lens) == (MapperSpec().n_cubes, MapperSpec().overlap, MapperSpec().lens)
    assert parser.parse_args(["report", "--points", "40"]).max_points == 40  # the older flag still works
    with pytest.raises(SystemExit):
        parser.parse_args(["report", "--metric", "wasserstein"])  # not a declared choice


def test_make_cloud_and_the_budget_resolve_auto_the_same_way():
    import numpy as np

    from tda_widgets.clouds import resolve_mode

    assert resolve_mode("auto", (8, 4, 4)) == make_cloud(np.ones((3, 8, 4, 4)), "auto").mode == "image-avgpool"
    assert resolve_mode("auto", (16,)) == make_cloud(np.ones((3, 16)), "auto").mode == "linear"
    with pytest.raises(TDAInputError, match=r"layer 'fc1'.*shape \(64,\) per image"):
        resolve_mode("spatial", (64,), "fc1")


def test_the_infinite_bar_policy_is_a_control_that_reaches_the_engine(study):
    # The engine had a setting no widget could reach (issue 11).
    de = LayerDistanceExplorer(study=study, threaded=False, max_points=40)
    assert [v for _, v in de.infinite_dropdown.options] == list(DistanceSpec.options()["infinite"].choices)
    assert de.infinite_dropdown.tooltip == DistanceSpec.options()["infinite"].help
    assert de.state == "done" and de.result_.infinite == "match"
    de.infinite_dropdown.value = "error"          # H0 always holds one infinite bar
    assert de.state == "error" and "infinite='error'" in de.status
    de.infinite_dropdown.value = "drop"
    assert de.state == "done" and de.result_.infinite == "drop"
