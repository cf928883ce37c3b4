"""Learned class-agnostic proposals: a MultiBox-style head on a classification network's features.

The stand-in for the paper's multibox (:class:`~repro.detect.specs.LearnedProposalSpec`). MXNet's
own MultiBox operators do the box work: ``MultiBoxPrior`` lays the anchors, ``MultiBoxTarget``
matches them to the ground truth (with hard negative mining) for training, ``MultiBoxDetection``
decodes the offsets and applies NMS at inference. The backbone stays frozen, so its feature maps
are computed once per training image (and its mirror image). The whole image, warped to a square,
enters as uint8 RGB through the training engine's :class:`~repro.models.classifier.Normalized`, which
applies the model spec's normalisation inside the graph, as every other network input here.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import mxnet as mx
import numpy as np
from mxnet import autograd, gluon
from mxnet.gluon import HybridBlock, nn

from repro.atomic import write_text
from repro.data.ilsvrc.det import ImageAnnotation
from repro.detect.backbone import FeatureTrunk
from repro.detect.boxes import clip_to_image, unique_boxes
from repro.detect.images import DetImage
from repro.detect.specs import LEARNED_PROPOSALS, LearnedProposalSpec
from repro.errors import ReproError
from repro.models.classifier import Normalized
from repro.models.refs import LoadedModel, load_model, parse_ref
from repro.train.checkpoint import save_params

CARD_NAME = "proposer.json"
_VARIANCES = (0.1, 0.1, 0.2, 0.2)  # MXNet's (and SSD's) default box-offset scaling


def anchors_per_cell(sizes: tuple[float, ...], ratios: tuple[float, ...]) -> int:
    """How many anchors ``MultiBoxPrior`` puts on every cell."""
    return len(sizes) + len(ratios) - 1


class BoxHead(HybridBlock):
    """Per feature map a 3x3 conv for (background, object) scores and one for box offsets.

    Returns scores ``(B, N, 2)`` and offsets ``(B, N * 4)`` over all N anchors, maps in order, cells
    in row-major order, anchors of a cell together (``MultiBoxPrior``'s order).
    """

    def __init__(self, anchors: tuple[int, ...], **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.scores = nn.HybridSequential(prefix="scores_")
            self.offsets = nn.HybridSequential(prefix="offsets_")
            for count in anchors:
                self.scores.add(nn.Conv2D(count * 2, 3, padding=1))
                self.offsets.add(nn.Conv2D(count * 4, 3, padding=1))

    def hybrid_forward(self, F, *maps):
        scores = [F.flatten(F.transpose(conv(m), axes=(0, 2, 3, 1))) for conv, m in zip(self.scores, maps)]
        offsets = [F.flatten(F.transpose(conv(m), axes=(0, 2, 3, 1))) for conv, m in zip(self.offsets, maps)]
        return F.reshape(F.concat(*scores, dim=1), shape=(0, -1, 2)), F.concat(*offsets, dim=1)


def whole_image_input(pixels: np.ndarray, size: int, mirror: bool = False) -> np.ndarray:
    """(S, S, 3) uint8: the whole RGB image warped to S x S (bilinear), mirrored if asked."""
    image = cv2.resize(pixels, (size, size), interpolation=cv2.INTER_LINEAR)
    return cv2.flip(image, 1) if mirror else image


def normalised_targets(annotation: ImageAnnotation, mirror: bool) -> np.ndarray:
    """(n, 5) ``MultiBoxTarget`` labels: class 0 ("object") and half-open corners in [0, 1]."""
    boxes = annotation.boxes.astype(np.float32).reshape(-1, 4)
    if mirror:
        boxes = np.stack([annotation.width - 1 - boxes[:, 2], boxes[:, 1],
                          annotation.width - 1 - boxes[:, 0], boxes[:, 3]], axis=1)
    scale = np.array([annotation.width, annotation.height] * 2, np.float32)
    corners = (boxes + np.array([0, 0, 1, 1], np.float32)) / scale
    return np.concatenate([np.zeros((len(corners), 1), np.float32), corners], axis=1)


@dataclass
class LearnedProposer:
    """A trained box head with its frozen backbone; :meth:`propose` gives an image's boxes."""

    spec: LearnedProposalSpec
    model: LoadedModel
    head: BoxHead
    key: str  # spec and weight files' identity: the proposal cache's source key
    ctx: mx.Context = mx.cpu()

    def __post_init__(self) -> None:
        # Normalized: the model spec's input normalisation in the graph, outputs left as they are
        self.trunk = Normalized(FeatureTrunk(self.model.net, self.model.spec, self.spec.feature_rows),
                                 self.model.spec)
        self.trunk.mean.initialize(ctx=self.ctx)
        self.trunk.std.initialize(ctx=self.ctx)
        self.trunk.hybridize(static_alloc=True, static_shape=True)
        self.head.hybridize(static_alloc=True, static_shape=True)
        size = self.spec.image_size
        maps = self.trunk(mx.nd.zeros((1, size, size, 3), dtype="uint8", ctx=self.ctx))
        self.anchors = mx.nd.concat(*(mx.nd.contrib.MultiBoxPrior(m, sizes=s, ratios=self.spec.ratios)
                                      for m, s in zip(maps, self.spec.sizes)), dim=1)

    def propose(self, pixels: np.ndarray) -> np.ndarray:
        """The ``top_k`` best boxes of an RGB image: (n, 4) int32 inclusive, distinct, sorted."""
        height, width = pixels.shape[:2]
        data = mx.nd.array(whole_image_input(pixels, self.spec.image_size)[None], dtype="uint8",
                           ctx=self.ctx)
        scores, offsets = self.head(*self.trunk(data))
        found = mx.nd.contrib.MultiBoxDetection(
            mx.nd.softmax(scores, axis=-1).transpose((0, 2, 1)), offsets, self.anchors, clip=True,
            threshold=0.0, nms_threshold=self.spec.nms_iou, variances=_VARIANCES)[0].asnumpy()
        found = found[found[:, 0] >= 0]
        found = found[np.argsort(-found[:, 1], kind="stable")][:self.spec.top_k]
        corners = found[:, 2:] * np.array([width, height, width, height], np.float32)
        boxes = np.rint(corners) - np.array([0, 0, 1, 1])
        boxes = clip_to_image(boxes, width, height)
        return unique_boxes(boxes[(boxes[:, 2] >= boxes[:, 0]) & (boxes[:, 3] >= boxes[:, 1])])

    def save(self, out_dir: Path, source: str) -> Path:
        """Write backbone and head parameters, then the card ``proposer.json`` (all atomically, the card
        last, so a card always has its files); returns the card path."""
        save_params(self.model.net, out_dir / "backbone.params")
        save_params(self.head, out_dir / "head.params")
        ref = self.model.ref
        card = {"learned_spec": self.spec.id, "learned_version": self.spec.version,
                "backbone_spec": ref.spec_id, "classes": ref.classes, "width": ref.width,
                "input_size": ref.input_size, "backbone_params": "backbone.params",
                "head_params": "head.params", "backbone_source": source,
                "backbone_weights_sha256": self.model.weights_sha256}
        return write_text(out_dir / CARD_NAME, json.dumps(card, indent=2) + "\n")


def _key(spec: LearnedProposalSpec, *files: Path) -> str:
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.read_bytes())
    return f"{spec.id}-v{spec.version}-{digest.hexdigest()[:12]}"


def load_proposer(card_path: str | Path, ctx: mx.Context = mx.cpu()) -> LearnedProposer:
    """A proposer saved by :meth:`LearnedProposer.save`."""
    card_path = Path(card_path)
    try:
        card = json.loads(card_path.read_text())
        spec = LEARNED_PROPOSALS.get(card["learned_spec"])
        if int(card["learned_version"]) != spec.version:
            raise ReproError(f"{card_path}: trained for {spec.id} version {card['learned_version']}, "
                             f"this code has version {spec.version}; train the proposer again")
        backbone = card_path.parent / card["backbone_params"]
        head_params = card_path.parent / card["head_params"]
        ref = parse_ref(f"{card['backbone_spec']}:{backbone}", classes=int(card["classes"]),
                        width=float(card["width"]), input_size=int(card["input_size"]))
    except (OSError, KeyError, ValueError, TypeError) as exc:
        raise ReproError(f"learned-proposal card {card_path} is unreadable or malformed ({exc!r})") from exc
    model = load_model(ref, ctx=ctx)
    head = BoxHead(tuple(anchors_per_cell(s, spec.ratios) for s in spec.sizes))
    try:
        head.load_parameters(str(head_params), ctx=ctx)
    except (OSError, mx.MXNetError, AssertionError) as exc:
        raise ReproError(f"{head_params}: cannot load the box head ({str(exc).splitlines()[0]})") from exc
    return LearnedProposer(spec, model, head, _key(spec, backbone, head_params), ctx)


def train_proposer(spec: LearnedProposalSpec, model: LoadedModel, images: list[DetImage],
                   annotations: list[ImageAnnotation], out_dir: Path, source: str,
                   ctx: mx.Context = mx.cpu()) -> LearnedProposer:
    """Train the box head on ``images`` (and their mirror images) with ``model`` frozen, save it in
    ``out_dir`` (``source`` names the backbone's origin) and return it as loaded back from there."""
    head = BoxHead(tuple(anchors_per_cell(s, spec.ratios) for s in spec.sizes))
    mx.random.seed(spec.seed)
    head.initialize(mx.init.Xavier(), ctx=ctx)
    proposer = LearnedProposer(spec, model, head, key="untrained", ctx=ctx)
    features, labels = [], []
    for image, annotation in zip(images, annotations):
        for mirror in (False, True):
            data = mx.nd.array(whole_image_input(image.pixels, spec.image_size, mirror)[None],
                               dtype="uint8", ctx=ctx)
            features.append([m.copy() for m in proposer.trunk(data)])
            labels.append(normalised_targets(annotation, mirror))
    if not any(len(label) for label in labels):
        raise ReproError("the training images have no ground-truth boxes: cannot train the proposal head")
    padded = np.full((len(labels), max(len(label) for label in labels), 5), -1, np.float32)
    for row, label in enumerate(labels):
        padded[row, :len(label)] = label
    head(*features[0])  # materialise the deferred shapes, even for zero iterations
    trainer = gluon.Trainer(head.collect_params(), "sgd", {
        "learning_rate": spec.learning_rate, "momentum": 0.9, "wd": spec.weight_decay})
    rng = np.random.default_rng(spec.seed)
    for _ in range(spec.iterations):
        batch = rng.choice(len(features), size=min(spec.batch_size, len(features)), replace=False)
        maps = [mx.nd.concat(*(features[i][k] for i in batch), dim=0) for k in range(len(spec.feature_rows))]
        with autograd.record():
            scores, offsets = head(*maps)
            with autograd.pause():
                loc_target, loc_mask, cls_target = mx.nd.contrib.MultiBoxTarget(
                    proposer.anchors, mx.nd.array(padded[batch], ctx=ctx), scores.transpose((0, 2, 1)),
                    overlap_threshold=spec.match_iou, negative_mining_ratio=spec.negative_ratio,
                    negative_mining_thresh=spec.match_iou, variances=_VARIANCES)
            log_p = mx.nd.log_softmax(scores, axis=-1)
            cls_loss = -mx.nd.pick(log_p, mx.nd.maximum(cls_target, 0), axis=-1) * (cls_target >= 0)
            box_loss = mx.nd.smooth_l1((offsets - loc_target) * loc_mask, scalar=1.0)
            loss = (cls_loss.sum() + box_loss.sum()) / mx.nd.maximum((cls_target > 0).sum(), 1)
        loss.backward()
        trainer.step(1)
    return load_proposer(proposer.save(Path(out_dir), source), ctx)
