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
    persistence.diagram_fig.figure     # a static copy of the explorer's diagram
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
    distances.heatmap_fig.figure.show()      # static copies of the heat maps and the matching
    distances.matching_fig.figure.show()
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
    mapper.main_fig.figure             # a static copy of the graph on screen
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
    - `04_your_model.ipynb`: a torchvision model or your own `nn.Module`, with your checkpoint and images.
    - `05_beyond_the_paper.ipynb`: other similarity measures, presets, seeds, sensitivity, checkpoints, dask.
    """),
]

# --------------------------------------------------------------------------------------------
# 02: the paper's study at small scale
# --------------------------------------------------------------------------------------------

PAPER = [
    md("""
    # The paper's two findings, at small scale

    Purvine et al. (AAAI 2023) make two points about a trained network's hidden layers:

    1. a distance between layers built from **persistent homology** (Vietoris–Rips diagrams of
       the activations, compared with the bottleneck distance) orders layer pairs much as
       **representational similarity** (CKA) does;
    2. **mapper graphs** of each layer show how a model organises hierarchical class knowledge:
       early layers' nodes mix the classes *of a group* (CIFAR-10's vehicles, its animals) before
       later layers separate the classes themselves.

    Both are reproduced here on the two models embedded in the package, nothing downloaded:
    the **digits CNN** (five layers on scikit-learn's 8 x 8 digits) for the first finding, and
    the **shapes CNN** for the second: six synthetic shapes in two groups, *round* (disk,
    ellipse, crescent) and *angular* (square, triangle, plus), drawn by the package from a seed,
    because digits have no groups to find. Each finding is followed by a reading of its own
    numbers against a chance baseline. Everything else (other similarity measures, presets,
    seeds, sensitivity, checkpoints, a dask cluster) is in `05_beyond_the_paper.ipynb`. The
    notebook runs in well under a minute on two cores.
    """),
    code("""
    import numpy as np
    import plotly.graph_objects as go
    from IPython.display import Markdown, display
    from plotly.subplots import make_subplots
    from scipy.stats import rankdata, spearmanr

    from tda_widgets import CloudSpec, Study, load_demo
    from tda_widgets.figures import layer_distance_figure, mapper_graph_figure
    from tda_widgets.figures.notebook import show_figures_everywhere

    show_figures_everywhere()   # figures also show in exported HTML and nbviewer


    def say(text):
        \"\"\"Show a reading as Markdown (each line's indentation removed).\"\"\"
        display(Markdown("\\n".join(line.strip() for line in text.strip().splitlines())))


    digits = load_demo()                    # digits CNN, 450 held-out digits
    shapes = load_demo(dataset="shapes")    # shapes CNN, 450 held-out shapes, with class_groups
    for name, demo in [("digits", digits), ("shapes", shapes)]:
        right = Study(demo.model, demo.images, demo.labels, layers=demo.layers).predictions() == demo.labels
        print(f"{name}: {len(demo.labels)} held-out images, {len(demo.class_names)} classes, "
              f"layers {', '.join(demo.layers)}; the model gets {right.mean():.1%} right")
    """),
    md("""
    ## Finding 1: persistent-homology distances order layers as CKA does

    For every layer of the digits CNN: a cloud of 200 images (one point per image,
    convolutional maps average-pooled), rescaled to unit median pairwise distance (otherwise the
    distance mostly measures activation magnitude), then its H0 and H1 diagrams. The left heat
    map is the bottleneck distance between every two layers' diagrams; the right one is 1 -
    linear CKA on the same images.
    """),
    code("""
    study = Study(digits.model, digits.images, digits.labels, layers=digits.layers, class_names=digits.class_names)
    layers = list(study.layers)
    SPEC = CloudSpec(mode="auto", max_points=200)
    result = study.compare(spec=SPEC, metric="bottleneck", dims=(0, 1), scale="median")
    layer_distance_figure(result["ph"], result["cka"], layers, metric="bottleneck",
                          rank_correlation=result["spearman"], scale="median", dims=(0, 1))
    """),
    md("""
    The same ten layer pairs as points: one axis per measure. If the two measures order the
    pairs alike, the points rise from left to right. The chance baseline is a **permutation
    test**: shuffle which PH value belongs to which pair 20,000 times and count how often the
    shuffled rank correlation reaches the observed one.
    """),
    code("""
    pairs = [(i, j) for i in range(len(layers)) for j in range(i + 1, len(layers))]
    ph_values = np.array([result["ph"][i, j] for i, j in pairs])
    cka_values = np.array([1.0 - result["cka"][i, j] for i, j in pairs])
    apart = np.array([j - i for i, j in pairs])
    names = [f"{layers[i]}-{layers[j]}" for i, j in pairs]

    rho = spearmanr(ph_values, cka_values).statistic            # an independent computation
    assert np.isclose(rho, result["spearman"])
    rng = np.random.default_rng(0)
    # Spearman's rho of a shuffled copy is the correlation of the shuffled ranks: rank once, then
    # correlate the 20,000 shuffles at once (the same shuffles and values as 20,000 spearmanr calls, 100x faster)
    orders = np.array([rng.permutation(len(pairs)) for _ in range(20_000)])
    shuffled_ranks = rankdata(ph_values)[orders]
    shuffled_ranks -= shuffled_ranks.mean(axis=1, keepdims=True)
    cka_ranks = rankdata(cka_values) - rankdata(cka_values).mean()
    shuffled = shuffled_ranks @ cka_ranks / (np.linalg.norm(shuffled_ranks, axis=1) * np.linalg.norm(cka_ranks))
    p_value = float(np.mean(shuffled >= rho - 1e-12))
    rho_ph_depth = spearmanr(ph_values, apart).statistic
    rho_cka_depth = spearmanr(cka_values, apart).statistic
    rank_gap = ph_values.argsort().argsort() - cka_values.argsort().argsort()

    fig = go.Figure(go.Scatter(x=cka_values, y=ph_values, mode="markers+text", text=names, textposition="top center",
                               marker=dict(size=10, color=apart, colorscale="Viridis",
                                           colorbar=dict(title="layers<br>apart")),
                               textfont=dict(size=10), name="layer pairs"))
    fig.update_layout(title=f"PH against 1 - CKA, {len(pairs)} layer pairs: Spearman ρ = {rho:.2f}",
                      xaxis_title="1 - linear CKA (0 = same representation)",
                      yaxis_title="bottleneck distance (H0 + H1, unit median distance)",
                      width=760, height=480, showlegend=False)
    fig
    """),
    code("""
    worst = int(np.argmax(np.abs(rank_gap)))
    verdict = ("The finding shows" if rho > 0.5 and p_value < 0.05 else
               "The finding shows only weakly" if rho > 0 else "The finding does not show")
    say(f\"\"\"
    **Reading.** {verdict} on this model: PH and 1 - CKA rank the {len(pairs)} layer pairs with
    Spearman ρ = **{rho:.2f}**; shuffling the pairs reaches that in **{p_value:.1%}** of 20,000
    tries (chance level: ρ = 0 on average, ±{shuffled.std():.2f} one standard deviation). Both
    measures grow with the number of layers between two layers (ρ with "layers apart":
    PH {rho_ph_depth:.2f}, CKA {rho_cka_depth:.2f}): neighbouring layers are close, the first
    block and the logits far apart. They part most on **{names[worst]}** (rank {rank_gap[worst]:+d}
    under PH against CKA): CKA compares every image with every other linearly, while the diagrams
    see only the shape of a 200-image sample (its clusters and loops), which still changes where
    CKA finds the late layers alike (1 - CKA {cka_values[names.index('fc1-head')]:.2f} for fc1-head).
    \"\"\")
    assert rho > 0.3 and p_value < 0.1, (rho, p_value)
    """),
    md("""
    **Caveats.** Ten pairs of five layers are not ten independent observations (every layer is in
    four pairs), so the permutation test is optimistic; the paper compares many more layers.
    One model, one seed, one 200-image subsample: another `max_points` or `seed` in `CloudSpec`
    moves the PH ranking a little (`05_beyond_the_paper.ipynb` varies the cloud mode, the
    measure and the seed). The rescaling is a choice: without it a layer with larger activations
    looks far from every other.

    ## Finding 2: mapper graphs, groups before classes?

    On the shapes CNN (its accuracy is printed at the top): one mapper graph
    per layer on all 450 held-out images (lens: first principal component; 8 overlapping
    intervals; DBSCAN). A node's **class purity** is the share of its images in its majority
    class; its **group purity** the share in its majority group (round or angular). Weighted by
    node size, each gives one number per layer.

    Group purity is never below class purity (a node's majority class lies in one group), and
    with two groups of three classes it is at least 0.5: the two numbers have different floors.
    So each gets its own **chance line**: the same graphs with the labels shuffled among the
    images (200 times), which keeps every node's size and overlap and destroys only what the
    layer knows about the labels.
    """),
    code("""
    shape_study = Study(shapes.model, shapes.images, shapes.labels, layers=shapes.layers,
                        class_names=shapes.class_names)
    shape_layers = list(shape_study.layers)
    MAPPER_SPEC = CloudSpec(mode="auto", max_points=450)
    graphs = {layer: shape_study.mapper(layer, MAPPER_SPEC, n_cubes=8, overlap=0.35, class_groups=shapes.class_groups)
              for layer in shape_layers}
    group_index = np.array([shapes.class_groups[k] == "round" for k in range(len(shapes.class_names))], dtype=int)


    def purities(graph, labels):
        \"\"\"Size-weighted class and group purity of the graph's nodes under ``labels`` (one per image).\"\"\"
        total = in_class = in_group = 0
        for node in graph.nodes:
            member_labels = labels[node.image_indices]
            total += len(member_labels)
            in_class += np.bincount(member_labels).max()
            in_group += np.bincount(group_index[member_labels]).max()
        return in_class / total, in_group / total


    rng = np.random.default_rng(0)
    observed = {layer: purities(graph, shapes.labels) for layer, graph in graphs.items()}
    chance = {layer: np.array([purities(graph, rng.permutation(shapes.labels)) for _ in range(200)])
              for layer, graph in graphs.items()}

    fig = go.Figure()
    for k, (what, colour) in enumerate([("class", "#1f77b4"), ("group", "#d62728")]):
        fig.add_scatter(x=shape_layers, y=[observed[l][k] for l in shape_layers], mode="lines+markers",
                        name=f"{what} purity", line=dict(color=colour, width=3))
        fig.add_scatter(x=shape_layers, y=[np.percentile(chance[l][:, k], 95) for l in shape_layers], mode="lines",
                        name=f"{what} purity, shuffled labels (95th percentile)", line=dict(color=colour, dash="dot"))
    fig.update_layout(title="Mapper node purity per layer of the shapes CNN, against shuffled labels",
                      xaxis_title="layer (input → logits)", yaxis_title="size-weighted node purity",
                      yaxis_range=[0, 1.05], width=900, height=420)
    fig
    """),
    md("""
    Every layer's mapper graph, side by side (colour: each node's majority class; the three
    round shapes in blues, the three angular ones in reds; size: number of images).
    """),
    code("""
    palette = {"disk": "#08519c", "ellipse": "#4292c6", "crescent": "#9ecae1",
               "square": "#a50f15", "triangle": "#ef3b2c", "plus": "#fc9272"}
    grid = make_subplots(rows=1, cols=len(shape_layers), horizontal_spacing=0.02,
                         subplot_titles=[f"{l}<br>{len(graphs[l].nodes)} nodes" for l in shape_layers])
    for col, layer in enumerate(shape_layers, start=1):
        single = mapper_graph_figure(graphs[layer], class_names=shapes.class_names, key=False)
        for trace in single.data:
            if trace.mode == "lines":                         # the edges
                grid.add_trace(trace.update(showlegend=False), row=1, col=col)
        nodes = graphs[layer].nodes
        layout_xy = [t for t in single.data if t.mode != "lines"][0]
        majority = [shapes.class_names[n.majority] for n in nodes]
        grid.add_trace(go.Scatter(x=layout_xy.x, y=layout_xy.y, mode="markers", showlegend=False,
                                  marker=dict(size=layout_xy.marker.size, color=[palette[m] for m in majority],
                                              line=dict(width=0.5, color="white")),
                                  hovertext=[f"{m}: {n.size} images, purity {n.purity:.2f}" for m, n in zip(majority, nodes)],
                                  hoverinfo="text"), row=1, col=col)
    for name, colour in palette.items():                   # a key: one legend entry per class
        grid.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=f"{name} ({shapes.class_groups[shapes.class_names.index(name)]})",
                                  marker=dict(size=10, color=colour)), row=1, col=1)
    grid.update_xaxes(visible=False)
    grid.update_yaxes(visible=False)
    grid.update_layout(title="The shapes CNN's mapper graphs, input (left) to logits (right)", width=1000, height=360,
                       legend=dict(orientation="h", y=-0.05), margin=dict(l=10, r=10, t=90, b=40))
    grid
    """),
    code("""
    from tda_widgets.topology.hierarchy import class_affinity, class_tree, grouping_agreement

    classes = list(range(len(shapes.class_names)))
    trees = {layer: class_tree(*class_affinity(g, classes)) for layer, g in graphs.items()}
    agreement = {layer: grouping_agreement(tree, shapes.class_groups) for layer, tree in trees.items()}


    def top_split(layer):
        \"\"\"The layer's class tree cut in two branches, as text.\"\"\"
        cut = trees[layer].cut(2)
        branches = [[shapes.class_names[c] for c in classes if cut[c] == k] for k in sorted(set(cut.values()))]
        return " / ".join("{" + ", ".join(b) + "}" for b in branches)



    def lift(layer, k):
        \"\"\"How far purity climbs from its shuffled-label mean towards 1 (0: chance, 1: pure).\"\"\"
        base = chance[layer][:, k].mean()
        return (observed[layer][k] - base) / (1.0 - base)


    above = {layer: [observed[layer][k] > np.percentile(chance[layer][:, k], 95) for k in (0, 1)] for layer in shape_layers}
    group_ahead = [l for l in shape_layers if lift(l, 1) > lift(l, 0) + 0.1]
    rows = "\\n".join(f"| {l} | {observed[l][0]:.2f} | {chance[l][:, 0].mean():.2f} | {observed[l][1]:.2f} | "
                     f"{chance[l][:, 1].mean():.2f} | {lift(l, 0):.2f} | {lift(l, 1):.2f} | {agreement[l]:+.2f} | "
                     f"{top_split(l)} |" for l in shape_layers)
    unsplit = [l for l in shape_layers if len(set(trees[l].cut(2).values())) == 1]
    no_split = (f", and in {', '.join(unsplit)} the classes share no node at all, so the tree has no split to make"
                if unsplit else "")
    mixed = [n for n in graphs["block3"].nodes if n.purity < 0.9]
    mixed_share = sum(n.size for n in mixed) / sum(n.size for n in graphs["block3"].nodes)
    mixed_group = sum(n.group_purity * n.size for n in mixed) / sum(n.size for n in mixed)
    first_group = next((l for l in shape_layers if above[l][1]), None)
    first_class_high = next((l for l in shape_layers if observed[l][0] > 0.8), None)
    if group_ahead:
        verdict = (f"**The finding shows, in part.** At {', '.join(group_ahead)} the nodes have gone further "
                   "from chance towards pure groups than towards pure classes: the layer separates round from "
                   "angular shapes before it separates the shapes within each group")
    else:
        verdict = ("**The finding does not show.** No layer is clearly further from chance for groups than for "
                   "classes: the model separates the groups and the classes together")
    say(f\"\"\"
    | layer | class purity | shuffled | group purity | shuffled | class lift | group lift | tree agreement | the tree's two branches |
    |---|---|---|---|---|---|---|---|---|
    {rows}

    **Reading.** Group purity first beats its shuffled-label line (95th percentile) at **{first_group}**;
    class purity passes 0.8 only at **{first_class_high}**. "Lift" puts both on one scale:
    (purity - shuffled mean) / (1 - shuffled mean), 0 for chance and 1 for pure nodes. {verdict}.
    In `block1` neither goes far (class lift {lift('block1', 0):.2f}, group lift {lift('block1', 1):.2f}): the first
    layer's nodes barely follow the labels. The **tree agreement** asks something stricter:
    cluster the six classes by how much they share nodes and cut the tree in two; 1 would be round against
    angular, 0 no better than chance. It stays at {min(agreement.values()):+.2f} to {max(agreement.values()):+.2f}:
    the tree's first split sets one or two shapes apart (last column), not the round ones from the angular
    ones{no_split}. At `block3`, the nodes that mix classes (class purity below 0.9, {mixed_share:.0%} of the images)
    still hold {mixed_group:.0%} of their images in one group: the round/angular split shows in *how nodes
    mix*, while the tree, which weighs every pair of classes, is decided by the few shapes that mix across
    groups.
    \"\"\")
    # independent check of one purity: a node's labels counted directly from the images it holds
    node = max(graphs["block3"].nodes, key=lambda n: n.size)
    counts = np.bincount(shapes.labels[node.image_indices], minlength=6)
    assert np.isclose(node.purity, counts.max() / counts.sum())
    assert np.isclose(graphs["block3"].mean_purity("group"), observed["block3"][1])
    assert observed["head"][0] > 0.8 and observed["head"][0] > observed["block1"][0] + 0.3   # classes separate with depth
    assert all(observed[l][1] >= observed[l][0] - 1e-12 for l in shape_layers)                   # by construction
    assert all(0.45 < chance[l][:, 1].mean() < 0.65 for l in shape_layers)                      # two groups: floor 0.5
    """),
    md("""
    **Caveats.** The shapes were designed to have two groups, so this is a test of the method
    on a known hierarchy, not evidence about natural images; on CIFAR-10 the same cells run with
    `class_groups="cifar10"` (vehicles and animals; see `04_your_model.ipynb`). Mapper has
    settings (lens, 8 intervals, 35 % overlap, DBSCAN's radius) and its purities move with them;
    the `MapperExplorer` has a slider for each. Group purity's floor of 0.5 is why the chance
    lines matter: a raw group purity of 0.6 in an early layer means nothing here.
    """),
    md("""
    ## Send the study to a co-author

    `study.save(path)` writes the digits study to one small file: its settings, the fingerprints
    of the model and the images, the labels, the thumbnails and every result computed above (point
    clouds, diagrams, distances, CKA). `open_study(path)` opens it **without the model and without
    the images**, as a colleague would: every stored number comes back bit for bit, and the
    explorers open on it, their controls limited to what the file holds. A request the file cannot
    answer (another layer, another point budget) says so and names the fix:
    `open_study(path, model=model, images=images)`, which checks the fingerprints, then computes it.
    The file is JSON and `.npy` arrays in a zip, never pickle; here it goes to a temporary folder.
    """),
    code("""
    import tempfile
    from pathlib import Path

    from tda_widgets import NeedsModelError, PersistenceExplorer, open_study

    path = study.save(Path(tempfile.mkdtemp()) / "digits_study.tda")
    print(f"{path.name}: {path.stat().st_size / 1e6:.2f} MB")

    shared = open_study(path)          # no model, no images: what a co-author opens
    again = shared.compare(spec=SPEC, metric="bottleneck", dims=(0, 1), scale="median")
    assert again["ph"].tobytes() == result["ph"].tobytes() and again["cka"].tobytes() == result["cka"].tobytes()
    try:
        shared.cloud("block1", CloudSpec(mode="auto", max_points=300))   # a point budget the file does not hold
    except NeedsModelError as error:
        print("not in the file, so it needs the model:", str(error).split("Open the file with them: ")[1])
    explorer = PersistenceExplorer(study=shared)      # the layer slider offers the stored clouds
    explorer
    """),
    code("""
    explorer.wait()
    assert explorer.max_points == 200 and explorer.points_slider.disabled        # the file's one point budget
    assert explorer.cloud_.points.tobytes() == study.cloud(explorer.layer, SPEC).points.tobytes()   # the stored cloud
    live = study.diagrams([explorer.layer], SPEC, maxdim=1, scale="median")[explorer.layer]       # from the model
    assert all(np.allclose(np.sort(a, axis=0), np.sort(b, axis=0)) for a, b in zip(explorer.result_.diagrams, live.diagrams))
    explorer.diagram_fig.figure        # a static copy of the explorer's diagram
    """),
    md("""
    ## Next

    `05_beyond_the_paper.ipynb`: the same engine on other similarity measures, point-cloud modes,
    the study's presets, seeds, sensitivity tests, training checkpoints and a dask cluster.
    """),
]


# --------------------------------------------------------------------------------------------
# 05: beyond the paper
# --------------------------------------------------------------------------------------------

BEYOND = [
    md("""
    # Beyond the paper: measures, modes, presets, seeds, sensitivity, checkpoints

    `02_paper_study.ipynb` reproduces the paper's two findings. This notebook asks what else the
    same engine can say about the embedded digits CNN, one question per section, each ending
    with what its numbers show:

    1. Do other similarity measures (RTD, SVCCA, Procrustes, RSA, ...) agree with PH and CKA?
    2. Does the way activations become points (the cloud mode) matter?
    3. The study's own pipeline: what its `"ph"` preset changes.
    4. Across seeds: does each layer find its partner in a network trained from another seed?
    5. How sensitive is each measure to deleting principal components?
    6. Training dynamics: how much each layer's shape moves between checkpoints, and the same
       grid on a dask cluster.
    """),
    code("""
    import numpy as np
    import plotly.graph_objects as go
    from IPython.display import Markdown, display
    from scipy.stats import spearmanr

    from tda_widgets import CloudSpec, Study, load_demo
    from tda_widgets.figures import layer_distance_figure
    from tda_widgets.figures.notebook import show_figures_everywhere
    from tda_widgets.topology import diagrams_distance, layer_distance_matrix, rank_correlation

    show_figures_everywhere()   # figures also show in exported HTML and nbviewer


    def say(text):
        \"\"\"Show a reading as Markdown (each line's indentation removed).\"\"\"
        display(Markdown("\\n".join(line.strip() for line in text.strip().splitlines())))


    demo = load_demo()
    study = Study(demo.model, demo.images, demo.labels, layers=demo.layers, class_names=demo.class_names)
    layers = list(study.layers)
    SPEC = CloudSpec(mode="auto", max_points=200)       # one point per image, 200 of the 450 images
    result = study.compare(spec=SPEC, metric="bottleneck", dims=(0, 1), scale="median")   # as in 02
    print(f"{demo.model.__class__.__name__}: layers {layers}; PH beside CKA: Spearman rho = {result['spearman']:.2f}")
    """),
    md("""
    ## 1. Every similarity measure side by side

    The field also uses **RTD** (Representation Topology Divergence: how the two clouds' loops
    differ), **SVCCA** and **PWCCA** (canonical correlations between the two layers' features),
    **orthogonal Procrustes** (the distance left after the best rotation of one cloud onto the
    other) and **RSA** (do the two layers find the same images alike?). All run here on the same
    200-image clouds as PH.

    - **Do they agree?** Left: for every two measures, the Spearman rank correlation of their
      values over the ten layer pairs (a similarity s turned into 1 - s). Near 1 (dark blue):
      the two rank the layer pairs alike; near 0 (pale): they see different things; red: opposite.
    - **Do they track depth?** Right: *monotonicity* (the ReSi benchmark's check: over every
      triple of layers i < j < k, the share where the outer pair (i, k) is at least as different
      as either inner pair) and *depth ρ* (rank correlation between how many layers lie between
      two layers and their dissimilarity). A measure that sees layers change step by step scores
      near 1 on both.
    """),
    code("""
    from itertools import combinations

    from tda_widgets.figures import measures_table_figure

    table = study.measures_table(layers, SPEC, skip_errors=True)   # PH (bottleneck) and CKA as above
    fig = measures_table_figure(table.labels, table.agreement, table.monotonicity, table.depth_correlation)
    fig.update_traces(colorbar=dict(x=0.47), selector=dict(type="heatmap"))   # keep the colour bar clear
    fig.update_layout(width=980, margin=dict(r=40), xaxis2=dict(domain=[0.64, 1.0]))  # of the bar chart's axis
    fig.show()

    # Independent checks: one agreement cell (scipy's Spearman of PH and 1 - RSA over the pairs)
    # and PH's monotonicity (the triples counted by hand).
    rsa = study.similarity("rsa", layers, SPEC)
    upper = np.triu_indices(len(layers), 1)
    a, b = table.names.index("ph"), table.names.index("rsa")
    assert np.isclose(table.agreement[a, b], spearmanr(result["ph"][upper], 1.0 - rsa[upper]).statistic)
    triples = list(combinations(range(len(layers)), 3))
    ph = result["ph"]
    assert np.isclose(table.monotonicity[a], sum(ph[i, k] >= max(ph[i, j], ph[j, k]) for i, j, k in triples) / len(triples))
    assert {"ph", "cka", "rtd", "svcca", "procrustes", "rsa"} <= set(table.names), table.names

    others = [k for k in range(len(table.names)) if k != a]
    with_ph = {table.labels[k]: table.agreement[a, k] for k in others}
    closest, farthest = max(with_ph, key=with_ph.get), min(with_ph, key=with_ph.get)
    depth = dict(zip(table.labels, table.depth_correlation))
    skipped = "; ".join(f"{name}: {why}" for name, why in table.skipped.items()) or "none"
    say(f\"\"\"
    **What it shows.** PH ranks the layer pairs most like **{closest}** (ρ = {with_ph[closest]:.2f}) and least
    like **{farthest}** (ρ = {with_ph[farthest]:.2f}). Every measure's dissimilarity grows with depth
    (depth ρ from {min(depth.values()):.2f} to {max(depth.values()):.2f}; PH {depth[table.labels[a]]:.2f}), so on
    this five-layer network they mostly agree: they differ in which *neighbouring* pairs they call close.
    With ten pairs, a rank correlation moves by 0.1 when two pairs swap: read differences below that
    as ties. Not computed (the data cannot give them): {skipped}.
    \"\"\")
    """),
    md("""
    ## 2. Does the point-cloud mode matter?

    The same comparison with each way of turning activations into points. Image-level modes
    (`image-avgpool`, `image-maxpool`, `image-flatten`) give one point per image in every layer
    (dense layers always do), so all five layers are compared. `spatial` (one point per image
    and position) and `channel` (one point per channel) exist only for convolutional layers, so
    they compare the three blocks: three pairs, where ρ can only be -1, -0.5, 0.5 or 1.
    """),
    code("""
    conv_layers = ["block1", "block2", "block3"]
    cka_all = study.cka(layers)


    def ph_matrix(mode, use_layers):
        diagrams = []
        for layer in use_layers:
            spec = CloudSpec(mode=mode if layer in conv_layers else "linear", max_points=200)
            diagrams.append(study.diagrams([layer], spec, scale="median")[layer].diagrams)
        return layer_distance_matrix(diagrams, "bottleneck", dims=(0, 1))


    rows = []
    for mode in ["image-avgpool", "image-maxpool", "image-flatten", "spatial", "channel"]:
        use_layers = layers if mode.startswith("image") else conv_layers
        index = [layers.index(layer) for layer in use_layers]
        rho = rank_correlation(ph_matrix(mode, use_layers), 1.0 - cka_all[np.ix_(index, index)])
        rows.append((mode, len(use_layers), len(use_layers) * (len(use_layers) - 1) // 2, rho))

    go.Figure(go.Table(header=dict(values=["cloud mode", "layers", "pairs", "Spearman ρ(PH, 1 − CKA)"]),
                       cells=dict(values=[[r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows],
                                          [f"{r[3]:.2f}" for r in rows]])),
              layout=dict(width=640, height=200, margin=dict(t=10, b=10))).show()

    rho_by_mode = {mode: rho for mode, _, _, rho in rows}
    assert all(-1.0 <= rho <= 1.0 for rho in rho_by_mode.values())
    assert rho_by_mode["image-avgpool"] > 0          # the default mode agrees with CKA
    image_modes = {m: r for m, r in rho_by_mode.items() if m.startswith("image")}
    best = max(image_modes, key=image_modes.get)
    say(f\"\"\"
    **What it shows.** Of the image-level clouds, **{best}** agrees with CKA best (ρ = {image_modes[best]:.2f};
    the others {", ".join(f"{m} {r:.2f}" for m, r in image_modes.items() if m != best)}): CKA itself compares
    images, so one point per image is the like-for-like comparison. `spatial` ({rho_by_mode['spatial']:+.1f}) and
    `channel` ({rho_by_mode['channel']:+.1f}) ask other questions (the geometry of local patches, or of the
    features themselves) over only three pairs: a hint, not a measurement.
    \"\"\")
    """),
    md("""
    ## 3. The study's own pipeline, with its presets

    The study's research scripts make different choices from our defaults. The `"ph"` preset is
    theirs for persistent homology: the output of every `Conv2d` (before batch norm and ReLU),
    one point per image at the position whose channel vector has the largest l2 norm
    (`image-top-l2`), H1 only, sliced Wasserstein, no rescaling. Every value and its source:
    """),
    code("""
    from tda_widgets import presets

    settings = presets.get("ph").settings()
    go.Figure(go.Table(header=dict(values=["setting", "value", "source"], align="left"),
                       cells=dict(values=[[s[0] for s in settings], [str(s[1]) for s in settings], [s[2] for s in settings]],
                                  align="left")),
              layout=dict(width=900, height=90 + 80 * len(settings), margin=dict(t=10, b=10))).show()
    ph_study = Study(demo.model, demo.images, demo.labels, preset="ph")
    ph_result = ph_study.compare()
    conv = list(ph_study.layers)
    layer_distance_figure(ph_result["ph"], ph_result["cka"], conv, metric="sliced-wasserstein",
                          rank_correlation=ph_result["spearman"], scale="none", dims=(1,)).show()
    say(f\"\"\"
    **What it shows.** With the preset, PH and CKA are compared on the {len(conv)} convolutions only:
    {len(conv) * (len(conv) - 1) // 2} pairs, so ρ = {ph_result['spearman']:.2f} can only take a few values
    (-1, -0.5, 0.5, 1) and says little on its own: on this small network the preset is a check that the
    study's pipeline runs, not a second measurement. Our defaults differ on purpose: we rescale each cloud
    to unit median distance (without it, a layer whose activations are simply larger looks far from every
    other), keep H0 beside H1 (clusters matter in late layers), and pool convolutional maps (one stable point
    per image instead of one position picked by a maximum).
    \"\"\")
    assert len(conv) == 3 and -1.0 <= ph_result["spearman"] <= 1.0
    """),
    md("""
    ## 4. Across seeds: does each layer find its partner?

    Kornblith et al. (2019) ask of a similarity measure: between two networks trained from
    different random seeds, is the layer of B most similar to layer *i* of A the layer *i* of
    B? Two more seeds of the digits CNN are trained here (deterministic, a few seconds each).
    The heat maps are every layer of seed 0 (rows) against every layer of seed 1 (columns); a
    star marks a row's best match where it is the corresponding layer, a cross where it is
    another. (The `CrossModelExplorer` shows the same interactively.)
    """),
    code("""
    from tda_widgets.crossmodel import cross_model_comparison
    from tda_widgets.data.train_digits import train_seeds
    from tda_widgets.figures.crossmodel import cross_model_figure

    seeds = train_seeds((1, 2))
    across = cross_model_comparison([demo.model, *seeds.values()], demo.images, preset="ph")
    for measure, kind, label in [("ph", "distance", "PH distance (sliced Wasserstein, H1)"), ("cka", "similarity", "linear CKA")]:
        cross_model_figure(across.matrices[measure][0], across.layers, across.layers, kind=kind, measure=label,
                           model_a="seed 0", model_b="seed 1", width=560, height=400).show()
    fractions = across.fraction_identified
    per_seed = across.table()
    assert set(fractions) == {"ph", "cka"} and all(0.0 <= f <= 1.0 for f in fractions.values())
    # independent check: CKA's hits read off the matrices directly (most similar = largest CKA)
    hits = [np.argmax(m, axis=1) == np.arange(len(across.layers)) for m in across.matrices["cka"]]
    assert np.isclose(fractions["cka"], np.mean(hits))
    say(f\"\"\"
    **What it shows.** Over the {len(across.layers)} convolutions of two other seeds, PH finds the corresponding
    layer for **{fractions['ph']:.0%}** of them and CKA for **{fractions['cka']:.0%}** (per seed:
    {"; ".join(f"{row['model']}: PH {row['ph']:.0%}, CKA {row['cka']:.0%}" for row in per_seed)}). Chance is one in
    {len(across.layers)} ({1 / len(across.layers):.0%}). A measure that identifies every layer sees what the seeds
    share; one that does not is dominated by what a seed changes. With three layers the test is coarse: rerun it
    on a model with more layers before concluding.
    \"\"\")
    """),
    md("""
    ## 5. How sensitive is each measure? Remove principal components

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
    sensitivity_figure(curves).show()


    def share_at_first_quarter(curve, measure):
        \"\"\"Distance after removing the lowest-variance quarter of the components, over the final distance.\"\"\"
        values = curve.distances[measure]
        k = int(np.searchsorted(curve.fraction, 0.25))
        return values[k] / values[-1] if values[-1] > 0 else float("nan")


    early = {layer: (share_at_first_quarter(c, "ph"), share_at_first_quarter(c, "cka")) for layer, c in curves.items()}
    say(f\"\"\"
    **What it shows.** After the lowest-variance quarter of the components is deleted (information the
    layer hardly uses), PH has already moved {", ".join(f"{l}: {v[0]:.0%}" for l, v in early.items())} of its
    final distance, while 1 - CKA has moved {", ".join(f"{l}: {v[1]:.1%}" for l, v in early.items())}.
    So on these clouds **PH reacts to harmless deletions that CKA ignores**: the diagrams see the
    small directions too (their short bars move). This is the property Ding et al. warn
    about; it argues for reading PH distances beside CKA rather than alone.
    \"\"\")
    """),
    md("""
    ## 6. Training dynamics

    The package ships checkpoints of the same training run at epochs 0 (initialisation), 1, 3
    and 10 (the final model). For every layer, the bottleneck distance between its diagrams at
    consecutive checkpoints (same 200 images, same rescaling) says how much that layer's shape
    still moves.
    """),
    code("""
    from tda_widgets.data import load_digits_checkpoints

    checkpoints = load_digits_checkpoints()
    epochs = list(checkpoints)
    diagrams_at = {epoch: Study(model, demo.images, demo.labels, layers=layers).diagrams(spec=SPEC, scale="median")
                   for epoch, model in checkpoints.items()}
    steps = [f"{a}→{b}" for a, b in zip(epochs, epochs[1:])]
    change = {layer: [diagrams_distance(diagrams_at[a][layer].diagrams, diagrams_at[b][layer].diagrams,
                                        "bottleneck", dims=(0, 1))
                      for a, b in zip(epochs, epochs[1:])]
              for layer in layers}
    fig = go.Figure([go.Scatter(x=steps, y=change[layer], mode="lines+markers", name=layer) for layer in layers])
    fig.update_layout(title="How much each layer's diagrams change between checkpoints (H0 + H1, rescaled clouds)",
                      xaxis_title="epochs", yaxis_title="bottleneck distance", width=760, height=380)
    fig.show()

    first, last = np.array([change[l][0] for l in layers]), np.array([change[l][-1] for l in layers])
    assert np.all(np.isfinite(first)) and np.all(first > 0)
    assert first.mean() > last.mean(), (first, last)   # the first epoch reshapes more than the last seven
    most = layers[int(np.argmax(first))]
    say(f\"\"\"
    **What it shows.** The first epoch moves every layer most (mean {first.mean():.3f}, largest in **{most}**);
    from epoch 3 to 10, seven epochs, the layers move {last.mean():.3f} on average: the shapes of the
    representations settle early; seven more epochs move them less than the first one did.
    \"\"\")
    """),
    md("""
    ### The same grid in one call, on a dask cluster

    `checkpoint_grid` builds this layer x checkpoint grid of diagrams for any list of
    checkpoints (state dicts, models or files) and runs every persistence and distance job on
    any `concurrent.futures.Executor`: with dask.distributed, a `LocalCluster` here; on a real
    cluster, `Client("tcp://scheduler:8786")` instead. Your model is only copied, never changed.
    """),
    code("""
    import logging

    from dask.distributed import Client, LocalCluster
    from tda_widgets import checkpoint_grid

    # distributed logs "Batched Comm Closed" at INFO, with a traceback, when the in-process cluster
    # shuts down (a race in its teardown; seen once in the browser tests): keep that logger's INFO
    # lines out of the notebook (its warnings and errors still show)
    logging.getLogger("distributed.batched").setLevel(logging.WARNING)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \\
            Client(cluster) as client:
        grid = checkpoint_grid(demo.model, checkpoints, demo.images, layers, spec=SPEC, scale="median",
                               executor=client.get_executor())
    # the same numbers as the loop above, computed on the cluster
    np.testing.assert_allclose(grid.consecutive, np.array([change[layer] for layer in layers]), atol=1e-9)
    say(f"**What it shows.** The cluster computed the same {grid.consecutive.size} distances as the loop above "
        "(equal to 1e-9): `checkpoint_grid` is how to run this grid for a bigger model or more checkpoints.")
    """),
]


# --------------------------------------------------------------------------------------------
# 03: teaching persistence
# --------------------------------------------------------------------------------------------

TEACHING = [
    md("""
    # Teaching persistence: circles, noise and figure eights

    A lesson for a class, on point clouds in the plane where you can see the answer.

    **The idea.** Grow a ball of radius *r* around every point. Two balls touch when *r* is half
    the distance between their centres: then join the two points with an edge. Whenever three
    points are pairwise joined, fill the triangle (the Vietoris–Rips complex). As the balls grow,
    features appear and disappear:

    - an **H0 bar** is a connected component: every point is born at 0 and its bar ends when it
      joins another component (one bar, the whole cloud, lives forever);
    - an **H1 bar** is a loop: it is born when the edges first close a cycle and dies when the
      cycle is filled in by triangles.

    **Units.** ripser, like most software, measures the scale as the **edge length** ε: an edge
    appears when ε reaches the distance between two points, i.e. ε = 2r, twice the ball radius.
    Every axis below is in edge length, in the units of the points' coordinates (the circles have
    radius 1); halve a value to get the ball radius.

    A bar's **persistence** is death - birth. Long bars are features of the shape; short ones are
    noise. In a **persistence diagram** each bar is a point (birth, death): far from the diagonal =
    long-lived.
    """),
    code("""
    import numpy as np
    import ipywidgets as W
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots
    from scipy.spatial import cKDTree

    from tda_widgets.topology import diagrams_distance, persistence
    from tda_widgets.figures import persistence_diagram_figure
    from tda_widgets.figures.notebook import show_figures_everywhere

    show_figures_everywhere()   # figures also show in exported HTML and nbviewer
    EDGE = "edge length ε = 2 × ball radius"


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
    LONG = 10     # a bar is long when it lasts more than 10 typical neighbour gaps


    def spacing(points):
        \"\"\"The typical gap between neighbouring points: the median nearest-neighbour distance.\"\"\"
        distances, _ = cKDTree(points).query(points, k=2)
        return float(np.median(distances[:, 1]))


    def long_bars(diagram, points):
        \"\"\"Number of bars whose persistence exceeds LONG x the cloud's typical neighbour gap.\"\"\"
        return int(np.sum(diagram[:, 1] - diagram[:, 0] > LONG * spacing(points)))
    """),
    md("""
    **When is a bar long?** A fixed number (say 0.5) would depend on the units: the same circle
    drawn in millimetres would have no long bar at all. Here a bar is long when it lasts more than
    **10 times the typical gap between neighbouring points** (the median distance from a point to
    its nearest neighbour): a ratio, so it does not change when the picture is scaled. Bars of
    noise live about one gap; a real loop lives about its diameter, tens of gaps.

    ## A circle

    80 points on a circle of radius 1, a little noise. Expect many short H0 bars (neighbouring
    points merge almost at once), one infinite H0 bar (the whole circle) and **one long H1 bar**.
    The loop dies when triangles reach across the circle: at the side of the inscribed equilateral
    triangle, ε = √3 ≈ 1.73 in edge length (balls of radius √3 / 2 ≈ 0.87).
    """),
    code("""
    points = circle(80, 0.05, np.random.default_rng(0))
    result = persistence(points, maxdim=1)
    h0, h1 = result.diagrams
    loop = h1[np.argmax(h1[:, 1] - h1[:, 0])]
    print(f"typical neighbour gap {spacing(points):.3f}, so 'long' means persistence > {LONG * spacing(points):.2f}")
    print(f"H0: {len(h0)} bars, {long_bars(h0, points)} long (the infinite one); "
          f"H1: {len(h1)} bars, {long_bars(h1, points)} long")
    print(f"the loop: born at ε = {loop[0]:.2f}, dies at ε = {loop[1]:.2f} (ball radius {loop[1] / 2:.2f}); √3 = {np.sqrt(3):.2f}")
    assert long_bars(h1, points) == 1 and long_bars(h0, points) == 1
    assert abs(loop[1] - np.sqrt(3)) < 0.25         # the closed form, up to the noise
    """),
    md("""
    The points, their diagram, and the same bars as a **barcode**: one horizontal bar per feature,
    from its birth to its death, sorted by length; the long ones are drawn thick and labelled, the
    80 short H0 bars thin and grey, and the dashed line marks "long".
    """),
    code("""
    def barcode(diagrams, points, title):
        \"\"\"A barcode where long bars stand out: thick and coloured; short ones thin and grey.\"\"\"
        threshold = LONG * spacing(points)
        finite = np.concatenate([d[np.isfinite(d[:, 1]), 1] for d in diagrams])
        top = 1.15 * finite.max()                   # where an infinite bar is cut
        fig, row = go.Figure(), 0
        for dim, diagram, colour in [(1, diagrams[1], "#d62728"), (0, diagrams[0], "#1f77b4")]:
            order = np.argsort(-(np.minimum(diagram[:, 1], top) - diagram[:, 0]))
            for k in order:
                birth, death = diagram[k]
                is_long = death - birth > threshold
                fig.add_scatter(x=[birth, min(death, top)], y=[row, row], mode="lines", showlegend=False,
                                line=dict(color=colour if is_long else "#bbbbbb", width=6 if is_long else 1),
                                hovertext=f"H{dim}: born {birth:.2f}, dies {death:.2f}", hoverinfo="text")
                if is_long:
                    label = f"H{dim}: {birth:.2f} → " + ("∞" if np.isinf(death) else f"{death:.2f}")
                    fig.add_annotation(x=min(death, top), y=row, text=label, showarrow=False, xanchor="left",
                                       font=dict(color=colour))
                row += 1
        fig.add_vline(x=threshold, line_dash="dash", line_color="#555",
                      annotation_text=f"long: > {threshold:.2f}", annotation_position="top")
        fig.update_layout(title=title, xaxis_title=EDGE, yaxis=dict(visible=False, autorange="reversed"),
                          width=640, height=380, margin=dict(l=20, r=120, t=60, b=50), xaxis_range=[0, 1.45 * top])
        return fig


    views = make_subplots(rows=1, cols=2, subplot_titles=["80 points on a noisy circle", "persistence diagram"],
                          horizontal_spacing=0.12)
    views.add_scatter(x=points[:, 0], y=points[:, 1], mode="markers", marker=dict(size=5, color="#444"),
                      name="points", row=1, col=1)
    for dim, diagram, colour in [(0, h0, "#1f77b4"), (1, h1, "#d62728")]:
        finite = diagram[np.isfinite(diagram[:, 1])]
        views.add_scatter(x=finite[:, 0], y=finite[:, 1], mode="markers", name=f"H{dim}",
                          marker=dict(color=colour, size=7), row=1, col=2)
    views.add_scatter(x=[0, 2], y=[0, 2], mode="lines", line=dict(color="#999", dash="dot"), name="birth = death",
                      row=1, col=2)
    views.update_xaxes(title_text="x", row=1, col=1)
    views.update_yaxes(title_text="y", scaleanchor="x", row=1, col=1)
    views.update_xaxes(title_text="birth (" + EDGE + ")", range=[-0.05, 2], row=1, col=2)
    views.update_yaxes(title_text="death (edge length ε)", range=[-0.05, 2], row=1, col=2)
    views.update_layout(width=900, height=420, title="A circle: one long H1 bar, far above the diagonal")
    views.show()
    barcode(result.diagrams, points, "the same bars as a barcode (the infinite H0 bar is cut at the right)").show()
    """),
    md("""
    ## Watching the balls grow

    The Rips complex of the same circle at three edge lengths ε (balls of radius ε / 2 in
    orange, edges in grey, filled triangles in blue). Before the loop's birth the points form
    arcs; just after it a ring of edges closes the loop (drawn in red: a representative cycle);
    past its death triangles fill the disk and the hole is gone. Under each picture, the Betti
    numbers there: how many components (β0) and loops (β1) the diagram says are alive.
    """),
    code("""
    from tda_widgets.figures import filtration_figure
    from tda_widgets.topology import betti_numbers, representative_cycle, rips_complex

    loop_index = int(np.argmax(h1[:, 1] - h1[:, 0]))
    values = [round(loop[0] / 2, 2), round(loop[0] + 0.05, 2), round(loop[1] + 0.1, 2)]
    stages = make_subplots(rows=1, cols=3, horizontal_spacing=0.04,
                           subplot_titles=[f"ε = {v} (ball radius {v / 2:.2f}): β0 = {betti_numbers(result.diagrams, v)[0]}, "
                                           f"β1 = {betti_numbers(result.diagrams, v)[1]}" for v in values])
    cycle = representative_cycle(points, loop_index)
    for col, value in enumerate(values, start=1):
        stage = filtration_figure(points, rips_complex(points, value), balls=col < 3, cycle=cycle if col == 2 else None)
        for trace in stage.data:
            stages.add_trace(trace.update(showlegend=False), row=1, col=col)
        stages.update_xaxes(visible=False, row=1, col=col)
        stages.update_yaxes(visible=False, scaleanchor=f"x{col}" if col > 1 else "x", row=1, col=col)
    stages.update_layout(width=960, height=380, title="The circle's Rips complex before, during and after its loop",
                         margin=dict(t=90, l=10, r=10, b=10))
    for annotation in stages.layout.annotations:
        annotation.font.size = 12
    stages.show()
    assert betti_numbers(result.diagrams, values[1])[1] >= 1 and betti_numbers(result.diagrams, values[2])[1] == 0
    assert len(cycle) >= 3 and all(np.linalg.norm(points[i] - points[j]) <= loop[0] + 1e-5 for i, j in cycle)   # ripser: float32
    """),
    md("""
    ## Grow it yourself

    The same circle in a `FiltrationExplorer`: press **play** (or drag the slider) and watch the
    balls meet, the edges close the loop and the triangles fill it; the diagram shades the bars
    alive at the slider's value, the barcode's cursor crosses them, and the line above the plots
    gives β0 and β1 there. Click the red H1 point far from the diagonal to draw its loop. (In an
    exported copy the widget is empty: run the notebook to play.) For the class:

    1. At which edge length does β1 first become 1? Where is that on the diagram?
    2. Why are the balls' radii half the slider's value?
    3. Move to just past the loop's death: which triangles fill the hole?

    <details><summary>Answers</summary>

    1. At the loop's birth: the x of the red point far from the diagonal (the edge that closes
       the ring of edges appears there).
    2. An edge joins two points at distance at most ε, and two balls of radius ε / 2 touch
       exactly when their centres are ε apart: the balls show the edges.
    3. Big triangles spanning the hole, whose sides reach about √3 ≈ 1.73 (the inscribed
       equilateral triangle): once every point of the disk lies in one, the loop dies.
    </details>
    """),
    code("""
    from tda_widgets import FiltrationExplorer

    explorer = FiltrationExplorer(points)
    explorer.wait()
    explorer.value = float(loop[0] + 0.05)          # just after the loop is born
    assert explorer.betti == betti_numbers(result.diagrams, explorer.value) and explorer.betti[1] >= 1
    explorer
    """),
    md("""
    ## Two circles, noise, and a figure eight

    - **Two circles** one unit apart: two long H0 bars (the two circles are separate components
      until ε reaches the gap of 1) and two long H1 bars.
    - **Uniform noise** in a square: plenty of tiny loops, none of them long.
    - A **figure eight** (two circles touching): one component, **two** loops.

    Each shape on top, its diagram below (H0 blue, H1 red; the grey band along the diagonal holds
    the bars that are not long).
    """),
    code("""
    clouds = {name: make(120, 0.03, np.random.default_rng(1)) for name, make in SHAPES.items()}
    grid = make_subplots(rows=2, cols=4, subplot_titles=list(clouds), vertical_spacing=0.12, horizontal_spacing=0.06)
    summary = {}
    for col, (name, pts) in enumerate(clouds.items(), start=1):
        h0, h1 = persistence(pts, maxdim=1).diagrams
        summary[name] = (long_bars(h0, pts), long_bars(h1, pts))
        grid.add_scatter(x=pts[:, 0], y=pts[:, 1], mode="markers", marker=dict(size=4, color="#444"), showlegend=False,
                         row=1, col=col)
        grid.update_yaxes(scaleanchor=f"x{col}" if col > 1 else "x", row=1, col=col)
        band = LONG * spacing(pts)
        grid.add_scatter(x=[0, 2.2, 2.2, 0], y=[0, 2.2, 2.2 + band, band], fill="toself", mode="none",
                         fillcolor="rgba(150,150,150,0.25)", showlegend=False, hoverinfo="skip", row=2, col=col)
        for dim, diagram, colour in [(0, h0, "#1f77b4"), (1, h1, "#d62728")]:
            finite = diagram[np.isfinite(diagram[:, 1])]
            grid.add_scatter(x=finite[:, 0], y=finite[:, 1], mode="markers", marker=dict(size=6, color=colour),
                             name=f"H{dim}", showlegend=col == 1, row=2, col=col)
        grid.update_xaxes(range=[-0.05, 2.2], title_text="birth (ε)", row=2, col=col)
        grid.update_yaxes(range=[-0.05, 2.2], title_text="death (ε)" if col == 1 else None, row=2, col=col)
        grid.layout.annotations[col - 1].text = f"{name}: {summary[name][0]} long H0, {summary[name][1]} long H1"
    grid.update_layout(width=1000, height=560, title=f"Four shapes and their diagrams (axes: {EDGE})",
                       legend=dict(orientation="h", y=-0.12))
    grid.show()

    assert summary["circle"] == (1, 1)
    assert summary["two circles"] == (2, 2)
    assert summary["noise"][1] == 0        # no loop survives
    assert summary["figure eight"] == (1, 2)
    """),
    md("""
    ## Stability: small noise, small change

    Why can diagrams compare the layers of a network at all? Because they are **stable**: move
    every point by at most δ and every distance between two points changes by at most 2δ, so
    every edge (and every bar's birth and death) moves by at most 2δ in edge length. The
    **bottleneck distance** between two diagrams (the largest move needed to match their points,
    unmatched points going to the diagonal) is therefore at most the largest change of a pairwise
    distance, and at most 2δ.

    Below, a clean circle of 100 points and the same points with Gaussian noise of growing
    standard deviation σ: the bottleneck distance between their diagrams (H0 and H1) grows with
    σ and stays under both bounds.
    """),
    code("""
    from scipy.spatial.distance import pdist

    clean = circle(100, 0.0, np.random.default_rng(2))
    clean_diagrams = persistence(clean, maxdim=1).diagrams
    sigmas = np.linspace(0.0, 0.3, 13)
    rows = []
    for sigma in sigmas:
        noisy = clean + np.random.default_rng(3).normal(scale=sigma, size=clean.shape)
        d = diagrams_distance(clean_diagrams, persistence(noisy, maxdim=1).diagrams, "bottleneck", dims=(0, 1))
        rows.append((d, np.abs(pdist(clean) - pdist(noisy)).max(), 2 * np.linalg.norm(noisy - clean, axis=1).max()))
    bottleneck, distance_change, two_delta = map(np.array, zip(*rows))

    fig = go.Figure([
        go.Scatter(x=sigmas, y=bottleneck, mode="lines+markers", name="bottleneck distance (clean vs noisy)"),
        go.Scatter(x=sigmas, y=distance_change, mode="lines", line=dict(dash="dash"),
                   name="largest change of a pairwise distance (bound)"),
        go.Scatter(x=sigmas, y=two_delta, mode="lines", line=dict(dash="dot"), name="2 δ, δ = largest point move (bound)"),
    ])
    fig.update_layout(title="Stability: the diagrams move no more than the points", xaxis_title="noise σ (units of the points)",
                      yaxis_title="bottleneck distance (edge length ε)", width=760, height=420,
                      legend=dict(x=0.01, y=0.99))
    fig.show()
    assert bottleneck[0] == 0.0 and np.all(bottleneck <= distance_change + 1e-9) and np.all(distance_change <= two_delta + 1e-9)
    assert bottleneck[-1] > bottleneck[1]       # more noise, farther apart
    """),
    md("""
    ## Try it: noise and sample size

    Pick a shape and move the sliders; the diagram is recomputed (ripser, in the kernel) and the
    figures are updated in place. (In an exported copy of this notebook the widget is empty: run
    it to play.) Questions for the class:

    1. At what noise level does the circle's loop stop standing out from the short bars?
    2. How few points still show the figure eight's two loops?
    3. Why does the infinite H0 bar never move, whatever you do?
    4. Double every coordinate (a circle of radius 2). What happens to the diagram, and to the
       number of long bars?
    """),
    code("""
    shape = W.Dropdown(options=list(SHAPES), value="circle", description="shape")
    noise = W.FloatSlider(value=0.05, min=0.0, max=0.5, step=0.01, description="noise", continuous_update=False)
    n_points = W.IntSlider(value=80, min=10, max=300, step=10, description="points", continuous_update=False)
    counts = W.HTML()

    cloud_view = go.FigureWidget(go.Figure(go.Scatter(x=[], y=[], mode="markers", name="points", marker=dict(size=6)),
                                           layout=dict(width=380, height=380, yaxis=dict(scaleanchor="x"),
                                                       margin=dict(l=40, r=20, t=50, b=40))))
    diagram_view = go.FigureWidget(persistence_diagram_figure([np.zeros((0, 2)), np.zeros((0, 2))], dims=[0, 1],
                                                              width=400, height=380))
    latest = {}


    def update(change=None):
        points = SHAPES[shape.value](n_points.value, noise.value, np.random.default_rng(0))
        result = persistence(points, maxdim=1)
        latest.update(points=points, result=result)
        new = persistence_diagram_figure(list(result.diagrams), dims=[0, 1], width=400, height=380,
                                         title=f"{shape.value}: {len(points)} points, noise {noise.value:.2f}")
        new.update_layout(xaxis_title="birth (edge length ε)", yaxis_title="death (edge length ε)")
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
        latest["summary"] = (f"{long_bars(h0, points)} H0 and {long_bars(h1, points)} H1 bars last more than "
                             f"{LONG} neighbour gaps ({LONG * spacing(points):.2f}), of {len(h0)} and {len(h1)}")
        counts.value = f"<b>{latest['summary']}</b>"


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
    assert long_bars(h1, latest["points"]) == 2, h1
    # The widget shows the same diagram: its H1 trace holds the H1 bars.
    h1_trace = next(trace for trace in diagram_view.data if trace.name == "H1")
    assert len(h1_trace.x) == len(h1)
    print(latest["summary"])
    go.Figure(diagram_view)         # a static copy, for exported copies of the notebook
    """),
    md("""
    <details>
    <summary><b>Answers</b> (click to open)</summary>

    1. Two answers, for two questions (80 points, seed 0). By the 10-gap rule the loop stops
       counting as long between noise 0.1 and 0.2: noise both shortens the loop (it is born later,
       once the ring of points thickens) and widens the gaps. By eye, in the diagram, it still
       stands out above the other H1 points until about 0.35 to 0.4, where it is no longer than
       the second-longest loop: the points then fill a disk rather than a ring.
    2. About 60 points (30 per circle) at noise 0.02 for both loops to count as long; with 30 to
       50 points one loop passes and the other's bar is shorter than 10 gaps (still visible
       above the diagonal); with 20 or fewer, neither.
    3. One component always remains: the whole cloud is connected once ε exceeds its largest
       gap, and nothing ever kills the last component. Its bar starts at 0 and never ends.
    4. Every birth and death doubles (edge lengths scale with the picture), so the diagram
       stretches away from the origin; the number of long bars stays the same, because "long"
       is measured in neighbour gaps, which double too.
    </details>

    ## Take-aways

    - Long bars are the shape; short bars near the diagonal are noise. Persistence makes "how
      long" a number you can threshold, compare and compute distances with; measure it against
      the sampling (the neighbour gap), not in absolute units.
    - Scales are edge lengths (ε = 2r): say which convention a figure uses.
    - The bottleneck distance is stable: the diagrams move no more than twice the points do,
      which is why it can compare the layers of a network (`02_paper_study.ipynb`).
    """),
]


# --------------------------------------------------------------------------------------------
# 04: your own model and data
# --------------------------------------------------------------------------------------------

YOUR_MODEL = [
    md("""
    # Your model, your images

    The same tools on your own network, checkpoint and images. Nothing is downloaded: set the
    configuration in the next cell. When the checkpoint or the data folder does not exist (as on
    Binder), the notebook says so and runs on `torchvision.datasets.FakeData` and/or a randomly
    initialised network, so every cell still runs; the numbers then describe an untrained
    network on noise.
    """),
    md("""
    ## Configuration

    - `ARCHITECTURE`: `"cifar-resnet18"` is **your own `nn.Module`**, defined two cells below:
      the ResNet-18 most CIFAR checkpoints come from (a 3 x 3, stride-1 first convolution and no
      max-pool). Such a checkpoint does not load into `torchvision.models.resnet18`, whose
      ImageNet stem (7 x 7 stride-2 convolution and a max-pool) has other shapes. Any name in
      `tda_widgets.data.loaders.TORCHVISION_MODELS` (`"resnet18"`, `"vgg11"`, ...) gives
      torchvision's ImageNet-style model instead. For an architecture of your own, replace the
      class in that cell with yours: `load_checkpoint` names any missing or unexpected keys.
    - `NORMALIZE`: the per-channel mean and standard deviation your model was **trained** with:
      `"cifar10"`, `"cifar100"`, `"imagenet"`, `None` (pixels left in [0, 1]) or a pair
      `((mean_r, mean_g, mean_b), (std_r, std_g, std_b))`. The wrong one shifts every activation
      and the topology with it.
    - `LAYERS`: the modules whose outputs are studied, input to output. They **depend on the
      architecture**: ResNets have four stages `layer1` ... `layer4`, VGGs a `features.N` per
      convolution. The cell "Which layers are there?" prints the names to choose from, with each
      output's shape.
    """),
    code("""
    from pathlib import Path

    CHECKPOINT = Path("resnet18_cifar10.pt")           # a state dict, or a training checkpoint holding one
    ARCHITECTURE = "cifar-resnet18"                    # your nn.Module below, or a torchvision name
    NUM_CLASSES = 10
    DATA_ROOT = Path("~/data/cifar10").expanduser()    # holds cifar-10-batches-py/, or one folder per class
    IMAGE_SIZE = 32                                    # an image folder is resized and centre-cropped to this
    NORMALIZE = "cifar10"                              # the statistics the model was trained with
    N_IMAGES = 200                                     # class-balanced sample studied (keep it small on 2 cores)
    LAYERS = ["layer1", "layer2", "layer3", "layer4"]
    """),
    code("""
    import time

    import numpy as np
    import plotly.graph_objects as go
    import torch
    import torchvision
    from torch import nn
    from torchvision.transforms import ToTensor

    from tda_widgets import describe_layers, LayerDistanceExplorer, MapperExplorer
    from tda_widgets.data.loaders import balanced_subset, cifar10, image_folder, load_checkpoint, torchvision_model
    from tda_widgets.figures.notebook import show_figures_everywhere

    show_figures_everywhere()   # figures also show in exported HTML and nbviewer


    class CifarResNet18(nn.Module):
        \"\"\"ResNet-18 with the CIFAR stem: a 3 x 3, stride-1 ``conv1`` and no max-pool (32 x 32 inputs).

        Built from torchvision's blocks, so its state-dict keys are torchvision's (``conv1``, ``bn1``,
        ``layer1`` ... ``layer4``, ``fc``). Replace this class with your own architecture if your
        checkpoint uses other names.
        \"\"\"

        def __init__(self, num_classes=10):
            super().__init__()
            net = torchvision.models.resnet18(num_classes=num_classes)
            self.conv1 = nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
            self.bn1, self.relu = net.bn1, net.relu
            self.layer1, self.layer2, self.layer3, self.layer4 = net.layer1, net.layer2, net.layer3, net.layer4
            self.avgpool, self.fc = net.avgpool, net.fc

        def forward(self, x):
            x = self.relu(self.bn1(self.conv1(x)))
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            return self.fc(torch.flatten(self.avgpool(x), 1))


    torch.manual_seed(0)
    model = CifarResNet18(NUM_CLASSES) if ARCHITECTURE == "cifar-resnet18" else torchvision_model(ARCHITECTURE, NUM_CLASSES)
    if CHECKPOINT.exists():
        load_checkpoint(model, CHECKPOINT)      # a clear error names missing / unexpected keys and shapes
        print(f"Loaded {CHECKPOINT} into {ARCHITECTURE} ({sum(p.numel() for p in model.parameters()):,} parameters).")
    else:
        print(f"{CHECKPOINT} not found: using a randomly initialised {ARCHITECTURE}.")
    model.eval()

    if (DATA_ROOT / "cifar-10-batches-py").is_dir():
        dataset = cifar10(DATA_ROOT, train=False, normalize=NORMALIZE)
        print(f"CIFAR-10 test set from {DATA_ROOT}: {len(dataset)} images.")
    elif DATA_ROOT.is_dir():
        dataset = image_folder(DATA_ROOT, image_size=IMAGE_SIZE, normalize=NORMALIZE)
        print(f"Image folder {DATA_ROOT}: {len(dataset)} images in {len(dataset.classes)} classes.")
    else:
        print(f"{DATA_ROOT} not found: using FakeData (random {IMAGE_SIZE} x {IMAGE_SIZE} images, random labels).")
        dataset = torchvision.datasets.FakeData(size=200, image_size=(3, IMAGE_SIZE, IMAGE_SIZE),
                                                num_classes=NUM_CLASSES, transform=ToTensor())
    class_names = list(getattr(dataset, "classes", None) or [str(k) for k in range(NUM_CLASSES)])
    images = balanced_subset(dataset, min(N_IMAGES, len(dataset)))
    print(f"Studying {len(images)} images of {len(class_names)} classes.")
    """),
    md("""
    ## Which layers are there?

    `describe_layers` runs one image through the model and lists every named module with its
    output shape. Any name from it can go into `LAYERS`; a typo gets the closest names. Below,
    the top-level modules; nested ones (`layer3.1.conv2`, ...) are listed by `describe_layers`
    too.
    """),
    code("""
    table = describe_layers(model, images)
    shapes = {row["name"]: tuple(row["output_shape"]) for row in table}
    for row in table:
        if "." not in row["name"]:
            mark = "  <- in LAYERS" if row["name"] in LAYERS else ""
            print(f"{row['name']:>10}  {row['type']:<18} {str(tuple(row['output_shape'])):<16}{mark}")

    missing = [layer for layer in LAYERS if layer not in shapes]
    if missing:
        print(f"\\nNot in this model: {missing}. Choose LAYERS from the names above and rerun the cell.")
    tiny = [layer for layer in LAYERS if layer in shapes and len(shapes[layer]) == 3 and shapes[layer][1:] == (1, 1)]
    if tiny:
        print(f"\\n{tiny} are 1 x 1: the image was shrunk to a single position (an ImageNet stem on small "
              "images does that). Their clouds are one point per image whatever the cloud mode; use bigger "
              "images or the CIFAR stem.")
    if ARCHITECTURE == "cifar-resnet18" and not missing:
        side = images[0][0].shape[-1]
        # the CIFAR stem keeps the image size; layer2..layer4 halve it once each
        assert [shapes[layer] for layer in LAYERS] == [(64, side, side), (128, side // 2, side // 2),
                                                       (256, side // 4, side // 4), (512, side // 8, side // 8)]
    """),
    md("""
    ## Layer distances: persistent homology beside CKA

    One point per image (each stage's feature maps average-pooled), 150 images per cloud.
    Click a cell of the PH heat map to see the two stages' diagrams matched. The static copy
    after the next cell is what an exported notebook shows.
    """),
    code("""
    start = time.perf_counter()
    distances = LayerDistanceExplorer(model, images, layers=LAYERS, metric="bottleneck", max_points=150)
    distances
    """),
    code("""
    distances.wait()
    comparison = distances.result_
    print(f"{len(LAYERS)} layers, {len(images)} images: {time.perf_counter() - start:.1f} s; "
          f"Spearman rho(PH, 1 - CKA) = {comparison['spearman']:.2f} over {len(LAYERS) * (len(LAYERS) - 1) // 2} pairs")
    assert comparison["layers"] == LAYERS
    assert comparison["ph"].shape == (len(LAYERS),) * 2 and np.allclose(comparison["ph"], comparison["ph"].T)
    assert np.allclose(np.diag(comparison["ph"]), 0.0) and np.allclose(np.diag(comparison["cka"]), 1.0)
    distances.heatmap_fig.figure
    """),
    md("""
    ## Mapper graphs of the four stages

    Hover or click a node for its images; the same images are ringed in the other stages'
    graphs. With a trained model and real images, classes (or groups of classes, such as
    CIFAR-10's animals and vehicles: pass `class_groups="cifar10"`) separate in the later
    stages; with the random fallback they do not, which is what an untrained network on noise
    should show.
    """),
    code("""
    mapper = MapperExplorer(model, images, layers=LAYERS, class_names=class_names, max_points=200,
                            show_all_layers=True)
    mapper
    """),
    code("""
    mapper.wait()
    assert mapper.graphs_, getattr(mapper, "errors_", None)
    assert set(mapper.graphs_) <= set(LAYERS)
    for layer, graph in mapper.graphs_.items():
        print(f"{layer}: {len(graph.nodes)} nodes, {len(graph.edges)} edges, size-weighted purity "
              f"{graph.mean_purity('class'):.2f} (chance about {1 / len(class_names):.2f})")
    mapper.main_fig.figure
    """),
    md("""
    ## Run time and device

    On two CPU cores, the cells above take tens of seconds for 200 images (the timing is printed
    under the distances). What grows with your setting:

    - **images** (`N_IMAGES`): the forward pass and CKA, linearly. Put the model on a GPU
      (`model.to("cuda")` before the explorers) and the capture runs there, each batch moved to
      the model's device; persistence and mapper stay on the CPU.
    - **points per cloud** (`max_points`): persistent homology, steeply (H1 on 1,000 points takes
      about a second per layer here, a noisy loop much more); stay at or under 500 for a first look.
    - **layers**: every measure once per layer and once per pair. A ResNet-50 with every block
      is fine; every convolution of a large model is a job for `Study(..., executor="processes")`
      or a dask cluster (`05_beyond_the_paper.ipynb`), and `estimate_study` says the memory and time
      before you start.
    """),
]


NOTEBOOKS = {
    "01_tour.ipynb": TOUR,
    "02_paper_study.ipynb": PAPER,
    "03_teaching_persistence.ipynb": TEACHING,
    "04_your_model.ipynb": YOUR_MODEL,
    "05_beyond_the_paper.ipynb": BEYOND,
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
