"""Reliability audit (issue 8): bad inputs, injected faults, properties, widget abuse.

Shared helpers for the tests of this folder: a tiny CNN with BatchNorm (so that a forgotten
eval mode would change buffers), a bit-exact snapshot of a model's state, and a check that
an error names both the problem and the fix.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from contextlib import contextmanager

import torch
from torch import nn

__all__ = ["TinyCNN", "tiny_images", "snapshot", "assert_model_unchanged", "assert_no_hooks",
           "raises_with", "LAYERS"]

LAYERS = ("block1", "block2", "fc", "head")


class TinyCNN(nn.Module):
    """(N, 1, 8, 8) -> block1 (N, 4, 8, 8) -> block2 (N, 6, 4, 4) -> fc (N, 8) -> head (N, 3)."""

    def __init__(self, seed: int = 0):
        super().__init__()
        torch.manual_seed(seed)
        self.block1 = nn.Sequential(OrderedDict(conv=nn.Conv2d(1, 4, 3, padding=1), bn=nn.BatchNorm2d(4),
                                                relu=nn.ReLU()))
        self.block2 = nn.Sequential(OrderedDict(conv=nn.Conv2d(4, 6, 3, padding=1), relu=nn.ReLU(),
                                                pool=nn.MaxPool2d(2)))
        self.flatten = nn.Flatten()
        self.fc = nn.Sequential(nn.Linear(6 * 4 * 4, 8), nn.ReLU())
        self.head = nn.Linear(8, 3)
        # Non-trivial BatchNorm statistics: a forward pass in train mode would change them.
        with torch.no_grad():
            self.block1.bn.running_mean.uniform_(-0.5, 0.5)
            self.block1.bn.running_var.uniform_(0.5, 2.0)

    def forward(self, x):
        return self.head(self.fc(self.flatten(self.block2(self.block1(x)))))


def tiny_images(n: int = 24, seed: int = 1) -> torch.Tensor:
    return torch.randn(n, 1, 8, 8, generator=torch.Generator().manual_seed(seed))


def snapshot(model: nn.Module) -> dict:
    """Everything about a model that capture must leave alone, copied bit for bit."""
    return {
        "training": [(name, m.training) for name, m in model.named_modules()],
        "requires_grad": [(name, p.requires_grad) for name, p in model.named_parameters()],
        "grads": [(name, None if p.grad is None else p.grad.clone()) for name, p in model.named_parameters()],
        "tensors": {name: (t.dtype, t.device, t.detach().cpu().clone().reshape(-1).view(torch.uint8).numpy().tobytes()
                           if t.numel() and not t.is_meta else b"")
                    for name, t in model.state_dict().items()},
        "hooks": [(name, len(m._forward_hooks), len(m._forward_pre_hooks), len(m._backward_hooks))
                  for name, m in model.named_modules()],
    }


def assert_model_unchanged(model: nn.Module, before: dict) -> None:
    after = snapshot(model)
    assert after["training"] == before["training"], "a module's train/eval mode changed"
    assert after["requires_grad"] == before["requires_grad"], "a requires_grad flag changed"
    for (name, g0), (_, g1) in zip(before["grads"], after["grads"]):
        assert (g0 is None) == (g1 is None) and (g0 is None or torch.equal(g0, g1)), f".grad of {name} changed"
    assert after["tensors"].keys() == before["tensors"].keys()
    for name, value in before["tensors"].items():
        assert after["tensors"][name] == value, f"parameter or buffer {name!r} changed (bytes, dtype or device)"
    assert after["hooks"] == before["hooks"], "a hook was left registered (or removed)"


def assert_no_hooks(model: nn.Module) -> None:
    for name, module in model.named_modules():
        assert not module._forward_hooks, f"forward hook left on {name!r}"
        assert not module._forward_pre_hooks, f"forward pre-hook left on {name!r}"


@contextmanager
def raises_with(exc_type, problem: str, fix: str):
    """Expect ``exc_type`` whose message matches both ``problem`` and ``fix`` (regexes)."""
    try:
        yield
    except exc_type as exc:
        message = str(exc)
        assert re.search(problem, message), f"the problem {problem!r} is not named in: {message}"
        assert re.search(fix, message), f"the fix {fix!r} is not named in: {message}"
    else:
        raise AssertionError(f"{exc_type.__name__} was not raised")
