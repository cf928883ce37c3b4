"""Section 8's detector as declarative data: proposals, region warping, fine-tuning, NMS, ensemble.

The approach is R-CNN's with GoogLeNet as the region classifier (PAPER.md section 4):

- :class:`SelectiveSearchSpec` (registry :data:`SELECTIVE_SEARCH`): R-CNN's "fast" mode (HSV and Lab,
  two merging strategies, k in {50, 100} with min size k, sigma 0.8, image resized to width 500,
  boxes with a side under 20 px dropped) and the paper's variant with the superpixel size doubled;
- :class:`LearnedProposalSpec` (registry :data:`LEARNED_PROPOSALS`): the stand-in for the paper's
  multibox, a class-agnostic box head on the first classification member's frozen features;
- :class:`ProposalSetSpec` (registry :data:`PROPOSAL_SETS`): which sources a detector classifies;
- :class:`RegionWarpSpec`: R-CNN's anisotropic warp with 16 pixels of context;
- :class:`FineTuneSpec`: R-CNN's region fine-tuning from a classification network;
- :class:`DetectionProtocol` (registry :data:`DETECTION_PROTOCOLS`): all of the above plus per-class
  NMS, the per-class cap, the ensemble size and the train/eval split.

Every spec has a ``version``, bumped on any change of what the detector does with it.
"""
from __future__ import annotations

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
    sigma: float = 0.8
    color_spaces: tuple[str, ...] = ("hsv", "lab")
    strategies: tuple[tuple[str, ...], ...] = (("color", "texture", "size", "fill"),
                                               ("texture", "size", "fill"))
    canonical_width: int | None = 500
    min_side: int = 20
    note: str = ""

    def __post_init__(self) -> None:
        unknown = [c for c in self.color_spaces if c not in SS_COLOR_SPACES]
        unknown += [s for group in self.strategies for s in group if s not in SS_SIMILARITIES]
        if unknown or not self.ks or not self.strategies or not self.color_spaces:
            raise ReproError(f"selective search {self.id!r}: needs ks, colour spaces from "
                             f"{SS_COLOR_SPACES} and strategies from {SS_SIMILARITIES} (bad: {unknown})")


SELECTIVE_SEARCH: Registry[SelectiveSearchSpec] = Registry("selective-search configuration")

SELECTIVE_SEARCH.register("rcnn-fast", SelectiveSearchSpec(
    id="rcnn-fast", version=1, ks=(50, 100),
    note="R-CNN's selective_search_boxes fast mode: HSV and Lab, ColourTextureSizeFill and "
         "TextureSizeFill, k 50 and 100 with min size k, sigma 0.8, width 500, sides >= 20 px"))
SELECTIVE_SEARCH.register("paper-doubled", SelectiveSearchSpec(
    id="paper-doubled", version=1, ks=(100, 200),
    note="the paper's 'superpixel size increased by 2x': R-CNN's fast mode with k (and so min size) "
         "doubled; the paper gives no parameters, doubling k is this project's reading"))


@dataclass(frozen=True)
class LearnedProposalSpec:
    """A class-agnostic box head (the stand-in for the paper's multibox).

    The whole image is warped to ``image_size`` squared and run through a classification network up to
    the Table 1 rows ``feature_rows``; on each of those maps a 3x3 convolution predicts, per anchor
    (MXNet's ``MultiBoxPrior`` with ``sizes[i]`` and ``ratios`` on map i), an object/background score
    and four box offsets. Trained with ``MultiBoxTarget`` (IoU >= ``match_iou`` positive, hard negatives
    ``negative_ratio`` per positive) on the train split's ground truth, backbone frozen; decoded with
    ``MultiBoxDetection`` (NMS at ``nms_iou``); the ``top_k`` best boxes are the proposals.
    """

    id: str
    version: int
    image_size: int = 160
    feature_rows: tuple[str, ...] = ("inception 4e", "inception 5b")
    sizes: tuple[tuple[float, ...], ...] = ((0.1, 0.2, 0.3), (0.4, 0.6, 0.85))
    ratios: tuple[float, ...] = (1.0, 2.0, 0.5)
    match_iou: float = 0.5
    negative_ratio: float = 3.0
    nms_iou: float = 0.7
    top_k: int = 200
    iterations: int = 200
    batch_size: int = 32
    learning_rate: float = 0.01
    weight_decay: float = 5e-4
    seed: int = 0
    note: str = ""

    def __post_init__(self) -> None:
        if len(self.sizes) != len(self.feature_rows):
            raise ReproError(f"learned proposals {self.id!r}: one tuple of anchor sizes per feature row")


LEARNED_PROPOSALS: Registry[LearnedProposalSpec] = Registry("learned proposal head")

LEARNED_PROPOSALS.register("multibox-head", LearnedProposalSpec(
    id="multibox-head", version=1,
    note="not the paper's multibox (a separate Inception network trained to regress boxes): a small "
         "MultiBox-style head on the first classification member's frozen inception 4e/5b features, "
         "trained on the train split's boxes; its top 200 boxes are added, as the paper adds multibox's"))


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

PROPOSAL_SETS.register("rcnn", ProposalSetSpec(
    id="rcnn", version=1, selective_search="rcnn-fast", learned=None,
    note="R-CNN's proposals (the paper's baseline: 92% coverage)"))
PROPOSAL_SETS.register("ss-doubled", ProposalSetSpec(
    id="ss-doubled", version=1, selective_search="paper-doubled", learned=None,
    note="selective search with the superpixel size doubled, alone (about half of R-CNN's boxes)"))
PROPOSAL_SETS.register("paper", ProposalSetSpec(
    id="paper", version=1, selective_search="paper-doubled", learned="multibox-head",
    note="the paper's: doubled superpixels plus 200 learned boxes (about 60% of R-CNN's, 93% coverage)"))


@dataclass(frozen=True)
class RegionWarpSpec:
    """R-CNN's ``rcnn_im_crop`` in 'warp' mode: the box is enlarged so that, once warped
    anisotropically to the input size, it has ``context_pixels`` pixels of image context on every
    side (scaled by input_size / ``reference_size`` for other input sizes); parts outside the image
    are the network's mean colour (zero after normalisation); bilinear resize."""

    id: str = "rcnn-warp-16"
    version: int = 1
    context_pixels: float = 16.0
    reference_size: int = 224

    def padding(self, input_size: int) -> float:
        """Context in warped pixels for a network with ``input_size`` input."""
        return self.context_pixels * input_size / self.reference_size


@dataclass(frozen=True)
class FineTuneSpec:
    """R-CNN's fine-tuning of a classification network into a (classes + background) region classifier.

    The classifier layer is replaced by a new one (background = output 0, detection class c = output
    c); regions are the train split's ground-truth boxes and proposals warped as
    :class:`RegionWarpSpec` says; a proposal with IoU >= ``positive_iou`` with a ground-truth box takes
    that box's class, one with IoU < ``background_iou`` with every box is background, those between are
    not used. Batches hold ``positive_fraction`` positives; mirrored with probability 1/2.
    """

    positive_iou: float = 0.5
    background_iou: float = 0.3
    batch_size: int = 128
    positive_fraction: float = 0.25
    learning_rate: float = 0.001
    momentum: float = 0.9
    weight_decay: float = 5e-4
    iterations: int = 50_000
    background_per_image: int = 256
    mirror: bool = True


@dataclass(frozen=True)
class SplitSpec:
    """R-CNN's split of the DET validation images: fine-tune on val1, evaluate on val2.

    ``val2_list`` (a file in the eval list's folder: the devkit's ``ilsvrc13_val2.txt``) is used when
    it exists and val1 is the rest of the eval list; otherwise (the mini-ILSVRC) the eval
    list alternates, position 0, 2, 4, ... to val1 and 1, 3, 5, ... to val2. Both lists are written with
    their own 1..n indexes, as the devkit's val2 list is.
    """

    val2_list: str = "ilsvrc13_val2.txt"


@dataclass(frozen=True)
class DetectionProtocol:
    """Everything that defines a detection run except the data and the networks."""

    id: str
    version: int
    proposals: str = "paper"
    baseline_proposals: tuple[str, ...] = ("rcnn", "ss-doubled")
    warp: RegionWarpSpec = RegionWarpSpec()
    finetune: FineTuneSpec = FineTuneSpec()
    split: SplitSpec = SplitSpec()
    nms_iou: float = 0.3
    max_per_class: int = 100
    ensemble_size: int = 6
    note: str = ""

    def __post_init__(self) -> None:
        for set_id in (self.proposals, *self.baseline_proposals):
            PROPOSAL_SETS.get(set_id)
        if self.ensemble_size < 1 or self.max_per_class < 1 or not 0 < self.nms_iou < 1:
            raise ReproError(f"detection protocol {self.id!r}: ensemble size and cap must be >= 1 and "
                             f"the NMS IoU in (0, 1)")


DETECTION_PROTOCOLS: Registry[DetectionProtocol] = Registry("detection protocol")

DETECTION_PROTOCOLS.register("paper", DetectionProtocol(
    id="paper", version=1,
    note="Section 8: R-CNN with GoogLeNet region classifiers, the paper's proposals, 6-model ensemble "
         "averaging region softmax scores, no box regression, no context model; NMS 0.3 and 100 "
         "detections per class per image are R-CNN's; fine-tuning values are R-CNN's (the paper gives none)"))
DETECTION_PROTOCOLS.register("mini", DetectionProtocol(
    id="mini", version=1,
    finetune=FineTuneSpec(batch_size=32, learning_rate=0.005, iterations=200, background_per_image=96),
    note="the paper protocol with a fine-tuning budget for the mini-ILSVRC on a 2-core CPU: 200 "
         "iterations of 32 regions (8 positive) at lr 0.005, 96 background regions kept per image"))

#: What the paper's text says about its proposals, per proposal set (Section 8; R-CNN's ~2000 boxes):
#: boxes relative to R-CNN's, coverage (IoU >= 0.5), single-model mAP change relative to R-CNN's
#: proposals. ``None``: not stated.
PAPER_PROPOSAL_FACTS = {
    "rcnn": {"boxes_vs_rcnn": 1.0, "coverage": 0.92, "map_vs_rcnn": 0.0},
    "ss-doubled": {"boxes_vs_rcnn": 0.5, "coverage": None, "map_vs_rcnn": None},
    "paper": {"boxes_vs_rcnn": 0.6, "coverage": 0.93, "map_vs_rcnn": 0.01},
}

#: Where this detector departs from the paper or fills its gaps (printed beside the tables).
DEVIATIONS = (
    "learned proposals: a MultiBox-style head on frozen classification features, not the paper's "
    "multibox network",
    "superpixel size doubled read as k (and min size) doubled in R-CNN's fast selective search",
    "region classifiers fine-tuned on R-CNN's val1 (the mini: every other eval-list image) and "
    "evaluated on val2; the paper does not say which split it fine-tuned on",
    "fine-tuning labels: IoU >= 0.5 = class, < 0.3 = background (R-CNN used 0.5 for both in "
    "fine-tuning and 0.3 for its SVMs); softmax scores, no SVMs",
)
