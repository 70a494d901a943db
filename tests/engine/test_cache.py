"""The study's one cache: bounded by bytes, least recently used evicted, hits and misses counted
(issue 11: the old dict never evicted, so every slider setting stayed in memory)."""

import numpy as np
import pytest

from tda_widgets import Study, load_demo
from tda_widgets.clouds import CloudSpec
from tda_widgets.compute import Comparison
from tda_widgets.engine import ResultCache, nbytes
from tda_widgets.errors import TDAInputError

LAYERS = ["block1", "block2", "fc1"]


@pytest.fixture(scope="module")
def demo():
    return load_demo(n_images=90)


def test_lru_order_byte_bound_and_counts():
    cache = ResultCache(max_bytes=3 * 800)
    for key in "abc":
        cache.put(key, np.zeros(100))             # 800 bytes each: full
    assert cache.get("a") is not None             # "a" is now the most recently used
    cache.put("d", np.zeros(100))                 # evicts the least recently used: "b"
    assert cache.keys() == ["c", "a", "d"]
    assert cache.get("b") is None
    cache.put("huge", np.zeros(1000))             # larger than the whole bound: returned, not kept
    assert "huge" not in cache.keys() and cache.stats["bytes"] <= cache.max_bytes
    assert {k: cache.stats[k] for k in ("hits", "misses", "evictions", "too_large", "entries")} == \
        {"hits": 1, "misses": 1, "evictions": 1, "too_large": 1, "entries": 3}
    assert nbytes({"x": np.zeros(10), "y": [np.zeros(5, dtype=np.float32)]}) >= 80 + 20
    with pytest.raises(TDAInputError, match="'cache_bytes' parameter must be an int >= 0"):
        ResultCache(-1)


def test_a_study_stays_within_its_cache_bound_over_many_settings(demo):
    bound = 120_000  # activations about 34 kB, each setting adds about 32 kB of clouds and diagrams
    study = Study(demo.model, demo.images, demo.labels, LAYERS, cache_bytes=bound)
    for points in range(20, 80, 10):                      # six slider positions
        study.diagrams(spec=CloudSpec(max_points=points))
        assert study.cache.stats["bytes"] <= bound
    assert study.cache.stats["evictions"] > 0


def test_a_repeated_request_is_a_counted_hit(demo):
    study = Study(demo.model, demo.images, demo.labels, LAYERS)
    study.distance_matrix(spec=CloudSpec(max_points=40))
    before, computed = study.cache.stats, dict(study.stats)
    study.distance_matrix(spec=CloudSpec(max_points=40))
    after = study.cache.stats
    assert after["hits"] > before["hits"] and after["misses"] == before["misses"]
    assert study.stats == computed                        # nothing recomputed


def test_results_are_right_when_the_cache_keeps_nothing(demo):
    full = Study(demo.model, demo.images, demo.labels, LAYERS)
    none = Study(demo.model, demo.images, demo.labels, LAYERS, cache_bytes=0)
    spec = CloudSpec(max_points=40)
    assert np.array_equal(none.distance_matrix(spec=spec), full.distance_matrix(spec=spec))
    assert np.array_equal(none.predictions(), full.predictions())
    graph = none.mapper("fc1", spec, lens=("logit", 3))
    assert graph.nodes and none.cache.stats["entries"] == 0


def test_compare_returns_a_dataclass_that_still_reads_like_a_dict(demo):
    study = Study(demo.model, demo.images, demo.labels, LAYERS)
    result = study.compare(spec=CloudSpec(max_points=40))
    assert isinstance(result, Comparison)
    assert result["ph"] is result.ph and result["layers"] == LAYERS
    assert set(dict(result)) == {"layers", "ph", "cka", "spearman", "metric", "dims", "maxdim", "scale", "spec",
                                 "infinite", "cka_estimator"}
    assert "spearman" in result and "rho" not in result
    with pytest.raises(KeyError, match="a Comparison has"):
        result["rho"]
