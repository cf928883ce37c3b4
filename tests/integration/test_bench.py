"""`repro bench`: a tiny run writes every table, the plot and the summary; targets are judged right.

No timed asserts: speeds are whatever this (shared) machine gives; the tests check that every number
is there, consistent with the others, and that the target logic says met/not met correctly.
"""
from __future__ import annotations

import json

import pandas as pd
import pytest

from repro.bench.images import generate_images
from repro.bench.machine import describe_machine
from repro.bench.targets import add_bounds, check_targets
from repro.cli import main
from repro.data.mini.config import MiniConfig
from repro.data.mini.generate import generate
from repro.models.refs import load_model, parse_ref

pytestmark = pytest.mark.slow  # minutes on 2 cores: left out by -m 'not slow'


def _member(folder, seed: int) -> str:
    """A model card with seeded random weights: a stand-in for a trained member."""
    model = load_model(parse_ref("googlenet-paper", classes=2, width=0.25, input_size=64, seed=seed))
    folder.mkdir(parents=True)
    model.net.save_parameters(str(folder / "weights.params"))
    card = {"spec": "googlenet-paper", "params": "weights.params", "classes": 2, "width": 0.25,
            "input_size": 64, "seed": seed, "name": folder.name}
    (folder / "model.json").write_text(json.dumps(card))
    return str(folder / "model.json")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("bench")
    images = generate_images(root / "images", 8)
    generate(root / "mini", MiniConfig(classes=2, train_per_class=2, val_per_class=3, det_images=1))
    members = [_member(root / f"m{seed}", seed) for seed in (1, 2)]
    out = root / "out"
    pytest.importorskip("onnxruntime", reason="the bench extra (onnx, onnxruntime) is not installed")
    assert main(["bench", "--quick", "--out", str(out), "--images", str(images),
                 "--backends", "mxnet,onnxruntime,mxnet-int8", "--member", members[0],
                 "--member", members[1], "--agreement-data", str(root / "mini")]) == 0
    return out


def test_bare_network_rows_and_flops_are_consistent(run):
    bare = pd.read_csv(run / "bare_network.csv")
    machine = json.loads((run / "machine.json").read_text())
    assert sorted(zip(bare["backend"], bare["batch"])) == sorted(
        (b, n) for b in ("mxnet", "onnxruntime", "mxnet-int8") for n in (1, 4))
    assert (bare["crops_per_s_min"] <= bare["crops_per_s"]).all()
    assert (bare["crops_per_s"] <= bare["crops_per_s_max"]).all()
    flops = bare["crops_per_s"] * 2 * bare["macs_per_crop"] / 1e9
    assert (abs(flops - bare["gflops"]) <= 0.051).all()
    if machine["peak_gflops"]:
        assert (abs(bare["peak_fraction"] - bare["gflops"] / machine["peak_gflops"]) < 1e-3).all()
    assert set(bare["precision"]) == {"fp32", "int8"}


def test_end_to_end_covers_every_scheme_with_its_bound(run):
    e2e = pd.read_csv(run / "end_to_end.csv")
    assert sorted(set(zip(e2e["crops_per_image"], e2e["images"]))) == [(1, 6), (10, 3), (144, 2)]
    assert len(e2e) == 9
    bare_best = pd.read_csv(run / "bare_network.csv").groupby("backend")["crops_per_s"].max()
    expected = [bare_best[b] / n for b, n in zip(e2e["backend"], e2e["crops_per_image"])]
    assert (abs(e2e["bound_images_per_s"] - expected) <= 1e-3 * pd.Series(expected) + 1e-3).all()
    memory = pd.read_csv(run / "memory.csv")
    assert list(memory["backend"]) == ["mxnet", "onnxruntime", "mxnet-int8", "mxnet", "mxnet"]
    assert list(memory["images"]) == [2, 2, 2, 4, 8] and (memory["crops_per_image"] == 144).all()
    assert (memory["peak_rss_mb"] > 100).all()  # a whole interpreter with MXNet: never tiny


def test_peers_and_ours_on_the_single_crop_task(run):
    peers = pd.read_csv(run / "peers.csv")
    assert {"ours (mxnet)", "ours (onnxruntime)", "onnxruntime-loop", "gluoncv-loop"} <= set(peers["peer"])
    best_ours = peers[peers["peer"].str.startswith("ours")]["images_per_s"].max()
    assert (abs(peers["ours_over_peer"] - best_ours / peers["images_per_s"]) < 2e-3 * peers["ours_over_peer"]
            + 1e-3).all()


def test_agreement_of_int8_with_fp32_on_the_labelled_set(run):
    agreement = pd.read_csv(run / "agreement.csv")
    assert set(agreement["backend"]) == {"mxnet-int8"}
    assert sorted(set(zip(agreement["member"], agreement["crops"]))) == sorted(
        (m, c) for m in ("m1", "m2", "ensemble") for c in (1, 10, 144))
    assert (agreement["images"] == 6).all()
    assert agreement[["top1_agreement", "top5_agreement"]].stack().between(0, 1).all()
    diff = agreement["mode_top1_err"] - agreement["fp32_top1_err"]
    assert (abs(diff - agreement["top1_err_diff"]) < 1e-3).all()


def test_targets_summary_plot_and_manifest(run):
    targets = pd.read_csv(run / "targets.csv")
    assert {"144-crop end to end >= 90% of bare bound", "fp32 single-crop images/s >= fastest peer",
            "int8 >= 3.0x fp32 crops/s", "mxnet-int8 agreement with fp32 reported",
            "memory flat in dataset size (144 crops)"} <= set(targets["target"])
    assert set(targets["met"]) <= {"yes", "NO", "n/a"}
    assert (run / "bench.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = (run / "summary.md").read_text()
    machine = json.loads((run / "machine.json").read_text())
    assert machine["cpu"] in summary and "### Targets" in summary
    record = json.loads((run / "manifest.json").read_text())
    assert record["command"].startswith("repro ") and record["config"]["models"] == ["googlenet-paper"]


def test_machine_peak_is_the_product_of_its_parts():
    machine = describe_machine()
    if machine.peak_gflops is None:
        assert machine.method  # the reason is stated
        return
    assert machine.fma_pipes >= 1 and machine.lanes in (8, 16)
    product = machine.physical_cores * machine.clock_ghz * machine.lanes * 2 * machine.fma_pipes
    assert abs(product - machine.peak_gflops) <= 0.01 * product
    assert f"{machine.physical_cores} cores" in machine.description()


def _bare(backend, precision, batch, rate, model="m"):
    return {"model": model, "backend": backend, "precision": precision, "batch": batch,
            "crops_per_s": rate, "gflops": rate * 3.0, "peak_gflops": 500.0,
            "peak_fraction": rate * 3.0 / 500.0}


def test_targets_are_judged_against_the_fastest_fp32_backend():
    bare = pd.DataFrame([_bare("mxnet", "fp32", 8, 100.0), _bare("onnxruntime", "fp32", 8, 140.0),
                         _bare("mxnet-int8", "int8", 32, 430.0), _bare("mxnet-bf16", "bf16", 32, 150.0)])
    e2e = add_bounds(bare, pd.DataFrame([
        {"model": "m", "backend": "onnxruntime", "crops_per_image": 144, "images": 4,
         "images_per_s": 0.95 * 140 / 144},
        {"model": "m", "backend": "mxnet", "crops_per_image": 144, "images": 4, "images_per_s": 0.5}]))
    peers = pd.DataFrame([{"peer": "ours (onnxruntime)", "model": "m", "images_per_s": 100.0},
                          {"peer": "onnxruntime-loop", "model": "m", "images_per_s": 120.0}])
    memory = pd.DataFrame([{"model": "m", "backend": "mxnet", "images": 4, "peak_rss_mb": 800.0},
                           {"model": "m", "backend": "onnxruntime", "images": 4, "peak_rss_mb": 900.0},
                           {"model": "m", "backend": "mxnet", "images": 8, "peak_rss_mb": 1000.0},
                           {"model": "m", "backend": "mxnet", "images": 16, "peak_rss_mb": 1020.0}])
    targets = check_targets(bare, e2e, peers, pd.DataFrame(), memory).set_index(["target", "model"])
    met = targets["met"]
    assert met["144-crop end to end >= 90% of bare bound", "m / onnxruntime"] == "yes"
    assert met["144-crop end to end >= 90% of bare bound", "m / mxnet"] == "NO"
    assert met["fp32 single-crop images/s >= fastest peer", "m"] == "NO"
    assert met["int8 >= 3.0x fp32 crops/s", "m"] == "yes"  # 430 / 140 = 3.07
    assert met["bf16 >= 1.2x fp32 crops/s", "m"] == "NO"  # 150 / 140, though 1.5x plain MXNet
    assert met["fp32 bare network >= 80% of peak FLOP/s", "m"] == "yes"  # 420 of 500 GFLOP/s
    assert met["memory flat in dataset size (144 crops)", "m / mxnet"] == "yes"
    assert targets.loc[("int8 >= 3.0x fp32 crops/s", "m"), "measured"] == pytest.approx(430 / 140, abs=1e-4)


def test_bench_refuses_an_unknown_backend_before_measuring(tmp_path, capsys):
    assert main(["bench", "--quick", "--out", str(tmp_path), "--backends", "mxnet,onnxrun"]) == 2
    assert "Did you mean onnxruntime" in capsys.readouterr().err
    assert not (tmp_path / "bare_network.csv").exists()
