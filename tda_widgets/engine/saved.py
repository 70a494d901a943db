"""A study saved to one file and opened again, with or without its model.

:meth:`Study.save <tda_widgets.engine.study.Study.save>` writes a zip archive (the suffix
``.tda`` is the convention) of plain parts only:

- ``manifest.json``: the format and its version, the package version, the study's settings
  (layers, number of images, budgets, the study preset), the fingerprints of the model, images
  and labels, the class names, the model's probed layer shapes (for the choices that depend on
  them), and every finished result of the study's cache as ``{"key": ..., "value": ...}``;
- ``arrays/<n>.npy``: every array those entries hold, written by :func:`numpy.save` with
  ``allow_pickle=False`` (so an object array is refused, never pickled).

Values are encoded as JSON of a small closed vocabulary: numbers, strings, lists, and objects
with one marker (``$tuple``, ``$dict`` as key/value pairs, ``$set``, ``$scalar`` for a numpy
scalar of a numeric dtype, ``$array`` for a member, ``$dc`` for a dataclass). A dataclass is
rebuilt only through a fixed registry of this package's spec and result classes (:func:`classes`):
a file names a class by its short name and nothing in a file is imported, evaluated or
unpickled. Spec classes validate their fields on creation, so a file cannot smuggle in a
setting its declaration refuses.

:func:`open_study` reads the file back (checking the member names, the declared sizes against
a limit before anything is decompressed, and each member's real size while it is read) into a
study whose cache holds the stored results under their original keys, so every stored result
answers exactly as before, bit for bit. Without a model, the study's context holds stand-ins
that raise :class:`NeedsModelError` (naming the file and how to open it with the model) as soon
as a step would need the model or the images; what needs neither (another distance metric on
stored diagrams, a mapper setting on a stored cloud) is computed as usual. With a model and
images, their fingerprints are checked against the file's first (a different model or other
images are refused), then missing results are computed normally.
"""

from __future__ import annotations

import functools
import io
import json
import os
import re
import tempfile
import warnings
import zipfile
import zlib
from collections import Counter
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np

from .._version import __version__
from ..core.errors import TDAInputError

__all__ = ["save_study", "open_study", "StudyFileError", "NeedsModelError", "FORMAT", "FORMAT_VERSION",
           "DEFAULT_MAX_BYTES", "stored_keys", "is_opened", "classes"]

#: The format's name and version in every manifest; a file of a later version is refused.
FORMAT, FORMAT_VERSION = "tda-widgets/study", 1
#: The most bytes a file may declare, all members decompressed together (a zip bomb is refused
#: before anything is decompressed); ``open_study(max_bytes=...)`` raises it.
DEFAULT_MAX_BYTES = 2 * 1024**3
_MAX_MANIFEST_BYTES = 256 * 1024**2
_MAX_MEMBERS = 200_000
_MANIFEST = "manifest.json"
_ARRAY_NAME = re.compile(r"arrays/(\d{1,7})\.npy")
#: The steps whose results are saved; "activations" (the raw captures) never are, "cloud" only
#: with ``clouds=True``.
_SAVED_STEPS = ("cloud", "diagrams", "distances", "cka", "similarity", "mapper", "measures-table", "sensitivity",
                "cross-model", "outputs", "thumbnails")


class StudyFileError(TDAInputError):
    """A study file cannot be opened (not a study file, truncated, corrupt, too large, written by a
    newer format, or computed from another model or other images); the message names the file,
    the problem and the fix. Nothing is changed."""


class NeedsModelError(TDAInputError):
    """A study opened without its model was asked for a result its file does not hold; the
    message names the request, the file and how to open the file with the model."""


@functools.lru_cache(maxsize=None)
def classes() -> dict:
    """The only classes a file can name (by their short name): this package's specs and results."""
    from ..clouds.make import CloudSpec, PointCloud
    from ..topology.agreement import MeasuresTable
    from ..topology.cka import CKASpec
    from ..topology.distances import DistanceSpec
    from ..topology.mapper import MapperGraph, MapperNode, MapperSpec
    from ..topology.persistence import PersistenceResult, PersistenceSpec
    from ..topology.sensitivity import SensitivityResult
    from ..topology.similarity import SimilaritySpec
    from .presets import Preset
    from .results import Comparison

    allowed = (CloudSpec, PersistenceSpec, DistanceSpec, MapperSpec, SimilaritySpec, CKASpec, Preset, PointCloud,
               PersistenceResult, MapperGraph, MapperNode, MeasuresTable, SensitivityResult, Comparison)
    return {cls.__name__: cls for cls in allowed}


class _Unsaveable(Exception):
    """A value outside the file's vocabulary (a callable, an object array, a foreign object)."""


# --------------------------------------------------------------------------- encoding


def _encode(value: Any, arrays: list) -> Any:
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.generic):
        if value.dtype.kind not in "biuf":
            raise _Unsaveable(f"a numpy scalar of dtype {value.dtype}")
        return {"$scalar": value.dtype.str, "value": value.item()}
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            raise _Unsaveable("an array of Python objects")
        arrays.append(value)
        return {"$array": len(arrays) - 1}
    if isinstance(value, tuple):
        return {"$tuple": [_encode(v, arrays) for v in value]}
    if isinstance(value, list):
        return [_encode(v, arrays) for v in value]
    if isinstance(value, (set, frozenset)):
        return {"$set": [_encode(v, arrays) for v in value], "frozen": isinstance(value, frozenset)}
    if isinstance(value, dict):
        return {"$dict": [[_encode(k, arrays), _encode(v, arrays)] for k, v in value.items()]}
    if is_dataclass(value) and classes().get(type(value).__name__) is type(value):
        return {"$dc": type(value).__name__,
                "fields": {f.name: _encode(getattr(value, f.name), arrays) for f in fields(value) if f.init}}
    raise _Unsaveable(f"a {type(value).__name__}")


class _Decoder:
    """Rebuilds what :func:`_encode` wrote; anything else is a ValueError (a corrupt file)."""

    def __init__(self, arrays: dict):
        self.arrays = arrays

    def __call__(self, node: Any) -> Any:
        if node is None or isinstance(node, (bool, str, int, float)):
            return node
        if isinstance(node, list):
            return [self(v) for v in node]
        if not isinstance(node, dict) or not node:
            raise ValueError(f"unexpected value {str(node)[:60]}")
        if "$tuple" in node:
            return tuple(self(v) for v in node["$tuple"])
        if "$dict" in node:
            return {self._hashable(k): self(v) for k, v in node["$dict"]}
        if "$set" in node:
            items = [self._hashable(v) for v in node["$set"]]
            return frozenset(items) if node.get("frozen") else set(items)
        if "$array" in node:
            return self.arrays[int(node["$array"])]
        if "$scalar" in node:
            dtype = np.dtype(str(node["$scalar"]))
            if dtype.kind not in "biuf":
                raise ValueError(f"a scalar of dtype {dtype}")
            return dtype.type(node["value"])
        if "$dc" in node:
            cls = classes().get(str(node["$dc"]))
            if cls is None:
                raise ValueError(f"an unknown class {str(node['$dc'])[:60]!r} (a file names only "
                                 f"{', '.join(sorted(classes()))})")
            allowed = {f.name for f in fields(cls) if f.init}
            given = dict(node["fields"])
            if not set(given) <= allowed:
                raise ValueError(f"{cls.__name__} has no field(s) {sorted(set(given) - allowed)}")
            return cls(**{name: self(v) for name, v in given.items()})
        raise ValueError(f"unexpected object with keys {sorted(node)[:5]}")

    def _hashable(self, node):
        value = self(node)
        if isinstance(value, (list, dict, set)):
            raise ValueError("an unhashable key")
        return value


# --------------------------------------------------------------------------- saving


def _wanted(key: Any, model_key: str, inputs_key: str, clouds: bool) -> bool:
    if not isinstance(key, tuple) or len(key) < 2 or key[0] not in _SAVED_STEPS:
        return False
    if key[0] == "cloud" and not clouds:
        return False
    if key[0] == "thumbnails":
        return key[1] == inputs_key
    return len(key) >= 3 and key[1] == model_key and key[2] == inputs_key


def save_study(study, path: Any, *, clouds: bool = True) -> Path:
    """Write the study to one file that :func:`tda_widgets.open_study` opens without the model
    (``Study.save``).

    The file (a zip of JSON and ``.npy`` arrays, never pickle; the suffix ``.tda`` is the
    convention) holds every setting (the study preset, the layers, the budgets), the fingerprints
    of the model, images and labels, the labels and class names, the model's name and size, and
    every finished result of the study's cache for this model and these images: point clouds
    (unless ``clouds=False``), diagrams, distance matrices, CKA and the other measures, mapper
    graphs, sensitivity curves, cross-model matrices, the model's outputs and the thumbnails;
    with the package version and the format version. The raw activations are left out. It is
    written to a temporary file, then renamed: an interrupted save leaves no half file.

    Parameters
    ----------
    path : str or Path
        The file (its folder is created if missing; an existing file is replaced).
    clouds : bool, default True
        Keep the point clouds: the explorers and the report read them, and every setting computed
        from a cloud (homology, scale, metric, mapper cover) then needs no model. ``False``: a
        smaller file holding only the finished results.

    Returns
    -------
    Path
        The file written.

    Warns
    -----
    UserWarning
        When a cached result cannot be written (a cloud spec with a Python function as its
        ``activation``): it is named and left out.

    Examples
    --------
    >>> study.save("digits.tda")                      # doctest: +SKIP
    >>> shared = tda_widgets.open_study("digits.tda")  # doctest: +SKIP
    """
    from . import steps

    ctx = study.context
    path = Path(path).expanduser()
    if path.is_dir():
        raise TDAInputError(f"Study.save: the 'path' parameter is a directory ({path}); give a file name, "
                            f"e.g. {str(path / 'study.tda')!r}.")
    model_key = ctx.model_key()
    if not getattr(ctx.model, "missing_model", False):
        # the explorers' thumbnails, and the probes the choices of a model-less study read
        for probe in (steps.thumbnails, steps.per_image_shapes, steps.forward_bytes):
            try:
                probe(ctx)
            except Exception:  # a probe is a convenience of the opened study, never a reason not to save
                pass
    arrays: list = []
    entries, skipped = [], []
    for key, value in ctx.cache.items():
        if not _wanted(key, model_key, ctx.inputs_key, clouds):
            continue
        mark = len(arrays)
        try:
            entries.append({"key": _encode(key, arrays), "value": _encode(value, arrays)})
        except _Unsaveable as exc:
            del arrays[mark:]
            skipped.append(f"{key[0]} (its settings hold {exc})")
    memo = [[_encode(k, arrays), _encode(v, arrays)] for k, v in ctx.memo.items()
            if isinstance(k, tuple) and len(k) == 2 and k[1] == model_key and k[0] in ("shapes", "forward bytes")]
    preset = getattr(study, "preset", None)
    stored_model = getattr(study, "stored_model", None)
    if stored_model is None:
        stored_model = {"name": type(ctx.model).__name__,
                        "parameters": int(sum(p.numel() for p in ctx.model.parameters()))}
    manifest = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "package_version": __version__,
        "study": {"model_key": model_key, "inputs_key": ctx.inputs_key, "labels_key": ctx.labels_key,
                  "layers": list(ctx.layers), "n_images": int(ctx.n_images),
                  "labels": _encode(None if ctx.labels is None else np.asarray(ctx.labels), arrays),
                  "class_names": None if study.class_names is None else [str(c) for c in study.class_names],
                  "preset": _encode(preset, arrays) if preset is not None else None,
                  "max_bytes": int(ctx.max_bytes), "max_memory_bytes": int(ctx.max_memory_bytes),
                  "stream_pooled": bool(ctx.stream_pooled), "requested_batch_size": ctx.requested_batch_size},
        "model": stored_model, "memo": memo, "entries": entries, "skipped": skipped,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle, zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(_MANIFEST, json.dumps(manifest))
            for n, array in enumerate(arrays):
                buffer = io.BytesIO()
                np.save(buffer, np.asarray(array), allow_pickle=False)
                archive.writestr(f"arrays/{n}.npy", buffer.getvalue())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # a file like any other (mkstemp's is private)
        os.replace(tmp, path)  # a crash never leaves half a file under the real name
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    if skipped:
        counts = Counter(skipped)
        warnings.warn(f"Study.save: {len(skipped)} cached result(s) cannot be written to a file and were left out of "
                      f"{path.name}: {'; '.join(f'{n} x {what}' for what, n in counts.items())}. They are "
                      "recomputed when the file is opened with the model.", stacklevel=2)
    return path


# --------------------------------------------------------------------------- reading


def _read(path: Path, max_bytes: int) -> tuple[dict, dict]:
    """The manifest and arrays of a study file, every check done; a StudyFileError otherwise."""

    def refuse(problem: str, fix: str = "Ask for the file again, or save the study again.") -> StudyFileError:
        return StudyFileError(f"Cannot open {str(path)!r} as a saved study: {problem}. {fix} Nothing was changed.")

    if not path.is_file():
        raise refuse("there is no such file", "Check the path.")
    if not zipfile.is_zipfile(path):
        raise refuse("it is not a tda-widgets study file (not a zip archive; truncated, or another kind of file)")
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            names = [info.filename for info in infos]
            if _MANIFEST not in names:
                raise refuse(f"it is a zip archive but not a tda-widgets study (no {_MANIFEST}; it holds "
                             f"{', '.join(names[:3]) or 'nothing'}{' ...' if len(names) > 3 else ''})",
                             "Open a file written by Study.save.")
            strange = [n for n in names if n != _MANIFEST and not _ARRAY_NAME.fullmatch(n)]
            if strange or len(set(names)) != len(names) or len(names) > _MAX_MEMBERS:
                raise refuse(f"it holds unexpected members ({', '.join(map(repr, strange[:3])) or 'duplicates'}); "
                             "a study file holds only manifest.json and arrays/<n>.npy", "Open a file written by "
                             "Study.save.")
            declared = sum(info.file_size for info in infos)
            if declared > max_bytes:
                raise refuse(f"its members would decompress to {declared:,} bytes, above the limit of "
                             f"{max_bytes:,} bytes", "If you trust the file, open it with a larger max_bytes=.")

            def member(info, limit):
                if info.file_size > limit:
                    raise refuse(f"its member {info.filename!r} declares {info.file_size:,} bytes, above the "
                                 f"limit of {limit:,}")
                with archive.open(info) as handle:
                    data = handle.read(info.file_size + 1)
                if len(data) != info.file_size:
                    raise refuse(f"its member {info.filename!r} does not hold the size it declares")
                return data

            by_name = {info.filename: info for info in infos}
            manifest = json.loads(member(by_name[_MANIFEST], _MAX_MANIFEST_BYTES))
            if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
                raise refuse(f"its manifest is not a tda-widgets study's (format {str(manifest.get('format'))[:40]!r}"
                             if isinstance(manifest, dict) else "its manifest is not a JSON object",
                             "Open a file written by Study.save.")
            version = manifest.get("format_version")
            if not isinstance(version, int) or isinstance(version, bool):
                raise refuse(f"its format version {version!r} is not an integer")
            if version > FORMAT_VERSION:
                raise refuse(f"it was written in format version {version} (by tda-widgets "
                             f"{manifest.get('package_version')}), newer than the version {FORMAT_VERSION} this "
                             f"tda-widgets {__version__} reads", "Upgrade tda-widgets (pip install -U tda-widgets).")
            arrays = {}
            for name, info in by_name.items():
                match = _ARRAY_NAME.fullmatch(name)
                if match:
                    arrays[int(match.group(1))] = np.load(io.BytesIO(member(info, max_bytes)), allow_pickle=False)
    except StudyFileError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, KeyError, TypeError) as exc:
        raise refuse(f"it is corrupt or truncated ({type(exc).__name__}: {str(exc)[:120]})") from None
    return manifest, arrays


class _Missing:
    """The model or the images of a study opened without them: any use raises NeedsModelError."""

    missing_model = True

    def __init__(self, what: str, path: Path):
        self._what, self._path = what, path

    def error(self, need: str = "") -> NeedsModelError:
        need = need or "This result"
        return NeedsModelError(
            f"{need} is not stored in {str(self._path)!r}, and computing it needs the {self._what}: this study was "
            f"opened without its model and images. Open the file with them: tda_widgets.open_study("
            f"{str(self._path)!r}, model=model, images=images) (the fingerprints are checked; the stored results "
            "are kept, only the missing ones are computed).")

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        raise self.error()

    def __call__(self, *args, **kwargs):
        raise self.error()

    def __len__(self):
        raise self.error()

    def __iter__(self):
        raise self.error()

    def __getitem__(self, item):
        raise self.error()

    def __repr__(self) -> str:
        return f"<no {self._what}: study opened from {self._path.name} without it>"


class _StoredKey:
    """The model fingerprint of a study opened without its model (what ``model_key()`` returns)."""

    def __init__(self, key: str):
        self.key = key

    def __call__(self) -> str:
        return self.key


def _explained(name: str, method):
    """``method`` of the opened study, with a :class:`NeedsModelError` naming the request."""

    @functools.wraps(method)
    def call(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except NeedsModelError as exc:
            shown = ", ".join([repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()
                                                         if k not in ("progress", "cancel")])
            request = f"Study.{name}({shown[:160]})"
            message = str(exc)
            if message.startswith("This result"):
                message = request + message[len("This result"):]
            raise NeedsModelError(message) from None

    return call


@functools.lru_cache(maxsize=None)
def _opened_class():
    from .study import Study

    class OpenedStudy(Study):
        """A :class:`~tda_widgets.engine.study.Study` read from a file (:func:`open_study`): ``source`` is the
        file; without a model, a result the file does not hold raises :class:`NeedsModelError`."""

        source: Path
        has_model: bool
        #: Without the model: ``{"name": its class name, "parameters": its number of parameters}``, else None.
        stored_model: Optional[dict]

    for name in ("activations", "predictions", "class_probabilities", "suggested_groups", "cloud", "diagrams",
                 "distance_matrix", "cka", "similarity", "measures_table", "estimate", "compare", "mapper",
                 "sensitivity", "thumbnail_images"):
        setattr(OpenedStudy, name, _explained(name, getattr(Study, name)))
    OpenedStudy.__module__ = __name__
    return OpenedStudy


def open_study(path: Any, model: Any = None, images: Any = None, labels: Any = None, *,
               max_bytes: int = DEFAULT_MAX_BYTES, cache_bytes: Optional[int] = None):
    """Open a study saved by :meth:`Study.save <tda_widgets.engine.study.Study.save>`.

    Parameters
    ----------
    path : str or Path
        The file.
    model : torch.nn.Module, optional
        The model the study was computed with. Left out: the study answers every stored result
        exactly as it was saved, and a request for anything else (a new layer, another point
        budget, a step that was not run) raises :class:`NeedsModelError` naming the fix.
    images, labels : optional
        The images the study was computed on (and its labels; left out: the stored ones). Given
        with ``model``: their fingerprints must be the file's, else the file is refused; missing
        results are then computed as usual.
    max_bytes : int, default 2 GiB
        The most bytes the file's members may decompress to (checked before anything is
        decompressed).
    cache_bytes : int, optional
        Bound of the opened study's result cache (default: the larger of 2 GiB and what the file holds).

    Returns
    -------
    Study
        A study (``study.source``: the file; ``study.has_model``) whose cache holds every stored result.

    Raises
    ------
    StudyFileError
        The file is missing, not a study file, truncated, corrupt, above ``max_bytes``, written by
        a newer format version, or (with a model) computed from another model or other images.
    """
    from . import steps
    from .cache import DEFAULT_CACHE_BYTES, ResultCache, nbytes
    from .context import Context

    path = Path(path).expanduser()
    if (model is None) != (images is None):
        raise TDAInputError("open_study: pass both 'model' and 'images' (to compute what the file does not hold), "
                            "or neither (to read the stored results only). Got only the "
                            f"{'model' if images is None else 'images'}.")
    if model is None and labels is not None:
        raise TDAInputError("open_study: 'labels' are checked against the file only with the model and the images "
                            "(open_study(path, model=model, images=images, labels=labels)); without them the file's "
                            "own labels are used. Leave labels out.")
    manifest, arrays = _read(path, int(max_bytes))
    decode = _Decoder(arrays)
    try:
        settings = manifest["study"]
        entries = [(decode(e["key"]), decode(e["value"])) for e in manifest["entries"]]
        memo = {decode(k): decode(v) for k, v in manifest.get("memo", [])}
        stored_labels = decode(settings["labels"])
        preset = decode(settings["preset"])
        model_key, inputs_key = str(settings["model_key"]), str(settings["inputs_key"])
        layers, n_images = tuple(str(n) for n in settings["layers"]), int(settings["n_images"])
        class_names = settings["class_names"]
        stored_model = {"name": str(manifest["model"]["name"]), "parameters": int(manifest["model"]["parameters"])}
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        raise StudyFileError(f"Cannot open {str(path)!r} as a saved study: its manifest is corrupt "
                             f"({type(exc).__name__}: {str(exc)[:160]}). Save the study again. Nothing was changed.") \
            from None
    size = sum(nbytes(v) for _, v in entries)
    cache = ResultCache(cache_bytes if cache_bytes is not None else max(DEFAULT_CACHE_BYTES, 2 * size))
    budgets = dict(max_bytes=int(settings["max_bytes"]), max_memory_bytes=int(settings["max_memory_bytes"]),
                   stream_pooled=bool(settings["stream_pooled"]))
    if model is None:
        ctx = Context(model=_Missing("model", path), model_key=_StoredKey(model_key), images=_Missing("images", path),
                      labels=stored_labels, inputs_key=inputs_key, labels_key=settings["labels_key"], layers=layers,
                      n_images=n_images, executor=None, requested_batch_size=settings["requested_batch_size"],
                      cache=cache, **budgets)
    else:
        ctx = _checked_context(path, model, images, labels, stored_labels, settings, layers, n_images, cache, budgets)
    ctx.memo.update(memo)
    for key, value in entries:
        cache.put(key, steps.read_only(value))
    study = object.__new__(_opened_class())
    study.preset, study.context, study.class_names = preset, ctx, class_names
    study.source, study.has_model = path, model is not None
    study.stored_model = stored_model if model is None else None
    return study


def _checked_context(path, model, images, labels, stored_labels, settings, layers, n_images, cache, budgets):
    """A live context on ``model`` and ``images``, refused unless they are the file's."""
    from ..capture.inputs import count_images
    from . import steps

    def build(sample):
        return steps.build_context(model, images, labels if labels is not None else
                                   (stored_labels if sample is None else None), list(layers),
                                   batch_size=settings["requested_batch_size"], n_images=sample, cache=cache,
                                   **budgets)

    ctx = build(None)
    if ctx.inputs_key != settings["inputs_key"] and count_images(images) > n_images:
        ctx = build(n_images)  # the original images, sampled as the study did (seed 0)

    def refuse(what, problem, fix):
        return StudyFileError(f"Cannot open {str(path)!r} with this {what}: {problem}. {fix} Nothing was changed.")

    if ctx.model_key() != settings["model_key"]:
        raise refuse("model", f"the file's results were computed from a model with fingerprint "
                     f"{settings['model_key'][:12]}..., this one's is {ctx.model_key()[:12]}... (another model, or "
                     "other weights)", "Pass the model the study was computed with, or open the file without a "
                     "model to read its stored results.")
    if ctx.inputs_key != settings["inputs_key"]:
        hint = "" if settings["inputs_key"].startswith("tensor:") else \
            " (the study's images were a Dataset, fingerprinted by identity: only a tensor or array can be checked)"
        raise refuse("images", f"they are not the images the study was computed on{hint}",
                     "Pass the same images (study.images of the saved study) with their labels, or open the file "
                     "without a model to read its stored results.")
    if ctx.labels_key != settings["labels_key"]:
        raise refuse("labels", "they are not the labels the study was saved with",
                     "Leave labels out (the stored ones are used) or pass the same labels.")
    return ctx


def is_opened(study: Any) -> bool:
    """Whether ``study`` was opened from a file without its model (its explorers offer only what is stored)."""
    return getattr(study, "source", None) is not None and not getattr(study, "has_model", True)


def stored_keys(study: Any, step: str) -> list:
    """The cache keys of ``step`` a study holds for its own model and images (the explorers'
    choices when the study was opened without its model)."""
    ctx = study.context
    model_key, inputs_key = ctx.model_key(), ctx.inputs_key
    return [key for key in ctx.cache.keys() if isinstance(key, tuple) and len(key) >= 3 and key[0] == step
            and key[1] == model_key and key[2] == inputs_key]
