"""The results schema: every artefact in ``results/``, declared once — its file, columns, units and
version, and the command that regenerates it. Every writer and reader of ``results/`` goes through it.

Rates are fractions in every CSV (``top5_err`` 0.0667, ``map`` 0.439) and so are differences of
rates (unit ``pp``); percentages exist only when a number is printed, by
:mod:`repro.report.cells` (its format is named by the column's unit, :data:`UNITS`). Bump an
artefact's ``version`` whenever its columns or their meaning change: a reader then meets a file with
other columns and gets one line naming the file, the column and the command that remakes it.

Artefacts of a new session (e.g. ``canary/*``) are declared the same way with :func:`declare`; the
README (:func:`readme_markdown`, written to ``results/README.md``) lists them in declaration order.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from repro.atomic import write_text
from repro.errors import ReproError
from repro.registry import Registry

#: The provenance record beside a CSV artefact that has one: ``<file>`` + this.
MANIFEST_SUFFIX = ".manifest.json"


class SchemaError(ReproError):
    """A results file (or a frame about to be written) does not have its declared columns."""


@dataclass(frozen=True)
class Unit:
    """What the numbers of a column are, how they are printed, and the range they must lie in."""

    id: str
    meaning: str
    fmt: str  # a key of repro.report.cells.FORMATS
    dtype: str = "float"  # "int" | "float" | "bool" | "text"
    low: float | None = None
    high: float | None = None


UNITS = {unit.id: unit for unit in (
    Unit("fraction", "a rate in [0, 1] (error, AP, coverage, agreement); printed as a percentage, "
                     "12.34%", "pct", low=0.0, high=1.0),
    Unit("pp", "a difference of two rates, as a fraction in [-1, 1]; printed in percentage points, "
               "+1.23 pp", "pp", low=-1.0, high=1.0),
    Unit("share", "a quotient of like quantities (of a bound, of a peak, of a baseline), may exceed "
                  "1; printed as a percentage", "pct"),
    Unit("relative", "a relative difference (a - b) / b; printed as a signed percentage, +2.6%",
         "pct_signed"),
    Unit("times", "a quotient printed as a multiple, 1.14x", "times"),
    Unit("count", "a whole number (empty where there is none)", "int", "int"),
    Unit("signed_count", "a difference of whole numbers", "int_signed", "int"),
    Unit("per_s", "a rate per second (crops/s, images/s)", "number"),
    Unit("seconds", "a duration in seconds", "number"),
    Unit("megabytes", "a memory size in MB (2^20 bytes)", "number"),
    Unit("gflop_per_s", "10^9 floating-point operations per second", "number"),
    Unit("number", "a measured quantity of no fixed unit (load average, a probability difference)",
         "number"),
    Unit("p_value", "a p-value in [0, 1]", "p", low=0.0, high=1.0),
    Unit("flag", "true or false", "bool", "bool"),
    Unit("text", "words (names, notes, labels)", "text", "text"),
)}


@dataclass(frozen=True)
class Column:
    """One CSV column: its name and unit (the unit fixes its type, range and printed form)."""

    name: str
    unit: str

    @property
    def dtype(self) -> str:
        """"int", "float", "bool" or "text"."""
        return UNITS[self.unit].dtype

    @property
    def fmt(self) -> str:
        """How a value is printed: a key of repro.report.cells.FORMATS."""
        return UNITS[self.unit].fmt


def columns(spec: str) -> tuple[Column, ...]:
    """Columns from ``"name:unit name:unit ..."`` (unit ``text`` when omitted)."""
    found = []
    for item in spec.split():
        name, _, unit = item.partition(":")
        if (unit or "text") not in UNITS:
            raise ValueError(f"column {name}: unknown unit {unit!r}")
        found.append(Column(name, unit or "text"))
    return tuple(found)


@dataclass(frozen=True)
class Artefact:
    """One file (or figure, or folder) of ``results/`` and what makes it.

    ``file`` is relative to the results directory; a ``*`` in it stands for a name the writer's
    user chooses (``det_eval_*.csv``). A figure's ``file`` is its stem: PNG, SVG and the CSV of the
    plotted data share it, and ``columns`` are the CSV's.
    """

    id: str
    file: str
    kind: str  # "csv" | "figure" | "markdown" | "json" | "html" | "directory"
    what: str
    command: str
    session: str  # the nox session that writes it
    version: int = 1
    columns: tuple[Column, ...] = ()
    markdown: bool = False  # a CSV with its Markdown rendering beside it (<stem>.md)
    manifest: bool = False  # a CSV with its provenance beside it (<file>.manifest.json)
    missing: str = ""  # how a missing value is written in the CSV

    @property
    def basename(self) -> str:
        """The file name without its folder (``peers.csv`` of ``bench/peers.csv``)."""
        return Path(self.file).name

    @property
    def names(self) -> list[str]:
        """The column names, in file order."""
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        """The declared column ``name``."""
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"{self.id} has no column {name!r}")

    def fmt(self, name: str) -> str:
        """How values of column ``name`` are printed (a key of repro.report.cells.FORMATS)."""
        return self.column(name).fmt

    def relative(self, name: str | None = None) -> str:
        """The file's path relative to the results directory (``name`` fills a ``*``)."""
        if "*" in self.file:
            if not name:
                raise ValueError(f"{self.id}: the file name {self.file} needs a name for '*'")
            return self.file.replace("*", name)
        return self.file

    def path(self, results: str | Path, name: str | None = None) -> Path:
        """Where the artefact lies under ``results`` (for a figure: its stem, no suffix)."""
        return Path(results) / self.relative(name)

    def csv_path(self, results: str | Path, name: str | None = None) -> Path:
        """The CSV of the artefact (a figure's data CSV) under ``results``."""
        path = self.path(results, name)
        return path.with_suffix(".csv") if self.kind == "figure" else path

    def markdown_path(self, results: str | Path) -> Path:
        """The Markdown file beside a CSV artefact."""
        return self.path(results).with_suffix(".md")

    def files(self) -> list[str]:
        """Every file it consists of, relative to the results directory."""
        if self.kind == "figure":
            return [f"{self.file}.{s}" for s in ("png", "svg", "csv")]
        extra = ([self.file[:-len(".csv")] + ".md"] if self.markdown else []) + \
                ([self.file + MANIFEST_SUFFIX] if self.manifest else [])
        return [self.file, *extra]

    def regenerate(self) -> str:
        """How to remake the file, as said in every error about it."""
        return f"regenerate it with `{self.command}` (nox -s {self.session})"


ARTEFACTS: Registry[Artefact] = Registry("results artefact")
_ORDER: list[str] = []


def declare(artefact: Artefact) -> Artefact:
    """Add ``artefact`` to the schema (README order is declaration order)."""
    if artefact.kind in ("csv", "figure") and not artefact.columns:
        raise ValueError(f"{artefact.id}: a {artefact.kind} needs its columns")
    for column in artefact.columns:
        if column.unit not in UNITS:
            raise ValueError(f"{artefact.id}.{column.name}: unknown unit {column.unit!r}")
    ARTEFACTS.register(artefact.id, artefact)
    _ORDER.append(artefact.id)
    return artefact


def declared() -> list[Artefact]:
    """Every artefact, in declaration order."""
    return [ARTEFACTS.get(i) for i in _ORDER]


def get(artefact: str | Artefact) -> Artefact:
    """An artefact by id (did-you-mean on a typo), or the artefact itself."""
    return artefact if isinstance(artefact, Artefact) else ARTEFACTS.get(artefact)


# -- checking frames ---------------------------------------------------------------------------------

def _is_integral(series: pd.Series) -> bool:
    values = pd.to_numeric(series.dropna(), errors="coerce")
    return bool(values.notna().all() and np.all(np.mod(values.astype(float), 1) == 0))


def _value_problem(column: Column, series: pd.Series) -> str | None:
    """Why ``series`` cannot be ``column``'s values, or None."""
    present = series.dropna()
    if column.dtype == "text" or present.empty:
        return None
    if column.dtype == "bool":
        bad = present[~present.astype(str).str.lower().isin(["true", "false"])]
        return None if bad.empty else f"{bad.iloc[0]!r} is not true/false"
    numbers = pd.to_numeric(present, errors="coerce")
    if numbers.isna().any():
        return f"{present[numbers.isna()].iloc[0]!r} is not a number"
    if column.dtype == "int" and not _is_integral(numbers):
        return f"{numbers[np.mod(numbers, 1) != 0].iloc[0]!r} is not a whole number"
    unit = UNITS[column.unit]
    finite = numbers.astype(float)
    finite = finite[np.isfinite(finite)]
    low = -np.inf if unit.low is None else unit.low
    high = np.inf if unit.high is None else unit.high
    outside = finite[(finite < low) | (finite > high)]
    if not outside.empty:
        return (f"{outside.iloc[0]!r} is outside [{low:g}, {high:g}] of unit {unit.id} "
                f"({unit.meaning.split(';')[0]})")
    return None


def problems(artefact: str | Artefact, frame: pd.DataFrame) -> list[str]:
    """What is wrong with ``frame`` as ``artefact``'s table: missing/unexpected columns, bad values."""
    artefact = get(artefact)
    found = [str(c) for c in frame.columns]
    missing = [n for n in artefact.names if n not in found]
    extra = [n for n in found if n not in artefact.names]
    issues = []
    if missing:
        issues.append("missing column" + "s" * (len(missing) > 1) + " " + ", ".join(missing))
    if extra:
        issues.append("unexpected column" + "s" * (len(extra) > 1) + " " + ", ".join(extra))
    if len(set(found)) != len(found):
        issues.append("a column name repeated")
    for column in artefact.columns:
        if column.name in found and len(set(found)) == len(found):
            problem = _value_problem(column, frame[column.name])
            if problem:
                issues.append(f"column {column.name}: {problem}")
    return issues


def check(artefact: str | Artefact, frame: pd.DataFrame, where: str) -> None:
    """Raise a one-line :class:`SchemaError` if ``frame`` is not ``artefact``'s table."""
    artefact = get(artefact)
    issues = problems(artefact, frame)
    if issues:
        raise SchemaError(f"{where}: not the {artefact.id} table v{artefact.version} of the results "
                          f"schema ({'; '.join(issues)}); {artefact.regenerate()}")


def frame_of(artefact: str | Artefact, rows: list[dict]) -> pd.DataFrame:
    """A frame of ``artefact``'s columns from row dicts; a row may lack a column (a missing value)
    but never bring one the schema does not declare."""
    artefact = get(artefact)
    for row in rows:
        extra = sorted(set(row) - set(artefact.names))
        if extra:
            raise SchemaError(f"a {artefact.id} row has undeclared column(s) {', '.join(extra)} (a bug "
                              f"in its writer); declare them in repro/results_schema.py")
    return pd.DataFrame(rows, columns=artefact.names)


# -- writing and reading -----------------------------------------------------------------------------

def write_frame_at(artefact: str | Artefact, frame: pd.DataFrame, path: str | Path) -> Path:
    """Check ``frame`` against ``artefact`` and write it to ``path`` atomically, columns in schema
    order. A writer that emits other columns fails here, before anything is written."""
    artefact = get(artefact)
    path = Path(path)
    check(artefact, frame, f"writing {path}")
    return write_text(path, frame[artefact.names].to_csv(index=False, na_rep=artefact.missing))


def write_frame(artefact: str | Artefact, frame: pd.DataFrame, out: str | Path,
                name: str | None = None) -> Path:
    """Write ``frame`` as ``artefact``'s CSV into the results directory ``out``."""
    artefact = get(artefact)
    return write_frame_at(artefact, frame, artefact.csv_path(out, name))


def read_frame_at(artefact: str | Artefact, path: str | Path) -> pd.DataFrame:
    """``artefact``'s CSV at ``path``, checked: a file of another version (other columns, values out
    of their unit's range) is a one-line error naming it, the column and the command to remake it."""
    artefact = get(artefact)
    path = Path(path)
    if not path.is_file():
        raise SchemaError(f"{path} does not exist; {artefact.regenerate()}")
    try:
        frame = pd.read_csv(path, keep_default_na=True)
    except (OSError, ValueError) as exc:
        raise SchemaError(f"{path} is not a readable CSV table ({exc}); {artefact.regenerate()}") from exc
    check(artefact, frame, str(path))
    return frame[artefact.names]


def read_frame(artefact: str | Artefact, results: str | Path, name: str | None = None) -> pd.DataFrame:
    """``artefact``'s CSV in the results directory ``results``, checked (see :func:`read_frame_at`)."""
    artefact = get(artefact)
    return read_frame_at(artefact, artefact.csv_path(results, name))


def read_if_present(artefact: str | Artefact, results: str | Path) -> pd.DataFrame | None:
    """``artefact``'s checked CSV under ``results``, or None when the run has not made it."""
    artefact = get(artefact)
    path = artefact.csv_path(results)
    return read_frame_at(artefact, path) if path.is_file() else None


def markdown_path(artefact: str | Artefact, out: str | Path) -> Path:
    """Where the Markdown beside ``artefact``'s CSV goes in ``out``."""
    artefact = get(artefact)
    if not artefact.markdown:
        raise ValueError(f"{artefact.id} has no Markdown file beside it")
    return artefact.markdown_path(out)


# -- the artefacts -----------------------------------------------------------------------------------

ARCH = "architecture"
CLS = "classification"
DET = "detection"
_ARCH_COLUMNS = columns(
    "layer output params:count macs:count paper_params:count paper_ops:count paper_output "
    "params_diff:signed_count macs_diff:signed_count params_diff_rel:relative inconsistent:flag note")
_TABLE2_COLUMNS = columns("team year place top5_err:fraction external_data")
_CURVE_COLUMNS = columns("models:count crops:count top5_err:fraction top1_err:fraction")

TABLE1 = declare(Artefact(
    "table1", "table1_architecture.csv", "csv",
    "Table 1 for `googlenet-paper`: per row the counted output shape, parameters (weights + biases) "
    "and multiply-adds at 224x224 beside the paper's printed params/ops, the differences (counted "
    "minus printed; `params_diff_rel` = difference / printed) and a flag where the printed values "
    "disagree with the paper's own widths",
    "repro arch --variant paper --csv results/table1_architecture.csv --markdown "
    "results/table1_architecture.md", ARCH, 2, _ARCH_COLUMNS, markdown=True))
TABLE1_GLUONCV = declare(Artefact(
    "table1_gluoncv", "table1_architecture_gluoncv.csv", "csv",
    "the same for GluonCV's `googlenet` (BatchNorm, 3x3 for 5x5), to show its deviation",
    "repro arch --variant gluoncv --csv results/table1_architecture_gluoncv.csv --markdown "
    "results/table1_architecture_gluoncv.md", ARCH, 2, _ARCH_COLUMNS, markdown=True))
TABLE2_PAPER = declare(Artefact(
    "table2_paper", "table2_classification_ilsvrc_paper.csv", "csv",
    "Table 2 as printed in the paper (ILSVRC classification, top-5 error as a fraction)",
    "repro table 2 --out results", ARCH, 2, _TABLE2_COLUMNS, markdown=True))
TABLE3_PAPER = declare(Artefact(
    "table3_paper", "table3_classification_paper.csv", "csv",
    "Table 3 as printed in the paper (7 models x 1/10/144 crops; error and vs base as fractions)",
    "repro table 3 --out results", ARCH, 2,
    columns("models:count crops:count cost:count top5_err:fraction vs_base:pp"), markdown=True))
TABLE4_PAPER = declare(Artefact(
    "table4_paper", "table4_detection_paper.csv", "csv",
    "Table 4 as printed in the paper (ILSVRC 2014 detection, mAP as a fraction)",
    "repro table 4 --out results", ARCH, 2,
    columns("team year place map:fraction external_data ensemble approach"), markdown=True))
TABLE5_PAPER = declare(Artefact(
    "table5_paper", "table5_detection_single_paper.csv", "csv",
    "Table 5 as printed in the paper (single-model detection, mAP as a fraction)",
    "repro table 5 --out results", ARCH, 2,
    columns("team map:fraction contextual_model bounding_box_regression"), markdown=True))

_TABLE3_COMMAND = "repro table 3 --store STORE --out results --dataset-name NAME"
TABLE3 = declare(Artefact(
    "table3", "table3_classification.csv", "csv",
    "Table 3 measured: (1 or K models) x (1, 10, 144 crops) from one 144-crop pass per member; top-5 "
    "and top-1 error with exact 95% intervals, McNemar's p against the base row, images evaluated, "
    "the paper's value and vs base beside ours (the Markdown adds whether each of the paper's "
    "orderings holds here); `cost` is the paper's (models x crops), `seconds_per_image` the measured "
    "cost of the row on `machine` (CPU model, compute threads) from the stores' run records, a row of "
    "fewer crops than the stored pass scaled by its share of the crops (empty for stores whose runs "
    "predate it)", _TABLE3_COMMAND, CLS, 2,
    columns("models:count crops:count cost:count top5_err:fraction top5_ci_low:fraction "
            "top5_ci_high:fraction top1_err:fraction top1_ci_low:fraction top1_ci_high:fraction "
            "n_images:count n_evaluated:count p_vs_base:p_value vs_base:pp paper_models:count "
            "paper_top5_err:fraction paper_vs_base:pp members combine seconds_per_image:seconds "
            "machine"), markdown=True))
TABLE2 = declare(Artefact(
    "table2", "table2_classification_ilsvrc.csv", "csv",
    "Table 2 with our best row (most models, most crops) appended, labelled with its data",
    _TABLE3_COMMAND, CLS, 2, _TABLE2_COLUMNS, markdown=True))
FIG_TOP5_VS_COST = declare(Artefact(
    "fig_top5_vs_cost", "fig_top5_vs_cost", "figure",
    "top-5 error against cost (models x crops, log scale): the paper's six points and ours",
    _TABLE3_COMMAND, CLS, 1, columns("source models:count crops:count cost:count top5_err:fraction")))
FIG_ERROR_VS_CROPS = declare(Artefact(
    "fig_error_vs_crops", "fig_error_vs_crops", "figure",
    "error against the number of crops (1, 10, then the scale order 36, 72, 108, 144), 1 model and "
    "the ensemble", _TABLE3_COMMAND, CLS, 1, _CURVE_COLUMNS))
FIG_ERROR_VS_MODELS = declare(Artefact(
    "fig_error_vs_models", "fig_error_vs_models", "figure",
    "error against ensemble size 1..K (members in store order), most crops; absent with one member",
    _TABLE3_COMMAND, CLS, 1, _CURVE_COLUMNS))
TABLE3_CLAIMS = declare(Artefact(
    "table3_claims", "table3_claims.csv", "csv",
    "The paper's Table 3 orderings tested: for each pair of rows where the paper's claim is that the "
    "second (more crops, or more models) has the lower error, on top-5 error (the paper's) and on "
    "top-1 error (metric): both errors, the difference, McNemar's exact test on the same images "
    "(images only the first / only the second row gets right) and the verdict at p < 0.05 (holds, "
    "reversed, not resolved at this size); the paper's top-5 difference beside it", _TABLE3_COMMAND, CLS, 2,
    columns("claim metric models:count crops:count models_2:count crops_2:count err:fraction "
            "err_2:fraction diff:pp only_first:count only_second:count p_value:p_value verdict "
            "paper_diff:pp")))

ABLATION = declare(Artefact(
    "ablation", "ablation_mean_vs_max.csv", "csv",
    "Section 7's ablation: mean over crops vs max over crops (then mean over models)",
    _TABLE3_COMMAND, CLS, 1, columns("rule models:count crops:count top5_err:fraction "
                                     "top1_err:fraction")))

_CANARY_COMMAND = "repro table canary --store CANARY_STORES --out results"
CANARY = declare(Artefact(
    "canary", "canary/canary.csv", "csv",
    "the accuracy canary: a real ImageNet network (EfficientNet-Lite0, not a GoogLeNet) on the real "
    "images of ../shared/data (1,000 class samples at 1 and 10 crops, 100 ILSVRC2012 val images at "
    "1/10/144 crops); per image set and crop count top-1 and top-5 error with exact 95% intervals, "
    "McNemar's p against 1 crop on the same images, the published single-crop errors beside them "
    "(measured on the 50,000 val images, which these sets are not), the pass's wall time",
    _CANARY_COMMAND, "canary", 1,
    columns("image_set title crops:count images:count n_evaluated:count top1_err:fraction "
            "top1_ci_low:fraction top1_ci_high:fraction top5_err:fraction top5_ci_low:fraction "
            "top5_ci_high:fraction p_top1_vs_1crop:p_value p_top5_vs_1crop:p_value "
            "google_top1_err:fraction timm_top1_err:fraction timm_top5_err:fraction model backend "
            "wall_seconds:seconds"), markdown=True))

_DETECT_COMMAND = "repro detect tables --run RUN --out results"
TABLE4 = declare(Artefact(
    "table4", "table4_detection.csv", "csv",
    "Table 4: the paper's rows and our single-model and K-model rows; `paper_map` is the paper's "
    "GoogLeNet mAP with as many models (Table 4's 6-model 43.9%, Table 5's 1-model 38.02%), `note` "
    "the data caveat (the Markdown adds the ensemble-size curve)", _DETECT_COMMAND, DET, 2,
    columns("team year place map:fraction external_data ensemble approach source "
            "paper_map:fraction note"), markdown=True))
TABLE5 = declare(Artefact(
    "table5", "table5_detection_single.csv", "csv",
    "Table 5 with our single-model row (no context model, no box regression, as the paper) and "
    "the paper's GoogLeNet value beside it", _DETECT_COMMAND, DET, 2,
    columns("team map:fraction contextual_model bounding_box_regression source paper_map:fraction "
            "note"), markdown=True))
TABLE_PROPOSALS = declare(Artefact(
    "table_proposals", "table_proposals.csv", "csv",
    "proposal sets: boxes per image, share of R-CNN's count, coverage (IoU >= 0.5), single-model "
    "mAP and its change from R-CNN's set, beside the paper's claims", _DETECT_COMMAND, DET, 1,
    columns("proposal_set sources boxes_per_image:number boxes_vs_rcnn:share objects:count "
            "covered:count coverage:fraction single_model_map:fraction map_vs_rcnn:pp "
            "paper_boxes_vs_rcnn:share paper_coverage:fraction paper_map_vs_rcnn:pp description "
            "note"), markdown=True))
FIG_DET_PER_CLASS_AP = declare(Artefact(
    "fig_det_per_class_ap", "fig_det_per_class_ap", "figure",
    "per-class AP, the single model vs the ensemble", _DETECT_COMMAND, DET, 1,
    columns("class_id:count wnid name ap_single:fraction ap_ensemble:fraction n_pos:count note")))
DET_EVAL = declare(Artefact(
    "det_eval", "det_eval_*.csv", "csv",
    "per-class AP of a submission scored with the devkit rules (`det_eval_single.csv`, "
    "`det_eval_ensemble.csv`; `ap` empty as `nan` for a class without positives), and the "
    "provenance of the scoring beside it",
    "repro det-eval SUBMISSION --gt-dir XML --meta meta_det.mat --list LIST --blacklist BLACKLIST "
    "--csv results/det_eval_KIND.csv", DET, 1,
    columns("class_id:count wnid name ap:fraction n_pos:count n_det:count"), manifest=True,
    missing="nan"))

_REPORT_COMMAND = ("repro report --results results --out results/report --data MINI --inputs MEMBERS "
                   "--inputs STORES")
REPORT_HTML = declare(Artefact(
    "report_html", "report/report.html", "html",
    "self-contained page (plots embedded, no network needed): Tables 1-5 beside the paper with "
    "differences, intervals and deviations, plots, training curves, throughput, provenance",
    _REPORT_COMMAND, "report"))
REPORT_MARKDOWN = declare(Artefact(
    "report_markdown", "report/report.md", "markdown", "the same content as Markdown",
    _REPORT_COMMAND, "report"))
REPORT_FIGURES = declare(Artefact(
    "report_figures", "report/figures/", "directory",
    "the report's figures, its own and copied (PNG, SVG and the CSV behind each)", _REPORT_COMMAND,
    "report"))

_BENCH_COMMAND = "repro bench --out results/bench"
_BENCH_MODEL = "model backend precision"
BENCH_MACHINE = declare(Artefact(
    "bench_machine", "bench/machine.json", "json",
    "CPU, cores, SIMD lanes, measured clock and FMA/cycle, the fp32 peak and how it was measured",
    _BENCH_COMMAND, "bench"))
BENCH_BARE = declare(Artefact(
    "bench_bare", "bench/bare_network.csv", "csv",
    "crops/s per model, backend and batch size (median, min, max of the repeats); GFLOP/s from "
    "the counted multiply-adds and the fraction of the machine's fp32 peak", _BENCH_COMMAND, "bench",
    1, columns(f"{_BENCH_MODEL} batch:count crops_per_s:per_s crops_per_s_min:per_s "
               "crops_per_s_max:per_s repeats:count load:number calls_per_repeat:count "
               "macs_per_crop:count gflops:gflop_per_s peak_gflops:gflop_per_s peak_fraction:share")))
BENCH_END_TO_END = declare(Artefact(
    "bench_end_to_end", "bench/end_to_end.csv", "csv",
    "images/s for 1, 10, 144 crops (decode to store writes) and the fraction of the bare-network "
    "bound reached", _BENCH_COMMAND, "bench", 1,
    columns(f"{_BENCH_MODEL} scheme crops_per_image:count images:count crops_per_forward:count "
            "workers:count prefetch:count images_per_s:per_s images_per_s_min:per_s "
            "images_per_s_max:per_s repeats:count load:number crops_per_s:per_s "
            "bound_images_per_s:per_s bound_fraction:share")))
BENCH_MEMORY = declare(Artefact(
    "bench_memory", "bench/memory.csv", "csv",
    "peak RSS of a 144-crop `repro evaluate` (its own process) at 1x, 2x, 4x the images",
    _BENCH_COMMAND, "bench", 1,
    columns(f"{_BENCH_MODEL} crops_per_image:count images:count peak_rss_mb:megabytes "
            "process_seconds:seconds load:number")))
BENCH_PEERS = declare(Artefact(
    "bench_peers", "bench/peers.csv", "csv",
    "single-crop images/s of ours and of the peers in the same run, and ours over each",
    _BENCH_COMMAND, "bench", 1,
    columns("peer model batch:count workers:count images_per_s:per_s images_per_s_min:per_s "
            "images_per_s_max:per_s repeats:count load:number note ours_over_peer:times")))
BENCH_AGREEMENT = declare(Artefact(
    "bench_agreement", "bench/agreement.csv", "csv",
    "bf16 / int8 against fp32 on trained members: top-1/top-5 agreement and the change of error "
    "(empty without --member and --agreement-data)", _BENCH_COMMAND, "bench", 1,
    columns("backend reference member crops:count images:count top1_agreement:fraction "
            "top5_agreement:fraction fp32_top1_err:fraction fp32_top5_err:fraction "
            "mode_top1_err:fraction mode_top5_err:fraction top1_err_diff:pp top5_err_diff:pp "
            "max_abs_prob_diff:number")))
BENCH_TARGETS = declare(Artefact(
    "bench_targets", "bench/targets.csv", "csv",
    "every performance target with its measured value, the requirement and whether it is met",
    _BENCH_COMMAND, "bench", 1, columns("target model measured:number required met detail")))

BENCH_SCALE = declare(Artefact(
    "bench_scale", "bench/scale.csv", "csv",
    "the full-size costs beyond the networks: a synthetic store (7 x 50,000 x 1,000, 144 crops) "
    "written as 4 shards, `repro merge`, `repro table 3`, `repro ensemble --crops 144`, `repro "
    "report` (wall and CPU seconds, peak RSS of each process), and `repro evaluate` on 1k/10k/50k generated JPEGs "
    "with the fitted slopes (MB per 10k images, s per image); targets in targets.csv",
    "repro bench --scale --out results/bench", "bench", 1,
    columns("step models:count images:count classes:count crops:count seconds:seconds "
            "cpu_seconds:seconds peak_rss_mb:megabytes store_mb:megabytes seconds_per_image:seconds "
            "rss_mb_per_10k_images:megabytes cold_cache:flag load:number note")))
BENCH_SCALE_PROFILE = declare(Artefact(
    "bench_scale_profile", "bench/scale_profile.md", "markdown",
    "`repro table 3` on the full-size synthetic store under cProfile (own and cumulative time), with "
    "its timed wall and CPU seconds: where the reads spend their time",
    "repro bench --scale --out results/bench", "bench"))
BENCH_FAST_MODES = declare(Artefact(
    "bench_fast_modes", "bench/fast_modes.csv", "csv",
    "bf16 and int8 against fp32 on a real network (the canary, efficientnet-lite0, pretrained) over "
    "real images, 1 crop: top-1 agreement, top-1/top-5 error and their change, crops/s and speed-up; "
    "whether oneDNN ran AMX kernels (its verbose log) in the notes",
    "repro bench --fast-modes --out results/bench", "bench", 1,
    columns("backend precision images_set images:count calibration_images:count "
            "top1_agreement:fraction top5_agreement:fraction top1_err:fraction top5_err:fraction "
            "top1_err_diff:pp top5_err_diff:pp crops_per_s:per_s speedup:times load:number "
            "onednn_isa note")))


def _union(*artefacts: Artefact, extra: tuple[Column, ...] = ()) -> tuple[Column, ...]:
    """The columns of ``artefacts`` in order of first appearance (as pandas concatenates them)."""
    found: dict[str, Column] = {}
    for column in (*artefacts[0].columns, *extra, *(c for a in artefacts[1:] for c in a.columns)):
        found.setdefault(column.name, column)
    return tuple(found.values())


BENCH_PLOT = declare(Artefact(
    "bench_plot", "bench/bench", "figure",
    "the plot (bare crops/s by batch size, end to end against the bound, ours vs peers) and its "
    "data: the rows of the three tables with a `panel` column", _BENCH_COMMAND, "bench", 1,
    _union(BENCH_BARE, BENCH_END_TO_END, BENCH_PEERS, extra=columns("panel"))))
BENCH_SUMMARY = declare(Artefact(
    "bench_summary", "bench/summary.md", "markdown",
    "the README's performance section: machine, threads, load, every table of the run, rerun "
    "commands", _BENCH_COMMAND, "bench"))
BENCH_MANIFEST = declare(Artefact(
    "bench_manifest", "bench/manifest.json", "json",
    "the provenance of the run (configuration, commit, libraries, machine)", _BENCH_COMMAND, "bench"))


# -- results/README.md --------------------------------------------------------------------------------

README_COMMAND = "python -m repro.results_schema results/README.md"
SESSION_TITLES = {ARCH: "Architecture and the paper's tables", CLS: "Classification",
                  DET: "Detection", "report": "Report", "bench": "Benchmark",
                  "canary": "Accuracy canary: a real network on real images"}


def _files(artefact: Artefact) -> str:
    if artefact.kind == "figure":
        return f"`{artefact.file}.{{png,svg,csv}}`"
    return " + ".join(f"`{f}`" for f in artefact.files())


def readme_markdown() -> str:
    """``results/README.md``: every declared artefact, its columns and the command that makes it."""
    lines = ["# results/", "",
             f"Generated by the nox sessions; never edited by hand. This file is generated from the "
             f"results schema (`repro/results_schema.py`) by `{README_COMMAND}`; a test checks it "
             f"lists every declared artefact. `nox -s reproduce` regenerates everything but the "
             f"benchmark on the embedded mini-ILSVRC (synthetic images: **absolute numbers are not "
             f"comparable with the paper's**; what transfers is the shape of the tables). Large "
             f"things (the generated dataset, trained members, probability stores, proposal caches) "
             f"stay in `$REPRO_CACHE` (default `~/.cache/googlenet-repro`).", "",
             "Every rate in a CSV is a fraction (0.1733, printed 17.33%), and so is a difference of "
             "rates (-0.0067, printed -0.67 pp); percentages appear only in the Markdown and the "
             "report. A reader of a file whose columns are not its artefact's (an older version) "
             "gets one line naming the file, the column and the command below.", "",
             "| unit | meaning |", "|---|---|"]
    lines += [f"| `{u.id}` | {u.meaning} |" for u in UNITS.values()]
    sessions = list(dict.fromkeys(a.session for a in declared()))
    for session in sessions:
        members = [a for a in declared() if a.session == session]
        lines += ["", f"## {SESSION_TITLES.get(session, session.capitalize())} (`nox -s {session}`)",
                  "", "| file | version | what it is | regenerate with |", "|---|---|---|---|"]
        lines += [f"| {_files(a)} | {a.version} | {a.what} | `{a.command}` |" for a in members]
        tables = [a for a in members if a.columns]
        if tables:
            lines += ["", "Columns (name: unit):", ""]
            lines += [f"- {_files(a)}: " + ", ".join(f"`{c.name}`: {c.unit}" for c in a.columns)
                      for a in tables]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    """``python -m repro.results_schema README_PATH``: write the README of ``results/``."""
    if len(argv) != 1:
        print(f"usage: {README_COMMAND}", file=sys.stderr)
        return 2
    write_text(argv[0], readme_markdown())
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
