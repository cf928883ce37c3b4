"""No input can make the harness write outside its output folder: file names read from label files,
index CSVs, detection lists and model cards are validated (`..`, absolute paths, separators refused),
and an output folder that already holds something else is not written into."""
from __future__ import annotations

import json

import pytest
from support import cli_args, make_dataset

from repro.cli import main
from repro.data.ilsvrc.classes import ClassList
from repro.data.ilsvrc.det import read_image_list
from repro.data.ilsvrc.formats import read_kaggle
from repro.errors import LabelError, ReproError
from repro.models.refs import parse_ref

pytestmark = pytest.mark.faults

UNSAFE_NAMES = ["../escaped.JPEG", "a/../../escaped.JPEG", "/tmp/escaped.JPEG", "C:/escaped.JPEG",
                "a\\..\\escaped.JPEG", "./a.JPEG"]


@pytest.mark.parametrize("name", UNSAFE_NAMES)
def test_an_index_csv_with_an_unsafe_file_name_is_refused_before_anything_is_written(tmp_path, capsys, name):
    root = tmp_path / "run"
    make_dataset(root, 2)
    index = root / "index.csv"
    lines = index.read_text().splitlines()
    lines.insert(1, f"{name},n01440764,0")  # sorts first: '.', '/', 'C', 'a' < 'img_'
    index.write_text("\n".join(lines) + "\n")
    before = set(tmp_path.rglob("*"))
    assert main(cli_args(root, root / "store")) == 2
    err = capsys.readouterr().err
    assert "index.csv:2" in err and "file name" in err
    assert not (root / "store").exists()
    assert set(tmp_path.rglob("*")) == before


@pytest.mark.parametrize("image_id", ["../../escaped", "/tmp/escaped", "sub/../../escaped"])
def test_a_kaggle_image_id_cannot_leave_the_image_root(tmp_path, image_id):
    (tmp_path / "sol.csv").write_text(f"ImageId,PredictionString\nv1,n01440764\n{image_id},n01440764\n")
    with pytest.raises(LabelError, match=r"sol.csv:3: file name .*(absolute|'\.\.')"):
        read_kaggle(tmp_path / "sol.csv", ClassList(("n01440764",), "one class"))


def test_a_caffe_label_file_name_with_dot_dot_through_the_cli(tmp_path, capsys):
    (tmp_path / "synsets.txt").write_text("n01440764 tench\n")
    (tmp_path / "val.txt").write_text("a.JPEG 0\n../../b.JPEG 0\n")
    out = tmp_path / "out" / "index.csv"
    assert main(["labels", "--caffe", str(tmp_path / "val.txt"), "--synsets", str(tmp_path / "synsets.txt"),
                 "--classes", "1", "--out", str(out)]) == 2
    assert "val.txt:2: file name '../../b.JPEG'" in capsys.readouterr().err
    assert not out.exists()


def test_a_model_card_name_cannot_escape_the_store_through_the_cli(tmp_path, capsys):
    make_dataset(tmp_path / "data", 2)
    card = tmp_path / "card.json"
    card.write_text(json.dumps({"spec": "googlenet-paper", "params": "w.params", "classes": 5, "width": 0.125,
                                "input_size": 64, "name": "a/b"}))
    from repro.models.refs import load_model

    load_model(parse_ref("googlenet-paper", classes=5, width=0.125, input_size=64)).net.save_parameters(
        str(tmp_path / "w.params"))
    args = cli_args(tmp_path / "data", tmp_path / "store")
    args[args.index("--model") + 1] = str(card)
    assert main(args) == 2
    assert "'a/b' is not a safe directory name" in capsys.readouterr().err
    assert not (tmp_path / "store" / "a").exists()


@pytest.mark.parametrize("name", ["a/b", "../escaped", "x/../../escaped", ".."])
def test_a_model_card_with_an_unsafe_name_is_refused_when_read(tmp_path, name):
    card = tmp_path / "card.json"
    card.write_text(json.dumps({"spec": "googlenet-paper", "params": "w.params", "classes": 5,
                                "width": 0.125, "input_size": 64, "name": name}))
    with pytest.raises(ReproError, match="name"):
        parse_ref(str(card))


def test_detection_fine_tuning_cannot_write_outside_its_output_folder(tmp_path):
    from support import classification_card, tiny_detection_protocol

    from repro.data.mini.config import MiniConfig
    from repro.data.mini.generate import generate
    from repro.detect.dataset import open_det_data
    from repro.detect.run import RunSettings, finetune_members

    generate(tmp_path / "mini", MiniConfig(seed=3, classes=2, train_per_class=2, val_per_class=3, det_images=6))
    card = classification_card(tmp_path / "cls", 1, 2)
    record = json.loads(card.read_text())
    card.write_text(json.dumps({**record, "name": "x/../../../../escaped"}))  # lands in tmp_path
    out = tmp_path / "work" / "ft"
    try:
        finetune_members(open_det_data(tmp_path / "mini"), tiny_detection_protocol(), [str(card)], out,
                         RunSettings(workers=1), count=1)
    except ReproError:
        pass  # refusing the name is the fix
    assert not (tmp_path / "escaped").exists()


@pytest.mark.parametrize("name", ["../../escaped", "/tmp/escaped", "a/../../escaped"])
def test_a_detection_list_name_cannot_leave_the_image_root(tmp_path, name):
    (tmp_path / "val.txt").write_text(f"ILSVRC2013_val_00000001 1\n{name} 2\n")
    with pytest.raises(ReproError, match=r"val.txt line 2"):
        read_image_list(tmp_path / "val.txt")


def test_mini_generation_into_a_folder_holding_files_leaves_them_untouched(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.txt").write_text("keep me")
    assert main(["data", "mini", "--out", str(out), "--classes", "2"]) == 2
    assert "not an empty folder" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["mine.txt"] and (out / "mine.txt").read_text() == "keep me"
