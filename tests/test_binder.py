"""Binder (repo2docker) configuration: binder/requirements.txt, runtime.txt, postBuild, README badge.

What cannot run here: resolving the CPU wheels against download.pytorch.org (no network to it),
and a real repo2docker build.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
BINDER = ROOT / "binder"
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
# Python versions with CPU wheels of torch 2.5.1 / torchvision 0.20.1 on Linux
TORCH_251_PYTHONS = {"3.9", "3.10", "3.11", "3.12"}


def _requirement_lines() -> list[str]:
    lines = []
    for raw in (BINDER / "requirements.txt").read_text().splitlines():
        line = raw.split(" #", 1)[0].strip()
        if line and not line.startswith("#"):
            lines.append(line)
    return lines


def _requirements() -> dict[str, Requirement]:
    parsed = {}
    for line in _requirement_lines():
        if line.startswith("-") or line == ".":
            continue
        try:
            req = Requirement(line)
        except InvalidRequirement as exc:  # pragma: no cover - the assertion message is the point
            pytest.fail(f"binder/requirements.txt line {line!r} is not a valid requirement: {exc}")
        parsed[req.name.lower()] = req
    return parsed


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _pinned_version(req: Requirement) -> Version:
    specs = list(req.specifier)
    assert len(specs) == 1 and specs[0].operator == "==", f"{req} is not pinned with =="
    return Version(specs[0].version)


def test_requirements_lines_are_valid():
    lines = _requirement_lines()
    options = [line for line in lines if line.startswith("-")]
    assert options == [f"--extra-index-url {CPU_INDEX}"]
    # binder/ makes repo2docker ignore pyproject.toml: the package itself must be listed
    assert "." in lines
    assert set(_requirements()) == {"torch", "torchvision"}


def test_torch_pins_are_cpu_builds_inside_pyproject_ranges():
    reqs = _requirements()
    torch_v, vision_v = _pinned_version(reqs["torch"]), _pinned_version(reqs["torchvision"])
    assert torch_v.local == "cpu" and vision_v.local == "cpu"
    # torchvision 0.20 is the release built against torch 2.5
    assert (torch_v.major, torch_v.minor) == (2, 5) and (vision_v.major, vision_v.minor) == (0, 20)
    ranges = {Requirement(d).name.lower(): Requirement(d).specifier for d in _pyproject()["project"]["dependencies"]}
    assert ranges["torch"].contains(torch_v), (ranges["torch"], torch_v)
    assert ranges["torchvision"].contains(vision_v), (ranges["torchvision"], vision_v)


def test_runtime_python_has_torch_wheels_and_satisfies_requires_python():
    text = (BINDER / "runtime.txt").read_text().strip()
    match = re.fullmatch(r"python-(\d+\.\d+)", text)
    assert match, f"binder/runtime.txt should read like 'python-3.11'; got {text!r}"
    version = match.group(1)
    assert version in TORCH_251_PYTHONS
    assert SpecifierSet(_pyproject()["project"]["requires-python"]).contains(Version(version))


def test_postbuild_is_an_executable_bash_script_that_stops_on_errors():
    path = BINDER / "postBuild"
    text = path.read_text()
    assert text.startswith("#!/bin/bash") or text.startswith("#!/usr/bin/env bash")
    commands = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert commands[0].startswith("set -e"), commands[0]
    assert os.access(path, os.X_OK), "binder/postBuild must be executable (chmod +x)"
    subprocess.run(["bash", "-n", str(path)], check=True)       # parses as bash
    mode = subprocess.run(["git", "ls-files", "-s", "binder/postBuild"], cwd=ROOT, capture_output=True,
                          text=True).stdout.split()
    if mode:                                                    # committed: the executable bit too
        assert mode[0] == "100755", mode


def test_postbuild_fails_the_build_when_the_extension_is_not_enabled():
    # the check fails (set -o pipefail, grep's exit status) unless 'jupyter labextension list'
    # reports tda-widgets enabled and OK; test_postbuild_runs_in_this_environment runs it
    text = (BINDER / "postBuild").read_text()
    assert "set -euo pipefail" in text
    line = next(ln for ln in text.splitlines() if "labextension list" in ln and not ln.lstrip().startswith("#"))
    pattern = re.search(r'grep -E "([^"]+)"', line).group(1)
    assert re.search(pattern, "        tda-widgets v0.1.0 enabled OK (python, tda-widgets)")
    assert not re.search(pattern, "        tda-widgets v0.1.0 disabled OK (python, tda-widgets)")
    assert not re.search(pattern, "        tda-widgets v0.1.0 enabled  X (python, tda-widgets)")


@pytest.mark.slow
def test_postbuild_runs_in_this_environment(tmp_path):
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    result = subprocess.run(["bash", str(BINDER / "postBuild")], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]


def test_readme_badge_opens_the_tour_in_lab():
    readme = (ROOT / "README.md").read_text()
    assert "urlpath=lab/tree/notebooks/01_tour.ipynb" in readme
    links = re.findall(r"\(https://mybinder\.org/v2/gh/[^)]+\)", readme)
    assert links, "no mybinder.org launch link in README.md"
    target = re.search(r"urlpath=lab/tree/([^&)]+)", links[0]).group(1)
    assert (ROOT / target).is_file(), target
