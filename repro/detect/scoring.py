"""Region classification: warp every box, batch the crops across images, run every member once.

Images are decoded and their regions warped in a bounded thread pool ahead of the networks, as the
classification engine prepares crops (:func:`repro.engine.pipeline.prepare_ordered`); each crop is
warped once and fed to every member of the pass. Batches have a fixed size (the last one padded) so
the hybridized graphs keep one static shape. Each image's scores are written to the
:class:`~repro.detect.region_store.RegionScoreStore` as soon as all its regions are scored; images
already in the store for every member are skipped, so an interrupted run resumes.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import mxnet as mx
import numpy as np

from repro.detect.images import DetImage
from repro.detect.region_store import MemberRecord, RegionScoreStore
from repro.detect.specs import RegionWarpSpec
from repro.detect.warp import mean_fill, warp_regions
from repro.engine.pipeline import prepare_ordered
from repro.errors import ReproError
from repro.models.classifier import Classifier, prepare_for_inference
from repro.models.refs import LoadedModel


@dataclass
class ScoringSettings:
    """Batching and pipeline width (an image's crops can be large: 2000 regions at 224 px are 300 MB)."""

    batch_size: int = 256
    workers: int = 2
    prefetch: int = 2
    ctx: mx.Context = mx.cpu()


@dataclass
class ScoringReport:
    """What a scoring pass did."""

    images_scored: int = 0
    images_skipped: int = 0
    regions: int = 0
    forward_seconds: dict[str, float] = field(default_factory=dict)
    wall_seconds: float = 0.0


def member_record(model: LoadedModel) -> MemberRecord:
    """The store's identity of a region classifier: its name and the start of its weights hash, so
    a network re-trained under the same name gets new scores instead of the old ones."""
    return MemberRecord(f"{model.ref.name}-{model.weights_sha256[:12]}", model.weights_sha256,
                        model.ref.classes)


def _check_members(models: Sequence[LoadedModel]) -> tuple[int, np.ndarray]:
    sizes = {m.ref.input_size for m in models}
    fills = {tuple(mean_fill(m.spec)) for m in models}
    if len(sizes) != 1 or len(fills) != 1:
        raise ReproError(f"the region classifiers of one pass must share input size and mean colour "
                         f"(got sizes {sorted(sizes)}); score them in separate passes")
    return sizes.pop(), np.array(fills.pop(), np.uint8)


def score_regions(names: Sequence[str], load_image: Callable[[int], DetImage],
                  boxes: Sequence[np.ndarray], models: Sequence[LoadedModel], warp: RegionWarpSpec,
                  store: RegionScoreStore, settings: ScoringSettings = ScoringSettings()) -> ScoringReport:
    """Score ``boxes[i]`` of image ``names[i]`` with every model into ``store``."""
    started = time.perf_counter()
    crop_size, fill = _check_members(models)
    padding = warp.padding(crop_size)
    records = [member_record(m) for m in models]
    for record in records:
        store.register(record)
    report = ScoringReport(forward_seconds={r.key: 0.0 for r in records})
    todo = [i for i in range(len(names))
            if not all(store.has(r.key, names[i], boxes[i]) for r in records)]
    report.images_skipped = len(names) - len(todo)
    classifiers = [prepare_for_inference(Classifier(m.net, m.spec), settings.ctx) for m in models]

    batch = np.zeros((settings.batch_size, crop_size, crop_size, 3), np.uint8)
    owners: list[tuple[int, int, int]] = []  # (image row, first region, count) of the filled part
    pending: dict[int, list[np.ndarray]] = {}  # image row -> per-member probs being filled
    filled = 0

    def flush() -> None:
        nonlocal filled, owners
        if not filled:
            return
        data = mx.nd.array(batch, dtype="uint8", ctx=settings.ctx)
        outputs = []
        for record, classifier in zip(records, classifiers):
            tick = time.perf_counter()
            outputs.append(classifier(data).asnumpy()[:filled])
            report.forward_seconds[record.key] += time.perf_counter() - tick
        offset = 0
        for row, first, count in owners:
            for member, probs in enumerate(outputs):
                pending[row][member][first:first + count] = probs[offset:offset + count]
            offset += count
            if first + count == len(boxes[row]):
                for record, probs in zip(records, pending.pop(row)):
                    store.save(record.key, names[row], boxes[row], probs)
                report.images_scored += 1
        filled, owners = 0, []

    def prepare(row: int) -> np.ndarray:
        return warp_regions(load_image(row).pixels, boxes[row], crop_size, padding, fill)

    for item in prepare_ordered(todo, prepare, settings.workers, settings.prefetch):
        if item.error is not None:
            raise ReproError(item.error)
        row, crops = item.row, item.crops
        pending[row] = [np.zeros((len(crops), m.ref.classes), np.float32) for m in models]
        report.regions += len(crops)
        if len(crops) == 0:
            for record, probs in zip(records, pending.pop(row)):
                store.save(record.key, names[row], boxes[row], probs)
            report.images_scored += 1
        first = 0
        while first < len(crops):
            count = min(settings.batch_size - filled, len(crops) - first)
            batch[filled:filled + count] = crops[first:first + count]
            owners.append((row, first, count))
            filled += count
            first += count
            if filled == settings.batch_size:
                flush()
    flush()
    report.wall_seconds = time.perf_counter() - started
    return report
