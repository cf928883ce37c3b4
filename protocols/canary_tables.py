"""The canary's table from its stores: per image set and crop count, top-1 and top-5 error with exact
intervals, McNemar's test against 1 crop, the published single-crop figures beside them. Registered as
table ``canary`` of :data:`repro.tables.TABLES` (`repro table canary --store ROOT --out results`).

``ROOT`` holds one store per image set of :data:`protocols.canary.CANARY`, named by its id
(``ROOT/samples``, ``ROOT/val``); a set without its store is reported as not measured, not guessed.
Every number comes from :mod:`repro.engine.derive` over :mod:`repro.engine.members`; no network runs.
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from protocols.canary import CANARY, CanaryProtocol, ImageSet
from repro import results_schema as schema
from repro.atomic import write_text
from repro.errors import ReproError
from repro.report.tables import artefact_markdown, difference, interval, value
from repro.tables import TABLES, TableOutput, TableWriter

RULE = "mean"  # one model: mean over crops, the harness's multi-crop rule
MARKDOWN = (
    value("image set", "image_set"), value("crops", "crops"), value("images", "images"),
    value("top-1 error", "top1_err"), interval("95% CI", "top1_ci_low", "top1_ci_high"),
    value("published top-1 (Google)", "google_top1_err"), value("published top-1 (timm)", "timm_top1_err"),
    difference("measured - timm", "top1_err", "timm_top1_err"),
    value("top-5 error", "top5_err"), interval("top-5 95% CI", "top5_ci_low", "top5_ci_high"),
    value("published top-5 (timm)", "timm_top5_err"),
    value("p top-1 vs 1 crop", "p_top1_vs_1crop"), value("p top-5 vs 1 crop", "p_top5_vs_1crop"),
    value("pass wall s", "wall_seconds"),
)


def _wall_seconds(manifest: Path) -> float | None:
    """Wall time of the evaluation passes that wrote a store (its manifest), None when incomplete."""
    if not manifest.is_file():
        return None
    return json.loads(manifest.read_text()).get("wall_seconds_all_runs")


def set_rows(protocol: CanaryProtocol, image_set: ImageSet, store: Path) -> list[dict]:
    """The rows of one image set from its store ``store``: one per crop count of the set the store
    holds (a 10-crop pass holds 1 and 10; a 1-crop pass only 1)."""
    from repro.engine.derive import correct, error_row, stored_crop_counts  # scipy: when the table is made
    from repro.engine.members import open_members
    from repro.metrics.classification import mcnemar

    members = open_members(store, [protocol.model_key])
    spec = members.stores[0].spec
    held = stored_crop_counts(members, RULE)
    base_top1, base_top5 = correct(members, 1, 1, RULE)
    rows = []
    for crops in (c for c in image_set.crops if c in held):
        row, _ = error_row(members, 1, crops, RULE)
        top1, top5 = correct(members, 1, crops, RULE)
        rows.append({
            "image_set": image_set.id, "title": image_set.title, "crops": crops,
            "images": row["n_images"], "n_evaluated": row["n_evaluated"],
            **{key: row[key] for key in ("top1_err", "top1_ci_low", "top1_ci_high", "top5_err",
                                         "top5_ci_low", "top5_ci_high")},
            "p_top1_vs_1crop": mcnemar(base_top1, top1)["p_value"] if crops > 1 else None,
            "p_top5_vs_1crop": mcnemar(base_top5, top5)["p_value"] if crops > 1 else None,
            "google_top1_err": protocol.google.top1_err, "timm_top1_err": protocol.timm.top1_err,
            "timm_top5_err": protocol.timm.top5_err, "model": spec.model_ref, "backend": spec.backend,
            "wall_seconds": _wall_seconds(members.stores[0].manifest_path())})
    return rows


def not_measured(frame: pd.DataFrame, protocol: CanaryProtocol = CANARY) -> list[str]:
    """What the protocol reports that ``frame`` lacks: image sets without a store, crop counts a
    set's store does not hold."""
    missing = []
    for image_set in protocol.image_sets:
        have = set(frame.loc[frame["image_set"] == image_set.id, "crops"].astype(int))
        if not have:
            missing.append(f"`{image_set.id}` ({image_set.title}): not measured in this run (no store)")
        elif set(image_set.crops) - have:
            counts = ", ".join(str(c) for c in image_set.crops if c not in have)
            missing.append(f"`{image_set.id}`: {counts} crops not measured (its store is a "
                           f"{max(have)}-crop pass)")
    return missing


def canary_frame(store_root: Path, protocol: CanaryProtocol = CANARY) -> pd.DataFrame:
    """The canary table from the stores under ``store_root`` (``ROOT/<image set id>``)."""
    rows = []
    for image_set in protocol.image_sets:
        store = Path(store_root) / image_set.id
        if (store / "index.csv").is_file():
            rows += set_rows(protocol, image_set, store)
    if not rows:
        raise ReproError(f"no canary store under {store_root}: expected "
                         f"{', '.join(str(Path(store_root) / s.id) for s in protocol.image_sets)} "
                         f"(made by `nox -s canary`)")
    return schema.frame_of(schema.CANARY, rows)


def canary_markdown(frame: pd.DataFrame, protocol: CanaryProtocol = CANARY) -> str:
    """The Markdown beside the CSV: the table, the published figures, the image sets, the caveat."""
    lines = [f"# The accuracy canary — {protocol.model_title} on real images", "",
             f"**{protocol.caveat}**", "",
             artefact_markdown(schema.CANARY, frame, MARKDOWN), "",
             "Rates are percentages; brackets are exact (Clopper-Pearson) 95% intervals; p: exact "
             "two-sided McNemar test of the row's correctness against 1 crop on the same images. "
             f"Model `{protocol.model_ref}`, backend `{protocol.backend}`; pass wall s: the one "
             "evaluation pass of the set's store (all its crop counts), on a shared machine.", "",
             "Published single-crop figures (ILSVRC2012 val, 50,000 images), as errors:", ""]
    lines += [f"- {p.source}: top-1 {100 * p.top1_err:.2f}%"
              + (f", top-5 {100 * p.top5_err:.2f}%" if p.top5_err is not None else ", no top-5 reported")
              + f" ({p.reference})" for p in protocol.published]
    lines += ["", "Image sets:", ""]
    lines += [f"- `{s.id}`: {s.title}, {s.images} images of {s.classes} classes "
              f"(../shared/data/{'/'.join(s.folder)}), labelled by {s.labels}; {s.caveat}"
              for s in protocol.image_sets]
    lines += [f"- {line}" for line in not_measured(frame, protocol)]
    return "\n".join(lines) + "\n"


def write_canary(out: Path, store: Path | None = None) -> TableOutput:
    """results/canary/canary.csv and its Markdown from the canary's stores under ``store``."""
    if store is None:
        raise ReproError("table canary needs --store ROOT: the folder holding the canary's stores "
                         "(ROOT/samples, ROOT/val; `nox -s canary` makes them)")
    frame = canary_frame(Path(store))
    out = Path(out)
    paths = (schema.write_frame(schema.CANARY, frame, out),
             write_text(schema.CANARY.markdown_path(out), canary_markdown(frame)))
    shown = frame[["image_set", "crops", "images", "top1_err", "top5_err", "p_top1_vs_1crop",
                   "p_top5_vs_1crop"]].to_string(index=False)
    return TableOutput(paths, f"{shown}\nwrote {', '.join(map(str, paths))}")


TABLES.register("canary", TableWriter(
    "canary", "the accuracy canary (EfficientNet-Lite0 on real images) from its stores, with --store",
    write_canary, ("out", "store")))
