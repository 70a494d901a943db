"""An optional on-disk store of finished diagrams: re-opening a notebook or re-running the report
on the same model and images reuses them instead of recomputing persistence.

``Study(..., store="~/.cache/tda-widgets")`` keeps each layer's diagrams in one ``.npz`` file of
plain float arrays plus a JSON header (format, the full cache key, the result's fields); the
file name is a hash of the key, whose parts are the model fingerprint (every parameter's bytes),
the images' fingerprint, the layer and every option. Nothing is ever unpickled
(``allow_pickle=False``): a file that cannot be read, has another format, holds another key (a
hash collision or a file copied from elsewhere) or arrays of the wrong shape is a miss, counted
in :attr:`DiskStore.stats`, and the diagrams are recomputed and the file rewritten. Writes go to a
temporary file that is then renamed, so a crash never leaves half a file under a real name.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any, Hashable, Optional

import numpy as np

__all__ = ["DiskStore"]

FORMAT = "tda-widgets/persistence/1"


class DiskStore:
    """Finished :class:`~tda_widgets.topology.PersistenceResult` objects on disk, by cache key.

    Parameters
    ----------
    directory : str or Path
        Created if missing.
    """

    def __init__(self, directory: Any):
        from ..core.errors import TDAInputError

        try:
            self.directory = Path(directory).expanduser()
            self.directory.mkdir(parents=True, exist_ok=True)
        except (TypeError, OSError) as exc:
            raise TDAInputError(f"The 'store' parameter must be a directory that can be created and written "
                                f"(or None for no on-disk store). Got {directory!r}: {exc}") from None
        self.stats = {"hits": 0, "misses": 0, "rejected": 0, "writes": 0}

    def _path(self, key: Hashable) -> Path:
        return self.directory / (hashlib.sha256(repr(key).encode()).hexdigest()[:40] + ".npz")

    def get(self, key: Hashable) -> Optional[Any]:
        """The stored result, or None (a missing, unreadable or foreign file is a miss)."""
        from ..topology.persistence import PersistenceResult

        path = self._path(key)
        if not path.exists():
            self.stats["misses"] += 1
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                header = json.loads(str(data["header"]))
                if header.get("format") != FORMAT or header.get("key") != repr(key):
                    raise ValueError("another format or another key")
                diagrams = tuple(np.array(data[f"H{d}"], dtype=np.float64) for d in range(header["maxdim"] + 1))
            if any(d.ndim != 2 or d.shape[1] != 2 for d in diagrams):
                raise ValueError("a diagram is not of shape (n, 2)")
            result = PersistenceResult(diagrams=diagrams, maxdim=int(header["maxdim"]), backend=header["backend"],
                                       n_points=int(header["n_points"]), representatives=None,
                                       thresh=float(header["thresh"]), coeff=int(header["coeff"]))
        except Exception:  # corrupt, truncated, foreign: never trusted, recomputed
            self.stats["rejected"] += 1
            self.stats["misses"] += 1
            return None
        self.stats["hits"] += 1
        return result

    def put(self, key: Hashable, result: Any) -> None:
        """Store ``result`` (results with representatives, which are not plain arrays, are not stored)."""
        if getattr(result, "representatives", None) is not None:
            return
        header = {"format": FORMAT, "key": repr(key), "maxdim": int(result.maxdim), "backend": str(result.backend),
                  "n_points": int(result.n_points), "coeff": int(result.coeff),
                  "thresh": "inf" if math.isinf(result.thresh) else float(result.thresh)}
        arrays = {f"H{d}": np.asarray(diagram, dtype=np.float64) for d, diagram in enumerate(result.diagrams)}
        fd, tmp = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                np.savez(handle, header=np.asarray(json.dumps(header)), **arrays)
            os.replace(tmp, self._path(key))
            self.stats["writes"] += 1
        except OSError:
            if os.path.exists(tmp):
                os.unlink(tmp)
