"""The paper's detector (Section 8): R-CNN with GoogLeNet region classifiers, a 6-model ensemble.

  repro detect finetune --data DIR --members CARD.json [CARD.json ...] --out DIR
  repro detect run --data DIR --finetuned FT_DIR --out DIR
  repro detect run --data DIR --members REGION_CARD.json [...] [--proposer PROPOSER.json] --out DIR
  repro detect tables --run DIR --out RESULTS

`finetune` splits the DET validation images as R-CNN did (val1/val2; the mini: alternate images),
trains the learned proposal head on val1 and fine-tunes the classification members (model cards of
`repro train`) into 6 region classifiers (classes + background; with fewer members they are reused
in order with other seeds, and the tables say so). Finished parts are kept on a re-run.
`run` computes proposals on val2
(cached per image), their coverage, every member's region scores (kept in OUT/region_scores), and
writes OUT/submission_single.txt (first member), OUT/submission_ensemble.txt (all members' scores
averaged), OUT/val2.txt, OUT/val2_blacklist.txt and OUT/detection_results.json; rescore any
submission with `repro det-eval SUB --list OUT/val2.txt --blacklist OUT/val2_blacklist.txt ...`.
`tables` writes Table 4, Table 5 and the proposal table (CSV + Markdown) and the per-class AP plot.

DIR is a detection root: the real ILSVRC2014 DET layout (ILSVRC2013_DET_val/, ILSVRC2013_DET_bbox_val/,
ILSVRC2014_devkit/) or the mini-ILSVRC root written by `repro data mini` (its det/ folder).
"""
from __future__ import annotations

import argparse

from repro.commands._types import existing_dir, existing_file, output_dir, positive_int, text

NAME = "detect"
HELP = "the paper's detector: fine-tune region classifiers, detect (submission + mAP), Tables 4-5"


def _common(parser: argparse.ArgumentParser, members_required: bool = True) -> None:
    parser.add_argument("--data", required=True, type=existing_dir, metavar="DIR", help="detection dataset root")
    parser.add_argument("--dataset", type=text, help="registered detection dataset id (default: the one whose layout "
                                          "DIR holds)")
    parser.add_argument("--protocol", type=text, default="paper", help="detection protocol: paper or mini (default "
                                                            "%(default)s)")
    parser.add_argument("--members", type=text, required=members_required, nargs="+", metavar="REF",
                        help="model cards (or other model references), the first one is the single model")
    parser.add_argument("--out", required=True, type=output_dir, metavar="DIR", help="output folder")
    parser.add_argument("--cache", type=output_dir, metavar="DIR", help="proposal cache (default OUT/proposals)")
    parser.add_argument("--workers", type=positive_int, default=2,
                        help="decoding/proposal/warping threads (default 2)")


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="detect_command", required=True, metavar="STEP")
    finetune = sub.add_parser("finetune", help="fine-tune classification members into region classifiers")
    _common(finetune)
    finetune.add_argument("--ensemble-size", type=positive_int, metavar="N",
                          help="region classifiers to make (default: the protocol's, 6); with fewer "
                               "--members, member i mod K is fine-tuned again with another seed")
    detect = sub.add_parser("run", help="detect on val2: proposals, region scores, submissions, mAP")
    _common(detect, members_required=False)
    detect.add_argument("--proposer", type=existing_file, metavar="JSON",
                        help="learned proposal head (OUT/proposer/proposer.json of `finetune`)")
    detect.add_argument("--finetuned", type=existing_dir, metavar="DIR",
                        help="the --out of `repro detect finetune`: its region classifiers (in order) and "
                             "proposal head, instead of --members and --proposer")
    detect.add_argument("--batch-size", type=positive_int, default=256, help="regions per forward pass (default 256)")
    tables = sub.add_parser("tables", help="Tables 4 and 5, proposal table, per-class AP plot")
    tables.add_argument("--run", required=True, type=existing_dir, metavar="DIR", help="output folder of `run`")
    tables.add_argument("--out", required=True, type=output_dir, metavar="DIR", help="results folder")


def run(args: argparse.Namespace) -> int:
    from repro.detect.run import detect_step
    from repro.tables import write_table

    if args.detect_command == "tables":
        print(write_table("detection", out=args.out, run=args.run).summary)
        return 0
    detect_step(args.detect_command, data=args.data, dataset=args.dataset, protocol=args.protocol,
                members=args.members, out=args.out, cache=args.cache, workers=args.workers,
                ensemble_size=getattr(args, "ensemble_size", None), proposer=getattr(args, "proposer", None),
                finetuned=getattr(args, "finetuned", None), batch_size=getattr(args, "batch_size", 256))
    return 0
