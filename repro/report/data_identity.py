"""Which data produced a number: synthetic (the mini-ILSVRC), real ILSVRC, or unidentified.

A store keeps its dataset index (``index.csv``, hashed in its spec), a det-eval manifest the hash of
its eval list. The report identifies them against the dataset roots it is given (``--data``): a
root's classification index is rebuilt from its devkit files — a store's index equal to it is that
dataset, one whose rows are all in it is a subset of it — and its detection lists are hashed. A root
with a generator manifest (``manifest.json`` with ``"generator"``, as `repro data mini` writes) is
synthetic. Nothing matched means *unidentified*, which the report treats as not comparable with
the paper: it never assumes data is ILSVRC because it has the right size.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from repro.data.ilsvrc.labels import LabelIndex
from repro.data.ilsvrc.layout import CLS_LAYOUT, DET_LAYOUT
from repro.data.mini.layout import MINI_DET_LAYOUT
from repro.errors import ReproError
from repro.provenance import sha256_file

#: The paper's evaluation data: ILSVRC 2012 validation (classification), 2014 DET val (detection).
PAPER_CLS_IMAGES, PAPER_DET_IMAGES = 50_000, 20_121


@dataclass(frozen=True)
class DataIdentity:
    """What a set of numbers was measured on, and whether the paper's numbers are comparable."""

    name: str
    kind: str  # "synthetic" | "real" | "unidentified"
    comparable: bool  # the paper's own evaluation data, verified
    how: str  # how the identification was made

    @property
    def verdict(self) -> str:
        """One sentence a reader needs beside every number measured on this data."""
        if self.kind == "synthetic":
            return "SYNTHETIC data: not comparable with the paper's numbers"
        if self.kind == "unidentified":
            return "unidentified data: not comparable with the paper's numbers unless shown to be ILSVRC"
        if not self.comparable:
            return "real data, but not the paper's full evaluation set: compare with care"
        return "the paper's evaluation data: directly comparable"

    @property
    def tag(self) -> str:
        """Short label printed in table rows ("" when the data is the paper's)."""
        return {"synthetic": "SYNTHETIC data", "unidentified": "unidentified data"}.get(
            self.kind, "" if self.comparable else "data subset")


class DataRoot:
    """A dataset root given with ``--data``: its index hash, detection list hashes, generator."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        if not self.root.is_dir():
            raise ReproError(f"--data {self.root}: not a directory")
        manifest = self.root / "manifest.json"
        self.generator = json.loads(manifest.read_text()) if manifest.is_file() else {}
        if "generator" not in self.generator:
            self.generator = {}

    @cached_property
    def classification_index(self) -> LabelIndex | None:
        """The canonical index of the devkit validation labels (None without a devkit)."""
        from repro.data.ilsvrc.classes import read_meta
        from repro.data.ilsvrc.formats import read_devkit

        gt, meta = self.root / CLS_LAYOUT.ground_truth, self.root / CLS_LAYOUT.meta
        if not (gt.is_file() and meta.is_file()):
            return None
        return read_devkit(gt, read_meta(meta))

    def holds(self, index: LabelIndex) -> str | None:
        """"all" if ``index`` is this root's validation index, "subset" if all its rows are in it."""
        own = self.classification_index
        if own is None:
            return None
        if own.hash == index.hash:
            return "all"
        return "subset" if set(index.rows()) <= set(own.rows()) else None

    @cached_property
    def detection_list_sha256(self) -> set[str]:
        """Hashes of the detection eval lists (``det_lists/*.txt`` of the ILSVRC and mini layouts)."""
        folders = {(self.root / layout.eval_list).parent for layout in (DET_LAYOUT, MINI_DET_LAYOUT)}
        return {sha256_file(p) for folder in sorted(folders) for p in sorted(folder.glob("*.txt"))}

    def describe(self, task: str, n_images: int, full_set: bool) -> DataIdentity:
        """The identity of ``n_images`` of this root's ``task`` data (``full_set``: all of it)."""
        part = "" if full_set else "a subset: "
        if self.generator:
            params = self.generator.get("parameters", {})
            name = (f"{part}{self.generator.get('dataset', 'generated data')} v"
                    f"{self.generator.get('generator_version', '?')} {task} ({n_images} images, "
                    f"seed {params.get('seed', '?')}; content sha256 "
                    f"{str(self.generator.get('content_sha256', '?'))[:12]}) at {self.root}")
            return DataIdentity(name, "synthetic", False,
                                f"matched {self.root}, whose manifest.json names its generator")
        paper_size = PAPER_CLS_IMAGES if task == "classification" else PAPER_DET_IMAGES
        paper_set = "ILSVRC 2012 validation" if task == "classification" else "ILSVRC 2014 DET val"
        comparable = full_set and n_images == paper_size
        name = f"{paper_set} at {self.root}" if comparable else \
            f"{part}{n_images} images of the {task} data at {self.root}"
        return DataIdentity(name, "real", comparable, f"matched {self.root} (no generator manifest)")


def _unidentified(what: str, n_images: int, digest: str) -> DataIdentity:
    return DataIdentity(f"unidentified {what} ({n_images} images; sha256 {digest[:12]})",
                        "unidentified", False,
                        "no --data root matches it; pass the dataset root with --data to identify it")


def identify_classification(roots: list[DataRoot], index: LabelIndex) -> DataIdentity:
    """Identify the data of a store from its dataset index."""
    for root in roots:
        held = root.holds(index)
        if held:
            return root.describe("classification", len(index), held == "all")
    return _unidentified("classification data", len(index), index.hash)


def identify_detection(roots: list[DataRoot], manifest: dict) -> DataIdentity:
    """Identify the data of a `repro det-eval` result from its eval-list hash."""
    digest = manifest.get("eval_list_sha256", "")
    n_images = int(manifest.get("n_images", 0))
    for root in roots:
        if digest in root.detection_list_sha256:
            return root.describe("detection", n_images, True)
    ground_truth = Path(manifest.get("gt_dir") or "/nonexistent").resolve()
    for root in roots:  # another list (e.g. R-CNN's val2 split) over this root's ground truth
        if ground_truth.is_relative_to(Path(root.root).resolve()):
            return root.describe("detection", n_images, False)
    return _unidentified("detection data", n_images, digest or "?" * 12)
