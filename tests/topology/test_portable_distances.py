"""Distance matrices that do not depend on the processor (issue 26).

The Gram identity |x|^2 + |y|^2 - 2 x.y loses every digit of a small distance to cancellation:
sklearn's ``pairwise_distances`` (which ``ripser.ripser(points)`` uses) puts coincident points
~1e-5 apart when their norms are ~100, and how far depends on the BLAS kernel. A direct
``ripser`` call then reports phantom H0 bars, and the golden check found one H0 diagram with 134
bars on one processor and 135 or 149 on others. ``refine_close_pairs`` recomputes such pairs from
coordinate differences.
"""

import hashlib
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from ripser import ripser
from scipy.spatial.distance import pdist, squareform
from sklearn.metrics import pairwise_distances as sklearn_pairwise_distances

from tda_widgets.topology import pairwise_distances, persistence, refine_close_pairs

REPO = Path(__file__).resolve().parents[2]


def _cloud_with_duplicates(seed=0):
    rng = np.random.default_rng(seed)
    unique = 100.0 + rng.standard_normal((40, 30))
    return unique, np.vstack([unique, unique[:10]])


def test_sklearn_puts_coincident_points_apart_which_is_the_bug_this_guards():
    _, points = _cloud_with_duplicates()
    noisy = sklearn_pairwise_distances(points)[np.arange(10), 40 + np.arange(10)]
    assert noisy.max() > 0.0  # what a direct ripser(points) call builds
    direct = ripser(points)["dgms"][0]
    assert np.isfinite(direct[:, 1]).sum() > 39  # phantom bars of length ~1e-5


def test_coincident_points_are_exactly_zero_apart():
    _, points = _cloud_with_duplicates()
    distances = pairwise_distances(points)
    assert np.all(distances[np.arange(10), 40 + np.arange(10)] == 0.0)
    np.testing.assert_array_equal(distances, distances.T)
    # every entry against scipy's direct differences (no Gram identity)
    np.testing.assert_allclose(distances, squareform(pdist(points)), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("backend", ["ripser", "giotto-ph"])
def test_duplicates_add_no_h0_bar(backend):
    unique, points = _cloud_with_duplicates()
    result = persistence(points, backend=backend)
    # closed form: n distinct points have n - 1 finite H0 bars and one infinite
    assert np.isfinite(result.diagrams[0][:, 1]).sum() == len(unique) - 1
    # and the diagrams are those of the distinct points alone (a direct ripser call on them)
    reference = ripser(squareform(pdist(unique)), distance_matrix=True)["dgms"]
    for ours, theirs in zip(result.diagrams, reference):
        theirs = theirs[np.lexsort((theirs[:, 1], theirs[:, 0]))]
        np.testing.assert_allclose(ours, theirs, rtol=1e-6)


def test_far_pairs_are_left_as_the_gram_identity_gives_them():
    rng = np.random.default_rng(1)
    points = rng.standard_normal((60, 8))
    gram = sklearn_pairwise_distances(points)
    refined = refine_close_pairs(points, gram.copy())
    sq = np.einsum("ij,ij->i", points, points)
    far = gram**2 >= 1e-2 * (sq[:, None] + sq[None, :])
    np.testing.assert_array_equal(refined[far], gram[far])
    np.testing.assert_allclose(refined, squareform(pdist(points)), rtol=1e-12, atol=1e-12)


_KERNEL_SCRIPT = """
import hashlib, numpy as np
from tests.engine.make_golden import load_inputs
from tda_widgets.topology import persistence, rescale_points
full = load_inputs()["full/block1"]                   # (450, 16, 8, 8): many coincident positions
cloud = full.transpose(0, 2, 3, 1).reshape(-1, 16)
cloud = cloud[np.random.default_rng(3).choice(len(cloud), 300, replace=False)]
scaled, _ = rescale_points(cloud, "diameter")
result = persistence(scaled, maxdim=1, backend="ripser")
print(hashlib.sha256(b"".join(d.tobytes() for d in result.diagrams)).hexdigest(), len(result.diagrams[0]))
"""


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="OpenBLAS kernel names are x86's")
def test_diagrams_are_identical_under_other_processors_blas_kernels():
    # OPENBLAS_CORETYPE makes numpy's OpenBLAS run another processor's kernels (older ones run on
    # any x86-64), so this machine computes as those would; the diagrams must not move by a bit.
    outputs = {}
    for core in ("Prescott", "Nehalem", "Sandybridge", None):
        env = {k: v for k, v in __import__("os").environ.items() if k != "OPENBLAS_CORETYPE"}
        if core:
            env["OPENBLAS_CORETYPE"] = core
        run = subprocess.run([sys.executable, "-c", _KERNEL_SCRIPT], cwd=REPO, env=env,
                             capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stderr
        outputs[core] = run.stdout.split()
    assert len({tuple(v) for v in outputs.values()}) == 1, outputs
    digest, n_bars = outputs[None]
    assert int(n_bars) < 300  # coincident positions merge at 0: fewer H0 bars than points
    assert len(digest) == len(hashlib.sha256().hexdigest())
