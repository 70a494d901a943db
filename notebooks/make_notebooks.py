"""Build the four example notebooks from this file, so that they are reviewed as Python.

Run ``python notebooks/make_notebooks.py`` from the repository root after editing a cell; it
rewrites ``notebooks/0*.ipynb`` without outputs (``tests/notebooks`` executes them).
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def md(text: str):
    return new_markdown_cell(textwrap.dedent(text).strip())


def code(text: str):
    return new_code_cell(textwrap.dedent(text).strip())


def notebook(cells) -> nbformat.NotebookNode:
    nb = new_notebook(cells=cells)
    for index, cell in enumerate(nb.cells):
        cell.id = f"cell-{index:02d}"      # stable ids: regenerating gives a clean diff
    nb.metadata["kernelspec"] = KERNELSPEC
    nb.metadata["language_info"] = {"name": "python"}
    return nb


# --------------------------------------------------------------------------------------------
# 01: the tour
# --------------------------------------------------------------------------------------------

TOUR = [
    md("""
    # tda-widgets in five minutes

    Three explorers and a dashboard that put the topology of a network's activations under your
    mouse. Everything here runs on the **embedded default**: a small CNN trained on
    scikit-learn's 8x8 digits (weights ship with the package) and 450 held-out digits it never
    saw. Nothing is downloaded.

    Every explorer computes in the background: the progress bar and the **Cancel** button stay
    responsive, and moving a control while a computation runs replaces it with the new one.
    Each widget below is shown by its cell; the cell after it waits for the result, checks it
    and draws a static copy of the explorer's figures (what an exported notebook, nbviewer or
    GitHub shows, where widgets stay empty), which is also how you use the widgets from a script.
    """),
    code("""
    import numpy as np
    import plotly.graph_objects as go
    from tda_widgets import load_demo, PersistenceExplorer, LayerDistanceExplorer, MapperExplorer, Dashboard
    from tda_widgets.figures.notebook import show_figures_everywhere

    show_figures_everywhere()   # figures also show in exported HTML and nbviewer (plotly.js embedded once)
    demo = load_demo()          # the digits CNN (eval mode) and 450 held-out digits, with labels
    demo
    """),
    md("""
    ## 1. PersistenceExplorer: one layer's persistence diagram

    A layer's activations become a point cloud (by default one point per image; for a
    convolutional layer the feature maps are average-pooled), rescaled to unit median pairwise
    distance, and ripser computes its Vietoris–Rips persistence: **H0** bars are clusters
    merging, **H1** bars are loops.

    - **Move** the *layer* slider to step from the first block to the logits; try another
      *cloud* mode (`spatial` gives one point per image *and* position) or more *points*.
    - **Hover** a point of the diagram or a bar of the barcode: the panel below shows the images
      behind it (for H0 the two images whose merge ends the bar, for H1 the images on a
      representative loop), with their labels and the model's predictions.
    """),
    code("""
    persistence = PersistenceExplorer(demo.model, demo.images, labels=demo.labels,
                                      class_names=demo.class_names, layer="block3", max_points=200)
    persistence
    """),
    code("""
    persistence.wait()
    result = persistence.result_
    h0, h1 = result.diagrams[0], result.diagrams[1]
    print(f"{persistence.layer}: {result.n_points} points, {len(h0)} H0 bars, {len(h1)} H1 bars "
          f"(computed by {result.backend})")

    # A Rips filtration starts with one component per point and ends with a single one:
    # as many H0 bars as points, exactly one of them infinite.
    assert len(h0) == result.n_points == 200
    assert np.isinf(h0[:, 1]).sum() == 1
    assert len(h1) > 0 and np.all(h1[:, 1] > h1[:, 0])
    go.Figure(persistence.diagram_fig)     # a static copy of the explorer's diagram
    """),
    md("""
    What a hover does, from code: show the images on the loop of the most persistent H1 bar.
    Setting a trait (`layer`, `mode`, `max_points`, ...) is the same as moving its control.
    """),
    code("""
    longest = int(np.argmax(h1[:, 1] - h1[:, 0]))
    persistence.show_bar(1, longest)
    loop_images = persistence.bar_images(1, longest)
    print(f"H1 bar {longest}: {len(loop_images)} images on its loop, digits {sorted(set(demo.labels[loop_images].tolist()))}")
    assert len(loop_images) >= 3          # a loop passes through at least three points

    persistence.layer = "fc1"             # the same as moving the layer slider
    persistence.wait()
    assert persistence.cloud_.layer == "fc1" and persistence.cloud_.mode == "linear"
    """),
    md("""
    ## 2. LayerDistanceExplorer: how far apart are two layers?

    On the left, the bottleneck distance between the persistence diagrams of every pair of
    layers (same images, each cloud rescaled so that shape, not activation scale, is
    compared); on the right, 1 - CKA on the same images. The title gives their Spearman rank
    correlation over layer pairs.

    - **Move** the *metric* (bottleneck, Wasserstein-1/2, sliced Wasserstein), the *homology*
      dimensions, the *cloud* mode, *points*, *rescale* and the CKA kernel.
    - **Hover** a cell for its value; **click** a cell of the PH heat map to see the two layers'
      diagrams below, overlaid with the optimal matching between their points.
    """),
    code("""
    distances = LayerDistanceExplorer(demo.model, demo.images, metric="bottleneck", max_points=200)
    distances
    """),
    code("""
    distances.wait()
    comparison = distances.result_
    ph, cka = comparison["ph"], comparison["cka"]
    print("layers:", comparison["layers"])
    print("bottleneck distances:\\n", np.round(ph, 3))
    print("Spearman rho(PH, 1 - CKA) =", round(comparison["spearman"], 3))

    assert np.allclose(ph, ph.T) and np.allclose(np.diag(ph), 0.0)     # a distance matrix
    assert np.allclose(np.diag(cka), 1.0)                               # every layer is itself
    assert comparison["spearman"] > 0     # both measures put distant layers further apart

    distances.show_pair(0, len(comparison["layers"]) - 1)   # what clicking (first, last) does
    assert distances.selected_pair == (comparison["layers"][0], comparison["layers"][-1])
    go.Figure(distances.heatmap_fig).show()      # static copies of the heat maps and the matching
    go.Figure(distances.matching_fig).show()
    """),
    md("""
    ## 3. MapperExplorer: how the classes separate, layer by layer

    A mapper graph summarises a cloud: cover a lens (here the first principal component) with
    overlapping intervals, cluster the points of each interval, and join clusters that share
    points. Nodes are sized by member count and coloured by majority class.

    - **Move** the *layer* slider, the *lens*, the number of *intervals*, their *overlap* and
      DBSCAN's *min samples*; colour nodes by majority class, purity or lens.
    - **Hover or click a node**: its images and class make-up appear on the right, and the
      nodes holding the same images are **ringed in every other layer's graph** (the small
      graphs at the bottom, `show_all_layers=True`): follow a group of digits from the first
      block, where classes mix, to the logits, where each node is one digit.
    """),
    code("""
    mapper = MapperExplorer(demo.model, demo.images, labels=demo.labels, class_names=demo.class_names,
                            max_points=300, show_all_layers=True)
    mapper
    """),
    code("""
    mapper.wait()

    def weighted_purity(graph):
        sizes = np.array([node.size for node in graph.nodes])
        purity = np.array([node.purity for node in graph.nodes])
        return float((sizes * purity).sum() / sizes.sum())

    for layer, graph in mapper.graphs_.items():
        print(f"{layer:>7}: {len(graph.nodes):3d} nodes, size-weighted purity {weighted_purity(graph):.2f}")

    assert list(mapper.graphs_) == list(demo.layers)
    assert weighted_purity(mapper.graphs_["head"]) > weighted_purity(mapper.graphs_["block1"])
    go.Figure(mapper.main_fig)             # a static copy of the graph on screen
    """),
    md("What a click does, from code: select the largest node of the logits layer."),
    code("""
    biggest = max(mapper.graphs_["head"].nodes, key=lambda node: node.size)
    mapper.select_node(biggest.id, layer="head")
    print(mapper.selected_node, "->", {layer: len(ids) for layer, ids in mapper.highlighted_.items()},
          "nodes ringed per layer")
    assert mapper.highlighted_["head"] and biggest.id in mapper.highlighted_["head"]
    assert sum(bool(ids) for ids in mapper.highlighted_.values()) >= 2   # linked across layers
    """),
    md("""
    ## 4. Dashboard: the three as tabs over one cache

    The dashboard opens the three explorers as tabs sharing one `Study`; an explorer is built the
    first time its tab is opened. Every explorer on the same model shares one result cache too, so
    with the settings used above (200 points, bottleneck) the dashboard's tabs reuse what
    `persistence` and `distances` computed: its distance tab computes no diagram and no distance
    matrix, it reads them.
    """),
    code("""
    dashboard = Dashboard(demo.model, demo.images, labels=demo.labels, class_names=demo.class_names,
                          max_points=200, metric="bottleneck")
    dashboard
    """),
    code("""
    dashboard.persistence.wait()
    assert dashboard.persistence.result_ is not None
    assert dashboard.distances.study is dashboard.persistence.study    # one Study for the tabs
    dashboard.distances.wait()
    assert dashboard.distances.result_["ph"].shape == (len(demo.layers), len(demo.layers))
    assert np.array_equal(dashboard.distances.result_["ph"], distances.result_["ph"])
    # read from the cache the explorers above filled: no new distance matrix, no new diagram
    assert dashboard.study.stats["distance_matrices"] == 0
    print("computed by the dashboard:", {k: v for k, v in dashboard.study.stats.items() if v})
    """),
    md("""
    ## Next

    - `02_paper_study.ipynb`: the paper's two findings, with figures, at small scale.
    - `03_teaching_persistence.ipynb`: what persistence means, on circles and figure eights.
    - `04_your_model.ipynb`: a torchvision model with your checkpoint and your images.
    """),
]

# --------------------------------------------------------------------------------------------
# 02: the paper's study at small scale
# --------------------------------------------------------------------------------------------

PAPER = [
    md("""
    # The paper's study, at small scale

    Purvine et al. (AAAI 2023) make two points about a trained network's hidden layers:

    1. a distance between layers built from **persistent homology** (Vietoris–Rips diagrams of
       the activations, compared with the bottleneck distance) orders layer pairs much as
       **representational similarity** (CKA) does;
    2. **mapper graphs** of each layer show classes separating from early to late layers.

    Here both are reproduced on the embedded digits CNN (five layers: three convolutional
    blocks, a hidden dense layer and the logits) with the study engine, no widgets, so each
    number can be checked. Each step is cached in the `Study`. Everything runs in well under a
    minute on two cores.
    """),
    code("""
    import numpy as np
    import plotly.graph_objects as go
    from scipy.stats import spearmanr

    from tda_widgets import load_demo, Study, CloudSpec
    from tda_widgets.data import load_digits_checkpoints
    from tda_widgets.figures import layer_distance_figure, mapper_graph_figure
    from tda_widgets.topology import diagrams_distance, layer_distance_matrix, rank_correlation
    from tda_widgets.figures.notebook import show_figures_everywhere

    show_figures_everywhere()   # figures also show in exported HTML and nbviewer
    demo = load_demo()
    study = Study(demo.model, demo.images, demo.labels, layers=demo.layers, class_names=demo.class_names)
    layers = list(study.layers)
    SPEC = CloudSpec(mode="auto", max_points=200)   # one point per image, 200 of the 450 images
    layers
    """),
    md("""
    ## 1. Persistent-homology distances beside CKA

    For every layer: a cloud of 200 images (convolutional maps average-pooled), rescaled to
    unit median pairwise distance (otherwise the distance mostly measures activation
    magnitude), then H0 and H1 diagrams. The left panel is the bottleneck distance between
    every two layers' diagrams; the right one is 1 - linear CKA on the same images.
    """),
    code("""
    result = study.compare(spec=SPEC, metric="bottleneck", dims=(0, 1), scale="median")
    layer_distance_figure(result["ph"], result["cka"], layers, metric="bottleneck",
                          rank_correlation=result["spearman"], scale="median", dims=(0, 1))
    """),
    md("""
    The same numbers pair by pair, ranked (1 = closest pair). Where the two ranks agree, both
    measures see the same ordering; the last column shows where they part.
    """),
    code("""
    pairs = [(i, j) for i in range(len(layers)) for j in range(i + 1, len(layers))]
    ph_values = np.array([result["ph"][i, j] for i, j in pairs])
    cka_values = np.array([1.0 - result["cka"][i, j] for i, j in pairs])
    ph_rank = ph_values.argsort().argsort() + 1
    cka_rank = cka_values.argsort().argsort() + 1

    print(f"{'layer pair':>16} {'layers apart':>12} {'PH':>7} {'rank':>4} {'1-CKA':>7} {'rank':>4} {'rank gap':>8}")
    for (i, j), d, r, c, s in zip(pairs, ph_values, ph_rank, cka_values, cka_rank):
        print(f"{layers[i] + '-' + layers[j]:>16} {j - i:>12} {d:7.3f} {r:4d} {c:7.3f} {s:4d} {int(r) - int(s):+8d}")

    rho = spearmanr(ph_values, cka_values).statistic          # an independent computation
    print(f"\\nSpearman rho(PH, 1 - CKA) over {len(pairs)} pairs: {rho:.2f}")
    assert np.isclose(rho, result["spearman"])
    assert rho > 0.3, rho

    apart = np.array([j - i for i, j in pairs])
    print(f"rho(PH, layers apart) = {spearmanr(ph_values, apart).statistic:.2f}, "
          f"rho(1 - CKA, layers apart) = {spearmanr(cka_values, apart).statistic:.2f}")
    """),
    md("""
    **What agrees.** Both measures grow with the number of layers between two layers:
    neighbouring layers are close, the first block and the logits are far apart, and the rank
    correlation over the ten pairs is clearly positive.

    **What differs.** CKA compares the whole representation linearly (every image against
    every other), while the diagrams see only the shape of a 200-image sample after rescaling:
    its clusters (H0) and loops (H1). In the run we checked, CKA finds `block3`, `fc1` and
    `head` nearly identical (1 - CKA below 0.07), while PH still sees a clear change of shape
    from the last convolutional block to the dense layers (the classes tighten into separate
    clusters there, see the mapper section), so those pairs rank higher under PH; the early
    pairs (`block1`-`block2`, `block2`-`block3`) rank lower. Pairs with a large rank gap are
    where geometry and linear similarity part. The subsample moves the PH ranking a little too:
    try another `max_points` or `seed` in `CloudSpec`.

    ## 1b. Every similarity measure side by side

    PH and CKA are two of many ways to say how differently two layers represent the same images.
    The field also uses **RTD** (Representation Topology Divergence: how the two clouds' loops
    differ), **SVCCA** and **PWCCA** (canonical correlations between the two layers' features),
    **orthogonal Procrustes** (the distance left after the best rotation of one cloud onto the
    other) and **RSA** (do the two layers find the same images alike?). All of them here run on
    the same 200-image clouds as PH above.

    The measures table answers two questions about them:

    - **Do they agree?** For every pair of measures, the Spearman rank correlation of their
      values over the ten layer pairs (each turned into a dissimilarity: 1 - s for a
      similarity). Near 1: the two rank the layer pairs alike; near 0: they see different
      things.
    - **Do they track depth?** *Monotonicity* (the ReSi benchmark's check): over every triple of
      layers i < j < k, the share where the outer pair (i, k) is at least as different as either
      inner pair. *Depth ρ*: the rank correlation between the number of layers between two
      layers and their dissimilarity. A measure that sees layers change step by step scores
      near 1 on both.
    """),
    code("""
    from tda_widgets.figures import measures_table_figure

    table = study.measures_table(layers, SPEC, skip_errors=True)   # PH (bottleneck) and CKA as above
    print(f"{'measure':>22} {'kind':>10} {'monotonicity':>12} {'depth rho':>9}")
    for label, kind, mono, depth in zip(table.labels, table.kinds, table.monotonicity, table.depth_correlation):
        print(f"{label:>22} {kind:>10} {mono:12.2f} {depth:9.2f}")
    for name, why in table.skipped.items():
        print(f"not computed: {name}: {why}")
    measures_table_figure(table.labels, table.agreement, table.monotonicity, table.depth_correlation)
    """),
    code("""
    # Check one cell of the table and one monotonicity independently: scipy's Spearman of PH and
    # 1 - RSA over the layer pairs, and the triples counted by hand.
    rsa = study.similarity("rsa", layers, SPEC)
    upper = np.triu_indices(len(layers), 1)
    rho_ph_rsa = spearmanr(result["ph"][upper], 1.0 - rsa[upper]).statistic
    a, b = table.names.index("ph"), table.names.index("rsa")
    assert np.isclose(table.agreement[a, b], rho_ph_rsa), (table.agreement[a, b], rho_ph_rsa)

    from itertools import combinations
    triples = list(combinations(range(len(layers)), 3))
    ph = result["ph"]
    monotone = sum(ph[i, k] >= max(ph[i, j], ph[j, k]) for i, j, k in triples) / len(triples)
    assert np.isclose(table.monotonicity[a], monotone)
    assert {"ph", "cka", "rtd", "svcca", "procrustes", "rsa"} <= set(table.names), table.names
    print(f"rho(PH, 1 - RSA) = {rho_ph_rsa:.2f}; PH monotonicity = {monotone:.2f}")
    """),
    md("""
    **Reading it.** A measure whose row is red where the others' are red belongs with them; a
    pale row is a measure that ranks layer pairs its own way. Read the bars beside it for each
    measure's sanity: the ones near 1 grow with the distance between layers, as one expects of
    a network that changes its representation a little at each layer. A measure that the data
    cannot give is named above instead (PWCCA, for one, needs more images than features).

    ## 2. Mapper: classes separate from early to late layers

    One mapper graph per layer on all 450 images (lens: first principal component; 8
    overlapping intervals; DBSCAN). A node's **purity** is the share of its images in its
    majority class; weighting each node by its size gives one number per layer.
    """),
    code("""
    MAPPER_SPEC = CloudSpec(mode="auto", max_points=450)
    graphs = {layer: study.mapper(layer, MAPPER_SPEC, n_cubes=8, overlap=0.35) for layer in layers}

    def weighted_purity(graph):
        sizes = np.array([node.size for node in graph.nodes])
        purity = np.array([node.purity for node in graph.nodes])
        return float((sizes * purity).sum() / sizes.sum())

    purity = {layer: weighted_purity(graph) for layer, graph in graphs.items()}
    fig = go.Figure(go.Scatter(x=layers, y=list(purity.values()), mode="lines+markers", name="purity",
                               text=[f"{len(graphs[l].nodes)} nodes" for l in layers]))
    fig.add_hline(y=0.1, line_dash="dot", annotation_text="one class in ten (chance)")
    fig.update_layout(title="Size-weighted mean node purity of each layer's mapper graph",
                      xaxis_title="layer", yaxis_title="mean node purity", yaxis_range=[0, 1.05],
                      width=640, height=380)
    fig
    """),
    code("""
    # Check one node's purity independently: its members' labels through the cloud's provenance.
    cloud = study.cloud("head", MAPPER_SPEC)
    node = max(graphs["head"].nodes, key=lambda n: n.size)
    counts = np.bincount(demo.labels[cloud.image_index[node.members]], minlength=10)
    assert np.isclose(node.purity, counts.max() / counts.sum())

    print({layer: round(p, 2) for layer, p in purity.items()})
    assert purity["head"] > purity["block1"] + 0.3       # classes separate with depth
    assert purity["head"] > 0.9
    """),
    md("""
    The first block's graph mixes digits in its nodes; the logits' graph splits into nodes of
    a single digit each (colour = majority class, size = number of images).
    """),
    code("""
    mapper_graph_figure(graphs["block1"], class_names=demo.class_names, width=520, height=440,
                        title=f"block1: {len(graphs['block1'].nodes)} nodes, purity {purity['block1']:.2f}")
    """),
    code("""
    mapper_graph_figure(graphs["head"], class_names=demo.class_names, width=520, height=440,
                        title=f"head: {len(graphs['head'].nodes)} nodes, purity {purity['head']:.2f}")
    """),
    md("""
    ## 3. Does the point-cloud mode matter?

    The same comparison with each way of turning activations into points. Image-level modes
    (`image-avgpool`, `image-maxpool`, `image-flatten`) give one point per image in every
    layer (dense layers always do), so all five layers are compared. `spatial` (one point per
    image and position) and `channel` (one point per channel) exist only for convolutional
    layers, so they compare the three blocks: three pairs, so rho can only be -1, -0.5, 0.5
    or 1 — read those two rows as a hint, not a measurement.
    """),
    code("""
    conv_layers = ["block1", "block2", "block3"]
    cka_all = study.cka(layers)

    def ph_matrix(mode, use_layers):
        diagrams = []
        for layer in use_layers:
            layer_mode = mode if layer in conv_layers else "linear"
            spec = CloudSpec(mode=layer_mode, max_points=200)
            diagrams.append(study.diagrams([layer], spec, scale="median")[layer].diagrams)
        return layer_distance_matrix(diagrams, "bottleneck", dims=(0, 1))

    rows = []
    for mode in ["image-avgpool", "image-maxpool", "image-flatten", "spatial", "channel"]:
        use_layers = layers if mode.startswith("image") else conv_layers
        index = [layers.index(layer) for layer in use_layers]
        ph = ph_matrix(mode, use_layers)
        rho = rank_correlation(ph, 1.0 - cka_all[np.ix_(index, index)])
        rows.append((mode, len(use_layers), len(use_layers) * (len(use_layers) - 1) // 2, rho))

    print(f"{'mode':>14} {'layers':>6} {'pairs':>5} {'Spearman rho(PH, 1-CKA)':>24}")
    for mode, n_layers, n_pairs, rho in rows:
        print(f"{mode:>14} {n_layers:>6} {n_pairs:>5} {rho:>24.2f}")

    go.Figure(go.Table(header=dict(values=["mode", "layers", "pairs", "Spearman ρ(PH, 1 − CKA)"]),
                       cells=dict(values=[[r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows],
                                          [f"{r[3]:.2f}" for r in rows]])),
              layout=dict(width=640, height=260, margin=dict(t=10, b=10)))
    """),
    md("""
    Image-level clouds agree with CKA best (CKA itself compares images), the average-pooled
    cloud most of all. `spatial` and `channel` clouds ask other questions (the geometry of
    local patches, or of the features themselves), so agreement with CKA is not expected.
    """),
    code("""
    rho_by_mode = {mode: rho for mode, _, _, rho in rows}
    assert all(-1.0 <= rho <= 1.0 for rho in rho_by_mode.values())
    assert rho_by_mode["image-avgpool"] > 0          # the default mode agrees with CKA
    """),
    md("""
    ## 4. Training dynamics

    The package ships checkpoints of the same training run at epochs 0 (initialisation), 1, 3
    and 10 (the final model). For every layer, the bottleneck distance between its diagrams at
    consecutive checkpoints (same 200 images, same rescaling) says how much that layer's shape
    still moves.
    """),
    code("""
    checkpoints = load_digits_checkpoints()
    epochs = list(checkpoints)
    diagrams_at = {
        epoch: Study(model, demo.images, demo.labels, layers=layers).diagrams(spec=SPEC, scale="median")
        for epoch, model in checkpoints.items()
    }
    steps = [f"{a}→{b}" for a, b in zip(epochs, epochs[1:])]
    change = {layer: [diagrams_distance(diagrams_at[a][layer].diagrams, diagrams_at[b][layer].diagrams,
                                        "bottleneck", dims=(0, 1))
                      for a, b in zip(epochs, epochs[1:])]
              for layer in layers}

    fig = go.Figure([go.Scatter(x=steps, y=change[layer], mode="lines+markers", name=layer) for layer in layers])
    fig.update_layout(title="How much each layer's diagrams change between checkpoints",
                      xaxis_title="epochs", yaxis_title="bottleneck distance (H0 + H1)", width=640, height=380)
    fig
    """),
    code("""
    first, last = np.array([change[l][0] for l in layers]), np.array([change[l][-1] for l in layers])
    print("epochs", epochs)
    for layer in layers:
        print(f"{layer:>7}:", "  ".join(f"{s} {d:.3f}" for s, d in zip(steps, change[layer])))
    assert np.all(np.isfinite(first)) and np.all(first > 0)
    # The first epoch reshapes every layer more than the last seven epochs do together.
    assert first.mean() > last.mean(), (first, last)
    """),
    md("""
    ### The same grid in one call, on a dask cluster

    `checkpoint_grid` builds this layer x checkpoint grid of diagrams for any list of
    checkpoints (state dicts, models or files) and runs every persistence and distance job on
    any `concurrent.futures.Executor`. With dask.distributed, a `LocalCluster` here; on a real
    cluster, `Client("tcp://scheduler:8786")` instead. Your model is only copied, never changed.
    """),
    code("""
    from dask.distributed import Client, LocalCluster
    from tda_widgets import checkpoint_grid

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \\
            Client(cluster) as client:
        grid = checkpoint_grid(demo.model, checkpoints, demo.images, layers, spec=SPEC, scale="median",
                               executor=client.get_executor())
    print(grid.consecutive.round(3))
    # the same numbers as the loop above, computed on the cluster
    np.testing.assert_allclose(grid.consecutive, np.array([change[layer] for layer in layers]), atol=1e-9)
    """),
    md("""
    The first epoch moves every layer most, and the late layers (`fc1`, `head`) most of all;
    from epoch 3 to 10 (seven epochs) they move far less. The `LayerDistanceExplorer` shows the same
    matrices interactively, and `Study(..., executor="processes")` spreads layers over cores
    (or a dask cluster) for bigger models.
    """),    md("""
    ## 5. The study's own pipeline, with its presets

    The study's research scripts make different choices from the defaults above. The `"ph"`
    preset is theirs for persistent homology: the output of every `Conv2d` (before BatchNorm and
    ReLU), one point per image at the position whose channel vector has the largest l2 norm
    (`image-top-l2`), H1 only, sliced Wasserstein, no rescaling. Every value and its source:
    """),
    code("""
    from tda_widgets import presets

    for name, value, source in presets.get("ph").settings():
        print(f"{name:>12}: {value:<40} {source}")
    ph_study = Study(demo.model, demo.images, demo.labels, preset="ph")
    ph_result = ph_study.compare()
    conv = list(ph_study.layers)
    print("layers:", conv)
    layer_distance_figure(ph_result["ph"], ph_result["cka"], conv, metric="sliced-wasserstein",
                          rank_correlation=ph_result["spearman"], scale="none", dims=(1,))
    """),
    md("""
    **Where our defaults differ, and why.** We rescale each cloud to unit median distance by
    default (without it, a layer whose activations are simply larger looks "far" from every
    other), keep H0 beside H1 (clusters matter in late layers), and pool convolutional maps
    (one stable point per image instead of one position picked by a maximum). The preset gives
    the study's numbers; the defaults are what we recommend for a first look.

    ## 6. Across seeds: does each layer find its partner?

    Kornblith et al. (2019) ask of a similarity measure: between two networks trained from
    different random seeds, is the layer of B most similar to layer *i* of A the layer *i* of
    B? Two more seeds of the digits CNN are trained here (deterministic, a few seconds each).
    """),
    code("""
    from tda_widgets.crossmodel import cross_model_comparison
    from tda_widgets.data.train_digits import train_seeds

    seeds = train_seeds((1, 2))
    across = cross_model_comparison([demo.model, *seeds.values()], demo.images, preset="ph")
    for row in across.table():                          # one row per other seed
        print(row)
    for measure, fraction in across.fraction_identified.items():
        print(f"{measure}: {fraction:.0%} of the layers find their partner")
    assert 0.0 <= across.fraction_identified["cka"] <= 1.0
    """),
    md("""
    A measure that identifies every layer sees what the seeds share; one that does not is
    dominated by what a seed changes. On three convolutional layers the test is coarse: read
    it as a first check, and rerun it on your own model with more layers.

    The same comparison, to explore: the heat map is every layer of seed 0 (rows) against
    every layer of the seed chosen in "model B" (columns); a star marks a row's best match
    where it is the corresponding layer, a cross where it is another. "measure" switches
    between PH, CKA and the other similarity measures; "identify with every measure" fills
    the table below with each measure's fraction of layers identified; "sensitivity of this
    layer" draws section 7's curve for the layer on the slider (click a row to choose it).
    """),
    code("""
    from tda_widgets import CrossModelExplorer

    cross = CrossModelExplorer({"seed 0": demo.model, **{f"seed {s}": m for s, m in seeds.items()}},
                               demo.images, demo.labels, preset="ph")
    cross.wait(600)
    assert cross.state == "done", cross.status
    cross
    """),
    md("""
    ## 7. How sensitive is the distance? Remove principal components

    Ding, Denain & Steinhardt (2021) test a measure by damaging a representation on purpose:
    delete principal components one step at a time (the lowest-variance ones first, as they and
    the study do) and plot the distance to the original. A useful measure rises as more is
    removed, and does not jump at the first, harmless deletions.
    """),
    code("""
    from tda_widgets.figures import sensitivity_figure
    from tda_widgets.topology import pc_removal_sensitivity

    curves = {layer: pc_removal_sensitivity(ph_study.cloud(layer).points, step=4) for layer in conv[1:]}
    for layer, curve in curves.items():     # nothing removed: the same cloud, distance 0 by every measure
        assert all(abs(values[0]) < 1e-9 for values in curve.distances.values()), curve.distances
    sensitivity_figure(curves)
    """),
    md("""
    ## 8. The hierarchy of classes, discovered layer by layer

    Mapper graphs also say *which* classes a layer still mixes. For every pair of digits,
    count how much they share the graph's nodes (a node with half 3s and half 5s ties 3 to 5,
    more strongly the bigger it is). Classes that share many nodes are joined early in a tree
    (a dendrogram); classes that never share a node join only at the top.

    **How to read it.** Low joins = the layer treats those digits as similar; a tree whose top
    branches are the groups you expect means the layer knows the grouping. A layer whose nodes
    each hold one digit has no hierarchy left: every digit joins at the top.

    Digits have no named groups (CIFAR-10 has: vehicles and animals), so we ask the model which
    digits it finds alike: the same kind of tree built from its **mistakes** on the same images,
    counting for every pair of digits the probability it gives to the wrong one (not only its
    final answers: it gets 445 of these 450 digits right, so five outright mistakes would say
    little). Cut into three branches, that tree gives three groups of digits. Two numbers per
    layer then follow:

    - **group purity**: like class purity, the share of a node's images in its most common
      *group*; high group purity with low class purity means the layer has separated the
      groups but not yet the digits inside them;
    - **agreement**: the layer's tree cut into three branches against the three groups (the
      adjusted Rand index: 1 = the same split, 0 = no better than chance).

    The MapperExplorer and the report do the same when you give no `class_groups`: the class
    tree's title then reads "confusion groups agree …" (with groups given: "groups agree …"),
    and a dashed line on the model's confusion tree shows where it is cut into those groups.
    """),
    code("""
    from plotly.subplots import make_subplots

    from tda_widgets.figures import class_tree_figure, purity_by_layer_figure
    from tda_widgets.topology.hierarchy import (class_affinity, class_tree, confusion_affinity, confusion_groups,
                                                grouping_agreement)

    digits = list(range(10))
    probabilities = study.class_probabilities()         # the softmax of the model's outputs, per image
    wrong = int((study.predictions() != demo.labels).sum())
    print(f"outright mistakes: {wrong} of {len(demo.labels)} digits")
    assert wrong == 5, wrong                            # as the text above says
    confusion_tree = class_tree(*confusion_affinity(demo.labels, probabilities, digits))
    groups = confusion_groups(demo.labels, probabilities, digits, n_groups=3)
    assert study.suggested_groups() == groups           # what the MapperExplorer and the report use without groups
    print("groups the model's mistakes suggest:",
          {g: [d for d in digits if groups[d] == g] for g in sorted(set(groups.values()))})
    grouped = {layer: study.mapper(layer, MAPPER_SPEC, n_cubes=8, overlap=0.35, class_groups=groups)
               for layer in layers}                     # the same graphs, nodes counted by group too
    trees = {layer: class_tree(*class_affinity(grouped[layer], digits)) for layer in layers}
    agreement = {layer: grouping_agreement(tree, groups) for layer, tree in trees.items()}
    for layer in layers:
        print(f"{layer:>7}: class purity {grouped[layer].mean_purity('class'):.2f}, "
              f"group purity {grouped[layer].mean_purity('group'):.2f}, agreement {agreement[layer]:+.2f}")
    purity_by_layer_figure(grouped, title="class and group purity per layer", width=640, height=380)
    """),
    code("""
    # Every layer's tree beside the model's mistakes' tree (grey), one panel each.
    panels = {f"{layer}: agreement {agreement[layer]:+.2f}": class_tree_figure(trees[layer], class_names=demo.class_names)
              for layer in layers}
    panels["the model's mistakes"] = class_tree_figure(confusion_tree, class_names=demo.class_names, color="#7f7f7f")
    grid = make_subplots(rows=2, cols=3, subplot_titles=list(panels), vertical_spacing=0.2)
    for k, tree_fig in enumerate(panels.values()):
        row, col = k // 3 + 1, k % 3 + 1
        grid.add_trace(tree_fig.data[0], row=row, col=col)
        grid.update_xaxes(tickvals=tree_fig.layout.xaxis.tickvals, ticktext=tree_fig.layout.xaxis.ticktext,
                          range=tree_fig.layout.xaxis.range, row=row, col=col)
        grid.update_yaxes(range=[0, 1.02], row=row, col=col)
    grid.update_layout(title="which digits share mapper nodes, layer by layer (height: 1 - affinity at the join)",
                       width=900, height=560, showlegend=False)
    grid
    """),
    code("""
    # Independent checks: one layer's group purity from its nodes' members, and its agreement
    # from scipy's cut of the tree and scikit-learn's adjusted Rand index.
    from scipy.cluster.hierarchy import fcluster
    from sklearn.metrics import adjusted_rand_score

    layer = "block2"
    node_labels = [demo.labels[study.cloud(layer, MAPPER_SPEC).image_index[n.members]] for n in grouped[layer].nodes]
    group_of = np.array([groups[d] for d in digits])
    in_top_group = sum(np.unique(group_of[lab], return_counts=True)[1].max() for lab in node_labels)
    assert np.isclose(grouped[layer].mean_purity("group"), in_top_group / sum(len(lab) for lab in node_labels))
    cut = fcluster(trees[layer].linkage, t=3, criterion="maxclust")
    assert np.isclose(agreement[layer], adjusted_rand_score(group_of, cut))
    assert len(set(groups.values())) == 3
    assert all(grouped[l].mean_purity("group") >= grouped[l].mean_purity("class") - 1e-12 for l in layers)
    """),
    md("""
    In the interactive `MapperExplorer`, the same tree follows the layer slider, beside the
    mistakes' tree, and `class_groups={digit: group}` (or `"cifar10"` for CIFAR-10's vehicles and
    animals) colours nodes by group and draws group purity beside class purity for every layer.
    """),
]

# --------------------------------------------------------------------------------------------
# 03: teaching persistence
# --------------------------------------------------------------------------------------------

TEACHING = [
    md("""
    # Teaching persistence: circles, noise and figure eights

    A tutorial for a class, on point clouds in the plane where you can see the answer.

    **The idea.** Grow a ball of radius *r* around every point. Whenever two balls touch, join
    the points with an edge; whenever three points are pairwise joined, fill the triangle (the
    Vietoris–Rips complex). As *r* grows, features appear and disappear:

    - an **H0 bar** is a connected component: every point is born at 0 and its bar ends when it
      joins another component (one bar, the whole cloud, lives forever);
    - an **H1 bar** is a loop: it is born when the edges first close a cycle and dies when the
      cycle is filled in by triangles.

    A bar's **persistence** is death - birth. Long bars are features of the shape; short ones
    are noise. In a **persistence diagram** each bar is a point (birth, death): far from the
    diagonal = long-lived.
    """),
    code("""
    import numpy as np
    import ipywidgets as W
    import plotly.graph_objects as go

    from tda_widgets.topology import persistence
    from tda_widgets.figures import barcode_figure, persistence_diagram_figure
    from tda_widgets.figures.notebook import show_figures_everywhere

    show_figures_everywhere()   # figures also show in exported HTML and nbviewer


    def circle(n, noise, rng, radius=1.0, center=(0.0, 0.0)):
        theta = rng.uniform(0, 2 * np.pi, n)
        points = radius * np.c_[np.cos(theta), np.sin(theta)] + np.asarray(center)
        return points + rng.normal(scale=noise, size=points.shape)


    def two_circles(n, noise, rng):
        return np.vstack([circle(n // 2, noise, rng, center=(-1.5, 0)), circle(n - n // 2, noise, rng, center=(1.5, 0))])


    def uniform_noise(n, noise, rng):
        return rng.uniform(-1, 1, size=(n, 2)) + rng.normal(scale=noise, size=(n, 2))


    def figure_eight(n, noise, rng):
        return np.vstack([circle(n // 2, noise, rng, center=(-1.0, 0)), circle(n - n // 2, noise, rng, center=(1.0, 0))])


    SHAPES = {"circle": circle, "two circles": two_circles, "noise": uniform_noise, "figure eight": figure_eight}


    def long_bars(diagram, threshold=0.5):
        \"\"\"Number of bars with persistence (death - birth) above the threshold.\"\"\"
        return int(np.sum(diagram[:, 1] - diagram[:, 0] > threshold))


    def cloud_figure(points, title):
        fig = go.Figure(go.Scatter(x=points[:, 0], y=points[:, 1], mode="markers", name="points",
                                   marker=dict(size=6)))
        fig.update_layout(title=title, width=380, height=380, yaxis=dict(scaleanchor="x"),
                          margin=dict(l=40, r=20, t=50, b=40))
        return fig
    """),
    md("""
    ## A circle

    80 points on a unit circle, a little noise. Expect many short H0 bars (neighbouring points
    merge almost at once), one infinite H0 bar (the whole circle) and **one long H1 bar**: the
    loop is born once neighbours are joined and dies only when the triangles reach across
    the circle (at about √3, the side of an inscribed equilateral triangle).
    """),
    code("""
    points = circle(80, 0.05, np.random.default_rng(0))
    result = persistence(points, maxdim=1)
    h0, h1 = result.diagrams
    print(f"H0: {len(h0)} bars, {long_bars(h0)} longer than 0.5 (the infinite one counts);"
          f" H1: {len(h1)} bars, {long_bars(h1)} longer than 0.5")
    print("the long loop: birth %.2f, death %.2f" % tuple(h1[np.argmax(h1[:, 1] - h1[:, 0])]))
    assert long_bars(h1) == 1              # one loop
    assert long_bars(h0) == 1              # one component
    cloud_figure(points, "a noisy circle")
    """),
    code("""
    persistence_diagram_figure(result.diagrams, title="persistence diagram of the circle")
    """),
    code("""
    barcode_figure(result.diagrams, title="the same bars as a barcode")
    """),
    md("""
    ## Two circles, noise, and a figure eight

    - **Two circles** 1 apart: two long H0 bars (the two circles are separate components until
      *r* reaches the gap) and two long H1 bars.
    - **Uniform noise** in a square: plenty of tiny loops, none of them long.
    - A **figure eight** (two circles touching): one component, **two** loops.
    """),
    code("""
    summary = {}
    for name, make in SHAPES.items():
        points = make(120, 0.03, np.random.default_rng(1))
        h0, h1 = persistence(points, maxdim=1).diagrams
        summary[name] = (long_bars(h0), long_bars(h1))
        print(f"{name:>13}: {long_bars(h0)} long H0 bars, {long_bars(h1)} long H1 bars "
              f"(of {len(h0)} and {len(h1)})")

    assert summary["circle"] == (1, 1)
    assert summary["two circles"] == (2, 2)
    assert summary["noise"][1] == 0        # no loop survives
    assert summary["figure eight"] == (1, 2)
    """),
    md("""
    ## Try it: noise and sample size

    Pick a shape and move the sliders; the diagram is recomputed (ripser, in the kernel) and
    the figures are updated in place. Questions for the class:

    1. At what noise level does the circle's loop stop standing out from the short bars?
    2. How few points still show the figure eight's two loops?
    3. Why does the infinite H0 bar never move, whatever you do?
    """),
    code("""
    shape = W.Dropdown(options=list(SHAPES), value="circle", description="shape")
    noise = W.FloatSlider(value=0.05, min=0.0, max=0.5, step=0.01, description="noise", continuous_update=False)
    n_points = W.IntSlider(value=80, min=10, max=300, step=10, description="points", continuous_update=False)
    counts = W.HTML()

    cloud_view = go.FigureWidget(cloud_figure(np.zeros((0, 2)), "point cloud"))
    diagram_view = go.FigureWidget(persistence_diagram_figure([np.zeros((0, 2)), np.zeros((0, 2))], dims=[0, 1],
                                                              width=400, height=380))
    latest = {}


    def update(change=None):
        points = SHAPES[shape.value](n_points.value, noise.value, np.random.default_rng(0))
        result = persistence(points, maxdim=1)
        latest.update(points=points, result=result)
        new = persistence_diagram_figure(list(result.diagrams), dims=[0, 1], width=400, height=380,
                                         title=f"{shape.value}: {len(points)} points, noise {noise.value:.2f}")
        with cloud_view.batch_update():
            cloud_view.data[0].x, cloud_view.data[0].y = points[:, 0], points[:, 1]
            cloud_view.layout.title.text = shape.value
        with diagram_view.batch_update():       # same trace names: update them in place
            for trace in new.data:
                patch = trace.to_plotly_json()
                patch.pop("type", None)
                diagram_view.update_traces(patch, selector={"name": trace.name}, overwrite=True)
            diagram_view.layout.annotations = new.layout.annotations
            diagram_view.update_layout(new.layout.to_plotly_json(), overwrite=False)
        h0, h1 = result.diagrams
        counts.value = (f"<b>{long_bars(h0)}</b> H0 and <b>{long_bars(h1)}</b> H1 bars with persistence > 0.5 "
                        f"(of {len(h0)} and {len(h1)})")


    for control in (shape, noise, n_points):
        control.observe(update, names="value")
    update()
    W.VBox([W.HBox([shape, noise, n_points]), W.HBox([cloud_view, diagram_view]), counts])
    """),
    md("Setting a control from code is the same as moving it: here, a figure eight of 120 points."),
    code("""
    shape.value = "figure eight"
    n_points.value = 120
    noise.value = 0.02
    h0, h1 = latest["result"].diagrams
    assert len(latest["points"]) == 120
    assert long_bars(h1) == 2, h1
    # The widget shows the same diagram: its H1 trace holds the H1 bars.
    h1_trace = next(trace for trace in diagram_view.data if trace.name == "H1")
    assert len(h1_trace.x) == len(h1)
    print(counts.value)
    """),
    md("""
    ## Take-aways

    - Long bars are the shape; short bars near the diagonal are noise. Persistence makes "how
      long" a number you can threshold, compare and compute distances with.
    - The **bottleneck distance** between two diagrams is the largest move needed to match
      their points (unmatched points go to the diagonal): small noise moves points a little,
      so the distance is stable — which is why it can compare the layers of a network
      (`02_paper_study.ipynb`).
    """),
]


# --------------------------------------------------------------------------------------------
# 04: your own model and data
# --------------------------------------------------------------------------------------------

YOUR_MODEL = [
    md("""
    # Your model, your images

    The same tools on a torchvision model with your own checkpoint and a local dataset.
    Nothing is downloaded: set the paths in the next cell. When they do not exist (as in CI,
    or on Binder), the notebook says so and runs on `torchvision.datasets.FakeData` with a
    randomly initialised network, so every cell still runs; the numbers then describe an
    untrained network on noise.
    """),
    code("""
    from pathlib import Path

    CHECKPOINT = Path("resnet18_cifar10.pt")           # a state dict, or a training checkpoint holding one
    DATA_ROOT = Path("~/data/cifar10").expanduser()    # holds cifar-10-batches-py/, or one folder per class
    ARCHITECTURE = "resnet18"                          # any name in tda_widgets.data.loaders.TORCHVISION_MODELS
    NUM_CLASSES = 10
    IMAGE_SIZE = 32                                    # for an image folder: resize and centre-crop to this
    N_IMAGES = 200                                     # class-balanced sample studied (keep it small on 2 cores)
    LAYERS = ["layer1", "layer2", "layer3", "layer4"]
    """),
    code("""
    import numpy as np
    import torch
    import torchvision
    from torchvision.transforms import ToTensor

    import plotly.graph_objects as go
    from tda_widgets import describe_layers, LayerDistanceExplorer, MapperExplorer
    from tda_widgets.data.loaders import balanced_subset, cifar10, image_folder, torchvision_model
    from tda_widgets.figures.notebook import show_figures_everywhere

    show_figures_everywhere()   # figures also show in exported HTML and nbviewer

    if CHECKPOINT.exists():
        model = torchvision_model(ARCHITECTURE, num_classes=NUM_CLASSES, checkpoint=CHECKPOINT)
        print(f"Loaded {CHECKPOINT} into {ARCHITECTURE}.")
    else:
        torch.manual_seed(0)
        model = torchvision_model(ARCHITECTURE, num_classes=NUM_CLASSES)
        print(f"{CHECKPOINT} not found: using a randomly initialised {ARCHITECTURE}.")

    if (DATA_ROOT / "cifar-10-batches-py").is_dir():
        dataset = cifar10(DATA_ROOT, train=False)
        print(f"CIFAR-10 test set from {DATA_ROOT}: {len(dataset)} images.")
    elif DATA_ROOT.is_dir():
        dataset = image_folder(DATA_ROOT, image_size=IMAGE_SIZE, normalize="cifar10")
        print(f"Image folder {DATA_ROOT}: {len(dataset)} images in {len(dataset.classes)} classes.")
    else:
        print(f"{DATA_ROOT} not found: using FakeData (random 32x32 images, random labels).")
        dataset = torchvision.datasets.FakeData(size=200, image_size=(3, 32, 32), num_classes=NUM_CLASSES,
                                                transform=ToTensor())
    class_names = list(getattr(dataset, "classes", None) or [str(k) for k in range(NUM_CLASSES)])
    images = balanced_subset(dataset, min(N_IMAGES, len(dataset)))
    print(f"Studying {len(images)} images; classes: {class_names}")
    """),
    md("""
    ## Which layers are there?

    `describe_layers` runs one image through the model and lists every named module with its
    output shape. Any name from it can go into `layers=`; a typo gets the closest names.
    """),
    code("""
    table = describe_layers(model, images)
    for row in table:
        if "." not in row["name"]:                     # top-level modules; nested ones are listed too
            print(f"{row['name']:>10}  {row['type']:<18} {row['output_shape']}")

    shapes = {row["name"]: row["output_shape"] for row in table}
    assert all(layer in shapes for layer in LAYERS), LAYERS
    if ARCHITECTURE == "resnet18":
        # resnet18's stages: 64, 128, 256, 512 channels, each stage halving the spatial size
        assert [shapes[layer][0] for layer in LAYERS] == [64, 128, 256, 512]
        def halve(side, times):
            for _ in range(times):
                side = -(-side // 2)                   # a stride-2 step, rounding up
            return side
        # conv1 and the max-pool halve the image, then layer2..layer4 halve it once each
        side = images[0][0].shape[-1]
        assert [shapes[layer][1] for layer in LAYERS] == [halve(side, k) for k in (2, 3, 4, 5)]
    """),
    md("""
    ## Layer distances: persistent homology beside CKA

    One point per image (each stage's feature maps average-pooled), 150 images per cloud.
    Click a cell of the PH heat map to see the two stages' diagrams matched.
    """),
    code("""
    distances = LayerDistanceExplorer(model, images, layers=LAYERS, metric="bottleneck", max_points=150)
    distances
    """),
    code("""
    distances.wait()
    comparison = distances.result_
    print("bottleneck distances between", comparison["layers"])
    print(np.round(comparison["ph"], 3))
    print("Spearman rho(PH, 1 - CKA) =", round(comparison["spearman"], 2))
    assert comparison["layers"] == LAYERS
    assert comparison["ph"].shape == (4, 4) and np.allclose(comparison["ph"], comparison["ph"].T)
    assert np.allclose(np.diag(comparison["cka"]), 1.0)
    go.Figure(distances.heatmap_fig)
    """),
    md("""
    ## Mapper graphs of the four stages

    Hover or click a node for its images; the same images are ringed in the other stages'
    graphs. With a trained model and real images, classes (or groups of classes, such as
    CIFAR's animals and vehicles) separate in the later stages; with the random fallback they
    do not, which is what an untrained network on noise should show.
    """),
    code("""
    mapper = MapperExplorer(model, images, layers=LAYERS, class_names=class_names, max_points=200,
                            show_all_layers=True)
    mapper
    """),
    code("""
    mapper.wait()
    for layer, graph in mapper.graphs_.items():
        print(f"{layer}: {len(graph.nodes)} nodes, {len(graph.edges)} edges")
    assert mapper.graphs_, getattr(mapper, "errors_", None)
    assert set(mapper.graphs_) <= set(LAYERS)
    go.Figure(mapper.main_fig)
    """),
]


NOTEBOOKS = {
    "01_tour.ipynb": TOUR,
    "02_paper_study.ipynb": PAPER,
    "03_teaching_persistence.ipynb": TEACHING,
    "04_your_model.ipynb": YOUR_MODEL,
}


def main(argv=None) -> int:
    names = argv or sorted(NOTEBOOKS)
    for name in names:
        nb = notebook(NOTEBOOKS[name])
        nbformat.validate(nb)
        nbformat.write(nb, HERE / name)
        print(f"wrote {HERE / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
