"""Options shared by the commands that read an ensemble of stored models (ensemble, submit)."""
from __future__ import annotations


def add_member_arguments(parser, default_crops: int = 144) -> None:
    """--store, --models, --crops, --combine."""
    from repro.commands._types import existing_dir, positive_int, text

    parser.add_argument("--store", required=True, type=existing_dir, help="probability store directory")
    parser.add_argument("--models", type=text, help="comma-separated model keys (default: all in the store)")
    parser.add_argument("--crops", type=positive_int, default=default_crops,
                        help=f"crop count: 1, 10, 144, 36, ... (default {default_crops})")
    parser.add_argument("--combine", choices=("mean", "max-mean"), default="mean",
                        help="mean (the paper's) or max over crops then mean over models")


def members_from_args(args):
    """The checked ensemble members the options name."""
    from repro.engine.members import open_members

    return open_members(args.store, args.models.split(",") if args.models else None)
