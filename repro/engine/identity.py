"""What changes a probability besides the model and the crops, canonicalised for a store's spec.

- **The execution backend**: its id, its precision and the options that change numbers, defaults
  filled in (``mxnet-int8:calibration=D`` and ``mxnet-int8:calibration=D,calibration_mode=naive``
  are one backend). ``micro_batch`` (crops per forward) and ONNX Runtime's ``threads`` only cut the
  same work differently and are left out. The int8 calibration directory is replaced by the
  SHA-256 of the calibration crops it yields: the same images under another path are the same
  backend, other images are not.
- **The decoder's options**: whether the EXIF orientation is applied (:mod:`repro.data.decode`).
- **The data**: the canonical index (hashed in the spec) and what identifies its images: the dataset
  root they lie in when it is a known kind (a generated dataset's ``manifest.json``, an ILSVRC2012
  devkit), how the index relates to that root's validation labels, and the image folder's name
  relative to the root. Never an absolute path, so shards on machines that keep the data elsewhere
  share one identity.

Not part of the identity: the device and the machine (CPU or GPU, instruction set, library versions)
move fp32 results only at rounding level (the audit's tolerance); they are in the manifest.
"""
from __future__ import annotations

import hashlib
import inspect
import json
import os
from dataclasses import dataclass
from pathlib import Path

from repro.data.ilsvrc.labels import LabelIndex
from repro.data.ilsvrc.layout import CLS_LAYOUT
from repro.errors import ReproError
from repro.provenance import sha256_file

#: Backend options that change how the work is cut, not the numbers.
EXECUTION_ONLY_OPTIONS = frozenset({"micro_batch", "threads"})
GENERATOR_MANIFEST = "manifest.json"  # written by `repro data mini` at its root, with "generator"


def backend_identity(text: str, crop_size: int) -> tuple[str, str]:
    """``(canonical backend, precision)`` of a ``--backend NAME[:key=value,...]`` text.

    The canonical form is ``NAME[:key=value,...]`` with the number-changing options only, sorted,
    defaults filled in, an int8 calibration directory replaced by ``calibration_sha256``.
    """
    from repro.models.backends import BACKENDS, calibration_crops, parse_backend  # MXNet: not to read stores

    name, given = parse_backend(text)
    backend = BACKENDS.get(name)
    defaults = {key: param.default for key, param in inspect.signature(backend.build).parameters.items()}
    options = {key: given.get(key, defaults.get(key, "")) for key in backend.options
               if key not in EXECUTION_ONLY_OPTIONS}
    if "calibration" in options:
        directory = options.pop("calibration")
        if not directory:
            raise ReproError(f"backend {text!r} needs calibration images: {name}:calibration=DIR")
        count = options.pop("calibration_images", "")
        if not str(count).isdigit() or int(count) < 1:
            raise ReproError(f"backend {text!r}: calibration_images must be a positive integer, "
                             f"not {count!r}")
        crops = calibration_crops(directory, crop_size, int(count))
        digest = hashlib.sha256(repr(crops.shape).encode() + crops.tobytes()).hexdigest()
        options["calibration_sha256"] = digest
    suffix = ",".join(f"{key}={value}" for key, value in sorted(options.items()))
    return name + (f":{suffix}" if suffix else ""), backend.precision


@dataclass(frozen=True)
class DataRecord:
    """What identifies the images of a store, recorded when it is created.

    ``kind``: ``generated`` (the images lie in a dataset root with a generator manifest),
    ``ilsvrc-layout`` (a root with the ILSVRC2012 devkit's ground truth and meta.mat, no generator
    manifest) or ``folder`` (no known root). ``name`` and ``content_sha256``: for a generated root the
    generator's dataset, version and seed and its content hash; for an ILSVRC layout the SHA-256 of
    its devkit ground truth. ``images``: the image folder relative to the root (``val``), or its own
    name. ``index_of_root``: ``all`` (the index is the root's validation labels), ``subset`` (all its
    rows are among them), ``other``, or ``""`` without a devkit.
    """

    kind: str
    name: str = ""
    content_sha256: str = ""
    images: str = ""
    index_of_root: str = ""


def generator_manifest(root: Path) -> dict:
    """The generator manifest of a dataset root (``{}`` when ``root`` holds none)."""
    path = Path(root) / GENERATOR_MANIFEST
    if not path.is_file():
        return {}
    try:
        record = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError):
        return {}  # some other file of that name: not a generated dataset's manifest
    return record if isinstance(record, dict) and "generator" in record else {}


def devkit_index(root: Path) -> LabelIndex | None:
    """The canonical index of a root's ILSVRC2012 devkit validation labels (None without them)."""
    from repro.data.ilsvrc.classes import read_meta
    from repro.data.ilsvrc.formats import read_devkit

    if not devkit_index_files(Path(root)):
        return None
    return read_devkit(Path(root) / CLS_LAYOUT.ground_truth, read_meta(Path(root) / CLS_LAYOUT.meta))


def index_relation(own: LabelIndex | None, index: LabelIndex) -> str:
    """``all``, ``subset`` or ``other``: ``index`` against a root's own index (``""`` without one)."""
    if own is None:
        return ""
    if own.hash == index.hash:
        return "all"
    return "subset" if set(index.rows()) <= set(own.rows()) else "other"


def devkit_index_files(root: Path) -> bool:
    """Whether ``root`` holds the ILSVRC2012 devkit's validation ground truth and meta.mat."""
    return (root / CLS_LAYOUT.ground_truth).is_file() and (root / CLS_LAYOUT.meta).is_file()


def _dataset_root(images: Path) -> Path | None:
    """The image folder itself or its parent, whichever first is a known dataset root."""
    for candidate in (images, images.parent):
        if generator_manifest(candidate) or devkit_index_files(candidate):
            return candidate
    return None


def data_record(images: str | os.PathLike, index: LabelIndex) -> DataRecord:
    """The :class:`DataRecord` of ``index``'s images under the folder ``images``."""
    images = Path(os.path.abspath(images))
    root = _dataset_root(images)
    if root is None:
        return DataRecord("folder", images=images.name)
    relative = images.relative_to(root).as_posix()
    relation = index_relation(devkit_index(root), index)
    generated = generator_manifest(root)
    if generated:
        name = (f"{generated.get('dataset', 'generated data')} v{generated.get('generator_version', '?')} "
                f"(seed {generated.get('parameters', {}).get('seed', '?')})")
        return DataRecord("generated", name, str(generated.get("content_sha256", "")), relative, relation)
    return DataRecord("ilsvrc-layout", "", sha256_file(root / CLS_LAYOUT.ground_truth), relative, relation)
