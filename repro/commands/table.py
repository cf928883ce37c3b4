"""Render one of the paper's tables to CSV and Markdown.

Table 1 is computed from the network (see also `repro arch`). Tables 2 and 3 are the paper's printed
values, or, with --store, our measured rows beside them (derived from the probability store, no
network is run), plus the top-5-vs-cost plot, the crop-count and ensemble-size curves and the
max-over-crops ablation. Tables 4-5 are the paper's values. `canary` is the accuracy canary
(EfficientNet-Lite0 on real images) from its stores (`nox -s canary`).

Examples:
  repro table 1 --out results/
  repro table 3 --store stores/mini --out results/ --dataset-name "mini-ILSVRC (synthetic)"
  repro table canary --store $REPRO_CACHE/canary/stores --out results/
"""
from __future__ import annotations

NAME = "table"
HELP = "write one of the paper's Tables 1-5 (CSV + Markdown); Tables 2-3 measured from a store with --store"


def configure(parser) -> None:
    from repro.commands._types import existing_dir, output_dir, text

    parser.add_argument("number", choices=("1", "2", "3", "4", "5", "canary"),
                        help="table number, or canary")
    parser.add_argument("--out", required=True, type=output_dir, help="output directory")
    parser.add_argument("--variant", choices=("paper", "gluoncv"),
                        help="Table 1 only: which network to count (default: paper)")
    parser.add_argument("--store", type=existing_dir,
                        help="Tables 2-3: probability store with the measured results; canary: the folder "
                             "of its stores (ROOT/samples, ROOT/val)")
    parser.add_argument("--models", type=text, help="Tables 2-3: comma-separated member keys, in order "
                                         "(default: every model in the store)")
    parser.add_argument("--combine", choices=("mean", "max-mean"),
                        help="Tables 2-3: ensemble rule (default: the paper's mean)")
    parser.add_argument("--dataset-name", type=text, help="Tables 2-3: how tables name the data the store was "
                                               "evaluated on")
    parser.add_argument("--note", dest="notes", type=text, action="append",
                        help="Tables 2-3: a note printed under the measured tables (repeatable)")


def run(args) -> int:
    from pathlib import Path

    from repro.tables import write_table

    output = write_table(args.number, out=Path(args.out), variant=args.variant,
                         store=Path(args.store) if args.store else None, models=args.models,
                         combine=args.combine, dataset_name=args.dataset_name,
                         notes=tuple(args.notes) if args.notes else None)
    print(output.summary if args.number != "1" else f"wrote {', '.join(map(str, output.paths))}")
    return 0
