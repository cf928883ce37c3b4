"""Where a measured classification row differs from the paper's setting, as data printed beside it.

Each :class:`Deviation` has a short tag shown in the rows it affects and a sentence shown under the
table. They are derived from the stores' specs and manifests (model id, width, classes, weights,
crop size, crop scheme deviation) and from the data identity, never typed in by hand.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from protocols import paper
from protocols.classification import PAPER_MODELS
from protocols.multicrop import CROPS_1, PAPER_CROP_SIZE
from repro.report.data_identity import DataIdentity
from repro.report.inputs import StoreInfo

PAPER_CLASSES = 1000


@dataclass(frozen=True)
class Deviation:
    """One difference from the paper, and the rows (by models, crops) it affects."""

    tag: str
    text: str
    scope: str = "all"  # "all" | "crops=1" | "crops=10" | "models>1" | "crops>1"

    def applies(self, models: int, crops: int) -> bool:
        """Whether a row of ``models`` x ``crops`` is affected."""
        return {"all": True, "crops=1": crops == 1, "crops=10": crops == 10,
                "models>1": models > 1, "crops>1": crops > 1}[self.scope]


def weights_source(spec: dict) -> str:
    """Where a store's weights came from, from its model reference."""
    ref = spec["model_ref"]
    _, _, weights = ref.partition(":")
    if ref.endswith(".json"):
        return f"trained by this project (model card {Path(ref).name})"
    if weights == "pretrained":
        return "GluonCV's published weights (a BatchNorm variant trained with mixup, not the paper's)"
    if weights and weights != "random":
        return f"weights file {Path(weights).name}"
    return f"random initialisation (seed {spec['seed']}): untrained, chance-level by design"


def model_variant(spec: dict, manifest: dict) -> str:
    """The architecture of a store and how it departs from the paper's GoogLeNet."""
    parts = [f"{spec['model_id']}"]
    if float(spec["width"]) != 1.0:
        parts.append(f"width x{float(spec['width']):g} (the paper: x1)")
    if int(spec["classes"]) != PAPER_CLASSES:
        parts.append(f"{spec['classes']} classes (the paper: {PAPER_CLASSES})")
    return ", ".join(parts + list(manifest.get("model_deviations", [])))


def classification_deviations(keys: list[str], members: list[StoreInfo] | None, data: DataIdentity,
                              rule: str) -> list[Deviation]:
    """Every deviation of a Table 3 of members ``keys`` (their stores, when found) on ``data``."""
    found = []
    if data.tag:
        found.append(Deviation(data.tag, f"measured on {data.name} ({data.how}); {data.verdict}."))
    if members is None:
        found.append(Deviation("model unknown", f"The stores of {', '.join(keys)} are not under the "
                                                "results directory, so the model and weights behind "
                                                "these numbers cannot be shown; link them in."))
    else:
        found += _model_deviations(members)
    found.append(Deviation("1-crop", CROPS_1.deviation, "crops=1"))
    found.append(Deviation("10-crop", f"Note: {paper.PROTOCOL_NOTES['10-crop']}.", "crops=10"))
    if len(keys) < PAPER_MODELS:
        found.append(Deviation(f"{len(keys)} members",
                               f"The ensemble has {len(keys)} member(s); the paper's has "
                               f"{PAPER_MODELS}, and {paper.PROTOCOL_NOTES['ensemble-init']}. The "
                               f"multi-model rows are set beside the paper's 7-model rows.",
                               "models>1"))
    if rule != "mean":
        found.append(Deviation(rule, f"Crops and models combined by {rule} (max over crops, mean over "
                                     f"models); the paper averages both.", "crops>1"))
    return found


def _model_deviations(members: list[StoreInfo]) -> list[Deviation]:
    variants = sorted({model_variant(m.spec, m.manifest) for m in members})
    found = [Deviation("model", "Model: " + "; ".join(variants) + "."),
             Deviation("weights", "Weights (the paper's models were never released): " + "; ".join(
                 f"{m.key}: {weights_source(m.spec)}, sha256 {m.spec['weights_sha256'][:16]}"
                 for m in members) + ".")]
    crop_sizes = sorted({int(m.spec["crop_size"]) for m in members})
    if crop_sizes != [PAPER_CROP_SIZE]:
        notes = sorted({m.manifest.get("scheme_deviation", "") for m in members} - {""})
        found.append(Deviation("crop size", f"Crops are {', '.join(map(str, crop_sizes))} px (the "
                                            f"paper: {PAPER_CROP_SIZE} px). " + " ".join(notes)))
    return found


def row_tags(deviations: list[Deviation], models: int, crops: int) -> str:
    """The tags of the deviations affecting one row, comma-separated."""
    return ", ".join(d.tag for d in deviations if d.applies(models, crops))
