"""How far the fast precision modes move the answers: trained members on a labelled validation set
(the mini-ILSVRC's, or ILSVRC2012's), every backend through the engine with 144 crops, compared with
fp32 on the 1-, 10- and 144-crop reductions and on the members' ensemble.

Random weights say nothing here (their softmax is nearly flat), hence trained members. int8 backends
are calibrated on the dataset's ``train/`` images, never on the validation images they are scored on.
"""
from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

import numpy as np

from repro.data.ilsvrc.classes import read_meta
from repro.data.ilsvrc.formats import read_devkit
from repro.data.ilsvrc.layout import CLS_LAYOUT
from repro.engine.crops import get_scheme
from repro.engine.evaluate import EvaluationSettings, ImageSource, evaluate
from repro.engine.reductions import reduction_name
from repro.engine.store import ModelStore
from repro.errors import ReproError
from repro.metrics.classification import error_rate, topk_classes, topk_correct
from repro.models.backends import backend_with, parse_backend
from repro.models.refs import ModelRef, load_model

CROP_COUNTS = (1, 10, 144)
COLUMNS = ("backend", "reference", "member", "crops", "images", "top1_agreement", "top5_agreement",
           "fp32_top1_err", "fp32_top5_err", "mode_top1_err", "mode_top5_err", "top1_err_diff",
           "top5_err_diff", "max_abs_prob_diff")


def _probabilities(refs: list[ModelRef], source: ImageSource, settings: EvaluationSettings,
                   work_dir: Path) -> dict[tuple[str, int], np.ndarray]:
    """{(member, crops): (images, classes) probabilities} of one backend, via the engine."""
    scheme = get_scheme("144").for_crop_size(refs[0].input_size)
    found = {}
    with tempfile.TemporaryDirectory(dir=work_dir, prefix="agreement-") as store:
        evaluate(source, scheme, [load_model(ref) for ref in refs], store, settings)
        for ref in refs:
            member = ModelStore.open(store, ref.name)
            for crops in CROP_COUNTS:
                found[ref.name, crops] = member.load(reduction_name(crops))[0]
    for crops in CROP_COUNTS:
        found["ensemble", crops] = np.mean([found[ref.name, crops] for ref in refs], axis=0)
    return found


def same_top5(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per row: do ``a`` and ``b`` rank the same five classes on top (in any order)?"""
    return (np.sort(topk_classes(a, 5), axis=1) == np.sort(topk_classes(b, 5), axis=1)).all(axis=1)


def agreement(refs: list[ModelRef], data_root: Path, backends: list[str], reference: str,
              settings: EvaluationSettings, work_dir: Path) -> list[dict]:
    """One row per (backend, member or ensemble, crop count): top-1/top-5 agreement with
    ``reference`` (fp32) and both error rates."""
    if len({ref.input_size for ref in refs}) != 1:
        raise ReproError("agreement members must share one input size (one crop scheme)")
    missing = [p for p in CLS_LAYOUT.required() + (CLS_LAYOUT.train_dir,) if not (data_root / p).exists()]
    if missing:
        raise ReproError(f"agreement data {data_root} lacks {missing[0]}: give a mini-ILSVRC or "
                         f"ILSVRC2012 root with val/, the devkit and train/ (`repro data mini`)")
    index = read_devkit(data_root / CLS_LAYOUT.ground_truth, read_meta(data_root / CLS_LAYOUT.meta))
    labels = np.asarray(index.class_indices)
    source = ImageSource(index, data_root / CLS_LAYOUT.val_dir)
    calibration = data_root / CLS_LAYOUT.train_dir

    def run(backend: str) -> dict:
        name, options = parse_backend(backend)
        if name == "mxnet-int8" and "calibration" not in options:
            backend = backend_with(backend, calibration=calibration)
        return _probabilities(refs, source, dataclasses.replace(settings, backend=backend), work_dir)

    base = run(reference)
    rows = []
    for backend in backends:
        fast = run(backend)
        for (member, crops), probs in fast.items():
            ref_probs = base[member, crops]
            errors = {f"{name}_top{k}_err": round(error_rate(topk_correct(p, labels, k)).rate, 4)
                      for name, p in (("fp32", ref_probs), ("mode", probs)) for k in (1, 5)}
            rows.append({"backend": parse_backend(backend)[0], "reference": reference, "member": member,
                         "crops": crops, "images": len(labels),
                         "top1_agreement": round(float((probs.argmax(1) == ref_probs.argmax(1)).mean()), 4),
                         "top5_agreement": round(float(same_top5(probs, ref_probs).mean()), 4),
                         **errors,
                         "top1_err_diff": round(errors["mode_top1_err"] - errors["fp32_top1_err"], 4),
                         "top5_err_diff": round(errors["mode_top5_err"] - errors["fp32_top5_err"], 4),
                         "max_abs_prob_diff": round(float(np.abs(probs - ref_probs).max()), 5)})
    return rows
