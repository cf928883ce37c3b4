"""An R-CNN-style detector as declarative specs: proposals, region warping, fine-tuning, NMS, ensemble.

- :class:`SelectiveSearchSpec` (registry :data:`SELECTIVE_SEARCH`): a selective-search configuration;
- :class:`LearnedProposalSpec` (registry :data:`LEARNED_PROPOSALS`): a class-agnostic box head on a
  classification member's frozen features;
- :class:`ProposalSetSpec` (registry :data:`PROPOSAL_SETS`): which sources a detector classifies;
- :class:`RegionWarpSpec`: the anisotropic region warp with context;
- :class:`FineTuneSpec`: region fine-tuning of a classification network;
- :class:`SplitSpec`: how the DET validation images split into fine-tuning and evaluation halves;
- :class:`DetectionProtocol` (registry :data:`DETECTION_PROTOCOLS`): all of the above plus per-class
  NMS, the per-class cap and the ensemble size.

The paper's detector (Section 8) is registered by the protocol layer. Every spec has a
``version``, bumped on any change of what the detector does with it.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from repro.errors import ReproError
from repro.registry import Registry

SS_COLOR_SPACES = ("hsv", "lab", "rgb")
SS_SIMILARITIES = ("color", "texture", "size", "fill")


@dataclass(frozen=True)
class SelectiveSearchSpec:
    """A selective-search configuration for OpenCV contrib's ``ximgproc`` implementation.

    One Felzenszwalb-Huttenlocher segmentation per (colour space, k) with ``min_size = k`` (R-CNN's
    rule), one hierarchical grouping per segmentation and strategy; every merged region's box is a
    proposal. The image is first resized to ``canonical_width`` (R-CNN: proposals are not scale
    invariant) and the boxes mapped back; boxes with a side under ``min_side`` pixels are dropped.
    """

    id: str
    version: int
    ks: tuple[int, ...]
    sigma: float
    color_spaces: tuple[str, ...]
    strategies: tuple[tuple[str, ...], ...]
    canonical_width: int | None
    min_side: int
    note: str = ""

    def __post_init__(self) -> None:
        unknown = [c for c in self.color_spaces if c not in SS_COLOR_SPACES]
        unknown += [s for group in self.strategies for s in group if s not in SS_SIMILARITIES]
        if unknown or not self.ks or not self.strategies or not self.color_spaces:
            raise ReproError(f"selective search {self.id!r}: needs ks, colour spaces from "
                             f"{SS_COLOR_SPACES} and strategies from {SS_SIMILARITIES} (bad: {unknown})")


SELECTIVE_SEARCH: Registry[SelectiveSearchSpec] = Registry("selective-search configuration")


@dataclass(frozen=True)
class LearnedProposalSpec:
    """A class-agnostic box head proposing boxes from a classification network's features.

    The whole image is warped to ``image_size`` squared and run through a classification network up to
    the Table 1 rows ``feature_rows``; on each of those maps a 3x3 convolution predicts, per anchor
    (MXNet's ``MultiBoxPrior`` with ``sizes[i]`` and ``ratios`` on map i), an object/background score
    and four box offsets. Trained with ``MultiBoxTarget`` (IoU >= ``match_iou`` positive, hard negatives
    ``negative_ratio`` per positive) on the train split's ground truth, backbone frozen; decoded with
    ``MultiBoxDetection`` (NMS at ``nms_iou``); the ``top_k`` best boxes are the proposals.
    """

    id: str
    version: int
    image_size: int
    feature_rows: tuple[str, ...]
    sizes: tuple[tuple[float, ...], ...]
    ratios: tuple[float, ...]
    match_iou: float
    negative_ratio: float
    nms_iou: float
    top_k: int
    iterations: int
    batch_size: int
    learning_rate: float
    weight_decay: float
    seed: int
    note: str = ""

    def __post_init__(self) -> None:
        if len(self.sizes) != len(self.feature_rows):
            raise ReproError(f"learned proposals {self.id!r}: one tuple of anchor sizes per feature row")


LEARNED_PROPOSALS: Registry[LearnedProposalSpec] = Registry("learned proposal head")


@dataclass(frozen=True)
class ProposalSetSpec:
    """The boxes a detector classifies: selective search, learned boxes, or their union."""

    id: str
    version: int
    selective_search: str | None
    learned: str | None
    note: str = ""

    @property
    def sources(self) -> tuple[str, ...]:
        """Ids of the proposal sources, selective search first."""
        return tuple(s for s in (self.selective_search, self.learned) if s)


PROPOSAL_SETS: Registry[ProposalSetSpec] = Registry("proposal set")


@dataclass(frozen=True)
class RegionWarpSpec:
    """An anisotropic region warp with context (R-CNN's ``rcnn_im_crop`` in 'warp' mode): the box is
    enlarged so that, once warped
    anisotropically to the input size, it has ``context_pixels`` pixels of image context on every
    side (scaled by input_size / ``reference_size`` for other input sizes); parts outside the image
    are the network's mean colour (zero after normalisation); bilinear resize."""

    id: str
    version: int
    context_pixels: float
    reference_size: int

    def padding(self, input_size: int) -> float:
        """Context in warped pixels for a network with ``input_size`` input."""
        return self.context_pixels * input_size / self.reference_size


@dataclass(frozen=True)
class FineTuneSpec:
    """Fine-tuning of a classification network into a (classes + background) region classifier, as R-CNN's.

    The classifier layer is replaced by a new one (background = output 0, detection class c = output
    c); regions are the train split's ground-truth boxes and proposals warped as
    :class:`RegionWarpSpec` says; a proposal with IoU >= ``positive_iou`` with a ground-truth box takes
    that box's class, one with IoU < ``background_iou`` with every box is background, those between are
    not used. Batches hold ``positive_fraction`` positives; mirrored with probability 1/2.
    """

    positive_iou: float
    background_iou: float
    batch_size: int
    positive_fraction: float
    learning_rate: float
    momentum: float
    weight_decay: float
    iterations: int
    background_per_image: int
    mirror: bool


@dataclass(frozen=True)
class SplitSpec:
    """A split of the DET validation images (R-CNN's): fine-tune on val1, evaluate on val2.

    ``val2_list`` (a file in the eval list's folder: the devkit's ``ilsvrc13_val2.txt``) is used when
    it exists and val1 is the rest of the eval list; otherwise (the mini-ILSVRC) the eval
    list alternates, position 0, 2, 4, ... to val1 and 1, 3, 5, ... to val2. Both lists are written with
    their own 1..n indexes, as the devkit's val2 list is.
    """

    val2_list: str


@dataclass(frozen=True)
class DetectionProtocol:
    """Everything that defines a detection run except the data and the networks."""

    id: str
    version: int
    proposals: str  # a PROPOSAL_SETS id: the boxes the detector classifies
    baseline_proposals: tuple[str, ...]  # proposal sets measured beside it (coverage, single-model mAP)
    warp: RegionWarpSpec
    finetune: FineTuneSpec
    split: SplitSpec
    nms_iou: float
    max_per_class: int
    ensemble_size: int
    note: str = ""
    #: selective search runs at this fraction of each configuration's canonical width and minimum box
    #: side (for data whose images are smaller than ImageNet's; 1: the configurations as registered)
    proposal_scale: float = 1.0

    def __post_init__(self) -> None:
        for set_id in (self.proposals, *self.baseline_proposals):
            PROPOSAL_SETS.get(set_id)
        if self.ensemble_size < 1 or self.max_per_class < 1 or not 0 < self.nms_iou < 1:
            raise ReproError(f"detection protocol {self.id!r}: ensemble size and cap must be >= 1 and "
                             f"the NMS IoU in (0, 1)")
        if not 0 < self.proposal_scale <= 4:
            raise ReproError(f"detection protocol {self.id!r}: proposal_scale must be in (0, 4], got "
                             f"{self.proposal_scale}")

    def selective_search(self, config_id: str) -> SelectiveSearchSpec:
        """The registered selective-search configuration ``config_id`` as this protocol runs it
        (scaled by :attr:`proposal_scale`, under its own id so its proposals are cached apart)."""
        spec = SELECTIVE_SEARCH.get(config_id)
        if self.proposal_scale == 1 or spec.canonical_width is None:
            return spec
        return dataclasses.replace(
            spec, id=f"{spec.id}-x{self.proposal_scale:g}",
            canonical_width=max(1, round(spec.canonical_width * self.proposal_scale)),
            min_side=max(1, round(spec.min_side * self.proposal_scale)))


DETECTION_PROTOCOLS: Registry[DetectionProtocol] = Registry("detection protocol")
