"""Score a DET submission file against devkit files (`repro det-eval`): read the eval list, meta,
ground-truth XMLs and blacklist, evaluate with the devkit rules, write the per-class CSV and its
provenance manifest (both atomically; the CSV is the results schema's ``det_eval`` table)."""
from __future__ import annotations

import json
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from repro import results_schema
from repro.atomic import write_text
from repro.data.ilsvrc.det import load_det_meta, read_annotations, read_blacklist, read_image_list, remap_blacklist
from repro.errors import ReproError
from repro.metrics.det_eval import DEFINED_RULES, DetGroundTruth, UndefinedAPWarning, evaluate, load_submission
from repro.provenance import manifest, sha256_file


@dataclass(frozen=True)
class DetEvalRun:
    """A scored submission: the per-class table, its manifest record and where both were written."""

    table: pd.DataFrame
    record: dict
    csv: Path
    manifest_path: Path

    def summary(self) -> str:
        """The lines `repro det-eval` prints."""
        r = self.record
        undefined = r["undefined_class_ids"]
        lines = [f"{r['submission']}: {r['n_detections']} detections; ground truth {r['n_images']} images, "
                 f"{r['n_objects']} objects, {len(self.table)} classes",
                 f"mAP {r['map']:.4f} over {r['n_classes_defined']} classes with positives; {len(undefined)} "
                 f"undefined (no positives, AP nan, excluded from the mean)" + (f": {undefined}" if undefined else ""),
                 f"dropped {r['n_dropped_outside']} detections outside the eval list; ignored "
                 f"{r['n_ignored_blacklisted']} blacklisted detections"
                 + (f"; {r['blacklist_entries_for_unlisted_images']} blacklist entries name unlisted images"
                    if r["blacklist_list"] else ""),
                 f"{r['n_off_image']} scored detections reach beyond their image: scored as given, "
                 f"as the devkit does (no clipping)",
                 f"time: parse XMLs {r['seconds']['parse_xml']:.2f} s, load submission "
                 f"{r['seconds']['load_submission']:.2f} s, score {r['seconds']['score']:.2f} s",
                 f"wrote {self.csv} and {self.manifest_path}", "rules defined where the devkit misbehaves:"]
        return "\n".join(lines + [f"  - {rule}" for rule in DEFINED_RULES])


def score_submission(pred: Path, gt_dir: Path, meta_path: Path, list_path: Path, csv: Path,
                     blacklist_path: Path | None = None, blacklist_list: Path | None = None,
                     drop_outside: bool = False, progress: bool = True) -> DetEvalRun:
    """Score ``pred`` as the devkit's eval_detection does; write ``csv`` and ``<csv>.manifest.json``."""
    if blacklist_list and not blacklist_path:
        raise ReproError("--blacklist-list needs --blacklist")
    started = time.perf_counter()
    detections = load_submission(pred)  # first: a malformed line fails before 20,000 XMLs are parsed
    load_seconds = time.perf_counter() - started
    meta = load_det_meta(meta_path)
    image_list = read_image_list(list_path)
    started = time.perf_counter()
    annotations = read_annotations(gt_dir, image_list, meta, progress=progress)
    parse_seconds = time.perf_counter() - started
    ground_truth = DetGroundTruth.from_annotations(image_list.indexes, annotations, meta.num_classes)

    blacklist, blacklist_unlisted = None, 0
    if blacklist_path:
        blacklist = read_blacklist(blacklist_path, meta)
        if blacklist_list:
            blacklist, blacklist_unlisted = remap_blacklist(
                blacklist, read_image_list(blacklist_list), image_list)

    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedAPWarning)  # reported in the summary instead
        result = evaluate(detections, ground_truth, blacklist, drop_outside=drop_outside)
    score_seconds = time.perf_counter() - started

    table = pd.DataFrame({"class_id": result.class_ids, "wnid": [c.wnid for c in meta.classes],
                          "name": [c.name for c in meta.classes], "ap": result.ap, "n_pos": result.n_pos,
                          "n_det": result.n_det})
    undefined = result.undefined_class_ids.tolist()
    record = manifest(
        command="det-eval", map=result.map, n_classes_defined=meta.num_classes - len(undefined),
        undefined_class_ids=undefined,
        submission=str(pred), submission_sha256=sha256_file(pred),
        eval_list=str(list_path), eval_list_sha256=sha256_file(list_path),
        meta=str(meta_path), meta_sha256=sha256_file(meta_path), gt_dir=str(gt_dir),
        blacklist=str(blacklist_path) if blacklist_path else None,
        blacklist_sha256=sha256_file(blacklist_path) if blacklist_path else None,
        blacklist_list=str(blacklist_list) if blacklist_list else None,
        blacklist_entries_used=len(blacklist) if blacklist is not None else 0,
        blacklist_entries_for_unlisted_images=blacklist_unlisted,
        n_images=len(image_list), n_objects=len(ground_truth.object_class),
        n_detections=len(detections), n_dropped_outside=result.n_dropped_outside,
        n_ignored_blacklisted=result.n_ignored_blacklisted, n_off_image=result.n_off_image,
        seconds={"parse_xml": parse_seconds, "load_submission": load_seconds, "score": score_seconds},
        defined_rules=list(DEFINED_RULES))
    results_schema.write_frame_at(results_schema.DET_EVAL, table, csv)
    manifest_path = csv.with_name(csv.name + results_schema.MANIFEST_SUFFIX)
    write_text(manifest_path, json.dumps(record, indent=2) + "\n")
    return DetEvalRun(table, record, csv, manifest_path)
