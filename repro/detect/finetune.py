"""R-CNN's fine-tuning: a classification network becomes a (classes + background) region classifier.

Regions of the train split are labelled by their best IoU with a ground-truth box (:func:`label_regions`),
warped once (every member of an ensemble trains on the same crops, in its own order), and the network,
with a new classifier layer, is trained by SGD on batches with a fixed share of positives. The input
convention is the training engine's :class:`~repro.models.classifier.Normalized` (the model spec's
normalisation in the graph). The loop itself is this module's: the training engine's loop samples
patches from classification images, not labelled regions.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import mxnet as mx
import numpy as np
from mxnet import autograd, gluon

from repro.atomic import write_text
from repro.data.ilsvrc.det import DetMeta, ImageAnnotation
from repro.detect.backbone import replace_classifier
from repro.detect.boxes import iou_matrix
from repro.detect.images import DetImage
from repro.detect.specs import FineTuneSpec
from repro.detect.warp import warp_regions
from repro.errors import ReproError
from repro.models.classifier import Normalized
from repro.models.refs import LoadedModel, parameters_sha256
from repro.train.checkpoint import save_params

CARD_NAME = "model.json"
PARAMS_NAME = "region.params"


def label_regions(proposals: np.ndarray, annotation: ImageAnnotation, spec: FineTuneSpec,
                  ) -> tuple[np.ndarray, np.ndarray]:
    """(boxes, labels) of one training image: its ground-truth boxes (their class) and the proposals
    with IoU >= ``positive_iou`` (the best-overlapping box's class) or < ``background_iou`` (0) with
    the ground truth; proposals in between are left out."""
    gt_boxes = annotation.boxes.reshape(-1, 4)
    proposals = np.asarray(proposals, np.int32).reshape(-1, 4)
    if len(gt_boxes) == 0:
        return proposals, np.zeros(len(proposals), np.int64)
    overlaps = iou_matrix(proposals, gt_boxes)
    best = overlaps.argmax(axis=1)
    best_iou = overlaps[np.arange(len(proposals)), best]
    positive, background = best_iou >= spec.positive_iou, best_iou < spec.background_iou
    boxes = np.concatenate([gt_boxes, proposals[positive], proposals[background]]).astype(np.int32)
    labels = np.concatenate([annotation.class_ids, annotation.class_ids[best[positive]],
                             np.zeros(int(background.sum()), np.int64)])
    return boxes, labels


@dataclass(frozen=True, eq=False)
class RegionSamples:
    """Warped training regions and their labels (0 = background, c = detection class id c)."""

    crops: np.ndarray   # (n, C, C, 3) uint8
    labels: np.ndarray  # (n,) int64

    @property
    def positives(self) -> np.ndarray:
        return np.flatnonzero(self.labels > 0)

    @property
    def background(self) -> np.ndarray:
        return np.flatnonzero(self.labels == 0)


def collect_samples(images: Sequence[DetImage], annotations: Sequence[ImageAnnotation],
                    proposals: Sequence[np.ndarray], spec: FineTuneSpec, crop_size: int, padding: float,
                    fill: np.ndarray, seed: int) -> RegionSamples:
    """Label and warp the regions of every training image; at most ``background_per_image`` background
    regions are kept per image, drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    crops, labels = [], []
    for image, annotation, boxes in zip(images, annotations, proposals):
        boxes, image_labels = label_regions(boxes, annotation, spec)
        background = np.flatnonzero(image_labels == 0)
        if len(background) > spec.background_per_image:
            dropped = rng.choice(background, len(background) - spec.background_per_image, replace=False)
            keep = np.setdiff1d(np.arange(len(boxes)), dropped)
            boxes, image_labels = boxes[keep], image_labels[keep]
        crops.append(warp_regions(image.pixels, boxes, crop_size, padding, fill))
        labels.append(image_labels)
    return RegionSamples(np.concatenate(crops) if crops else np.zeros((0, crop_size, crop_size, 3), np.uint8),
                         np.concatenate(labels) if labels else np.zeros(0, np.int64))


def _batch_rows(samples: RegionSamples, spec: FineTuneSpec, rng: np.random.Generator) -> np.ndarray:
    positives, background = samples.positives, samples.background
    n_pos = min(round(spec.batch_size * spec.positive_fraction), spec.batch_size) if len(positives) else 0
    n_bg = spec.batch_size - n_pos if len(background) else 0
    n_pos = spec.batch_size - n_bg
    rows = [rng.choice(positives, n_pos, replace=n_pos > len(positives))] if n_pos else []
    rows += [rng.choice(background, n_bg, replace=n_bg > len(background))] if n_bg else []
    return np.concatenate(rows)


@dataclass
class FineTuneResult:
    """A fine-tuned region classifier and how its training went."""

    net: mx.gluon.HybridBlock
    first_loss: float
    last_loss: float
    seconds: float


def finetune(model: LoadedModel, samples: RegionSamples, spec: FineTuneSpec, num_classes: int, seed: int,
             ctx: mx.Context = mx.cpu()) -> FineTuneResult:
    """Fine-tune ``model``'s network (in place) into a ``num_classes`` + background region classifier."""
    started = time.perf_counter()
    if len(samples.labels) == 0:
        raise ReproError("no training regions: the train split has no images with proposals")
    net = model.net
    replace_classifier(net, model.spec, num_classes + 1, seed, ctx)
    train_net = Normalized(net, model.spec)
    train_net.mean.initialize(ctx=ctx)
    train_net.std.initialize(ctx=ctx)
    train_net.hybridize(static_alloc=True, static_shape=True)
    trainer = gluon.Trainer(net.collect_params(), "sgd", {
        "learning_rate": spec.learning_rate, "momentum": spec.momentum, "wd": spec.weight_decay})
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    rng = np.random.default_rng(seed)
    mx.random.seed(seed)  # dropout
    losses = []
    for _ in range(spec.iterations):
        rows = _batch_rows(samples, spec, rng)
        crops = samples.crops[rows]
        if spec.mirror:
            flip = rng.random(len(rows)) < 0.5
            crops[flip] = crops[flip, :, ::-1]
        x = mx.nd.array(crops, dtype="uint8", ctx=ctx)
        y = mx.nd.array(samples.labels[rows], ctx=ctx)
        with autograd.record():
            loss = loss_fn(train_net(x), y)
        loss.backward()
        trainer.step(len(rows))
        losses.append(float(loss.mean().asscalar()))
    net._clear_cached_op()
    return FineTuneResult(net, losses[0] if losses else float("nan"), losses[-1] if losses else float("nan"),
                          time.perf_counter() - started)


def write_region_card(out_dir: Path, model: LoadedModel, result: FineTuneResult, meta: DetMeta,
                      name: str, seed: int, fine_tune: dict) -> Path:
    """Save the region classifier's parameters and its model card (readable by ``repro.models.refs``:
    spec, params, classes = detection classes + 1, width, input size) with the detection facts."""
    out_dir = Path(out_dir)
    save_params(result.net, out_dir / PARAMS_NAME)
    card = {"spec": model.ref.spec_id, "params": PARAMS_NAME, "classes": meta.num_classes + 1,
            "width": model.ref.width, "input_size": model.ref.input_size, "seed": seed, "name": name,
            "task": "detection-regions", "background_output": 0,
            "det_wnids": [c.wnid for c in meta.classes],
            "fine_tuned_from": {"ref": model.ref.text, "weights_sha256": model.weights_sha256},
            "weights_sha256": parameters_sha256(result.net), "fine_tune": fine_tune,
            "loss_first_last": [result.first_loss, result.last_loss], "seconds": round(result.seconds, 2)}
    return write_text(out_dir / CARD_NAME, json.dumps(card, indent=1) + "\n")
