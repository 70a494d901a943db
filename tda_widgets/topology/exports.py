"""Mapper graphs and persistence diagrams in the formats the field's tools read.

- Mapper graphs: node-link JSON (networkx's ``node_link_data`` layout, every node's members,
  image indices and class counts included; :func:`read_node_link` gives the same
  :class:`~tda_widgets.topology.MapperGraph` back), GraphML (Gephi, Cytoscape, networkx; list
  attributes as space-separated text, since GraphML holds scalars only) and
  :meth:`MapperGraph.to_networkx <tda_widgets.topology.MapperGraph.to_networkx>`.
- Diagrams: CSV with columns ``dimension,birth,death`` (``inf`` for an infinite bar), and
  ``.npz`` with one array per dimension (``H0``, ``H1``, ...): the list ``ripser`` returns,
  written without pickle (a ``.npy`` file cannot hold a list of arrays of different lengths
  without it), read back with :func:`read_diagrams`.

Nothing here runs code from a file: JSON, CSV and ``np.load(allow_pickle=False)`` only.
"""

from __future__ import annotations

import csv
import json
import math
import os
from pathlib import Path
from typing import Sequence

import numpy as np

from ..core.errors import TDAInputError

__all__ = ["graph_from_node_link", "graph_to_node_link", "read_diagrams", "read_node_link", "write_diagrams",
           "write_graphml", "write_node_link"]

#: Written into node-link files; :func:`read_node_link` refuses a newer one.
NODE_LINK_FORMAT = 1


def _plain(value):
    """A JSON-safe copy: numpy scalars and arrays to Python, NaN to None, dict keys to text."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return _plain(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)


def _label_key(text: str):
    """Class counts' keys come back as ints where they were ints (JSON keys are text)."""
    try:
        return int(text)
    except ValueError:
        return text


def graph_to_node_link(graph) -> dict:
    """A mapper graph as a JSON-safe node-link dict.

    Parameters
    ----------
    graph : MapperGraph

    Returns
    -------
    dict
        ``{"directed": False, "multigraph": False, "graph": {"params", "lens", "format"},
        "nodes": [{"id", "size", "members", "image_indices", "class_counts", "majority",
        "purity", "entropy", "lens_mean", "group_counts"}], "links": [{"source", "target",
        "weight", "shared"}]}``, the layout of ``networkx.node_link_data`` (edges named
        ``links``), so ``networkx.node_link_graph(data, edges="links")`` reads it.
    """
    nodes = [dict(id=node.id, size=int(node.size), members=_plain(node.members),
                  image_indices=_plain(node.image_indices), class_counts=_plain(node.class_counts or {}),
                  majority=_plain(node.majority), purity=_plain(float(node.purity)),
                  entropy=_plain(float(node.entropy)), lens_mean=_plain(float(node.lens_mean)),
                  group_counts=None if node.group_counts is None else _plain(node.group_counts))
             for node in graph.nodes]
    links = [dict(source=a, target=b, weight=int(len(shared)), shared=_plain(shared)) for a, b, shared in graph.edges]
    return {"directed": False, "multigraph": False,
            "graph": {"format": NODE_LINK_FORMAT, "params": _plain(graph.params), "lens": _plain(graph.lens)},
            "nodes": nodes, "links": links}


def _number(value):
    if value is None:
        return math.nan
    if value == "inf":
        return math.inf
    if value == "-inf":
        return -math.inf
    return float(value)


def graph_from_node_link(data: dict):
    """The :class:`~tda_widgets.topology.MapperGraph` of a dict from :func:`graph_to_node_link`.

    Raises
    ------
    TDAInputError
        If ``data`` is not such a dict, or was written by a newer format.
    """
    from .mapper import MapperGraph, MapperNode

    if not isinstance(data, dict) or not isinstance(data.get("nodes"), list) or not isinstance(data.get("links"), list):
        raise TDAInputError("This is not a tda-widgets mapper graph (node-link JSON with 'nodes' and 'links' lists). "
                            "Write one with write_node_link(graph, path).")
    meta = data.get("graph") or {}
    version = meta.get("format", NODE_LINK_FORMAT)
    if not isinstance(version, int) or version > NODE_LINK_FORMAT:
        raise TDAInputError(f"This mapper graph was written in format {version!r}, newer than this tda-widgets reads "
                            f"({NODE_LINK_FORMAT}). Upgrade tda-widgets to open it.")
    try:
        nodes = []
        for item in data["nodes"]:
            counts = {_label_key(k): int(v) for k, v in (item.get("class_counts") or {}).items()}
            groups = item.get("group_counts")
            nodes.append(MapperNode(
                id=str(item["id"]), members=np.asarray(item["members"], dtype=np.int64),
                image_indices=np.asarray(item["image_indices"], dtype=np.int64), class_counts=counts,
                majority=item.get("majority"), purity=_number(item.get("purity")),
                entropy=_number(item.get("entropy")), lens_mean=_number(item.get("lens_mean")),
                group_counts=None if groups is None else {_label_key(k): int(v) for k, v in groups.items()},
                size=int(item["size"])))
        edges = [(str(link["source"]), str(link["target"]), np.asarray(link["shared"], dtype=np.int64))
                 for link in data["links"]]
        lens = np.asarray(meta.get("lens") or [], dtype=np.float64)
    except (KeyError, TypeError, ValueError) as error:
        raise TDAInputError(f"This mapper graph file is damaged: {type(error).__name__}: {error}. "
                            "Write it again with write_node_link(graph, path).") from None
    return MapperGraph(nodes=nodes, edges=edges, lens=lens, params=dict(meta.get("params") or {}))


def write_node_link(graph, path) -> Path:
    """Write a mapper graph as node-link JSON (:func:`graph_to_node_link`); returns the path."""
    path = Path(path)
    path.write_text(json.dumps(graph_to_node_link(graph), allow_nan=False), encoding="utf-8")
    return path


def read_node_link(path):
    """Read a mapper graph written by :func:`write_node_link`.

    Raises
    ------
    TDAInputError
        If the file is not JSON, not a mapper graph, damaged, or from a newer format.
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise TDAInputError(f"{os.fspath(path)!r} is not a node-link JSON file ({error}). "
                            "Write one with write_node_link(graph, path).") from None
    return graph_from_node_link(data)


def write_graphml(graph, path) -> Path:
    """Write a mapper graph as GraphML (networkx's writer), for Gephi and Cytoscape.

    Node attributes: ``size``, ``purity``, ``entropy``, ``lens_mean``, ``majority`` (text),
    ``members`` and ``image_indices`` (space-separated integers); edges: ``weight`` (shared
    members). GraphML holds scalars only, hence the text lists.
    """
    import networkx as nx

    out = nx.Graph()
    for node in graph.nodes:
        out.add_node(node.id, size=int(node.size), purity=float(node.purity), entropy=float(node.entropy),
                     lens_mean=float(node.lens_mean), majority="" if node.majority is None else str(node.majority),
                     members=" ".join(str(int(m)) for m in node.members),
                     image_indices=" ".join(str(int(i)) for i in node.image_indices))
    for a, b, shared in graph.edges:
        out.add_edge(a, b, weight=int(len(shared)))
    path = Path(path)
    nx.write_graphml(out, path)
    return path


def _check_diagrams(diagrams, where: str) -> list:
    if isinstance(diagrams, np.ndarray) or not isinstance(diagrams, Sequence) and not hasattr(diagrams, "diagrams"):
        raise TDAInputError(f"The 'diagrams' parameter of {where} must be a list of (n_bars, 2) arrays (H0, H1, ...) "
                            "or a PersistenceResult.")
    diagrams = getattr(diagrams, "diagrams", diagrams)
    out = []
    for dim, diagram in enumerate(diagrams):
        array = np.asarray(diagram, dtype=np.float64).reshape(-1, 2) if np.size(diagram) else np.zeros((0, 2))
        if np.isnan(array).any():
            raise TDAInputError(f"{where}: the H{dim} diagram holds NaN; a diagram's births and deaths are numbers "
                                "(inf for an infinite bar).")
        out.append(array)
    return out


def write_diagrams(diagrams, path) -> Path:
    """Write persistence diagrams as CSV (``.csv``) or as one array per dimension (``.npz``).

    Parameters
    ----------
    diagrams : list of ndarray of shape (n_bars, 2), or PersistenceResult
    path : str or Path
        ``.csv``: rows ``dimension,birth,death`` (``inf`` for infinite deaths, values written
        with ``repr`` so they read back exactly). ``.npz``: arrays ``H0``, ``H1``, ...

    Returns
    -------
    Path
    """
    arrays = _check_diagrams(diagrams, "write_diagrams")
    path = Path(path)
    if path.suffix == ".csv":
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["dimension", "birth", "death"])
            for dim, array in enumerate(arrays):
                for birth, death in array:
                    writer.writerow([dim, repr(float(birth)), "inf" if math.isinf(death) else repr(float(death))])
    elif path.suffix == ".npz":
        np.savez(path, **{f"H{dim}": array for dim, array in enumerate(arrays)})
    else:
        raise TDAInputError(f"write_diagrams writes .csv or .npz files; got {path.name!r}. Use one of those suffixes "
                            "(.npy cannot hold a list of diagrams without pickle).")
    return path


def read_diagrams(path) -> list:
    """Read diagrams written by :func:`write_diagrams` (a list of (n_bars, 2) arrays, H0 first).

    Raises
    ------
    TDAInputError
        If the file is damaged or not such a file.
    """
    path = Path(path)
    try:
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as stored:
                keys = sorted(stored.files, key=lambda k: int(k[1:]))
                if [f"H{k}" for k in range(len(keys))] != keys:
                    raise ValueError(f"arrays {keys}, expected H0, H1, ...")
                return [stored[key].reshape(-1, 2).astype(np.float64) for key in keys]
        rows: dict = {}
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            if next(reader) != ["dimension", "birth", "death"]:
                raise ValueError("the first row is not 'dimension,birth,death'")
            for row in reader:
                rows.setdefault(int(row[0]), []).append((float(row[1]), float(row[2])))
        top = max(rows) if rows else -1
        return [np.asarray(rows.get(dim, []), dtype=np.float64).reshape(-1, 2) for dim in range(top + 1)]
    except (OSError, ValueError, KeyError, IndexError, StopIteration) as error:
        raise TDAInputError(f"Cannot read diagrams from {path.name!r}: {error}. Write them with "
                            "write_diagrams(diagrams, path) (.csv or .npz).") from None
