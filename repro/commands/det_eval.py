"""Score an ILSVRC2014 DET submission exactly as the devkit's eval_detection does.

PRED has lines `image_index det_class_id confidence xmin ymin xmax ymax`. Writes one CSV row per
class (class_id,wnid,name,ap,n_pos,n_det; ap is nan for a class without positives), a provenance
manifest next to it (<csv>.manifest.json), and prints the mAP over the classes with positives.
The devkit's blacklist is indexed like det_lists/val.txt: to use it with another list (e.g.
ilsvrc13_val2.txt) pass --blacklist-list det_lists/val.txt so it is re-indexed by image name.
"""
from __future__ import annotations

import argparse
from pathlib import Path

NAME = "det-eval"
HELP = "score an ILSVRC2014 DET submission file (devkit eval_detection rules)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("pred", metavar="PRED", type=Path, help="submission file")
    parser.add_argument("--gt-dir", required=True, type=Path,
                        help="folder of ground-truth XMLs, one <image_name>.xml per listed image")
    parser.add_argument("--meta", required=True, type=Path, help="meta_det.mat")
    parser.add_argument("--list", required=True, type=Path,
                        help="eval list of 'image_name image_index' lines (e.g. det_lists/val.txt)")
    parser.add_argument("--blacklist", type=Path, help="'image_index WNID' lines to leave out")
    parser.add_argument("--blacklist-list", type=Path,
                        help="the eval list the blacklist's indexes refer to, when it is not --list; "
                             "entries are re-indexed by image name, those for unlisted images dropped")
    parser.add_argument("--drop-outside", action="store_true",
                        help="drop (and count) detections for images not in --list instead of failing")
    parser.add_argument("--csv", required=True, type=Path, help="per-class output CSV")


def run(args: argparse.Namespace) -> int:
    import json
    import time
    import warnings

    import pandas as pd

    from repro.data.det import (load_det_meta, read_annotations, read_blacklist, read_image_list,
                                remap_blacklist)
    from repro.errors import ReproError
    from repro.metrics.det_eval import (DEFINED_RULES, DetGroundTruth, UndefinedAPWarning, evaluate,
                                        load_submission)
    from repro.provenance import manifest, sha256_file

    if args.blacklist_list and not args.blacklist:
        raise ReproError("--blacklist-list needs --blacklist")
    meta = load_det_meta(args.meta)
    image_list = read_image_list(args.list)
    started = time.perf_counter()
    annotations = read_annotations(args.gt_dir, image_list, meta, progress=True)
    parse_seconds = time.perf_counter() - started
    ground_truth = DetGroundTruth.from_annotations(image_list.indexes, annotations, meta.num_classes)

    blacklist, blacklist_unlisted = None, 0
    if args.blacklist:
        blacklist = read_blacklist(args.blacklist, meta)
        if args.blacklist_list:
            blacklist, blacklist_unlisted = remap_blacklist(
                blacklist, read_image_list(args.blacklist_list), image_list)

    started = time.perf_counter()
    detections = load_submission(args.pred)
    load_seconds = time.perf_counter() - started
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedAPWarning)  # reported below, in the summary
        result = evaluate(detections, ground_truth, blacklist, drop_outside=args.drop_outside)
    score_seconds = time.perf_counter() - started

    table = pd.DataFrame({"class_id": result.class_ids,
                          "wnid": [c.wnid for c in meta.classes],
                          "name": [c.name for c in meta.classes],
                          "ap": result.ap, "n_pos": result.n_pos, "n_det": result.n_det})
    args.csv.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.csv, index=False, na_rep="nan")
    undefined = result.undefined_class_ids.tolist()
    n_defined = meta.num_classes - len(undefined)
    record = manifest(
        command=NAME, map=result.map, n_classes_defined=n_defined, undefined_class_ids=undefined,
        submission=str(args.pred), submission_sha256=sha256_file(args.pred),
        eval_list=str(args.list), eval_list_sha256=sha256_file(args.list),
        meta=str(args.meta), meta_sha256=sha256_file(args.meta), gt_dir=str(args.gt_dir),
        blacklist=str(args.blacklist) if args.blacklist else None,
        blacklist_sha256=sha256_file(args.blacklist) if args.blacklist else None,
        blacklist_list=str(args.blacklist_list) if args.blacklist_list else None,
        blacklist_entries_used=len(blacklist) if blacklist is not None else 0,
        blacklist_entries_for_unlisted_images=blacklist_unlisted,
        n_images=len(image_list), n_objects=len(ground_truth.object_class),
        n_detections=len(detections), n_dropped_outside=result.n_dropped_outside,
        n_ignored_blacklisted=result.n_ignored_blacklisted,
        seconds={"parse_xml": parse_seconds, "load_submission": load_seconds, "score": score_seconds},
        defined_rules=list(DEFINED_RULES))
    manifest_path = args.csv.with_name(args.csv.name + ".manifest.json")
    manifest_path.write_text(json.dumps(record, indent=2) + "\n")

    print(f"{args.pred}: {len(detections)} detections; ground truth {len(image_list)} images, "
          f"{len(ground_truth.object_class)} objects, {meta.num_classes} classes")
    print(f"mAP {result.map:.4f} over {n_defined} classes with positives; {len(undefined)} undefined "
          f"(no positives, AP nan, excluded from the mean)" + (f": {undefined}" if undefined else ""))
    print(f"dropped {result.n_dropped_outside} detections outside the eval list; ignored "
          f"{result.n_ignored_blacklisted} blacklisted detections"
          + (f"; {blacklist_unlisted} blacklist entries name unlisted images" if args.blacklist_list
             else ""))
    print(f"time: parse XMLs {parse_seconds:.2f} s, load submission {load_seconds:.2f} s, "
          f"score {score_seconds:.2f} s")
    print(f"wrote {args.csv} and {manifest_path}")
    print("rules defined where the devkit misbehaves:")
    for rule in DEFINED_RULES:
        print(f"  - {rule}")
    return 0
