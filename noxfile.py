"""nox sessions: one per artefact. `nox -s reproduce` (the main job) and `nox -s tests` are the two a
newcomer needs; the others build single artefacts. Heavy sessions are not defaults.

Generated datasets, trained members, probability stores and caches live outside the repository in
$REPRO_CACHE (default ~/.cache/googlenet-repro); only the small tables, plots and reports are written
to results/.
"""
from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

import nox

nox.options.sessions = ["tests"]
nox.options.reuse_existing_virtualenvs = True

RESULTS = "results"
CACHE = Path(os.environ.get("REPRO_CACHE", Path.home() / ".cache" / "googlenet-repro"))
MINI = CACHE / "mini"  # the embedded mini-ILSVRC (seed 0, default size)
MEMBERS = CACHE / "members"  # the 7 trained narrow GoogLeNets
STORES = CACHE / "stores"
DET = CACHE / "det"
CANARY = CACHE / "canary"  # the canary's label indices and stores (CANARY/stores/<image set>)
SHARED_DATA = Path(os.environ.get("REPRO_SHARED_DATA", Path(__file__).resolve().parent.parent / "shared" / "data"))
SYNTHETIC = ("synthetic images (mini-ILSVRC): absolute numbers are not comparable with the paper's; "
             "what transfers is the shape of the tables")
CONTRIB_OPENCV = "opencv-contrib-python==4.11.0.86"  # cv2.ximgproc (selective search)


def _install(session: nox.Session, extras: str = "", contrib: bool = False) -> None:
    session.install("-e", f".[{extras}]" if extras else ".")
    if contrib:
        # Installed after gluoncv's opencv-python so its cv2 (with ximgproc) is the one imported;
        # uninstalling opencv-python afterwards would break cv2.
        session.install(CONTRIB_OPENCV)


@contextlib.contextmanager
def _stage(session: nox.Session, name: str, timings: dict[str, float]):
    """Time one stage of a session and log it as `stage NAME: S s`."""
    start = time.monotonic()
    yield
    timings[name] = time.monotonic() - start
    session.log(f"stage {name}: {timings[name]:.1f} s")


def _log_timings(session: nox.Session, timings: dict[str, float]) -> None:
    stages = ", ".join(f"{name} {seconds:.0f} s" for name, seconds in timings.items())
    session.log(f"stages: {stages}; total {sum(timings.values()):.0f} s ({sum(timings.values()) / 60:.1f} min)")


def _real_args(session: nox.Session) -> list[str]:
    """The session's arguments after `--` (a real dataset and models), or [] for the embedded run."""
    return list(session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """Import contracts (import-linter: repro never imports protocols except the CLI entry and the
    report; no import cycles inside repro) and pyflakes/import order (ruff)."""
    session.install("import-linter==2.17", "ruff==0.17.6")
    session.install("-e", ".", "--no-deps")  # import-linter reads the sources; no MXNet needed
    session.run("lint-imports")
    session.run("ruff", "check", "repro", "protocols", "tests", "noxfile.py")


@nox.session
def tests(session: nox.Session) -> None:
    """Run the test suite (no network, no GPU, no ImageNet; uses ../shared/data when present)."""
    _install(session, "test,bench,canary", contrib=True)
    session.run("pytest", *(session.posargs or ["-q"]))


def _architecture(session: nox.Session) -> None:
    session.run("repro", "arch", "--variant", "paper", "--csv", f"{RESULTS}/table1_architecture.csv",
                "--markdown", f"{RESULTS}/table1_architecture.md")
    session.run("repro", "arch", "--variant", "gluoncv",
                "--csv", f"{RESULTS}/table1_architecture_gluoncv.csv",
                "--markdown", f"{RESULTS}/table1_architecture_gluoncv.md", silent=True)
    for number in (2, 3, 4, 5):
        session.run("repro", "table", str(number), "--out", RESULTS, silent=True)


@nox.session
def architecture(session: nox.Session) -> None:
    """Table 1 counted from the Gluon graph (paper and GluonCV variants) and the paper's Tables 2-5."""
    _install(session)
    _architecture(session)


def _mini(session: nox.Session) -> None:
    if not (MINI / "manifest.json").exists():
        session.run("repro", "data", "mini", "--out", str(MINI), "--jobs", "2")


def _members(session: nox.Session, count: int = 7) -> list[str]:
    """Train (or resume, or reuse) the first ``count`` members of the 7-member plan; their cards."""
    session.run("repro", "train-ensemble", "--data", str(MINI), "--recipe", "mini", "--members",
                str(count), "--jobs", "2", "--no-progress", "--out", str(MEMBERS))
    return [str(MEMBERS / f"member{k}" / "model.json") for k in range(1, count + 1)]


def _classification(session: nox.Session, real: list[str], timings: dict[str, float]) -> None:
    if real:
        with _stage(session, "evaluation (144 crops)", timings):
            session.run("repro", "evaluate", *real, "--crops", "144", "--store", str(STORES / "real"))
        with _stage(session, "Tables 2-3", timings):
            session.run("repro", "table", "3", "--store", str(STORES / "real"), "--out", RESULTS,
                        "--dataset-name", "ILSVRC2012 val (as given)")
        return
    with _stage(session, "mini-ILSVRC", timings):
        _mini(session)
    with _stage(session, "training (7 members)", timings):
        cards = _members(session)
    models = [arg for card in cards for arg in ("--model", card)]
    with _stage(session, "evaluation (7 members x 144 crops)", timings):
        session.run("repro", "evaluate", "--data", str(MINI), *models, "--crops", "144",
                    "--store", str(STORES / "mini"), "--batch-size", "288")
    with _stage(session, "Tables 2-3", timings):
        session.run("repro", "table", "3", "--store", str(STORES / "mini"), "--out", RESULTS,
                    "--dataset-name", "mini-ILSVRC (synthetic)", "--note", SYNTHETIC)


@nox.session
def classification(session: nox.Session) -> None:
    """Tables 2-3 (and plots) from a 144-crop evaluation: the embedded mini-ILSVRC with 7 trained
    members by default, or `-- --data DIR --model REF [--model REF ...]` for real ILSVRC2012."""
    _install(session)
    timings: dict[str, float] = {}
    _classification(session, _real_args(session), timings)
    _log_timings(session, timings)


def _detection(session: nox.Session, real: list[str]) -> None:
    data = real[real.index("--data") + 1] if "--data" in real else str(MINI)
    protocol = "paper" if real else "mini"
    if not real:
        _mini(session)
    cards = _members(session, 6)
    session.run("repro", "detect", "finetune", "--data", data, "--protocol", protocol,
                "--members", *cards, "--out", str(DET / "ft"), "--cache", str(DET / "proposals"))
    session.run("repro", "detect", "run", "--data", data, "--protocol", protocol,
                "--finetuned", str(DET / "ft"), "--cache", str(DET / "proposals"),
                "--out", str(DET / "run"))
    session.run("repro", "detect", "tables", "--run", str(DET / "run"), "--out", RESULTS)
    det = Path(data) / "det"
    for kind in ("single", "ensemble"):
        session.run("repro", "det-eval", str(DET / "run" / f"submission_{kind}.txt"),
                    "--gt-dir", str(det / "ILSVRC2013_DET_bbox_val"),
                    "--meta", str(det / "ILSVRC2014_devkit" / "data" / "meta_det.mat"),
                    "--list", str(DET / "run" / "val2.txt"),
                    "--blacklist", str(DET / "run" / "val2_blacklist.txt"),
                    "--csv", f"{RESULTS}/det_eval_{kind}.csv")


@nox.session
def detection(session: nox.Session) -> None:
    """Tables 4-5, the proposal table and per-class AP: R-CNN-style detection with 6 fine-tuned
    members on the embedded mini-ILSVRC (reusing the classification members), or `-- --data ROOT`."""
    _install(session, contrib=True)
    _detection(session, _real_args(session))


@nox.session
def canary(session: nox.Session) -> None:
    """The accuracy canary (protocols/canary.py): EfficientNet-Lite0's ImageNet weights (the canary
    extra) through `repro labels` + `repro evaluate` on the real images of ../shared/data (override
    with $REPRO_SHARED_DATA) — the 1,000 class samples in one 10-crop pass (1 and 10 crops), the 100
    ILSVRC2012 val images in one 144-crop pass (1/10/144) — and `repro table canary` into
    results/canary. On ONNX Runtime (MXNet runs this network ~5x slower); ~15 min on 2 idle cores."""
    _install(session, "bench,canary")
    devkit, stores = SHARED_DATA / "ilsvrc2014-devkit" / "data", CANARY / "stores"
    samples, val = SHARED_DATA / "imagenet-samples", SHARED_DATA / "ilsvrc2012-val-sample" / "test_images"
    session.run("repro", "labels", "--wnid-prefix", str(samples), "--images", "1000", "--per-class", "1",
                "--out", str(CANARY / "samples.csv"))
    session.run("repro", "labels", "--gt", str(devkit / "ILSVRC2014_clsloc_validation_ground_truth.txt"),
                "--meta", str(devkit / "meta_clsloc.mat"), "--keep-present", str(val), "--images", "100",
                "--out", str(CANARY / "val.csv"))
    for name, images, crops in (("samples", samples, "10"), ("val", val, "144")):
        session.run("repro", "evaluate", "--index", str(CANARY / f"{name}.csv"), "--images", str(images),
                    "--model", "efficientnet-lite0:pretrained", "--crops", crops, "--backend", "onnxruntime",
                    "--store", str(stores / name), "--no-progress")
    session.run("repro", "table", "canary", "--store", str(stores), "--out", RESULTS)


def _report(session: nox.Session) -> None:
    extra = ["--data", str(MINI)] if MINI.is_dir() else []
    for folder in (MEMBERS, STORES):
        extra += ["--inputs", str(folder)] if folder.is_dir() else []
    session.run("repro", "report", "--results", RESULTS, "--out", f"{RESULTS}/report", *extra)


@nox.session
def report(session: nox.Session) -> None:
    """The HTML + Markdown report (paper vs reproduction) from results/ and the cached stores."""
    _install(session)
    _report(session)


@nox.session
def bench(session: nox.Session) -> None:
    """Throughput against the machine's peak and peers in one run, into results/bench (~30 min on
    2 cores; `-- --quick` for a tiny run). Extra options go to `repro bench`."""
    _install(session, "bench")
    session.run("repro", "bench", "--out", f"{RESULTS}/bench", *session.posargs)
    _report(session)  # the report's throughput section reads results/bench


@nox.session
def reproduce(session: nox.Session) -> None:
    """The main job, on the embedded mini-ILSVRC by default: Table 1, the 7-member ensemble trained
    and evaluated with 1/10/144 crops (Tables 2-3, plots), detection (Tables 4-5), and the report.
    `-- --data DIR --model REF ...` evaluates real ILSVRC2012 instead (classification only)."""
    _install(session, contrib=True)
    real = _real_args(session)
    timings: dict[str, float] = {}
    with _stage(session, "architecture (Tables 1, 2-5 as printed)", timings):
        _architecture(session)
    _classification(session, real, timings)
    if not real:
        with _stage(session, "detection (Tables 4-5)", timings):
            _detection(session, real)
    with _stage(session, "report", timings):
        _report(session)
    _log_timings(session, timings)
