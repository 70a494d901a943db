"""Shared by every test: each test starts with no explorer caches left by another test."""

import pytest

from tda_widgets.engine import reset_shared_caches


@pytest.fixture(autouse=True)
def _fresh_shared_caches():
    """Explorers on one model share a result cache (tda_widgets.engine.shared_cache); a test
    that counts computations must not find results an earlier test left there."""
    reset_shared_caches()
    yield
