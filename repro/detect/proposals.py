"""Proposal sources, their per-image cache, and computing every source's boxes for a list of images.

A source turns an image into (n, 4) int32 inclusive boxes, distinct and sorted. Selective search
runs in a bounded thread pool (OpenCV releases the GIL); learned proposals run in the calling
thread (a hybridized MXNet block must not be called from several threads at once).

The cache keeps one ``<root>/<source key>/<image name>.npz`` per image holding the boxes and the
SHA-256 of the image bytes they came from; a file for other bytes is recomputed and replaced. The
source key names the configuration and its version (and, for learned proposals, the weights).
"""
from __future__ import annotations

import io
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from repro.atomic import write_bytes
from repro.detect.images import DetImage
from repro.detect.learned_proposals import LearnedProposer
from repro.detect.selective_search import selective_search
from repro.detect.specs import SelectiveSearchSpec
from repro.engine.pipeline import prepare_ordered
from repro.errors import ReproError
from repro.npz import read_npz


@dataclass(frozen=True)
class ProposalSource:
    """A named way to make proposals; ``threaded`` sources may run in worker threads."""

    key: str
    propose: Callable[[np.ndarray], np.ndarray] = field(repr=False)
    threaded: bool


def selective_search_source(spec: SelectiveSearchSpec) -> ProposalSource:
    """Selective search with ``spec`` (thread-safe)."""
    return ProposalSource(f"ss-{spec.id}-v{spec.version}", partial(selective_search, spec=spec), True)


def learned_source(proposer: LearnedProposer) -> ProposalSource:
    """A trained proposal head (main thread only)."""
    return ProposalSource(proposer.key, proposer.propose, False)


class ProposalCache:
    """Per-image proposal files under ``root`` (``None``: nothing is cached)."""

    def __init__(self, root: str | Path | None):
        self.root = Path(root) if root is not None else None

    def _path(self, key: str, name: str) -> Path:
        return self.root / key / f"{name}.npz"

    def load(self, key: str, image: DetImage) -> np.ndarray | None:
        """Cached boxes of ``image`` from source ``key``, or None when absent or for other bytes."""
        if self.root is None or not self._path(key, image.name).is_file():
            return None
        stored = read_npz(self._path(key, image.name), "delete this proposal cache file to recompute it")
        if str(stored["image_sha256"]) != image.sha256:
            return None
        return stored["boxes"].astype(np.int32).reshape(-1, 4)

    def save(self, key: str, image: DetImage, boxes: np.ndarray) -> None:
        """Store ``boxes`` for ``image`` atomically."""
        if self.root is None:
            return
        buffer = io.BytesIO()
        np.savez(buffer, boxes=np.asarray(boxes, np.int32), image_sha256=np.array(image.sha256))
        write_bytes(self._path(key, image.name), buffer.getvalue())


@dataclass
class ProposalResult:
    """Every source's boxes per image (in the order asked), and where the time went."""

    boxes: dict[str, list[np.ndarray]]
    seconds: dict[str, float]  # compute time per source (cache hits cost nothing)
    cache_hits: dict[str, int]


def _fetch(source: ProposalSource, image: DetImage, cache: ProposalCache) -> tuple[np.ndarray, float, bool]:
    cached = cache.load(source.key, image)
    if cached is not None:
        return cached, 0.0, True
    started = time.perf_counter()
    boxes = source.propose(image.pixels)
    elapsed = time.perf_counter() - started
    cache.save(source.key, image, boxes)
    return boxes, elapsed, False


def compute_proposals(count: int, load_image: Callable[[int], DetImage],
                      sources: Sequence[ProposalSource], cache: ProposalCache, workers: int = 2,
                      prefetch: int = 4) -> ProposalResult:
    """Boxes of every source for images ``0..count-1`` (``load_image(i)`` decodes image i)."""
    threaded = [s for s in sources if s.threaded]
    inline = [s for s in sources if not s.threaded]
    result = ProposalResult({s.key: [] for s in sources}, {s.key: 0.0 for s in sources},
                            {s.key: 0 for s in sources})

    def prepare(row: int):
        image = load_image(row)
        return image, [_fetch(source, image, cache) for source in threaded]

    for item in prepare_ordered(range(count), prepare, workers, prefetch):
        if item.error is not None:
            raise ReproError(item.error)
        image, fetched = item.crops  # prepare_ordered's payload: here (image, boxes per source), not crops
        fetched = fetched + [_fetch(source, image, cache) for source in inline]
        for source, (boxes, seconds, hit) in zip(threaded + inline, fetched):
            result.boxes[source.key].append(boxes)
            result.seconds[source.key] += seconds
            result.cache_hits[source.key] += int(hit)
    return result
