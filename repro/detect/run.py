"""The two steps of a detection run on a DET root: fine-tune region classifiers on val1, detect on val2.

``finetune_members`` (``repro detect finetune``): proposals of val1, the learned proposal head trained
on val1's boxes with the first member's backbone, and every classification member fine-tuned into a
region classifier. ``detect`` (``repro detect run``): proposals of val2 for every proposal set of the
protocol, their coverage, region scores of the first member on all of them and of the others on the
protocol's set, then single-model and ensemble detections, submissions and devkit scores.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import mxnet as mx
import numpy as np

from repro.atomic import write_text
from repro.detect.boxes import covered, unique_boxes
from repro.detect.dataset import DetData, DetSplit, open_det_data, write_blacklist, write_image_list
from repro.detect.derive import ensemble_detections, score
from repro.detect.finetune import CARD_NAME, collect_samples, finetune, write_region_card
from repro.detect.learned_proposals import CARD_NAME as PROPOSER_CARD
from repro.detect.learned_proposals import load_proposer, train_proposer
from repro.detect.proposals import (
    ProposalCache,
    ProposalResult,
    ProposalSource,
    compute_proposals,
    learned_source,
    selective_search_source,
)
from repro.detect.region_store import RegionScoreStore
from repro.detect.scoring import ScoringSettings, member_record, score_regions
from repro.detect.specs import (
    DETECTION_PROTOCOLS,
    LEARNED_PROPOSALS,
    PROPOSAL_SETS,
    DetectionProtocol,
    ProposalSetSpec,
)
from repro.detect.warp import mean_fill
from repro.errors import ReproError
from repro.metrics.det_eval import DEFINED_RULES, DetGroundTruth, write_submission
from repro.models.refs import LoadedModel, load_model, parse_ref
from repro.provenance import manifest

RESULTS_NAME = "detection_results.json"
FINETUNE_MANIFEST = "finetune_manifest.json"


@dataclass
class RunSettings:
    """Threads, batching, cache location."""

    workers: int = 2
    batch_size: int = 256
    cache_dir: Path | None = None  # proposal cache; default: <out>/proposals
    ctx: mx.Context = mx.cpu()


def _log(message: str) -> None:
    print(message, flush=True)


def _load_members(refs: Sequence[str], ctx: mx.Context) -> list[LoadedModel]:
    models = [load_model(parse_ref(ref), ctx=ctx) for ref in refs]
    keys = [m.ref.name for m in models]
    if len(set(keys)) != len(keys):
        raise ReproError(f"two members share the name {sorted(k for k in keys if keys.count(k) > 1)[0]!r}; "
                         f"give each model card its own name")
    return models


def _fine_tuned_from(ref: str) -> str | None:
    """The classification network a region classifier's model card says it was fine-tuned from."""
    if not ref.endswith(".json") or not Path(ref).is_file():
        return None
    origin = json.loads(Path(ref).read_text()).get("fine_tuned_from") or {}
    return origin.get("weights_sha256")


def _selective_search_sources(set_ids: Sequence[str], protocol: DetectionProtocol) -> dict[str, ProposalSource]:
    """The selective-search sources the proposal sets need, by registered configuration id, as the
    protocol runs them."""
    ids = sorted({PROPOSAL_SETS.get(i).selective_search for i in set_ids} - {None})
    return {i: selective_search_source(protocol.selective_search(i)) for i in ids}


def _proposals(data: DetData, split: DetSplit, sources: list[ProposalSource], cache: ProposalCache,
               workers: int) -> ProposalResult:
    names = split.images.names
    started = time.perf_counter()
    result = compute_proposals(len(names), lambda i: data.load_image(names[i], split.annotations[i]),
                               sources, cache, workers)
    for source in sources:
        counts = [len(b) for b in result.boxes[source.key]]
        _log(f"proposals {source.key} on {split.name}: {np.mean(counts) if counts else 0:.0f} boxes/image, "
             f"{result.cache_hits[source.key]}/{len(names)} cached, "
             f"compute {result.seconds[source.key]:.1f} s")
    _log(f"proposals on {split.name}: {time.perf_counter() - started:.1f} s wall")
    return result


def _reusable_card(path: Path, expected: dict) -> bool:
    """True when the JSON card at ``path`` exists and has every ``expected`` field value."""
    if not path.is_file():
        return False
    card = json.loads(path.read_text())
    return all(card.get(key) == value for key, value in expected.items())


def finetune_members(data: DetData, protocol: DetectionProtocol, member_refs: Sequence[str], out: Path,
                     settings: RunSettings = RunSettings(), count: int | None = None) -> dict:
    """Fine-tune ``count`` (default: the protocol's ensemble size) region classifiers on val1, number
    i from classification member ``i mod len(member_refs)`` with seed i (so fewer classification
    members are reused, in order); train the learned proposal head on the first member's backbone if
    the protocol's proposal set has one. Writes ``out/members/<name>/model.json``, ``out/proposer/``
    and ``out/finetune_manifest.json`` (:data:`FINETUNE_MANIFEST`); what is already there for the same
    inputs is kept."""
    out = Path(out)
    started = time.perf_counter()
    count = count or protocol.ensemble_size
    split = data.split("val1", protocol.split)
    proposal_set = PROPOSAL_SETS.get(protocol.proposals)
    if proposal_set.selective_search is None:
        raise ReproError(f"proposal set {proposal_set.id} has no selective search to draw training "
                         f"regions from")
    first = _load_members(member_refs[:1], settings.ctx)[0]
    source = _selective_search_sources([proposal_set.id], protocol)[proposal_set.selective_search]
    cache = ProposalCache(settings.cache_dir or out / "proposals")
    proposals = _proposals(data, split, [source], cache, settings.workers).boxes[source.key]
    images = [data.load_image(n, a) for n, a in zip(split.images.names, split.annotations)]
    record: dict = {"kind": "detection-finetune", "protocol": protocol.id,
                    "protocol_version": protocol.version, "dataset": data.dataset.id,
                    "root": str(data.root), "train_split": split.name, "train_images": len(images),
                    "train_objects": int(sum(len(a.class_ids) for a in split.annotations)),
                    "classification_members": list(member_refs), "region_classifiers": count,
                    "fine_tune": asdict(protocol.finetune), "warp": asdict(protocol.warp), "members": []}
    if proposal_set.learned:
        spec = LEARNED_PROPOSALS.get(proposal_set.learned)
        card_path = out / "proposer" / PROPOSER_CARD
        tick = time.perf_counter()
        if _reusable_card(card_path, {"learned_spec": spec.id, "learned_version": spec.version,
                                      "backbone_weights_sha256": first.weights_sha256}):
            proposer = load_proposer(card_path, settings.ctx)
        else:
            proposer = train_proposer(spec, first, images, list(split.annotations), out / "proposer",
                                      first.ref.text, settings.ctx)
        record["proposer"] = {"card": str(card_path), "key": proposer.key, "spec": asdict(spec),
                              "seconds": round(time.perf_counter() - tick, 2)}
        _log(f"learned proposals {proposer.key}: ready in {record['proposer']['seconds']} s")
    crop_size = first.ref.input_size
    tick = time.perf_counter()
    samples = collect_samples(images, split.annotations, proposals, protocol.finetune, crop_size,
                              protocol.warp.padding(crop_size), mean_fill(first.spec), seed=0)
    record["regions"] = {"positive": int(len(samples.positives)), "background": int(len(samples.background)),
                         "seconds": round(time.perf_counter() - tick, 2)}
    _log(f"fine-tuning regions: {len(samples.positives)} positive, {len(samples.background)} background "
         f"({record['regions']['seconds']} s)")
    for number in range(1, count + 1):
        model = _load_members([member_refs[(number - 1) % len(member_refs)]], settings.ctx)[0]
        if model.ref.input_size != crop_size:
            raise ReproError(f"{model.ref.text} takes {model.ref.input_size} px input, {first.ref.text} "
                             f"{crop_size} px; the members of one ensemble share the region crops")
        name = f"region{number}-{model.ref.name}"
        card_path = out / "members" / name / CARD_NAME
        entry = {"card": str(card_path), "from": model.ref.text, "seed": number}
        if _reusable_card(card_path, {"fine_tuned_from": {"ref": model.ref.text,
                                                          "weights_sha256": model.weights_sha256},
                                      "fine_tune": asdict(protocol.finetune), "seed": number}):
            record["members"].append(dict(entry, reused=True))
            _log(f"{name}: already fine-tuned ({card_path})")
            continue
        result = finetune(model, samples, protocol.finetune, data.meta.num_classes, seed=number,
                          ctx=settings.ctx)
        write_region_card(card_path.parent, model, result, data.meta, name, number, asdict(protocol.finetune))
        record["members"].append(dict(entry, reused=False, loss_first=result.first_loss,
                                      loss_last=result.last_loss, seconds=round(result.seconds, 2)))
        _log(f"{name}: fine-tuned in {result.seconds:.1f} s, "
             f"loss {result.first_loss:.3f} -> {result.last_loss:.3f}")
    record["wall_seconds"] = round(time.perf_counter() - started, 2)
    record = manifest(**record)
    write_text(out / FINETUNE_MANIFEST, json.dumps(record, indent=1) + "\n")
    return record


def finetuned_outputs(finetune_dir: Path) -> tuple[list[str], Path | None]:
    """(region classifier cards in order, proposer card or None) of a `finetune` output folder."""
    path = Path(finetune_dir) / FINETUNE_MANIFEST
    if not path.is_file():
        raise ReproError(f"{path} does not exist: run `repro detect finetune --out {finetune_dir}` first")
    record = json.loads(path.read_text())
    proposer = record.get("proposer")
    return [m["card"] for m in record["members"]], Path(proposer["card"]) if proposer else None


def _set_boxes(proposal_set: ProposalSetSpec, sources: dict[str, ProposalSource],
               result: ProposalResult) -> list[np.ndarray]:
    """Per image, the distinct boxes of the set's sources together."""
    parts = [result.boxes[sources[source_id].key] for source_id in proposal_set.sources]
    return [unique_boxes(np.concatenate(per_image)) for per_image in zip(*parts)]


def _coverage_rows(split: DetSplit, sets: dict[str, list[np.ndarray]]) -> list[dict]:
    rows = []
    n_objects = int(sum(len(a.class_ids) for a in split.annotations))
    for set_id, boxes in sets.items():
        hits = int(sum(covered(a.boxes, b).sum() for a, b in zip(split.annotations, boxes)))
        rows.append({"proposal_set": set_id, "sources": "+".join(PROPOSAL_SETS.get(set_id).sources),
                     "boxes_per_image": float(np.mean([len(b) for b in boxes])) if boxes else 0.0,
                     "objects": n_objects, "covered": hits,
                     "coverage": hits / n_objects if n_objects else float("nan")})
    return rows


def _region_members(member_refs: Sequence[str], data: DetData, ctx: mx.Context) -> list[LoadedModel]:
    """The region classifiers, each checked to have one output per class plus background."""
    models = _load_members(member_refs, ctx)
    wrong = [m for m in models if m.ref.classes != data.meta.num_classes + 1]
    if wrong:
        raise ReproError(f"{wrong[0].ref.text} has {wrong[0].ref.classes} outputs; a region classifier for "
                         f"this data has {data.meta.num_classes} classes + background (fine-tune it with "
                         f"`repro detect finetune`)")
    return models


def _sources(set_ids: Sequence[str], protocol: DetectionProtocol, proposer_card: Path | None,
             ctx: mx.Context) -> dict[str, ProposalSource]:
    """Every proposal source the sets need, by configuration id (the learned one from ``proposer_card``)."""
    sources = _selective_search_sources(set_ids, protocol)
    learned_ids = sorted({PROPOSAL_SETS.get(i).learned for i in set_ids} - {None})
    if learned_ids:
        if proposer_card is None:
            raise ReproError(f"proposal set(s) {', '.join(set_ids)} need learned proposals: pass --proposer "
                             f"(the proposer.json written by `repro detect finetune`)")
        proposer = load_proposer(proposer_card, ctx)
        if proposer.spec.id not in learned_ids:
            raise ReproError(f"{proposer_card} is a {proposer.spec.id} proposer; the protocol needs "
                             f"{learned_ids}")
        sources[proposer.spec.id] = learned_source(proposer)
    return sources


def _evaluate_members(store: RegionScoreStore, keys: Sequence[str], split: DetSplit, meta_classes: int,
                      sets: dict[str, list[np.ndarray]], protocol: DetectionProtocol, out: Path) -> dict:
    """Single-model mAP on every proposal set; mAP of the first 1..K members on the protocol's set;
    the single and K-model submissions written; their per-class results."""
    names, indexes = split.images.names, split.images.indexes
    truth = DetGroundTruth.from_annotations(indexes, split.annotations, meta_classes)

    def derive(members: Sequence[str], set_id: str):
        return ensemble_detections(store, members, names, indexes, sets[set_id], protocol.nms_iou,
                                   protocol.max_per_class)

    single_by_set = {}
    for set_id in sets:
        single_by_set[set_id] = score(derive(keys[:1], set_id), truth, split.blacklist).map
        _log(f"single model on {set_id}: mAP {100 * single_by_set[set_id]:.2f}%")
    curve, per_class = [], {}
    for count in range(1, len(keys) + 1):
        detections = derive(keys[:count], protocol.proposals)
        result = score(detections, truth, split.blacklist)
        curve.append({"models": count, "map": result.map, "detections": len(detections)})
        if count in (1, len(keys)):
            label = "single" if count == 1 else "ensemble"
            write_submission(out / f"submission_{label}.txt", detections)
            per_class[label] = result
    _log("ensemble size curve: " + ", ".join(f"{r['models']}: {100 * r['map']:.2f}%" for r in curve))
    return {"single_by_set": single_by_set, "curve": curve, "single": per_class["single"],
            "ensemble": per_class.get("ensemble", per_class["single"]), "objects": len(truth.object_class)}


def detect(data: DetData, protocol: DetectionProtocol, member_refs: Sequence[str], proposer_card: Path | None,
           out: Path, settings: RunSettings = RunSettings()) -> dict:
    """Detect on val2 with the region classifiers ``member_refs`` (first = the single model); writes
    submissions, ``val2.txt``, ``val2_blacklist.txt`` and ``detection_results.json`` (with its
    provenance) into ``out``; returns that record."""
    out = Path(out)
    started = time.perf_counter()
    split = data.split("val2", protocol.split)
    names = split.images.names
    models = _region_members(member_refs, data, settings.ctx)
    set_ids = [s for s in protocol.baseline_proposals if s != protocol.proposals] + [protocol.proposals]
    sources = _sources(set_ids, protocol, proposer_card, settings.ctx)
    cache = ProposalCache(settings.cache_dir or out / "proposals")
    proposals = _proposals(data, split, list(sources.values()), cache, settings.workers)
    sets = {set_id: _set_boxes(PROPOSAL_SETS.get(set_id), sources, proposals) for set_id in set_ids}
    coverage = _coverage_rows(split, sets)
    for row in coverage:
        _log(f"proposal set {row['proposal_set']}: {row['boxes_per_image']:.0f} boxes/image, coverage "
             f"{row['covered']}/{row['objects']} = {100 * row['coverage']:.1f}% (IoU >= 0.5)")

    # the single model scores every set's boxes (for the proposal table), the others the protocol's
    store = RegionScoreStore(out / "region_scores")
    scoring = ScoringSettings(settings.batch_size, settings.workers, ctx=settings.ctx)
    load = lambda i: data.load_image(names[i], split.annotations[i])  # noqa: E731
    union = [unique_boxes(np.concatenate(parts)) for parts in zip(*sets.values())]
    passes = [score_regions(names, load, union, models[:1], protocol.warp, store, scoring)]
    if len(models) > 1:
        passes.append(score_regions(names, load, sets[protocol.proposals], models[1:], protocol.warp,
                                    store, scoring))
    for report in passes:
        _log(f"scored {report.regions} regions of {report.images_scored} images ({report.images_skipped} "
             f"already stored) in {report.wall_seconds:.1f} s; forward "
             + ", ".join(f"{k} {v:.1f} s" for k, v in report.forward_seconds.items()))

    keys = [member_record(m).key for m in models]
    scores = _evaluate_members(store, keys, split, data.meta.num_classes, sets, protocol, out)
    write_image_list(out / "val2.txt", split.images)
    write_blacklist(out / "val2_blacklist.txt", split.blacklist, data.meta)
    classes_rows = [{"class_id": c.class_id, "wnid": c.wnid, "name": c.name,
                     "ap_single": float(scores["single"].ap[c.class_id - 1]),
                     "ap_ensemble": float(scores["ensemble"].ap[c.class_id - 1]),
                     "n_pos": int(scores["ensemble"].n_pos[c.class_id - 1])} for c in data.meta.classes]
    learned = [s for s in sources.values() if not s.threaded]
    results = {
        "dataset": data.dataset.id, "root": str(data.root), "protocol": protocol.id,
        "protocol_version": protocol.version, "protocol_note": protocol.note,
        "eval_split": split.name, "eval_images": len(names), "eval_objects": scores["objects"],
        "blacklist_entries": 0 if split.blacklist is None else len(split.blacklist),
        "proposal_set": protocol.proposals, "members": keys,
        "ensemble_size_protocol": protocol.ensemble_size,
        "member_refs": list(member_refs), "member_weights_sha256": [m.weights_sha256 for m in models],
        "classification_networks": len({_fine_tuned_from(r) or r for r in member_refs}),
        "proposer": str(proposer_card) if learned else None,
        "proposer_key": learned[0].key if learned else None,
        "coverage": [dict(row, single_model_map=scores["single_by_set"][row["proposal_set"]])
                     for row in coverage],
        "single_model_map": scores["single_by_set"][protocol.proposals],
        "ensemble_map": scores["curve"][-1]["map"], "ensemble_members": len(models),
        "ensemble_curve": scores["curve"], "per_class": classes_rows,
        "nms_iou": protocol.nms_iou, "max_per_class": protocol.max_per_class,
        "submissions": {"single": "submission_single.txt", "ensemble": "submission_ensemble.txt"
                        if len(models) > 1 else "submission_single.txt"},
        "proposal_cache_hits": proposals.cache_hits,
        "scoring_passes": [{"members": list(p.forward_seconds), "regions": p.regions,
                            "images_scored": p.images_scored, "images_skipped": p.images_skipped}
                           for p in passes],
        "seconds": {"proposals": proposals.seconds,
                    "scoring": [round(p.wall_seconds, 2) for p in passes],
                    "forward": {k: round(v, 2) for p in passes for k, v in p.forward_seconds.items()},
                    "wall": round(time.perf_counter() - started, 2)},
        "defined_rules": list(DEFINED_RULES),
    }
    record = manifest(kind="detection-run", **results)
    write_text(out / RESULTS_NAME, json.dumps(record, indent=1) + "\n")
    _log(f"single model mAP {100 * results['single_model_map']:.2f}%, {len(models)}-model ensemble mAP "
         f"{100 * results['ensemble_map']:.2f}% on {len(names)} {split.name} images; "
         f"wrote {out / RESULTS_NAME}")
    return record


def read_results(run_dir: str | Path) -> dict:
    """The ``detection_results.json`` of a `repro detect run` output folder."""
    path = Path(run_dir) / RESULTS_NAME
    if not path.is_file():
        raise ReproError(f"{path} does not exist: run `repro detect run --out {run_dir}` first")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ReproError(f"{path} is not valid JSON ({exc.msg} at line {exc.lineno}); re-run "
                         f"`repro detect run --out {run_dir}`") from None


def detect_step(step: str, data: Path, dataset: str | None, protocol: str, members: Sequence[str] | None,
                out: Path, cache: Path | None = None, workers: int = 2, ensemble_size: int | None = None,
                proposer: Path | None = None, finetuned: Path | None = None, batch_size: int = 256) -> dict | None:
    """`repro detect finetune` or `repro detect run` on the DET root ``data`` with registered ``protocol``."""
    detection = DETECTION_PROTOCOLS.get(protocol)
    det_data = open_det_data(data, dataset)
    if step == "finetune":
        return finetune_members(det_data, detection, members, out, RunSettings(workers, cache_dir=cache),
                                count=ensemble_size)
    if finetuned:
        if members or proposer:
            raise ReproError("give either --finetuned or --members/--proposer, not both")
        members, proposer = finetuned_outputs(finetuned)
    if not members:
        raise ReproError("name the region classifiers: --members CARD.json ... or --finetuned DIR")
    return detect(det_data, detection, members, proposer, out, RunSettings(workers, batch_size, cache_dir=cache))
