"""The detector of Section 8: R-CNN with GoogLeNet region classifiers (specs in :mod:`repro.detect.specs`).

- :mod:`~repro.detect.boxes` — inclusive-pixel IoU (MXNet's ``box_iou``), coverage, canonical box order;
- :mod:`~repro.detect.selective_search` — OpenCV contrib's selective search, configured as R-CNN's;
- :mod:`~repro.detect.learned_proposals` — the MultiBox-style learned proposal head;
- :mod:`~repro.detect.proposals` — proposal sources, the per-image cache, computing them in threads;
- :mod:`~repro.detect.warp` — R-CNN's region warp with context;
- :mod:`~repro.detect.backbone` — a classification network's feature maps, a new classifier layer;
- :mod:`~repro.detect.finetune` — region labels by IoU and R-CNN's fine-tuning;
- :mod:`~repro.detect.scoring` / :mod:`~repro.detect.region_store` — batched region scores, kept;
- :mod:`~repro.detect.nms` / :mod:`~repro.detect.derive` — per-class NMS, ensemble averaging, scores;
- :mod:`~repro.detect.dataset` — the DET root and R-CNN's val1/val2 split;
- :mod:`~repro.detect.run` — the two steps (fine-tune, detect) that `repro detect` runs;
- :mod:`~repro.detect.tables` — Tables 4 and 5, the proposal table, the per-class AP plot.
"""
