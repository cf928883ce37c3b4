"""Fault injection on the evaluation engine: full disk, concurrent shards, bad images, unsafe names."""
from __future__ import annotations

import json
import resource
import signal
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from support import cli_args, make_dataset

from repro.cli import main
from repro.data.ilsvrc.labels import LabelIndex
from repro.engine.store import ModelStore, list_models

pytestmark = pytest.mark.faults


def only_store(path: Path) -> ModelStore:
    (key,) = list_models(path)
    return ModelStore.open(path, key)


def run_cli(args: list[str], limit_file_bytes: int | None = None) -> subprocess.CompletedProcess:
    def limit():
        if limit_file_bytes is not None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of being killed
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit_file_bytes, limit_file_bytes))
    return subprocess.run([sys.executable, "-m", "repro", *args], capture_output=True, text=True,
                          timeout=300, preexec_fn=limit)


def test_a_full_disk_is_a_clear_error_and_leaves_no_partial_result(tmp_path):
    make_dataset(tmp_path / "data", 4)
    store = tmp_path / "s"
    done = run_cli(cli_args(tmp_path / "data", store, "--per-crop"), limit_file_bytes=8192)
    assert done.returncode == 2, done.stderr
    assert "cannot write" in done.stderr and "c000000.npz" in done.stderr
    assert "File too large" in done.stderr
    model_dir = store / list_models(store)[0]
    assert not list(model_dir.rglob("*.npz")) and not list(model_dir.rglob("*.tmp"))
    assert not (model_dir / "manifest.json").exists()
    # With room again, the same command completes.
    assert main(cli_args(tmp_path / "data", store, "--per-crop")) == 0
    assert json.loads((model_dir / "manifest.json").read_text())["n_evaluated"] == 4


@pytest.mark.slow
def test_concurrent_shard_processes_then_merge_equal_one_process(tmp_path):
    make_dataset(tmp_path / "data", 6)
    shared = tmp_path / "shared"
    procs = [subprocess.Popen([sys.executable, "-m", "repro",
                               *cli_args(tmp_path / "data", shared, "--shard", f"{k}/3")],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
             for k in (1, 2, 3)]
    try:
        for proc in procs:
            assert proc.wait(timeout=300) == 0, proc.stderr.read()
    finally:
        for proc in procs:
            proc.kill()
    assert main(["merge", "--store", str(shared)]) == 0
    single = tmp_path / "single"
    assert main(cli_args(tmp_path / "data", single)) == 0
    assert only_store(shared).content_sha256() == only_store(single).content_sha256()


def test_a_second_process_claiming_a_held_shard_fails_clearly(tmp_path):
    make_dataset(tmp_path / "data", 4)
    store = tmp_path / "s"
    assert main(cli_args(tmp_path / "data", store, "--shard", "2/2")) == 0
    with only_store(store).lock((1, 2)):
        done = run_cli(cli_args(tmp_path / "data", store, "--shard", "1/2"))
    assert done.returncode == 2
    assert "shard-1-of-2.lock" in done.stderr and "being written by pid" in done.stderr
    assert only_store(store).missing_chunks() == [0]  # nothing written by the refused run


def _huge_png_header(width: int, height: int) -> bytes:
    """A valid PNG signature and IHDR claiming a huge image (a decompression bomb's header)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr
    chunk += struct.pack(">I", zlib.crc32(b"IHDR" + ihdr) & 0xFFFFFFFF)
    return b"\x89PNG\r\n\x1a\n" + chunk + b"\x00" * 64


def test_bad_images_decode_or_fail_by_name_and_the_count_stays_exact(tmp_path, capsys):
    images = tmp_path / "images"
    images.mkdir()
    rng = np.random.RandomState(0)
    good = rng.randint(0, 256, (80, 100, 3), dtype=np.uint8)
    cv2.imwrite(str(images / "a_good.JPEG"), good)
    cv2.imwrite(str(images / "b_png_named_jpeg.JPEG"), good)  # rewritten as PNG below
    (images / "b_png_named_jpeg.JPEG").write_bytes(cv2.imencode(".png", good)[1].tobytes())
    Image.fromarray(good).convert("CMYK").save(images / "c_cmyk.JPEG", "JPEG")
    (images / "d_16bit.JPEG").write_bytes(
        cv2.imencode(".png", (good.astype(np.uint16) * 257))[1].tobytes())
    cv2.imwrite(str(images / "e_one_pixel.JPEG"), good[:1, :1])
    (images / "f_zero_bytes.JPEG").write_bytes(b"")
    (images / "g_truncated.JPEG").write_bytes((images / "a_good.JPEG").read_bytes()[:300])
    (images / "h_random.JPEG").write_bytes(rng.bytes(2000))
    (images / "i_bomb.JPEG").write_bytes(_huge_png_header(100_000, 100_000))
    bad = {"f_zero_bytes.JPEG", "g_truncated.JPEG", "h_random.JPEG", "i_bomb.JPEG"}
    names = sorted(p.name for p in images.iterdir())
    index = LabelIndex.from_rows((n, "n01440764", 0) for n in names)
    index.to_csv(tmp_path / "index.csv")
    store = tmp_path / "s"
    args = cli_args(tmp_path, store)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert f"{len(bad)} image(s) could not be evaluated" in err
    for name in bad:
        assert name in err
    for name in set(names) - bad:
        assert name not in err
    assert main(args + ["--on-error", "miss"]) == 0
    manifest = json.loads((store / list_models(store)[0] / "manifest.json").read_text())
    assert (manifest["n_images"], manifest["n_evaluated"], manifest["n_missed"]) == (9, 5, 4)
    assert sorted(manifest["failures"]) == sorted(bad)


def test_a_model_name_cannot_escape_the_store(tmp_path, capsys):
    from repro.models.refs import load_model, parse_ref

    make_dataset(tmp_path / "data", 2)
    net_dir = tmp_path / "member"
    net_dir.mkdir()
    model = load_model(parse_ref("googlenet-paper", classes=5, width=0.125, input_size=64))
    model.net.save_parameters(str(net_dir / "w.params"))
    card = net_dir / "card.json"
    card.write_text(json.dumps({"spec": "googlenet-paper", "params": "w.params", "classes": 5,
                                "width": 0.125, "input_size": 64, "name": "../../escaped"}))
    args = cli_args(tmp_path / "data", tmp_path / "store")
    args[args.index("--model") + 1] = str(card)
    assert main(args) == 2
    assert "not a safe directory name" in capsys.readouterr().err
    assert not (tmp_path / "escaped").exists() and not (tmp_path.parent / "escaped").exists()
