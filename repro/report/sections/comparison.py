"""Runs side by side (--compare): what differs between them, per-metric differences, paired tests."""
from __future__ import annotations

import pandas as pd

from protocols.tables import paper_table
from repro.report import figures_extra
from repro.report.cells import MISSING, CsvCells, render
from repro.report.context import ReportContext
from repro.report.document import Block, Cell, Paragraph, Section, Table
from repro.report.inputs import RunInputs, StoreInfo
from repro.report.paired import paired_p, row_correctness
from repro.results_schema import TABLE3

METRICS = (("top5", "top5_err", "top-5 error"), ("top1", "top1_err", "top-1 error"))
#: Manifest fields shown by _facts under their own names, or not worth a row (hashes, long notes).
SHOWN_OR_SKIPPED = {"created_utc", "git_commit", "interpolation", "content_sha256", "scheme_note",
                    "scheme_deviation", "n_images", "n_evaluated", "n_missed"}


def _stores(ctx: ReportContext, run: RunInputs) -> tuple[StoreInfo, ...]:
    facts = ctx.classification(run)
    return facts.members if facts is not None and facts.members else run.stores


def _joined(values) -> str:
    found = sorted({str(v) for v in values if v not in (None, "")})
    return "; ".join(found) if found else MISSING


def _facts(ctx: ReportContext, run: RunInputs) -> dict[str, str]:
    facts = ctx.classification(run)
    stores = _stores(ctx, run)
    manifests = [s.manifest for s in stores]
    found = {
        "data": facts.data.name if facts else MISSING,
        "models": _joined(f"{s.spec['model_id']} x{float(s.spec['width']):g}, {s.spec['classes']} "
                          f"classes" for s in stores),
        "members": str(len(facts.members)) if facts and facts.members else MISSING,
        "weights (sha256, member order)": "; ".join(s.spec["weights_sha256"][:16] for s in stores)
                                          or MISSING,
        "crop scheme": _joined(f"{s.spec['scheme_id']} v{s.spec['scheme_version']}" for s in stores),
        "combine rule": facts.rule if facts else MISSING,
        "device": _joined(", ".join(m.get("device", [])) for m in manifests),
        "interpolation": _joined(m.get("interpolation") for m in manifests),
        "git commit": _joined(m.get("git_commit") for m in manifests),
        "machine": _joined(f"{m['machine']['platform']}, {m['machine']['processor']}, "
                           f"{m['machine']['cpu_count']} cores" for m in manifests if "machine" in m),
        "evaluated (UTC)": _joined(m.get("created_utc") for m in manifests),
    }
    for manifest in manifests:
        for library, version in manifest.get("libraries", {}).items():
            found.setdefault(f"library {library}", set()).add(version)
        for key, value in manifest.items():  # e.g. a precision or batch setting added later
            if key not in SHOWN_OR_SKIPPED and isinstance(value, (str, int, float, bool)):
                found.setdefault(key, set()).add(value)
    return {k: _joined(v) if isinstance(v, set) else v for k, v in found.items()}


def _differences(ctx: ReportContext) -> Table:
    facts = [_facts(ctx, run) for run in ctx.runs]
    names = list(dict.fromkeys(k for f in facts for k in f))
    rows = []
    for name in names:
        values = [f.get(name, MISSING) for f in facts]
        rows.append(tuple(Cell(v) for v in [name, *values, "yes" if len(set(values)) > 1 else ""]))
    return Table("compare_setup", "What the runs were made with",
                 ("", *(r.label for r in ctx.runs), "differs"), tuple(rows),
                 ("From the stores' specs and manifests of each run's Table 3 members.",))


def _row_key(row: pd.Series) -> tuple[bool, int]:
    return int(row["models"]) > 1, int(row["crops"])


def _table3(ctx: ReportContext) -> list[Block]:
    runs = [r for r in ctx.runs if ctx.classification(r) is not None]
    if ctx.main not in runs or len(runs) < 2:
        return [Paragraph("Table 3 side by side: needs a measured Table 3 in the main run and in "
                          "at least one compared run.", "absent")]
    main_frame = ctx.main.tables["table3"]
    others = runs[1:]
    correctness = {}  # (run label, row key) -> RowCorrectness | reason
    for run in runs:
        frame = run.tables["table3"]
        for i in range(len(frame)):
            correctness[run.label, _row_key(frame.iloc[i])] = row_correctness(
                ctx.classification(run), frame.iloc[i])
    blocks: list[Block] = []
    for metric, column, title in METRICS:
        header = ["row", ctx.main.label]
        for run in others:
            header += [run.label, f"{run.label} - {ctx.main.label}", f"p ({run.label}, paired)"]
        rows = []
        main_cells = CsvCells(ctx.main.label, TABLE3.file, main_frame, TABLE3)
        for i in range(len(main_frame)):
            key = _row_key(main_frame.iloc[i])
            label = f"{'all members' if key[0] else '1 model'} x {key[1]} crop" + \
                ("s" if key[1] > 1 else "")
            cells = [Cell(label), main_cells.value(i, column, "pct")]
            for run in others:
                frame = run.tables["table3"]
                match = [j for j in range(len(frame)) if _row_key(frame.iloc[j]) == key]
                if not match:
                    cells += [Cell(MISSING)] * 3
                    continue
                j = match[0]
                other = CsvCells(run.label, TABLE3.file, frame, TABLE3)
                delta = float(frame[column].iloc[j]) - float(main_frame[column].iloc[i])
                cells += [other.value(j, column, "pct"), Cell(render(delta, "pp")),
                          Cell(paired_p(correctness[ctx.main.label, key],
                                        correctness[run.label, key], metric))]
            rows.append(tuple(cells))
        blocks.append(Table(f"compare_{metric}", f"Table 3 rows side by side — {title}",
                            tuple(header), tuple(rows),
                            ("Differences in percentage points; p: exact McNemar test on the same "
                             "images, per-image correctness recomputed from each run's stores "
                             "(paired only when both runs' stores share the dataset index). "
                             "'all members' rows may have different member counts per run "
                             "(see 'members' above).",)))
    return blocks


def _detection(ctx: ReportContext) -> list[Block]:
    rows = []
    main_maps = {ctx.main.rel(r.csv): float(r.frame["ap"].mean()) for r in ctx.main.det_evals}
    for run in ctx.runs:
        for result in run.det_evals:
            source = run.rel(result.csv)
            value = float(result.frame["ap"].mean())
            base = main_maps.get(source)
            rows.append((Cell(run.label), Cell(source), Cell(render(value, "pct")),
                         Cell(MISSING if base is None or run is ctx.main else
                              render(value - base, "pp")), Cell(ctx.detection_data(result).name)))
    if not rows:
        return [Paragraph("Detection side by side: no `repro det-eval` result in any run.", "absent")]
    return [Table("compare_detection", "Detection mAP per run", ("run", "file", "mAP",
                                                                 "vs main run", "data"), tuple(rows),
                  ("mAP over the classes with positives. AP is not a per-image statistic, so no "
                   "paired test is made; differences are descriptive.",))]


def section(ctx: ReportContext) -> Section | None:
    """The comparison of the runs (None with a single run)."""
    if len(ctx.runs) < 2:
        return None
    blocks: list[Block] = [
        Paragraph("Main run: " + f"{ctx.main.label} ({ctx.main.root}); compared: "
                  + "; ".join(f"{r.label} ({r.root})" for r in ctx.runs[1:]) + "."),
        _differences(ctx), *_table3(ctx), *_detection(ctx)]
    measured = {r.label: r.tables["table3"] for r in ctx.runs if "table3" in r.tables}
    if measured:
        stem = ctx.figure_stem(ctx.main, "fig_compare_top5_vs_cost")
        figures_extra.runs_vs_cost(measured, paper_table(3), stem)
        blocks.append(ctx.figure("fig_compare_top5_vs_cost", "Top-5 error against cost for every "
                                 "run and the paper's Table 3 (7 models).", stem.with_suffix(".png")))
    return Section("comparison", "Runs compared", tuple(blocks))
