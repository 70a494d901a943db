"""Layer presets: names against the architectures' known structure, and Study/widgets accept them."""

import pytest
import torch
import torchvision
from torch import nn

from tda_widgets import Study
from tda_widgets.data.digits import DigitsCNN
from tda_widgets.errors import TDAInputError
from tda_widgets.layers import PRESETS, expand_layers, select_layers

RESNET18_BLOCKS = [f"layer{i}.{j}" for i in range(1, 5) for j in range(2)]


@pytest.fixture(scope="module")
def resnet18():
    torch.manual_seed(0)
    return torchvision.models.resnet18(num_classes=10).eval()


def test_resnet18_presets_match_its_architecture(resnet18):
    assert select_layers(resnet18, "blocks") == RESNET18_BLOCKS
    assert select_layers(resnet18, "stages") == ["layer1", "layer2", "layer3", "layer4"]
    convs = select_layers(resnet18, "conv")
    # stem + 2 per block + 3 downsampling shortcuts (layer2..layer4)
    assert len(convs) == 1 + 2 * 8 + 3
    assert convs[0] == "conv1" and "layer2.0.downsample.0" in convs
    assert select_layers(resnet18, "linear") == ["fc"]
    assert select_layers(resnet18, "children") == ["conv1", "bn1", "relu", "maxpool", "layer1", "layer2",
                                                    "layer3", "layer4", "avgpool", "fc"]


def test_resnet50_has_3_4_6_3_bottlenecks():
    blocks = select_layers(torchvision.models.resnet50(), "blocks")
    counts = [sum(name.startswith(f"layer{i}.") for name in blocks) for i in range(1, 5)]
    assert counts == [3, 4, 6, 3]


def test_stages_without_layerN_end_where_the_resolution_changes():
    net = torchvision.models.mobilenet_v3_small().eval()
    x = torch.zeros(1, 3, 64, 64)
    # reference: walk net.features by hand and keep the last module before each size change
    sizes = []
    with torch.no_grad():
        h = x
        for i, module in enumerate(net.features):
            h = module(h)
            sizes.append((f"features.{i}", tuple(h.shape[2:])))
    expected = [name for (name, size), (_, nxt) in zip(sizes, sizes[1:] + [(None, None)]) if size != nxt]
    assert len(expected) >= 4
    assert select_layers(net, "stages", example=x) == expected
    assert select_layers(DigitsCNN(), "stages", example=torch.zeros(1, 1, 8, 8)) == ["block1", "block2", "block3"]
    with pytest.raises(TDAInputError, match="needs 'example'"):
        select_layers(net, "stages")


def test_custom_blocks_outermost_only_and_children_skips_reshaping():
    class MyBlock(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = InnerBlock()

        def forward(self, x):
            return self.inner(x)

    class InnerBlock(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(4, 4)

        def forward(self, x):
            return self.lin(x)

    model = nn.Sequential(MyBlock(), nn.Dropout(), MyBlock(), nn.Flatten(), nn.Linear(4, 2))
    assert select_layers(model, "blocks") == ["0", "2"]
    assert select_layers(model, "children") == ["0", "2", "4"]
    assert select_layers(model, "linear") == ["0.inner.lin", "2.inner.lin", "4"]


def test_unknown_preset_lists_the_presets_and_a_close_match(resnet18):
    with pytest.raises(TDAInputError) as info:
        select_layers(resnet18, "block")
    message = str(info.value)
    assert "'preset'" in message and "Did you mean 'blocks'" in message
    assert all(repr(name) in message for name in PRESETS)
    with pytest.raises(TDAInputError, match="selects no layer of DigitsCNN"):
        select_layers(DigitsCNN(), "blocks")


def test_a_module_named_like_a_preset_keeps_its_meaning():
    model = nn.Sequential()
    model.add_module("conv", nn.Conv2d(1, 2, 3))
    model.add_module("head", nn.Flatten())
    assert expand_layers(model, "conv") == "conv"
    assert expand_layers(model, ["linear2"]) == ["linear2"]
    assert expand_layers(model, ("stages",), torch.zeros(1, 1, 5, 5)) == ["conv"]  # last module per resolution
    assert expand_layers(model, None) is None


def test_study_and_widgets_accept_a_preset(resnet18):
    images = torch.randn(6, 3, 32, 32)
    assert Study(resnet18, images, layers="blocks").layers == RESNET18_BLOCKS
    assert Study(resnet18, images, layers=["stages"]).layers == ["layer1", "layer2", "layer3", "layer4"]
    study = Study(resnet18, images, layers="stages")
    clouds = study.cloud("layer4")
    assert clouds.points.shape == (6, 512)
    from tda_widgets.widgets._common import make_study

    assert make_study(resnet18, images, layers="conv").layers[0] == "conv1"
    # a typo that is neither a layer nor a preset still gets the layer-name error
    with pytest.raises(TDAInputError, match="Unknown layer 'blcks'"):
        Study(resnet18, images, layers="blcks")


def test_children_of_a_resnet_capture_bn1_before_the_inplace_relu(resnet18):
    """Regression: the 'children' preset of a ResNet includes bn1, whose output the next module,
    ReLU(inplace=True), overwrites; the hook stored a view of it, so bn1 read as relu(bn1)."""
    from tda_widgets.capture import capture_activations

    images = torch.randn(4, 3, 32, 32)
    layers = select_layers(resnet18, "children")
    acts = capture_activations(resnet18, images, layers)
    with torch.no_grad():
        expected = resnet18.bn1(resnet18.conv1(images))
    assert expected.min() < 0  # the reference really has negative values for ReLU to clip
    torch.testing.assert_close(torch.from_numpy(acts["bn1"]), expected)
