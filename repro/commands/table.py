"""Render one of the paper's tables to CSV and Markdown.

Table 1 is computed from the network (see also `repro arch`); Tables 2-5 are the paper's printed
values until measured results are given.

Examples:
  repro table 1 --out results/
  repro table 3 --out results/
"""
from __future__ import annotations

NAME = "table"
HELP = "write one of the paper's Tables 1-5 (CSV + Markdown)"

FILE_NAMES = {1: "table1_architecture", 2: "table2_classification_ilsvrc",
              3: "table3_classification", 4: "table4_detection", 5: "table5_detection_single"}


def configure(parser) -> None:
    parser.add_argument("number", type=int, choices=sorted(FILE_NAMES), help="table number")
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--variant", choices=("paper", "gluoncv"), default="paper",
                        help="Table 1 only: which network to count (default: %(default)s)")


def run(args) -> int:
    from pathlib import Path

    from repro.atomic import write_text

    out = Path(args.out)
    if args.number == 1:
        from protocols.architecture import VARIANTS, table1, to_markdown
        model_id = VARIANTS[args.variant]
        frame = table1(model_id)
        markdown = to_markdown(frame, model_id)
        stem = FILE_NAMES[1] + ("" if args.variant == "paper" else f"_{args.variant}")
    else:
        from protocols.tables import paper_table, paper_table_markdown
        frame, markdown = paper_table(args.number), paper_table_markdown(args.number)
        stem = FILE_NAMES[args.number] + "_paper"
    write_text(out / f"{stem}.csv", frame.to_csv(index=False))
    write_text(out / f"{stem}.md", markdown)
    print(f"wrote {out / stem}.csv and .md")
    return 0
