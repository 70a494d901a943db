"""Pooled modes stream: spatial pooling happens batch by batch during capture."""

import numpy as np
import torch

from tda_widgets import Study, load_demo
from tda_widgets.clouds import make_cloud
from tda_widgets.compute import CloudSpec


def test_streamed_pooled_clouds_equal_clouds_from_full_activations():
    demo = load_demo(n_images=60)
    streamed = Study(demo.model, demo.images, demo.labels, demo.layers)
    full = Study(demo.model, demo.images, demo.labels, demo.layers, stream_pooled=False)
    for mode, layers in (("image-avgpool", ("block1", "block3")), ("image-maxpool", ("block1", "block3")),
                         ("auto", ("block1", "block3", "fc1"))):
        for layer in layers:
            a = streamed.cloud(layer, CloudSpec(mode=mode, max_points=None))
            b = full.cloud(layer, CloudSpec(mode=mode, max_points=None))
            np.testing.assert_allclose(a.points, b.points, rtol=1e-5, atol=1e-6)
            np.testing.assert_array_equal(a.image_index, b.image_index)
    # what the streamed study stored is pooled: (N, C, 1, 1), never (N, C, H, W)
    stored = [k for k in streamed.cache_keys() if k[0] == "activations"]
    assert stored and all(streamed._get(k).shape[2:] in ((1, 1), ()) for k in stored if streamed._get(k).ndim == 4)
    # independent reference for one layer: a direct forward pass, pooled by hand
    with torch.no_grad():
        x = demo.model.block1(demo.images)
    ref = make_cloud(x.numpy(), "image-maxpool")
    np.testing.assert_allclose(streamed.cloud("block1", CloudSpec(mode="image-maxpool", max_points=None)).points,
                               ref.points, rtol=1e-5, atol=1e-6)
