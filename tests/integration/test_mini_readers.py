"""The mini-ILSVRC is read by the same code that reads the real ILSVRC, quirk files included."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from repro.cli import main
from repro.data.decode import decode_image
from repro.data.ilsvrc.det import load_det_meta, read_annotations, read_blacklist, read_image_list
from repro.data.ilsvrc.layout import CLS_LAYOUT
from repro.data.mini.config import MiniConfig
from repro.data.mini.generate import generate
from repro.data.mini.layout import MINI_DET_LAYOUT
from repro.metrics.det_eval import Detections, DetGroundTruth, evaluate


@pytest.fixture(scope="module")
def mini(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("mini") / "m"
    generate(root, MiniConfig(seed=3, classes=3, train_per_class=4, val_per_class=4, det_images=8))
    return root


def test_labels_command_reads_the_mini_devkit_files(mini, tmp_path, capsys):
    out = tmp_path / "val.csv"
    assert main(["labels", "--gt", str(mini / CLS_LAYOUT.ground_truth), "--meta",
                 str(mini / CLS_LAYOUT.meta), "--classes", "3", "--out", str(out)]) == 0
    lines = out.read_text().splitlines()
    assert lines[0] == "filename,wnid,class_index" and len(lines) == 1 + 12
    counts = {}
    for line in lines[1:]:
        counts[line.split(",")[2]] = counts.get(line.split(",")[2], 0) + 1
    assert counts == {"0": 4, "1": 4, "2": 4}


def test_every_image_decodes_including_the_quirks(mini):
    quirks = json.loads((mini / "manifest.json").read_text())["quirks"]
    assert {"cmyk", "png", "grayscale", "exif-rotated"} <= set(quirks.values())
    images = sorted((mini / "val").glob("*.JPEG")) + sorted((mini / "train").rglob("*.JPEG"))
    for path in images:
        pixels = decode_image(path)
        assert pixels.ndim == 3 and pixels.shape[2] == 3 and pixels.dtype == np.uint8, path


def test_evaluate_runs_on_the_mini_root(mini, tmp_path):
    store = tmp_path / "s"
    assert main(["evaluate", "--data", str(mini), "--model", "googlenet-paper", "--classes", "3",
                 "--width", "0.125", "--crops", "10", "--crop-size", "64", "--store", str(store),
                 "--no-progress"]) == 0
    (manifest,) = store.glob("*/manifest.json")
    record = json.loads(manifest.read_text())
    assert (record["n_images"], record["n_evaluated"]) == (12, 12)


def test_detection_split_scores_perfect_predictions_at_map_one(mini):
    layout = MINI_DET_LAYOUT
    meta = load_det_meta(mini / layout.meta)
    images = read_image_list(mini / layout.eval_list)
    annotations = read_annotations(mini / layout.annotation_dir, images, meta)
    blacklist = read_blacklist(mini / layout.blacklist, meta)
    truth = DetGroundTruth.from_annotations(images.indexes, annotations, meta.num_classes)
    rows = [(index, class_id, 1.0, *box) for index, a in zip(images.indexes, annotations)
            for class_id, box in zip(a.class_ids, a.boxes)]
    detections = Detections(np.array([r[0] for r in rows]), np.array([r[1] for r in rows]),
                            np.array([r[2] for r in rows]), np.array([r[3:] for r in rows], float))
    result = evaluate(detections, truth, blacklist)
    assert result.map == pytest.approx(1.0)
