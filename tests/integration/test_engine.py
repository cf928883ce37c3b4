"""The evaluation engine and store: exactness, ensembles, resume after SIGKILL, shards, bad files."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import mxnet as mx
import numpy as np
import pytest
from support import CLASSES, CROP, WIDTH, cli_args, make_dataset

from protocols.classification import table3
from repro.cli import main
from repro.data.decode import decode_image
from repro.data.ilsvrc.labels import LabelIndex
from repro.engine.crops import extract_crops, get_scheme
from repro.engine.evaluate import EvaluationSettings, ImageSource, evaluate
from repro.engine.members import combine, open_members
from repro.engine.reductions import reductions_for
from repro.engine.store import ModelStore, list_models
from repro.errors import ReproError
from repro.metrics.classification import topk_correct
from repro.models.backends import AUTO_BACKENDS
from repro.models.classifier import Classifier, prepare_for_inference
from repro.models.refs import load_model, parse_ref


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    make_dataset(root, 6)
    return root


@pytest.fixture(scope="module")
def store(dataset, tmp_path_factory):
    path = tmp_path_factory.mktemp("store") / "s"
    assert main(cli_args(dataset, path)) == 0
    return path


def only_model(store_path: Path) -> ModelStore:
    (key,) = list_models(store_path)
    return ModelStore.open(store_path, key)


def direct_probabilities(dataset: Path) -> np.ndarray:
    """(images, 144, classes): every crop through a freshly built model, no engine involved."""
    ref = parse_ref("googlenet-paper", classes=CLASSES, width=WIDTH, input_size=CROP)
    model = load_model(ref)
    clf = prepare_for_inference(Classifier(model.net, model.spec))
    index = LabelIndex.from_csv(dataset / "index.csv")
    scheme = get_scheme("144").for_crop_size(CROP)
    out = []
    for name in index.filenames:
        crops = extract_crops(decode_image(dataset / "images" / name), scheme)
        out.append(clf(mx.nd.array(crops, dtype="uint8")).asnumpy())
    return np.stack(out)


def test_store_holds_every_reduction_equal_to_direct_computation(dataset, store):
    probs = direct_probabilities(dataset)
    model_store = only_model(store)
    scheme = get_scheme("144").for_crop_size(CROP)
    for reduction in reductions_for(scheme):
        stored, valid = model_store.load(reduction.name)
        assert valid.all()
        picked = probs[:, list(reduction.indices)]
        want = picked.mean(axis=1) if reduction.op == "mean" else picked.max(axis=1)
        np.testing.assert_allclose(stored, want, rtol=1e-5, atol=1e-7, err_msg=reduction.name)
    # The subsets are what the paper defines: mean-10 uses the 10 crops at indices 12..21.
    assert reductions_for(scheme)[1].indices == tuple(range(12, 22))


def test_table3_from_store_equals_recomputation(dataset, store):
    probs = direct_probabilities(dataset)
    labels = np.array(LabelIndex.from_csv(dataset / "index.csv").class_indices)
    frame = table3(open_members(store)).set_index("crops")
    for crops, indices in ((1, [20]), (10, list(range(12, 22))), (144, list(range(144)))):
        mean = probs[:, indices].mean(axis=1)
        want5 = 1 - topk_correct(mean, labels, 5).mean()
        want1 = 1 - topk_correct(mean, labels, 1).mean()
        assert frame.loc[crops, "top5_err"] == pytest.approx(want5)
        assert frame.loc[crops, "top1_err"] == pytest.approx(want1)
        assert frame.loc[crops, "n_evaluated"] == 6


def test_table3_costs_are_the_members_measured_seconds_per_image(dataset, store, tmp_path):
    (run,) = json.loads(only_model(store).run_path((1, 1)).read_text())
    assert (run["images_computed"], run["crops_per_image"], run["models_in_run"]) == (6, 144, 1)
    assert run["machine"]["compute_threads"]["origin"] and run["machine"]["cpu_model"]  # in-process: "mxnet"
    alone = (run["forward_seconds"] + run["wall_seconds"] - run["forward_seconds_all_models"]) / 6
    frame = table3(open_members(store)).set_index("crops")
    assert frame.loc[144, "seconds_per_image"] == pytest.approx(alone)
    assert frame.loc[10, "seconds_per_image"] == pytest.approx(alone * 10 / 144)  # the same pass, scaled
    assert run["machine"]["cpu_model"] in frame.loc[1, "machine"]
    # Two models in one run, in two shards: each model's share of each run, over all its images.
    both = tmp_path / "both"
    for shard in ("1/2", "2/2"):
        assert main(cli_args(dataset, both, "--shard", shard) + ["--model", "googlenet-bvlc"]) == 0
    members = open_members(both)
    shares = []
    for member in members.stores:
        runs = [r for records in member.run_records().values() for r in records]
        assert sum(r["images_computed"] for r in runs) == 6 and {r["models_in_run"] for r in runs} == {2}
        shares.append(sum(r["forward_seconds"] + (r["wall_seconds"] - r["forward_seconds_all_models"]) / 2
                          for r in runs) / 6)
    two = table3(members).set_index(["models", "crops"])
    assert two.loc[(2, 144), "seconds_per_image"] == pytest.approx(sum(shares))
    assert two.loc[(1, 144), "seconds_per_image"] == pytest.approx(shares[0])
    # Run records from before the cost fields: no measured cost, never a guess.
    for member in members.stores:
        for path in (member.dir / "runs").iterdir():
            records = [{k: v for k, v in r.items() if k != "images_computed"} for r in json.loads(path.read_text())]
            path.write_text(json.dumps(records))
    assert table3(open_members(both))["seconds_per_image"].isna().all()


def test_ensemble_of_one_is_the_model_and_mean_of_two_is_the_mean(dataset, store, tmp_path):
    members = open_members(store)
    single, _ = combine(members, 144, "mean")
    alone, _ = only_model(store).load("mean-144")
    np.testing.assert_array_equal(single, alone)
    second = tmp_path / "second"
    assert main(cli_args(dataset, second, seed=7)) == 0
    other, _ = only_model(second).load("mean-144")
    both_root = tmp_path / "both"
    both_root.mkdir()
    for source in (store, second):
        key = list_models(source)[0]
        os.symlink(source / key, both_root / key)
    os.symlink(store / "index.csv", both_root / "index.csv")
    pair = open_members(both_root)
    assert len(pair.stores) == 2
    mean, valid = combine(pair, 144, "mean")
    np.testing.assert_allclose(mean, (alone.astype(np.float64) + other) / 2, rtol=1e-6)
    maxmean, _ = combine(pair, 144, "max-mean")
    a_max, _ = only_model(store).load("max-144")
    b_max, _ = only_model(second).load("max-144")
    np.testing.assert_allclose(maxmean, (a_max.astype(np.float64) + b_max) / 2, rtol=1e-6)


def test_repeated_run_gives_a_bit_identical_store(dataset, store, tmp_path):
    again = tmp_path / "again"
    assert main(cli_args(dataset, again)) == 0
    a, b = only_model(store), only_model(again)
    assert a.content_sha256() == b.content_sha256()
    for chunk in range(a.spec.n_chunks):
        assert a.chunk_path(chunk).read_bytes() == b.chunk_path(chunk).read_bytes()


def test_resume_after_sigkill_gives_identical_store(tmp_path, store):
    data = tmp_path / "data"
    make_dataset(data, 6)
    killed = tmp_path / "killed"
    command = [sys.executable, "-m", "repro", *cli_args(data, killed)]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    chunks = killed / list_models_wait(killed, proc) / "chunks"
    deadline = time.monotonic() + 120
    while not list(chunks.glob("c*.npz")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    written = len(list(chunks.glob("c*.npz")))
    assert 1 <= written < 3, f"kill landed after {written} of 3 chunks; the test needs a partial store"
    assert main(cli_args(data, killed)) == 0
    assert only_model(killed).content_sha256() == only_model(store).content_sha256()


def list_models_wait(store_path: Path, proc: subprocess.Popen) -> str:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        keys = list_models(store_path)
        if keys:
            return keys[0]
        if proc.poll() is not None:
            raise AssertionError(f"evaluate exited early: {proc.stderr.read().decode()}")
        time.sleep(0.01)
    raise AssertionError("evaluate never created its store")


def test_shards_then_merge_equal_one_run(dataset, store, tmp_path):
    sharded = tmp_path / "sharded"
    assert main(cli_args(dataset, sharded, "--shard", "1/2")) == 0
    partial = only_model(sharded)
    assert partial.missing_chunks() == [1] and not partial.manifest_path().exists()
    with pytest.raises(ReproError, match="incomplete"):
        partial.load("mean-144")
    assert main(["merge", "--store", str(sharded)]) == 2  # shard 2/2 still missing
    elsewhere = tmp_path / "elsewhere"
    assert main(cli_args(dataset, elsewhere, "--shard", "2/2")) == 0
    assert main(["merge", "--store", str(sharded), "--from", str(elsewhere)]) == 0
    assert only_model(sharded).content_sha256() == only_model(store).content_sha256()
    manifest = json.loads(only_model(sharded).manifest_path().read_text())
    assert manifest["n_evaluated"] == 6 and len(manifest["chunk_sha256"]) == 3


def test_a_shard_claimed_twice_fails_clearly(dataset, tmp_path):
    target = tmp_path / "locked"
    assert main(cli_args(dataset, target, "--shard", "2/2")) == 0
    with only_model(target).lock((1, 2)):
        with pytest.raises(ReproError, match="being written by pid"):
            source = ImageSource(LabelIndex.from_csv(dataset / "index.csv"), dataset / "images")
            ref = parse_ref("googlenet-paper", classes=CLASSES, width=WIDTH, input_size=CROP)
            evaluate(source, get_scheme("144").for_crop_size(CROP), [load_model(ref)], target,
                     EvaluationSettings(chunk_min_images=2, shard=(1, 2), progress=False))


def test_a_store_of_another_scheme_is_refused(dataset, store, capsys):
    args = cli_args(dataset, store)
    args[args.index("--crops") + 1] = "10"
    assert main(args) == 2
    assert "was made for a different run" in capsys.readouterr().err


def test_unreadable_image_fails_naming_it_and_miss_mode_counts_it(tmp_path, capsys):
    data = tmp_path / "data"
    make_dataset(data, 6)
    broken = data / "images" / "img_0003.JPEG"
    broken.write_bytes(broken.read_bytes()[:200])  # truncated JPEG
    target = tmp_path / "s"
    assert main(cli_args(data, target)) == 2
    err = capsys.readouterr().err
    assert "img_0003.JPEG" in err and "1 image(s) could not be evaluated" in err
    assert only_model(target).missing_chunks() == [1]  # rows 2-3: not written, others kept
    assert main(cli_args(data, target, "--on-error", "miss")) == 0
    manifest = json.loads(only_model(target).manifest_path().read_text())
    assert (manifest["n_evaluated"], manifest["n_missed"]) == (5, 1)
    frame = table3(open_members(target)).set_index("crops")
    assert frame.loc[144, "n_evaluated"] == 5 and frame.loc[144, "n_images"] == 6


def test_submission_lists_ilsvrc_ids_of_the_top5(tmp_path, shared_data):
    from repro.data.ilsvrc.classes import read_meta

    meta_path = shared_data("ilsvrc2014-devkit", "data", "meta_clsloc.mat")
    data = tmp_path / "data"
    make_dataset(data, 3)
    target = tmp_path / "s"
    args = cli_args(data, target)
    args[args.index("--classes") + 1] = "1000"
    assert main(args) == 0
    out = tmp_path / "sub.txt"
    assert main(["submit", "--store", str(target), "--crops", "10", "--meta", str(meta_path),
                 "--out", str(out)]) == 0
    lines = out.read_text().splitlines()
    assert len(lines) == 3 and all(len(line.split()) == 5 for line in lines)
    meta = read_meta(meta_path)
    probs, _ = only_model(target).load("mean-10")
    for line, row in zip(lines, probs):
        first = int(line.split()[0])
        assert meta.classes.wnids.index(meta.wnid_by_id[first]) == int(np.argmax(row))


@pytest.mark.slow
def test_144_crop_run_over_the_1000_real_samples_evaluates_every_image(tmp_path, shared_data):
    samples = shared_data("imagenet-samples")
    names = sorted(p.name for p in samples.glob("*.JPEG"))
    assert len(names) == 1000
    index = LabelIndex.from_rows((name, name.split("_")[0], i) for i, name in enumerate(names))
    index.to_csv(tmp_path / "index.csv")
    target = tmp_path / "s"
    assert main(["evaluate", "--index", str(tmp_path / "index.csv"), "--images", str(samples),
                 "--model", "googlenet-paper", "--width", "0.0625", "--crops", "144",
                 "--crop-size", "64", "--store", str(target), "--no-progress"]) == 0
    manifest = json.loads(only_model(target).manifest_path().read_text())
    assert (manifest["n_images"], manifest["n_evaluated"], manifest["n_missed"]) == (1000, 1000, 0)
    probs, valid = only_model(target).load("mean-144")
    assert probs.shape == (1000, 1000) and valid.all()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-4)


def test_exported_model_reference_gives_the_same_store_as_its_params(dataset, store, tmp_path):
    from repro.models.mxnet_export import export_network

    ref = parse_ref("googlenet-paper", classes=CLASSES, width=WIDTH, input_size=CROP)
    export_network(load_model(ref).net, tmp_path / "exported", input_size=CROP)
    target = tmp_path / "s"
    args = cli_args(dataset, target)
    args[args.index("--model") + 1] = f"googlenet-paper:{tmp_path / 'exported'}-symbol.json"
    assert main(args) == 0
    exported, _ = only_model(target).load("mean-144")
    original, _ = only_model(store).load("mean-144")
    np.testing.assert_allclose(exported, original, rtol=1e-5, atol=1e-7)


def test_audit_passes_on_an_honest_store_and_fails_on_a_tampered_one(dataset, tmp_path, capsys):
    target = tmp_path / "s"
    assert main(cli_args(dataset, target)) == 0
    audit_args = ["audit", "--store", str(target), "--images", str(dataset / "images"),
                  "--sample", "3"]
    assert main(audit_args) == 0
    assert "PASS" in capsys.readouterr().out
    model_store = only_model(target)
    arrays = model_store.read_chunk(1)
    arrays["mean-144"] = arrays["mean-144"] + 0.01  # tamper with rows 2-3
    arrays.pop("rows")
    valid = arrays.pop("valid")
    model_store.write_chunk(1, valid, arrays)
    assert main(audit_args[:-1] + ["6"]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and "row 2: differs by 0.01" in out


def test_ensemble_cli_prints_the_errors_of_table3_and_a_paired_test(store, capsys):
    frame = table3(open_members(store)).set_index("crops")
    assert main(["ensemble", "--store", str(store), "--crops", "144", "--versus-crops", "1"]) == 0
    out = capsys.readouterr().out
    assert f"top-5 error {100 * frame.loc[144, 'top5_err']:.2f}%" in out
    assert f"top-1 error {100 * frame.loc[144, 'top1_err']:.2f}%" in out
    assert "McNemar p =" in out and "6/6 images evaluated" in out


def test_table3_cli_with_max_mean_writes_tables_and_plots(store, tmp_path):
    out = tmp_path / "results"
    assert main(["table", "3", "--store", str(store), "--out", str(out), "--combine", "max-mean",
                 "--dataset-name", "test"]) == 0
    for name in ("table3_classification.csv", "table2_classification_ilsvrc.md",
                 "fig_top5_vs_cost.png", "fig_top5_vs_cost.svg", "fig_error_vs_crops.csv",
                 "ablation_mean_vs_max.csv"):
        assert (out / name).stat().st_size > 0, name
    curve = (out / "fig_error_vs_crops.csv").read_text().splitlines()
    assert [line.split(",")[1] for line in curve[1:]] == ["1", "10", "144"]


def test_table3_claims_are_paired_tests_of_the_papers_orderings(dataset, tmp_path):
    """Two members: every "more crops" and "more models" claim, its McNemar p recomputed from the
    per-image correctness of the two rows, and a verdict that never comes from a difference alone."""
    import pandas as pd

    from protocols.classification import VERDICTS, verdict
    from repro.engine.derive import correct
    from repro.engine.members import open_members
    from repro.metrics.classification import mcnemar

    stores = tmp_path / "two"
    assert main(cli_args(dataset, stores)) == 0
    assert main(cli_args(dataset, stores, seed=1)) == 0
    out = tmp_path / "results"
    assert main(["table", "3", "--store", str(stores), "--out", str(out)]) == 0
    claims = pd.read_csv(out / "table3_claims.csv")
    expected = {(1, 1, 1, 10), (1, 1, 1, 144), (1, 10, 1, 144), (2, 1, 2, 10), (2, 1, 2, 144),
                (2, 10, 2, 144), (1, 1, 2, 1), (1, 10, 2, 10), (1, 144, 2, 144)}
    for metric in ("top-5 error", "top-1 error"):
        rows = claims[claims["metric"] == metric]
        assert set(zip(rows.models, rows.crops, rows.models_2, rows.crops_2)) == expected and len(rows) == 9
    assert claims.loc[claims["metric"] == "top-1 error", "paper_diff"].isna().all()  # no top-1 in Table 3
    members = open_members(stores)
    for row in claims.itertuples():
        position = 1 if row.metric == "top-5 error" else 0
        first = correct(members, row.models, row.crops, "mean")[position]
        second = correct(members, row.models_2, row.crops_2, "mean")[position]
        test = mcnemar(first, second)
        assert row.p_value == pytest.approx(test["p_value"]) and row.only_first == test["a_only"]
        assert row.diff == pytest.approx(first.mean() - second.mean())  # error 2 - error 1
        assert row.verdict == verdict(row.diff, row.p_value) and row.verdict in VERDICTS
    assert "Do the paper's orderings hold here?" in (out / "table3_classification.md").read_text()


def test_a_verdict_needs_the_paired_test():
    from protocols.classification import verdict

    assert verdict(-0.02, 0.001) == "holds" and verdict(0.02, 0.001) == "reversed"
    assert verdict(-0.10, 0.2) == verdict(0.10, 0.2) == verdict(0.0, 1.0) == "not resolved at this size"


def test_shards_of_another_interpolation_are_refused_naming_both_settings(dataset, tmp_path, capsys):
    mixed = tmp_path / "mixed"
    assert main(cli_args(dataset, mixed, "--shard", "1/2")) == 0
    assert main(cli_args(dataset, mixed, "--shard", "2/2", "--interpolation", "nearest")) == 2
    err = capsys.readouterr().err
    assert "interpolation: store has 'bilinear', this run 'nearest'" in err
    assert only_model(mixed).missing_chunks() == [1]  # nothing of the refused run was written
    elsewhere = tmp_path / "elsewhere"
    assert main(cli_args(dataset, elsewhere, "--shard", "2/2", "--interpolation", "nearest")) == 0
    assert main(["merge", "--store", str(mixed), "--from", str(elsewhere)]) == 2
    assert "interpolation: store has 'bilinear', this run 'nearest'" in capsys.readouterr().err
    assert only_model(mixed).missing_chunks() == [1]


def test_the_backend_is_in_the_identity_and_the_micro_batch_is_not(dataset, tmp_path, capsys):
    target = tmp_path / "s"
    assert main(cli_args(dataset, target, "--shard", "1/2", "--backend", "mxnet:micro_batch=36")) == 0
    assert main(cli_args(dataset, target, "--shard", "2/2", "--backend", "mxnet-fused")) == 2
    assert "backend: store has 'mxnet', this run 'mxnet-fused'" in capsys.readouterr().err
    assert main(cli_args(dataset, target, "--shard", "2/2")) == 2  # the default, auto, runs mxnet-fused
    assert f"backend: store has 'mxnet', this run '{AUTO_BACKENDS['googlenet-paper']}'" in capsys.readouterr().err
    assert main(cli_args(dataset, target, "--shard", "2/2", "--backend", "mxnet")) == 0
    manifest = json.loads(only_model(target).manifest_path().read_text())
    assert (manifest["backend"], manifest["precision"]) == ("mxnet", "fp32")
    assert manifest["backend_given"] == ["mxnet", "mxnet:micro_batch=36"]


def test_merge_keeps_the_devices_backends_and_deviations_of_every_shard(dataset, store, tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    assert main(cli_args(dataset, first, "--shard", "1/2")) == 0
    assert main(cli_args(dataset, second, "--shard", "2/2", "--backend", "auto:micro_batch=36")) == 0
    assert main(["merge", "--store", str(first), "--from", str(second)]) == 0
    merged = json.loads(only_model(first).manifest_path().read_text())
    single = json.loads(only_model(store).manifest_path().read_text())
    assert merged["device"] == single["device"] == ["cpu(0)"]
    resolved = AUTO_BACKENDS["googlenet-paper"]  # what the default ran, recorded as such
    assert merged["backend"] == single["backend"] == resolved
    assert merged["backend_given"] == [resolved, f"{resolved}:micro_batch=36"]
    for key in ("model_deviations", "scheme_deviation", "scheme_note", "interpolation", "precision",
                "exif_orientation", "failures"):
        assert merged[key] == single[key] and key in merged, key
    assert merged["model_deviations"] and merged["scheme_deviation"]
    assert [run["shard"] for runs in only_model(first).run_records().values() for run in runs] == ["1/2", "2/2"]
    assert merged["n_runs"] == 2 and merged["merged_from"] == [str(second)]


def test_audit_recomputes_with_the_stores_interpolation_and_backend(dataset, tmp_path, capsys):
    target = tmp_path / "s"
    assert main(cli_args(dataset, target, "--interpolation", "nearest", "--backend", "mxnet-fused")) == 0
    spec = only_model(target).spec
    assert (spec.interpolation, spec.backend) == ("nearest", "mxnet-fused")
    audit_args = ["audit", "--store", str(target), "--images", str(dataset / "images"), "--sample", "6"]
    assert main(audit_args) == 0
    assert "PASS" in capsys.readouterr().out
    assert main(audit_args + ["--backend", "mxnet"]) == 2  # another backend than the store's
    assert "backend 'mxnet' is mxnet, the store was computed with mxnet-fused" in capsys.readouterr().err
    # the same model and images resized bilinearly differ: the audit compares like with like
    bilinear = tmp_path / "bilinear"
    assert main(cli_args(dataset, bilinear)) == 0
    a, _ = only_model(target).load("mean-144")
    b, _ = only_model(bilinear).load("mean-144")
    assert np.abs(a - b).max() > 1e-4


def test_the_store_records_its_data_by_folder_name_and_the_report_reads_it(dataset, store):
    from repro.report.data_identity import identify_store

    spec = json.loads((store / list_models(store)[0] / "store.json").read_text())
    assert spec["data"] == {"kind": "folder", "name": "", "content_sha256": "", "images": "images",
                            "index_of_root": ""}
    assert spec["exif_orientation"] is False and spec["format_version"] == 3
    identity = identify_store([], store)
    assert identity.kind == "unidentified" and not identity.comparable
    assert "6 images" in identity.name and "images folder 'images'" in identity.how
    assert str(dataset) not in identity.name + identity.how
