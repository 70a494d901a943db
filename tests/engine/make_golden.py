"""Write tests/engine/golden_demo.npz: the demo study's diagrams and layer-distance matrices.

Made once from the code before the engine rewrite (issue 11, commit named in the test); the
test checks that today's engine gives bit-identical numbers. Rerun only on purpose:
``python -m tests.engine.make_golden``.
"""

from pathlib import Path

import numpy as np

GOLDEN = Path(__file__).with_name("golden_demo.npz")
SPECS = {  # name -> (CloudSpec kwargs, scale, layers: None = the demo's five)
    "auto_median": (dict(mode="auto", max_points=200), "median", None),
    "spatial_diameter": (dict(mode="spatial", max_points=150, seed=3), "diameter", ["block1", "block2"]),
}
METRICS = ("bottleneck", "wasserstein-1", "wasserstein-2", "sliced-wasserstein")


def compute() -> dict[str, np.ndarray]:
    from tda_widgets import Study, load_demo
    from tda_widgets.compute import CloudSpec

    demo = load_demo()
    study = Study(demo.model, demo.images, demo.labels, demo.layers)
    out = {}
    for name, (kwargs, scale, layers) in SPECS.items():
        spec = CloudSpec(**kwargs)
        for layer, result in study.diagrams(layers, spec, scale=scale, backend="ripser").items():
            for dim, diagram in enumerate(result.diagrams):
                out[f"{name}/diagram/{layer}/H{dim}"] = np.asarray(diagram)
        for metric in METRICS:
            out[f"{name}/distances/{metric}"] = study.distance_matrix(
                layers, spec, metric=metric, scale=scale, backend="ripser")
    out["layers"] = np.asarray(study.layers)
    return out


if __name__ == "__main__":
    np.savez_compressed(GOLDEN, **compute())
    print(f"wrote {GOLDEN}")
