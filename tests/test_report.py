"""The standalone HTML report and the ``report`` command."""

from __future__ import annotations

import base64
import json
import re

import numpy as np
import pytest
import torch
from plotly.offline import get_plotlyjs
from ripser import ripser
from scipy.spatial.distance import pdist

from tda_widgets.__main__ import main
from tda_widgets.compute import CloudSpec, Study
from tda_widgets.data import load_demo
from tda_widgets.errors import TDAInputError
from tda_widgets.report import build_report, layer_purity, write_report

SPEC = CloudSpec(mode="auto", max_points=60)


def _study(demo):
    return Study(demo.model, demo.images, demo.labels, demo.layers, class_names=demo.class_names)


@pytest.fixture(scope="module")
def demo():
    return load_demo(n_images=100)


@pytest.fixture(scope="module")
def built(demo):
    study = _study(demo)
    calls = []
    document = build_report(study, spec=SPEC, progress=lambda d, t, m: calls.append((d, t, m)))
    return study, document, calls


def _decode(value):
    """A plotly JSON array: a list, or a base64 typed array ``{"dtype", "bdata", "shape"}``."""
    if isinstance(value, dict) and "bdata" in value:
        array = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        shape = [int(s) for s in str(value.get("shape", len(array))).split(",")]
        return array.reshape(shape)
    return np.asarray([np.nan if v is None else v for v in value], dtype=np.float64) \
        if value and not isinstance(value[0], list) else \
        np.asarray([[np.nan if v is None else v for v in row] for row in value], dtype=np.float64)


def _figure_data(document, div_id):
    """The traces of the figure drawn into ``div_id`` (the JSON passed to Plotly.newPlot)."""
    match = re.search(r'Plotly\.newPlot\(\s*"' + re.escape(div_id) + r'",\s*', document)
    assert match, f"no figure {div_id}"
    traces, _ = json.JSONDecoder().raw_decode(document, match.end())
    return {trace.get("name"): trace for trace in traces}


def test_one_self_contained_file(built, demo):
    _, document, _ = built
    assert document.startswith("<!DOCTYPE html>") and document.rstrip().endswith("</html>")
    plotly_js = get_plotlyjs()
    assert document.count(plotly_js) == 1  # the whole library, inline, exactly once
    assert len(document) < len(plotly_js) + 2_000_000
    assert not re.search(r"<script[^>]*\bsrc\s*=", document, re.IGNORECASE)  # no CDN, no file
    assert not re.search(r"<link[^>]*\bhref\s*=\s*[\"']https?:", document, re.IGNORECASE)
    # the layer distances, the measures table, the sensitivity test, a diagram and a mapper graph per
    # layer, then the class hierarchy: purity per layer, the confusion tree and a class tree per layer
    assert document.count("Plotly.newPlot(") == 3 + 2 * len(demo.layers) + 2 + len(demo.layers)
    assert 'id="measures-table"' in document
    for i, layer in enumerate(demo.layers):
        assert f">{layer}<" in document
        assert f'id="diagram-{i}"' in document and f'id="mapper-{i}"' in document
    assert "How to read this" in document
    # layer output shapes per image, as documented for DigitsCNN
    assert "<td>block1</td><td>(16, 8, 8)</td>" in document and "<td>fc1</td><td>(64,)</td>" in document
    assert f"<td>{demo.images.shape[0]}" in document  # the header's number of images


def test_heat_map_values_equal_the_study(built, demo):
    study, document, _ = built
    # reference: a fresh study (empty cache) on the same model and images
    reference = _study(demo).compare(spec=SPEC, metric="bottleneck", dims=(0, 1))
    traces = _figure_data(document, "layer-distances")
    ph = _decode(traces["ph"]["z"])
    cka_distance = _decode(traces["cka"]["z"])
    assert traces["ph"]["x"] == list(demo.layers)
    np.testing.assert_allclose(ph, reference["ph"], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(cka_distance, 1.0 - reference["cka"], rtol=1e-12, atol=1e-12)
    assert f"ρ = {reference['spearman']:.2f}" in document
    # the rank correlation, recomputed with scipy over the upper triangle
    from scipy.stats import spearmanr

    upper = np.triu_indices(len(demo.layers), 1)
    rho = spearmanr(reference["ph"][upper], 1.0 - reference["cka"][upper]).statistic
    assert reference["spearman"] == pytest.approx(rho)


def test_diagram_matches_ripser(built):
    study, document, _ = built
    layer = study.layers[0]
    points = study.cloud(layer, SPEC).points
    scaled = points / np.median(pdist(points))  # the report's default scale="median"
    expected = ripser(scaled, maxdim=1)["dgms"][1]
    trace = _figure_data(document, "diagram-0")["H1"]
    drawn = np.column_stack([_decode(trace["x"]), _decode(trace["y"])])
    assert len(expected) > 0
    key = lambda a: a[np.lexsort((a[:, 1], a[:, 0]))]
    np.testing.assert_allclose(key(drawn), key(expected), rtol=1e-6, atol=1e-9)


def test_purity_table(built):
    study, document, _ = built
    labels = study.labels
    for layer in study.layers:
        graph = study.mapper(layer, SPEC)
        cloud = study.cloud(layer, SPEC)
        point_labels = labels[cloud.image_index]
        # reference: majority counts from the members' labels directly
        majority = sum(np.bincount(point_labels[node.members]).max() for node in graph.nodes)
        total = sum(len(node.members) for node in graph.nodes)
        expected = majority / total
        assert layer_purity(graph)["purity"] == pytest.approx(expected)
        row = re.search(r"<tr><td>" + re.escape(layer) + r"</td>(.*?)</tr>",
                        document.split('class="purity"')[1]).group(1)
        assert f"<b>{expected:.3f}</b>" in row
        assert f"<td class='num'>{len(graph.nodes)}</td>" in row


def test_progress_reaches_the_end(built):
    _, _, calls = built
    done, total, _ = calls[-1]
    assert done == total and total > 0
    assert [d for d, _, _ in calls] == sorted(d for d, _, _ in calls)


def test_bad_settings(built, tmp_path):
    study, _, _ = built
    with pytest.raises(TDAInputError, match="'metric' parameter of build_report"):
        build_report(study, spec=SPEC, metric="botleneck")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        write_report(tmp_path / "no" / "r.html", study, spec=SPEC)


def test_cli_demo_writes_the_file(tmp_path, capsys):
    out = tmp_path / "report.html"
    code = main(["report", "--demo", "--n-images", "60", "--points", "40", "--out", str(out), "--quiet"])
    assert code == 0
    document = out.read_text(encoding="utf-8")
    assert document.count(get_plotlyjs()) == 1
    assert "digits CNN" in document and "block1" in document and "head" in document
    assert f"wrote {out}" in capsys.readouterr().out


def _one_error_line(capsys):
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if "error:" in line]
    assert len(lines) == 1
    return lines[0]


def test_cli_missing_images_exits_2(tmp_path, capsys):
    missing = tmp_path / "no_such_images"
    code = main(["report", "--model", "torchvision:resnet18", "--images", str(missing),
                 "--out", str(tmp_path / "r.html"), "--quiet"])
    assert code == 2
    assert str(missing) in _one_error_line(capsys)
    assert not (tmp_path / "r.html").exists()


def _image_folder(root, n_per_class=6, size=16):
    from PIL import Image

    rng = np.random.default_rng(0)
    for k, name in enumerate(["circle", "square"]):
        (root / name).mkdir(parents=True)
        for i in range(n_per_class):
            pixels = (rng.random((size, size, 3)) * 80 + 120 * k).astype(np.uint8)
            Image.fromarray(pixels).save(root / name / f"{i}.png")
    return root


def test_cli_unknown_model_and_layer(tmp_path, capsys):
    images = _image_folder(tmp_path / "images", n_per_class=2)
    code = main(["report", "--model", "torchvision:resnet81", "--images", str(images),
                 "--out", str(tmp_path / "r.html"), "--quiet"])
    assert code == 2
    assert "resnet81" in _one_error_line(capsys)
    code = main(["report", "--demo", "--layers", "block1,blok2", "--out", str(tmp_path / "r.html"), "--quiet"])
    assert code == 2
    assert "blok2" in _one_error_line(capsys)
    code = main(["report", "--out", str(tmp_path / "r.html")])
    assert code == 2
    assert "--demo" in _one_error_line(capsys)


MODEL_FILE = '''
import torch
from torch import nn


class TinyNet(nn.Module):
    def __init__(self, num_classes=2):
        super().__init__()
        self.conv = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU())
        self.pool = nn.AdaptiveAvgPool2d(2)
        self.flat = nn.Flatten()
        self.fc = nn.Linear(16, num_classes)

    def forward(self, x):
        return self.fc(self.flat(self.pool(self.conv(x))))
'''


def test_cli_model_file_checkpoint_and_images(tmp_path, capsys):
    images = _image_folder(tmp_path / "images")
    (tmp_path / "tiny.py").write_text(MODEL_FILE)
    namespace = {}
    exec(MODEL_FILE, namespace)
    torch.manual_seed(0)
    torch.save({"model_state_dict": namespace["TinyNet"]().state_dict(), "epoch": 1}, tmp_path / "w.pt")
    out = tmp_path / "r.html"
    code = main(["report", "--model-file", f"{tmp_path / 'tiny.py'}:TinyNet", "--checkpoint",
                 str(tmp_path / "w.pt"), "--images", str(images), "--image-size", "16",
                 "--layers", "conv,fc", "--n-images", "10", "--points", "10", "--out", str(out), "--quiet"])
    assert code == 0, capsys.readouterr().err
    document = out.read_text(encoding="utf-8")
    assert "TinyNet, weights w.pt" in document
    assert ">conv<" in document and ">fc<" in document
    assert "circle, square" in document
    assert re.search(r"<th>images</th><td>10 ", document)
    # a checkpoint for another architecture: exit 2 naming the keys
    torch.save({"other.weight": torch.zeros(2)}, tmp_path / "bad.pt")
    code = main(["report", "--model-file", f"{tmp_path / 'tiny.py'}:TinyNet", "--checkpoint",
                 str(tmp_path / "bad.pt"), "--images", str(images), "--out", str(out), "--quiet"])
    assert code == 2
    line = _one_error_line(capsys)
    assert "'other.weight'" in line and "missing keys" in line


def test_measures_table_section_equals_the_study(built):
    from tda_widgets.topology.agreement import measures_table

    study, document, _ = built
    assert "Similarity measures beside PH and CKA" in document
    traces = _figure_data(document, "measures-table")
    table = study.measures_table(spec=SPEC, skip_errors=True)  # cached: the report's own numbers
    assert table.labels[0].startswith("PH") and "RTD" in table.labels
    np.testing.assert_allclose(_decode(traces["agreement"]["z"]), table.agreement, atol=1e-12)
    np.testing.assert_allclose(_decode(traces["monotonicity"]["y"]), table.monotonicity, atol=1e-12)
    svcca = study.similarity("svcca", spec=SPEC)
    expected = measures_table({"ph": study.distance_matrix(spec=SPEC), "svcca": svcca},
                              {"ph": "distance", "svcca": "similarity"})
    a, b = table.names.index("ph"), table.names.index("svcca")
    assert table.agreement[a, b] == pytest.approx(expected.agreement[0, 1])
    assert f"<b>{table.monotonicity[a]:.2f}</b>" in document


def _hierarchy_rows(document):
    section = document.split("The class hierarchy, layer by layer")[1].split('class="hierarchy"')[1]
    return {m.group(1): [float(v) if v not in ("–",) else np.nan for v in m.group(2, 3, 4)]
            for m in re.finditer(r"<tr><td>([^<]*)</td><td class='num'>([^<]*)</td><td class='num'>([^<]*)</td>"
                                 r"<td class='num'><b>([^<]*)</b></td></tr>", section)}


def _softmax_confusion_tree(study):
    """The model's confusion tree from scratch: torch's softmax summed per true class, the
    mistakes only (C + C.T off the diagonal over the root of the row totals), scipy's linkage."""
    from scipy.cluster.hierarchy import linkage
    from scipy.spatial.distance import squareform

    with torch.no_grad():
        probabilities = torch.softmax(study.model(torch.as_tensor(np.asarray(study.images))), 1).double().numpy()
    c = np.stack([probabilities[study.labels == k].sum(axis=0) for k in range(10)])
    raw = c + c.T
    np.fill_diagonal(raw, 0)
    distance = 1 - raw / np.sqrt(np.outer(raw.sum(1), raw.sum(1)))
    np.fill_diagonal(distance, 0)
    return linkage(squareform(np.clip(distance, 0, None), checks=False), method="average")


def _tree_of_nodes(graph, point_labels):
    """A layer's class tree from the nodes' members directly (numpy + scipy)."""
    from scipy.cluster.hierarchy import linkage
    from scipy.spatial.distance import squareform

    raw = np.zeros((10, 10))
    for node in graph.nodes:
        p = np.bincount(point_labels[node.members], minlength=10) / len(node.members)
        raw += len(node.members) * np.outer(p, p)
    norm = np.sqrt(np.diag(raw))
    with np.errstate(invalid="ignore", divide="ignore"):
        affinity = np.nan_to_num(raw / np.outer(norm, norm))
    distance = 1 - affinity
    np.fill_diagonal(distance, 0)
    return linkage(squareform(np.clip(distance, 0, None), checks=False), method="average")


def test_class_hierarchy_section_without_groups_uses_the_models_confusions(built, demo):
    """Issue 18: no class_groups given: the groups are the confusion tree cut into 3, and every
    number of the section equals a recomputation from the nodes' members and scipy."""
    from scipy.cluster.hierarchy import fcluster, leaves_list
    from sklearn.metrics import adjusted_rand_score

    study, document, _ = built
    section = document.split("The class hierarchy, layer by layer")[1].split("<h2>")[0]
    for div in ["purity-by-layer", "confusion-tree"] + [f"class-tree-{i}" for i in range(len(demo.layers))]:
        assert f'id="{div}"' in section
    assert "mistakes suggest" in section and "How to read this" in section
    confusion = fcluster(_softmax_confusion_tree(study), t=3, criterion="maxclust")
    assert len(set(confusion)) == 3
    # the groups named in the text are the scipy cut's clusters
    for k in set(confusion):
        members = ", ".join(str(c) for c in range(10) if confusion[c] == k)
        assert f"</b>: {members}" in section
    assert [str(c) for c in leaves_list(_softmax_confusion_tree(study))] == \
        _figure_layout_ticks(document, "confusion-tree")
    # the confusion tree marks its cut into those groups: scipy's tree cut at the line's height
    cut = [shape for shape in _figure_layout(document, "confusion-tree").get("shapes", []) if shape.get("name") == "cut"]
    assert len(cut) == 1
    at_line = fcluster(_softmax_confusion_tree(study), t=cut[0]["y0"], criterion="distance")
    assert adjusted_rand_score(confusion, at_line) == 1.0
    rows = _hierarchy_rows(document)
    assert list(rows) == list(demo.layers)
    drawn = _figure_data(document, "purity-by-layer")
    for i, layer in enumerate(demo.layers):
        graph = study.mapper(layer, SPEC)
        point_labels = study.labels[study.cloud(layer, SPEC).image_index]
        sizes = np.array([len(n.members) for n in graph.nodes])
        class_counts = [np.bincount(point_labels[n.members], minlength=10) for n in graph.nodes]
        group_counts = [np.bincount(confusion[point_labels[n.members]], minlength=4) for n in graph.nodes]
        class_p = sum(c.max() for c in class_counts) / sizes.sum()
        group_p = sum(c.max() for c in group_counts) / sizes.sum()
        tree = _tree_of_nodes(graph, point_labels)
        agreement = adjusted_rand_score(confusion, fcluster(tree, t=3, criterion="maxclust"))
        assert rows[layer][0] == pytest.approx(class_p, abs=5e-4)
        assert rows[layer][1] == pytest.approx(group_p, abs=5e-4)
        assert rows[layer][2] == pytest.approx(agreement, abs=5e-3)
        assert _decode(drawn["class purity"]["y"])[i] == pytest.approx(class_p)
        assert _decode(drawn["group purity"]["y"])[i] == pytest.approx(group_p)
        assert [str(c) for c in leaves_list(tree)] == _figure_layout_ticks(document, f"class-tree-{i}")
    assert rows["block1"][0] < rows["head"][0]  # classes separate with depth


def _figure_layout(document, div_id):
    """The layout of the figure drawn into ``div_id`` (the JSON passed to Plotly.newPlot)."""
    match = re.search(r'Plotly\.newPlot\(\s*"' + re.escape(div_id) + r'",\s*', document)
    decoder = json.JSONDecoder()
    _, end = decoder.raw_decode(document, match.end())
    layout, _ = decoder.raw_decode(document, re.search(r",\s*", document[end:]).end() + end)
    return layout


def _figure_layout_ticks(document, div_id):
    """The x tick labels of the figure drawn into ``div_id`` (a dendrogram's leaves)."""
    return _figure_layout(document, div_id)["xaxis"]["ticktext"]


def test_class_hierarchy_section_with_given_groups(demo):
    """Given groups (a dict) are used, named in the text, and the agreement is the scipy cut's
    adjusted Rand index with them; a model that gives no class probabilities still reports."""
    from scipy.cluster.hierarchy import fcluster
    from sklearn.metrics import adjusted_rand_score

    groups = {c: ("round" if c in (0, 6, 8, 9) else "straight") for c in range(10)}
    study = _study(demo)
    document = build_report(study, spec=SPEC, mapper_kwargs={"class_groups": groups})
    section = document.split("The class hierarchy, layer by layer")[1].split("<h2>")[0]
    assert "the ones given" in section and "<b>round</b>: 0, 6, 8, 9" in section
    # the confusion tree is a reference only here: no cut drawn on it
    assert not [s for s in _figure_layout(document, "confusion-tree").get("shapes", []) if s.get("name") == "cut"]
    truth = [groups[c] for c in range(10)]
    for layer, (class_p, group_p, agreement) in _hierarchy_rows(document).items():
        graph = study.mapper(layer, SPEC)
        point_labels = study.labels[study.cloud(layer, SPEC).image_index]
        cut = fcluster(_tree_of_nodes(graph, point_labels), t=2, criterion="maxclust")
        assert agreement == pytest.approx(adjusted_rand_score(truth, cut), abs=5e-3)
        in_group = [sum(max(np.sum(np.isin(point_labels[n.members], [c for c in groups if groups[c] == g]))
                                for g in ("round", "straight")) for n in graph.nodes)]
        assert group_p == pytest.approx(in_group[0] / sum(len(n.members) for n in graph.nodes), abs=5e-4)


def test_class_hierarchy_section_without_labels_or_probabilities(demo):
    from torch import nn

    no_labels = Study(demo.model, demo.images, None, demo.layers[:3])
    document = build_report(no_labels, spec=SPEC)
    section = document.split("The class hierarchy, layer by layer")[1].split("<h2>")[0]
    assert "needs labels" in section and 'id="purity-by-layer"' not in section
    # a model whose output is not one score per image: no confusion tree, class purity only
    body = nn.Sequential(demo.model.block1, demo.model.block2)
    no_logits = Study(body, demo.images, demo.labels, ["0", "1"], class_names=demo.class_names)
    document = build_report(no_logits, spec=SPEC)
    section = document.split("The class hierarchy, layer by layer")[1].split("<h2>")[0]
    assert 'id="purity-by-layer"' in section and 'id="class-tree-1"' in section
    assert 'id="confusion-tree"' not in section and "suggest none" in section
    assert set(_figure_data(document, "purity-by-layer")) == {"class purity"}


def test_the_data_is_collected_apart_from_the_page(built, demo):
    """Issue 28: collecting (a dataclass, no HTML) is apart from rendering; the page's settings
    are generated from the steps' specs and the records, never written by hand."""
    import dataclasses
    import html

    from tda_widgets.report import ReportData, collect_report, render_report
    from tda_widgets.topology.similarity import MEASURE_INFO

    study, document, _ = built
    data = collect_report(study, spec=SPEC)  # every step cached by the fixture's report
    assert isinstance(data, ReportData)
    texts = [value for f in dataclasses.fields(data) for value in [getattr(data, f.name)] if isinstance(value, str)]
    assert texts and not any("<" in text for text in texts)  # no HTML in the data
    np.testing.assert_array_equal(data.comparison["ph"], study.distance_matrix(spec=SPEC))
    page = html.unescape(render_report(data))
    assert page.split("<footer>")[0] == html.unescape(document).split("<footer>")[0]  # the same page
    # each step's header row lists every declared option's label and value
    header = page.split('<table class="header">')[1].split("</table>")[0]
    for step, spec in data.specs.items():
        row = header.split(f"<th>{step}</th><td>")[1].split("</td>")[0]
        for name in type(spec).options():
            if step != "similarity measures" or name != "measure":
                assert f"{name.replace('_', ' ')} {getattr(spec, name)}" in row, (step, name)
    assert "flattened activations" not in header  # the hand-written sentence is gone
    for name in data.table.names:  # what each measure compares: its record's description
        if name in MEASURE_INFO:
            assert MEASURE_INFO[name].description in page
    assert all(record.label in page for record in MEASURE_INFO.values())
    assert "one point per" in page and "image, mean over spatial positions" in page  # the mode's record
