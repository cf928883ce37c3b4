"""Training: patch sampling, epoch plans, schedule, Polyak averaging, and tiny end-to-end runs that must
be deterministic, resumable after SIGKILL and evaluable through their model card."""
from __future__ import annotations

import csv
import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import mxnet as mx
import numpy as np
import pytest
from mxnet.gluon import nn
from support import TINY, make_mini, train_args

from repro.cli import main
from repro.compute_threads import compute_threads
from repro.errors import ReproError
from repro.models.refs import load_model, parse_ref
from repro.train.augment import distort_colours, patch_box, sample_patch
from repro.train.config import make_config
from repro.train.data import epoch_plan
from repro.train.kvstore import Distribution
from repro.train.loop import LOG_COLUMNS, lr_scheduler
from repro.train.network import build_networks, initialize_classifiers
from repro.train.polyak import PolyakAverage
from repro.train.recipe import ENSEMBLES, RECIPES, SAMPLINGS, Photometric, SamplingSpec


@pytest.fixture(scope="module")
def mini(tmp_path_factory) -> Path:
    return make_mini(tmp_path_factory.mktemp("mini"))


@pytest.fixture(scope="module")
def trained(mini, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("run") / "out"
    assert main(train_args(mini, out)) == 0
    return out


# --- patch sampling -------------------------------------------------------------------------------

def test_patches_respect_the_area_and_aspect_ranges_or_fall_back_to_the_whole_image():
    spec = SAMPLINGS.get("paper")
    rng = np.random.default_rng(0)
    width, height = 400, 300
    for _ in range(500):
        x0, y0, x1, y1 = patch_box(width, height, spec, rng)
        assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height
        w, h = x1 - x0, y1 - y0
        if (w, h) == (width, height):
            continue
        assert 0.08 * 0.97 <= w * h / (width * height) <= 1.0
        assert 3 / 4 - 0.02 <= w / h <= 4 / 3 + 0.02
    impossible = dataclasses.replace(spec, id="t", area=(1.0, 1.0), aspect=(2.0, 2.0))
    assert patch_box(50, 50, impossible, rng) == (0, 0, 50, 50)


def test_a_patch_is_a_pure_function_of_its_generator(tmp_path):
    image = cv2.imread(str(_jpeg(tmp_path)))[:, :, ::-1].copy()
    spec = SAMPLINGS.get("paper")
    first = sample_patch(image, spec, 80, np.random.default_rng([1, 2, 3]))
    again = sample_patch(image, spec, 80, np.random.default_rng([1, 2, 3]))
    other = sample_patch(image, spec, 80, np.random.default_rng([1, 2, 4]))
    assert first.shape == (80, 80, 3) and first.dtype == np.uint8
    assert np.array_equal(first, again) and not np.array_equal(first, other)


def test_without_randomness_a_patch_is_the_resized_image(tmp_path):
    image = cv2.imread(str(_jpeg(tmp_path)))[:, :, ::-1].copy()
    square = image[:90, :90]
    plain = SamplingSpec(id="t", version=1, area=(1.0, 1.0), aspect=(1.0, 1.0), interpolations=("area",),
                         photometric=None, mirror=False)
    patch = sample_patch(np.ascontiguousarray(square), plain, 45, np.random.default_rng(0))
    assert np.array_equal(patch, cv2.resize(square, (45, 45), interpolation=cv2.INTER_AREA))


def test_colour_distortion_of_zero_strength_is_identity_and_brightness_scales():
    patch = np.random.default_rng(0).integers(0, 200, size=(8, 8, 3)).astype(np.float32)
    none = Photometric(brightness=0, contrast=0, saturation=0, lighting_std=0)
    assert np.array_equal(distort_colours(patch.copy(), none, np.random.default_rng(1)), patch.astype(np.uint8))
    brighter = Photometric(brightness=0.5, contrast=0, saturation=0, lighting_std=0)
    out = distort_colours(patch.copy(), brighter, np.random.default_rng(1)).astype(float)
    ratio = out[patch > 50] / patch[patch > 50]
    assert np.ptp(ratio) < 0.05 and 0.5 <= ratio.mean() <= 1.5 and abs(ratio.mean() - 1) > 1e-3


def _jpeg(tmp_path: Path) -> Path:
    pixels = np.random.default_rng(5).integers(0, 256, size=(120, 160, 3), dtype=np.uint8)
    path = tmp_path / "im.JPEG"
    assert cv2.imwrite(str(path), cv2.GaussianBlur(pixels, (5, 5), 0))
    return path


# --- epochs, schedule, averaging ------------------------------------------------------------------

def test_epoch_plans_shard_disjointly_with_equal_steps_and_change_every_epoch():
    plans = [epoch_plan(103, 5, data_seed=7, epoch=2, rank=r, workers=3) for r in range(3)]
    rows = np.concatenate([p.rows.ravel() for p in plans])
    assert len(set(rows.tolist())) == len(rows) == 3 * 6 * 5
    assert {p.steps for p in plans} == {6}
    assert np.array_equal(plans[0].rows, epoch_plan(103, 5, 7, 2, 0, 3).rows)
    assert not np.array_equal(plans[0].rows, epoch_plan(103, 5, 7, 3, 0, 3).rows)
    with pytest.raises(ReproError, match="cannot fill one batch"):
        epoch_plan(9, 5, 0, 0, 0, 2)


def _with_schedule(config, **changes):
    schedule = dataclasses.replace(config.recipe.schedule, **changes)
    return dataclasses.replace(config, recipe=dataclasses.replace(config.recipe, schedule=schedule))


def test_the_learning_rate_drops_4_percent_per_compressed_period_counted_in_updates():
    config = _with_schedule(make_config("googlenet-paper", "mini", base_lr=0.1), compression=8.0,
                            warmup_epochs=0.0)  # every epoch
    assert config.recipe.schedule.epochs_per_decay == 1.0
    local = lr_scheduler(config, steps_per_epoch=10, distribution=Distribution(None, 0, 1))
    assert [local(n) for n in (1, 10)] == [0.1, 0.1]
    assert local(11) == pytest.approx(0.096) and local(31) == pytest.approx(0.1 * 0.96 ** 3)
    paper = make_config("googlenet-paper", "paper")
    assert lr_scheduler(paper, 10, Distribution(None, 0, 1)).step == 80
    assert "compressed x8" in config.recipe.schedule.describe()


def test_a_warm_up_rises_linearly_from_zero_then_the_decay_applies():
    config = _with_schedule(make_config("googlenet-paper", "mini", base_lr=0.1), compression=8.0,
                            warmup_epochs=1.0)
    local = lr_scheduler(config, steps_per_epoch=10, distribution=Distribution(None, 0, 1))
    assert [local(n) for n in (0, 5)] == [pytest.approx(0.0), pytest.approx(0.05)]
    assert local(10) == pytest.approx(0.1) and local(31) == pytest.approx(0.1 * 0.96 ** 3)
    assert "warm-up from 0 over the first 1 epochs" in config.recipe.schedule.describe()
    paper = RECIPES.get("paper")  # the paper's recipe keeps no warm-up and the network's initialisation
    assert paper.schedule.warmup_epochs == 0 and paper.classifier_init_std is None


@pytest.mark.parametrize("std", [0.0, 0.01])
def test_a_classifier_initialisation_makes_the_initial_logits_small_and_keeps_the_trunk(std):
    x = mx.nd.array(np.random.default_rng(0).normal(size=(4, 3, 80, 80)))
    (_, xavier, _), (_, small, _) = (build_networks("googlenet-paper", 5, 0.125, 80, 3, s) for s in (None, std))
    with mx.autograd.train_mode():
        before, after = xavier(x), small(x)
    assert len(after) == 3  # main, aux 4a, aux 4d
    for big, little in zip(before, after):
        assert float(big.asnumpy().std()) > 1.0  # Xavier's logits: several units
        assert float(little.asnumpy().std()) <= (0 if std == 0 else 0.25 * float(big.asnumpy().std()))
    trunk = [name for name in xavier._collect_params_with_prefix() if name.startswith("conv1")]
    assert trunk and all(np.array_equal(xavier._collect_params_with_prefix()[n].data().asnumpy(),
                                        small._collect_params_with_prefix()[n].data().asnumpy()) for n in trunk)
    again = build_networks("googlenet-paper", 5, 0.125, 80, 3, std)[1]
    assert np.array_equal(again.linear.weight.data().asnumpy(), small.linear.weight.data().asnumpy())
    with pytest.raises(ReproError, match="classifier layers"):
        initialize_classifiers(nn.Dense(3, in_units=2), 0.0, 0)


def test_polyak_average_is_the_warmed_up_exponential_moving_average():
    trained, average = nn.Dense(3, in_units=2), nn.Dense(3, in_units=2)
    trained.initialize(mx.init.Constant(1.0))
    average.initialize(mx.init.Constant(0.0))
    polyak = PolyakAverage(average, trained, decay=0.5)
    polyak.reset()
    expected = np.ones((3, 2))
    for value in (3.0, 5.0, 7.0):
        trained.weight.set_data(mx.nd.full((3, 2), value))
        decay = min(0.5, (1 + polyak.updates) / (10 + polyak.updates))
        expected = decay * expected + (1 - decay) * value
        polyak.update()
    np.testing.assert_allclose(average.weight.data().asnumpy(), expected, rtol=1e-6)
    assert polyak.updates == 3


def test_polyak_average_updates_every_parameter_of_a_network_with_more_than_one_fused_call():
    def network():
        net = nn.HybridSequential()
        net.add(*[nn.Dense(2, in_units=2) for _ in range(40)])  # 80 parameters: two fused calls
        return net
    trained, average = network(), network()
    trained.initialize(mx.init.Uniform(1.0))
    average.initialize(mx.init.Zero())
    polyak = PolyakAverage(average, trained, decay=0.9)
    polyak.reset()
    pairs = list(zip(average.collect_params().values(), trained.collect_params().values()))
    expected = [t.data().asnumpy() for _, t in pairs]
    for step in range(3):
        for _, t in pairs:
            t.set_data(t.data() + step + 1.0)
        decay = polyak.current_decay()
        expected = [decay * e + (1 - decay) * t.data().asnumpy() for e, (_, t) in zip(expected, pairs)]
        polyak.update()
    for e, (mine, _) in zip(expected, pairs):
        np.testing.assert_allclose(mine.data().asnumpy(), e, rtol=1e-5, atol=1e-6)


def test_the_ensemble_plan_shares_the_init_seed_and_makes_one_member_wider():
    plan = ENSEMBLES.get("paper-7")
    assert len(plan.members) == 7
    assert len({m.data_seed for m in plan.members}) == 7
    assert [m.width_factor > 1 for m in plan.members].count(True) == 1
    assert all(m.sampling in SAMPLINGS for m in plan.members)
    assert len({m.name(0.25) for m in plan.members}) == 7


# --- end to end -----------------------------------------------------------------------------------

def test_a_run_writes_weights_card_log_and_manifest_and_the_card_evaluates(mini, trained):
    record = json.loads((trained / "manifest.json").read_text())
    rows = list(csv.DictReader((trained / "log.csv").open()))
    assert [int(r["epoch"]) for r in rows] == [1, 2] and tuple(rows[0]) == LOG_COLUMNS
    assert all(0 <= float(r["polyak_val_top1_err"]) <= 1 and float(r["lr"]) > 0 for r in rows)
    assert record["config"]["recipe"]["schedule"]["momentum"] == 0.9
    assert record["config"]["recipe"]["aux_weight"] == 0.3
    recipe = RECIPES.get("mini")  # the recipe's own values are recorded with the run
    assert record["config"]["recipe"]["classifier_init_std"] == recipe.classifier_init_std
    assert record["config"]["recipe"]["schedule"]["warmup_epochs"] == recipe.schedule.warmup_epochs
    assert record["dataset"]["train_images"] == 32 and record["dataset"]["classes"] == 2
    assert not list(trained.glob("checkpoint-e*"))
    card = json.loads((trained / "model.json").read_text())
    assert card["params"] == "polyak.params" and card["input_size"] == 80 and card["classes"] == 2
    model = load_model(parse_ref(str(trained / "model.json")))
    assert model.weights_sha256 == record["polyak_weights_sha256"]
    assert model.weights_sha256 != record["last_weights_sha256"]


def test_same_seed_gives_identical_weights_and_another_data_seed_does_not(mini, trained, tmp_path):
    assert main(train_args(mini, tmp_path / "again")) == 0
    assert main(train_args(mini, tmp_path / "other", "--data-seed", "1")) == 0
    first, again, other = (json.loads((p / "manifest.json").read_text())
                           for p in (trained, tmp_path / "again", tmp_path / "other"))
    for key in ("last_weights_sha256", "polyak_weights_sha256"):
        assert first[key] == again[key] != other[key]
    assert (trained / "last.params").read_bytes() == (tmp_path / "again" / "last.params").read_bytes()


@pytest.mark.slow
@pytest.mark.faults
def test_a_run_killed_after_an_epoch_resumes_to_the_uninterrupted_weights(mini, tmp_path):
    reference, killed = tmp_path / "reference", tmp_path / "killed"
    # the reference through the CLI too: it sizes the compute threads, and float sums differ with them
    done = subprocess.run([sys.executable, "-m", "repro", *train_args(mini, reference, epochs=4)],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    proc = subprocess.Popen([sys.executable, "-m", "repro", *train_args(mini, killed, epochs=4)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not list(killed.glob("checkpoint-e*")) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read().decode()
    assert not (killed / "manifest.json").exists(), "the kill landed after the run finished"
    resumed = subprocess.run([sys.executable, "-m", "repro", *train_args(mini, killed, epochs=4)],
                             capture_output=True, text=True, timeout=300, check=False)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming after epoch" in resumed.stdout
    record = json.loads((killed / "manifest.json").read_text())
    assert record["resumed_after_epoch"] >= 1
    assert record["last_weights_sha256"] == json.loads((reference / "manifest.json").read_text())["last_weights_sha256"]
    assert (killed / "polyak.params").read_bytes() == (reference / "polyak.params").read_bytes()
    logged = [r["loss"] for r in csv.DictReader((killed / "log.csv").open())]
    assert logged == [r["loss"] for r in csv.DictReader((reference / "log.csv").open())]


def test_a_finished_run_is_not_redone_and_other_options_are_refused(mini, trained, capsys):
    before = (trained / "manifest.json").read_bytes()
    assert main(train_args(mini, trained)) == 0
    assert "already trained" in capsys.readouterr().out
    assert (trained / "manifest.json").read_bytes() == before
    assert main(train_args(mini, trained, epochs=3)) == 2
    assert "recipe.schedule.epochs" in capsys.readouterr().err


def test_too_small_an_input_and_a_missing_layout_fail_clearly(mini, tmp_path, capsys):
    assert main(["train", "--data", str(mini), "--out", str(tmp_path / "o"), "--recipe", "mini",
                 "--input-size", "64", "--width", "0.125", "--no-progress"]) == 2
    assert "input size 64" in capsys.readouterr().err
    assert main(["train", "--data", str(tmp_path), "--out", str(tmp_path / "o"), "--no-progress"]) == 2
    assert "train is missing" in capsys.readouterr().err


def test_dist_kvstore_without_a_launcher_environment_is_refused(mini, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("DMLC_ROLE", raising=False)
    assert main(train_args(mini, tmp_path / "o", "--kvstore", "dist_sync")) == 2
    assert "repro launch" in capsys.readouterr().err


@pytest.mark.slow
def test_train_ensemble_trains_members_with_shared_init_and_lists_their_cards(mini, tmp_path, capsys):
    out = tmp_path / "ens"
    assert main(["train-ensemble", "--data", str(mini), "--out", str(out), "--members", "2", "--epochs", "1",
                 "--jobs", "2", *TINY]) == 0
    summary = json.loads((out / "ensemble.json").read_text())
    assert [m["card"] for m in summary["members"]] == ["member1/model.json", "member2/model.json"]
    manifests = [json.loads((out / f"member{k}" / "manifest.json").read_text()) for k in (1, 2)]
    assert {m["config"]["init_seed"] for m in manifests} == {0}
    assert [m["config"]["sampling"]["id"] for m in manifests] == ["paper", "small-crops"]
    own = compute_threads()  # each of the 2 processes: the cores / 2 (the user's value if set)
    want = (own.threads, "user") if own.origin == "user" else (max(1, len(os.sched_getaffinity(0)) // 2), "parent")
    for record in manifests:
        assert (record["machine"]["compute_threads"]["threads"], record["machine"]["compute_threads"]["origin"]) == want
    names = [json.loads((out / m["card"]).read_text())["name"] for m in summary["members"]]
    assert names == ["member1-w0.125", "member2-w0.125"]
    assert main(["train-ensemble", "--data", str(mini), "--out", str(out), "--members", "2", "--epochs", "1",
                 *TINY]) == 0
    assert capsys.readouterr().out.count("already trained") == 2
    # with --jobs 2 the parent finds them trained too, without starting a process per member
    assert main(["train-ensemble", "--data", str(mini), "--out", str(out), "--members", "2", "--epochs", "1",
                 "--jobs", "2", *TINY]) == 0
    assert capsys.readouterr().out.count("already trained") == 2
