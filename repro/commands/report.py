"""Build the comparison report (HTML + Markdown) from results directories: paper vs reproduction,
run vs run. Reads the CSV tables, stores and manifests only; never runs a network.

Stores, det-eval results (X.csv + X.csv.manifest.json), training logs (log.csv of `repro train`) and the files
`repro bench` writes (bench/, as declared in repro/results_schema.py) are found anywhere under each results directory (links followed). Pass the
dataset roots with --data so the report can say which numbers come from synthetic data.

Examples:
  repro report --results results --out results/report --data data/mini
  repro report --results runs/fp32 --compare runs/bf16 --label fp32 --label bf16 --out cmp
"""
from __future__ import annotations

NAME = "report"
HELP = "build the HTML + Markdown report (Tables 1-5 vs the paper, plots, provenance, --compare runs)"


def configure(parser) -> None:
    from repro.commands._types import existing_dir, output_dir, text

    parser.add_argument("--results", required=True, type=existing_dir, metavar="DIR", help="the main run's results")
    parser.add_argument("--compare", type=existing_dir, action="append", default=[], metavar="DIR",
                        help="another run's results to set beside it (repeatable)")
    parser.add_argument("--out", required=True, type=output_dir, metavar="DIR",
                        help="output directory (report.html, report.md, figures/)")
    parser.add_argument("--label", type=text, action="append", default=[],
                        help="run names, in the order --results, --compare ... (default: the "
                             "directory names)")
    parser.add_argument("--data", type=existing_dir, action="append", default=[], metavar="ROOT",
                        help="a dataset root the runs were evaluated on (repeatable), to identify "
                             "their data (e.g. the mini-ILSVRC: synthetic)")
    parser.add_argument("--inputs", type=existing_dir, action="append", default=[], metavar="DIR",
                        help="more directories with the main run's stores, det-eval results and "
                             "training logs (e.g. the cache where `nox -s reproduce` keeps them)")


def run(args) -> int:
    from repro.report.build import build_report

    written = build_report(args.results, args.out, args.compare, args.label, args.data,
                           args.inputs)
    report = written.report
    print(f"wrote {written.html} and {written.markdown}: {len(report.sections)} sections, "
          f"{len(report.tables())} tables, {len(report.figures())} figures")
    return 0
