"""Provenance of every run: models and weights hashes, data, devices, times, libraries, input files."""
from __future__ import annotations

from repro.provenance import sha256_file
from repro.report.cells import MISSING, render
from repro.report.context import FIGURE_FORMATS, ReportContext
from repro.report.deviations import weights_source
from repro.report.document import Block, Bullets, Cell, Paragraph, Section, Table
from repro.report.inputs import DET_EVAL_MANIFEST_SUFFIX, DetEvalInfo, RunInputs
from repro.results_schema import get


def _stores(ctx: ReportContext, run: RunInputs) -> list[Table]:
    summary, hashes = [], []
    for store in run.stores:
        spec, manifest = store.spec, store.manifest
        summary.append(tuple(Cell(str(v)) for v in (
            store.key, f"{spec['model_id']} x{float(spec['width']):g}, {spec['classes']} classes",
            weights_source(spec),
            f"{spec['scheme_id']} v{spec['scheme_version']} ({spec['n_crops']} crops of "
            f"{spec['crop_size']} px)",
            f"{manifest.get('n_evaluated', MISSING)} of {spec['n_images']}",
            ", ".join(manifest.get("device", [])) or MISSING,
            manifest.get("created_utc", "incomplete: no manifest"),
            render(manifest.get("wall_seconds_last_run"), "number"), run.rel(store.root))))
        hashes.append(tuple(Cell(v) for v in (store.key, spec["weights_sha256"],
                                              manifest.get("content_sha256", MISSING))))
    slug = ctx.slug(run)
    return [Table(f"provenance_stores_{slug}", f"Probability stores of {run.label}",
                  ("model key", "model", "weights", "crop scheme", "images", "device",
                   "evaluated (UTC)", "wall s (last run)", "store"), tuple(summary)),
            Table(f"provenance_hashes_{slug}", f"Hashes of {run.label}'s stores",
                  ("model key", "weights sha256", "store content sha256"), tuple(hashes),
                  ("Weights sha256 is over the parameter values (names and bytes), whatever file "
                   "they came from; the content hash covers the store's spec and every chunk.",))]


def _software(ctx: ReportContext, run: RunInputs) -> Table:
    versions: dict[str, set[str]] = {}
    for store in run.stores:
        for library, version in store.manifest.get("libraries", {}).items():
            versions.setdefault(library, set()).add(version)
        versions.setdefault("git commit", set()).add(store.manifest.get("git_commit", MISSING))
    rows = tuple((Cell(name), Cell(", ".join(sorted(v))), Cell("yes" if len(v) > 1 else ""))
                 for name, v in sorted(versions.items()))
    return Table(f"provenance_software_{ctx.slug(run)}", f"Software of {run.label}'s stores",
                 ("library", "version", "differs between stores"), rows)


def _data(ctx: ReportContext, run: RunInputs) -> Bullets:
    items = []
    for root in sorted({s.root for s in run.stores}):
        identity = ctx.store_data(root)
        digests = sorted({s.spec["index_sha256"] for s in run.stores if s.root == root})
        items.append(f"{run.rel(root)}: classification index sha256 {', '.join(digests)}: "
                     f"{identity.name} — {identity.how}.")
    for result in run.det_evals:
        identity = ctx.detection_data(result)
        items.append(f"detection eval list sha256 {result.manifest.get('eval_list_sha256')} "
                     f"({run.rel(result.csv)}): {identity.name} — {identity.how}.")
    return Bullets(tuple(items))


def _detection(ctx: ReportContext, run: RunInputs, result: DetEvalInfo) -> Table:
    record = result.manifest
    fields = (("mAP (manifest)", render(record.get("map"), "pct")),
              ("classes with positives", record.get("n_classes_defined")),
              ("images", record.get("n_images")), ("detections", record.get("n_detections")),
              ("submission sha256", record.get("submission_sha256")),
              ("eval list sha256", record.get("eval_list_sha256")),
              ("meta sha256", record.get("meta_sha256")), ("scored (UTC)", record.get("created_utc")),
              ("git commit", record.get("git_commit")))
    source = run.rel(result.csv)
    return Table(f"provenance_detection_{ctx.slug(run)}_{result.csv.stem}",
                 f"Detection scoring of {run.label}: {source}", ("", "value"),
                 tuple((Cell(name), Cell(MISSING if v is None else str(v))) for name, v in fields))


def _input_files(ctx: ReportContext, run: RunInputs) -> Table:
    paths = [get(name).path(run.root) for name in sorted(run.tables)]
    for png in run.figures.values():
        paths += [png.with_suffix(s) for s in FIGURE_FORMATS if png.with_suffix(s).is_file()]
    for result in run.det_evals:
        paths += [result.csv, result.csv.with_name(result.csv.name + DET_EVAL_MANIFEST_SUFFIX)]
    for log in run.training:
        paths += [p for p in (log.csv, log.csv.with_name("manifest.json")) if p.is_file()]
    paths += run.bench.paths(run.root) if run.bench else []
    rows = tuple((Cell(run.rel(p)), Cell(sha256_file(p))) for p in sorted(set(paths)))
    return Table(f"provenance_files_{ctx.slug(run)}", f"Files of {run.label} this report was built from",
                 ("file", "sha256"), rows)


def section(ctx: ReportContext) -> Section:
    """Provenance of every run."""
    blocks: list[Block] = []
    for run in ctx.runs:
        blocks.append(Paragraph(f"Run {run.label}: results directory {run.root}."))
        if run.stores or run.det_evals:
            blocks.append(_data(ctx, run))
        if run.stores:
            blocks += [*_stores(ctx, run), _software(ctx, run)]
        else:
            blocks.append(Paragraph(f"No probability store under {run.root}: the models, weights "
                                    "and data of its tables cannot be shown.", "absent"))
        blocks += [_detection(ctx, run, result) for result in run.det_evals]
        blocks.append(_input_files(ctx, run))
    return Section("provenance", "Provenance", tuple(blocks))
