"""Golden checks that test the engine, not the processor (issue 26).

The engine is checked bit for bit from stored inputs: ``golden_inputs.npz`` holds the demo's
captured activations and :func:`tests.engine.make_golden.compute` runs the real ``Study`` on a
model that replays them, so no forward pass (whose float32 rounding depends on the processor's
SIMD paths) stands between the stored inputs and the numbers checked. The capture is checked on
its own against the same stored activations, to float32 rounding (``CAPTURE_RTOL``, reasoned in
make_golden.py), so a changed convolution still fails.

Diagrams and bottleneck matrices are compared bit for bit. The Wasserstein and
sliced-Wasserstein matrices keep the rule they have had since issue 11's exact fast methods (a
dynamic programme for H0, vectorised sliced Wasserstein): equal to 1e-14 relative, since the
same terms may be summed in another order.

Measured on this machine with other processors' kernels simulated (``OPENBLAS_CORETYPE`` =
Prescott, Core2, Nehalem, Sandybridge, Bulldozer, Haswell, Zen; ``ATEN_CPU_CAPABILITY=default``;
``ONEDNN_MAX_CPU_ISA=SSE41``): the engine check gives identical numbers under every one; the old
check, which started from a forward pass, failed under the torch ones (22 arrays) and under
OpenBLAS's older kernels (a coincident pair of spatial points 5e-9 apart, one extra H0 bar; fixed
by ``refine_close_pairs``, regression test in tests/topology/test_portable_distances.py).
"""

import copy

import numpy as np
import pytest
import torch

from tests.engine.make_golden import (
    CAPTURE_RTOL,
    GOLDEN,
    GOLDEN_INPUTS,
    assert_capture_matches,
    capture_inputs,
    compute,
    load_inputs,
)


def _golden() -> dict[str, np.ndarray]:
    with np.load(GOLDEN, allow_pickle=False) as golden:
        return {key: golden[key] for key in golden.files}


def _differing(got: dict, expected: dict) -> list[str]:
    reordered = {key for key in expected if "/distances/" in key and "wasserstein" in key}
    assert len(reordered) == 6
    different = []
    for key, want in expected.items():
        have = got[key]
        if have.shape != want.shape:
            different.append(key)
        elif key in reordered:
            if not np.allclose(have, want, rtol=1e-14, atol=0):
                different.append(key)
        elif not np.array_equal(have, want):
            different.append(key)
    return different


@pytest.fixture(scope="module")
def stored_inputs() -> dict[str, np.ndarray]:
    return load_inputs()


def test_engine_from_stored_activations_is_bit_identical_to_the_golden_file(stored_inputs):
    expected = _golden()
    got = compute(stored_inputs)
    assert sorted(got) == sorted(expected)
    different = _differing(got, expected)
    assert not different, f"{len(different)} arrays differ from the golden file, e.g. {different[:5]}"
    # the file holds real results, not empty arrays: every layer has H0 bars, matrices are 5 x 5
    assert expected["auto_median/distances/bottleneck"].shape == (5, 5)
    assert all(expected[f"auto_median/diagram/{layer}/H0"].shape[0] > 100 for layer in expected["layers"])


def test_stored_inputs_are_plain_arrays_of_the_demo():
    with np.load(GOLDEN_INPUTS, allow_pickle=False) as stored:  # no pickle: a plain .npz
        shapes = {key: stored[key].shape for key in stored.files}
        dtypes = {stored[key].dtype.kind for key in stored.files if key.startswith(("full/", "pooled/"))}
    assert dtypes == {"f"}
    assert shapes["full/block1"] == (450, 16, 8, 8) and shapes["pooled/block1"] == (450, 16, 1, 1)
    assert shapes["full/head"] == shapes["pooled/head"] == (450, 10)
    assert shapes["labels"] == (450,)


def test_the_capture_matches_the_stored_activations_to_float32_rounding(stored_inputs):
    # Not bit for bit: torch's convolutions round differently on other processors (see
    # make_golden.CAPTURE_RTOL); the engine check above does not depend on this one.
    assert_capture_matches(capture_inputs(), stored_inputs)


def test_pooled_inputs_are_the_mean_of_the_full_ones(stored_inputs):
    # an independent reference for the streamed pooling: numpy's mean over positions
    for layer in ("block1", "block2", "block3"):
        full = stored_inputs[f"full/{layer}"].astype(np.float64)
        pooled = stored_inputs[f"pooled/{layer}"][:, :, 0, 0]
        np.testing.assert_allclose(pooled, full.mean(axis=(2, 3)), rtol=1e-6, atol=1e-6)


# --- regression (issue 26): one ulp of activation moves the results; only the new check holds ---


def _one_ulp_up(inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    moved = dict(inputs)
    for key, array in inputs.items():
        if key.startswith(("full/", "pooled/")):
            moved[key] = np.nextafter(array, np.float32(np.inf), dtype=np.float32)
    return moved


def test_one_ulp_of_activation_changes_the_results_so_a_forward_pass_cannot_be_golden(stored_inputs):
    # What broke the old check on another processor: activations one float32 ulp away (as a
    # convolution rounded elsewhere gives) change the engine's numbers. The engine check keeps
    # its stored inputs, so it is not affected; the capture check tolerates this move.
    moved = _one_ulp_up(stored_inputs)
    assert all(not np.array_equal(moved[key], stored_inputs[key]) for key in moved if key.startswith("full/"))
    assert _differing(compute(moved), _golden()), "one ulp should move some diagram or distance"
    assert_capture_matches(moved, stored_inputs)


def test_the_capture_check_fails_when_a_convolution_changes_beyond_rounding(stored_inputs):
    from tda_widgets import load_demo

    model = copy.deepcopy(load_demo().model)
    with torch.no_grad():
        model.block2.conv.weight.mul_(1.001)  # a 0.1 % change of one convolution
    with pytest.raises(AssertionError, match="block2: the capture moved beyond float32 rounding"):
        assert_capture_matches(capture_inputs(model), stored_inputs)
    assert CAPTURE_RTOL < 1e-3
