"""The mini-ILSVRC generator: determinism, the real layouts and formats, odd files, learnable classes."""
from __future__ import annotations

import json
import re
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import cv2
import numpy as np
import pytest
import scipy.io
from PIL import Image, ImageOps

from repro.cli import main
from repro.data.datasets import DATASETS
from repro.data.ilsvrc.layout import CLS_LAYOUT
from repro.data.mini.classes import MINI_CLASSES
from repro.data.mini.config import VAL_QUIRKS, MiniConfig
from repro.data.mini.draw import DrawnObject, dominant_area, object_start
from repro.data.mini.formats import cls_meta_mat, det_annotation_xml, det_meta_mat
from repro.data.mini.generate import (
    MANIFEST_NAME,
    README_NAME,
    content_hash,
    file_hashes,
    generate,
    make_plan,
    render_classification,
)
from repro.data.mini.layout import MINI_DET_LAYOUT
from repro.errors import ReproError

SMALL = MiniConfig(seed=7, classes=3, train_per_class=3, val_per_class=3, det_images=6)
DEVKIT = ("ilsvrc2014-devkit", "data")


@pytest.fixture(scope="module")
def mini(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("mini") / "out"
    generate(root, SMALL)
    return root


def _manifest(root: Path) -> dict:
    return json.loads((root / MANIFEST_NAME).read_text())


def _synsets(path: Path) -> np.ndarray:
    return scipy.io.loadmat(path)["synsets"][0]


def _det_names(root: Path) -> list[str]:
    return [line.split()[0] for line in (root / MINI_DET_LAYOUT.eval_list).read_text().splitlines()]


# --- determinism -------------------------------------------------------------------------------

def test_same_seed_gives_identical_bytes_in_one_or_two_processes(mini, tmp_path):
    again = generate(tmp_path / "again", SMALL, jobs=2)
    assert file_hashes(tmp_path / "again") == file_hashes(mini) == _manifest(mini)["files"]
    assert again["content_sha256"] == _manifest(mini)["content_sha256"]
    first_val = CLS_LAYOUT.val_image(1)
    assert (tmp_path / "again" / first_val).read_bytes() == (mini / first_val).read_bytes()


def test_another_seed_gives_other_images(mini, tmp_path):
    generate(tmp_path / "other", MiniConfig(**{**SMALL.__dict__, "seed": 8}))
    ours, theirs = file_hashes(mini), file_hashes(tmp_path / "other")
    assert content_hash(ours) != content_hash(theirs)
    val = CLS_LAYOUT.val_image(1)
    assert ours[val] != theirs[val]


# --- layout ---------------------------------------------------------------------------------------

def test_layout_paths_and_counts(mini):
    wnids = [c.wnid for c in MINI_CLASSES[:SMALL.classes]]
    assert sorted(p.name for p in (mini / CLS_LAYOUT.train_dir).iterdir()) == sorted(wnids)
    for wnid in wnids:
        names = [p.name for p in (mini / CLS_LAYOUT.train_dir / wnid).iterdir()]
        assert len(names) == SMALL.train_per_class
        assert all(re.fullmatch(rf"{wnid}_[1-9]\d*\.JPEG", name) for name in names)
    val = sorted(p.name for p in (mini / CLS_LAYOUT.val_dir).iterdir())
    count = SMALL.classes * SMALL.val_per_class
    assert val == [f"ILSVRC2012_val_{i:08d}.JPEG" for i in range(1, count + 1)]
    det = _det_names(mini)
    assert len(det) == SMALL.det_images and det == sorted(det)
    for name in det:
        assert (mini / MINI_DET_LAYOUT.image(name)).is_file()
        assert (mini / MINI_DET_LAYOUT.annotation(name)).is_file()
    for path in (CLS_LAYOUT.ground_truth, CLS_LAYOUT.meta, MINI_DET_LAYOUT.blacklist, MINI_DET_LAYOUT.meta):
        assert (mini / path).is_file()


def test_readme_and_manifest_describe_the_dataset(mini):
    readme = (mini / README_NAME).read_text()
    assert "SYNTHETIC" in readme and "NOT comparable" in readme
    record = _manifest(mini)
    assert record["parameters"] == SMALL.__dict__ and record["generator_version"] >= 1
    assert sorted(record["quirks"].values()) == sorted(
        VAL_QUIRKS + ("cmyk", "png", "grayscale"))
    for path in record["quirks"]:
        assert path in readme
    on_disk = {p.relative_to(mini).as_posix() for p in mini.rglob("*") if p.is_file()}
    assert set(record["files"]) == on_disk - {MANIFEST_NAME}


def test_dataset_specs_find_the_mini_with_the_real_layouts(mini, tmp_path):
    for spec_id in ("mini-ilsvrc", "mini-ilsvrc-det", "ilsvrc2012-val"):
        assert DATASETS.get(spec_id).missing(mini) == []
    DATASETS.get("mini-ilsvrc-det").check(mini)
    with pytest.raises(ReproError, match=r"/val is missing \(and 2 more\).*repro data mini --out"):
        DATASETS.get("mini-ilsvrc").check(tmp_path)
    assert DATASETS.get("ilsvrc2014-det-val").missing(mini / "det") == []


# --- classification ground truth and meta.mat -------------------------------------------------

def test_ground_truth_ids_map_through_meta_to_every_class_equally(mini):
    ids = [int(line) for line in (mini / CLS_LAYOUT.ground_truth).read_text().splitlines()]
    synsets = _synsets(mini / CLS_LAYOUT.meta)
    id_to_wnid = {int(s["ILSVRC2012_ID"][0, 0]): str(s["WNID"][0]) for s in synsets}
    assert [int(s["ILSVRC2012_ID"][0, 0]) for s in synsets] == list(range(1, SMALL.classes + 1))
    assert len(ids) == SMALL.classes * SMALL.val_per_class
    wnids = [id_to_wnid[i] for i in ids]
    assert {w: wnids.count(w) for w in wnids} == {c.wnid: SMALL.val_per_class
                                                   for c in MINI_CLASSES[:SMALL.classes]}


@pytest.mark.parametrize("classes", range(2, len(MINI_CLASSES) + 1))
def test_ilsvrc_ids_are_not_in_sorted_wnid_order(classes):
    plan = make_plan(MiniConfig(classes=classes))
    by_id = [c.wnid for _, c in sorted(zip(plan.cls_ids, plan.classes))]
    assert by_id != sorted(by_id)


def test_mat_files_do_not_carry_the_clock(monkeypatch):
    pairs = list(enumerate(MINI_CLASSES[:3], start=1))
    monkeypatch.setattr(time, "asctime", lambda *args: "Mon Jan  1 00:00:00 2001")
    first = (cls_meta_mat(pairs, 5), det_meta_mat(pairs))
    monkeypatch.setattr(time, "asctime", lambda *args: "Tue Dec 31 23:59:59 2030")
    assert (cls_meta_mat(pairs, 5), det_meta_mat(pairs)) == first
    assert b"2001" not in first[0] and b"MATLAB 5.0 MAT-file" in first[0][:116]


def test_meta_mat_has_the_structure_of_the_real_meta_clsloc(mini, shared_data):
    real = _synsets(shared_data(*DEVKIT, "meta_clsloc.mat"))
    ours = _synsets(mini / CLS_LAYOUT.meta)
    assert [n.replace("ILSVRC2014_ID", "ILSVRC2012_ID") for n in real.dtype.names] == list(ours.dtype.names)
    real_leaf = real[0]
    for field in ours.dtype.names:
        real_value = real_leaf[field.replace("ILSVRC2012_ID", "ILSVRC2014_ID")]
        assert (ours[0][field].dtype.kind, ours[0][field].ndim) == (real_value.dtype.kind, real_value.ndim), field
    assert ours[0]["children"].shape == real_leaf["children"].shape == (1, 0)
    real_words = {str(s["WNID"][0]): str(s["words"][0]) for s in real}
    for entry in ours:
        assert real_words[str(entry["WNID"][0])] == str(entry["words"][0])
        assert int(entry["num_children"][0, 0]) == 0
        assert int(entry["num_train_images"][0, 0]) == SMALL.train_per_class


def test_meta_det_has_the_structure_of_the_real_meta_det(mini, shared_data):
    real = _synsets(shared_data(*DEVKIT, "meta_det.mat"))
    ours = _synsets(mini / MINI_DET_LAYOUT.meta)
    assert real.dtype.names == ours.dtype.names
    for field in ours.dtype.names:
        assert ours[0][field].dtype.kind == real[0][field].dtype.kind, field
    assert ours[0]["children"].shape == real[0]["children"].shape == (0, 0)
    real_names = {str(s["WNID"][0]): str(s["name"][0]) for s in real}
    names = [str(s["name"][0]) for s in ours]
    assert [int(s["ILSVRC2013_DET_ID"][0, 0]) for s in ours] == list(range(1, SMALL.classes + 1))
    assert names == sorted(names)  # DET IDs follow the names' alphabetical order, as in the real file
    assert all(real_names[str(s["WNID"][0])] == str(s["name"][0]) for s in ours)


# --- detection XML, eval list, blacklist -------------------------------------------------------

def _tag_paths(element: ET.Element, prefix: str = "") -> set[str]:
    path = f"{prefix}/{element.tag}"
    return {path}.union(*(_tag_paths(child, path) for child in element))


def test_xml_writer_reproduces_real_annotations_byte_for_byte(shared_data):
    folder = shared_data("det-val-sample", "annotations")
    for xml_path in sorted(folder.glob("*.xml"))[:10]:
        raw = xml_path.read_bytes()
        root = ET.fromstring(raw)
        objects = [(o.findtext("name"), DrawnObject(0, *(int(o.findtext(f"bndbox/{t}"))
                                                          for t in ("xmin", "ymin", "xmax", "ymax"))))
                   for o in root.iter("object")]
        assert det_annotation_xml(root.findtext("filename"), int(root.findtext("size/width")),
                                  int(root.findtext("size/height")), objects) == raw, xml_path.name


def test_mini_xml_matches_real_structure_and_images(mini, shared_data):
    real = ET.parse(shared_data("det-val-sample", "annotations", "ILSVRC2012_val_00000006.xml")).getroot()
    wnids = {c.wnid for c in MINI_CLASSES[:SMALL.classes]}
    object_count = 0
    for name in _det_names(mini):
        root = ET.parse(mini / MINI_DET_LAYOUT.annotation(name)).getroot()
        objects = list(root.iter("object"))
        assert _tag_paths(root) == (_tag_paths(real) if objects else
                                    {p for p in _tag_paths(real) if "/object" not in p})
        assert root.findtext("filename") == name
        height, width = cv2.imread(str(mini / MINI_DET_LAYOUT.image(name))).shape[:2]
        assert (int(root.findtext("size/width")), int(root.findtext("size/height"))) == (width, height)
        for obj in objects:
            assert obj.findtext("name") in wnids
            x1, x2, y1, y2 = (obj.findtext(f"bndbox/{t}") for t in ("xmin", "xmax", "ymin", "ymax"))
            assert all(re.fullmatch(r"\d+", v) for v in (x1, x2, y1, y2))
            assert 0 <= int(x1) < int(x2) <= width - 1 and 0 <= int(y1) < int(y2) <= height - 1
        object_count += len(objects)
    assert object_count >= SMALL.det_images - 1


def test_eval_list_and_blacklist_follow_the_real_formats(mini, shared_data):
    real_list = shared_data(*DEVKIT, "det_lists", "val.txt").read_text().splitlines()[:3]
    real_black = shared_data(*DEVKIT, "ILSVRC2014_det_validation_blacklist.txt").read_text().splitlines()[:3]
    list_line, black_line = r"ILSVRC201[23]_val_\d{8} [1-9]\d*", r"[1-9]\d* n\d{8}"
    assert all(re.fullmatch(list_line, line) for line in real_list)
    assert all(re.fullmatch(black_line, line) for line in real_black)
    lines = (mini / MINI_DET_LAYOUT.eval_list).read_text().splitlines()
    assert [line.split()[1] for line in lines] == [str(i) for i in range(1, len(lines) + 1)]
    assert all(re.fullmatch(list_line, line) for line in lines)
    blacklist = (mini / MINI_DET_LAYOUT.blacklist).read_text().splitlines()
    assert blacklist
    for line in blacklist:
        assert re.fullmatch(black_line, line)
        index, wnid = line.split()
        xml = ET.parse(mini / MINI_DET_LAYOUT.annotation(lines[int(index) - 1].split()[0])).getroot()
        assert wnid in {o.findtext("name") for o in xml.iter("object")}


# --- odd files ----------------------------------------------------------------------------------

def test_odd_files_are_what_they_claim(mini):
    quirks = _manifest(mini)["quirks"]
    for path, quirk in quirks.items():
        data = (mini / path).read_bytes()
        assert path.endswith(".JPEG")
        with Image.open(mini / path) as image:
            if quirk == "png":
                assert data[:8] == b"\x89PNG\r\n\x1a\n" and image.format == "PNG"
                continue
            assert data[:2] == b"\xff\xd8" and image.format == "JPEG"
            if quirk == "cmyk":
                assert image.mode == "CMYK"
            elif quirk == "grayscale":
                assert image.mode == "L"
                assert cv2.imread(str(mini / path), cv2.IMREAD_UNCHANGED).ndim == 2
            else:
                assert quirk == "exif-rotated" and image.getexif()[0x0112] == 6
    plain = [p for p in _manifest(mini)["files"] if p.endswith(".JPEG") and p not in quirks]
    for path in plain:
        with Image.open(mini / path) as image:
            assert (image.format, image.mode, image.getexif().get(0x0112)) == ("JPEG", "RGB", None)


def test_exif_rotated_file_is_upright_after_applying_exif(mini):
    plan = make_plan(SMALL)
    (image,) = [im for im in plan.val if im.quirk == "exif-rotated"]
    upright = render_classification(SMALL, plan, image).astype(float)
    with Image.open(mini / image.path) as stored:
        raw = np.asarray(stored.convert("RGB"), dtype=float)
        shown = np.asarray(ImageOps.exif_transpose(stored).convert("RGB"), dtype=float)
    assert raw.shape == (upright.shape[1], upright.shape[0], 3)
    assert shown.shape == upright.shape
    error = np.abs(shown - upright).mean()
    assert error < 8  # JPEG loss only
    assert np.abs(np.rot90(shown, 2) - upright).mean() > 2 * error  # a wrong rotation is far off


# --- learnability ----------------------------------------------------------------------------

def test_classes_are_told_apart_by_a_trivial_classifier():
    config = MiniConfig(seed=0, classes=4, train_per_class=30, val_per_class=20, det_images=0)
    plan = make_plan(config)
    hog = cv2.HOGDescriptor((64, 64), (32, 32), (16, 16), (16, 16), 9)

    def features(images):
        rows = []
        for image in images:
            rgb = render_classification(config, plan, image)
            thumb = cv2.resize(rgb, (8, 8), interpolation=cv2.INTER_AREA).ravel() / 255.0
            gray = cv2.resize(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), (64, 64), interpolation=cv2.INTER_AREA)
            rows.append(np.concatenate([thumb, hog.compute(gray).ravel()]))
        return np.stack(rows), np.array([image.class_index for image in images])

    train, train_y = features(plan.train)
    val, val_y = features(plan.val)
    mean, scale = train.mean(axis=0), train.std(axis=0) + 1e-6
    centres = np.stack([((train - mean) / scale)[train_y == k].mean(axis=0) for k in range(4)])
    predicted = np.argmin(((((val - mean) / scale)[:, None] - centres[None]) ** 2).sum(-1), axis=1)
    assert (predicted == val_y).mean() >= 1.5 / config.classes  # chance is 1/4


def test_dominant_objects_are_small_and_large_like_ilsvrc_and_lean_to_the_centre():
    rng = np.random.default_rng(0)
    areas = np.array([dominant_area(rng) for _ in range(4000)])
    assert areas.min() >= 0.03 and areas.max() <= 1.0
    assert 0.25 < np.median(areas) < 0.4  # ILSVRC2012 val's largest box: median 0.32 of the image
    assert (areas < 0.08).mean() > 0.05 and (areas > 0.55).mean() > 0.15
    starts = np.array([object_start(rng, 40.0, 100.0) for _ in range(4000)])
    assert starts.min() >= -4.0 and starts.max() <= 64.0  # at most 10% of the object outside
    assert (starts < 0).mean() > 0.002 and (starts > 60).mean() > 0.002  # sometimes cut by the frame
    centred = np.abs(starts + 20.0 - 50.0)
    assert np.median(centred) < 0.8 * np.median(np.abs(rng.uniform(-4, 64, 4000) + 20.0 - 50.0))
    assert object_start(rng, 200.0, 100.0) == -50.0  # too long to move: centred


# --- errors and the command line ---------------------------------------------------------------

@pytest.mark.parametrize("bad, message", [
    (dict(classes=1), "--classes"), (dict(classes=len(MINI_CLASSES) + 1), "--classes"),
    (dict(val_per_class=1, classes=2), "--val-per-class"), (dict(seed=-1), "--seed"),
    (dict(det_images=-1), "--det-images")])
def test_impossible_parameters_are_refused(tmp_path, bad, message):
    with pytest.raises(ReproError, match=message):
        generate(tmp_path / "x", MiniConfig(**bad))
    assert not (tmp_path / "x").exists()


def test_refuses_to_write_into_a_non_empty_folder(tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(ReproError, match="not an empty folder"):
        generate(tmp_path, SMALL)
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_command_line_writes_the_mini(tmp_path, capsys):
    out = tmp_path / "cli"
    assert main(["data", "mini", "--out", str(out), "--seed", "7", "--classes", "3",
                 "--train-per-class", "3", "--val-per-class", "3", "--det-images", "6"]) == 0
    assert _manifest(out)["parameters"] == SMALL.__dict__
    assert _manifest(out)["content_sha256"] in capsys.readouterr().out
    assert main(["data", "mini", "--out", str(out)]) == 2
    assert "not an empty folder" in capsys.readouterr().err
