"""Peers on the same single-crop task, same images, same machine, same run: images/s of

- ONNX Runtime on the same model exported from Gluon, fed by a plain loop (decode, crop, run);
- a GluonCV-style loop as its ``verify_pretrained.py`` writes it: ``gluon.data.DataLoader`` over the
  images with GluonCV's test transforms (Resize keep-ratio, CenterCrop, ToTensor, Normalize), worker
  processes, a hybridized network, softmax;
- torchvision's ``googlenet`` in PyTorch, eager and channels-last, in its own interpreter (see
  :mod:`repro.bench.torch_peer`: GluonCV 0.10.5 refuses to import beside torch >= 2).

Every peer computes softmax probabilities for every image; its rate covers one pass over the images.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import mxnet as mx
import numpy as np
from mxnet.gluon.data.vision import transforms

from repro.bench import torch_peer
from repro.bench.timing import Timing, measure_rate
from repro.data.decode import decode_image
from repro.data.ilsvrc.labels import LabelIndex
from repro.engine.crops import extract_crops, get_scheme
from repro.errors import ReproError
from repro.models.backends import build_predictor
from repro.models.refs import ModelRef, load_model


def _row(peer: str, ref: ModelRef, timing: Timing, batch: int, workers: int, note: str) -> dict:
    return {"peer": peer, "model": ref.spec_id, "batch": batch, "workers": workers,
            **timing.columns("images_per_s"), "note": note}


def onnxruntime_loop(ref: ModelRef, index: LabelIndex, root: Path, batch: int, threads: int,
                     repeats: int, warmup: int) -> dict:
    """ONNX Runtime on the exported classifier; decode and crop in the same thread, then run."""
    predict = build_predictor(load_model(ref), f"onnxruntime:threads={threads}", (mx.cpu(),),
                              (batch, ref.input_size, ref.input_size, 3))
    scheme = get_scheme("1").for_crop_size(ref.input_size)
    paths = [root / name for name in index.filenames]

    def run() -> int:
        for start in range(0, len(paths), batch):
            crops = np.zeros((batch, ref.input_size, ref.input_size, 3), dtype=np.uint8)
            for row, path in enumerate(paths[start:start + batch]):
                crops[row] = extract_crops(decode_image(path), scheme)[0]
            predict(crops)
        return len(paths)

    return _row("onnxruntime-loop", ref, measure_rate(run, repeats, warmup), batch, 0,
                f"ONNX Runtime fp32, intra-op threads {threads}; decode+crop inline (no overlap)")


class ImageFiles(mx.gluon.data.Dataset):
    """(image, 0) pairs read with ``mx.image.imread``, as GluonCV's ImageNet dataset reads them."""

    def __init__(self, paths: list[Path]):
        self.paths = paths

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, item: int):
        return mx.image.imread(str(self.paths[item])), 0


def gluoncv_loop(ref: ModelRef, index: LabelIndex, root: Path, batch: int, workers: int,
                 repeats: int, warmup: int) -> dict:
    """GluonCV's ``verify_pretrained.py`` evaluation loop on the same network and images."""
    model = load_model(ref)
    if model.spec.channel_order != "RGB":
        raise ReproError(f"the GluonCV-style peer feeds RGB; {ref.spec_id} expects "
                         f"{model.spec.channel_order}")
    net = model.net
    net.hybridize()
    resize = get_scheme("1").for_crop_size(ref.input_size).scales[0]
    transform = transforms.Compose([
        transforms.Resize(resize, keep_ratio=True), transforms.CenterCrop(ref.input_size),
        transforms.ToTensor(),
        transforms.Normalize([m / 255 for m in model.spec.mean], [s / 255 for s in model.spec.std])])
    dataset = ImageFiles([root / name for name in index.filenames]).transform_first(transform)

    def run() -> int:
        loader = mx.gluon.data.DataLoader(dataset, batch_size=batch, shuffle=False, num_workers=workers)
        for data, _ in loader:  # worker batches arrive in shared memory: copy as split_and_load does
            mx.nd.softmax(net(data.as_in_context(mx.cpu()))).asnumpy()
        return len(dataset)

    return _row("gluoncv-loop", ref, measure_rate(run, repeats, warmup), batch, workers,
                f"gluon DataLoader ({workers} worker processes) + GluonCV transforms, hybridize()")


def torchvision_peers(python: str, index: LabelIndex, root: Path, ref: ModelRef, batch: int,
                      workers: int, threads: int, repeats: int, warmup: int, work_dir: Path) -> list[dict]:
    """torchvision googlenet, eager and channels-last, run by ``python`` (an interpreter with torch
    and torchvision); one row each."""
    listing = work_dir / "torch_peer_images.txt"
    listing.write_text("".join(f"{root / name}\n" for name in index.filenames))
    rows = []
    for channels_last in (False, True):
        command = [python, torch_peer.__file__, "--list", str(listing), "--batch", str(batch),
                   "--workers", str(workers), "--threads", str(threads), "--repeats", str(repeats),
                   "--warmup", str(warmup), "--size", str(ref.input_size),
                   "--resize", str(get_scheme("1").for_crop_size(ref.input_size).scales[0])]
        if channels_last:
            command.append("--channels-last")
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise ReproError(f"torchvision peer failed ({' '.join(command)}):\n{done.stderr[-2000:]}")
        result = json.loads(done.stdout.strip().splitlines()[-1])
        peer = "torchvision-channels-last" if channels_last else "torchvision-eager"
        rows.append(_row(peer, ref, Timing(tuple(result["rates"]), result["load"]), batch, workers,
                         f"torch {result['torch']}, torchvision {result['torchvision']}, "
                         f"{result['threads']} threads, DataLoader ({workers} worker processes), "
                         f"PIL + torchvision transforms, inference_mode"))
    return rows


def torch_python(explicit: str | None) -> str | None:
    """The interpreter for the torchvision peer: ``explicit``, else this one if it has torch."""
    if explicit:
        return explicit
    probe = subprocess.run([sys.executable, "-c", "import torch, torchvision"], capture_output=True)
    return sys.executable if probe.returncode == 0 else None
