"""The golden check's stored inputs and expected results, and the code that makes them.

Two files, both plain ``.npz`` (no pickle):

- ``golden_inputs.npz``: the demo's captured activations, as the engine receives them from the
  capture. ``full/<layer>`` is each of the five layers' whole output for the 450 demo images;
  ``pooled/<layer>`` is what the capture streams for ``mode="auto"`` (conv outputs averaged
  over positions, batch by batch, as ``(N, C, 1, 1)``; linear outputs unchanged);
  ``labels`` are the demo's labels.
- ``golden_demo.npz``: the diagrams and layer-distance matrices the engine computes from those
  stored activations (see :func:`compute`).

Why two files: torch's float32 convolutions and reductions round differently on other
processors (other SIMD paths; measured on an AMD EPYC machine against a file written on
another: diagrams moved by up to 3.9e-7 and one H0 diagram had 149 bars instead of 134). A
golden check that starts from a forward pass therefore tests the processor as much as the
engine. So the engine is checked bit for bit from the stored activations (a model that replays
them, :class:`ReplayModel`, runs through the real :class:`~tda_widgets.Study`: hooks, batches,
clouds, scaling, persistence, distances), and the capture is checked separately against the
stored activations to float32 rounding (:func:`assert_capture_matches`).

Rerun only on purpose, and say why in the commit: ``python -m tests.engine.make_golden``.
"""

from pathlib import Path

import numpy as np
import torch
from torch import nn

GOLDEN = Path(__file__).with_name("golden_demo.npz")
GOLDEN_INPUTS = Path(__file__).with_name("golden_inputs.npz")
SPECS = {  # name -> (CloudSpec kwargs, scale, layers: None = the demo's five, stored inputs)
    "auto_median": (dict(mode="auto", max_points=200), "median", None, "pooled"),
    "spatial_diameter": (dict(mode="spatial", max_points=150, seed=3), "diameter", ["block1", "block2"], "full"),
}
METRICS = ("bottleneck", "wasserstein-1", "wasserstein-2", "sliced-wasserstein")

#: Float32 tolerance of the capture check. torch promises no bitwise equality across processors
#: (its "Numerical accuracy" notes: other CPUs take other vectorised paths, so sums are
#: accumulated in another order). A float32 sum of K terms moves by about sqrt(K) * 6e-8 of its
#: magnitude for such a reordering (K <= 288 in the demo's convolutions: ~1e-6), so 1e-5 of the
#: layer's largest value leaves a margin of ten while any real change to a convolution (a weight
#: moved by 0.1 %) moves the outputs by ~1e-3 and fails.
CAPTURE_RTOL = 1e-5


class _Replay(nn.Module):
    """A layer that returns its stored output for the images whose indices it is given."""

    def __init__(self, table: np.ndarray):
        super().__init__()
        self.register_buffer("table", torch.from_numpy(np.array(table, copy=True)))

    def forward(self, index: torch.Tensor) -> torch.Tensor:
        return self.table[index]


class ReplayModel(nn.Module):
    """A model whose named layers replay stored activations: the input is each image's index
    (shape ``(N, 1)``, float32, exact below 2**24), and layer ``name`` outputs
    ``stored[name][index]``, so hooks on it capture exactly the stored arrays, on any processor.
    The last layer's output is the model's output."""

    def __init__(self, stored: dict[str, np.ndarray]):
        super().__init__()
        self.names = list(stored)
        for name, table in stored.items():
            self.add_module(name, _Replay(table))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        index = x[:, 0].long()
        out = None
        for name in self.names:
            out = getattr(self, name)(index)
        return out


def capture_inputs(model=None) -> dict[str, np.ndarray]:
    """The engine's inputs captured from the demo model (or ``model``, a changed copy)."""
    from tda_widgets import Study, load_demo

    demo = load_demo()
    study = Study(model if model is not None else demo.model, demo.images, demo.labels, demo.layers)
    out = {f"full/{layer}": array for layer, array in study.activations().items()}
    out.update({f"pooled/{layer}": array for layer, array in study.activations(reduce="avg").items()})
    out["labels"] = np.asarray(demo.labels)
    out["layers"] = np.asarray(study.layers)
    return out


def load_inputs() -> dict[str, np.ndarray]:
    with np.load(GOLDEN_INPUTS, allow_pickle=False) as stored:
        return {key: stored[key] for key in stored.files}


def assert_capture_matches(got: dict[str, np.ndarray], stored: dict[str, np.ndarray]) -> None:
    """Every captured array equals the stored one to float32 rounding (:data:`CAPTURE_RTOL` of
    the layer's largest magnitude); shapes, dtypes, labels and layer names exactly."""
    assert sorted(got) == sorted(stored)
    for key, expected in stored.items():
        actual = got[key]
        assert actual.shape == expected.shape and actual.dtype == expected.dtype, key
        if expected.dtype.kind != "f":
            np.testing.assert_array_equal(actual, expected, err_msg=key)
            continue
        scale = float(np.abs(expected).max())
        np.testing.assert_allclose(actual, expected, rtol=CAPTURE_RTOL, atol=CAPTURE_RTOL * scale,
                                   err_msg=f"{key}: the capture moved beyond float32 rounding")


def compute(inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The demo study's diagrams and distance matrices, computed by the engine from stored
    activations (no forward pass of the demo model)."""
    from tda_widgets import Study
    from tda_widgets.compute import CloudSpec

    layers = [str(layer) for layer in inputs["layers"]]
    labels = torch.from_numpy(inputs["labels"])
    index = torch.arange(len(labels), dtype=torch.float32)[:, None]
    out = {}
    for name, (kwargs, scale, chosen, kind) in SPECS.items():
        model = ReplayModel({layer: inputs[f"{kind}/{layer}"] for layer in layers}).eval()
        study = Study(model, index, labels, layers)
        spec = CloudSpec(**kwargs)
        for layer, result in study.diagrams(chosen, spec, scale=scale, backend="ripser").items():
            for dim, diagram in enumerate(result.diagrams):
                out[f"{name}/diagram/{layer}/H{dim}"] = np.asarray(diagram)
        for metric in METRICS:
            out[f"{name}/distances/{metric}"] = study.distance_matrix(
                chosen, spec, metric=metric, scale=scale, backend="ripser")
    out["layers"] = np.asarray(layers)
    return out


if __name__ == "__main__":
    inputs = capture_inputs()
    np.savez_compressed(GOLDEN_INPUTS, **inputs)
    np.savez_compressed(GOLDEN, **compute(inputs))
    print(f"wrote {GOLDEN_INPUTS} and {GOLDEN}")
