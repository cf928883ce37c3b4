"""Which data produced a number: synthetic (the mini-ILSVRC), real ILSVRC, or unidentified.

A store keeps its dataset index (``index.csv``, hashed in its spec) and, in its spec, what identified
its images when it was made (``data``: :class:`repro.engine.identity.DataRecord`); a det-eval
manifest keeps the hash of its eval list. The report identifies them, in this order:

1. against the dataset roots it is given (``--data``): a root's classification index is rebuilt
   from its devkit files — a store's index equal to it is that dataset, one whose rows are all in it
   is a subset of it — and its detection lists are hashed. A root with a generator manifest
   (``manifest.json`` with ``"generator"``, as `repro data mini` writes) is synthetic;
2. from the store's own record, so that a run made with ``--index/--images`` is identified without
   a ``--data`` root: images that lay in a generated dataset's root are synthetic; an index equal to
   ILSVRC 2012 validation's (:data:`ILSVRC2012_VAL_INDEX_SHA256`) is that set; images in a root
   with the ILSVRC2012 devkit are real data (all or part of its validation set, as recorded).

Nothing matched means *unidentified*, which the report treats as not comparable with the paper: it
never assumes data is ILSVRC because it has the right size. Names and explanations carry folder
names only, never an absolute path.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from repro.data.ilsvrc.labels import LabelIndex
from repro.data.ilsvrc.layout import DET_LAYOUT
from repro.data.mini.layout import MINI_DET_LAYOUT
from repro.engine.identity import devkit_index, generator_manifest, index_relation
from repro.errors import ReproError
from repro.provenance import sha256_file

#: The paper's evaluation data: ILSVRC 2012 validation (classification), 2014 DET val (detection).
PAPER_CLS_IMAGES, PAPER_DET_IMAGES = 50_000, 20_121
#: sha256 of the canonical index of the 50,000 ILSVRC 2012 validation images and their labels; the
#: devkit ground truth with meta.mat, the ILSVRC2014 clsloc ground truth with meta_clsloc.mat, Caffe's
#: val.txt and Kaggle's LOC_val_solution.csv with the sorted synsets all give it (`repro labels`).
ILSVRC2012_VAL_INDEX_SHA256 = "e43e20e8f525ab13112bf9bd4447d191b15d67acce26da15fefd9d61f8aee69f"


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
        self.generator = generator_manifest(self.root)

    @cached_property
    def classification_index(self) -> LabelIndex | None:
        """The canonical index of the devkit validation labels (None without a devkit)."""
        return devkit_index(self.root)

    def holds(self, index: LabelIndex) -> str | None:
        """"all" if ``index`` is this root's validation index, "subset" if all its rows are in it."""
        relation = index_relation(self.classification_index, index)
        return relation if relation in ("all", "subset") else None

    @cached_property
    def detection_list_sha256(self) -> set[str]:
        """Hashes of the detection eval lists (``det_lists/*.txt`` of the ILSVRC and mini layouts)."""
        folders = {(self.root / layout.eval_list).parent for layout in (DET_LAYOUT, MINI_DET_LAYOUT)}
        return {sha256_file(p) for folder in sorted(folders) for p in sorted(folder.glob("*.txt"))}

    def describe(self, task: str, n_images: int, full_set: bool) -> DataIdentity:
        """The identity of ``n_images`` of this root's ``task`` data (``full_set``: all of it)."""
        part = "" if full_set else "a subset: "
        where = f"--data root '{self.root.name}'"
        if self.generator:
            params = self.generator.get("parameters", {})
            name = (f"{part}{self.generator.get('dataset', 'generated data')} v"
                    f"{self.generator.get('generator_version', '?')} {task} ({n_images} images, "
                    f"seed {params.get('seed', '?')}; content sha256 "
                    f"{str(self.generator.get('content_sha256', '?'))[:12]})")
            return DataIdentity(name, "synthetic", False,
                                f"matched the {where}, whose manifest.json names its generator")
        paper_size = PAPER_CLS_IMAGES if task == "classification" else PAPER_DET_IMAGES
        paper_set = "ILSVRC 2012 validation" if task == "classification" else "ILSVRC 2014 DET val"
        comparable = full_set and n_images == paper_size
        name = paper_set if comparable else f"{part}{n_images} images of the {task} data of {where}"
        return DataIdentity(name, "real", comparable, f"matched the {where} (no generator manifest)")


def _unidentified(what: str, n_images: int, digest: str, how: str = "") -> DataIdentity:
    return DataIdentity(f"unidentified {what} ({n_images} images; sha256 {digest[:12]})",
                        "unidentified", False,
                        how or "no --data root matches it; pass the dataset root with --data to identify it")


def _from_record(record: dict, index: LabelIndex) -> DataIdentity:
    """The identity of a store's data from what its spec recorded at evaluation."""
    n = len(index)
    folder = f"images folder '{record['images']}'" if record.get("images") else "images folder not recorded"
    relation = record.get("index_of_root", "")
    part = "a subset: " if relation == "subset" else ""
    recorded = "recorded by the store when it was made"
    if record.get("kind") == "generated":
        name = (f"{part}{record.get('name', 'generated data')} classification data ({n} images; content "
                f"sha256 {record.get('content_sha256', '?')[:12]}; {folder})")
        return DataIdentity(name, "synthetic", False,
                            f"{recorded}: its images lay in a dataset root whose manifest.json names "
                            f"its generator")
    if index.hash == ILSVRC2012_VAL_INDEX_SHA256:
        return DataIdentity(f"ILSVRC 2012 validation ({folder})", "real", True,
                            f"the store's index is ILSVRC 2012 validation's (its {PAPER_CLS_IMAGES} "
                            f"file names and devkit labels, sha256 {index.hash[:12]})")
    if record.get("kind") == "ilsvrc-layout":
        comparable = relation == "all" and n == PAPER_CLS_IMAGES
        name = "ILSVRC 2012 validation" if comparable else \
            f"{part}{n} images of the classification data of an ILSVRC2012-layout root ({folder})"
        labels = {"all": "all of its validation labels", "subset": "a subset of its validation labels",
                  "other": "not among its validation labels"}.get(relation, "unchecked")
        return DataIdentity(name, "real", comparable,
                            f"{recorded}: its images lay in a root with an ILSVRC2012 devkit (ground "
                            f"truth sha256 {record.get('content_sha256', '?')[:12]}) and no generator "
                            f"manifest; the index is {labels}")
    return _unidentified("classification data", n, index.hash,
                         f"the store records no known dataset root ({folder} had no generator manifest "
                         f"or ILSVRC2012 devkit beside it when it was evaluated) and its index is not "
                         f"ILSVRC 2012 validation's; if a dataset root holds these images, "
                         f"`repro report --data ROOT` identifies them")


def identify_classification(roots: list[DataRoot], index: LabelIndex,
                            record: dict | None = None) -> DataIdentity:
    """Identify the data of a store from its dataset index and (``record``) the data its spec
    recorded (``spec["data"]``)."""
    for root in roots:
        held = root.holds(index)
        if held:
            return root.describe("classification", len(index), held == "all")
    if record is not None:
        return _from_record(record, index)
    if index.hash == ILSVRC2012_VAL_INDEX_SHA256:
        return _from_record({}, index)
    return _unidentified("classification data", len(index), index.hash)


def identify_store(roots: list[DataRoot], store_root: Path) -> DataIdentity:
    """What the stores under ``store_root`` (sharing its index.csv) were evaluated on."""
    index = LabelIndex.from_csv(store_root / "index.csv")
    records = []
    for spec_path in sorted(Path(store_root).glob("*/store.json")):
        try:
            record = json.loads(spec_path.read_text()).get("data")
        except ValueError as exc:
            raise ReproError(f"{spec_path} is not readable JSON ({exc}); re-run the evaluation") from exc
        if isinstance(record, dict) and record not in records:
            records.append(record)
    if len(records) > 1:
        return _unidentified("classification data", len(index), index.hash,
                             "its stores record different image folders or dataset roots for one "
                             "index: " + "; ".join(f"{r.get('kind')} '{r.get('images')}'" for r in records))
    return identify_classification(roots, index, records[0] if records else None)


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
