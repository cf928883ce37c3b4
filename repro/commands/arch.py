"""Table 1 from the code: output shape, parameters and multiply-adds per row, beside the paper's.

Examples:
  repro arch --variant paper --csv t1.csv
  repro arch --variant gluoncv --markdown t1_gluoncv.md
"""
from __future__ import annotations

NAME = "arch"
HELP = "reproduce Table 1 (shapes, parameters, multiply-adds) from the Gluon graph"


def configure(parser) -> None:
    from repro.commands._types import output_file, positive_int

    parser.add_argument("--variant", choices=("paper", "gluoncv"), default="paper",
                        help="paper = googlenet-paper (Table 1 as printed); gluoncv = GluonCV's "
                             "googlenet (default: %(default)s)")
    parser.add_argument("--input-size", type=positive_int, default=224, help="square input side (default 224)")
    parser.add_argument("--csv", type=output_file, help="write the rows as CSV to this path")
    parser.add_argument("--markdown", type=output_file, help="write the table as Markdown to this path")


def run(args) -> int:
    from repro.tables import write_table

    print(write_table("1", variant=args.variant, input_size=args.input_size, csv=args.csv,
                      markdown=args.markdown).summary)
    return 0
