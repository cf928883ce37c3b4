"""Throughput from `repro bench` (results/bench): the machine, the bare network, the engine end to end,
memory, the peers, precision agreement and the targets, with the benchmark's own plot; and what the
full Table 3 would take on N such machines (:mod:`repro.report.full_run`)."""
from __future__ import annotations

from repro import results_schema as schema
from repro.report import full_run
from repro.report.cells import MISSING, CsvCells, render
from repro.report.context import ReportContext
from repro.report.document import Block, Paragraph, Section
from repro.report.inputs import RunInputs
from repro.report.tables import Column, csv_table, frame_table, interval, value

MODEL = (value("model", "model"), value("backend", "backend"), value("precision", "precision"))
#: (artefact, caption, columns, which rows: "all" or a function of the frame, note)
TABLES = (
    (schema.BENCH_BARE, "Bare network: crops/s at the best batch size of each model and backend",
     (*MODEL, value("batch", "batch"), value("crops/s", "crops_per_s"),
      interval("min-max", "crops_per_s_min", "crops_per_s_max"), value("GFLOP/s", "gflops"),
      value("of fp32 peak", "peak_fraction")),
     lambda f: f.groupby(["model", "backend"], sort=False)["crops_per_s"].idxmax().tolist(),
     "Synthetic crops straight into the network; GFLOP/s = crops/s x 2 x counted multiply-adds. "
     "Every batch size is in the CSV."),
    (schema.BENCH_END_TO_END, "End to end: images/s of `repro evaluate` (decode, crop, forward, "
     "softmax, store) against the bare-network bound",
     (*MODEL, value("crops", "crops_per_image"), value("images", "images"),
      value("images/s", "images_per_s"), interval("min-max", "images_per_s_min", "images_per_s_max"),
      value("bare bound images/s", "bound_images_per_s"), value("of bound", "bound_fraction")),
     None, "Bound: the best bare crops/s of the same model and backend divided by crops per image."),
    (schema.BENCH_PEERS, "Single crop: ours and the peers on the same images in the same run",
     (value("peer", "peer"), value("model", "model"), value("images/s", "images_per_s"),
      interval("min-max", "images_per_s_min", "images_per_s_max"),
      value("ours / peer", "ours_over_peer"), value("how", "note")), None,
     "ours / peer: our best fp32 single-crop rate over the peer's."),
    (schema.BENCH_MEMORY, "Peak RSS of a 144-crop `repro evaluate` (its own process)",
     (*MODEL, value("images", "images"), value("peak RSS MB", "peak_rss_mb"),
      value("process s", "process_seconds")), None,
     "Every backend at n images, the first also at 2n and 4n; the targets below judge whether it "
     "stays flat."),
    (schema.BENCH_AGREEMENT, "Precision modes against fp32 (the trained members' ensemble)",
     (value("backend", "backend"), value("crops", "crops"), value("images", "images"),
      value("top-1 agreement", "top1_agreement"), value("top-5 agreement", "top5_agreement"),
      value("top-1 error change", "top1_err_diff"), value("top-5 error change", "top5_err_diff")),
     lambda f: f.index[f["member"] == "ensemble"].tolist(),
     "Agreement: share of images with the same top-k answer; changes in percentage points. Per "
     "member in the CSV."),
    (schema.BENCH_TARGETS, "Performance targets", (
        value("target", "target"), value("model", "model"), value("measured", "measured"),
        value("required", "required"), value("met", "met"), value("detail", "detail")), None, ""),
)


def _machine(run: RunInputs) -> Paragraph:
    machine, record = run.bench.machine, run.bench.manifest
    if not machine:
        return Paragraph(f"No {schema.BENCH_MACHINE.file}: the machine of these numbers is unknown.",
                         "absent")
    method = machine.get("method", "method not recorded")
    peak = (f"measured fp32 peak {render(machine['peak_gflops'], 'number')} GFLOP/s ({method})"
            if machine.get("peak_gflops") else f"fp32 peak: {method}")
    run_line = (f" Run {record.get('created_utc', MISSING)}, commit {record.get('git_commit', MISSING)}, "
                f"`{record.get('command') or MISSING}`; threads: {record.get('threads', MISSING)}."
                if record else f" No {schema.BENCH_MANIFEST.file}: the run's provenance is unknown.")
    return Paragraph(f"Measured by `repro bench` on {machine.get('cpu', MISSING)}, "
                     f"{machine.get('physical_cores', MISSING)} physical cores "
                     f"({machine.get('logical_cpus', MISSING)} logical), {machine.get('simd', MISSING)}; "
                     f"{peak}. Rates are medians of repeated timed runs after warm-up; each CSV row has "
                     f"the load average at its start (`load`): other work on the machine lowers the "
                     f"rates.{run_line}")


def _table(run: RunInputs, artefact: schema.Artefact, caption: str, columns: tuple[Column, ...],
           rows, note: str) -> Block:
    frame = run.bench.tables.get(artefact.id)
    if frame is None or frame.empty:
        return Paragraph(f"{caption}: not measured in this run ({artefact.file} "
                         f"{'is empty' if frame is not None else 'is absent'}).", "absent")
    frame = frame.reset_index(drop=True)
    chosen = rows(frame) if rows is not None else None
    return csv_table(artefact.id, caption, CsvCells(run.label, artefact.file, frame, artefact), columns,
                     chosen, [n for n in (note, f"Written by `{artefact.command}`.") if n])


def _full_run(run: RunInputs) -> Block:
    """The full Table 3 projected from this machine's measured crops/s, per backend."""
    rates = full_run.backend_rates(run.bench.tables)
    if rates.empty:
        return Paragraph(f"Full Table 3 on N machines: not projected ({full_run.MODEL} was not "
                         f"benchmarked in this run).", "absent")
    merge = full_run.merge_seconds(run.root)
    machine = run.bench.machine
    where = (f"{machine.get('cpu', MISSING)} ({machine.get('logical_cpus', MISSING)} CPUs)"
             if machine else "the benchmark's machine")
    size = run.bench.manifest.get("config", {}).get("input_size", MISSING)
    notes = full_run.projection_notes(merge, where)
    if size != 224:
        notes.append(f"The benchmark ran {full_run.MODEL} at {size} px, not the paper's 224 px: these "
                     f"hours are not those of the full run (rerun `{schema.BENCH_BARE.command}`).")
    columns = {"backend": ("backend", "text"), "precision": ("precision", "text"),
               "crops_per_s": ("crops/s", "number"), "basis": ("rate measured", "text"),
               **{f"hours_{n}": (f"hours on {n}", "number") for n in full_run.MACHINES}}
    return frame_table("full_table3", f"Full Table 3 ({full_run.FULL_FORWARDS / 1e6:.1f} M forwards of "
                       f"{full_run.MODEL}, measured at {size} px) projected onto N machines like this one",
                       full_run.projection(rates, merge), columns, notes)


def section(ctx: ReportContext) -> Section:
    """Throughput: what `repro bench` measured on this run's machine (absent without results/bench)."""
    run = ctx.main
    if run.bench is None:
        return Section("throughput", "Throughput", (Paragraph(
            f"Not measured in this run: no benchmark in {run.root / 'bench'} (no "
            f"{schema.BENCH_BARE.basename}; make it with `{schema.BENCH_BARE.command}`).", "absent"),))
    blocks: list[Block] = [_machine(run)]
    if run.bench.plot is not None:
        png = ctx.copy_figure(run, run.bench.plot)
        blocks.append(ctx.figure("fig_bench", "Benchmark: bare-network crops/s by batch size (left), "
                                 "end to end as a share of the bare bound (middle), single-crop "
                                 "images/s of ours and the peers (right).", png))
    blocks += [_table(run, *spec) for spec in TABLES]
    blocks.append(_full_run(run))
    return Section("throughput", "Throughput", tuple(blocks))

