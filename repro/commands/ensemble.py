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
    from repro.commands._types import existing_file, positive_int, text

    add_member_arguments(parser)
    parser.add_argument("--versus-crops", type=positive_int, help="paired test against this crop count")
    parser.add_argument("--versus-models", type=text, help="paired test against these members (comma list)")
    parser.add_argument("--real", type=existing_file, metavar="JSON",
                        help="also score against ImageNet-ReaL labels (real.json)")


def run(args) -> int:
    from repro.commands._members import members_from_args
    from repro.engine.ensemble_report import ensemble_report

    print("\n".join(ensemble_report(members_from_args(args), args.crops, args.combine, args.real,
                                     args.versus_crops, args.versus_models)))
    return 0
