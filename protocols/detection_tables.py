"""Tables 4 and 5, the proposal table and the per-class AP plot, from a run's ``detection_results.json``.

Our rows sit beside the paper's (``source`` column) and every file carries the data caveat: the
mini-ILSVRC is synthetic, and even real runs score val2 (R-CNN's half of DET val), not the test set of
the paper's tables. Registered as table ``detection`` (`repro detect tables`).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from protocols import paper
from protocols.detection import DEVIATIONS, PAPER_PROPOSAL_FACTS
from repro.atomic import write_text
from repro.detect.specs import PROPOSAL_SETS
from repro.tables import TABLES, TableOutput, TableWriter

PAPER_SOURCE = "paper (ILSVRC 2014 DET test)"
BASELINE_SET = "rcnn"


def caveat(results: dict) -> str:
    """What the measured numbers are, and why they are not the paper's."""
    where = (f"{results['eval_images']} {results['eval_split']} images, {results['eval_objects']} objects, "
             f"{len(results['per_class'])} classes")
    if results["dataset"].startswith("mini"):
        return (f"SYNTHETIC DATA: measured on the mini-ILSVRC ({where}), images drawn by repro.data.mini. "
                f"These mAPs are NOT comparable with the paper's (ILSVRC 2014 DET, 200 classes).")
    return (f"Measured on {results['dataset']} ({where}, R-CNN's val2 split), not on the test set the "
            f"paper's tables report.")


def _pretraining(results: dict) -> str:
    synthetic = results["dataset"].startswith("mini")
    return "mini-ILSVRC classification (synthetic)" if synthetic else "classification pretraining"


def _measured_label(results: dict) -> str:
    return f"measured: {results['dataset']} {results['eval_split']}"


def table4(results: dict) -> pd.DataFrame:
    """The paper's Table 4 with our single-model and ensemble rows."""
    ours = [{"team": f"this harness, {models} model{'s' if models > 1 else ''}", "year": "this run",
             "place": "-", "map_pct": round(100 * value, 2), "external_data": _pretraining(results),
             "ensemble": str(models), "approach": "R-CNN-style, GoogLeNet region classifiers",
             "source": _measured_label(results), "note": caveat(results)}
            for models, value in ((1, results["single_model_map"]),
                                  (results["ensemble_members"], results["ensemble_map"]))]
    frame = paper.TABLE4.astype({"year": str}).assign(source=PAPER_SOURCE, note="")
    return pd.concat([frame, pd.DataFrame(ours[:1] if results["ensemble_members"] == 1 else ours)],
                     ignore_index=True)


def table5(results: dict) -> pd.DataFrame:
    """The paper's Table 5 with our single-model row."""
    ours = pd.DataFrame([{"team": "this harness, 1 model",
                          "map_pct": round(100 * results["single_model_map"], 2),
                          "contextual_model": "no", "bounding_box_regression": "no",
                          "source": _measured_label(results), "note": caveat(results)}])
    return pd.concat([paper.TABLE5.assign(source=PAPER_SOURCE, note=""), ours], ignore_index=True)


def proposal_table(results: dict) -> pd.DataFrame:
    """Per proposal set: boxes per image, coverage, single-model mAP, each relative to R-CNN's set,
    beside what the paper says."""
    frame = pd.DataFrame(results["coverage"])
    by_set = frame.set_index("proposal_set")
    base = by_set.loc[BASELINE_SET] if BASELINE_SET in by_set.index else None
    frame["boxes_vs_rcnn"] = np.nan if base is None else frame["boxes_per_image"] / base["boxes_per_image"]
    frame["map_vs_rcnn"] = np.nan if base is None else frame["single_model_map"] - base["single_model_map"]
    for fact in ("boxes_vs_rcnn", "coverage", "map_vs_rcnn"):
        frame[f"paper_{fact}"] = [PAPER_PROPOSAL_FACTS.get(s, {}).get(fact) for s in frame["proposal_set"]]
    frame["description"] = [PROPOSAL_SETS.get(s).note for s in frame["proposal_set"]]
    frame["note"] = caveat(results)
    return frame[["proposal_set", "sources", "boxes_per_image", "boxes_vs_rcnn", "objects", "covered",
                  "coverage", "single_model_map", "map_vs_rcnn", "paper_boxes_vs_rcnn", "paper_coverage",
                  "paper_map_vs_rcnn", "description", "note"]]


def _pct(value, signed: bool = False) -> str:
    if value is None or pd.isna(value):
        return "-"
    return f"{100 * value:+.2f}%" if signed else f"{100 * value:.2f}%"


def _share(value) -> str:
    return "-" if value is None or pd.isna(value) else f"{100 * value:.0f}%"


def _markdown(title: str, view: pd.DataFrame, results: dict, extra: list[str]) -> str:
    lines = [f"# {title}", "", f"**{caveat(results)}**", "", view.to_markdown(index=False), "",
             f"Paper values: {paper.CITATION}."]
    lines += extra
    lines += ["", f"Protocol `{results['protocol']}` v{results['protocol_version']}: "
                  f"{results['protocol_note']}", "", "Deviations from the paper:"]
    lines += [f"- {d}" for d in DEVIATIONS]
    return "\n".join(lines) + "\n"


def _curve_line(results: dict) -> str:
    return "Ensemble size (models: mAP): " + ", ".join(
        f"{row['models']}: {_pct(row['map'])}" for row in results["ensemble_curve"])


def write_tables(results: dict, out: str | Path) -> list[Path]:
    """Write table4_detection, table5_detection_single and table_proposals (.csv and .md) and the
    per-class AP figure into ``out``."""
    out = Path(out)
    paths = []
    t4, t5, tp = table4(results), table5(results), proposal_table(results)
    members = results["ensemble_members"]
    notes4 = ["", _curve_line(results)]
    if members < results["ensemble_size_protocol"]:
        notes4.append(f"**Only {members} region classifier(s) available**; the paper ensembles "
                      f"{results['ensemble_size_protocol']}.")
    if results["classification_networks"] < members:
        notes4.append(f"**The {members} region classifiers were fine-tuned from "
                      f"{results['classification_networks']} classification network(s)** (reused with other "
                      f"fine-tuning seeds); the paper's {results['ensemble_size_protocol']} are distinct "
                      f"networks.")
    view4 = t4.drop(columns="note").assign(map_pct=t4["map_pct"].map(lambda v: f"{v:.2f}%"))
    view5 = t5.drop(columns="note").assign(map_pct=t5["map_pct"].map(lambda v: f"{v:.2f}%"))
    notes5 = [f"- Note: {paper.PROTOCOL_NOTES['detection-single-model']}"]
    viewp = pd.DataFrame({
        "proposals": tp["proposal_set"], "sources": tp["sources"],
        "boxes/image": tp["boxes_per_image"].map(lambda v: f"{v:.0f}"),
        "vs R-CNN": tp["boxes_vs_rcnn"].map(_share),
        "coverage": tp["coverage"].map(_pct), "single-model mAP": tp["single_model_map"].map(_pct),
        "mAP vs R-CNN": tp["map_vs_rcnn"].map(lambda v: _pct(v, signed=True)),
        "paper: boxes vs R-CNN": tp["paper_boxes_vs_rcnn"].map(_share),
        "paper: coverage": tp["paper_coverage"].map(_pct),
        "paper: mAP vs R-CNN": tp["paper_map_vs_rcnn"].map(lambda v: _pct(v, signed=True))})
    notesp = ["", "Coverage: share of ground-truth objects with a proposal at IoU >= 0.5 (inclusive "
              "pixels). mAP: single model (the first region classifier), devkit rules."]
    for stem, frame, title, view, extra in (
            ("table4_detection", t4, "Table 4 — detection, measured beside the paper", view4, notes4),
            ("table5_detection_single", t5, "Table 5 — single-model detection, measured beside the paper",
             view5, notes5),
            ("table_proposals", tp, "Proposals — count, coverage and mAP effect (Section 8)", viewp,
             notesp)):
        paths.append(write_text(out / f"{stem}.csv", frame.to_csv(index=False)))
        paths.append(write_text(out / f"{stem}.md", _markdown(title, view, results, extra)))
    paths += per_class_ap_plot(results, out / "fig_det_per_class_ap")
    return paths


def per_class_ap_plot(results: dict, stem: str | Path) -> list[Path]:
    """AP per class of the single model and the ensemble (classes by ensemble AP); PNG, SVG, CSV."""
    import matplotlib.pyplot as plt  # imported when a plot is drawn, not at registration

    from repro.report.plots import save_figure

    data = pd.DataFrame(results["per_class"]).sort_values(["ap_ensemble", "class_id"],
                                                          ascending=[False, True], na_position="last")
    data["note"] = caveat(results)
    x = np.arange(len(data))
    fig, ax = plt.subplots(figsize=(max(6.4, 0.35 * len(data) + 2), 4.0))
    members = results["ensemble_members"]
    for offset, column, label in ((-0.2, "ap_single", "1 model"), (0.2, "ap_ensemble", f"{members} models")):
        ax.bar(x + offset, 100 * data[column].fillna(0), 0.4,
               label=f"{label} (mAP {_pct(data[column].mean())})")
    if len(data) <= 40:
        ax.set_xticks(x)
        ax.set_xticklabels(data["name"], rotation=60, ha="right", fontsize=7)
    else:
        ax.set_xlabel("classes, by ensemble AP")
    ax.set_ylabel("AP (%)")
    ax.set_ylim(0, 100)
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(fontsize=7)
    synthetic = " — SYNTHETIC mini-ILSVRC" if results["dataset"].startswith("mini") else ""
    ax.set_title(f"Per-class detection AP ({results['dataset']} {results['eval_split']}){synthetic}",
                 fontsize=9)
    return save_figure(fig, data, stem)


def write_detection_tables(out: Path, run: Path) -> TableOutput:
    """Tables 4-5, the proposal table and the per-class AP plot of the detection run in ``run``."""
    from repro.detect.run import read_results  # MXNet: imported when the tables are made

    paths = write_tables(read_results(run), out)
    return TableOutput(tuple(paths), "\n".join(f"wrote {p}" for p in paths))


TABLES.register("detection", TableWriter(
    "detection", "Tables 4-5, proposals and per-class AP of a `repro detect run` output",
    write_detection_tables, ("out", "run")))
