"""The ranges of pyproject.toml are true: CI installs the lower bound of each one
(ci/lower-bounds.txt, generated from pyproject.toml, used by scripts/test.sh as pip's constraints)."""

from __future__ import annotations

import os
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "ci"))
import lower_bounds  # noqa: E402

sys.path.remove(str(ROOT / "ci"))


def test_the_constraints_file_is_generated_from_pyproject():
    assert (ROOT / "ci" / "lower-bounds.txt").read_text() == lower_bounds.constraints(), (
        "ci/lower-bounds.txt is out of step with pyproject.toml: run python ci/lower_bounds.py")


def test_a_lower_bound_is_read_from_each_kind_of_requirement():
    assert lower_bounds.lower_bound("numpy>=2.4.6,<3") == ("numpy", "2.4.6", "")
    assert lower_bounds.lower_bound("dask[distributed]>=2026.8.0") == ("dask", "2026.8.0", "")
    assert lower_bounds.lower_bound("ruff==0.17.6") == ("ruff", "0.17.6", "")
    assert lower_bounds.lower_bound('giotto-ph>=0.2.4; python_version < "3.13"') == (
        "giotto-ph", "0.2.4", 'python_version < "3.13"')
    with pytest.raises(ValueError, match="one lower bound"):
        lower_bounds.lower_bound("plotly<8")           # an open range promises nothing testable


def test_every_dependency_has_a_lower_bound_and_the_exempt_are_named():
    names = {lower_bounds.lower_bound(r)[0] for r in lower_bounds.requirements()}
    assert set(lower_bounds.EXEMPT) <= names           # no stale exemption
    pinned = (ROOT / "ci" / "lower-bounds.txt").read_text()
    assert all(f"\n{name}==" not in pinned for name in lower_bounds.EXEMPT)


def _constrained() -> bool:
    return Path(os.environ.get("PIP_CONSTRAINT", "")).resolve() == (ROOT / "ci" / "lower-bounds.txt").resolve()


@pytest.mark.skipif(not _constrained(), reason="this environment was not installed with ci/lower-bounds.txt "
                                               "as pip's constraints (scripts/test.sh does that)")
def test_this_environment_holds_exactly_the_lower_bounds():
    wrong = []
    for requirement in lower_bounds.requirements():
        name, bound, marker = lower_bounds.lower_bound(requirement)
        if name in lower_bounds.EXEMPT:
            continue
        if marker:
            from packaging.markers import Marker

            if not Marker(marker).evaluate():
                continue
        try:
            installed = version(name)
        except PackageNotFoundError:
            wrong.append(f"{name}: not installed")
            continue
        if Version(installed) != Version(bound):
            wrong.append(f"{name}: {installed} installed, {bound} promised")
    assert not wrong, wrong
