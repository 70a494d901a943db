"""The prebuilt JupyterLab extension is installed with the package and JupyterLab enables it."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
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


@pytest.mark.slow
def test_the_wheel_built_from_a_clean_checkout_contains_the_extension(tmp_path):
    # a clean checkout: the committed files only (git archive of HEAD), no build outputs
    source = tmp_path / "checkout"
    source.mkdir()
    archive = subprocess.run(["git", "archive", "--format=tar", "HEAD"], cwd=REPO_ROOT, capture_output=True,
                             check=True).stdout
    tarfile.open(fileobj=io.BytesIO(archive)).extractall(source, filter="data")
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                             "-w", str(tmp_path / "dist"), str(source)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    (wheel,) = (tmp_path / "dist").glob("tda_widgets-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    prefix = next(n for n in names if n.endswith("/share/jupyter/labextensions/tda-widgets/package.json"))
    folder = prefix[: -len("package.json")]
    package = json.loads(zipfile.ZipFile(wheel).read(prefix))
    # where JupyterLab looks once installed, with the entry point its package.json names
    assert prefix.startswith("tda_widgets-") and ".data/data/" in prefix, prefix
    for needed in (package["jupyterlab"]["_build"]["load"], "install.json", "static/01_tour.ipynb"):
        assert folder + needed in names, needed
