"""One version, the classifiers of a prebuilt JupyterLab extension, a type marker, a changelog
and a citation that agree with the package, and dependency ranges that hold what CI tests."""

from __future__ import annotations

import json
import re
import tomllib
from importlib.metadata import version as installed_version
from pathlib import Path

import yaml
from packaging.requirements import Requirement

import tda_widgets

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def _source_version() -> str:
    namespace: dict = {}
    exec((ROOT / "tda_widgets" / "_version.py").read_text(), namespace)
    return namespace["__version__"]


def test_the_version_is_defined_once():
    project = PYPROJECT["project"]
    assert "version" not in project and "version" in project["dynamic"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "tda_widgets._version.__version__"}
    # no other Python file of the package spells a version literal
    literal = re.compile(r"__version__\s*=\s*['\"]")
    holders = [p.relative_to(ROOT) for p in (ROOT / "tda_widgets").rglob("*.py") if literal.search(p.read_text())]
    assert holders == [Path("tda_widgets/_version.py")], holders
    assert tda_widgets.__version__ == _source_version()


def test_changelog_citation_and_extension_agree_with_the_version():
    version = _source_version()
    changelog = (ROOT / "CHANGELOG.md").read_text()
    releases = re.findall(r"^## \[([^\]]+)\]", changelog, flags=re.M)
    assert releases[0] == "Unreleased" and releases[1] == version, releases
    assert "keepachangelog.com" in changelog
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert citation["cff-version"] == "1.2.0" and str(citation["version"]) == version
    study = citation["references"][0]
    assert study["year"] == 2023 and study["authors"][0]["family-names"] == "Purvine"
    assert "AAAI" in study["collection-title"]
    for path in ("labextension/package.json", "tda_widgets/labextension/package.json"):
        assert json.loads((ROOT / path).read_text())["version"] == version, path


def test_classifiers_type_marker_and_shipped_files():
    classifiers = set(PYPROJECT["project"]["classifiers"])
    assert {"Framework :: Jupyter :: JupyterLab :: 4", "Framework :: Jupyter :: JupyterLab :: Extensions :: Prebuilt",
            "Typing :: Typed"} <= classifiers
    assert (ROOT / "tda_widgets" / "py.typed").is_file()
    assert "py.typed" in PYPROJECT["tool"]["setuptools"]["package-data"]["tda_widgets"]
    docs = PYPROJECT["tool"]["setuptools"]["data-files"]["share/doc/tda-widgets"]
    assert sorted(docs) == ["CHANGELOG.md", "CITATION.cff"]


def test_every_dependency_range_holds_the_installed_version():
    # the versions this test run uses are inside the ranges the package promises
    requirements = [Requirement(r) for r in PYPROJECT["project"]["dependencies"]]
    for extra in ("test", "docs", "dask"):
        requirements += [Requirement(r) for r in PYPROJECT["project"]["optional-dependencies"][extra]]
    outside = []
    for req in requirements:
        try:
            have = installed_version(req.name)
        except Exception:  # noqa: BLE001 - an extra not installed here (e.g. docs) is checked where it is
            continue
        if not req.specifier.contains(have, prereleases=True):
            outside.append(f"{req} (installed {have})")
    assert not outside, outside
    # every runtime dependency has a lower bound
    assert all(any(s.operator in (">=", "==") for s in req.specifier)
               for req in map(Requirement, PYPROJECT["project"]["dependencies"]))
