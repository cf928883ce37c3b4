"""The region score store: every region classifier's softmax output for every box it scored, kept.

``<root>/<member key>/member.json`` identifies the network (weights SHA-256, classes; the key holds
the start of the weights hash);
``<root>/<member key>/<image name>.npz`` holds ``boxes`` (m, 4) int32 inclusive, distinct and sorted,
and ``probs`` (m, classes + 1) float32, column 0 = background. Detections for any proposal set,
single model or ensemble, are derived from these files without running a network again.
"""
from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from repro.atomic import write_bytes, write_text
from repro.errors import ReproError
from repro.npz import read_npz

_REMEDY = "delete it to score the image again"


@dataclass(frozen=True)
class MemberRecord:
    """What identifies a region classifier's scores."""

    key: str
    weights_sha256: str
    outputs: int  # classes + background


class RegionScoreStore:
    """Per-member, per-image region scores under ``root``."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def register(self, member: MemberRecord) -> None:
        """Create the member's folder, or check that it holds this same network's scores."""
        path = self.root / member.key / "member.json"
        record = {"key": member.key, "weights_sha256": member.weights_sha256, "outputs": member.outputs}
        if path.is_file():
            existing = json.loads(path.read_text())
            if existing != record:
                raise ReproError(f"{path} holds scores of another network (weights "
                                 f"{existing.get('weights_sha256', '?')[:12]}, this one "
                                 f"{member.weights_sha256[:12]}); use another --out folder")
            return
        write_text(path, json.dumps(record, indent=2) + "\n")

    def _path(self, key: str, image: str) -> Path:
        return self.root / key / f"{image}.npz"

    def has(self, key: str, image: str, boxes: np.ndarray) -> bool:
        """True when the member's file for ``image`` scores exactly ``boxes``."""
        path = self._path(key, image)
        if not path.is_file():
            return False
        return np.array_equal(read_npz(path, _REMEDY)["boxes"], boxes)

    def save(self, key: str, image: str, boxes: np.ndarray, probs: np.ndarray) -> None:
        """Write one image's region scores atomically."""
        buffer = io.BytesIO()
        np.savez(buffer, boxes=np.asarray(boxes, np.int32), probs=np.asarray(probs, np.float32))
        write_bytes(self._path(key, image), buffer.getvalue())

    def probs(self, key: str, image: str, boxes: np.ndarray) -> np.ndarray:
        """Scores of ``boxes`` (a subset of those scored) by member ``key`` on ``image``."""
        path = self._path(key, image)
        if not path.is_file():
            raise ReproError(f"{path} is missing: member {key} has not scored image {image}")
        stored = read_npz(path, _REMEDY)
        scored, probs = stored["boxes"], stored["probs"]
        rows = _rows_of(scored, np.asarray(boxes, np.int32).reshape(-1, 4))
        if np.any(rows < 0):
            raise ReproError(f"{path}: member {key} did not score {int((rows < 0).sum())} of the "
                             f"requested boxes of image {image}")
        return probs[rows]


def _rows_of(table: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Row of each box in ``table`` (sorted distinct boxes), -1 where absent."""
    if len(table) == 0:
        return np.full(len(boxes), -1, np.int64)
    def as_keys(b: np.ndarray) -> np.ndarray:  # one structured (x1, y1, x2, y2) value per box
        return np.ascontiguousarray(b.astype(np.int64)).view([("", np.int64)] * 4).ravel()

    keys, wanted = as_keys(table), as_keys(boxes)
    pos = np.clip(np.searchsorted(keys, wanted), 0, len(keys) - 1)
    return np.where(keys[pos] == wanted, pos, -1)
