"""Bad input answered with a clear one-line error and exit status 2 (130 for Ctrl-C), never a
traceback or a wrong answer: each case of the issue, on real files (real JPEGs, the ../shared/data
material, stores written by `repro evaluate`)."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import mxnet as mx
import pytest
from support import cli_args, make_dataset, parse_val2

from repro.cli import main
from repro.engine.store import ModelStore, list_models

pytestmark = pytest.mark.faults

DEVKIT = ("ilsvrc2014-devkit", "data")


def _error(capsys, args: list[str]) -> str:
    """Run the CLI, require exit status 2 and one line without a traceback; return it."""
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    """Four real JPEGs, their index, and a complete store of a narrow network over them."""
    root = tmp_path_factory.mktemp("data")
    make_dataset(root, 4)
    store = root / "store"
    assert main(cli_args(root, store)) == 0
    return root, store


# ---- stores ------------------------------------------------------------------------------------------

def test_a_damaged_store_json_is_an_error_naming_it_in_every_reader(evaluated, tmp_path, capsys):
    import shutil

    root, store = evaluated
    damaged = tmp_path / "damaged"
    shutil.copytree(store, damaged)
    spec = damaged / list_models(damaged)[0] / "store.json"
    spec.write_text(spec.read_text()[:40])  # cut short, as by a full disk under a non-atomic writer
    for args in (["ensemble", "--store", str(damaged), "--crops", "1"],
                 ["audit", "--store", str(damaged), "--images", str(root / "images"), "--no-progress"],
                 ["merge", "--store", str(damaged)], cli_args(root, damaged)):
        err = _error(capsys, args)
        assert f"{spec} is damaged" in err and "delete" in err, err


def test_a_nonexistent_or_empty_store_is_named_as_such(evaluated, tmp_path, capsys):
    root, _ = evaluated
    for command in (["ensemble"], ["submit", "--meta", str(root / "index.csv"), "--out", str(tmp_path / "s.txt")],
                    ["merge"], ["audit", "--images", str(root / "images")], ["table", "3", "--out", str(tmp_path)]):
        err = _error(capsys, [*command, "--store", "/nonexistent"])
        assert "--store: /nonexistent: no such directory" in err
    (tmp_path / "empty").mkdir()
    err = _error(capsys, ["audit", "--store", str(tmp_path / "empty"), "--images", str(root / "images")])
    assert "holds no model results" in err


# ---- evaluate options --------------------------------------------------------------------------------

@pytest.mark.parametrize("option, value", [("--chunk-images", "0"), ("--width", "0"), ("--width", "-1"),
                                           ("--batch-size", "0"), ("--batch-size", "-4"),
                                           ("--interpolation", "bilinaer")])
def test_evaluate_refuses_a_bad_option_before_any_work(evaluated, tmp_path, capsys, option, value):
    root, _ = evaluated
    args = cli_args(root, tmp_path / "s")
    if option in args:
        args[args.index(option) + 1] = value
    else:
        args += [option, value]
    err = _error(capsys, args)
    assert f"argument {option}:" in err
    if option == "--interpolation":
        assert "did you mean bilinear?" in err
    assert not (tmp_path / "s").exists()  # no store, no uniform 0.001 probabilities


def test_a_gpu_context_without_a_gpu_says_so(evaluated, tmp_path, capsys):
    if mx.context.num_gpus():
        pytest.skip("this machine has a GPU")
    root, _ = evaluated
    err = _error(capsys, cli_args(root, tmp_path / "s", "--ctx", "gpu:0"))
    assert "--ctx 'gpu:0': MXNet sees 0 GPU(s)" in err and "use --ctx cpu" in err
    assert "crop-size" not in err


def test_a_misspelt_keyword_is_not_taken_for_a_file_name(evaluated, tmp_path, capsys):
    root, _ = evaluated
    args = [a for a in cli_args(root, tmp_path / "s") if a not in ("--width", "0.125")]
    args[args.index("--model") + 1] = "googlenet-gluoncv:pretraned"
    err = _error(capsys, args)
    assert "'pretraned' is neither random nor pretrained" in err
    assert "did you mean googlenet-gluoncv:pretrained?" in err


def test_a_junk_params_file_is_one_clean_line(evaluated, tmp_path, capsys):
    root, _ = evaluated
    junk = tmp_path / "junk.params"
    junk.write_bytes(b"these are not weights\n" * 4)
    args = cli_args(root, tmp_path / "s")
    args[args.index("--model") + 1] = f"googlenet-paper:{junk}"
    err = _error(capsys, args)
    assert f"{junk} is not an MXNet .params file (Check failed" in err


def test_a_missing_meta_file_is_named(shared_data, tmp_path, capsys):
    gt = shared_data(*DEVKIT, "ILSVRC2014_clsloc_validation_ground_truth.txt")
    err = _error(capsys, ["labels", "--gt", str(gt), "--meta", str(tmp_path / "meta.mat")])
    assert f"argument --meta: {tmp_path / 'meta.mat'}: no such file" in err
    from repro.data.ilsvrc.classes import read_meta
    from repro.errors import LabelError

    with pytest.raises(LabelError, match="meta.mat: no such file"):
        read_meta(tmp_path / "meta.mat")  # the library says the same to its own callers


def test_arch_with_an_input_too_small_for_the_network(capsys):
    err = _error(capsys, ["arch", "--input-size", "5"])
    assert "--input-size 5 is too small for googlenet-paper" in err and "MXNetError" not in err


# ---- audit -------------------------------------------------------------------------------------------

def test_audit_refuses_what_it_cannot_check(evaluated, tmp_path, capsys):
    root, store = evaluated
    base = ["audit", "--store", str(store), "--no-progress"]
    assert "--images: /nonexistent: no such directory" in _error(capsys, base + ["--images", "/nonexistent"])
    (tmp_path / "other").mkdir()
    err = _error(capsys, base + ["--images", str(tmp_path / "other")])
    assert f"none of the 4 sampled images of {list_models(store)[0]} is under {tmp_path / 'other'}" in err
    assert "--sample: 0 is out of range" in _error(capsys, base + ["--images", str(root / "images"),
                                                                    "--sample", "0"])


def test_audit_names_a_sampled_image_that_has_gone(evaluated, tmp_path, capsys):
    import shutil

    root, store = evaluated
    images = tmp_path / "images"
    shutil.copytree(root / "images", images)
    (images / "img_0002.JPEG").unlink()
    assert main(["audit", "--store", str(store), "--images", str(images), "--sample", "4"]) == 1
    captured = capsys.readouterr()
    assert "FAIL" in captured.out and "3 of 4 sampled images re-evaluated" in captured.out
    assert f"row 2: img_0002.JPEG is not under {images}" in captured.out
    assert "audit " in captured.err  # the progress bar


# ---- Ctrl-C ------------------------------------------------------------------------------------------

def test_ctrl_c_during_evaluate_exits_130_and_the_same_command_resumes_to_the_same_store(tmp_path):
    make_dataset(tmp_path / "data", 20)
    reference = tmp_path / "reference"
    assert main(cli_args(tmp_path / "data", reference)) == 0
    store = tmp_path / "interrupted"
    command = [sys.executable, "-m", "repro", *cli_args(tmp_path / "data", store)]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 180
        while len(list(store.glob("*/chunks/c*.npz"))) < 2 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        assert proc.poll() is None, proc.communicate()[1][-2000:]
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 130, err[-2000:]
    assert err.rstrip().endswith("repro evaluate: interrupted; re-run the same command to resume")
    assert "Traceback" not in err
    model = ModelStore.open(store, list_models(store)[0])
    assert model.missing_chunks() and not model.manifest_path().exists()
    for chunk in model.done_chunks():  # every chunk present is complete
        assert model.read_chunk(chunk)["rows"].tolist() == list(model.spec.chunk_rows(chunk))
    assert main(cli_args(tmp_path / "data", store)) == 0
    assert model.content_sha256() == ModelStore.open(reference, list_models(reference)[0]).content_sha256()


# ---- det-eval ----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def det_submission(tmp_path_factory, shared_data_module):
    """A real val2 submission: the ground-truth boxes of the first 40 images, as detections."""
    data = shared_data_module(*DEVKIT)
    _, image_list, annotations, gt_dir = parse_val2(data)
    lines = [f"{index} {c} 0.9 {b[0]} {b[1]} {b[2]} {b[3]}"
             for index, a in list(zip(image_list.indexes, annotations))[:40]
             for c, b in zip(a.class_ids.tolist(), a.boxes.tolist())]
    args = ["--gt-dir", str(gt_dir), "--meta", str(data / "meta_det.mat"),
            "--list", str(data / "det_lists" / "ilsvrc13_val2.txt")]
    return lines, args, tmp_path_factory.mktemp("det")


@pytest.fixture(scope="module")
def shared_data_module():
    from support import shared_path

    return shared_path


def _det_eval(tmp: Path, name: str, lines: list[str], args: list[str], csv: Path | None = None) -> list[str]:
    (tmp / name).write_text("\n".join(lines) + "\n")
    return ["det-eval", str(tmp / name), *args, "--csv", str(csv or tmp / f"{name}.csv")]


def test_det_eval_refuses_inverted_and_nan_boxes_naming_the_line(det_submission, capsys):
    lines, args, tmp = det_submission
    inverted = list(lines)
    fields = inverted[3].split()
    fields[3], fields[5] = fields[5], fields[3]  # xmin <-> xmax
    inverted[3] = " ".join(fields)
    err = _error(capsys, _det_eval(tmp, "inverted.txt", inverted, args))
    assert "inverted.txt line 4: box" in err and "is inverted (xmax < xmin" in err
    nan = list(lines)
    fields = nan[6].split()
    fields[4] = "nan"
    nan[6] = " ".join(fields)
    err = _error(capsys, _det_eval(tmp, "nan.txt", nan, args))
    assert "nan.txt line 7: confidence and box must be finite numbers" in err


def test_det_eval_scores_off_image_boxes_as_the_devkit_and_counts_them(det_submission, capsys):
    lines, args, tmp = det_submission
    assert main(_det_eval(tmp, "exact.txt", lines, args)) == 0
    exact = capsys.readouterr().out
    assert "0 scored detections reach beyond their image" in exact
    off = list(lines)
    fields = off[0].split()
    fields[5] = str(float(fields[5]) + 4000)  # far beyond the right edge
    off[0] = " ".join(fields)
    assert main(_det_eval(tmp, "off.txt", off, args)) == 0
    out = capsys.readouterr().out
    assert "1 scored detections reach beyond their image: scored as given" in out
    assert json.loads((tmp / "off.txt.csv.manifest.json").read_text())["n_off_image"] == 1
    # scored as given: that box no longer matches its object, so the mAP drops
    assert float(out.split("mAP ")[1].split()[0]) < float(exact.split("mAP ")[1].split()[0])


def test_det_eval_into_an_unwritable_place(det_submission, capsys):
    lines, args, tmp = det_submission
    (tmp / "a_file").write_text("")
    for csv in (tmp / "a_file" / "ap.csv", Path("/proc/repro-not-writable/ap.csv")):
        err = _error(capsys, _det_eval(tmp, "ok.txt", lines, args, csv))
        assert f"argument --csv: cannot write {csv}" in err
    from repro.errors import ReproError
    from repro.metrics.det_scoring import score_submission

    data = Path(args[args.index("--meta") + 1]).parent
    with pytest.raises(ReproError, match="cannot write"):  # the library refuses it too, by name
        score_submission(tmp / "ok.txt", Path(args[1]), data / "meta_det.mat",
                         data / "det_lists" / "ilsvrc13_val2.txt", tmp / "a_file" / "ap.csv", progress=False)
