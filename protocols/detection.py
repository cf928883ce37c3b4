"""Section 8's detector as registered data: proposals, region warping, fine-tuning, NMS, ensemble.

The approach is R-CNN's with GoogLeNet as the region classifier (PAPER.md section 4); the spec types
are :mod:`repro.detect.specs`:

- selective search: R-CNN's "fast" mode (HSV and Lab, two merging strategies, k in {50, 100} with
  min size k, sigma 0.8, image resized to width 500, boxes with a side under 20 px dropped) and the
  paper's variant with the superpixel size doubled;
- learned proposals: the stand-in for the paper's multibox, a class-agnostic box head on the first
  classification member's frozen features;
- proposal sets: R-CNN's, the doubled superpixels alone, and the paper's (doubled + 200 learned);
- R-CNN's anisotropic warp with 16 pixels of context and its region fine-tuning;
- the protocols: the paper's, and the same with a fine-tuning budget for the mini-ILSVRC.
"""
from __future__ import annotations

import dataclasses

from repro.detect.specs import (
                                DETECTION_PROTOCOLS,
                                LEARNED_PROPOSALS,
                                PROPOSAL_SETS,
                                SELECTIVE_SEARCH,
                                DetectionProtocol,
                                FineTuneSpec,
                                LearnedProposalSpec,
                                ProposalSetSpec,
                                RegionWarpSpec,
                                SelectiveSearchSpec,
                                SplitSpec,
)

RCNN_FAST = SELECTIVE_SEARCH.register("rcnn-fast", SelectiveSearchSpec(
    id="rcnn-fast", version=1, ks=(50, 100), sigma=0.8, color_spaces=("hsv", "lab"),
    strategies=(("color", "texture", "size", "fill"), ("texture", "size", "fill")),
    canonical_width=500, min_side=20,
    note="R-CNN's selective_search_boxes fast mode: HSV and Lab, ColourTextureSizeFill and "
         "TextureSizeFill, k 50 and 100 with min size k, sigma 0.8, width 500, sides >= 20 px"))
SELECTIVE_SEARCH.register("paper-doubled", dataclasses.replace(
    RCNN_FAST, id="paper-doubled", ks=(100, 200),
    note="the paper's 'superpixel size increased by 2x': R-CNN's fast mode with k (and so min size) "
         "doubled; the paper gives no parameters, doubling k is this project's reading"))

LEARNED_PROPOSALS.register("multibox-head", LearnedProposalSpec(
    id="multibox-head", version=1, image_size=160, feature_rows=("inception 4e", "inception 5b"),
    sizes=((0.1, 0.2, 0.3), (0.4, 0.6, 0.85)), ratios=(1.0, 2.0, 0.5), match_iou=0.5, negative_ratio=3.0,
    nms_iou=0.7, top_k=200, iterations=200, batch_size=32, learning_rate=0.01, weight_decay=5e-4, seed=0,
    note="not the paper's multibox (a separate Inception network trained to regress boxes): a small "
         "MultiBox-style head on the first classification member's frozen inception 4e/5b features, "
         "trained on the train split's boxes; its top 200 boxes are added, as the paper adds multibox's"))

PROPOSAL_SETS.register("rcnn", ProposalSetSpec(
    id="rcnn", version=1, selective_search="rcnn-fast", learned=None,
    note="R-CNN's proposals (the paper's baseline: 92% coverage)"))
PROPOSAL_SETS.register("ss-doubled", ProposalSetSpec(
    id="ss-doubled", version=1, selective_search="paper-doubled", learned=None,
    note="selective search with the superpixel size doubled, alone (about half of R-CNN's boxes)"))
PROPOSAL_SETS.register("paper", ProposalSetSpec(
    id="paper", version=1, selective_search="paper-doubled", learned="multibox-head",
    note="the paper's: doubled superpixels plus 200 learned boxes (about 60% of R-CNN's, 93% coverage)"))

RCNN_WARP = RegionWarpSpec(id="rcnn-warp-16", version=1, context_pixels=16.0, reference_size=224)
RCNN_FINETUNE = FineTuneSpec(positive_iou=0.5, background_iou=0.3, batch_size=128, positive_fraction=0.25,
                             learning_rate=0.001, momentum=0.9, weight_decay=5e-4, iterations=50_000,
                             background_per_image=256, mirror=True)
RCNN_SPLIT = SplitSpec(val2_list="ilsvrc13_val2.txt")

PAPER_DETECTION = DETECTION_PROTOCOLS.register("paper", DetectionProtocol(
    id="paper", version=1, proposals="paper", baseline_proposals=("rcnn", "ss-doubled"), warp=RCNN_WARP,
    finetune=RCNN_FINETUNE, split=RCNN_SPLIT, nms_iou=0.3, max_per_class=100, ensemble_size=6,
    note="Section 8: R-CNN with GoogLeNet region classifiers, the paper's proposals, 6-model ensemble "
         "averaging region softmax scores, no box regression, no context model; NMS 0.3 and 100 "
         "detections per class per image are R-CNN's; fine-tuning values are R-CNN's (the paper gives none)"))
DETECTION_PROTOCOLS.register("mini", dataclasses.replace(
    PAPER_DETECTION, id="mini", version=3, proposal_scale=0.5,
    finetune=dataclasses.replace(RCNN_FINETUNE, batch_size=32, learning_rate=0.015, iterations=60,
                                 background_per_image=96),
    note="the paper protocol with a budget for the mini-ILSVRC on a 2-core CPU (this project's choices): "
         "selective search at half R-CNN's canonical width and minimum side (250 and 10 px: the mini "
         "images are about half ImageNet's size, and upscaling them to 500 px made proposals the "
         "slowest stage), 60 fine-tuning iterations of 32 regions (8 positive) at lr 0.015 (the 6 "
         "fine-tunings were the next slowest: 100 iterations took 20 s each on 2 cores), "
         "96 background regions kept per image"))

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
