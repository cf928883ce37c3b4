"""Table 1 from the code: output shape, parameters and multiply-adds per row, beside the paper's.

Examples:
  repro arch --variant paper --csv t1.csv
  repro arch --variant gluoncv --markdown t1_gluoncv.md
"""
from __future__ import annotations

NAME = "arch"
HELP = "reproduce Table 1 (shapes, parameters, multiply-adds) from the Gluon graph"


def configure(parser) -> None:
    parser.add_argument("--variant", choices=("paper", "gluoncv"), default="paper",
                        help="paper = googlenet-paper (Table 1 as printed); gluoncv = GluonCV's "
                             "googlenet (default: %(default)s)")
    parser.add_argument("--input-size", type=int, default=224, help="square input side (default 224)")
    parser.add_argument("--csv", help="write the rows as CSV to this path")
    parser.add_argument("--markdown", help="write the table as Markdown to this path")


def run(args) -> int:
    import pandas as pd

    from protocols.architecture import VARIANTS, table1, to_markdown, totals
    from repro.atomic import write_text

    model_id = VARIANTS[args.variant]
    frame = table1(model_id, args.input_size)
    if args.csv:
        write_text(args.csv, frame.to_csv(index=False))
    if args.markdown:
        write_text(args.markdown, to_markdown(frame, model_id))
    with pd.option_context("display.width", 200, "display.max_columns", 20,
                           "display.max_colwidth", 40):
        print(frame.drop(columns=["note"]).to_string(index=False))
    total = totals(frame)
    print(f"\n{model_id}: {total['params']:,} parameters, {total['macs'] / 1e9:.3f} G multiply-adds "
          f"at {args.input_size}x{args.input_size}")
    for layer, note in zip(frame["layer"], frame["note"]):
        if note:
            print(f"note ({layer}): {note}")
    return 0
