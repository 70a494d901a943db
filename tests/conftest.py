"""Shared by every test: each test starts with no explorer caches left by another test."""

import importlib.util
from pathlib import Path

import pytest

from tda_widgets.engine import reset_shared_caches


def pytest_report_header(config):
    """The processor and numeric libraries of this run, so a failure report names its machine
    (issue 26: float32 forward passes and BLAS round differently on other processors)."""
    path = Path(__file__).resolve().parents[1] / "scripts" / "machine_info.py"
    spec = importlib.util.spec_from_file_location("machine_info", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.lines()


@pytest.fixture(autouse=True)
def _fresh_shared_caches():
    """Explorers on one model share a result cache (tda_widgets.engine.shared_cache); a test
    that counts computations must not find results an earlier test left there."""
    reset_shared_caches()
    yield
