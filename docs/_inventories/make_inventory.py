"""Write the small Sphinx inventories (objects.inv format) that link numpy, torch, plotly and
ipywidgets names in the API reference without any network access.

The table below is kept by hand: each line is a name our docstrings use, its role and its
page under the project's documentation root (``intersphinx_mapping`` in ``docs/conf.py``).
Run ``python docs/_inventories/make_inventory.py`` after changing it; the .inv files are
committed.
"""

from __future__ import annotations

import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent

TABLE = {
    "numpy": ("NumPy", [
        ("numpy.ndarray", "py:class", "reference/generated/numpy.ndarray.html#numpy.ndarray"),
        ("numpy.random.Generator", "py:class", "reference/random/generator.html#numpy.random.Generator"),
        ("numpy.typing.ArrayLike", "py:data", "reference/typing.html#numpy.typing.ArrayLike"),
        ("numpy.dtype", "py:class", "reference/generated/numpy.dtype.html#numpy.dtype"),
    ]),
    "torch": ("PyTorch", [
        ("torch.nn.Module", "py:class", "generated/torch.nn.Module.html#torch.nn.Module"),
        ("torch.Tensor", "py:class", "tensors.html#torch.Tensor"),
        ("torch.device", "py:class", "tensor_attributes.html#torch.device"),
        ("torch.dtype", "py:class", "tensor_attributes.html#torch.dtype"),
        ("torch.utils.data.Dataset", "py:class", "data.html#torch.utils.data.Dataset"),
        ("torch.utils.data.DataLoader", "py:class", "data.html#torch.utils.data.DataLoader"),
    ]),
    "plotly": ("plotly", [
        ("plotly.graph_objects.Figure", "py:class",
         "generated/plotly.graph_objects.Figure.html#plotly.graph_objects.Figure"),
        ("plotly.graph_objects.FigureWidget", "py:class",
         "generated/plotly.graph_objects.FigureWidget.html#plotly.graph_objects.FigureWidget"),
    ]),
    "ipywidgets": ("ipywidgets", [
        # ipywidgets documents its widgets on one page, without per-class anchors
        (name, "py:class", "examples/Widget%20List.html")
        for name in ("ipywidgets.VBox", "ipywidgets.widgets.widget_box.VBox", "ipywidgets.Tab",
                     "ipywidgets.widgets.widget_selectioncontainer.Tab", "ipywidgets.HTML",
                     "ipywidgets.DOMWidget")
    ]),
}


def write(name: str, project: str, rows: list[tuple[str, str, str]]) -> Path:
    header = (f"# Sphinx inventory version 2\n# Project: {project}\n# Version: \n"
              "# The remainder of this file is compressed using zlib.\n")
    body = "".join(f"{obj} {role} 1 {uri} -\n" for obj, role, uri in rows)
    path = HERE / f"{name}.inv"
    path.write_bytes(header.encode() + zlib.compress(body.encode()))
    return path


if __name__ == "__main__":
    for key, (project, rows) in TABLE.items():
        print(write(key, project, rows))
