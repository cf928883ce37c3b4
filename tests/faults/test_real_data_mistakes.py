"""Real-data mistakes that used to be scored silently, on the real ILSVRC material in ../shared/data:
each now gives the right number or stops with an error naming the file, line or option."""
from __future__ import annotations

import json
import re
import shlex
import shutil
from pathlib import Path

import pytest

from repro.cli import main
from repro.data.ilsvrc.classes import ilsvrc2012_classes, read_meta
from repro.data.ilsvrc.labels import LabelIndex
from repro.engine.store import ModelStore, list_models

pytestmark = pytest.mark.faults

DEVKIT = ("ilsvrc2014-devkit", "data")
GT, META = "ILSVRC2014_clsloc_validation_ground_truth.txt", "meta_clsloc.mat"
VAL_SAMPLE = ("ilsvrc2012-val-sample", "test_images")
# a narrow random-weight network over the 1000 classes, one crop: fast, and the labels are what counts
TINY = ("--model", "googlenet-paper", "--width", "0.0625", "--crops", "1", "--crop-size", "64",
        "--no-progress")


def _partial_folder(shared_data, root: Path, wnids: list[str]) -> Path:
    """A folder-per-synset tree holding only ``wnids``: the imagenet-samples JPEG of each."""
    samples = shared_data("imagenet-samples")
    for wnid in wnids:
        (root / wnid).mkdir(parents=True)
        for image in samples.glob(f"{wnid}_*.JPEG"):
            shutil.copy(image, root / wnid / image.name)
    return root


def _store_index(store: Path) -> dict[str, int]:
    return dict(zip(*[getattr(LabelIndex.from_csv(store / "index.csv"), f) for f in ("filenames", "class_indices")]))


def test_the_embedded_class_list_is_the_devkits_sorted_low_level_synsets(shared_data):
    meta = read_meta(shared_data(*DEVKIT, META))
    assert ilsvrc2012_classes().wnids == meta.classes.wnids
    assert len(ilsvrc2012_classes()) == 1000


@pytest.mark.parametrize("class_list", [None, "synsets", "meta"])
def test_a_folder_holding_some_classes_keeps_their_real_indices(shared_data, tmp_path, capsys, class_list):
    folder = _partial_folder(shared_data, tmp_path / "val", ["n01440764", "n01443537", "n02096051"])
    extra = {None: [], "synsets": ["--synsets", str(shared_data("class-metadata", "synset_words.txt"))],
             "meta": ["--meta", str(shared_data(*DEVKIT, META))]}[class_list]
    store = tmp_path / "store"
    assert main(["evaluate", "--folder", "--images", str(folder), *extra, "--store", str(store), *TINY]) == 0
    labels = _store_index(store)
    assert labels["n02096051/n02096051_Airedale.JPEG"] == 191  # not 2, its place among 3 folders
    assert labels["n01443537/n01443537_goldfish.JPEG"] == 1
    # `repro labels` reads the same folder the same way (it used to refuse: "3 classes, expected 1000")
    assert main(["labels", "--folder", str(folder), *extra, "--out", str(tmp_path / "i.csv")]) == 0
    assert "1000 in the class space" in capsys.readouterr().out
    assert LabelIndex.from_csv(tmp_path / "i.csv").hash == LabelIndex.from_csv(store / "index.csv").hash


@pytest.fixture
def present_index(shared_data, tmp_path, capsys) -> Path:
    """The canonical index of the 100 real val images, from the devkit ground truth."""
    out = tmp_path / "present.csv"
    assert main(["labels", "--gt", str(shared_data(*DEVKIT, GT)), "--meta", str(shared_data(*DEVKIT, META)),
                 "--keep-present", str(shared_data(*VAL_SAMPLE)), "--out", str(out)]) == 0
    assert "kept:      100 of 50000 entries" in capsys.readouterr().out
    return out


def _evaluate(index: Path, images: Path, store: Path, *extra: str) -> list[str]:
    return ["evaluate", "--index", str(index), "--images", str(images), "--store", str(store), *TINY, *extra]


def test_an_index_whose_class_index_disagrees_with_its_wnid_is_refused_at_its_line(
        shared_data, tmp_path, capsys, present_index):
    lines = present_index.read_text().splitlines()
    assert lines[1] == "ILSVRC2012_val_00000001.JPEG,n01751748,65"
    lines[1] = "ILSVRC2012_val_00000001.JPEG,n01751748,64"
    present_index.write_text("\n".join(lines) + "\n")
    store = tmp_path / "store"
    assert main(_evaluate(present_index, shared_data(*VAL_SAMPLE), store)) == 2
    err = capsys.readouterr().err
    assert f"{present_index}:2: ILSVRC2012_val_00000001.JPEG: class_index 64 disagrees with its WNID " \
           f"n01751748, which is class 65" in err
    assert not store.exists()
    lines[1] = "ILSVRC2012_val_00000001.JPEG,n09999999,65"  # not a class at all
    present_index.write_text("\n".join(lines) + "\n")
    assert main(_evaluate(present_index, shared_data(*VAL_SAMPLE), store)) == 2
    assert f"{present_index}:2: ILSVRC2012_val_00000001.JPEG: WNID 'n09999999'" in capsys.readouterr().err
    # the same check through `repro labels --index`
    assert main(["labels", "--index", str(present_index)]) == 2
    assert f"{present_index}:2:" in capsys.readouterr().err


def test_an_index_with_images_missing_is_refused_up_front_with_the_way_to_the_present_subset(
        shared_data, tmp_path, capsys):
    images = tmp_path / "five"
    images.mkdir()
    originals = sorted(shared_data(*VAL_SAMPLE).glob("*.JPEG"))[:5]
    for image in originals:
        (images / image.name).symlink_to(image)
    gt, meta = shared_data(*DEVKIT, GT), shared_data(*DEVKIT, META)
    store = tmp_path / "store"
    args = ["evaluate", "--gt", str(gt), "--meta", str(meta), "--images", str(images), "--store", str(store), *TINY]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert f"49995 of the 50000 images of {gt} are missing under {images}" in err
    assert "ILSVRC2012_val_00000002.JPEG" in err and not store.exists()
    # the message's own command builds the index of the five present ...
    suggested = re.search(r"`repro (labels [^`]+)`", err)[1].replace("present.csv", str(tmp_path / "p.csv"))
    assert main(shlex.split(suggested)) == 0
    capsys.readouterr()
    subset = LabelIndex.from_csv(tmp_path / "p.csv")
    assert list(subset.filenames) == [image.name for image in originals]
    # ... which then evaluates every one of them
    assert main(_evaluate(tmp_path / "p.csv", images, store)) == 0
    assert "evaluated 5 of 5 images (0 missed)" in capsys.readouterr().out
    # `--subset --images 5` on the full ground truth no longer suggests --subset, already given
    assert main(["labels", "--gt", str(gt), "--meta", str(meta), "--subset", "--images", "5"]) == 2
    err = capsys.readouterr().err
    assert "--keep-present DIR" in err and "pass --subset" not in err


def _image_folder_with_damage(shared_data, root: Path) -> tuple[Path, Path, set[str]]:
    """Six real val JPEGs, two of them damaged (empty, cut short), and their real index."""
    images = root / "images"
    images.mkdir(parents=True)
    originals = sorted(shared_data(*VAL_SAMPLE).glob("*.JPEG"))[:6]
    for image in originals:
        shutil.copy(image, images / image.name)
    (images / originals[1].name).write_bytes(b"")
    (images / originals[4].name).write_bytes(originals[4].read_bytes()[:400])
    index = LabelIndex.from_rows((name, wnid, c) for name, wnid, c in LabelIndex.from_csv(
        _full_index(shared_data, root)).rows() if name in {o.name for o in originals})
    return images, index.to_csv(root / "index.csv"), {originals[1].name, originals[4].name}


def _full_index(shared_data, root: Path) -> Path:
    assert main(["labels", "--gt", str(shared_data(*DEVKIT, GT)), "--meta", str(shared_data(*DEVKIT, META)),
                 "--out", str(root / "val.csv")]) == 0
    return root / "val.csv"


def test_missed_images_are_listed_with_why_in_the_summary_and_the_manifest(shared_data, tmp_path, capsys):
    images, index, bad = _image_folder_with_damage(shared_data, tmp_path)
    store = tmp_path / "store"
    args = _evaluate(index, images, store, "--chunk-images", "2", "--batch-size", "2")
    assert main(args) == 2  # default --on-error fail: the chunks holding them are not written
    err = capsys.readouterr().err
    assert "2 image(s) could not be evaluated, so the 2 chunk(s) of 2 images holding them were not " \
           "written (the other chunks were, and are kept)" in err
    model = ModelStore.open(store, list_models(store)[0])
    assert sorted(model.done_chunks()) == [1] and model.missing_chunks() == [0, 2]
    assert main(args + ["--on-error", "miss"]) == 0
    out = capsys.readouterr().out
    assert "evaluated 4 of 6 images (2 missed, counted as wrong)" in out
    for name in bad:
        assert re.search(rf"missed {name}: .*{name}: cannot decode image", out), out
    record = json.loads(model.manifest_path().read_text())
    assert sorted(record["failures"]) == sorted(bad) and record["n_missed"] == 2
    # a later run of the complete store still lists them (they were missed by an earlier run)
    assert main(args + ["--on-error", "miss"]) == 0
    out = capsys.readouterr().out
    assert "0 chunk(s) computed this run" in out and all(f"missed {name}:" in out for name in bad)
    assert sorted(json.loads(model.manifest_path().read_text())["failures"]) == sorted(bad)
