"""Decode and crop images ahead of the network, in a bounded thread pool, in dataset order.

Threads rather than processes: OpenCV's decode and resize release the GIL, so threads overlap with
MXNet's forward (which also releases it) without copying 22 MB of crops per image between processes,
and without forking a process that has MXNet's engine threads running.
"""
from __future__ import annotations

import collections
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

import numpy as np

from repro.errors import ReproError


@dataclass
class Prepared:
    """One image's crops (``[n, C, C, 3]`` uint8) or the error that prevented them."""

    row: int
    crops: np.ndarray | None
    error: str | None = None


def prepare_ordered(rows: Iterable[int], prepare: Callable[[int], np.ndarray], workers: int,
                    prefetch: int) -> Iterator[Prepared]:
    """Yield ``prepare(row)`` for every row, in order, with at most ``prefetch`` images in flight.

    A :class:`ReproError` (unreadable image, bad size) becomes ``Prepared.error`` naming the row's
    file, so the caller decides whether it fails the run or counts a miss; any other exception is a
    bug and propagates.
    """
    def guarded(row: int) -> Prepared:
        try:
            return Prepared(row, prepare(row))
        except ReproError as exc:
            return Prepared(row, None, str(exc))

    rows = iter(rows)
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="repro-crop") as pool:
        window: collections.deque = collections.deque()
        for row in rows:
            window.append(pool.submit(guarded, row))
            if len(window) >= max(1, prefetch):
                break
        while window:
            done = window.popleft().result()
            next_row = next(rows, None)
            if next_row is not None:
                window.append(pool.submit(guarded, next_row))
            yield done
