"""Local loaders: checkpoints in every common layout, torchvision models, image datasets."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch
import torchvision

from tda_widgets.data.loaders import (
    NORMALIZATIONS,
    DataNotFoundError,
    balanced_subset,
    cifar10,
    cifar100,
    image_folder,
    load_checkpoint,
    torchvision_model,
)
from tda_widgets.errors import TDAInputError


@pytest.fixture(scope="module")
def trained_state():
    """A resnet18(num_classes=10) state dict with weights unlike a fresh init (seeded)."""
    torch.manual_seed(123)
    source = torchvision.models.resnet18(weights=None, num_classes=10)
    with torch.no_grad():
        for p in source.parameters():
            p.add_(torch.randn_like(p))
        source.bn1.running_mean.fill_(0.25)
        source.bn1.num_batches_tracked.fill_(7)
    return {k: v.clone() for k, v in source.state_dict().items()}


def _assert_equal_state(model, state):
    loaded = model.state_dict()
    assert set(loaded) == set(state)
    for key, tensor in state.items():
        assert torch.equal(loaded[key], tensor), key


@pytest.mark.parametrize("layout", ["plain", "state_dict", "model_state_dict", "model+module", "module",
                                    "nested"])
def test_checkpoint_layouts_load_equal_tensors(tmp_path, trained_state, layout):
    module_prefixed = {f"module.{k}": v for k, v in trained_state.items()}
    payload = {
        "plain": trained_state,
        "state_dict": {"state_dict": trained_state, "epoch": 3},
        "model_state_dict": {"model_state_dict": trained_state, "optimizer_state_dict": {}, "epoch": 9},
        "model+module": {"model": module_prefixed},
        "module": module_prefixed,
        "nested": {"model": {"state_dict": module_prefixed}},
    }[layout]
    path = tmp_path / "ckpt.pt"
    torch.save(payload, path)
    model = torchvision.models.resnet18(weights=None, num_classes=10)
    assert not torch.equal(model.conv1.weight, trained_state["conv1.weight"])
    out = load_checkpoint(model, path)
    assert out is model
    _assert_equal_state(model, trained_state)


def test_torchvision_model_with_checkpoint(tmp_path, trained_state):
    path = tmp_path / "resnet.pt"
    torch.save(trained_state, path)
    model = torchvision_model("resnet18", num_classes=10, checkpoint=path)
    assert not model.training
    _assert_equal_state(model, trained_state)
    assert model(torch.zeros(2, 3, 32, 32)).shape == (2, 10)


def test_mismatched_checkpoint_names_keys(tmp_path, trained_state):
    state = dict(trained_state)
    del state["layer4.1.bn2.weight"]
    state["extra.head.weight"] = torch.zeros(3)
    path = tmp_path / "bad.pt"
    torch.save(state, path)
    model = torchvision.models.resnet18(weights=None, num_classes=10)
    before = model.conv1.weight.clone()
    with pytest.raises(TDAInputError) as info:
        load_checkpoint(model, path)
    message = str(info.value)
    assert "missing keys 1 ('layer4.1.bn2.weight')" in message
    assert "unexpected keys 1 ('extra.head.weight')" in message
    assert str(path) in message
    assert torch.equal(model.conv1.weight, before)  # nothing half-loaded


def test_wrong_num_classes_names_shapes(tmp_path, trained_state):
    path = tmp_path / "ten.pt"
    torch.save(trained_state, path)
    model = torchvision.models.resnet18(weights=None, num_classes=100)
    with pytest.raises(TDAInputError, match=r"'fc.weight': checkpoint \(10, 512\) vs model \(100, 512\)"):
        load_checkpoint(model, path)


def test_missing_checkpoint_and_unknown_model(tmp_path):
    missing = tmp_path / "nope.pt"
    with pytest.raises(DataNotFoundError, match="nope.pt"):
        load_checkpoint(torchvision.models.resnet18(weights=None), missing)
    with pytest.raises(FileNotFoundError):  # also a FileNotFoundError
        load_checkpoint(torchvision.models.resnet18(weights=None), missing)
    with pytest.raises(TDAInputError, match="Did you mean 'resnet18'"):
        torchvision_model("resnet81")


def test_non_checkpoint_file(tmp_path):
    path = tmp_path / "text.pt"
    path.write_text("not a checkpoint")
    with pytest.raises(TDAInputError, match="Could not read the checkpoint"):
        load_checkpoint(torchvision.models.resnet18(weights=None), path)
    path2 = tmp_path / "meta.pt"
    torch.save({"epoch": 3, "lr": 0.1}, path2)
    with pytest.raises(TDAInputError, match=r"keys are \['epoch', 'lr'\]"):
        load_checkpoint(torchvision.models.resnet18(weights=None), path2)


def test_other_architecture_builds_offline():
    # (vgg is left out: initialising its 130M parameters dominates the file's run time)
    model = torchvision_model("mobilenet_v3_small", num_classes=7)
    assert model(torch.zeros(1, 3, 32, 32)).shape == (1, 7)


def test_balanced_subset_fakedata():
    data = torchvision.datasets.FakeData(size=120, image_size=(3, 32, 32), num_classes=4,
                                         transform=torchvision.transforms.ToTensor(), random_offset=0)
    # FakeData has no .targets: labels come from the items; check them independently
    labels = np.array([data[i][1] for i in range(len(data))])
    assert np.bincount(labels, minlength=4).min() >= 10  # enough of every class
    subset = balanced_subset(data, 40, seed=3)
    assert isinstance(subset, torch.utils.data.Subset)
    assert len(subset) == 40 and len(set(subset.indices)) == 40
    assert list(subset.indices) == sorted(subset.indices)
    assert Counter(labels[subset.indices].tolist()) == {0: 10, 1: 10, 2: 10, 3: 10}
    assert subset.targets == labels[subset.indices].tolist()
    assert subset[0][0].shape == (3, 32, 32)
    again = balanced_subset(data, 40, seed=3)
    other = balanced_subset(data, 40, seed=4)
    assert again.indices == subset.indices and other.indices != subset.indices
    # a remainder: 42 = 4 * 10 + 2, so two classes get 11
    assert sorted(Counter(labels[balanced_subset(data, 42).indices].tolist()).values()) == [10, 10, 11, 11]
    with pytest.raises(TDAInputError, match="'n' parameter of balanced_subset"):
        balanced_subset(data, 121)


def test_balanced_subset_uses_targets_without_reading_items():
    class Labelled(torch.utils.data.Dataset):
        targets = [0] * 30 + [1] * 6 + [2] * 24

        def __len__(self):
            return 60

        def __getitem__(self, i):
            raise AssertionError("items must not be read")

    subset = balanced_subset(Labelled(), 30, seed=0)
    counts = Counter(np.asarray(Labelled.targets)[subset.indices].tolist())
    # class 1 has only 6: it gives all of them, the other two share the rest
    assert counts[1] == 6 and counts[0] + counts[2] == 24 and abs(counts[0] - counts[2]) <= 1


def test_image_folder_labels(tmp_path):
    from PIL import Image

    colours = {"cat": (255, 0, 0), "dog": (0, 0, 255)}
    for name, rgb in colours.items():
        (tmp_path / name).mkdir()
        for k in range(3):
            Image.new("RGB", (20 + k, 16), rgb).save(tmp_path / name / f"{k}.png")
    data = image_folder(tmp_path, image_size=8, normalize=None)
    assert data.classes == ["cat", "dog"]
    assert len(data) == 6 and list(data.targets) == [0, 0, 0, 1, 1, 1]
    for i in range(6):
        image, label = data[i]
        assert image.shape == (3, 8, 8)
        expected = torch.tensor(colours[data.classes[label]], dtype=torch.float32) / 255
        assert torch.allclose(image.mean(dim=(1, 2)), expected, atol=1e-6)
    normalised = image_folder(tmp_path, image_size=8)  # imagenet statistics by default
    mean, std = NORMALIZATIONS["imagenet"]
    assert normalised[0][0][0, 0, 0].item() == pytest.approx((1.0 - mean[0]) / std[0], abs=1e-5)


def test_missing_image_folder_and_cifar(tmp_path):
    with pytest.raises(DataNotFoundError, match="does not exist") as info:
        image_folder(tmp_path / "images")
    assert str(tmp_path / "images") in str(info.value)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataNotFoundError, match="no class folder"):
        image_folder(tmp_path / "empty")
    with pytest.raises(DataNotFoundError) as info:
        cifar10(tmp_path / "data")
    message = str(info.value)
    assert str(tmp_path / "data" / "cifar-10-batches-py") in message
    assert "https://www.cs.toronto.edu/~kriz/cifar.html" in message and "download=True" in message
    with pytest.raises(DataNotFoundError, match="cifar-100-python"):
        cifar100(tmp_path / "data", train=True)


def test_cifar10_data_carry_their_class_groups(tmp_path, monkeypatch):
    """cifar10(...) sets .class_groups (vehicles / animals), which the MapperExplorer uses."""
    from tda_widgets.topology.mapper import NAMED_CLASS_GROUPS

    class FakeCIFAR10:  # torchvision checks the archive's md5: stand in for the class itself
        def __init__(self, root, train, download, transform):
            assert download is False  # never downloaded
            self.classes = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]

    monkeypatch.setattr(torchvision.datasets, "CIFAR10", FakeCIFAR10)
    data = cifar10(tmp_path)
    assert data.class_groups == NAMED_CLASS_GROUPS["cifar10"]
    vehicles = [data.classes[k] for k, group in data.class_groups.items() if group == "vehicle"]
    assert vehicles == ["airplane", "automobile", "ship", "truck"]
