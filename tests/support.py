"""Helpers shared by the tests (the one module they import besides the project): the real ILSVRC
material in ../shared/data, a tiny dataset of real JPEGs with `repro evaluate` arguments, the devkit's
DET files in small, and tiny training runs."""
from __future__ import annotations

import dataclasses
import functools
import json
import os
from pathlib import Path

import cv2
import numpy as np
import pytest
import scipy.io

from repro.data.ilsvrc.det import DetClass, DetMeta, load_det_meta, read_annotations, read_image_list
from repro.data.ilsvrc.labels import LabelIndex
from repro.data.mini.config import MiniConfig
from repro.data.mini.generate import generate
from repro.detect.specs import (
    DETECTION_PROTOCOLS,
    LEARNED_PROPOSALS,
    PROPOSAL_SETS,
    SELECTIVE_SEARCH,
    DetectionProtocol,
    ProposalSetSpec,
)

PROJECT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("REPRO_SHARED_DATA", PROJECT.parent / "shared" / "data"))


def shared_path(*parts: str) -> Path:
    """A path under ../shared/data; the calling test is skipped when it does not exist."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent (the real ILSVRC material in ../shared/data is not on this "
                    f"machine; set REPRO_SHARED_DATA to its folder to run this test)")
    return path


# ---- a tiny classification dataset of real JPEGs -----------------------------------------------

CLASSES, WIDTH, CROP = 5, 0.125, 64
WNIDS = ["n01440764", "n01443537", "n01484850", "n01491361", "n01494475"]


def make_dataset(root: Path, count: int, seed: int = 0) -> Path:
    """Real JPEG files of varied size/orientation and a canonical index CSV; returns the CSV."""
    rng = np.random.RandomState(seed)
    images = root / "images"
    images.mkdir(parents=True)
    rows = []
    for i in range(count):
        height, width = [(60, 90), (90, 60), (70, 70), (50, 120)][i % 4]
        pixels = rng.randint(0, 256, size=(height, width, 3), dtype=np.uint8)
        name = f"img_{i:04d}.JPEG"
        assert cv2.imwrite(str(images / name), pixels)
        rows.append((name, WNIDS[i % CLASSES], i % CLASSES))
    index = LabelIndex.from_rows(rows)
    return index.to_csv(root / "index.csv")


def cli_args(root: Path, store: Path, *extra: str, seed: int = 0) -> list[str]:
    return ["evaluate", "--index", str(root / "index.csv"), "--images", str(root / "images"),
            "--model", "googlenet-paper", "--classes", str(CLASSES), "--width", str(WIDTH),
            "--seed", str(seed), "--crops", "144", "--crop-size", str(CROP), "--store", str(store),
            "--chunk-images", "2", "--no-progress", *extra]


# ---- the devkit's DET files, in small ------------------------------------------------------------

DEVKIT = ("ilsvrc2014-devkit", "data")
TOY_CLASSES = (("n00000001", "alpha"), ("n00000002", "beta"), ("n00000003", "gamma"))


def write_xml(path: Path, width: int, height: int, objects: list[tuple[str, int, int, int, int]],
              *, raw_size: str | None = None) -> Path:
    """An annotation XML as in ILSVRC2013_DET_bbox_val (objects: wnid, xmin, ymin, xmax, ymax)."""
    body = "".join(
        f"\t<object>\n\t\t<name>{wnid}</name>\n\t\t<bndbox>\n\t\t\t<xmin>{x1}</xmin>\n"
        f"\t\t\t<xmax>{x2}</xmax>\n\t\t\t<ymin>{y1}</ymin>\n\t\t\t<ymax>{y2}</ymax>\n"
        f"\t\t</bndbox>\n\t</object>\n" for wnid, x1, y1, x2, y2 in objects)
    size = raw_size if raw_size is not None else (
        f"\t<size>\n\t\t<width>{width}</width>\n\t\t<height>{height}</height>\n\t</size>\n")
    path.write_text(f"<annotation>\n\t<folder>ILSVRC2013_val</folder>\n\t<filename>{path.stem}"
                    f"</filename>\n\t<source>\n\t\t<database>ILSVRC_2013</database>\n\t</source>\n"
                    f"{size}{body}</annotation>")
    return path


def write_meta(path: Path, classes=TOY_CLASSES, id_field: str = "ILSVRC2014_DET_ID",
               ids: list[int] | None = None) -> Path:
    """A meta_det.mat with a 1xN 'synsets' struct array, as MATLAB saves it."""
    synsets = np.zeros((1, len(classes)), dtype=[(id_field, "O"), ("WNID", "O"), ("name", "O")])
    for i, (wnid, name) in enumerate(classes):
        det_id = (ids or range(1, len(classes) + 1))[i]
        synsets[0, i] = (np.array([[det_id]], dtype=np.uint16), wnid, name)
    scipy.io.savemat(path, {"synsets": synsets})
    return path


def toy_meta() -> DetMeta:
    return DetMeta(tuple(DetClass(i, wnid, name) for i, (wnid, name) in enumerate(TOY_CLASSES, 1)))


@functools.lru_cache(maxsize=1)
def parse_val2(data: Path):
    """The real val2 ground truth, parsed once per session: (meta, list, annotations, xml folder)."""
    meta = load_det_meta(data / "meta_det.mat")
    image_list = read_image_list(data / "det_lists" / "ilsvrc13_val2.txt")
    gt_dir = data / "ground_truth" / "ilsvrc13_det_val2_bbox"
    return meta, image_list, read_annotations(gt_dir, image_list, meta), gt_dir


# ---- tiny training runs --------------------------------------------------------------------------

TINY = ("--recipe", "mini", "--width", "0.125", "--input-size", "80", "--batch-size", "8", "--no-progress")


def make_mini(root: Path) -> Path:
    """A 2-class mini-ILSVRC: 32 training and 8 validation JPEGs in the real layouts."""
    generate(root, MiniConfig(seed=3, classes=2, train_per_class=16, val_per_class=4, det_images=0))
    return root


def train_args(data: Path, out: Path, *extra: str, epochs: int = 2) -> list[str]:
    """`repro train` arguments of a tiny run (width 0.125, 80 px, 4 steps per epoch)."""
    return ["train", "--data", str(data), "--out", str(out), "--epochs", str(epochs), *TINY, *extra]


# ---- a tiny detector ---------------------------------------------------------------------------------

DET_WIDTH, DET_INPUT = 0.125, 64


def tiny_detection_protocol() -> DetectionProtocol:
    """The ``test`` detection protocol (fast selective search, a 3-iteration proposal head, 3
    fine-tuning iterations), registered on first use."""
    from protocols.detection import RCNN_FAST, RCNN_FINETUNE

    if "test" not in DETECTION_PROTOCOLS:
        SELECTIVE_SEARCH.register("test-fast", dataclasses.replace(
            RCNN_FAST, id="test-fast", ks=(300,), color_spaces=("hsv",), strategies=(("color", "size", "fill"),),
            canonical_width=None, note=""))
        LEARNED_PROPOSALS.register("test-head", dataclasses.replace(
            LEARNED_PROPOSALS.get("multibox-head"), id="test-head", image_size=96, iterations=3, batch_size=4,
            top_k=20, note=""))
        PROPOSAL_SETS.register("test-ss", ProposalSetSpec("test-ss", 1, "test-fast", None))
        PROPOSAL_SETS.register("test-both", ProposalSetSpec("test-both", 1, "test-fast", "test-head"))
        DETECTION_PROTOCOLS.register("test", dataclasses.replace(
            DETECTION_PROTOCOLS.get("mini"), id="test", proposals="test-both", baseline_proposals=("test-ss",),
            finetune=dataclasses.replace(RCNN_FINETUNE, batch_size=16, iterations=3, background_per_image=8)))
    return DETECTION_PROTOCOLS.get("test")


def classification_card(folder: Path, seed: int, classes: int) -> Path:
    """A random-weight narrow googlenet-paper saved with a model card, as a classification member."""
    from repro.models.specs import MODELS
    from repro.models.weights import initialize_random

    spec = MODELS.get("googlenet-paper")
    net = spec.create(classes=classes, width=DET_WIDTH, aux=False)
    initialize_random(net, seed=seed, input_size=DET_INPUT)
    folder.mkdir(parents=True)
    net.save_parameters(str(folder / "net.params"))
    card = {"spec": spec.id, "params": "net.params", "classes": classes, "width": DET_WIDTH,
            "input_size": DET_INPUT, "seed": seed, "name": f"cls{seed}"}
    (folder / "model.json").write_text(json.dumps(card))
    return folder / "model.json"
