"""Write the official ILSVRC classification submission from a store (any split, test included).

One line per image in index (file name) order, holding the 5 best classes as ILSVRC2012_IDs (the
devkit's 1-based synset ids from meta.mat, NOT class indices), best first, space separated — the
format the devkit's evaluation and the ILSVRC server expect.

Example:
  repro submit --store stores/test --crops 144 --meta meta.mat --out submission.txt
"""
from __future__ import annotations

NAME = "submit"
HELP = "write an ILSVRC classification submission (top-5 ILSVRC2012_IDs per image) from a store"


def configure(parser) -> None:
    from repro.commands._members import add_member_arguments
    from repro.commands._types import existing_file, output_file

    add_member_arguments(parser)
    parser.add_argument("--meta", required=True, type=existing_file, help="devkit meta.mat mapping WNIDs to ILSVRC IDs")
    parser.add_argument("--out", required=True, type=output_file, help="submission file to write")


def run(args) -> int:
    from repro.commands._members import members_from_args
    from repro.engine.submission import write_submission

    members = members_from_args(args)
    count = write_submission(members, args.meta, args.out, args.crops, args.combine)
    print(f"wrote {count} lines ({args.crops} crops, {len(members.stores)} model(s)) to {args.out}")
    return 0
