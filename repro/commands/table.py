"""Render one of the paper's tables to CSV and Markdown.

Table 1 is computed from the network (see also `repro arch`). Tables 2 and 3 are the paper's printed
values, or, with --store, our measured rows beside them (derived from the probability store, no
network is run), plus the top-5-vs-cost plot, the crop-count and ensemble-size curves and the
max-over-crops ablation. Tables 4-5 are the paper's values.

Examples:
  repro table 1 --out results/
  repro table 3 --store stores/mini --out results/ --dataset-name "mini-ILSVRC (synthetic)"
"""
from __future__ import annotations

NAME = "table"
HELP = "write one of the paper's Tables 1-5 (CSV + Markdown); Table 3 from a store with --store"

FILE_NAMES = {1: "table1_architecture", 2: "table2_classification_ilsvrc",
              3: "table3_classification", 4: "table4_detection", 5: "table5_detection_single"}


def configure(parser) -> None:
    parser.add_argument("number", type=int, choices=sorted(FILE_NAMES), help="table number")
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--variant", choices=("paper", "gluoncv"), default="paper",
                        help="Table 1 only: which network to count (default: %(default)s)")
    parser.add_argument("--store", help="Tables 2-3: probability store with the measured results")
    parser.add_argument("--models", help="Tables 2-3: comma-separated member keys, in order "
                                         "(default: every model in the store)")
    parser.add_argument("--combine", choices=("mean", "max-mean"), default="mean",
                        help="ensemble rule (default: the paper's mean)")
    parser.add_argument("--dataset-name", default="the evaluated dataset",
                        help="how tables name the data the store was evaluated on")
    parser.add_argument("--note", action="append", default=[],
                        help="a note printed under the measured tables (repeatable)")


def run(args) -> int:
    from pathlib import Path

    from repro.atomic import write_text
    from repro.errors import ReproError

    out = Path(args.out)
    if args.number == 1:
        from protocols.architecture import VARIANTS, table1, to_markdown
        model_id = VARIANTS[args.variant]
        frame = table1(model_id)
        markdown = to_markdown(frame, model_id)
        stem = FILE_NAMES[1] + ("" if args.variant == "paper" else f"_{args.variant}")
    elif args.store:
        if args.number not in (2, 3):
            raise ReproError("--store gives measured rows for Tables 2 and 3 only")
        return _measured(args, out)
    else:
        from protocols.tables import paper_table, paper_table_markdown
        frame, markdown = paper_table(args.number), paper_table_markdown(args.number)
        stem = FILE_NAMES[args.number] + "_paper"
    write_text(out / f"{stem}.csv", frame.to_csv(index=False))
    write_text(out / f"{stem}.md", markdown)
    print(f"wrote {out / stem}.csv and .md")
    return 0


def _measured(args, out) -> int:
    import pandas as pd

    from protocols import paper
    from protocols.classification import (crop_curve, ensemble_size_curve, table2, table3,
                                          table3_markdown)
    from protocols.ensemble import open_members
    from repro.atomic import write_text
    from repro.report import plots

    members = open_members(args.store, args.models.split(",") if args.models else None)
    spec = members.stores[0].spec
    notes = list(args.note) + [paper.PROTOCOL_NOTES["10-crop"]]
    if spec.crop_size != 224:
        notes.append(f"crops are {spec.crop_size}px ({spec.scheme_id}); the paper's are 224px")
    frame = table3(members, args.combine)
    write_text(out / "table3_classification.csv", frame.to_csv(index=False))
    write_text(out / "table3_classification.md", table3_markdown(frame, args.dataset_name, notes))
    t2 = table2(frame, "this reproduction", args.dataset_name)
    write_text(out / "table2_classification_ilsvrc.csv", t2.to_csv(index=False))
    write_text(out / "table2_classification_ilsvrc.md",
               "# Table 2 — ILSVRC classification (top-5 error), with this run's best row\n\n"
               + t2.to_markdown(index=False) + "\n\nThe last row is measured on "
               + f"{args.dataset_name}; the others are the paper's, on ILSVRC 2012 test/val.\n"
               + "".join(f"- {n}\n" for n in notes))
    paper_points = paper.TABLE3.assign(top5_err=paper.TABLE3["top5_err_pct"] / 100)
    plots.error_vs_cost(frame, paper_points, out / "fig_top5_vs_cost", f"ours ({args.dataset_name})")
    curve = crop_curve(members, args.combine)
    plots.curve(curve, "crops", out / "fig_error_vs_crops", "Error vs crops (scale order)", "crops")
    if len(members.stores) > 1:
        sizes = ensemble_size_curve(members, max(curve["crops"]), args.combine)
        plots.curve(sizes, "models", out / "fig_error_vs_models", "Error vs ensemble size",
                    "models", group="crops")
    ablation = pd.concat([table3(members, rule).assign(rule=rule) for rule in ("mean", "max-mean")])
    ablation = ablation[ablation["crops"] > 1][["rule", "models", "crops", "top5_err", "top1_err"]]
    write_text(out / "ablation_mean_vs_max.csv", ablation.to_csv(index=False))
    print(frame[["models", "crops", "cost", "top5_err", "top1_err", "paper_top5_err",
                 "n_evaluated"]].to_string(index=False))
    print(f"wrote Tables 2-3, plots and the mean-vs-max ablation to {out}")
    return 0
