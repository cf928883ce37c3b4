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

    add_member_arguments(parser)
    parser.add_argument("--meta", required=True, help="devkit meta.mat mapping WNIDs to ILSVRC IDs")
    parser.add_argument("--out", required=True, help="submission file to write")


def run(args) -> int:
    import numpy as np

    from protocols.ensemble import combine
    from repro.commands._members import members_from_args
    from repro.atomic import write_text
    from repro.data.cls_classes import read_meta
    from repro.errors import ReproError
    from repro.metrics.classification import topk_classes

    members = members_from_args(args)
    meta = read_meta(args.meta)
    id_of = {wnid: ilsvrc_id for ilsvrc_id, wnid in meta.wnid_by_id.items()}
    wnids = meta.classes.wnids
    classes = members.stores[0].spec.classes
    if len(wnids) != classes:
        raise ReproError(f"{args.meta} has {len(wnids)} classes, the store's models {classes}")
    probs, valid = combine(members, args.crops, args.combine)
    if not valid.all():
        missed = [members.index.filenames[i] for i in np.flatnonzero(~valid)[:5]]
        raise ReproError(f"{int((~valid).sum())} image(s) were not evaluated (first: "
                         f"{', '.join(missed)}); a submission needs a prediction for every image")
    best = topk_classes(probs, 5)
    lines = [" ".join(str(id_of[wnids[c]]) for c in row) for row in best]
    write_text(args.out, "\n".join(lines) + "\n")
    print(f"wrote {len(lines)} lines ({args.crops} crops, {len(members.stores)} model(s)) to {args.out}")
    return 0
