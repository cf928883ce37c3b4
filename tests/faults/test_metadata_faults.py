"""Bad metadata through the commands a user runs: label files with missing, duplicate or out-of-range
entries, a WNID outside the class list, a class count other than 1000, ensemble members of different
dataset indices or scheme versions, stores of another scheme or format version, weights of another
architecture. Each one is exit status 2 with a one-line message naming what is wrong."""
from __future__ import annotations

import json
import os
from pathlib import Path

import cv2
import numpy as np
import pytest
from support import cli_args, make_dataset

from repro.cli import main
from repro.data.ilsvrc.labels import LabelIndex
from repro.engine.store import list_models
from repro.models.refs import load_model, parse_ref

pytestmark = pytest.mark.faults

THOUSAND = [f"n{i:08d}" for i in range(1000)]  # a synthetic 1000-class space in sorted order


def _synsets(path: Path, wnids: list[str]) -> Path:
    path.write_text("".join(f"{wnid} class {i}\n" for i, wnid in enumerate(wnids)))
    return path


def _error(capsys, args: list[str]) -> str:
    """Run the CLI, require exit status 2, return its one-line error."""
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


def _evaluate(root: Path, store: Path, *extra: str, crops: str = "1", seed: int = 0) -> list[str]:
    args = cli_args(root, store, *extra, seed=seed)
    args[args.index("--crops") + 1] = crops
    return args


def _spec_path(store: Path) -> Path:
    (key,) = list_models(store)
    return store / key / "store.json"


def _edit_spec(store: Path, **fields) -> None:
    path = _spec_path(store)
    path.write_text(json.dumps({**json.loads(path.read_text()), **fields}))


# ---- label files through `repro labels` ----------------------------------------------------------

def test_a_class_list_of_other_than_1000_classes_needs_classes_k(tmp_path, capsys):
    synsets = _synsets(tmp_path / "synsets.txt", THOUSAND[:3])
    (tmp_path / "val.txt").write_text("a.JPEG 0\nb.JPEG 2\n")
    args = ["labels", "--caffe", str(tmp_path / "val.txt"), "--synsets", str(synsets)]
    err = _error(capsys, args)
    assert "synsets.txt: 3 classes, expected 1000" in err
    assert main(args + ["--classes", "3", "--out", str(tmp_path / "i.csv")]) == 0
    assert main(args + ["--classes", "1001"]) == 2


def test_missing_entries_of_the_full_validation_set_are_refused_unless_a_subset(tmp_path, capsys):
    synsets = _synsets(tmp_path / "synsets.txt", THOUSAND)
    (tmp_path / "val.txt").write_text("".join(f"ILSVRC2012_val_{i:08d}.JPEG {i % 1000}\n"
                                              for i in range(1, 4)))
    args = ["labels", "--caffe", str(tmp_path / "val.txt"), "--synsets", str(synsets)]
    assert "the index has 3 images, expected 50000" in _error(capsys, args)
    assert main(args + ["--subset"]) == 0


def test_a_duplicate_kaggle_entry_names_both_lines(tmp_path, capsys):
    synsets = _synsets(tmp_path / "synsets.txt", THOUSAND)
    (tmp_path / "sol.csv").write_text("ImageId,PredictionString\nv1,n00000001 0 0 5 5\n"
                                      "v2,n00000002\nv1,n00000003\n")
    err = _error(capsys, ["labels", "--kaggle", str(tmp_path / "sol.csv"), "--synsets", str(synsets),
                          "--subset"])
    assert "sol.csv:4: duplicate entry for v1.JPEG" in err and "sol.csv:2" in err


def test_an_out_of_range_devkit_id_names_its_line(tmp_path, capsys):
    import scipy.io

    synsets = np.array([(i + 1, wnid, 0) for i, wnid in enumerate(THOUSAND)],
                       dtype=[("ILSVRC2012_ID", "O"), ("WNID", "O"), ("num_children", "O")])
    scipy.io.savemat(tmp_path / "meta.mat", {"synsets": synsets})
    (tmp_path / "gt.txt").write_text("1\n1000\n1001\n")
    err = _error(capsys, ["labels", "--gt", str(tmp_path / "gt.txt"), "--meta", str(tmp_path / "meta.mat"),
                          "--subset"])
    assert "gt.txt:3: ILSVRC ID 1001 is not a low-level synset" in err


def test_a_synset_folder_not_in_the_meta_is_refused(tmp_path, capsys):
    synsets = _synsets(tmp_path / "synsets.txt", THOUSAND)
    for wnid in ("n00000005", "n09999999"):
        (tmp_path / "val" / wnid).mkdir(parents=True)
        assert cv2.imwrite(str(tmp_path / "val" / wnid / "a.JPEG"), np.zeros((8, 8, 3), np.uint8))
    err = _error(capsys, ["labels", "--folder", str(tmp_path / "val"), "--synsets", str(synsets)])
    assert "n09999999: WNID 'n09999999' is not one of the 1000 classes of" in err


def test_a_class_index_beyond_the_models_outputs_is_refused(tmp_path, capsys):
    make_dataset(tmp_path, 2)
    LabelIndex.from_rows([("img_0000.JPEG", "n01440764", 0),
                          ("img_0001.JPEG", "n09999999", 7)]).to_csv(tmp_path / "index.csv")
    err = _error(capsys, _evaluate(tmp_path, tmp_path / "s"))  # the model has 5 outputs
    assert "img_0001.JPEG" in err and "7" in err


# ---- stores and ensembles --------------------------------------------------------------------------

def test_ensemble_members_of_different_dataset_indices_are_refused(tmp_path, capsys):
    make_dataset(tmp_path / "a", 2)
    make_dataset(tmp_path / "b", 3)
    assert main(_evaluate(tmp_path / "a", tmp_path / "sa")) == 0
    assert main(_evaluate(tmp_path / "b", tmp_path / "sb", seed=7)) == 0
    both = tmp_path / "both"
    both.mkdir()
    for store in (tmp_path / "sa", tmp_path / "sb"):
        key = list_models(store)[0]
        os.symlink(store / key, both / key)
    os.symlink(tmp_path / "sa" / "index.csv", both / "index.csv")
    err = _error(capsys, ["ensemble", "--store", str(both), "--crops", "1"])
    assert "ensemble members disagree on index_sha256" in err
    # the same stores under an index.csv of neither dataset
    os.unlink(both / "index.csv")
    os.symlink(tmp_path / "sb" / "index.csv", both / "index.csv")
    key_a = list_models(tmp_path / "sa")[0]
    err = _error(capsys, ["ensemble", "--store", str(both), "--models", key_a, "--crops", "1"])
    assert "does not match the stores' dataset index" in err


def test_a_store_claiming_another_scheme_version_is_not_extended_mixed_or_audited(tmp_path, capsys):
    make_dataset(tmp_path, 2)
    store, other = tmp_path / "s", tmp_path / "o"
    assert main(_evaluate(tmp_path, store)) == 0
    assert main(_evaluate(tmp_path, other, seed=7)) == 0
    current = json.loads(_spec_path(store).read_text())["scheme_version"]
    _edit_spec(store, scheme_version=current + 1)
    err = _error(capsys, _evaluate(tmp_path, store))
    assert "was made for a different run" in err and f"scheme_version: store has {current + 1}" in err
    err = _error(capsys, ["audit", "--store", str(store), "--images", str(tmp_path / "images"),
                          "--sample", "1"])
    assert f"v{current + 1}; this version of the harness has" in err
    key = list_models(other)[0]
    os.symlink(other / key, store / key)
    err = _error(capsys, ["ensemble", "--store", str(store), "--crops", "1"])
    assert "ensemble members disagree on scheme_version" in err


def test_a_store_of_another_format_version_is_refused_by_every_command(tmp_path, capsys):
    make_dataset(tmp_path, 2)
    store = tmp_path / "s"
    assert main(_evaluate(tmp_path, store)) == 0
    # what format 2 wrote: the spec without the interpolation, backend, decoding and data identity
    spec = json.loads(_spec_path(store).read_text())
    for field in ("interpolation", "backend", "precision", "exif_orientation", "data"):
        del spec[field]
    _spec_path(store).write_text(json.dumps({**spec, "format_version": 2}))
    refused = f"{_spec_path(store)} has store format 2; this harness reads format 3"
    how = "re-run `repro evaluate` with the same options into a new --store directory"
    for args in (_evaluate(tmp_path, store),  # resuming it
                 ["ensemble", "--store", str(store), "--crops", "1"],
                 ["table", "3", "--store", str(store), "--out", str(tmp_path / "t")],
                 ["merge", "--store", str(store)],
                 ["audit", "--store", str(store), "--images", str(tmp_path / "images"), "--sample", "1"]):
        err = _error(capsys, args)
        assert refused in err and how in err, args
    _edit_spec(store, format_version=1)
    assert f"{_spec_path(store)} has store format 1" in _error(capsys, ["ensemble", "--store", str(store),
                                                                         "--crops", "1"])


def test_weights_of_another_architecture_in_a_model_card_are_refused(tmp_path, capsys):
    make_dataset(tmp_path, 2)
    member = tmp_path / "member"
    member.mkdir()
    load_model(parse_ref("googlenet-paper", classes=5, width=0.25, input_size=64)).net.save_parameters(
        str(member / "w.params"))
    card = member / "card.json"
    args = _evaluate(tmp_path, tmp_path / "s")
    args[args.index("--model") + 1] = str(card)
    # the same family at another width, then another family altogether
    card.write_text(json.dumps({"spec": "googlenet-paper", "params": "w.params", "classes": 5,
                                "width": 0.125, "input_size": 64, "name": "m"}))
    err = _error(capsys, args)
    assert f"{member / 'w.params'}: parameter 'conv1.weight' has shape" in err
    card.write_text(json.dumps({"spec": "googlenet-gluoncv", "params": "w.params", "classes": 5,
                                "input_size": 224, "name": "m"}))
    args[args.index("--crop-size") + 1] = "224"
    args.remove("--width")
    args.remove("0.125")
    err = _error(capsys, args)
    assert f"{member / 'w.params'} has no parameter" in err and "another architecture" in err
    assert not list(tmp_path.glob("s/*/chunks/*.npz"))


def test_a_crop_size_too_small_for_the_architecture_is_a_clear_error(tmp_path, capsys):
    make_dataset(tmp_path, 2)
    args = _evaluate(tmp_path, tmp_path / "s")
    args[args.index("--model") + 1] = "googlenet-gluoncv"
    args.remove("--width")
    args.remove("0.125")
    err = _error(capsys, args)  # 64 px: gluoncv's 7x7 average pool sees a 2x2 map
    assert "64" in err
