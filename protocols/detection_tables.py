"""Tables 4 and 5, the proposal table and the per-class AP plot, from a run's ``detection_results.json``.

Our rows sit beside the paper's (``source`` column), each with the paper's GoogLeNet mAP for as many
models (``paper_map``), and every file carries the data caveat: the mini-ILSVRC is synthetic, and even
real runs score val2 (R-CNN's half of DET val), not the test set of the paper's tables. mAPs are
fractions, as every rate of results/ (:mod:`repro.results_schema`). Registered as table
``detection`` (`repro detect tables`).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from protocols import paper
from protocols.detection import DEVIATIONS, PAPER_PROPOSAL_FACTS
from protocols.tables import MARKDOWN_COLUMNS, googlenet_map, paper_table
from repro import results_schema as schema
from repro.atomic import write_text
from repro.detect.specs import PROPOSAL_SETS
from repro.report.cells import render
from repro.report.tables import artefact_markdown, difference, value
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
    """The paper's Table 4 with our single-model and ensemble rows, the paper's GoogLeNet value beside
    each of ours."""
    ours = [{"team": f"this harness, {models} model{'s' if models > 1 else ''}", "year": "this run",
             "place": "-", "map": value, "external_data": _pretraining(results),
             "ensemble": str(models), "approach": "R-CNN-style, GoogLeNet region classifiers",
             "source": _measured_label(results), "paper_map": googlenet_map(models),
             "note": caveat(results)}
            for models, value in ((1, results["single_model_map"]),
                                  (results["ensemble_members"], results["ensemble_map"]))]
    frame = paper_table(4).astype({"year": str}).assign(source=PAPER_SOURCE, paper_map=np.nan, note="")
    return pd.concat([frame, pd.DataFrame(ours[:1] if results["ensemble_members"] == 1 else ours)],
                     ignore_index=True)


def table5(results: dict) -> pd.DataFrame:
    """The paper's Table 5 with our single-model row and the paper's GoogLeNet value beside it."""
    ours = pd.DataFrame([{"team": "this harness, 1 model", "map": results["single_model_map"],
                          "contextual_model": "no", "bounding_box_regression": "no",
                          "source": _measured_label(results), "paper_map": googlenet_map(1),
                          "note": caveat(results)}])
    return pd.concat([paper_table(5).assign(source=PAPER_SOURCE, paper_map=np.nan, note=""), ours],
                     ignore_index=True)


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


def _versus_paper(number: int) -> tuple:
    """Table ``number``'s Markdown columns: the paper's, then ours against the paper's GoogLeNet."""
    return (*MARKDOWN_COLUMNS[number], value("source", "source"),
            value("paper GoogLeNet mAP", "paper_map"), difference("measured - paper", "map", "paper_map"))


PROPOSAL_COLUMNS = (
    value("proposals", "proposal_set"), value("sources", "sources"),
    value("boxes/image", "boxes_per_image"), value("vs R-CNN", "boxes_vs_rcnn"),
    value("coverage", "coverage"), value("single-model mAP", "single_model_map"),
    value("mAP vs R-CNN", "map_vs_rcnn"), value("paper: boxes vs R-CNN", "paper_boxes_vs_rcnn"),
    value("paper: coverage", "paper_coverage"), value("paper: mAP vs R-CNN", "paper_map_vs_rcnn"),
)


def _markdown(title: str, grid: str, results: dict, extra: list[str]) -> str:
    lines = [f"# {title}", "", f"**{caveat(results)}**", "", grid, "",
             f"Paper values: {paper.CITATION}. mAP and coverage are percentages; differences are "
             "percentage points (pp)."]
    lines += extra
    lines += ["", f"Protocol `{results['protocol']}` v{results['protocol_version']}: "
                  f"{results['protocol_note']}", "", "Deviations from the paper:"]
    lines += [f"- {d}" for d in DEVIATIONS]
    return "\n".join(lines) + "\n"


def _curve_line(results: dict) -> str:
    return "Ensemble size (models: mAP): " + ", ".join(
        f"{row['models']}: {render(row['map'], 'pct')}" for row in results["ensemble_curve"])


def write_tables(results: dict, out: str | Path) -> list[Path]:
    """Write table4_detection, table5_detection_single and table_proposals (.csv and .md) and the
    per-class AP figure into ``out``."""
    out = Path(out)
    paths = []
    t4, t5, tp = table4(results), table5(results), proposal_table(results)
    members = results["ensemble_members"]
    notes4 = ["", "- " + _curve_line(results)]
    if members < results["ensemble_size_protocol"]:
        notes4.append(f"- **Only {members} region classifier(s) available**; the paper ensembles "
                      f"{results['ensemble_size_protocol']}.")
    if results["classification_networks"] < members:
        notes4.append(f"- **The {members} region classifiers were fine-tuned from "
                      f"{results['classification_networks']} classification network(s)** (reused with other "
                      f"fine-tuning seeds); the paper's {results['ensemble_size_protocol']} are distinct "
                      f"networks.")
    notes4.append("- The paper's GoogLeNet value beside our rows is its mAP with as many models: "
                  "Table 4's 6-model ensemble for the ensemble row, Table 5's single model for the "
                  "1-model row.")
    notes5 = [f"- Note: {paper.PROTOCOL_NOTES['detection-single-model']}"]
    notesp = ["", "- Coverage: share of ground-truth objects with a proposal at IoU >= 0.5 (inclusive "
              "pixels). mAP: single model (the first region classifier), devkit rules."]
    for artefact, frame, title, columns, extra in (
            (schema.TABLE4, t4, "Table 4 — detection, measured beside the paper", _versus_paper(4), notes4),
            (schema.TABLE5, t5, "Table 5 — single-model detection, measured beside the paper",
             _versus_paper(5), notes5),
            (schema.TABLE_PROPOSALS, tp, "Proposals — count, coverage and mAP effect (Section 8)",
             PROPOSAL_COLUMNS, notesp)):
        paths.append(schema.write_frame(artefact, frame, out))
        paths.append(write_text(artefact.markdown_path(out),
                                _markdown(title, artefact_markdown(artefact, frame, columns), results, extra)))
    paths += per_class_ap_plot(results, schema.FIG_DET_PER_CLASS_AP.path(out))
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
               label=f"{label} (mAP {render(data[column].mean(), 'pct')})")
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
    return save_figure(fig, data, stem, schema.FIG_DET_PER_CLASS_AP)


def write_detection_tables(out: Path, run: Path) -> TableOutput:
    """Tables 4-5, the proposal table and the per-class AP plot of the detection run in ``run``."""
    from repro.detect.run import read_results  # MXNet: imported when the tables are made

    paths = write_tables(read_results(run), out)
    return TableOutput(tuple(paths), "\n".join(f"wrote {p}" for p in paths))


TABLES.register("detection", TableWriter(
    "detection", "Tables 4-5, proposals and per-class AP of a `repro detect run` output",
    write_detection_tables, ("out", "run")))
