"""The mini-ILSVRC: a small synthetic dataset in the real ILSVRC on-disk layouts, made in seconds.

``generate(out_dir, MiniConfig(...))`` writes, deterministically from the seed (same seed, same
bytes; every image has its own seeded generator, so the result does not depend on ``jobs``):

- classification (:data:`~repro.data.ilsvrc.layout.CLS_LAYOUT`): ``train/<wnid>/<wnid>_<n>.JPEG``,
  ``val/ILSVRC2012_val_%08d.JPEG``, the devkit's ``ILSVRC2012_validation_ground_truth.txt`` (line i
  = ILSVRC2012_ID of val image i) and ``meta.mat`` (IDs in class-table order, not sorted-WNID order);
- detection (:data:`~repro.data.mini.layout.MINI_DET_LAYOUT`, under ``det/``): images with several
  objects, one DET XML each, ``det_lists/val.txt``, a blacklist and ``meta_det.mat`` (DET IDs in
  alphabetical order of the class names, as in the real file);
- the real data's odd files on purpose (see :data:`~repro.data.mini.formats.QUIRKS`);
- ``MINI_README.txt`` (what this is, the classes, the odd files) and ``manifest.json``
  (generator version, parameters, SHA-256 of every other file, and their combined hash).
"""
from __future__ import annotations

import hashlib
import json
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Callable, Sequence, TypeVar

import numpy as np

from repro.atomic import write_bytes
from repro.data.ilsvrc.layout import CLS_LAYOUT
from repro.data.mini.classes import MINI_CLASSES, MiniClass
from repro.data.mini.config import MINI_VERSION, TRAIN_QUIRKS, VAL_QUIRKS, MiniConfig
from repro.data.mini.draw import DrawnObject, classification_image, detection_image
from repro.data.mini.formats import (
    JPEG_QUALITY,
    QUIRKS,
    cls_meta_mat,
    det_annotation_xml,
    det_blacklist_text,
    det_meta_mat,
    encode_image,
    eval_list_text,
    lines_text,
)
from repro.data.mini.layout import MINI_DET_LAYOUT
from repro.errors import ReproError
from repro.provenance import manifest, sha256_file

README_NAME = "MINI_README.txt"
MANIFEST_NAME = "manifest.json"
_SEED_STREAM = {"plan": 0, "train": 1, "val": 2, "det": 3, "blacklist": 4}
_DET_OBJECT_COUNTS = (1, 2, 3, 4, 5, 6)
_DET_OBJECT_COUNT_P = (0.3, 0.25, 0.2, 0.12, 0.08, 0.05)
T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class ClsImage:
    """A planned classification image."""
    path: str          # relative to the output root
    split: str         # "train" | "val"
    index: int         # 0-based position in its split (part of its seed)
    class_index: int   # into MiniPlan.classes
    quirk: str | None  # a key of QUIRKS, or None for a baseline JPEG


@dataclass(frozen=True)
class DetImage:
    """A planned detection image."""
    name: str          # eval-list name (file stem)
    index: int         # 0-based line of the eval list (part of its seed)
    object_count: int


@dataclass(frozen=True)
class MiniPlan:
    """Everything decided before drawing: classes, their IDs, file names, labels and odd files."""
    classes: tuple[MiniClass, ...]
    cls_ids: tuple[int, ...]   # ILSVRC2012_ID of each class (1..K in table order)
    det_ids: tuple[int, ...]   # DET ID of each class (1..K in alphabetical order of det_name)
    train: tuple[ClsImage, ...]
    val: tuple[ClsImage, ...]
    det: tuple[DetImage, ...]


def image_rng(config: MiniConfig, stream: str, index: int) -> np.random.Generator:
    """The generator of one image (or of the plan): seeded by (seed, stream, index) only."""
    return np.random.default_rng([config.seed, _SEED_STREAM[stream], index])


def make_plan(config: MiniConfig) -> MiniPlan:
    """Decide classes, IDs, file names, labels and which files are odd, from the seed."""
    config.validate()
    rng = image_rng(config, "plan", 0)
    classes = MINI_CLASSES[:config.classes]
    by_name = sorted(range(len(classes)), key=lambda k: classes[k].det_name)
    det_ids = tuple(by_name.index(k) + 1 for k in range(len(classes)))
    train_labels = [k for k in range(len(classes)) for _ in range(config.train_per_class)]
    # Real file numbers are neither fixed-width nor consecutive; neither are the mini's.
    train_paths = [CLS_LAYOUT.train_image(classes[k].wnid, int(n)) for k in range(len(classes))
                   for n in np.sort(rng.choice(50 * config.train_per_class, config.train_per_class,
                                               replace=False) + 1)]
    val_labels = rng.permutation(np.repeat(np.arange(len(classes)), config.val_per_class))
    train_quirks = _assign(rng, len(train_labels), TRAIN_QUIRKS)
    val_quirks = _assign(rng, len(val_labels), VAL_QUIRKS)
    counts = rng.choice(_DET_OBJECT_COUNTS, size=config.det_images, p=_DET_OBJECT_COUNT_P)
    if config.det_images >= 2:
        counts[rng.integers(config.det_images)] = 0  # the real val set has images with no object
    det_numbers = np.sort(rng.choice(4 * config.det_images, config.det_images, replace=False) + 1)
    return MiniPlan(
        classes=classes, cls_ids=tuple(range(1, len(classes) + 1)), det_ids=det_ids,
        train=tuple(ClsImage(path, "train", i, k, train_quirks.get(i))
                    for i, (path, k) in enumerate(zip(train_paths, train_labels))),
        val=tuple(ClsImage(CLS_LAYOUT.val_image(i + 1), "val", i, int(k), val_quirks.get(i))
                  for i, k in enumerate(val_labels)),
        det=tuple(DetImage(f"ILSVRC2013_val_{int(n):08d}", i, int(c))
                  for i, (n, c) in enumerate(zip(det_numbers, counts))))


def _assign(rng: np.random.Generator, size: int, quirks: tuple[str, ...]) -> dict[int, str]:
    return {int(i): quirk for i, quirk in zip(rng.choice(size, len(quirks), replace=False), quirks)}


def render_classification(config: MiniConfig, plan: MiniPlan, image: ClsImage) -> np.ndarray:
    """The upright RGB pixels of a planned classification image (before any odd encoding)."""
    return classification_image(image_rng(config, image.split, image.index), plan.classes,
                                image.class_index)


def render_detection(config: MiniConfig, plan: MiniPlan, image: DetImage,
                     ) -> tuple[np.ndarray, list[DrawnObject]]:
    """The RGB pixels and the drawn objects of a planned detection image."""
    return detection_image(image_rng(config, "det", image.index), plan.classes, image.object_count)


def _write(root: Path, relative: str, data: bytes) -> None:
    write_bytes(root / relative, data)  # atomic: a killed run leaves no half-written file


def _produce_classification(root: Path, config: MiniConfig, plan: MiniPlan, image: ClsImage) -> None:
    _write(root, image.path, encode_image(render_classification(config, plan, image), image.quirk))


def _produce_detection(root: Path, config: MiniConfig, plan: MiniPlan, image: DetImage,
                       ) -> list[DrawnObject]:
    pixels, objects = render_detection(config, plan, image)
    _write(root, MINI_DET_LAYOUT.image(image.name), encode_image(pixels))
    labelled = [(plan.classes[obj.class_index].wnid, obj) for obj in objects]
    _write(root, MINI_DET_LAYOUT.annotation(image.name),
           det_annotation_xml(image.name, pixels.shape[1], pixels.shape[0], labelled))
    return objects


def _blacklist(config: MiniConfig, plan: MiniPlan, objects: list[list[DrawnObject]]) -> list[tuple[int, str]]:
    """About 3% of the images with objects, each with the WNID of one of its objects (1-based index)."""
    rng = image_rng(config, "blacklist", 0)
    candidates = [i for i, found in enumerate(objects) if found]
    if not candidates:
        return []
    chosen = rng.choice(candidates, max(1, len(plan.det) // 30), replace=False)
    return [(int(i) + 1, plan.classes[objects[i][rng.integers(len(objects[i]))].class_index].wnid)
            for i in sorted(chosen)]


def generate(out_dir: str | os.PathLike, config: MiniConfig = MiniConfig(), jobs: int = 1,
             ) -> dict[str, object]:
    """Write the mini-ILSVRC into the new or empty folder ``out_dir``; returns its manifest.

    ``jobs`` > 1 draws images in that many processes; the bytes written do not depend on it. Every
    file is a function of ``config`` alone except ``manifest.json``, which also records the time,
    commit and machine (its ``files`` and ``content_sha256`` are deterministic).
    """
    if jobs < 1:
        raise ReproError(f"--jobs must be >= 1, got {jobs}")
    root = Path(out_dir)
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise ReproError(f"{root} exists and is not an empty folder; choose a new --out folder "
                         f"(the generator never overwrites)")
    plan = make_plan(config)
    root.mkdir(parents=True, exist_ok=True)
    _map_images(partial(_produce_classification, root, config, plan), plan.train + plan.val, jobs)
    det_objects = _map_images(partial(_produce_detection, root, config, plan), plan.det, jobs)
    _write(root, CLS_LAYOUT.ground_truth, lines_text(plan.cls_ids[im.class_index] for im in plan.val))
    _write(root, CLS_LAYOUT.meta, cls_meta_mat(list(zip(plan.cls_ids, plan.classes)), config.train_per_class))
    _write(root, MINI_DET_LAYOUT.eval_list, eval_list_text([im.name for im in plan.det]))
    _write(root, MINI_DET_LAYOUT.blacklist, det_blacklist_text(_blacklist(config, plan, det_objects)))
    _write(root, MINI_DET_LAYOUT.meta, det_meta_mat(list(zip(plan.det_ids, plan.classes))))
    _write(root, README_NAME, _readme(config, plan).encode("utf-8"))
    files = file_hashes(root)
    record = manifest(
        dataset="mini-ilsvrc", generator="repro.data.mini", generator_version=MINI_VERSION,
        parameters=asdict(config), jpeg_quality=JPEG_QUALITY,
        classes=[{"ilsvrc2012_id": cid, "det_id": did, "wnid": c.wnid, "words": c.words}
                 for cid, did, c in zip(plan.cls_ids, plan.det_ids, plan.classes)],
        quirks={im.path: im.quirk for im in plan.train + plan.val if im.quirk},
        files=files, content_sha256=content_hash(files))
    _write(root, MANIFEST_NAME, (json.dumps(record, indent=1, sort_keys=True) + "\n").encode("utf-8"))
    return record


def _map_images(produce: Callable[[T], R], images: Sequence[T], jobs: int) -> list[R]:
    """``produce`` over ``images`` in order, in ``jobs`` processes when ``jobs`` > 1."""
    if jobs <= 1:
        return [produce(image) for image in images]
    with ProcessPoolExecutor(jobs) as pool:
        return list(pool.map(produce, images, chunksize=16))


def file_hashes(root: str | os.PathLike) -> dict[str, str]:
    """SHA-256 of every file under ``root`` except the manifest, by '/'-separated relative path."""
    base = Path(root)
    return {path.relative_to(base).as_posix(): sha256_file(path)
            for path in sorted(base.rglob("*")) if path.is_file() and path.name != MANIFEST_NAME}


def content_hash(files: dict[str, str]) -> str:
    """One SHA-256 over the sorted ``<sha256>  <path>`` lines: the identity of a generated dataset."""
    listing = "".join(f"{digest}  {path}\n" for path, digest in sorted(files.items()))
    return hashlib.sha256(listing.encode("utf-8")).hexdigest()


def _readme(config: MiniConfig, plan: MiniPlan) -> str:
    odd = [(im.path, im.quirk) for im in plan.train + plan.val if im.quirk]
    lines = [
        f"mini-ILSVRC (generator version {MINI_VERSION}; seed {config.seed})",
        "",
        "SYNTHETIC IMAGES. This is not ImageNet: every image is drawn by repro.data.mini from the seed.",
        "It exists so that the harness can run end to end, on the same readers as the real ILSVRC,",
        "on a machine without ILSVRC. Accuracies and mAPs measured on it are NOT comparable with the",
        "paper's numbers or with any number on real ILSVRC.",
        "",
        "Layout (the real ILSVRC layouts):",
        f"  {CLS_LAYOUT.train_dir}/<wnid>/<wnid>_<n>.JPEG          {len(plan.train)} training images",
        f"  {CLS_LAYOUT.val_dir}/ILSVRC2012_val_%08d.JPEG          {len(plan.val)} validation images",
        f"  {CLS_LAYOUT.ground_truth}   line i = ILSVRC2012_ID of val image i",
        f"  {CLS_LAYOUT.meta}   synsets: ILSVRC2012_ID, WNID, words, ...",
        f"  {MINI_DET_LAYOUT.image_dir}/<name>.JPEG   {len(plan.det)} detection images",
        f"  {MINI_DET_LAYOUT.annotation_dir}/<name>.xml   DET ground truth (0-based inclusive boxes)",
        f"  {MINI_DET_LAYOUT.eval_list}   <name> <index>",
        f"  {MINI_DET_LAYOUT.blacklist}   <index> <WNID>",
        f"  {MINI_DET_LAYOUT.meta}   synsets: ILSVRC2013_DET_ID, WNID, name, ...",
        "",
        "Classes (ILSVRC2012_ID order is the table order, deliberately not sorted-WNID order):",
        "  ILSVRC2012_ID  DET_ID  WNID       name",
        *(f"  {cid:>13}  {did:>6}  {c.wnid}  {c.words}  [{c.looks}]"
          for cid, did, c in zip(plan.cls_ids, plan.det_ids, plan.classes)),
        "",
        "Odd files, on purpose, as in the real data:",
        *(f"  {path}: {QUIRKS[quirk]}" for path, quirk in odd),
        "",
        "manifest.json holds the generator version, the parameters, and the SHA-256 of every other file.",
        "",
    ]
    return "\n".join(lines)
