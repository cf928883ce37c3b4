"""ILSVRC2014 DET scoring: every devkit rule on hand-made XMLs (APs worked out by hand), a literal port of
the devkit loop on random cases, the real val2 ground truth, and the `repro det-eval` command."""
from __future__ import annotations

import csv
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
from support import DEVKIT, parse_val2, write_meta, write_xml

from repro.cli import main
from repro.data.ilsvrc.det import (
    Blacklist,
    ImageAnnotation,
    load_det_meta,
    read_annotations,
    read_blacklist,
    read_image_list,
)
from repro.errors import ReproError
from repro.metrics import det_eval
from repro.metrics.det_eval import (
    Detections,
    DetGroundTruth,
    UndefinedAPWarning,
    evaluate,
    load_submission,
    write_submission,
)

# the toy meta has classes 1 n00000001, 2 n00000002, 3 n00000003; most cases use class 1 only
pytestmark = pytest.mark.filterwarnings("ignore::repro.metrics.det_eval.UndefinedAPWarning")
A, B = "n00000001", "n00000002"
FAR = "150 150 199 199"  # a box overlapping none of the objects used below
SIZE = (200, 200)


def write_dataset(root: Path, images: list[tuple[str, int, list]]) -> tuple[Path, Path, Path]:
    """XMLs (200x200 images), list lines 'name index' in the given order, and a 3-class meta."""
    (root / "gt").mkdir()
    for name, _, objects in images:
        write_xml(root / "gt" / f"{name}.xml", *SIZE, objects)
    (root / "list.txt").write_text("".join(f"{name} {index}\n" for name, index, _ in images))
    return root / "gt", root / "list.txt", write_meta(root / "meta_det.mat")


def score(root: Path, images: list[tuple[str, int, list]], predictions: str,
          blacklist: str | None = None, drop_outside: bool = False) -> det_eval.DetEvalResult:
    """Write the files, read them back with the project's readers, and score."""
    gt_dir, list_path, meta_path = write_dataset(root, images)
    meta = load_det_meta(meta_path)
    image_list = read_image_list(list_path)
    ground_truth = DetGroundTruth.from_annotations(
        image_list.indexes, read_annotations(gt_dir, image_list, meta), meta.num_classes)
    (root / "pred.txt").write_text(predictions)
    banned = None
    if blacklist is not None:
        (root / "blacklist.txt").write_text(blacklist)
        banned = read_blacklist(root / "blacklist.txt", meta)
    return evaluate(load_submission(root / "pred.txt"), ground_truth, banned, drop_outside=drop_outside)


def test_a_detection_whose_best_object_is_taken_matches_the_next_one(tmp_path):
    # objects O1 = [0,0,99,99], O2 = [0,10,99,109] (100x100 each, threshold 0.5)
    # d1 (0.9) = O1: IoU(O1) = 1, IoU(O2) = 90*100 / (10000+10000-9000) = 0.818 -> takes O1
    # d2 (0.8) = [0,4,99,103]: IoU(O1) = 96*100/10400 = 0.923 (taken), IoU(O2) = 94*100/10600 = 0.887
    #   devkit: O2 is the best NOT-YET-MATCHED object -> TP; AP = 1 (TP, TP; 2 positives)
    #   Pascal VOC would mark d2 false (its best object O1 is taken): AP = 0.5 * 1 = 0.5
    result = score(tmp_path, [("img", 1, [(A, 0, 0, 99, 99), (A, 0, 10, 99, 109)])],
                   "1 1 0.9 0 0 99 99\n1 1 0.8 0 4 99 103\n")
    assert result.ap[0] == pytest.approx(1.0)
    assert (result.n_pos[0], result.n_det[0]) == (2, 2)


def test_a_duplicate_on_a_matched_object_is_a_false_positive(tmp_path):
    # one 100x100 object in each of two images
    # a: d1 (0.9) [0,0,99,59] IoU 6000/10000 = 0.6 -> TP; d2 (0.8) exact box, object taken -> FP
    # b: d3 (0.7) exact -> TP
    # ranked TP FP TP, 2 positives: precision 1, 1/2, 2/3 at recall 1/2, 1/2, 1
    # envelope: 1 at recall 1/2, 2/3 at recall 1 -> AP = 0.5 * 1 + 0.5 * 2/3 = 0.8333
    result = score(tmp_path, [("a", 1, [(A, 0, 0, 99, 99)]), ("b", 2, [(A, 0, 0, 99, 99)])],
                   "1 1 0.9 0 0 99 59\n1 1 0.8 0 0 99 99\n2 1 0.7 0 0 99 99\n")
    assert result.ap[0] == pytest.approx(0.5 + 0.5 * 2 / 3)


@pytest.mark.parametrize("box, expected_ap", [
    ("5 5 24 24", 1.0),  # 20x20 around the 10x10 object: IoU 100/400 = 0.25 >= thr 100/(20*20)
    ("5 5 25 24", 0.0),  # 21x20: IoU 100/420 = 0.238 < 0.25
    ("10 10 19 19", 1.0),
])
def test_small_object_has_its_own_threshold(tmp_path, box, expected_ap):
    result = score(tmp_path, [("img", 1, [(A, 10, 10, 19, 19)])], f"1 1 0.5 {box}\n")
    assert result.ap[0] == expected_ap


def test_object_thresholds_by_hand():
    # 10x10: 100/(20*20) = 0.25; 25x40: 1000/(35*50) = 0.5714 -> 0.5; 1x1: 1/121
    boxes = np.array([[10, 10, 19, 19], [0, 0, 24, 39], [3, 3, 3, 3]])
    assert det_eval.object_thresholds(boxes) == pytest.approx([0.25, 0.5, 1 / 121])


@pytest.mark.parametrize("box, expected_ap", [
    ("0 0 99 49", 1.0),    # 100x50 inside 100x100: IoU 5000/10000 = 0.5 exactly (exclusive: 0.495)
    ("0 0 99 49.0", 1.0),
    ("0 0 99 48", 0.0),    # 4900/10000 = 0.49
    ("0 0 99 48.5", 0.0),  # float box: height 49.5 -> 4950/10000 = 0.495
    ("0 0 99.5 49", 0.0),  # width 100.5, area 5025; intersection 100x50: 5000/(10000+5025-5000)
    ("100 0 199 99", 0.0),  # touches the object's right edge: intersection width 99-100+1 = 0
])
def test_inclusive_pixel_areas_at_the_half_threshold(tmp_path, box, expected_ap):
    result = score(tmp_path, [("img", 1, [(A, 0, 0, 99, 99)])], f"1 1 0.5 {box}\n")
    assert result.ap[0] == expected_ap


def test_equal_iou_goes_to_the_earlier_object(tmp_path):
    # O1 = [0,0,99,99], O2 = [0,10,99,109]; d1 (0.9) = [0,5,99,104] has IoU 95*100/10500 = 0.905 with
    # both -> takes O1 (earlier in the XML). d2 (0.8) = [0,40,99,139]: IoU(O2) = 70*100/13000 = 0.538,
    # IoU(O1) = 60*100/14000 = 0.43 < 0.5 -> takes O2. TP, TP -> AP 1 (if d1 had taken O2: AP 0.5)
    result = score(tmp_path, [("img", 1, [(A, 0, 0, 99, 99), (A, 0, 10, 99, 109)])],
                   "1 1 0.9 0 5 99 104\n1 1 0.8 0 40 99 139\n")
    assert result.ap[0] == 1.0


def test_tied_scores_rank_in_image_index_order_not_file_or_list_order(tmp_path):
    # list lines: b 2, a 1. File: the TP in image 2 first, the FP in image 1 second, same score.
    # Image-index order puts the FP first: precision 0, 1/2 at recall 0, 1/2 -> AP = 0.5 * 0.5
    # (file order would give TP, FP -> AP 0.5)
    result = score(tmp_path, [("b", 2, [(A, 0, 0, 99, 99)]), ("a", 1, [(A, 0, 0, 99, 99)])],
                   f"2 1 0.5 0 0 99 99\n1 1 0.5 {FAR}\n")
    assert result.ap[0] == pytest.approx(0.25)


@pytest.mark.parametrize("lines, expected_ap", [
    ([f"1 1 0.5 {FAR}", "1 1 0.5 0 0 99 99"], 0.5),  # FP then TP, 1 positive: 1 * 1/2
    (["1 1 0.5 0 0 99 99", f"1 1 0.5 {FAR}"], 1.0),  # TP then FP: 1 * 1
])
def test_tied_scores_in_one_image_keep_file_order(tmp_path, lines, expected_ap):
    result = score(tmp_path, [("img", 1, [(A, 0, 0, 99, 99)])], "\n".join(lines) + "\n")
    assert result.ap[0] == pytest.approx(expected_ap)


def test_precision_envelope_all_points(tmp_path):
    # three 50x50 objects, ranked TP (0.9), FP (0.8), TP (0.7), third object missed
    # precision 1, 1/2, 2/3 at recall 1/3, 1/3, 2/3 -> AP = 1/3 * 1 + 1/3 * 2/3 = 5/9
    # (VOC 2007's 11-point AP would be (4 * 1 + 3 * 2/3) / 11 = 0.545)
    objects = [(A, 0, 0, 49, 49), (A, 100, 0, 149, 49), (A, 0, 100, 49, 149)]
    result = score(tmp_path, [("img", 1, objects)],
                   f"1 1 0.9 0 0 49 49\n1 1 0.8 {FAR}\n1 1 0.7 100 0 149 49\n")
    assert result.ap[0] == pytest.approx(5 / 9)


BLACKLIST_IMAGES = [("a", 1, [(A, 0, 0, 99, 99), (B, 0, 0, 49, 49)]), ("b", 2, [(A, 0, 0, 99, 99)])]
BLACKLIST_PREDICTIONS = (f"1 1 0.9 {FAR}\n"          # class 1 in a: far away
                         "1 1 0.8 0 0 99 99\n"       # class 1 in a: exact
                         "2 1 0.7 0 0 99 99\n"       # class 1 in b: exact
                         "1 2 0.6 0 0 49 49\n")      # class 2 in a: exact


def test_blacklisted_pair_ignores_its_detections_and_objects(tmp_path):
    # (a, class 1) blacklisted: both class-1 detections in a are ignored, a's class-1 object does not
    # count -> class 1: one positive, one detection (TP) -> AP 1; class 2 is untouched -> AP 1
    result = score(tmp_path, BLACKLIST_IMAGES, BLACKLIST_PREDICTIONS, blacklist=f"1 {A}\n")
    assert result.ap[:2].tolist() == [1.0, 1.0]
    assert result.n_pos[:2].tolist() == [1, 1]
    assert result.n_det[:2].tolist() == [1, 1]
    assert result.n_ignored_blacklisted == 2


def test_same_case_without_the_blacklist(tmp_path):
    # class 1: FP (0.9), TP (0.8), TP (0.7), 2 positives: precision 0, 1/2, 2/3 at recall 0, 1/2, 1
    # envelope 2/3 at both recall steps -> AP = 0.5 * 2/3 + 0.5 * 2/3 = 2/3
    result = score(tmp_path, BLACKLIST_IMAGES, BLACKLIST_PREDICTIONS)
    assert result.ap[0] == pytest.approx(2 / 3)
    assert (result.n_pos[0], result.n_det[0], result.n_ignored_blacklisted) == (2, 3, 0)


def test_blacklist_for_an_unlisted_image_is_an_error(tmp_path):
    with pytest.raises(ReproError, match=r"blacklist\.txt line 2: image index 9 is not in the eval list"):
        score(tmp_path, BLACKLIST_IMAGES, BLACKLIST_PREDICTIONS, blacklist=f"1 {A}\n9 {B}\n")


@pytest.mark.parametrize("text", ["", "\n\n   \n"])
def test_empty_submission_scores_zero_for_classes_with_positives(tmp_path, text):
    with pytest.warns(UndefinedAPWarning, match=r"class ids \[3\]"):
        result = score(tmp_path, BLACKLIST_IMAGES, text)
    assert result.ap[:2].tolist() == [0.0, 0.0]
    assert math.isnan(result.ap[2])
    assert result.map == 0.0
    assert result.n_det.tolist() == [0, 0, 0]


def test_class_without_positives_is_undefined_and_left_out_of_the_mean(tmp_path):
    # class 1: TP -> AP 1; class 2: FP (0.9) then TP (0.8) -> AP 1 * 1/2; class 3: no object, one
    # detection -> undefined. mAP = (1 + 0.5) / 2
    images = [("img", 1, [(A, 0, 0, 99, 99), (B, 0, 0, 49, 49)])]
    predictions = f"1 1 0.5 0 0 99 99\n1 2 0.9 {FAR}\n1 2 0.8 0 0 49 49\n1 3 0.7 0 0 99 99\n"
    with pytest.warns(UndefinedAPWarning, match=r"1 of 3 classes have no positives.*class ids \[3\]"):
        result = score(tmp_path, images, predictions)
    assert result.ap[:2].tolist() == [1.0, 0.5]
    assert math.isnan(result.ap[2])
    assert result.undefined_class_ids.tolist() == [3]
    assert result.n_det.tolist() == [1, 2, 1]
    assert result.map == pytest.approx(0.75)


def test_detection_outside_the_list_is_an_error_or_dropped(tmp_path):
    images = [("img", 1, [(A, 0, 0, 99, 99)])]
    predictions = f"1 1 0.5 0 0 99 99\n\n7 1 0.9 {FAR}\n"
    (tmp_path / "strict").mkdir()
    (tmp_path / "drop").mkdir()
    with pytest.raises(ReproError, match=r"pred\.txt line 3: image index 7 is not in the eval list "
                                         r"\(1 such detections"):
        score(tmp_path / "strict", images, predictions)
    result = score(tmp_path / "drop", images, predictions, drop_outside=True)
    assert result.n_dropped_outside == 1
    assert (result.ap[0], result.n_det[0]) == (1.0, 1)  # the dropped FP would have made it 0.5


@pytest.mark.parametrize("bad_line, message", [
    ("1 1 0.5 0 0 9", r"line 3: expected 7 fields"),
    ("1 1 high 0 0 9 9", r"line 3: confidence 'high' is not a number"),
    ("1.0 1 0.5 0 0 9 9", r"line 3: image_index '1.0' is not an integer"),
    ("1 x 0.5 0 0 9 9", r"line 3: det_class_id 'x' is not an integer"),
    ("99999999999999999999 1 0.5 0 0 9 9", r"line 3: image_index '9+' is not an integer"),
    ("1 1 0.5 0 0 9 9y", r"line 3: ymax '9y' is not a number"),
    ("1 1 nan 0 0 9 9", r"line 3: confidence and box must be finite numbers"),
    ("1 1 0.5 0 0 inf 9", r"line 3: confidence and box must be finite numbers"),
    ("1 4 0.5 0 0 9 9", r"line 3: class id 4 is outside 1..3"),
    ("1 0 0.5 0 0 9 9", r"line 3: class id 0 is outside 1..3"),
])
def test_malformed_line_names_file_and_line(tmp_path, bad_line, message):
    with pytest.raises(ReproError, match=r"pred\.txt " + message):
        score(tmp_path, [("img", 1, [(A, 0, 0, 99, 99)])], f"1 1 0.5 0 0 9 9\n\n{bad_line}\n")


def test_in_memory_detections_are_checked():
    with pytest.raises(ReproError, match=r"boxes must have shape \(n, 4\), not \(2, 5\)"):
        Detections([1, 1], [1, 1], [0.5, 0.5], np.zeros((2, 5)))
    with pytest.raises(ReproError, match=r"detection #2: confidence and box must be finite"):
        Detections([1, 1], [1, 1], [0.5, np.nan], np.zeros((2, 4)))


def test_submission_round_trip_is_exact(tmp_path):
    rng = np.random.default_rng(3)
    corners = rng.normal(100, 50, (50, 2, 2))
    boxes = np.concatenate([corners.min(axis=1), corners.max(axis=1)], axis=1)  # x1 <= x2, y1 <= y2
    detections = Detections(rng.integers(1, 99, 50), rng.integers(1, 200, 50), rng.random(50), boxes)
    write_submission(tmp_path / "pred.txt", detections)
    loaded = load_submission(tmp_path / "pred.txt")
    for field in ("image_indexes", "class_ids", "scores", "boxes"):
        assert np.array_equal(getattr(loaded, field), getattr(detections, field))
    assert loaded.lines.tolist() == list(range(1, 51))


# ---- a literal port of the devkit loop, to check the vectorised evaluator on random cases ----------

def devkit_port(objects: dict[int, list], predictions: list, blacklist: set, num_classes: int) -> list:
    """eval_detection.m, statement by statement (blacklisted detections stay with tp = fp = 0)."""
    num_pos = [0] * (num_classes + 1)
    for image_objects in objects.values():
        for label, _ in image_objects:
            num_pos[label] += 1
    tp_all, fp_all, labels_all, confs_all = [], [], [], []
    for image in sorted(objects):
        mine = sorted((p for p in predictions if p[0] == image), key=lambda p: -p[2])  # stable
        detected = [False] * len(objects[image])
        banned = {label for i, label in blacklist if i == image}
        for _, label, conf, bb in mine:
            tp = fp = 0
            if label not in banned:
                ovmax, kmax = -math.inf, -1
                for k, (gt_label, g) in enumerate(objects[image]):
                    if gt_label != label or detected[k]:
                        continue
                    iw = min(bb[2], g[2]) - max(bb[0], g[0]) + 1
                    ih = min(bb[3], g[3]) - max(bb[1], g[1]) + 1
                    if iw > 0 and ih > 0:
                        ua = (bb[2] - bb[0] + 1) * (bb[3] - bb[1] + 1) + \
                            (g[2] - g[0] + 1) * (g[3] - g[1] + 1) - iw * ih
                        ov = iw * ih / ua
                        gw, gh = g[3] - g[1] + 1, g[2] - g[0] + 1
                        if ov >= min(0.5, gw * gh / ((gw + 10) * (gh + 10))) and ov > ovmax:
                            ovmax, kmax = ov, k
                if kmax >= 0:
                    tp, detected[kmax] = 1, True
                else:
                    fp = 1
            tp_all.append(tp)
            fp_all.append(fp)
            labels_all.append(label)
            confs_all.append(conf)
        for gt_label, _ in objects[image]:
            if gt_label in banned:
                num_pos[gt_label] -= 1
    order = sorted(range(len(confs_all)), key=lambda i: -confs_all[i])  # stable
    aps = []
    for c in range(1, num_classes + 1):
        chosen = [i for i in order if labels_all[i] == c]
        tp = np.cumsum([tp_all[i] for i in chosen], dtype=float)
        fp = np.cumsum([fp_all[i] for i in chosen], dtype=float)
        if num_pos[c] == 0:
            aps.append(math.nan)
            continue
        with np.errstate(invalid="ignore"):
            rec, prec = tp / num_pos[c], tp / (fp + tp)
        mrec = np.concatenate(([0.0], rec, [1.0]))
        mpre = np.fmax.accumulate(np.concatenate(([0.0], prec, [0.0]))[::-1])[::-1]  # max skips NaN
        steps = [i for i in range(1, len(mrec)) if mrec[i] != mrec[i - 1]]
        aps.append(sum((mrec[i] - mrec[i - 1]) * mpre[i] for i in steps))
    return aps


@pytest.mark.parametrize("seed", range(40))
def test_vectorised_evaluator_equals_the_devkit_loop(seed):
    rng = np.random.default_rng(seed)
    num_classes, n_images = 3, 4
    image_indexes = rng.permutation(np.arange(1, n_images + 1)) * 2  # list order != index order

    def random_box(step):  # coarse grid and few sizes: crowded objects, equal IoUs, duplicate boxes
        x, y = rng.integers(0, 4, 2) * step
        w, h = rng.choice([3, 15, 30, 40], 2)
        return (float(x), float(y), float(x + w), float(y + h))

    objects = {int(i): [(int(rng.choice([1, 1, 2, 3])), random_box(5))
                        for _ in range(rng.integers(0, 7))] for i in image_indexes}
    def random_prediction():  # mostly an object's box moved by a few pixels, else anything
        image = int(rng.choice(image_indexes))
        score = float(rng.choice([0.1, 0.2, 0.3]))
        if objects[image] and rng.random() < 0.7:
            label, box = objects[image][rng.integers(len(objects[image]))]
            x1, y1, x2, y2 = np.add(box, rng.choice([-5, 0, 5], 4)).tolist()
            # an inverted box is an error (DEFINED_RULES): keep the corners in order
            return image, label, score, (min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2))
        return image, int(rng.choice([1, 1, 2, 3])), score, random_box(5)

    predictions = [random_prediction() for _ in range(rng.integers(0, 40))]
    blacklist = {(int(rng.choice(image_indexes)), int(rng.integers(1, num_classes + 1)))
                 for _ in range(rng.integers(0, 3))}

    annotations = [ImageAnnotation(str(i), 100, 100, (), np.array([o[0] for o in objects[i]], np.int64),
                                   np.array([o[1] for o in objects[i]]).reshape(-1, 4))
                   for i in image_indexes.tolist()]
    ground_truth = DetGroundTruth.from_annotations(image_indexes, annotations, num_classes)
    detections = Detections([p[0] for p in predictions], [p[1] for p in predictions],
                            [p[2] for p in predictions], [p[3] for p in predictions])
    banned = Blacklist(np.array([b[0] for b in blacklist], np.int64),
                                np.array([b[1] for b in blacklist], np.int64))
    result = evaluate(detections, ground_truth, banned)
    expected = devkit_port(objects, predictions, blacklist, num_classes)
    np.testing.assert_allclose(result.ap, expected, rtol=1e-12, atol=0, equal_nan=True)


# ---- real ground truth ----------------------------------------------------------------------------

@pytest.fixture
def val2_ground_truth(shared_data):
    meta, image_list, annotations, gt_dir = parse_val2(shared_data(*DEVKIT))
    return DetGroundTruth.from_annotations(image_list.indexes, annotations, meta.num_classes), annotations


def _plain_positive_counts(annotations) -> np.ndarray:
    counts = np.zeros(200, np.int64)
    for annotation in annotations:
        for class_id in annotation.class_ids.tolist():
            counts[class_id - 1] += 1
    return counts


def test_real_val2_perfect_predictions_score_one(val2_ground_truth):
    ground_truth, annotations = val2_ground_truth
    detections = Detections(ground_truth.image_indexes[ground_truth.object_image],
                            ground_truth.object_class, np.ones(len(ground_truth.object_class)),
                            ground_truth.object_boxes)
    result = evaluate(detections, ground_truth)
    assert result.n_pos.tolist() == _plain_positive_counts(annotations).tolist()
    assert result.undefined_class_ids.size == 0
    # AP sums n recall steps of 1/n: 1 up to rounding, as in the devkit
    np.testing.assert_allclose(result.ap, 1.0, rtol=1e-12)
    assert result.map == pytest.approx(1.0, rel=1e-12)


def test_real_val2_half_found_with_confident_false_positives(val2_ground_truth):
    # per class with n objects: k are found exactly (score 0.5), the n - k others get a detection far
    # outside the image (score 0.9). Ranked: n - k FPs, then k TPs; precision after the i-th TP
    # i / (n - k + i) rises, so the envelope is k / n at every recall step i / n -> AP = (k / n)^2
    ground_truth, annotations = val2_ground_truth
    n_objects = len(ground_truth.object_class)
    found = np.arange(n_objects) % 3 != 0
    boxes = ground_truth.object_boxes.astype(float)
    boxes[~found] = [5000, 5000, 5100, 5100]
    detections = Detections(ground_truth.image_indexes[ground_truth.object_image],
                            ground_truth.object_class, np.where(found, 0.5, 0.9), boxes)
    result = evaluate(detections, ground_truth)
    n = _plain_positive_counts(annotations)
    k = np.bincount(ground_truth.object_class[found], minlength=201)[1:]
    np.testing.assert_allclose(result.ap, (k / n) ** 2, rtol=1e-12)
    # the far boxes lie beyond every image: scored as given (the devkit does not clip), and counted
    assert result.n_off_image == int((~found).sum())
    assert result.map == pytest.approx(np.mean((k / n) ** 2))


# ---- the command --------------------------------------------------------------------------------

def _read_csv(path: Path) -> list[dict]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_cli_writes_per_class_rows_and_prints_the_map(tmp_path, capsys):
    gt_dir, list_path, meta_path = write_dataset(tmp_path, BLACKLIST_IMAGES)
    (tmp_path / "pred.txt").write_text(BLACKLIST_PREDICTIONS + f"5 1 0.1 {FAR}\n")
    (tmp_path / "blacklist.txt").write_text(f"1 {A}\n")
    status = main(["det-eval", str(tmp_path / "pred.txt"), "--gt-dir", str(gt_dir), "--meta",
                   str(meta_path), "--list", str(list_path), "--blacklist",
                   str(tmp_path / "blacklist.txt"), "--drop-outside", "--csv", str(tmp_path / "ap.csv")])
    out = capsys.readouterr().out
    assert status == 0
    rows = _read_csv(tmp_path / "ap.csv")
    assert list(rows[0]) == ["class_id", "wnid", "name", "ap", "n_pos", "n_det"]
    assert [(r["class_id"], r["wnid"], r["name"], r["n_pos"], r["n_det"]) for r in rows] == [
        ("1", A, "alpha", "1", "1"), ("2", B, "beta", "1", "1"), ("3", "n00000003", "gamma", "0", "0")]
    assert [r["ap"] for r in rows] == ["1.0", "1.0", "nan"]
    assert "mAP 1.0000 over 2 classes with positives; 1 undefined" in out
    assert "dropped 1 detections outside the eval list; ignored 2 blacklisted detections" in out
    assert "an empty submission scores AP 0" in out
    record = json.loads((tmp_path / "ap.csv.manifest.json").read_text())
    assert (record["map"], record["n_detections"], record["undefined_class_ids"]) == (1.0, 5, [3])


def test_cli_reports_a_bad_line_with_exit_status_2(tmp_path, capsys):
    gt_dir, list_path, meta_path = write_dataset(tmp_path, BLACKLIST_IMAGES)
    (tmp_path / "pred.txt").write_text(BLACKLIST_PREDICTIONS + f"5 1 0.1 {FAR}\n")
    status = main(["det-eval", str(tmp_path / "pred.txt"), "--gt-dir", str(gt_dir), "--meta",
                   str(meta_path), "--list", str(list_path), "--csv", str(tmp_path / "ap.csv")])
    assert status == 2
    assert re.search(r"pred\.txt line 5: image index 5 is not in the eval list",
                     capsys.readouterr().err)
    assert not (tmp_path / "ap.csv").exists()


def test_cli_on_the_det_val_sample_with_val2_indexes(tmp_path, shared_data, capsys):
    data = shared_data(*DEVKIT)
    sample = shared_data("det-val-sample", "annotations")
    names = {path.stem for path in sample.glob("*.xml")}
    val2_lines = (data / "det_lists" / "ilsvrc13_val2.txt").read_text().splitlines()
    (tmp_path / "sample.txt").write_text("".join(f"{line}\n" for line in val2_lines
                                                 if line.split()[0] in names))
    meta = load_det_meta(data / "meta_det.mat")
    image_list = read_image_list(tmp_path / "sample.txt")
    ground_truth = DetGroundTruth.from_annotations(
        image_list.indexes, read_annotations(sample, image_list, meta), meta.num_classes)
    write_submission(tmp_path / "pred.txt", Detections(
        ground_truth.image_indexes[ground_truth.object_image], ground_truth.object_class,
        np.linspace(1, 0, len(ground_truth.object_class)), ground_truth.object_boxes))
    # the devkit's blacklist is indexed like val.txt; re-indexed onto these val2 images it is empty
    status = main(["det-eval", str(tmp_path / "pred.txt"), "--gt-dir", str(sample), "--meta",
                   str(data / "meta_det.mat"), "--list", str(tmp_path / "sample.txt"),
                   "--blacklist", str(data / "ILSVRC2014_det_validation_blacklist.txt"),
                   "--blacklist-list", str(data / "det_lists" / "val.txt"),
                   "--csv", str(tmp_path / "ap.csv")])
    out = capsys.readouterr().out
    assert status == 0
    # det-val-sample/SOURCE.txt: 41 images, 120 objects, 30 DET WNIDs
    assert "120 detections; ground truth 41 images, 120 objects, 200 classes" in out
    assert "mAP 1.0000 over 30 classes with positives; 170 undefined" in out
    assert "409 blacklist entries name unlisted images" in out
    rows = _read_csv(tmp_path / "ap.csv")
    assert sum(int(r["n_pos"]) for r in rows) == 120


def test_defined_rules_are_stated_in_the_module_docstring():
    docstring = " ".join(det_eval.__doc__.split())
    for rule in det_eval.DEFINED_RULES:
        assert rule in docstring
