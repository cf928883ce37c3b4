"""`repro submit`: a classification submission in the devkit's format from stored predictions —
per image, in index order, the ILSVRC2012 IDs of the 5 most probable classes."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from repro.atomic import write_text
from repro.data.ilsvrc.classes import read_meta
from repro.engine.members import Members, combine
from repro.errors import ReproError
from repro.metrics.classification import topk_classes


def write_submission(members: Members, meta_path: Path, out: Path, crops: int, rule: str = "mean") -> int:
    """Write the submission of ``members`` at ``crops`` crops to ``out``; the number of lines."""
    meta = read_meta(meta_path)
    id_of = {wnid: ilsvrc_id for ilsvrc_id, wnid in meta.wnid_by_id.items()}
    wnids = meta.classes.wnids
    classes = members.stores[0].spec.classes
    if len(wnids) != classes:
        raise ReproError(f"{meta_path} has {len(wnids)} classes, the store's models {classes}")
    probs, valid = combine(members, crops, rule)
    if not valid.all():
        missed = [members.index.filenames[i] for i in np.flatnonzero(~valid)[:5]]
        raise ReproError(f"{int((~valid).sum())} image(s) were not evaluated (first: "
                         f"{', '.join(missed)}); a submission needs a prediction for every image")
    lines = [" ".join(str(id_of[wnids[c]]) for c in row) for row in topk_classes(probs, 5)]
    write_text(out, "\n".join(lines) + "\n")
    return len(lines)
