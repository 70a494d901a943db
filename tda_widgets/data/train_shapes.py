"""Train the embedded :class:`~tda_widgets.data.shapes.ShapesCNN` on the synthetic shapes.

Deterministic for a given seed on the CPU (single thread, deterministic algorithms, seeded
batch order), a few seconds on two cores.

Usage::

    python -m tda_widgets.data.train_shapes [--epochs N] [--seed 0] [--out PATH]

``--out`` defaults to the shipped ``tda_widgets/data/shapes_cnn.pt``; the shipped file was made
with the defaults.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from torch import nn

from tda_widgets.core._progress import check_cancel, report
from tda_widgets.data.shapes import ShapesCNN, load_shapes_tensors, shapes_split
from tda_widgets.data.train_digits import _deterministic_cpu, evaluate_accuracy
from tda_widgets.core.errors import TDAInputError

__all__ = ["train", "main", "DEFAULT_EPOCHS"]

#: Epochs used to make the shipped weights.
DEFAULT_EPOCHS = 10

_BATCH_SIZE = 32
_LEARNING_RATE = 2e-3


def train(epochs: int = DEFAULT_EPOCHS, seed: int = 0, progress=None, cancel=None) -> tuple[ShapesCNN, float]:
    """Train a :class:`ShapesCNN` on the training split of the embedded shapes.

    Adam (learning rate 2e-3), batches of 32 reshuffled every epoch by a generator seeded by
    ``seed``, cross-entropy loss, single-threaded deterministic kernels.

    Parameters
    ----------
    epochs : int, default DEFAULT_EPOCHS
        Passes over the 1,350 training images; at least 1.
    seed : int, default 0
        Seeds the initial weights and the batch order (the images are always seed 0's).
    progress : callable or None
        Called as ``progress(done_epochs, epochs, message)``.
    cancel : threading.Event or None
        Checked between batches.

    Returns
    -------
    model : ShapesCNN
        In eval mode.
    accuracy : float
        Its accuracy on the 450 held-out images.
    """
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise TDAInputError(f"The 'epochs' parameter of train must be an int >= 1. Got {epochs!r} instead.")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise TDAInputError(f"The 'seed' parameter of train must be an int >= 0. Got {seed!r} instead.")
    images, labels = load_shapes_tensors()
    split = shapes_split(len(labels))
    train_images = images[torch.from_numpy(split["train"])]
    train_labels = torch.from_numpy(labels[split["train"]])
    with _deterministic_cpu():
        torch.manual_seed(seed)
        model = ShapesCNN()
        generator = torch.Generator().manual_seed(seed)
        optimizer = torch.optim.Adam(model.parameters(), lr=_LEARNING_RATE)
        loss_fn = nn.CrossEntropyLoss()
        for epoch in range(1, epochs + 1):
            model.train()
            order = torch.randperm(len(train_labels), generator=generator)
            for start in range(0, len(order), _BATCH_SIZE):
                check_cancel(cancel, f"training epoch {epoch}")
                batch = order[start:start + _BATCH_SIZE]
                optimizer.zero_grad()
                loss = loss_fn(model(train_images[batch]), train_labels[batch])
                loss.backward()
                optimizer.step()
            report(progress, epoch, epochs, f"epoch {epoch}/{epochs}, last loss {loss.item():.4f}")
        model.eval()
        test = torch.from_numpy(split["test"])
        accuracy = evaluate_accuracy(model, images[test], labels[split["test"]])
    return model, accuracy


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; see the module docstring."""
    parser = argparse.ArgumentParser(prog="python -m tda_widgets.data.train_shapes",
                                     description="Train the embedded shapes CNN deterministically.")
    parser.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS, help="passes over the data")
    parser.add_argument("--seed", type=int, default=0, help="seed of weights and batch order")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "shapes_cnn.pt",
                        help="where to save the state dict")
    args = parser.parse_args(argv)
    model, accuracy = train(epochs=args.epochs, seed=args.seed,
                            progress=lambda done, total, message: print(message, flush=True))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), args.out)
    n_test = len(shapes_split()["test"])
    print(f"held-out accuracy: {accuracy:.3f} ({n_test} images)")
    print(f"saved {args.out} ({args.out.stat().st_size / 1024:.0f} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
