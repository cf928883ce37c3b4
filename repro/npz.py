"""Reading the project's .npz files (store chunks, proposal caches, region scores) with one clear error."""
from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from repro.errors import ReproError

#: What a damaged or truncated .npz raises on reading.
_DAMAGED = (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile)


def read_npz(path: Path, remedy: str) -> dict[str, np.ndarray]:
    """Every array of ``path``; a damaged file is a ReproError naming it and the ``remedy``."""
    try:
        with np.load(path) as data:
            return {name: data[name] for name in data.files}
    except _DAMAGED as exc:
        raise ReproError(f"{path} is damaged ({type(exc).__name__}: {exc}); {remedy}") from exc
