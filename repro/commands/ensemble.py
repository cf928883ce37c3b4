"""Combine stored predictions of several models (Section 7) and score them; no network is run.

--combine mean is the paper's rule (average softmax over crops and models); max-mean takes the max
over crops, then the mean over models (the alternative the paper found worse). With --versus, a
second configuration is scored on the same images and compared with McNemar's exact test.

Examples:
  repro ensemble --store stores/mini --crops 144
  repro ensemble --store stores/mini --models m1,m2,m3 --crops 10 --combine max-mean
  repro ensemble --store stores/mini --crops 144 --versus-crops 1
"""
from __future__ import annotations

NAME = "ensemble"
HELP = "score an ensemble of stored models (mean or max-mean) with intervals and paired tests"


def configure(parser) -> None:
    from repro.commands._members import add_member_arguments

    add_member_arguments(parser)
    parser.add_argument("--versus-crops", type=int, help="paired test against this crop count")
    parser.add_argument("--versus-models", help="paired test against these members (comma list)")
    parser.add_argument("--real", metavar="JSON",
                        help="also score against ImageNet-ReaL labels (real.json)")


def _score(members, crops, combine, labels):
    from protocols.ensemble import combine as combine_members
    from repro.metrics.classification import error_rate, topk_correct

    probs, valid = combine_members(members, crops, combine)
    top1, top5 = (topk_correct(probs, labels, k, valid) for k in (1, 5))
    return probs, valid, top1, top5, error_rate(top1), error_rate(top5)


def run(args) -> int:
    from pathlib import Path

    import numpy as np

    from protocols.ensemble import open_members
    from repro.commands._members import members_from_args
    from repro.errors import ReproError
    from repro.metrics.classification import mcnemar

    members = members_from_args(args)
    if not members.index.labelled:
        raise ReproError(f"{args.store}/index.csv has no labels (a test split): use `repro submit`")
    labels = np.asarray(members.index.class_indices)
    probs, valid, top1, top5, e1, e5 = _score(members, args.crops, args.combine, labels)
    print(f"members ({len(members.stores)}): {', '.join(members.keys)}")
    print(f"crops {args.crops}, combine {args.combine}: {int(valid.sum())}/{valid.size} images evaluated")
    for name, err in (("top-1", e1), ("top-5", e5)):
        low, high = err.interval()
        print(f"{name} error {100 * err.rate:.2f}%  95% CI [{100 * low:.2f}%, {100 * high:.2f}%]")
    if args.real:
        from repro.data.real_labels import load_real_labels, real_accuracy

        real = load_real_labels(args.real)
        names = np.asarray(members.index.filenames)
        scored = np.array([bool(real.get(Path(n).name)) for n in names])  # ReaL drops empty lists
        # Unevaluated images count as wrong: accuracy over the valid ones, rescaled to all scored.
        accuracy = real_accuracy(probs[valid], list(names[valid]), real) * \
            (scored & valid).sum() / max(1, scored.sum())
        print(f"ReaL top-1 accuracy {100 * accuracy:.2f}% ({int(scored.sum())} images with labels)")
    if args.versus_crops or args.versus_models:
        other = open_members(args.store, args.versus_models.split(",")) if args.versus_models else members
        if other.index.hash != members.index.hash:
            raise ReproError("--versus-models are stores of another dataset index")
        crops = args.versus_crops or args.crops
        *_, o1, o5, _, _ = _score(other, crops, args.combine, labels)
        for name, ours, theirs in (("top-1", top1, o1), ("top-5", top5, o5)):
            test = mcnemar(theirs, ours)
            print(f"{name} vs {len(other.stores)} model(s) x {crops} crops: "
                  f"{100 * (1 - theirs.mean()):.2f}% -> {100 * (1 - ours.mean()):.2f}%, "
                  f"McNemar p = {test['p_value']:.3g} (only this: {test['b_only']}, only that: "
                  f"{test['a_only']})")
    return 0
