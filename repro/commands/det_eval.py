"""Score an ILSVRC2014 DET submission exactly as the devkit's eval_detection does.

PRED has lines `image_index det_class_id confidence xmin ymin xmax ymax`. Writes one CSV row per
class (class_id,wnid,name,ap,n_pos,n_det; ap is nan for a class without positives), a provenance
manifest next to it (<csv>.manifest.json), and prints the mAP over the classes with positives.
The devkit's blacklist is indexed like det_lists/val.txt: to use it with another list (e.g.
ilsvrc13_val2.txt) pass --blacklist-list det_lists/val.txt so it is re-indexed by image name.
"""
from __future__ import annotations

import argparse

from repro.commands._types import existing_dir, existing_file, output_file

NAME = "det-eval"
HELP = "score an ILSVRC2014 DET submission file (devkit eval_detection rules)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("pred", metavar="PRED", type=existing_file, help="submission file")
    parser.add_argument("--gt-dir", required=True, type=existing_dir,
                        help="folder of ground-truth XMLs, one <image_name>.xml per listed image")
    parser.add_argument("--meta", required=True, type=existing_file, help="meta_det.mat")
    parser.add_argument("--list", required=True, type=existing_file,
                        help="eval list of 'image_name image_index' lines (e.g. det_lists/val.txt)")
    parser.add_argument("--blacklist", type=existing_file, help="'image_index WNID' lines to leave out")
    parser.add_argument("--blacklist-list", type=existing_file,
                        help="the eval list the blacklist's indexes refer to, when it is not --list; "
                             "entries are re-indexed by image name, those for unlisted images dropped")
    parser.add_argument("--drop-outside", action="store_true",
                        help="drop (and count) detections for images not in --list instead of failing")
    parser.add_argument("--csv", required=True, type=output_file, help="per-class output CSV")


def run(args: argparse.Namespace) -> int:
    from repro.metrics.det_scoring import score_submission

    scored = score_submission(args.pred, args.gt_dir, args.meta, args.list, args.csv, args.blacklist,
                              args.blacklist_list, args.drop_outside)
    print(scored.summary())
    return 0
