"""The prebuilt JupyterLab extension is installed with the package and JupyterLab enables it."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
INSTALLED = Path(sys.prefix) / "share" / "jupyter" / "labextensions" / "tda-widgets"


def test_the_built_extension_is_committed_with_its_sources():
    built = REPO_ROOT / "tda_widgets" / "labextension"
    package = json.loads((built / "package.json").read_text())
    assert package["name"] == "tda-widgets"
    assert package["jupyterlab"]["_build"]["load"].startswith("static/remoteEntry.")
    assert (built / package["jupyterlab"]["_build"]["load"]).is_file()
    source = json.loads((REPO_ROOT / "labextension" / "package.json").read_text())
    assert source["version"] == package["version"]


def test_the_extension_is_installed_where_jupyterlab_looks():
    package = json.loads((INSTALLED / "package.json").read_text())
    assert package["name"] == "tda-widgets"
    assert (INSTALLED / package["jupyterlab"]["_build"]["load"]).is_file()
    install = json.loads((INSTALLED / "install.json").read_text())
    assert install["packageName"] == "tda-widgets"
    # the tour that "Open the tda-widgets tour" copies is the repository's
    tour = INSTALLED / "static" / "01_tour.ipynb"
    assert json.loads(tour.read_text()) == json.loads((REPO_ROOT / "notebooks" / "01_tour.ipynb").read_text())


def test_jupyter_labextension_list_shows_it_enabled():
    jupyter = Path(sys.executable).with_name("jupyter")
    env = dict(os.environ, JUPYTER_PLATFORM_DIRS="1")
    result = subprocess.run([str(jupyter), "labextension", "list"], capture_output=True, text=True,
                            timeout=120, env=env)
    text = result.stdout + result.stderr
    line = next((ln for ln in text.splitlines() if "tda-widgets" in ln), None)
    assert line is not None, text
    assert "enabled" in line and "OK" in line and "disabled" not in line, line
    assert "(python, tda-widgets)" in line, line


def _clean_checkout(tmp_path: Path) -> Path:
    """The committed files only (git archive of HEAD), no build outputs."""
    source = tmp_path / "checkout"
    source.mkdir()
    archive = subprocess.run(["git", "archive", "--format=tar", "HEAD"], cwd=REPO_ROOT, capture_output=True,
                             check=True).stdout
    tarfile.open(fileobj=io.BytesIO(archive)).extractall(source, filter="data")
    return source


def _fresh_venv(path: Path) -> Path:
    """A new virtual environment that sees the dependencies CI tested, and nothing of ours.

    Installing torch, JupyterLab and the rest again would take minutes and the network; a
    ``.pth`` line puts this environment's site-packages behind the new one's, so pip resolves the
    wheel's Requires-Dist against the versions the test suite ran on (a range that excludes
    them fails to install), while tda_widgets itself, its extension and its data files come
    from the wheel or the sdist alone (the editable install's finder is not loaded: .pth files
    on an added path are not processed)."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True, timeout=120)
    python = path / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    tested = sysconfig.get_paths()["purelib"]
    Path(site, "_tested_dependencies.pth").write_text(tested + "\n")
    return python


SMOKE = """
import json, sys
import numpy as np
import tda_widgets
from tda_widgets import Study, load_demo
assert tda_widgets.__file__.startswith(sys.prefix), tda_widgets.__file__
demo = load_demo(n_images=60)
result = Study(demo.model, demo.images, demo.labels, layers=demo.layers).compare(metric="bottleneck")
ph = np.asarray(result.ph)
print(json.dumps({"version": tda_widgets.__version__, "shape": list(ph.shape),
                  "finite": bool(np.isfinite(ph).all()), "symmetric": bool(np.allclose(ph, ph.T)),
                  "diagonal": float(np.abs(np.diag(ph)).max()), "n_layers": len(demo.layers)}))
"""


def _install_and_smoke_test(python: Path, artifact: Path, cwd: Path) -> None:
    # pip of this environment drives the fresh one (--python), offline: every dependency must
    # already be satisfied by the tested versions
    install = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-index",
                              "--no-build-isolation", str(artifact)], capture_output=True, text=True, timeout=600,
                             cwd=cwd)
    assert install.returncode == 0, install.stdout[-2000:] + install.stderr[-3000:]
    env = dict(os.environ, JUPYTER_PLATFORM_DIRS="1", PYTHONNOUSERSITE="1")
    smoke = subprocess.run([str(python), "-c", SMOKE], capture_output=True, text=True, timeout=600, cwd=cwd, env=env)
    assert smoke.returncode == 0, smoke.stderr[-3000:]
    facts = json.loads(smoke.stdout.strip().splitlines()[-1])
    assert facts["version"] == _version_in_source()
    assert facts["shape"] == [facts["n_layers"], facts["n_layers"]] and facts["finite"] and facts["symmetric"]
    assert facts["diagonal"] == 0.0
    # the prebuilt extension, from the package's data files, is what JupyterLab lists as enabled
    listing = subprocess.run([str(python), "-m", "jupyterlab.labextensions", "list"], capture_output=True, text=True,
                             timeout=300, cwd=cwd, env=env)
    text = listing.stdout + listing.stderr
    line = next((ln for ln in text.splitlines() if "tda-widgets" in ln), None)
    assert line is not None, text
    assert "enabled" in line and "OK" in line and "disabled" not in line, line
    assert "(python, tda-widgets)" in line, line
    assert str(python.parent.parent / "share" / "jupyter" / "labextensions") in text, text


def _version_in_source() -> str:
    namespace: dict = {}
    exec((REPO_ROOT / "tda_widgets" / "_version.py").read_text(), namespace)
    return namespace["__version__"]


@pytest.mark.slow
def test_python_m_build_makes_an_sdist_and_a_wheel_that_install_and_work(tmp_path):
    source = _clean_checkout(tmp_path)
    dist = tmp_path / "dist"
    # --no-isolation: the build backend of the tested environment (no download); build makes the
    # sdist first and the wheel from the unpacked sdist, so the sdist is complete too
    result = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "-o", str(dist), str(source)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    version = _version_in_source()
    (wheel,) = dist.glob(f"tda_widgets-{version}-py3-none-any.whl")
    (sdist,) = dist.glob(f"tda_widgets-{version}.tar.gz")

    names = zipfile.ZipFile(wheel).namelist()
    prefix = next(n for n in names if n.endswith("/share/jupyter/labextensions/tda-widgets/package.json"))
    folder = prefix[: -len("package.json")]
    package = json.loads(zipfile.ZipFile(wheel).read(prefix))
    # where JupyterLab looks once installed, with the entry point its package.json names
    assert prefix.startswith("tda_widgets-") and ".data/data/" in prefix, prefix
    for needed in (package["jupyterlab"]["_build"]["load"], "install.json", "static/01_tour.ipynb"):
        assert folder + needed in names, needed
    # the type marker, the changelog and the citation ship in the wheel
    assert "tda_widgets/py.typed" in names
    data = f"tda_widgets-{version}.data/data/share/doc/tda-widgets/"
    assert {data + "CHANGELOG.md", data + "CITATION.cff"} <= set(names), sorted(n for n in names if "doc" in n)
    metadata = zipfile.ZipFile(wheel).read(f"tda_widgets-{version}.dist-info/METADATA").decode()
    assert f"\nVersion: {version}\n" in metadata
    for classifier in ("Framework :: Jupyter :: JupyterLab :: 4",
                       "Framework :: Jupyter :: JupyterLab :: Extensions :: Prebuilt", "Typing :: Typed"):
        assert f"Classifier: {classifier}\n" in metadata, classifier
    members = tarfile.open(sdist).getnames()
    for needed in ("CHANGELOG.md", "CITATION.cff", "tda_widgets/py.typed", "tda_widgets/_version.py",
                   "tda_widgets/labextension/" + package["jupyterlab"]["_build"]["load"]):
        assert f"tda_widgets-{version}/{needed}" in members, needed

    # both install into a fresh virtual environment and pass the smoke test
    work = tmp_path / "elsewhere"  # not the repository: its tda_widgets/ must not shadow the install
    work.mkdir()
    _install_and_smoke_test(_fresh_venv(tmp_path / "venv-wheel"), wheel, work)
    _install_and_smoke_test(_fresh_venv(tmp_path / "venv-sdist"), sdist, work)
