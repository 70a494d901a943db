"""A study saved to one file and opened again (issue 33): bit for bit in a fresh interpreter
without the model, a clear error for what needs the model, fingerprints checked with it, broken
or foreign files refused, explorers and the report from the file.

The reference of every number is what the study computed from the model before it was saved
(written by this process with np.save / json, read back by numpy / json, never by the code under test).
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

import tda_widgets as tw
from tda_widgets.data.digits import DigitsCNN
from tda_widgets.engine.saved import FORMAT_VERSION, NeedsModelError, StudyFileError, _Decoder, _encode

ROOT = Path(__file__).resolve().parents[1]
POINTS = 80


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """The demo study (80 images) with what the three explorers show computed from the model, saved."""
    demo = tw.load_demo(n_images=80)
    study = tw.Study(demo.model, demo.images, demo.labels, demo.layers, class_names=demo.class_names)
    explorers = dict(persistence_explorer=tw.PersistenceExplorer(study=study, threaded=False, max_points=POINTS),
                     distances_explorer=tw.LayerDistanceExplorer(study=study, threaded=False, max_points=POINTS),
                     mapper_explorer=tw.MapperExplorer(study=study, threaded=False, max_points=POINTS))
    spec = tw.CloudSpec(max_points=POINTS)
    reference = dict(distances=study.distance_matrix(spec=spec), diagrams=study.diagrams(spec=spec),
                     graph=study.mapper(demo.layers[-1], spec), predictions=study.predictions())
    folder = tmp_path_factory.mktemp("saved")
    path = study.save(folder / "demo.tda")
    yield SimpleNamespace(demo=demo, study=study, path=path, spec=spec, folder=folder, **explorers, **reference)
    for explorer in explorers.values():
        explorer.close()


def _graph_json(graph) -> str:
    return json.dumps(graph.to_node_link(), sort_keys=True)


def test_a_fresh_interpreter_without_the_model_gives_the_same_results_bit_for_bit(saved, tmp_path):
    np.save(tmp_path / "distances.npy", saved.distances)
    np.savez(tmp_path / "diagrams.npz", **{f"{layer}:H{d}": dgm for layer, result in saved.diagrams.items()
                                            for d, dgm in enumerate(result.diagrams)})
    script = textwrap.dedent(f"""
        import json, sys
        import numpy as np
        import tda_widgets as tw
        study = tw.open_study({str(saved.path)!r})
        spec = tw.CloudSpec(max_points={POINTS})
        np.save("distances.npy", study.distance_matrix(spec=spec))
        np.savez("diagrams.npz", **{{f"{{layer}}:H{{d}}": dgm for layer, result in study.diagrams(spec=spec).items()
                                    for d, dgm in enumerate(result.diagrams)}})
        graph = study.mapper({saved.demo.layers[-1]!r}, spec)
        open("graph.json", "w").write(json.dumps(graph.to_node_link(), sort_keys=True))
        json.dump(dict(study.context.stats, torch_model="DigitsCNN" in repr(study.model)), open("stats.json", "w"))
    """)
    child = tmp_path / "child"
    child.mkdir()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-c", script], cwd=child, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    mine, theirs = np.load(tmp_path / "distances.npy"), np.load(child / "distances.npy")
    assert mine.dtype == theirs.dtype and mine.tobytes() == theirs.tobytes()
    with np.load(tmp_path / "diagrams.npz") as a, np.load(child / "diagrams.npz") as b:
        assert sorted(a.files) == sorted(b.files) and len(a.files) == 2 * len(saved.demo.layers)
        for name in a.files:
            assert a[name].dtype == b[name].dtype and a[name].tobytes() == b[name].tobytes(), name
    assert (child / "graph.json").read_text() == _graph_json(saved.graph)
    stats = json.loads((child / "stats.json").read_text())
    assert stats.pop("torch_model") is False
    assert set(stats.values()) == {0}  # nothing recomputed: every answer came from the file


def test_a_request_that_needs_the_model_names_what_is_missing_and_the_fix(saved):
    study = tw.open_study(saved.path)
    assert np.array_equal(study.predictions(), saved.predictions)  # stored: the model's outputs
    layer = saved.demo.layers[0]
    requests = {"Study.cloud": lambda: study.cloud(layer, tw.CloudSpec(max_points=POINTS + 1)),   # a new budget
                "'nope'": lambda: study.diagrams(["nope"], saved.spec),                             # a new layer
                "Study.cka": lambda: study.cka(kernel="rbf")}                                        # a step not run
    for named, request in requests.items():
        with pytest.raises(NeedsModelError) as info:
            request()
        text = str(info.value)
        assert named in text and str(saved.path) in text and "model=model, images=images" in text, text
    # what needs neither model nor images is computed from the stored diagrams, as from the live study
    other = study.distance_matrix(spec=saved.spec, metric="wasserstein-1")
    assert np.array_equal(other, saved.study.distance_matrix(spec=saved.spec, metric="wasserstein-1"))


def test_opened_with_its_model_the_fingerprints_are_checked_then_missing_results_computed(saved):
    demo = saved.demo
    with pytest.raises(StudyFileError, match="another model, or other weights") as info:
        tw.open_study(saved.path, model=DigitsCNN().eval(), images=demo.images)
    assert str(saved.path) in str(info.value)
    with pytest.raises(StudyFileError, match="not the images"):
        tw.open_study(saved.path, model=demo.model, images=demo.images.flip(-1))
    study = tw.open_study(saved.path, model=demo.model, images=demo.images)
    assert study.has_model and np.array_equal(study.distance_matrix(spec=saved.spec), saved.distances)
    assert study.context.stats["persistence"] == 0 and study.context.stats["captures"] == 0
    cloud = study.cloud(demo.layers[0], tw.CloudSpec(max_points=POINTS // 2))  # not stored: computed
    assert cloud.n_points == POINTS // 2 and study.context.stats["captures"] == 1


def _rewrite(source: Path, target: Path, change) -> Path:
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "manifest.json":
                data = json.dumps(change(json.loads(data))).encode()
            zout.writestr(info, data)
    return target


def test_broken_foreign_newer_or_oversized_files_are_refused_clearly_and_nothing_changes(saved, tmp_path):
    data = saved.path.read_bytes()
    files = {"truncated": (tmp_path / "truncated.tda", data[: len(data) // 2]),
             "not a zip": (tmp_path / "notes.tda", b"just some text, not a study\n")}
    corrupt = bytearray(data)
    with zipfile.ZipFile(saved.path) as archive:
        info = archive.getinfo("manifest.json")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    corrupt[start + 40: start + 60] = bytes(20)  # inside the manifest's compressed bytes
    files["corrupt"] = (tmp_path / "corrupt.tda", bytes(corrupt))
    foreign = io.BytesIO()
    with zipfile.ZipFile(foreign, "w") as archive:
        archive.writestr("word/document.xml", "<doc/>")
    files["not a tda-widgets study"] = (tmp_path / "foreign.tda", foreign.getvalue())
    traversal = io.BytesIO()
    with zipfile.ZipFile(traversal, "w") as archive:
        archive.writestr("manifest.json", "{}")
        archive.writestr("../../evil.npy", b"x")
    files["unexpected members"] = (tmp_path / "traversal.tda", traversal.getvalue())
    for path, content in files.values():
        path.write_bytes(content)
    _rewrite(saved.path, tmp_path / "newer.tda", lambda m: dict(m, format_version=FORMAT_VERSION + 1))
    files["newer than the version"] = (tmp_path / "newer.tda", None)
    # a class outside the registry (as a crafted file would name one) is refused; nothing is imported
    crafted = lambda m: dict(m, entries=[{"key": {"$tuple": ["x"]}, "value": {"$dc": "os.system", "fields": {}}}])
    _rewrite(saved.path, tmp_path / "crafted.tda", crafted)
    files["unknown class 'os.system'"] = (tmp_path / "crafted.tda", None)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    for problem, (path, _) in files.items():
        with pytest.raises(StudyFileError) as info:
            tw.open_study(path)
        text = str(info.value)
        assert str(path) in text and problem in text and "Nothing was changed" in text, (problem, text)
    with pytest.raises(StudyFileError, match="above the limit"):  # a zip bomb: refused before decompressing
        tw.open_study(saved.path, max_bytes=10_000)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_the_file_is_small_plain_and_written_whole(saved, tmp_path):
    assert saved.path.stat().st_size < 5 * 1024**2
    with zipfile.ZipFile(saved.path) as archive:
        names = archive.namelist()
        manifest = json.loads(archive.read("manifest.json"))
        for name in names[1:]:
            np.load(io.BytesIO(archive.read(name)), allow_pickle=False)  # plain arrays: no pickle anywhere
    assert names[0] == "manifest.json" and all(n.startswith("arrays/") for n in names[1:])
    assert manifest["format_version"] == FORMAT_VERSION and manifest["package_version"] == tw.__version__
    steps = {entry["key"]["$tuple"][0] for entry in manifest["entries"]}
    assert {"cloud", "diagrams", "distances", "cka", "mapper", "outputs", "thumbnails"} <= steps
    assert "activations" not in steps
    # saving again over the file replaces it whole, and leaves no temporary file behind
    again = saved.study.save(saved.path)
    assert again == saved.path and sorted(p.name for p in saved.folder.iterdir()) == ["demo.tda"]
    small = saved.study.save(tmp_path / "small.tda", clouds=False)
    assert small.stat().st_size < saved.path.stat().st_size


def test_values_survive_the_encoding_with_their_types():
    value = {(1, "a"): [np.float32(1.5), np.int64(-3), True, None, float("nan"), -0.0],
             "set": frozenset({2, 3}), 4: tw.CloudSpec(max_points=7, mode="image-avgpool"),
             "array": np.arange(6, dtype=">i2").reshape(2, 3)}
    arrays: list = []
    text = json.dumps(_encode(value, arrays))
    back = _Decoder(dict(enumerate(arrays)))(json.loads(text))
    row = back[(1, "a")]
    assert type(row[0]) is np.float32 and row[0] == 1.5 and type(row[1]) is np.int64 and row[1] == -3
    assert row[2] is True and row[3] is None and np.isnan(row[4]) and str(row[5]) == "-0.0"
    assert back["set"] == frozenset({2, 3}) and back[4] == tw.CloudSpec(max_points=7, mode="image-avgpool")
    assert back["array"].dtype == np.dtype(">i2") and np.array_equal(back["array"], value["array"])


def test_explorers_open_the_file_with_controls_limited_to_what_it_holds(saved):
    study = tw.open_study(saved.path)
    persistence = tw.PersistenceExplorer(study=study, threaded=False)
    distances = tw.LayerDistanceExplorer(study=study, threaded=False)
    mapper = tw.MapperExplorer(study=study, threaded=False)
    dashboard = tw.Dashboard(study=study, threaded=False)
    try:
        assert persistence.max_points == POINTS and persistence.points_slider.disabled
        assert "demo.tda" in persistence.points_slider.tooltip and "open_study" in persistence.points_slider.tooltip
        assert list(persistence.layer_slider.options) == list(saved.demo.layers)  # a cloud of each layer is stored
        assert not persistence.layer_slider.disabled and persistence.mode_dropdown.disabled
        note = persistence.children[0].value  # said on the page too (a Dropdown's tooltip is not drawn)
        assert "demo.tda" in note and "point cloud, points fixed" in note
        for d, dgm in enumerate(saved.persistence_explorer.result_.diagrams):
            assert np.array_equal(persistence.result_.diagrams[d], dgm)
        persistence.maxdim = 2  # computed from the stored cloud: no model needed
        assert persistence.result_.maxdim == 2
        assert np.array_equal(distances.result_["ph"], saved.distances_explorer.result_["ph"])
        assert np.array_equal(distances.result_["cka"], saved.distances_explorer.result_["cka"])
        assert distances.kernel_dropdown.disabled and distances.points_slider.disabled
        assert _graph_json(mapper.graphs_[mapper.layer]) == _graph_json(saved.mapper_explorer.graphs_[saved.mapper_explorer.layer])
        assert dashboard.persistence.result_ is not None and dashboard.persistence.points_slider.disabled
    finally:
        for widget in (persistence, distances, mapper, dashboard):
            widget.close()


def test_the_report_command_writes_the_page_from_a_saved_study(tmp_path):
    from tda_widgets.__main__ import main

    first, again, file = tmp_path / "first.html", tmp_path / "again.html", tmp_path / "study.tda"
    assert main(["report", "--demo", "--n-images", "40", "--points", "40", "--quiet", "--out", str(first),
                 "--save", str(file)]) == 0
    assert main(["report", "--study", str(file), "--quiet", "--out", str(again)]) == 0
    one, two = first.read_text(), again.read_text()
    assert "the study saved in study.tda" in two and "Plotly.newPlot" in two
    # the same page, figures and numbers included: only the names of the model and images differ
    one = one.replace("digits CNN (shipped weights)", "DigitsCNN").replace(
        "held-out scikit-learn digits (test split)", "the study saved in study.tda (40 images)")
    assert one == two


def test_a_result_whose_settings_hold_a_function_is_left_out_with_a_warning(saved, tmp_path):
    import torch

    layer = saved.demo.layers[0]
    saved.study.cloud(layer, tw.CloudSpec(max_points=20, activation=torch.relu))  # keyed by the function's identity
    with pytest.warns(UserWarning, match=r"1 cached result\(s\) cannot be written .* 1 x cloud \(its settings hold a "):
        path = saved.study.save(tmp_path / "with_function.tda")
    study = tw.open_study(path)
    assert not [key for key in study.cache_keys() if key[0] == "cloud" and key[4].activation is not None]
    assert np.array_equal(study.distance_matrix(spec=saved.spec), saved.distances)  # the rest is there
