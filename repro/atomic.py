"""Atomic file writes: write to a temporary name in the same directory, fsync, then rename.

A reader never sees a half-written file under the final name, even after SIGKILL or a full disk.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from repro.errors import ReproError


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Atomically replace ``path`` with ``data``; the parent directory is created if needed.

    A failed write (disk full, file too large, unwritable directory) leaves no file under ``path``
    and raises :class:`ReproError` naming it.
    """
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        raise ReproError(f"cannot write {path}: {exc.strerror or exc}. Free space or choose another "
                         f"output directory, then re-run the same command") from exc
    finally:
        if tmp is not None and Path(tmp).exists():
            Path(tmp).unlink()
    return path


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Atomically replace ``path`` with UTF-8 ``text``."""
    return write_bytes(path, text.encode("utf-8"))
