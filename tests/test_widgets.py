"""Explorers driven from Python: traits in, figures out, linked thumbnails, progress, cancel.

References are independent of the widget code: diagrams from a direct ripser call, mapper
membership from the topology layer, distance matrices from the Study engine.
"""

import html
import json
import threading
import time

import numpy as np
import pytest
import ripser
import torch
from plotly.callbacks import Points

from tda_widgets import Dashboard, LayerDistanceExplorer, MapperExplorer, PersistenceExplorer, Study, load_demo
from tda_widgets.compute import CloudSpec
from tda_widgets.errors import Cancelled
from tda_widgets.topology.persistence import persistence
from tda_widgets.topology.scaling import rescale_points
from tda_widgets.widgets.base import JobRunner


@pytest.fixture(scope="module")
def demo():
    return load_demo(n_images=120)


@pytest.fixture
def study(demo):
    return Study(demo.model, demo.images, demo.labels, demo.layers, class_names=demo.class_names)


def model_state(model):
    return ([m.training for m in model.modules()], [p.requires_grad for p in model.parameters()],
            {k: v.clone() for k, v in model.state_dict().items()})


def assert_model_unchanged(model, before):
    after = model_state(model)
    assert after[0] == before[0] and after[1] == before[1]
    for k, v in before[2].items():
        assert torch.equal(after[2][k], v), k
    for name, module in model.named_modules():
        assert not module._forward_hooks, name


def trace(fig, name):
    return next(t for t in fig.data if t.name == name)


def fire(tr, index, kind="hover"):
    callbacks = tr._hover_callbacks if kind == "hover" else tr._click_callbacks
    assert callbacks, f"no {kind} callback on trace {tr.name!r}"
    points = Points(point_inds=[index], xs=[tr.x[index]], ys=[tr.y[index]], trace_name=tr.name, trace_index=0)
    for callback in callbacks:
        callback(tr, points, None)


# ------------------------------------------------------------------ persistence


def test_persistence_explorer_draws_the_direct_ripser_diagram(demo, study):
    before = model_state(demo.model)
    w = PersistenceExplorer(study=study, layer="block2", max_points=80).wait()
    assert w.state == "done", w.status
    cloud = study.cloud("block2", CloudSpec(max_points=80))
    scaled, _ = rescale_points(cloud.points, "median")
    ref = ripser.ripser(scaled, maxdim=1)["dgms"]
    h1 = trace(w.diagram_fig, "H1")
    assert len(h1.x) == len(ref[1])
    np.testing.assert_allclose(sorted(h1.x), sorted(ref[1][:, 0]), atol=1e-6)
    h0 = trace(w.diagram_fig, "H0")
    assert len(h0.x) == len(ref[0])  # the infinite bar is drawn on the top line, not dropped
    assert_model_unchanged(demo.model, before)


def test_changing_a_trait_redraws_in_place(study):
    w = PersistenceExplorer(study=study, layer="block1", max_points=60).wait()
    fig_id = id(w.diagram_fig)
    h1_before = list(trace(w.diagram_fig, "H1").x)
    w.layer = "fc1"
    w.wait()
    assert id(w.diagram_fig) == fig_id  # the same FigureWidget, updated in place
    assert "fc1" in w.diagram_fig.layout.title.text
    assert list(trace(w.diagram_fig, "H1").x) != h1_before
    assert w.layer_slider.value == "fc1"
    w.layer_slider.value = "block1"  # the slider drives the trait too
    w.wait()
    assert w.layer == "block1"


def test_hover_on_a_bar_shows_exactly_its_images(study):
    w = PersistenceExplorer(study=study, layer="block3", max_points=100).wait()
    h1 = trace(w.diagram_fig, "H1")
    assert len(h1.x) > 0
    k = int(np.argmax(np.asarray(h1.y) - np.asarray(h1.x)))
    dim, bar = int(h1.customdata[k][0]), int(h1.customdata[k][1])
    fire(h1, k)
    # reference: the representative from the topology layer, mapped through provenance
    cloud = study.cloud("block3", CloudSpec(max_points=100))
    result = persistence(rescale_points(cloud.points, "median")[0], maxdim=1, representatives=True, backend="ripser")
    birth, death = w.result_.diagrams[dim][bar]
    row = int(np.flatnonzero((result.diagrams[1][:, 0] == birth) & (result.diagrams[1][:, 1] == death))[0])
    expected = sorted(set(cloud.image_index[result.representatives[1][row]].tolist()))
    assert w.thumbnails.selected == expected
    assert f"H1 bar {bar}" in w.thumbnails.title
    # a click on an H0 point shows the two images of the merging edge
    h0 = trace(w.diagram_fig, "H0")
    finite = int(np.flatnonzero(np.isfinite(np.asarray(h0.customdata, dtype=float)[:, 3]))[-1])
    fire(h0, finite, "click")
    dim, bar = int(h0.customdata[finite][0]), int(h0.customdata[finite][1])
    assert dim == 0
    edge = result.representatives[0][bar] if np.array_equal(result.diagrams[0], w.result_.diagrams[0]) else None
    assert edge is not None and len(edge) == 2
    assert w.thumbnails.selected == sorted(set(cloud.image_index[edge].tolist()))


def test_a_quick_job_sends_no_progress_and_a_slow_one_shows_it(study):
    """A view from the cache is a few ms of work: its job never shows the progress bar or the
    status (no messages, nothing flickers, issue 17); a job that runs longer than SHOW_AFTER_S shows both."""
    w = PersistenceExplorer(study=study, layer="block1", max_points=50)
    w.wait()
    w.layer = "fc1"
    w.wait()
    w.SHOW_AFTER_S = 3.0  # every job below is "quick"
    changes = []
    for widget in (w.progress_bar, w.progress_bar.layout, w.status_label):
        widget.observe(lambda c: changes.append(c["name"]), names=["value", "max", "description", "visibility"])
    w.layer = "block1"  # cached
    w.wait()
    assert w.state == "done" and changes == [], changes
    assert w.diagram_fig.layout.title.text.startswith("block1")

    w.SHOW_AFTER_S = 0.0  # now every job shows its progress at once
    w.max_points = 70  # a new cloud and diagram
    w.wait()
    assert "visibility" in changes and "value" in changes
    assert w.progress_bar.layout.visibility == "hidden"  # hidden again when done


def test_progress_reaches_the_end_and_status_shows_errors(study):
    seen = []
    w = PersistenceExplorer(study=study, layer="block1", max_points=50, autostart=False)
    w.SHOW_AFTER_S = 0.0  # shown from the start, whatever the machine's speed
    w.progress_bar.observe(lambda c: seen.append((w.progress_bar.value, w.progress_bar.max)), names="value")
    w.recompute()
    w.wait()
    assert seen and seen[-1][0] == seen[-1][1]
    with w.hold_trait_notifications():
        w.layer, w.mode = "head", "spatial"  # a linear layer has no spatial positions
    w.wait()
    assert w.state == "error"  # a readable message in the widget, no exception
    assert "needs a convolutional layer" in w.status_label.value and "Error" in w.status_label.value
    w.mode = "auto"
    w.wait()
    assert w.state == "done" and w.status_label.value == ""


def test_cancel_stops_the_work_and_leaves_the_widget_usable(demo):
    study = Study(demo.model, demo.images, demo.labels, demo.layers)
    started = threading.Event()
    release = threading.Event()
    w = PersistenceExplorer(study=study, layer="block1", max_points=60, autostart=False)
    real = study.cloud

    def slow_cloud(*a, **k):
        started.set()
        release.wait(5)
        return real(*a, **k)

    study.cloud = slow_cloud
    w.recompute()
    assert started.wait(5)
    assert w.cancel_button.disabled is False
    w.cancel()
    release.set()
    w.wait()
    assert w.state == "cancelled"
    assert not any(k[0] == "diagrams" for k in study.cache_keys())
    study.cloud = real
    w.recompute()
    w.wait()
    assert w.state == "done" and len(trace(w.diagram_fig, "H0").x) == 60


def test_rapid_changes_end_on_the_last_setting(study):
    w = PersistenceExplorer(study=study, layer="block1", max_points=40, maxdim=0)
    for n in range(20, 120, 5):  # 20 quick changes, the last one 115 (of 120 images)
        w.max_points = n
    w.wait()
    assert w.state == "done"
    assert w.cloud_.n_points == 115
    assert len(trace(w.diagram_fig, "H0").x) == 115


# ------------------------------------------------------------------ layer distances


def test_layer_distance_explorer_matches_the_study(study):
    w = LayerDistanceExplorer(study=study, max_points=60, dims=(0, 1)).wait()
    assert w.state == "done", w.status
    ref = Study(study.model, study.images, study.labels, study.layers).distance_matrix(
        spec=CloudSpec(max_points=60), metric="bottleneck", dims=(0, 1))
    np.testing.assert_allclose(np.asarray(trace(w.heatmap_fig, "ph").z, dtype=float), ref, atol=1e-12)
    assert "Spearman" in w.heatmap_fig.layout.title.text
    w.metric = "sliced-wasserstein"  # a view change: diagrams come from the cache
    n_persistence = study.stats["persistence"]
    w.wait()
    assert study.stats["persistence"] == n_persistence
    assert "sliced" in w.heatmap_fig.layout.title.text


def test_clicking_a_cell_shows_the_matching(study):
    w = LayerDistanceExplorer(study=study, max_points=60).wait()
    ph = trace(w.heatmap_fig, "ph")
    assert ph._click_callbacks
    points = Points(point_inds=[[1, 0]], xs=["block1"], ys=["block2"], trace_name="ph", trace_index=0)
    ph._click_callbacks[0](ph, points, None)
    assert w.selected_pair == ("block2", "block1")
    assert "block2 vs block1" in w.matching_fig.layout.title.text
    assert len(trace(w.matching_fig, "A").x) > 0
    # a new metric: the matching drawn for bottleneck is not left beside the new heat map
    w.metric = "wasserstein-1"
    w.wait()
    assert w.selected_pair is None and "bottleneck" not in w.matching_fig.layout.title.text
    assert "settings changed" in w.matching_fig.layout.title.text and len(trace(w.matching_fig, "A").x) == 0
    ph._click_callbacks[0](ph, points, None)  # clicked again: the new metric's matching
    assert "wasserstein-1 matching" in w.matching_fig.layout.title.text


# ------------------------------------------------------------------ mapper


def test_mapper_node_click_shows_its_images_and_links_layers(demo, study):
    before = model_state(demo.model)
    w = MapperExplorer(study=study, layer="fc1", n_cubes=6, overlap=0.4).wait()
    assert w.state in ("done", "error"), w.status
    graph = w.graphs_["fc1"]
    nodes = trace(w.main_fig, "nodes")
    assert len(nodes.x) == len(graph.nodes)
    k = int(np.argmax([n.size for n in graph.nodes]))
    node_id = str(nodes.customdata[k] if np.ndim(nodes.customdata[k]) == 0 else nodes.customdata[k][0])
    fire(nodes, k, "click")
    # reference: membership from the topology layer through the cloud's provenance
    cloud = study.cloud("fc1", w.spec)
    expected = sorted(set(cloud.image_index[graph.node(node_id).members].tolist()))
    assert w.thumbnails.selected == expected
    # cross-layer linking: in every other layer, exactly the nodes holding any of those images
    for name, g in w.graphs_.items():
        want = sorted(n.id for n in g.nodes if set(n.image_indices.tolist()) & set(expected))
        assert sorted(w.highlighted_[name]) == want
        if name in w.layer_figs:
            fig = w.layer_figs[name]
            ring = trace(fig, "highlight")
            # shown rings: read from the per-point opacities directly, not through ringed_nodes
            shown = [str(i) for i, o in zip(ring.customdata, ring.marker.opacity) if o > 0]
            assert sorted(shown) == want
            # the rings equal what the figure builder draws for these highlights at this size
            from tda_widgets.figures import mapper_graph_figure
            from tda_widgets.widgets.mapper import MAIN_SIZE

            scale = min(1.0, fig.layout.width / MAIN_SIZE[0])
            ref = trace(mapper_graph_figure(g, highlight=w.highlighted_[name], width=fig.layout.width,
                                            height=fig.layout.height,
                                            size_range=(max(5.0, 8.0 * scale), max(12.0, 30.0 * scale))),
                        "highlight")
            np.testing.assert_allclose(ring.x, ref.x)
            np.testing.assert_allclose(ring.y, ref.y)
            np.testing.assert_allclose(ring.marker.size, ref.marker.size)
            assert list(ring.customdata) == list(ref.customdata)
            np.testing.assert_array_equal(ring.marker.opacity, ref.marker.opacity)
    assert_model_unchanged(demo.model, before)


def test_mapper_graphs_carry_what_the_browser_needs_to_answer_a_click(study):
    """Issue 17: a hover or click on a node is answered in the browser before the kernel does;
    each graph's layout.meta carries each node's images and the kernel's panel title for it."""
    w = MapperExplorer(study=study, layer="fc1", n_cubes=5, threaded=False)
    figures = [(w.layer, w.main_fig), *w.layer_figs.items()]
    assert len(figures) >= 2
    for name, fig in figures:
        link, graph = fig.layout.meta["tdaw_link"], w.graphs_[name]
        assert link["group"] == w.thumbnails.model_id  # the group is the explorer's panel
        nodes = trace(fig, "nodes")
        offsets, images = np.asarray(link["offsets"]), np.asarray(link["images"])
        assert len(offsets) == len(nodes.customdata) + 1 and offsets[-1] == len(images)
        cloud = study.cloud(name, w.spec)
        for j, node_id in enumerate(nodes.customdata):
            # reference: the node's members mapped through the cloud's provenance
            want = sorted(set(cloud.image_index[graph.node(str(node_id)).members].tolist()))
            assert sorted(images[offsets[j]:offsets[j + 1]].tolist()) == want
        j = len(nodes.customdata) - 1  # the browser shows what the kernel's answer shows
        w.select_node(str(nodes.customdata[j]), layer=name, show_layer=False)
        assert html.unescape(link["titles"][j]) == w.thumbnails.title  # escaped in the figure
        assert images[offsets[j]:offsets[j + 1]].tolist() == list(w.thumbnails.selected)
        assert w.thumbnails.marks == []


def test_mapper_graph_of_positioned_points_leaves_the_thumbnails_to_the_kernel(study):
    """A cloud whose points sit at spatial positions: the kernel marks them on the thumbnails,
    so the browser draws only the rings (no titles in the link)."""
    w = MapperExplorer(study=study, layer="block2", mode="image-top-l2", n_cubes=4, show_all_layers=False,
                       threaded=False)
    link = w.main_fig.layout.meta["tdaw_link"]
    assert "titles" not in link and len(link["offsets"]) == len(w.graphs_["block2"].nodes) + 1
    node = w.graphs_["block2"].nodes[0]
    w.select_node(node.id, show_layer=False)
    assert w.thumbnails.marks and all(len(m) >= 4 for m in w.thumbnails.marks)


def test_mapper_settings_change_redraws(study):
    w = MapperExplorer(study=study, layer="head", n_cubes=4, show_all_layers=False).wait()
    n_before = len(trace(w.main_fig, "nodes").x)
    w.n_cubes = 12
    w.wait()
    assert w.graphs_["head"].params["n_cubes"] == 12
    assert len(trace(w.main_fig, "nodes").x) == len(w.graphs_["head"].nodes) != n_before


def test_mapper_panels_agree_with_the_last_setting(study):
    """A node clicked in another layer's graph shows that layer; node info is in words (classes
    with counts and shares, groups when given), never a dict or kmapper's id; a new cover clears it."""
    groups = {c: ("low" if c < 5 else "high") for c in range(10)}
    w = MapperExplorer(study=study, layer="fc1", n_cubes=5, class_groups=groups).wait()
    head = w.graphs_["head"]
    k = int(np.argmax([n.size for n in head.nodes]))
    fire(trace(w.layer_figs["head"], "nodes"), k, "hover")  # a hover previews: the main graph stays
    assert w.layer == "fc1" and w.selected_node.startswith("head:") and w.main_fig.layout.title.text.startswith("fc1")
    fire(trace(w.layer_figs["head"], "nodes"), k, "click")
    node = head.nodes[k]
    assert w.layer == "head" and w.selected_node == f"head:{node.id}"
    assert w.main_fig.layout.title.text.startswith("head ·")  # the main graph is head's
    assert len(trace(w.main_fig, "nodes").x) == len(head.nodes)
    info = w.info.value
    top_class, top_count = max(node.class_counts.items(), key=lambda kv: kv[1])
    assert f"head, node {k + 1} of {len(head.nodes)}" in info and f"{node.size} points" in info
    assert f"{top_class}: {top_count} ({top_count / node.size:.0%})" in info
    assert "groups: " in info and node.id not in info and "{" not in info and "'" not in info
    assert w.thumbnails.title.startswith(f"head, node {k + 1} of {len(head.nodes)}: ")
    w.n_cubes = 6
    w.wait()
    assert w.info.value == "" and w.selected_node is None and w.thumbnails.selected == []
    # class groups: a colour option and the purity-per-layer figure (issue 17, 4)
    values = [v for _, v in w.color_dropdown.options]
    assert "group" in values and "group_purity" in values
    w.color_by = "group"
    colours = list(trace(w.main_fig, "nodes").marker.color)
    head = w.graphs_[w.layer]
    majority = [max(n.group_counts, key=n.group_counts.get) for n in head.nodes]
    assert len(set(colours)) == len(set(majority))  # one colour per group present
    assert all((a == b) == (ca == cb) for a, ca in zip(majority, colours) for b, cb in zip(majority, colours))
    labels = study.labels
    for name, series in (("class purity", None), ("group purity", groups)):
        shown = list(trace(w.purity_fig, name).y)
        expected = []
        for layer in study.layers:  # one point per image here: a node's labels are its images'
            nodes = w.graphs_[layer].nodes
            named = [[c if series is None else series[int(c)] for c in labels[n.image_indices]] for n in nodes]
            tops = [np.unique(names, return_counts=True)[1].max() for names in named]
            expected.append(sum(tops) / sum(len(names) for names in named))
        np.testing.assert_allclose(shown, expected, rtol=1e-12)
    plain = MapperExplorer(study=study, layer="fc1", n_cubes=5, autostart=False)
    assert "group" not in [v for _, v in plain.color_dropdown.options]  # no groups given


def test_mapper_colour_and_logit_lens_controls(study):
    """Every colour the figure offers is in the dropdown (no 'lens' that raised); a class logit is
    a lens from the dropdown and from the trait (it raised a formatting error); its graph equals
    a mapper_graph call on the same logits."""
    from tda_widgets.figures.mapper import COLOR_BY, GROUP_COLORINGS
    from tda_widgets.topology.mapper import mapper_graph

    w = MapperExplorer(study=study, layer="fc1", n_cubes=5, show_all_layers=False, threaded=False)
    # without class_groups, every colouring but the group ones (those are tested with groups)
    offered = [c for c in COLOR_BY if c not in GROUP_COLORINGS]
    assert [v for _, v in w.color_dropdown.options] == offered
    for colour in offered:
        w.color_by = colour
        assert w.state == "done", w.status
    labels = [label for label, _ in w.lens_dropdown.options]
    assert "logit of class 3" in labels and len([v for _, v in w.lens_dropdown.options if isinstance(v, tuple)]) == 10
    w.lens = ("logit", 3)
    assert w.state == "done" and w.lens_dropdown.label == "logit of class 3"
    cloud = study.cloud("fc1", w.spec)
    logits = study.activations(["head"])["head"].reshape(study.n_images, -1)[cloud.image_index, 3]
    direct = mapper_graph(cloud.points, lens=logits, n_cubes=5, overlap=w.overlap, min_samples=w.min_samples)
    assert sorted(n.size for n in w.graphs_["fc1"].nodes) == sorted(n.size for n in direct.nodes)
    w.lens_dropdown.value = "l2norm"
    assert w.lens == "l2norm" and w.state == "done"


def test_mapper_eps_box_reaches_dbscan(study):
    """eps (DBSCAN's radius) is a control: a typed number gives the graph a mapper_graph call
    with that eps gives; empty is auto; a bad entry is a clear error in the status row."""
    from tda_widgets.topology.mapper import mapper_graph

    w = MapperExplorer(study=study, layer="fc1", n_cubes=5, show_all_layers=False).wait()
    assert w.eps is None and w.eps_text.value == "" and w.eps_text.placeholder == "auto"
    auto = w.graphs_["fc1"].params["eps"]
    typed = float(f"{1.5 * auto:.3g}")
    w.eps_text.value = str(typed)
    w.wait()
    assert w.eps == typed
    cloud = study.cloud("fc1", w.spec)
    direct = mapper_graph(cloud.points, lens=w.lens, n_cubes=5, overlap=w.overlap, eps=typed,
                          min_samples=w.min_samples)
    assert w.graphs_["fc1"].params["eps"] == typed
    assert sorted(len(n.members) for n in w.graphs_["fc1"].nodes) == sorted(len(n.members) for n in direct.nodes)
    assert len(trace(w.main_fig, "nodes").x) == len(direct.nodes)
    w.eps_text.value = "-1"
    assert w.eps == typed and w.state == "error" and "eps" in w.status and "> 0" in w.status  # the declared rule: 0 < eps, finite
    assert "empty for auto" in w.status
    w.eps = None
    w.wait()
    assert w.eps_text.value == "" and w.graphs_["fc1"].params["eps"] == auto
    with pytest.raises(Exception, match="eps"):
        MapperExplorer(study=study, eps=-2.0, autostart=False)


# ------------------------------------------------------------------ dashboard, runner


def test_dashboard_shares_one_cache(study):
    d = Dashboard(study=study)
    d.persistence.wait()
    assert d.distances.study is d.persistence.study is d.mapper.study
    d.distances.wait()
    d.mapper.wait()
    assert d.selected_index == 2
    d.close()


def test_job_runner_drops_stale_results():
    applied = []
    runner = JobRunner(lambda *a: None, lambda *a: None)

    def work(delay):
        def run(progress, cancel):
            time.sleep(delay)
            return delay
        return run

    runner.submit(work(0.3), applied.append)
    runner.submit(work(0.0), applied.append)
    runner.wait()
    assert applied == [0.0]


def test_closing_a_widget_cancels_its_work(study):
    w = PersistenceExplorer(study=study, autostart=False)
    stopped = threading.Event()

    def long_work(progress, cancel):
        for _ in range(200):
            if cancel.is_set():
                stopped.set()
                raise Cancelled("x")
            time.sleep(0.01)

    w.jobs.submit(long_work, lambda r: None)
    w.close()
    w.jobs.wait()
    assert stopped.is_set()


def test_dashboard_passes_settings_to_the_explorers_that_take_them(study):
    d = Dashboard(study=study, max_points=70, metric="wasserstein-1", n_cubes=5, threaded=False)
    assert d.persistence.max_points == 70 and d.distances.max_points == 70
    assert d.distances.metric == "wasserstein-1" and d.mapper.n_cubes == 5
    with pytest.raises(TypeError, match="no explorer takes"):
        Dashboard(study=study, max_pionts=70)


def test_explorer_takes_a_class_balanced_sample(demo):
    w = PersistenceExplorer(demo.model, demo.images, labels=demo.labels, n_images=50, max_points=50,
                            threaded=False)
    assert w.study.n_images == 50 and len(w.study.images) == 50
    counts = np.bincount(w.study.labels, minlength=10)
    assert counts.min() == 5 and counts.max() == 5
    # the sample's labels are the labels of the sampled images
    index = [int(np.flatnonzero((demo.images == img).all(dim=(1, 2, 3)).numpy())[0]) for img in w.study.images[:10]]
    np.testing.assert_array_equal(w.study.labels[:10], demo.labels[index])


def test_every_figure_sent_to_the_browser_is_valid_json(study):
    """inf/NaN in a FigureWidget's state is not JSON: the browser dropped such updates and the
    figure stayed blank (the barcode's infinite-bar customdata did this)."""
    import json

    def check(fig):
        for state in (fig._widget_data, fig._widget_layout):
            json.dumps(state, allow_nan=False, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o))

    p = PersistenceExplorer(study=study, layer="block2", max_points=60, threaded=False)
    d = LayerDistanceExplorer(study=study, max_points=60, threaded=False)
    d.show_pair(0, 1, dim=0)  # H0 diagrams hold an infinite bar each
    m = MapperExplorer(study=study, layer="fc1", threaded=False)
    for fig in (p.diagram_fig, p.barcode_fig, d.heatmap_fig, d.matching_fig, m.main_fig, *m.layer_figs.values()):
        check(fig)


def test_rerunning_a_cell_cancels_and_closes_the_explorer_it_made(study):
    """Re-running the cell that made an explorer stops the old one at once (issue 17, 5)."""
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    try:
        shell.user_ns.update(study=study, PersistenceExplorer=PersistenceExplorer)
        shell.run_cell("pe = PersistenceExplorer(study=study, autostart=False)", cell_id="cell-a")
        shell.run_cell("other = PersistenceExplorer(study=study, autostart=False)", cell_id="cell-b")
        shell.run_cell("loose = PersistenceExplorer(study=study, autostart=False)")  # no cell id
        old, other, loose = (shell.user_ns[k] for k in ("pe", "other", "loose"))
        started = threading.Event()

        def long_work(progress, cancel):
            started.set()
            cancel.wait(30)  # returns at once when cancelled; 30 s otherwise

        old.jobs.submit(long_work, lambda r: None)
        assert started.wait(10)
        t0 = time.monotonic()
        shell.run_cell("pe = PersistenceExplorer(study=study, autostart=False)", cell_id="cell-a")
        old.jobs.wait(10)
        assert time.monotonic() - t0 < 5
        assert old.state == "cancelled"
        assert old.comm is None  # closed: the re-run cell's output no longer shows it
        new = shell.user_ns["pe"]
        assert new is not old and new.comm is not None
        assert other.comm is not None and loose.comm is not None  # other cells' explorers live on
        shell.run_cell("1 + 1")  # a cell without an id closes nothing either
        assert new.comm is not None
    finally:
        InteractiveShell.clear_instance()


def test_browser_echo_of_defaults_never_raises_on_numpy_properties():
    """plotly's _remove_overlapping_props tested ``if not value`` on numpy arrays when the
    browser echoed computed defaults (issue 17: tracebacks in JupyterLab's Log Console)."""
    from plotly.basewidget import BaseFigureWidget

    from tda_widgets.widgets._common import FigureWidget

    def held(array):
        return {"marker": {"size": array([1.0, 2.0]), "color": "red"}, "customdata": array([[0, 1], [1, 2]]),
                "name": "H1", "uid": "u"}

    delta = {"marker": {"size": [{"k": 1}], "color": "blue"}, "customdata": [{"k": 1}], "name": "H1", "uid": "x"}
    with pytest.raises(ValueError, match="ambiguous"):  # plotly's own, on what the explorers hold
        BaseFigureWidget._remove_overlapping_props(held(np.array), delta)
    ours = held(np.array)
    removed = FigureWidget._remove_overlapping_props(ours, delta)
    reference = held(tuple)  # the same props as tuples: plotly's handles these
    assert removed == BaseFigureWidget._remove_overlapping_props(reference, delta)
    assert sorted(removed) == [("marker", "color"), ("name",)]
    assert set(ours) == set(reference) and set(ours["marker"]) == set(reference["marker"])



def _figure_state(fig):
    state = json.loads(fig.to_json())
    for trace in state["data"]:
        trace.pop("uid", None)
    return state


PLOTLY_EDITS = ("_py2js_addTraces", "_py2js_deleteTraces", "_py2js_moveTraces", "_py2js_restyle", "_py2js_relayout",
                "_py2js_update", "_py2js_animate")


def _record(widget):
    """What ``widget`` sends the browser: tda-widgets' fast-path messages and plotly's own edits."""
    sent = []
    widget._tdaw_send = lambda content: sent.append(content)
    widget.observe(lambda change: change["new"] is not None and sent.append({"plotly": change["name"]}),
                   names=list(PLOTLY_EDITS))
    return sent


def test_a_view_seen_before_is_named_not_sent_again_and_python_ends_in_the_same_figure(study):
    """Issue 17, 1: the browser gets each view's figure once (its JSON, the template once per
    widget); a view seen before is one "show" message naming it; plotly's own edit messages are
    never sent; and the Python figure ends equal to a figure built from scratch."""
    from tda_widgets.figures.diagrams import barcode_figure, persistence_diagram_figure
    from tda_widgets.widgets._common import FigureWidget, json_safe, update_in_place

    diagrams = {layer: study.diagrams([layer], CloudSpec(max_points=60))[layer].diagrams
                for layer in ("block1", "fc1")}
    for build in (persistence_diagram_figure, barcode_figure):
        widget = FigureWidget(build([np.empty((0, 2))], title="computing…"))
        sent = _record(widget)
        for layer in ("block1", "fc1", "block1", "fc1"):
            update_in_place(widget, build(list(diagrams[layer]), title=f"{layer} diagram"))
            fresh = json_safe(build(list(diagrams[layer]), title=f"{layer} diagram"))  # NaN as null, as sent
            assert _figure_state(widget) == _figure_state(fresh)
        assert [m.get("tdaw") for m in sent] == ["frame", "frame", "show", "show"], sent
        assert not [m for m in sent if "plotly" in m]
        assert "template" in sent[0] and "template" not in sent[1]  # one template per widget
        assert sent[2]["id"] == sent[0]["id"] and sent[3]["id"] == sent[1]["id"] != sent[0]["id"]
        # what the browser draws for the last view: the frame's JSON plus the template
        frame = json.loads(sent[1]["figure"])
        reference = json.loads(json_safe(build(list(diagrams["fc1"]), title="fc1 diagram")).to_json())
        template = reference["layout"].pop("template")
        assert json.loads(sent[0]["template"]) == template
        assert frame["layout"] == reference["layout"]
        assert [{k: v for k, v in t.items() if k != "uid"} for t in frame["data"]] == \
            [{k: v for k, v in t.items() if k != "uid"} for t in reference["data"]]


def test_a_browser_that_lacks_a_view_gets_the_figure_python_holds(study):
    """A reloaded page has no stored frames: asked for one, the kernel sends its current figure."""
    from tda_widgets.figures.diagrams import persistence_diagram_figure
    from tda_widgets.widgets._common import FigureWidget, update_in_place

    diagrams = study.diagrams(["fc1"], CloudSpec(max_points=60))["fc1"].diagrams
    widget = FigureWidget(persistence_diagram_figure([np.empty((0, 2))], title="computing…"))
    update_in_place(widget, persistence_diagram_figure(list(diagrams), title="fc1 diagram"))
    sent = _record(widget)
    widget._handle_custom_msg({"tdaw": "need", "id": "unknown"}, [])
    assert [m["tdaw"] for m in sent] == ["frame"] and "template" in sent[0]
    frame = json.loads(sent[0]["figure"])
    assert frame["layout"]["title"]["text"] == "fc1 diagram"
    assert [t["name"] for t in frame["data"]] == [t.name for t in widget.data]


def test_an_explorer_sends_every_figure_before_it_updates_the_python_copies(study, monkeypatch):
    """Inside one step the second figure's message does not wait for the first figure's Python
    bookkeeping (figure_batch); a cached layer switch sends two "show" messages and nothing else."""
    from tda_widgets.widgets import _common

    w = PersistenceExplorer(study=study, layer="block1", max_points=60, threaded=False)
    w.layer = "fc1"
    events = []
    for fig in (w.diagram_fig, w.barcode_fig):
        fig._tdaw_send = lambda content, fig=fig: events.append(("send", content["tdaw"]))
    real = _common._update_in_place
    monkeypatch.setattr(_common, "_update_in_place", lambda widget, new: (events.append(("python", None)),
                                                                          real(widget, new)))
    w.layer = "block1"
    # (a "bind" tells the browser which frames the controls bring back: sent after the figures)
    assert [e for e in events if e != ("send", "bind")] == [("send", "show"), ("send", "show"), ("python", None),
                                                            ("python", None)], events
    assert events[:2] == [("send", "show"), ("send", "show")], events
    assert w.diagram_fig.layout.title.text.startswith("block1")


def test_the_browser_learns_which_frame_each_layer_brings_back(study):
    """Issue 17, 1: after two layers were shown, each persistence figure's front end is told, for
    the layer slider, the frame of each of those layers (with the other settings as they are), so
    that moving the slider back needs no answer from the kernel first; another setting makes a
    different binding (its views are the new setting's)."""
    w = PersistenceExplorer(study=study, layer="block1", max_points=60, threaded=False)
    sent = {id(fig): [] for fig in (w.diagram_fig, w.barcode_fig)}
    for fig in (w.diagram_fig, w.barcode_fig):
        fig._tdaw_send = lambda content, fig=fig: sent[id(fig)].append(content)
    shown = {}
    for layer in ("fc1", "block1"):
        w.layer = layer
        shown[layer] = [fig._tdaw_fast["shown"] for fig in (w.diagram_fig, w.barcode_fig)]
    names = list(study.layers)
    for k, fig in enumerate((w.diagram_fig, w.barcode_fig)):
        binds = [m for m in sent[id(fig)] if m["tdaw"] == "bind" and m["control"] == w.layer_slider.model_id]
        assert binds and binds[-1]["trait"] == "index"
        assert binds[-1]["views"] == {str(names.index(layer)): ids[k] for layer, ids in shown.items()}
        assert shown["fc1"][k] != shown["block1"][k]
    # the mode dropdown's binding names the frame of the one mode seen so far, for this layer
    binds = [m for m in sent[id(w.diagram_fig)] if m["tdaw"] == "bind" and m["control"] == w.mode_dropdown.model_id]
    modes = [value for _, value in w.mode_dropdown.options]
    assert binds[-1]["trait"] == "index" and binds[-1]["views"] == {str(modes.index(w.mode)): shown["block1"][0]}
    w.max_points = 80
    binds = [m for m in sent[id(w.diagram_fig)] if m["tdaw"] == "bind" and m["control"] == w.layer_slider.model_id]
    assert binds[-1]["views"] == {str(names.index("block1")): w.diagram_fig._tdaw_fast["shown"]}


def test_forgotten_views_are_sent_again_as_the_first_time(study):
    """forget_views (used by the browser benchmark's first-view rows): the browser is told to drop
    its stored views, and the next view of a layer seen before is sent whole again, not named."""
    w = PersistenceExplorer(study=study, layer="block1", max_points=60, threaded=False)
    w.layer = "fc1"
    sent = []
    w.diagram_fig._tdaw_send = lambda content: sent.append(content)
    w.forget_views()
    w.layer = "block1"
    kinds = [m["tdaw"] for m in sent]
    assert kinds[0] == "forget" and "frame" in kinds and "show" not in kinds, kinds


def test_a_change_the_browser_made_is_taken_in_without_an_echo():
    """A restyle made in the browser (our fast-path rings on plotly's own plot, a legend click)
    reaches Python's figure, and is not sent back to the views as plotly's own edit (the page then
    asked for the whole figure again, once per ring: found by bench_browser's click timeline)."""
    import plotly.graph_objects as go

    from tda_widgets.widgets._common import FigureWidget

    widget = FigureWidget(go.Figure(go.Scatter(x=[1, 2], y=[3, 4], marker=dict(size=6))))
    sent = _record(widget)
    change = {"style_data": {"marker.size": [9]}, "style_traces": [0], "source_view_id": "view-1"}
    widget._handle_msg({"content": {"data": {"method": "update", "state": {"_js2py_restyle": change},
                                             "buffer_paths": []}}, "buffers": []})
    assert widget.data[0].marker.size == 9
    assert not [m for m in sent if "plotly" in m], sent


def test_a_long_single_step_shows_progress_that_moves(study):
    """One layer's persistence is one step ('0/1'): the status names what is computed and its
    elapsed time moves while it runs (issue 17)."""
    w = PersistenceExplorer(study=study, autostart=False)
    seen = []
    w.status_label.observe(lambda change: seen.append(change["new"]), names="value")

    def slow_step(progress, cancel):
        progress(0, 1, "H0-H1 persistence of block1 (300 points in 32 dims)")
        time.sleep(1.6)

    w.jobs.submit(slow_step, lambda r: None, label="slow")
    w.jobs.wait(10)
    running = [v for v in seen if "persistence of block1" in v]
    elapsed = {float(v.split("· ")[-1].split(" s")[0]) for v in running}
    assert len(elapsed) >= 2 and max(elapsed) >= 0.9, seen  # it moved while the step ran
    # the study's own message says what it computes
    messages = []
    study.diagrams(["fc1"], CloudSpec(max_points=40), progress=lambda d, t, m="": messages.append(m))
    assert any("persistence of fc1 (40 points in" in m for m in messages), messages


def test_whole_figure_copy_waits_once_a_view_applies_edits(study, monkeypatch):
    """Before any view answered, every redraw copies the whole figure to the model at once (a
    view rendered later must draw it: the Run All race); once a view echoes edits, the copy
    waits until the figure is still, so quick moves send each figure once (issue 17, 1)."""
    from tda_widgets.figures.diagrams import persistence_diagram_figure
    from tda_widgets.widgets import _common

    monkeypatch.setattr(_common, "RESYNC_DELAY_S", 0.3)
    diagrams = {layer: study.diagrams([layer], CloudSpec(max_points=40))[layer].diagrams
                for layer in ("block1", "fc1")}
    widget = _common.FigureWidget(persistence_diagram_figure([np.empty((0, 2))], title="computing…"))
    copies = []
    widget.observe(lambda change: copies.append(change["new"]), names="_widget_data")
    _common.update_in_place(widget, persistence_diagram_figure(list(diagrams["block1"]), title="block1"))
    assert len(copies) == 1  # no view yet: at once
    # a view applies an edit and echoes it (plotly.js sends _js2py_* state)
    widget._handle_msg({"content": {"data": {"method": "update", "state": {"_js2py_layoutDelta": None},
                                             "buffer_paths": []}}, "buffers": []})
    for layer in ("fc1", "block1", "fc1"):
        _common.update_in_place(widget, persistence_diagram_figure(list(diagrams[layer]), title=layer))
    assert len(copies) == 1  # quick moves: nothing copied yet
    time.sleep(0.8)
    assert len(copies) == 2  # one copy once still, holding the last figure
    assert [t["name"] for t in copies[-1]] == [t.name for t in widget.data]
    assert widget._widget_layout["title"]["text"] == "fc1"


def test_mapper_explorer_takes_the_groups_its_data_know(study, demo):
    """Data that carry class_groups (cifar10(...) sets CIFAR-10's) bring them to the explorer;
    a named grouping works too."""
    class Images:  # stands in for a dataset object with the attribute cifar10() sets
        class_groups = {c: ("even" if c % 2 == 0 else "odd") for c in range(10)}

    w = MapperExplorer(study=study, images=Images(), layer="fc1", autostart=False)
    assert w.class_groups == Images.class_groups and "group" in [v for _, v in w.color_dropdown.options]
    with pytest.raises(Exception, match="cifar10"):
        MapperExplorer(study=study, class_groups="cifar-10", autostart=False)


def test_mapper_explorer_shows_the_class_tree_of_each_layer_and_the_models_confusions(study):
    """Issue 18, 2: the class tree of the layer shown (it follows the layer slider), the
    agreement of the given groups with it, and the confusion tree beside it."""
    from scipy.cluster.hierarchy import dendrogram

    groups = {c: ("low" if c < 5 else "high") for c in range(10)}
    w = MapperExplorer(study=study, layer="fc1", n_cubes=5, class_groups=groups, threaded=False)
    names = study.class_names

    def leaves_of(fig):
        return list(fig.layout.xaxis.ticktext)

    for layer in ("fc1", "head"):
        w.layer = layer
        tree, agreement = w.class_tree()
        assert w.tree_fig.layout.title.text.startswith(f"{layer}: class tree<br>")
        assert f">groups agree {agreement:.2f}</span>" in w.tree_fig.layout.title.text  # the second line
        assert leaves_of(w.tree_fig) == [names[c] for c in tree.leaves()]
    order = dendrogram(_confusion_linkage(study), no_plot=True)["leaves"]
    assert leaves_of(w.confusion_fig) == [names[k] for k in order]


def _confusion_linkage(study):
    """The confusion tree, from scratch: torch's softmax of the model's outputs summed per true
    class, C + C.T without its diagonal over the square root of the row totals, scipy's average
    linkage of 1 - that."""
    from scipy.cluster.hierarchy import linkage
    from scipy.spatial.distance import squareform

    with torch.no_grad():
        probabilities = torch.softmax(study.model(torch.as_tensor(np.asarray(study.images))), dim=1).double().numpy()
    c = np.stack([probabilities[study.labels == k].sum(axis=0) for k in range(10)])
    raw = c + c.T
    np.fill_diagonal(raw, 0)
    affinity = raw / np.sqrt(np.outer(raw.sum(axis=1), raw.sum(axis=1))) + np.eye(10)
    distance = 1 - affinity
    np.fill_diagonal(distance, 0)
    return linkage(squareform(np.clip(distance, 0, None), checks=False), method="average")


def test_mapper_explorer_without_groups_scores_the_trees_against_the_models_mistakes(study):
    """Without class_groups the explorer's class tree is scored, as in the report, against the
    groups the model's mistakes suggest: the confusion tree (written out in _confusion_linkage)
    cut into 3 clusters by scipy, compared by scikit-learn's adjusted Rand index."""
    from scipy.cluster.hierarchy import fcluster
    from sklearn.metrics import adjusted_rand_score

    reference_groups = fcluster(_confusion_linkage(study), t=3, criterion="maxclust")
    assert len(set(reference_groups)) == 3  # the demo's mistakes do suggest three groups
    w = MapperExplorer(study=study, layer="block2", n_cubes=5, threaded=False)
    assert w.class_groups is None
    groups, source = w.agreement_groups()
    assert source == "mistakes"
    assert adjusted_rand_score(reference_groups, [groups[c] for c in range(10)]) == 1.0  # the same partition
    for layer in ("block2", "fc1"):
        w.layer = layer
        tree, agreement = w.class_tree()
        cut = fcluster(tree.linkage, t=3, criterion="maxclust")
        assert agreement == pytest.approx(adjusted_rand_score(reference_groups, cut))
        assert w.tree_fig.layout.title.text == (f"{layer}: class tree<br><span style='font-size:11px'>"
                                                f"confusion groups agree {agreement:.2f}</span>")
    # the confusion tree shows where it is cut into those groups: scipy's tree of the written-out
    # confusions cut at the dashed line's height gives the same partition
    cut = [shape for shape in w.confusion_fig.layout.shapes if shape.name == "cut"]
    assert len(cut) == 1 and cut[0].y0 == cut[0].y1
    at_line = fcluster(_confusion_linkage(study), t=cut[0].y0, criterion="distance")
    assert adjusted_rand_score(reference_groups, at_line) == 1.0
    assert "dashed: the cut into 3 groups" in w.confusion_fig.layout.title.text
    # given groups win over the mistakes' ones, and the confusion tree is not cut
    given = MapperExplorer(study=study, layer="block2", n_cubes=5, threaded=False,
                           class_groups={c: c % 2 for c in range(10)})
    assert given.agreement_groups() == ({c: c % 2 for c in range(10)}, "given")
    assert ">groups agree " in given.tree_fig.layout.title.text
    assert not [shape for shape in given.confusion_fig.layout.shapes if shape.name == "cut"]


def test_thumbnails_mark_where_a_top_l2_vector_sits(demo, study):
    """Issue 19, 1: hovering a point of a one-position cloud shows its image with the position of
    its vector outlined; the position from a direct forward hook and torch's argmax of norms."""
    w = PersistenceExplorer(study=study, layer="block2", mode="image-top-l2", max_points=80, threaded=False)
    h1 = trace(w.diagram_fig, "H1")
    k = int(np.argmax(np.asarray(h1.y) - np.asarray(h1.x)))
    fire(h1, k, "click")
    shown = list(w.thumbnails.selected)
    assert shown and len(w.thumbnails.marks) == len(shown)
    # reference: block2's output by a hook of our own, the channel vector of largest l2 norm
    module = dict(demo.model.named_modules())["block2"]
    grabbed = []
    handle = module.register_forward_hook(lambda m, i, o: grabbed.append(o.detach()))
    try:
        with torch.no_grad():
            demo.model(torch.as_tensor(study.images[shown]))
    finally:
        handle.remove()
    out = grabbed[0]
    h, w_ = out.shape[2:]
    best = torch.linalg.vector_norm(out, dim=1).reshape(len(shown), -1).argmax(dim=1)
    for marks, flat in zip(w.thumbnails.marks, best.tolist()):
        row, col = divmod(flat, w_)
        assert marks == pytest.approx([row / h, col / w_, 1 / h, 1 / w_])  # one rectangle: its position
    w.mode = "image-avgpool"  # a pooled cloud has no position: no marks
    fire(trace(w.diagram_fig, "H1"), 0, "click")
    assert w.thumbnails.marks == []


def test_layer_distance_explorer_compares_every_measure_on_demand(study):
    """Issue 18, 4: the button shows the measures table of the current settings; its numbers
    are the study's, and scipy's Spearman of two measures' upper triangles."""
    from scipy.stats import spearmanr

    w = LayerDistanceExplorer(study=study, max_points=60, threaded=False)
    assert w.measures_fig is None  # nothing heavy until asked
    w.table_button.click()
    assert w.state == "done", w.status
    table = w.measures_table_
    assert w.measures_fig is not None and w.measures_fig in w.children
    names = list(table.names)
    ph, cka = study.distance_matrix(spec=w.spec, metric=w.metric), study.cka()
    upper = np.triu_indices(len(study.layers), 1)
    rho = spearmanr(ph[upper], 1 - cka[upper]).statistic
    assert table.agreement[names.index("ph"), names.index("cka")] == pytest.approx(rho, abs=1e-12)
    heat = trace(w.measures_fig, next(t.name for t in w.measures_fig.data if t.type == "heatmap"))
    np.testing.assert_allclose(np.asarray(heat.z, dtype=float), table.agreement, equal_nan=True)
