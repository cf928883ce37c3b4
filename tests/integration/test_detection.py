"""The detector (Section 8): geometry by hand, NMS and coverage on hand cases, selective search and its
cache on real pixels, and a tiny end-to-end run (fine-tune, detect, submission, devkit scores) on a
generated mini-ILSVRC with random-initialised narrow networks."""
from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import cv2
import mxnet as mx
import numpy as np
import pytest
from support import DET_INPUT, DET_WIDTH, classification_card, shared_path, tiny_detection_protocol

from protocols.detection import RCNN_FINETUNE, RCNN_WARP
from repro.cli import main
from repro.data.decode import decode_image
from repro.data.ilsvrc.det import ImageAnnotation, read_image_list
from repro.data.mini.config import MiniConfig
from repro.data.mini.generate import generate
from repro.data.mini.layout import MINI_DET_LAYOUT
from repro.detect.backbone import FeatureTrunk, replace_classifier
from repro.detect.boxes import covered, iou_matrix
from repro.detect.dataset import open_det_data, split_lists
from repro.detect.derive import ensemble_detections
from repro.detect.finetune import label_regions
from repro.detect.images import read_image
from repro.detect.learned_proposals import load_proposer
from repro.detect.nms import image_detections
from repro.detect.proposals import ProposalCache, compute_proposals, selective_search_source
from repro.detect.region_store import RegionScoreStore
from repro.detect.run import RESULTS_NAME, RunSettings, detect, finetune_members
from repro.detect.selective_search import selective_search
from repro.detect.specs import LEARNED_PROPOSALS, SELECTIVE_SEARCH
from repro.detect.warp import matlab_round, plan_warp, warp_regions
from repro.errors import ReproError
from repro.metrics.det_eval import DetGroundTruth, evaluate, load_submission
from repro.models.specs import MODELS
from repro.models.weights import initialize_random

pytestmark = pytest.mark.slow  # minutes on 2 cores: left out by -m 'not slow'

TINY_PROTOCOL = tiny_detection_protocol()
WIDTH, INPUT = DET_WIDTH, DET_INPUT


def test_matlab_round_takes_halves_away_from_zero():
    halves = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 2.4999])
    assert matlab_round(halves).tolist() == [-3, -2, -1, 1, 2, 3, 2]


def test_warp_inside_the_image_by_hand():
    image = decode_image(shared_path("det-val-sample", "images", "ILSVRC2012_val_00000006.JPEG"))
    height, width = image.shape[:2]
    # box x 10..109, y 20..69 (0-based inclusive); R-CNN, 1-based: (11, 21, 110, 70), C 224, p 16:
    # scale 224/192 = 7/6, half sizes 50 and 25, centre (61, 46); context box
    # x: round(61 -+ 58.33) = 3, 119; y: round(46 -+ 29.17) = 17, 75 -> 0-based half-open x 2:119, y 16:75
    plan = plan_warp(np.array([[10, 20, 109, 69]]), width, height, 224, RCNN_WARP.padding(224))
    assert plan.source.tolist() == [[2, 16, 119, 75]]
    assert plan.target.tolist() == [[0, 0, 224, 224]]
    crop = warp_regions(image, np.array([[10, 20, 109, 69]]), 224, 16.0, np.array([1, 2, 3], np.uint8))[0]
    assert np.array_equal(crop, cv2.resize(image[16:75, 2:119], (224, 224), interpolation=cv2.INTER_LINEAR))


def test_warp_at_the_corner_fills_outside_with_the_mean_by_hand():
    image = decode_image(shared_path("det-val-sample", "images", "ILSVRC2012_val_00000006.JPEG"))
    height, width = image.shape[:2]
    # box (0, 0, 47, 23) -> 1-based (1, 1, 48, 24); half 24 and 12, centre (25, 13); context box
    # x: round(25 -+ 28) = -3, 53; y: round(13 -+ 14) = -1, 27; unclipped 57 x 29; cut 4 and 2 px;
    # clipped window x 1..53, y 1..27 (0-based half-open 0:53, 0:27); in the crop: left round(4*224/57)
    # = 16, top round(2*224/29) = 15, size round(53*224/57) = 208 x round(27*224/29) = 209
    plan = plan_warp(np.array([[0, 0, 47, 23]]), width, height, 224, 16.0)
    assert plan.source.tolist() == [[0, 0, 53, 27]]
    assert plan.target.tolist() == [[16, 15, 208, 209]]
    fill = np.array([124, 116, 104], np.uint8)
    crop = warp_regions(image, np.array([[0, 0, 47, 23]]), 224, 16.0, fill)[0]
    assert np.all(crop[:15] == fill) and np.all(crop[:, :16] == fill)
    window = cv2.resize(image[0:27, 0:53], (208, 209), interpolation=cv2.INTER_LINEAR)
    assert np.array_equal(crop[15:, 16:], window)


def test_nms_hand_case_suppresses_above_the_threshold_and_caps():
    boxes = np.array([[0, 0, 9, 9], [0, 0, 9, 12], [5, 0, 14, 9], [20, 20, 29, 29], [0, 0, 9, 42]])
    # inclusive IoU with box 0: box 1 100/130, box 2 50/150 = 1/3 (> 0.3), box 4 100/430 (< 0.3)
    probs = np.array([[.1, .9, 0], [.2, .8, 0], [.3, .7, 0], [.4, .1, .5], [.5, .05, .45]], np.float32)
    classes, scores, kept = image_detections(boxes, probs, 0.3, 100)
    assert classes.tolist() == [1, 1, 1, 2, 2]
    assert kept.tolist() == [[0, 0, 9, 9], [20, 20, 29, 29], [0, 0, 9, 42], [20, 20, 29, 29], [0, 0, 9, 42]]
    assert scores.tolist() == pytest.approx([.9, .1, .05, .5, .45])
    classes, _, kept = image_detections(boxes, probs, 0.3, 1)
    assert classes.tolist() == [1, 2] and kept.tolist() == [[0, 0, 9, 9], [20, 20, 29, 29]]
    # IoU exactly at the threshold is kept (R-CNN keeps o <= overlap): boxes 10x10 and 10x20 -> 0.5
    boxes, probs = np.array([[0, 0, 9, 9], [0, 0, 9, 19]]), np.array([[0, .9], [0, .8]], np.float32)
    classes, _, _ = image_detections(boxes, probs, 0.5, 100)
    assert classes.tolist() == [1, 1]


def test_coverage_uses_inclusive_pixels_on_hand_made_boxes():
    gt = np.array([[0, 0, 9, 9], [50, 50, 59, 59]])
    # 10x20 box: IoU 100/200 = 0.5 exactly (covered); 10x21: 100/210 (not)
    assert covered(gt, np.array([[0, 0, 9, 19]])).tolist() == [True, False]
    assert covered(gt, np.array([[0, 0, 9, 20], [50, 50, 59, 69]])).tolist() == [False, True]
    assert covered(gt, np.zeros((0, 4))).tolist() == [False, False]
    assert iou_matrix(gt[:1], np.array([[5, 0, 14, 9]]))[0, 0] == pytest.approx(1 / 3)


def test_label_regions_by_iou_thresholds():
    annotation = ImageAnnotation("x", 100, 100, ("n1",), np.array([2]), np.array([[0, 0, 9, 9]]))
    proposals = np.array([[0, 0, 9, 19], [0, 0, 9, 30], [20, 20, 40, 40]])  # IoU 0.5, 100/310, 0
    boxes, labels = label_regions(proposals, annotation, RCNN_FINETUNE)
    assert boxes.tolist() == [[0, 0, 9, 9], [0, 0, 9, 19], [20, 20, 40, 40]]
    assert labels.tolist() == [2, 2, 0]


def _small_real_image() -> np.ndarray:
    image = decode_image(shared_path("det-val-sample", "images", "ILSVRC2012_val_00000006.JPEG"))
    return cv2.resize(image, (120, 90), interpolation=cv2.INTER_AREA)


def test_selective_search_is_deterministic_sorted_and_filtered():
    image = _small_real_image()
    spec = dataclasses.replace(SELECTIVE_SEARCH.get("test-fast"), canonical_width=240)
    first, second = selective_search(image, spec), selective_search(image, spec)
    assert np.array_equal(first, second) and len(first) > 1
    assert np.array_equal(first, np.unique(first, axis=0))
    sides = np.minimum(first[:, 2] - first[:, 0] + 1, first[:, 3] - first[:, 1] + 1)
    assert sides.min() >= spec.min_side
    assert first[:, [0, 1]].min() >= 0 and first[:, 2].max() <= 119 and first[:, 3].max() <= 89
    # the last merge is the whole image: at twice the size it must map back onto the whole image
    assert [0, 0, 119, 89] in first.tolist()


def test_proposal_cache_reuses_boxes_for_the_same_bytes_only(tmp_path):
    image = _small_real_image()
    for name, pixels in (("a", image), ("b", image[::-1].copy())):
        cv2.imwrite(str(tmp_path / f"{name}.png"), cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR))
    load = lambda i: read_image(tmp_path / f"{'ab'[i]}.png")  # noqa: E731
    source, cache = selective_search_source(SELECTIVE_SEARCH.get("test-fast")), ProposalCache(tmp_path / "cache")
    first = compute_proposals(2, load, [source], cache)
    second = compute_proposals(2, load, [source], cache)
    assert first.cache_hits[source.key] == 0 and second.cache_hits[source.key] == 2
    assert all(np.array_equal(a, b) for a, b in zip(first.boxes[source.key], second.boxes[source.key]))
    cv2.imwrite(str(tmp_path / "a.png"), cv2.cvtColor(image[:, ::-1].copy(), cv2.COLOR_RGB2BGR))
    assert compute_proposals(2, load, [source], cache).cache_hits[source.key] == 1


def test_feature_trunk_and_new_classifier_follow_the_network():
    spec = MODELS.get("googlenet-paper")
    net = spec.create(classes=5, width=WIDTH, aux=False)
    initialize_random(net, seed=3, input_size=INPUT)
    x = mx.nd.random.uniform(shape=(2, 3, INPUT, INPUT))
    (maps,) = FeatureTrunk(net, spec, ("inception 5b",))(x)
    assert np.allclose(net.linear(net.avgpool(maps)).asnumpy(), net(x).asnumpy(), atol=1e-5)
    conv1 = net.conv1.weight.data().asnumpy().copy()
    replace_classifier(net, spec, 3, seed=1)
    assert net(x).shape == (2, 3) and np.array_equal(net.conv1.weight.data().asnumpy(), conv1)


def test_split_follows_the_devkit_val2_list():
    data = shared_path("ilsvrc2014-devkit", "data", "det_lists")
    full = read_image_list(data / "val.txt")
    val1, val2 = split_lists(full, data / "ilsvrc13_val2.txt")
    assert (len(val1), len(val2)) == (20121 - 9917, 9917)
    assert val2.names[:2] == ("ILSVRC2012_val_00032300", "ILSVRC2012_val_00001007")
    assert val1.indexes.tolist()[:3] == [1, 2, 3] and not set(val1.names) & set(val2.names)


# --- a tiny end-to-end run ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("det")
    generate(root / "mini", MiniConfig(seed=3, classes=2, train_per_class=2, val_per_class=3, det_images=6))
    cards = [str(classification_card(root / f"cls{s}", s, 2)) for s in (1, 2)]
    data = open_det_data(root / "mini")
    tuned = finetune_members(data, TINY_PROTOCOL, cards, root / "ft", RunSettings(workers=2), count=3)
    regions = [m["card"] for m in tuned["members"]]
    proposer = root / "ft" / "proposer" / "proposer.json"
    results = detect(data, TINY_PROTOCOL, regions, proposer, root / "run", RunSettings(batch_size=64))
    return root, data, regions, proposer, results


def test_submission_is_what_the_devkit_evaluator_scores(tiny_run):
    root, data, _, _, results = tiny_run
    val2 = read_image_list(root / "run" / "val2.txt")
    assert len(val2) == 3 and val2.names == data.eval_list.names[1::2]
    split = data.split("val2", TINY_PROTOCOL.split)
    truth = DetGroundTruth.from_annotations(val2.indexes, split.annotations, data.meta.num_classes)
    for label, key in (("single", "single_model_map"), ("ensemble", "ensemble_map")):
        scored = evaluate(load_submission(root / "run" / f"submission_{label}.txt"), truth, split.blacklist)
        assert scored.map == pytest.approx(results[key], abs=1e-12)
    csv = root / "eval.csv"
    status = main(["det-eval", str(root / "run" / "submission_ensemble.txt"),
                   "--gt-dir", str(root / "mini" / MINI_DET_LAYOUT.annotation_dir),
                   "--meta", str(root / "mini" / MINI_DET_LAYOUT.meta),
                   "--list", str(root / "run" / "val2.txt"),
                   "--blacklist", str(root / "run" / "val2_blacklist.txt"), "--csv", str(csv)])
    assert status == 0
    recorded = json.loads(Path(f"{csv}.manifest.json").read_text())["map"]
    assert recorded == pytest.approx(results["ensemble_map"])


def test_ensemble_averages_the_stored_region_scores(tiny_run):
    root, data, regions, _, results = tiny_run
    store = RegionScoreStore(root / "run" / "region_scores")
    keys = results["members"]
    assert len(keys) == 3 and keys[2].startswith("region3-cls1")  # the third reuses the first network
    name = data.eval_list.names[1]
    image_boxes = np.load(root / "run" / "region_scores" / keys[1] / f"{name}.npz")["boxes"]
    mean = sum(store.probs(key, name, image_boxes) for key in keys) / 3
    expected = image_detections(image_boxes, mean, 0.3, TINY_PROTOCOL.max_per_class)
    got = ensemble_detections(store, keys, [name], [1], [image_boxes], 0.3, TINY_PROTOCOL.max_per_class)
    assert got.class_ids.tolist() == expected[0].tolist()
    assert np.allclose(got.scores, expected[1]) and np.array_equal(got.boxes, expected[2])
    submitted = load_submission(root / "run" / "submission_ensemble.txt")
    assert np.array_equal(submitted.boxes[submitted.image_indexes == 1], got.boxes)


def test_rerun_reuses_every_finished_part_and_gives_the_same_bytes(tiny_run):
    root, data, regions, proposer, results = tiny_run
    before = (root / "run" / "submission_ensemble.txt").read_bytes()
    status = main(["detect", "run", "--data", str(root / "mini"), "--protocol", "test", "--finetuned",
                   str(root / "ft"), "--batch-size", "64", "--out", str(root / "run")])
    assert status == 0
    again = json.loads((root / "run" / RESULTS_NAME).read_text())
    assert all(p["images_skipped"] == 3 and p["images_scored"] == 0 for p in again["scoring_passes"])
    cards = [str(root / f"cls{seed}" / "model.json") for seed in (1, 2)]
    retuned = finetune_members(data, TINY_PROTOCOL, cards, root / "ft", count=3)
    assert all(m["reused"] for m in retuned["members"])
    assert all(hits == 3 for hits in again["proposal_cache_hits"].values())
    assert (root / "run" / "submission_ensemble.txt").read_bytes() == before
    assert again["ensemble_map"] == results["ensemble_map"]


def test_learned_proposer_reloads_with_its_key_and_proposes_inside_the_image(tiny_run):
    root, data, _, proposer_card, results = tiny_run
    proposer = load_proposer(proposer_card)
    assert proposer.key == results["proposer_key"] and proposer.key in results["proposal_cache_hits"]
    image = data.load_image(data.eval_list.names[0])
    boxes = proposer.propose(image.pixels)
    height, width = image.pixels.shape[:2]
    assert 0 < len(boxes) <= LEARNED_PROPOSALS.get("test-head").top_k
    assert boxes[:, :2].min() >= 0 and boxes[:, 2].max() < width and boxes[:, 3].max() < height


def test_tables_put_measured_rows_beside_the_paper_with_the_caveat(tiny_run, tmp_path):
    root, _, _, _, results = tiny_run
    main(["detect", "tables", "--run", str(root / "run"), "--out", str(tmp_path)])
    import pandas as pd

    table4 = pd.read_csv(tmp_path / "table4_detection.csv")
    assert table4["team"].tolist()[:4] == ["UvA-Euvision", "Deep Insight", "CUHK DeepID-Net", "GoogLeNet"]
    assert table4["map_pct"].tolist()[4:] == pytest.approx([round(100 * results["single_model_map"], 2),
                                                            round(100 * results["ensemble_map"], 2)])
    proposals = pd.read_csv(tmp_path / "table_proposals.csv")
    assert sorted(proposals["proposal_set"]) == ["test-both", "test-ss"]
    assert "fine-tuned from 2 classification network(s)" in (tmp_path / "table4_detection.md").read_text()
    for stem in ("table4_detection", "table5_detection_single", "table_proposals"):
        assert "SYNTHETIC DATA" in (tmp_path / f"{stem}.md").read_text()
        assert pd.read_csv(tmp_path / f"{stem}.csv")["note"].str.contains("SYNTHETIC DATA").any()
    assert all((tmp_path / f"fig_det_per_class_ap.{ext}").is_file() for ext in ("png", "svg", "csv"))


@pytest.mark.parametrize("old, new, message", [
    ("<name>n", "<name>n0", "is not one of the"),            # unknown WNID
    ("<xmax>", "<xmax>9999", "outside the"),                  # box outside the image
    ("<xmin>", "<xmin>9999", "negative width"),               # xmax < xmin
    ("<ymin>", "<ymin>a", "not an integer"),                  # non-numeric field
])
def test_bad_ground_truth_stops_the_run_naming_the_file(tiny_run, tmp_path, capsys, old, new, message):
    root, data, regions, _, _ = tiny_run
    mini = tmp_path / "mini"
    shutil.copytree(root / "mini" / "det", mini / "det")
    val2 = data.split("val2", TINY_PROTOCOL.split)
    name = next(n for n, a in zip(val2.images.names, val2.annotations) if len(a.class_ids))
    xml = mini / MINI_DET_LAYOUT.annotation(name)
    xml.write_text(xml.read_text().replace(old, new, 1))
    status = main(["detect", "run", "--data", str(mini), "--protocol", "mini", "--members", *regions,
                   "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert status == 2 and str(xml) in err and message in err


def test_region_classifiers_must_have_one_output_per_class_plus_background(tiny_run, tmp_path):
    root, data, _, proposer, _ = tiny_run
    wrong = classification_card(tmp_path / "cls9", 9, 2)  # 2 outputs; the data needs 2 + 1
    with pytest.raises(ReproError, match="classes \\+ background"):
        detect(data, TINY_PROTOCOL, [str(wrong)], proposer, tmp_path / "out")


def test_fine_tuning_and_scoring_are_deterministic(tiny_run, tmp_path):
    root, data, regions, proposer, _ = tiny_run
    card = str(root / "cls1" / "model.json")
    again = finetune_members(data, TINY_PROTOCOL, [card], tmp_path / "ft", count=1)
    first = json.loads(Path(regions[0]).read_text())
    assert json.loads(Path(again["members"][0]["card"]).read_text())["weights_sha256"] == first["weights_sha256"]
    detect(data, TINY_PROTOCOL, regions, proposer, tmp_path / "run",
           RunSettings(batch_size=48, cache_dir=root / "run" / "proposals"))  # other batch boundaries
    for label in ("single", "ensemble"):
        ours = load_submission(tmp_path / "run" / f"submission_{label}.txt")
        reference = load_submission(root / "run" / f"submission_{label}.txt")
        assert np.array_equal(ours.boxes, reference.boxes) and np.array_equal(ours.class_ids, reference.class_ids)
        assert np.allclose(ours.scores, reference.scores, rtol=1e-6, atol=0)
