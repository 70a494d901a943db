"""End to end: ResNet-18 with random weights saved to a checkpoint, loaded back, on FakeData
CIFAR-size images; the full study with preset layers, checked against direct computations."""

import numpy as np
import pytest
import torch
import torchvision
from ripser import ripser
from scipy.spatial.distance import pdist

from tda_widgets import Study
from tda_widgets.compute import CloudSpec
from tda_widgets.data.loaders import torchvision_model
from tda_widgets.topology import linear_cka

N = 120
STAGES = ["layer1", "layer2", "layer3", "layer4"]


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("ckpt") / "resnet18_random.pt"
    torch.save({"epoch": 0, "state_dict": torchvision.models.resnet18(num_classes=10).state_dict()}, path)
    model = torchvision_model("resnet18", num_classes=10, checkpoint=path)
    data = torchvision.datasets.FakeData(size=N, image_size=(3, 32, 32), num_classes=10,
                                         transform=torchvision.transforms.ToTensor())
    return Study(model, data, layers="stages", batch_size=64)


# ripser warns on clouds with more dimensions than points (256 > 120); that is intended here
@pytest.mark.filterwarnings("ignore:The input point cloud has more columns than rows")
def test_full_study_shapes_symmetry_and_a_direct_ripser_call(study):
    assert study.layers == STAGES and study.n_images == N
    assert study.labels is not None and study.labels.shape == (N,)
    spec = CloudSpec(max_points=None)
    result = study.compare(spec=spec)
    ph, cka = result["ph"], result["cka"]
    assert ph.shape == cka.shape == (4, 4)
    np.testing.assert_array_equal(ph, ph.T)
    np.testing.assert_array_equal(np.diagonal(ph), 0.0)
    assert np.isfinite(ph).all() and (ph[np.triu_indices(4, 1)] > 0).all()
    np.testing.assert_allclose(cka, cka.T, atol=1e-12)
    np.testing.assert_allclose(np.diagonal(cka), 1.0)
    assert -1.0 <= result["spearman"] <= 1.0

    # the model's layer3 output, computed directly from the images, avg-pooled, median-scaled
    model = study.model
    images = torch.stack([study.images[i][0] for i in range(N)])
    with torch.no_grad():
        x = model.maxpool(model.relu(model.bn1(model.conv1(images))))
        l2 = model.layer2(model.layer1(x))
        l3 = model.layer3(l2)
    points = l3.mean(dim=(2, 3)).double().numpy()
    ref = ripser(points / np.median(pdist(points)), maxdim=1)["dgms"]
    ours = study.diagrams(["layer3"], spec)["layer3"].diagrams
    for d in (0, 1):
        expected = ref[d][np.lexsort((ref[d][:, 1], ref[d][:, 0]))]
        np.testing.assert_allclose(ours[d], expected, rtol=1e-5, atol=1e-6)
    # one CKA entry against the textbook function on the flattened activations
    assert cka[1, 2] == pytest.approx(linear_cka(l2.reshape(N, -1).numpy(), l3.reshape(N, -1).numpy()), abs=1e-5)


def test_mapper_on_a_stage(study):
    graph = study.mapper("layer4", CloudSpec(max_points=None), n_cubes=5, overlap=0.3)
    assert len(graph.nodes) >= 1 and graph.lens.shape[0] == N
    for node in graph.nodes:
        assert node.size == len(node.members) > 0
        assert node.image_indices.min() >= 0 and node.image_indices.max() < N
        # class make-up from the FakeData labels, counted by hand
        labels, counts = np.unique(study.labels[node.image_indices], return_counts=True)
        assert node.class_counts == dict(zip(labels.tolist(), counts.tolist()))
