"""Verify a long run: re-evaluate N random images from scratch and compare them with the store.

The model is rebuilt from the reference recorded in the store (or --model, which must have the same
weights hash) and run with the store's crop scheme, interpolation, decoding and backend (or
--backend, which must be the same backend: e.g. an int8 calibration directory on this machine);
exit status 1 when any sampled image differs by more than the tolerance.

Example:
  repro audit --store stores/val --images /data/ILSVRC2012/val --sample 50
"""
from __future__ import annotations

NAME = "audit"
HELP = "re-evaluate a random sample of a store's images and check they match (MLPerf TEST01 style)"


def configure(parser) -> None:
    from repro.commands._types import existing_dir, non_negative_float, positive_int, seed, text

    parser.add_argument("--store", required=True, type=existing_dir, help="probability store directory")
    parser.add_argument("--images", required=True, type=existing_dir,
                        help="image root the store was evaluated on")
    parser.add_argument("--sample", type=positive_int, default=20, help="images to re-evaluate (default 20)")
    parser.add_argument("--seed", type=seed, default=0, help="seed of the random sample")
    parser.add_argument("--models", type=text, help="comma-separated model keys (default: all in the store)")
    parser.add_argument("--model", type=text, help="model reference to use instead of the recorded one")
    parser.add_argument("--backend", type=text,
                        help="backend[:key=value,...] to use instead of the recorded one (auto: as "
                             "`repro evaluate` resolves it)")
    parser.add_argument("--tolerance", type=non_negative_float, default=1e-5,
                        help="largest allowed absolute difference in any probability (default 1e-5)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args) -> int:
    from repro.engine.audit import audit_models

    results = audit_models(args.store, args.images, args.sample, args.seed,
                           args.models.split(",") if args.models else None, args.model, args.tolerance,
                           progress=not args.no_progress, backend=args.backend)
    for result in results:
        worst = max(result.max_abs_diff) if result.max_abs_diff else 0.0
        checked = len(result.rows) - len(result.notes)
        print(f"{'PASS' if result.passed else 'FAIL'} {result.model_key}: {checked} of {len(result.rows)} "
              f"sampled images re-evaluated, largest difference {worst:.3g} (tolerance {result.tolerance:g})")
        for row, diff in zip(result.rows, result.max_abs_diff):
            if diff > result.tolerance:
                print(f"  row {row}: {result.notes.get(row) or f'differs by {diff:.3g}'}")
    return 0 if all(result.passed for result in results) else 1
