"""`repro ensemble`: score a member set at a crop count (errors with exact intervals, ImageNet-ReaL
accuracy) and compare it with another configuration on the same images (McNemar's exact test)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from repro.engine.members import Members, combine, open_members
from repro.errors import ReproError
from repro.metrics.classification import error_rate, mcnemar, topk_correct


def _score(members: Members, crops: int, rule: str, labels: np.ndarray):
    probs, valid = combine(members, crops, rule)
    top1, top5 = (topk_correct(probs, labels, k, valid) for k in (1, 5))
    return probs, valid, top1, top5


def ensemble_report(members: Members, crops: int, rule: str = "mean", real: Path | None = None,
                    versus_crops: int | None = None, versus_models: str | None = None) -> list[str]:
    """The lines `repro ensemble` prints for ``members`` at ``crops`` crops under ``rule``."""
    if not members.index.labelled:
        raise ReproError(f"{members.stores[0].root}/index.csv has no labels (a test split): use `repro submit`")
    labels = np.asarray(members.index.class_indices)
    probs, valid, top1, top5 = _score(members, crops, rule, labels)
    lines = [f"members ({len(members.stores)}): {', '.join(members.keys)}",
             f"crops {crops}, combine {rule}: {int(valid.sum())}/{valid.size} images evaluated"]
    for name, correct in (("top-1", top1), ("top-5", top5)):
        err = error_rate(correct)
        low, high = err.interval()
        lines.append(f"{name} error {100 * err.rate:.2f}%  95% CI [{100 * low:.2f}%, {100 * high:.2f}%]")
    if real:
        from repro.data.ilsvrc.real_labels import load_real_labels, real_accuracy

        real_labels = load_real_labels(real)
        names = np.asarray(members.index.filenames)
        scored = np.array([bool(real_labels.get(Path(n).name)) for n in names])  # ReaL drops empty lists
        # Unevaluated images count as wrong: accuracy over the valid ones, rescaled to all scored.
        accuracy = real_accuracy(probs[valid], list(names[valid]), real_labels) * \
            (scored & valid).sum() / max(1, scored.sum())
        lines.append(f"ReaL top-1 accuracy {100 * accuracy:.2f}% ({int(scored.sum())} images with labels)")
    if versus_crops or versus_models:
        other = open_members(members.stores[0].root, versus_models.split(",")) if versus_models else members
        if other.index.hash != members.index.hash:
            raise ReproError("--versus-models are stores of another dataset index")
        other_crops = versus_crops or crops
        *_, o1, o5 = _score(other, other_crops, rule, labels)
        for name, ours, theirs in (("top-1", top1, o1), ("top-5", top5, o5)):
            test = mcnemar(theirs, ours)
            lines.append(f"{name} vs {len(other.stores)} model(s) x {other_crops} crops: "
                         f"{100 * (1 - theirs.mean()):.2f}% -> {100 * (1 - ours.mean()):.2f}%, "
                         f"McNemar p = {test['p_value']:.3g} (only this: {test['b_only']}, only that: "
                         f"{test['a_only']})")
    return lines
