"""The training loop of one network: SGD with aux losses, Polyak averaging, per-epoch validation,
checkpoints, and the files a finished run leaves.

Outputs in ``OUT`` (for worker k > 0 of a distributed job, in ``OUT/worker-k``):

- ``last.params`` — the trained network's final weights (aux heads included);
- ``polyak.params`` — the Polyak-averaged inference weights (no aux heads): the model to evaluate;
- ``model.json`` — the model card for ``repro evaluate --model OUT/model.json``;
- ``log.csv`` — one row per epoch (columns :data:`LOG_COLUMNS`), rewritten atomically every epoch;
- ``manifest.json`` — configuration, data hashes, weights hashes, timings; written last, so its
  presence means the run finished. Re-running the same command then does nothing.

An interrupted local run resumes from its last checkpoint (``checkpoint-eNNN/``) and ends with the
same weights as an uninterrupted one. A distributed run keeps its optimizer state on the servers and
writes no checkpoints.
"""
from __future__ import annotations

import csv
import io
import json
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import mxnet as mx
import numpy as np
from mxnet import autograd, gluon
from mxnet.gluon import HybridBlock

from repro.atomic import write_text
from repro.errors import ReproError
from repro.metrics.classification import error_rate, topk_correct
from repro.models.classifier import Classifier, Normalized, prepare_for_inference
from repro.models.refs import parameters_sha256
from repro.models.specs import ModelSpec
from repro.models.weights import load_params
from repro.progress import progress_bar
from repro.provenance import manifest, sha256_file
from repro.train import checkpoint as ckpt
from repro.train.config import RunConfig
from repro.train.data import (
    DecodedImages,
    EpochPlan,
    TrainingBatches,
    ValidationSet,
    check_layout,
    class_space,
    epoch_plan,
    load_training_images,
    load_validation,
)
from repro.train.kvstore import Distribution
from repro.train.network import build_networks
from repro.train.polyak import PolyakAverage

LAST_PARAMS, POLYAK_PARAMS, CARD, LOG, MANIFEST = "last.params", "polyak.params", "model.json", "log.csv", "manifest.json"
LOG_COLUMNS = ("epoch", "images", "loss", "main_loss", "lr", "val_top1_err", "val_top5_err",
               "polyak_val_top1_err", "polyak_val_top5_err", "seconds", "img_per_s")
DROPOUT_STREAM = 3
VAL_BATCH = 100


@dataclass
class TrainingData:
    """The images of a run, shareable between runs in one process (decoded images are cached)."""

    root: Path
    images: DecodedImages
    validation: ValidationSet
    classes: int


def load_data(root: Path, config: RunConfig, threads: int = 2) -> TrainingData:
    """Index the training images and centre-crop the validation images for ``config``."""
    root = Path(root)
    check_layout(root)
    classes = class_space(root)
    recipe = config.recipe
    images = load_training_images(root, classes, recipe.decode_short_side, recipe.cache_images)
    validation = load_validation(root, recipe.input_size, recipe.val_images, threads)
    return TrainingData(root, images, validation, len(classes))


def output_dir(out: Path, distribution: Distribution) -> Path:
    """Where this process writes: ``out`` for rank 0, ``out/worker-<rank>`` for the other workers."""
    return out if distribution.rank == 0 else out / f"worker-{distribution.rank}"


def lr_scheduler(config: RunConfig, steps_per_epoch: int, distribution: Distribution) -> mx.lr_scheduler.FactorScheduler:
    """MXNet's step schedule: x decay_factor every ``epochs_per_decay`` epochs, counted in optimizer updates,
    after the schedule's linear warm-up (if any)."""
    schedule = config.recipe.schedule
    updates_per_epoch = steps_per_epoch * distribution.updates_per_step()
    step = max(1, round(schedule.epochs_per_decay * updates_per_epoch))
    warmup = round(schedule.warmup_epochs * updates_per_epoch)
    return mx.lr_scheduler.FactorScheduler(step=step, factor=schedule.decay_factor, base_lr=schedule.base_lr,
                                           warmup_steps=warmup, warmup_begin_lr=0.0, warmup_mode="linear")


def seed_for(*keys: int) -> int:
    """A 32-bit seed derived from integer keys (for MXNet's global generator, i.e. dropout)."""
    return int(np.random.SeedSequence(list(keys)).generate_state(1)[0])


def validate(classifier: Classifier, validation: ValidationSet) -> tuple[float, float]:
    """Top-1 and top-5 error of ``classifier`` on the validation crops."""
    with warnings.catch_warnings():
        # The inference graph of the training network leaves its aux heads unused, by design.
        warnings.filterwarnings("ignore", message=".*is not used by any computation")
        probs = np.concatenate([classifier(mx.nd.array(validation.crops[i:i + VAL_BATCH], dtype="uint8"))
                                .asnumpy() for i in range(0, len(validation.crops), VAL_BATCH)])
    return tuple(error_rate(topk_correct(probs, validation.labels, k)).rate for k in (1, 5))


def _log_text(rows: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=LOG_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def _check_reusable(recorded: dict, config: RunConfig, what: Path) -> None:
    difference = config.difference(recorded)
    if difference:
        raise ReproError(f"{what} was made by a different configuration (first difference: {difference}); "
                         f"use another --out or the same options")


def reuse_finished(out: Path, config: RunConfig) -> dict | None:
    """The manifest of a finished run of ``config`` in ``out``, saying it is reused; None if unfinished;
    error if another configuration made it."""
    path = out / MANIFEST
    if not path.is_file():
        return None
    recorded = json.loads(path.read_text())
    _check_reusable(recorded["config"], config, path)
    print(f"{config.name}: already trained ({path}); nothing to do")
    return recorded


@dataclass
class Session:
    """What a run trains: the network, its Polyak average, the optimizer, and the log so far."""

    config: RunConfig
    spec: ModelSpec
    net: HybridBlock
    average_net: HybridBlock
    params: list  # the trained parameters; list positions are the kvstore keys
    trainer: gluon.Trainer
    average: PolyakAverage
    steps_per_epoch: int
    rows: list[dict]
    start_epoch: int = 0


def start_session(config: RunConfig, data: TrainingData, out: Path, distribution: Distribution) -> Session:
    """Build the seeded networks and the optimizer; restore the last checkpoint in ``out`` if any."""
    recipe, schedule = config.recipe, config.recipe.schedule
    spec, net, average_net = build_networks(config.model, data.classes, recipe.width, recipe.input_size,
                                            config.init_seed, recipe.classifier_init_std)
    params = list(net.collect_params().values())
    steps = epoch_plan(len(data.images), schedule.batch_size, config.data_seed, 0, distribution.rank,
                       distribution.workers).steps
    trainer = gluon.Trainer(params, "sgd", {
        "learning_rate": schedule.base_lr, "momentum": schedule.momentum, "wd": schedule.weight_decay,
        "lr_scheduler": lr_scheduler(config, steps, distribution)}, kvstore=distribution.kvstore)
    session = Session(config, spec, net, average_net, params, trainer,
                      PolyakAverage(average_net, net, recipe.polyak.decay(steps)), steps, rows=[])
    resume = ckpt.latest_checkpoint(out)
    if resume is None:
        session.average.reset()
        return session
    if distribution.distributed:
        raise ReproError(f"{resume.path}: a distributed run cannot resume (its optimizer state lived on "
                         f"the servers); remove it or use another --out")
    _check_reusable(resume.state["config"], config, resume.path)
    load_params(net, resume.path / ckpt.NET_FILE)
    load_params(average_net, resume.path / ckpt.AVERAGE_FILE)
    trainer.load_states(str(resume.path / ckpt.TRAINER_FILE))
    session.average.updates = resume.state["polyak_updates"]
    session.rows, session.start_epoch = resume.state["log"], resume.epoch
    print(f"{config.name}: resuming after epoch {resume.epoch} from {resume.path}")
    return session


def train_epoch(session: Session, train_net: Normalized, batches: TrainingBatches, plan: EpochPlan,
                normaliser: int, progress: bool) -> tuple[float, float]:
    """One pass over ``plan``: SGD steps with the aux losses, each followed by a Polyak update.
    Returns the mean total loss and the mean main-classifier loss."""
    config = session.config
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    totals = np.zeros(2)
    with progress_bar(progress, total=plan.steps * config.recipe.schedule.batch_size, unit="img",
                      leave=False, desc=f"{config.name} epoch {plan.epoch + 1}/{config.recipe.schedule.epochs}") as bar:
        for step, (patches, labels) in enumerate(batches(plan), start=1):
            x, y = mx.nd.array(patches, dtype="uint8"), mx.nd.array(labels)
            with autograd.record():
                main, aux1, aux2 = train_net(x)
                main_loss = loss_fn(main, y)
                loss = main_loss + config.recipe.aux_weight * (loss_fn(aux1, y) + loss_fn(aux2, y))
            loss.backward()
            session.trainer.step(normaliser)
            session.average.update()
            totals += (loss.mean().asscalar(), main_loss.mean().asscalar())
            bar.update(len(labels))
            bar.set_postfix(loss=f"{totals[0] / step:.3f}")
    return totals[0] / plan.steps, totals[1] / plan.steps


def train(config: RunConfig, data: TrainingData, out: Path, distribution: Distribution,
          progress: bool = True, threads: int = 2) -> dict:
    """Train ``config`` on ``data`` into ``out`` (resuming a checkpoint there); return the manifest."""
    out = output_dir(Path(out), distribution)
    done = reuse_finished(out, config)
    if done is not None:
        return done
    recipe, schedule = config.recipe, config.recipe.schedule
    session = start_session(config, data, out, distribution)
    spec = session.spec
    train_net = Normalized(session.net, spec)
    train_net.mean.initialize()
    train_net.std.initialize()
    train_net.hybridize(static_alloc=True, static_shape=True)
    classifiers = [prepare_for_inference(Classifier(n, spec)) for n in (session.net, session.average_net)]
    batches = TrainingBatches(data.images, config.sampling, recipe.input_size, config.data_seed, threads)
    log_scheduler = lr_scheduler(config, session.steps_per_epoch, distribution)
    normaliser = distribution.gradient_normaliser(schedule.batch_size)
    wall_start = time.perf_counter()
    for epoch in range(session.start_epoch, schedule.epochs):
        mx.random.seed(seed_for(config.data_seed, DROPOUT_STREAM, epoch, distribution.rank))
        plan = epoch_plan(len(data.images), schedule.batch_size, config.data_seed, epoch,
                          distribution.rank, distribution.workers)
        epoch_start = time.perf_counter()
        loss, main_loss = train_epoch(session, train_net, batches, plan, normaliser, progress)
        seconds = time.perf_counter() - epoch_start
        (top1, top5), (avg_top1, avg_top5) = (validate(c, data.validation) for c in classifiers)
        images = plan.steps * schedule.batch_size
        session.rows.append({
            "epoch": epoch + 1, "images": (epoch + 1) * images, "loss": round(loss, 6),
            "main_loss": round(main_loss, 6),
            "lr": log_scheduler((epoch + 1) * plan.steps * distribution.updates_per_step()),
            "val_top1_err": top1, "val_top5_err": top5, "polyak_val_top1_err": avg_top1,
            "polyak_val_top5_err": avg_top5, "seconds": round(seconds, 3), "img_per_s": round(images / seconds, 1)})
        row = session.rows[-1]
        print(f"{config.name} epoch {epoch + 1}/{schedule.epochs}: loss {loss:.4f}, lr {row['lr']:.5g}, val "
              f"top-1/top-5 err {top1:.3f}/{top5:.3f} (Polyak {avg_top1:.3f}/{avg_top5:.3f}), "
              f"{row['img_per_s']:.0f} img/s")
        if not distribution.distributed:
            ckpt.save_checkpoint(out, {"epoch": epoch + 1, "polyak_updates": session.average.updates,
                                       "log": session.rows, "config": config.as_json()},
                                 session.net, session.average_net, session.trainer)
        write_text(out / LOG, _log_text(session.rows))
    distribution.pull_weights(session.params)
    return _finish(config, data, out, session, distribution, time.perf_counter() - wall_start)


def _finish(config: RunConfig, data: TrainingData, out: Path, session: Session, distribution: Distribution,
            wall_seconds: float) -> dict:
    """Write weights, model card and manifest (last), then drop the checkpoints."""
    recipe, net, average_net, rows = config.recipe, session.net, session.average_net, session.rows
    ckpt.save_params(net, out / LAST_PARAMS)
    ckpt.save_params(average_net, out / POLYAK_PARAMS)
    card = {"spec": config.model, "params": POLYAK_PARAMS, "classes": data.classes, "width": recipe.width,
            "input_size": recipe.input_size, "seed": config.init_seed, "name": config.name}
    write_text(out / CARD, json.dumps(card, indent=1) + "\n")
    write_text(out / LOG, _log_text(rows))
    record = manifest(
        kind="training-run", config=config.as_json(), schedule=config.recipe.schedule.describe(),
        choices=[vars(choice) for choice in config.recipe.choices],
        dataset={"root": str(data.root), "train_images": len(data.images),
                 "train_index_sha256": data.images.index.hash, "val_images": len(data.validation.labels),
                 "val_index_sha256": data.validation.index_hash, "classes": data.classes},
        distribution={"kvstore": config.kvstore, "workers": distribution.workers, "rank": distribution.rank},
        polyak_weights_sha256=parameters_sha256(average_net), last_weights_sha256=parameters_sha256(net),
        files={name: sha256_file(out / name) for name in (LAST_PARAMS, POLYAK_PARAMS, CARD, LOG)},
        final=rows[-1] if rows else None, resumed_after_epoch=session.start_epoch,
        wall_seconds_this_process=round(wall_seconds, 2))
    write_text(out / MANIFEST, json.dumps(record, indent=1, sort_keys=True) + "\n")
    ckpt.remove_checkpoints(out)
    return record
