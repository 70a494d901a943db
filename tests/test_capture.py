"""Activation capture: values, hook hygiene, model left unchanged, and bad input."""

import threading

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from tda_widgets.capture import hooks as capture_mod  # the capture package's hooks module
from tda_widgets.capture import as_labels, capture_activations, describe_layers, resolve_layers
from tda_widgets.errors import BudgetExceededError, Cancelled, TDAInputError, TDATypeError


class Probe(nn.Module):
    """Records the mode and grad state it ran under."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def forward(self, x):
        self.seen.append((self.training, torch.is_grad_enabled()))
        return x


def make_model():
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.Dropout(0.5),
        Probe(),
        nn.Flatten(),
        nn.Linear(4 * 6 * 6, 3),
    )


def snapshot(model):
    return {
        "training": [(n, m.training) for n, m in model.named_modules()],
        "requires_grad": [(n, p.requires_grad) for n, p in model.named_parameters()],
        "tensors": {n: t.detach().clone() for n, t in list(model.state_dict().items())},
    }


def assert_same(model, before):
    after = snapshot(model)
    assert after["training"] == before["training"]
    assert after["requires_grad"] == before["requires_grad"]
    assert after["tensors"].keys() == before["tensors"].keys()
    for name, t in before["tensors"].items():
        # bytes identical, BatchNorm running stats and num_batches_tracked included
        assert torch.equal(after["tensors"][name], t), name


def assert_no_hooks(model):
    for name, module in model.named_modules():
        assert len(module._forward_hooks) == 0, f"hook left on {name!r}"


@pytest.fixture
def images():
    return torch.randn(10, 1, 6, 6, generator=torch.Generator().manual_seed(1))


def test_values_match_direct_computation(images):
    model = make_model().eval()
    acts = capture_activations(model, images, ["0", "2", "6"], batch_size=3)
    with torch.no_grad():
        conv = model[0](images)
        relu = model[2](model[1](conv))
        logits = model(images)
    assert acts["0"].dtype == np.float32 and acts["0"].shape == (10, 4, 6, 6)
    np.testing.assert_allclose(acts["0"], conv.numpy(), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(acts["2"], relu.numpy(), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(acts["6"], logits.numpy(), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(acts.outputs, logits.numpy(), rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(acts.predictions, logits.argmax(1).numpy())


def test_tensor_dataset_loader_and_array_agree(images):
    model = make_model()
    ref = capture_activations(model, images, ["2"], batch_size=4)["2"]
    labels = torch.arange(10)
    for source in (
        images.numpy(),
        TensorDataset(images, labels),
        DataLoader(TensorDataset(images, labels), batch_size=3),
    ):
        got = capture_activations(model, source, ["2"], batch_size=4)["2"]
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-6)  # batching changes rounding


def test_progress_reaches_the_end(images):
    calls = []
    capture_activations(make_model(), images, ["2"], batch_size=4, progress=lambda d, t, m: calls.append((d, t)))
    assert calls == [(4, 10), (8, 10), (10, 10)]


def test_runs_in_eval_mode_under_no_grad_and_restores_training(images):
    model = make_model()
    model.train()
    model[1].eval()  # a mixed state must come back exactly
    model[0].weight.requires_grad_(False)
    before = snapshot(model)
    capture_activations(model, images, ["2", "6"], batch_size=5)
    assert model[4].seen and all(seen == (False, False) for seen in model[4].seen)
    assert_same(model, before)
    assert_no_hooks(model)


def test_training_mode_batchnorm_stats_untouched(images):
    model = make_model().train()
    before = snapshot(model)
    capture_activations(model, images * 10 + 3, ["1"])
    assert_same(model, before)


class Boom(Exception):
    pass


class Exploding(nn.Module):
    def forward(self, x):
        raise Boom("forward failed")


def test_no_hook_left_when_forward_raises(images):
    model = make_model().train()
    model.add_module("7", Exploding())
    before = snapshot(model)
    with pytest.raises(Boom):
        capture_activations(model, images, ["0", "2"])
    assert_no_hooks(model)
    assert_same(model, before)


def test_no_hook_left_when_a_hook_raises(images, monkeypatch):
    model = make_model().train()
    before = snapshot(model)

    def bad_hook_factory(name, sink, reducer=None, **kwargs):
        def hook(module, args, output):
            raise Boom("hook failed")
        return hook

    monkeypatch.setattr(capture_mod, "_make_hook", bad_hook_factory)
    with pytest.raises(Boom):
        capture_activations(model, images, ["0", "2"])
    assert_no_hooks(model)
    assert_same(model, before)


def test_no_hook_left_on_cancel(images):
    model = make_model().train()
    before = snapshot(model)
    cancel = threading.Event()

    def progress(done, total, msg):
        if done >= 4:
            cancel.set()

    with pytest.raises(Cancelled):
        capture_activations(model, images, ["0"], batch_size=2, progress=progress, cancel=cancel)
    assert_no_hooks(model)
    assert_same(model, before)


def test_no_hook_left_on_keyboard_interrupt(images):
    model = make_model().train()
    calls = {"n": 0}

    class Interrupting(nn.Module):
        def forward(self, x):
            calls["n"] += 1
            if calls["n"] == 2:
                raise KeyboardInterrupt
            return x

    model.add_module("7", Interrupting())
    before = snapshot(model)
    with pytest.raises(KeyboardInterrupt):
        capture_activations(model, images, ["0", "2"], batch_size=3)
    assert calls["n"] == 2
    assert_no_hooks(model)
    assert_same(model, before)


def test_the_hook_function_alone():
    sink = {}
    hook = capture_mod._make_hook("x", sink, reducer=lambda t: t.mean(dim=(2, 3)))
    t = torch.ones(2, 3, 4, 4, requires_grad=True) * 2
    hook(None, (), t)
    assert not sink["x"].requires_grad
    assert sink["x"].shape == (2, 3) and torch.all(sink["x"] == 2)


def test_reducers_stream_pooled_activations(images):
    model = make_model()
    full = capture_activations(model, images, ["2"])["2"]
    pooled = capture_activations(model, images, ["2"], reducers={"2": lambda t: t.mean(dim=(2, 3))})["2"]
    np.testing.assert_allclose(pooled, full.mean(axis=(2, 3)), rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------- bad input


def test_unknown_layer_lists_close_names(images):
    model = nn.Sequential()
    model.add_module("block1", nn.Conv2d(1, 2, 3))
    model.add_module("block2", nn.ReLU())
    with pytest.raises(TDAInputError, match=r"Unknown layer 'blok1'.*Did you mean 'block1'"):
        capture_activations(model, images, ["blok1"])
    assert_no_hooks(model)


def test_duplicate_layer_name():
    with pytest.raises(TDAInputError, match="listed twice"):
        resolve_layers(make_model(), ["0", "0"])


def test_default_layers_are_direct_children():
    # Dropout (3) and Flatten (5) only repeat their neighbour's geometry
    assert resolve_layers(make_model()) == ["0", "1", "2", "4", "6"]


def test_empty_input_names_the_problem():
    with pytest.raises(TDAInputError, match="no images"):
        capture_activations(make_model(), torch.empty(0, 1, 6, 6), ["0"])


def test_wrong_shape_is_wrapped_with_the_given_shape():
    model = make_model()
    before = snapshot(model)
    with pytest.raises(TDAInputError, match=r"rejected inputs of shape \(5, 3, 6, 6\).*channels"):
        capture_activations(model, torch.randn(5, 3, 6, 6), ["0"])
    assert_no_hooks(model)
    assert_same(model, before)


def test_non_tensor_input():
    with pytest.raises(TDATypeError, match="torch.Tensor, a numpy array"):
        capture_activations(make_model(), 42, ["0"])


def test_labels_of_wrong_length():
    with pytest.raises(TDAInputError, match="labels has 3 entries but there are 10 images"):
        as_labels([1, 2, 3], 10)
    np.testing.assert_array_equal(as_labels(torch.tensor([1, 2]), 2), [1, 2])


def test_nan_activations_name_the_layer_and_count(images):
    model = make_model()
    bad = images.clone()
    bad[0, 0, 0, 0] = float("nan")
    with pytest.raises(TDAInputError, match=r"layer '0': \d+ of 1440 values"):
        capture_activations(model, bad, ["0"])
    assert_no_hooks(model)


def test_budget_checked_before_allocating(images, monkeypatch):
    allocations = []
    real_empty = np.empty
    monkeypatch.setattr(capture_mod.np, "empty", lambda *a, **k: allocations.append(a) or real_empty(*a, **k))
    with pytest.raises(BudgetExceededError, match=r"needs about .* budget \(max_bytes\) is 1.0 KiB.*n_images"):
        capture_activations(make_model(), images, ["0"], max_bytes=1024)
    assert allocations == []


class TupleLayer(nn.Module):
    def forward(self, x):
        return x, x


def test_layer_output_that_is_not_a_tensor(images):
    model = nn.Sequential(nn.Identity())
    model.add_module("pair", TupleLayer())
    with pytest.raises(TDATypeError, match=r"Layer 'pair' returned a tuple of 2 \(Tensor, Tensor\)"):
        capture_activations(model, images, ["pair"])
    assert_no_hooks(model)


def test_shared_module_is_refused(images):
    relu = nn.ReLU()
    model = nn.Sequential(nn.Conv2d(1, 2, 3), relu, nn.Conv2d(2, 2, 3), relu)
    with pytest.raises(TDAInputError, match="more than once in one forward pass"):
        capture_activations(model, images, ["1"])
    assert_no_hooks(model)


def test_model_returning_a_dict_keeps_logits(images):
    class DictModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Flatten(), nn.Linear(36, 3))

        def forward(self, x):
            return {"logits": self.body(x), "aux": 0}

    model = DictModel()
    acts = capture_activations(model, images, ["body"])
    assert acts.outputs.shape == (10, 3)


def test_describe_layers_shapes(images):
    rows = describe_layers(make_model(), images)
    shapes = {r["name"]: r["output_shape"] for r in rows}
    assert shapes["0"] == (4, 6, 6) and shapes["5"] == (144,) and shapes["6"] == (3,)
