"""The paper's training procedure (Section 6) as registered data: samplings, recipes, the ensemble plan.

- samplings (:data:`~repro.train.recipe.SAMPLINGS`): the post-competition recipe (area uniform in
  8%-100%, aspect ratio in [3/4, 4/3], photometric distortions, random interpolation, mirror) and the
  variants the members of an ensemble differ by;
- recipes (:data:`~repro.train.recipe.RECIPES`): SGD with momentum 0.9 and the learning rate
  decreased by 4% every 8 epochs (compressed for short runs), Polyak averaging, aux losses x0.3.
  Base rate, batch size, weight decay and epoch count are the paper's gaps, filled by each recipe and
  stated as this project's;
- the ensemble plan (:data:`~repro.train.recipe.ENSEMBLES`): the 7 members of Section 7 — same
  initial weights (the paper's oversight, reproduced on purpose), different sampling and image
  order, one wider;
- :data:`CHOICES`: every point where the paper is silent or where this project departs from it,
  carried by every recipe into its runs' manifests.
"""
from __future__ import annotations

import dataclasses

from repro.train.recipe import (
    ENSEMBLES,
    RECIPES,
    SAMPLINGS,
    Choice,
    EnsemblePlan,
    MemberSpec,
    Photometric,
    PolyakSpec,
    SamplingSpec,
    Schedule,
    TrainRecipe,
)

PAPER_AREA = (0.08, 1.0)
PAPER_ASPECT = (3 / 4, 4 / 3)
#: Section 6: "bilinear, area, nearest neighbor and cubic, with equal probability" (keys of
#: repro.engine.crops.INTERPOLATIONS; "bicubic" is OpenCV's INTER_CUBIC).
PAPER_INTERPOLATIONS = ("bilinear", "area", "nearest", "bicubic")
PAPER_MOMENTUM = 0.9
PAPER_DECAY_FACTOR = 0.96
PAPER_DECAY_EVERY_EPOCHS = 8.0
PAPER_AUX_WEIGHT = 0.3

#: Colour distortions "in the style of Andrew Howard": the paper gives no values; these strengths are
#: GluonCV's ImageNet training values.
HOWARD_PHOTOMETRIC = Photometric(brightness=0.4, contrast=0.4, saturation=0.4, lighting_std=0.1)

CHOICES: tuple[Choice, ...] = (
    Choice("optimiser", "asynchronous SGD on a DistBelief CPU cluster, momentum 0.9",
           "SGD momentum 0.9 in one process by default; --kvstore dist_async is asynchronous SGD over "
           "MXNet's parameter server, dist_sync its synchronous form"),
    Choice("learning-rate policy", "decreased by 4% every 8 epochs",
           "the same, compressed by the recipe's factor c: 4% every 8/c epochs, counted in updates"),
    Choice("base lr, batch, weight decay, epochs", "not given", "the recipe's values (see RECIPES)"),
    Choice("Polyak averaging", "used for the inference model; form not given",
           "exponential moving average of all weights after every step, time constant in epochs, "
           "TensorFlow-style warm-up; the averaged weights are the model card's"),
    Choice("auxiliary classifiers", "losses added with weight 0.3; discarded at inference",
           "the same"),
    Choice("patch sampling", "area 8%-100%, aspect ratio 'chosen randomly' in [3/4, 4/3]",
           "area and aspect ratio uniform; 10 draws, then the whole image if none fits"),
    Choice("photometric distortions", "'in the style of Andrew Howard', no values",
           "brightness/contrast/saturation x(1 +- 0.4) in random order, PCA lighting noise 0.1; "
           "the result clipped to 0-255 and rounded to uint8 so training and evaluation share one input path"),
    Choice("ensemble initialisation", "the same for all seven, by oversight", "the same on purpose"),
    Choice("wider member", "one of the seven, width not given", "x1.5 channels"),
    Choice("epoch", "not defined", "a fresh random order per epoch from the member's seed; the last "
           "partial batch is dropped; each worker process takes a disjoint shard"),
    Choice("input normalisation", "'mean subtracted'", "the model spec's (ImageNet mean and std)"),
)

PAPER_SAMPLING = SAMPLINGS.register("paper", SamplingSpec(
    id="paper", version=1, area=PAPER_AREA, aspect=PAPER_ASPECT, interpolations=PAPER_INTERPOLATIONS,
    photometric=HOWARD_PHOTOMETRIC, mirror=True,
    note="Section 6's post-competition recipe: area 8%-100%, aspect 3/4-4/3, photometric distortions, "
         "random interpolation among bilinear/area/nearest/cubic, mirror."))


def _variant(sampling_id: str, note: str, **changes) -> SamplingSpec:
    """The paper's sampling with ``changes``, registered as ``sampling_id``."""
    return SAMPLINGS.register(sampling_id, dataclasses.replace(PAPER_SAMPLING, id=sampling_id, note=note,
                                                               **changes))


_variant("small-crops", area=(0.08, 0.5),
         note="Section 6: 'some of the models were mainly trained on smaller relative crops'; the 8%-50% "
              "range is this project's choice.")
_variant("large-crops", area=(0.35, 1.0),
         note="Section 6: '... others on larger ones, inspired by [Howard]'; the 35%-100% range is this "
              "project's choice.")
_variant("no-photometric", photometric=None,
         note="The paper's geometry without colour distortions (the paper added them to 'combat "
              "overfitting to some extent').")
_variant("bilinear-only", interpolations=("bilinear",),
         note="The paper's recipe before random interpolation, which it 'started to use relatively late'.")


def _schedule(**values) -> Schedule:
    """A schedule with the paper's momentum and decay policy and the recipe's own ``values``."""
    return Schedule(momentum=PAPER_MOMENTUM, decay_factor=PAPER_DECAY_FACTOR,
                    decay_every_epochs=PAPER_DECAY_EVERY_EPOCHS, **values)


RECIPES.register("paper", TrainRecipe(
    id="paper", version=1, input_size=224, width=1.0,
    schedule=_schedule(base_lr=0.01, batch_size=32, weight_decay=2e-4, epochs=60),
    polyak=PolyakSpec(horizon_epochs=1.0), aux_weight=PAPER_AUX_WEIGHT, sampling="paper", val_images=1000,
    note="Full-size GoogLeNet. Base lr, batch, weight decay: the BVLC Caffe replication's (the paper gives "
         "none); 60 epochs: BVLC's 2.4M iterations at batch 32; validation during training on the first "
         "1000 images only (the full evaluation is `repro evaluate`).",
    choices=CHOICES))

RECIPES.register("mini", TrainRecipe(
    id="mini", version=5, input_size=80, width=0.25,
    schedule=_schedule(base_lr=0.01, batch_size=16, weight_decay=1e-4, epochs=16, compression=20.0,
                       warmup_epochs=0.5),
    polyak=PolyakSpec(horizon_epochs=0.5), aux_weight=PAPER_AUX_WEIGHT, sampling="paper",
    decode_short_side=128, cache_images=True, classifier_init_std=0.0,
    note="The embedded reproduction on the mini-ILSVRC (2-core CPU, minutes): 80 px input, width 0.25, "
         "decoded images pre-shrunk to a shorter side of 128 and kept in memory; batch 16 at base lr 0.01 "
         "(the same lr per image as batch 32 at 0.02, twice the updates: member 1's Polyak top-1 error "
         "after 6 epochs 0.36 at batch 16, 0.55 at batch 32; lr 0.05 and 0.1 at batch 32 stopped "
         "learning), reached after a linear warm-up over the first half epoch; 16 epochs with the "
         "schedule compressed x20 (lr -4% every 8/20 epoch: the 16 epochs follow 320 epochs of the "
         "uncompressed schedule; Polyak top-1 error of member 1's setting on 500 val images after 10 / "
         "12 / 14 / 16 epochs: 0.32 / 0.27 / 0.26 / 0.21; x8 and x40 compression were worse at 10; the 7 "
         "members' 16 epochs took ~490 s on 2 AMD EPYC cores, two at a time, within the 15 minutes of "
         "`nox -s reproduce`); the main and auxiliary classifiers initialised to zero (Xavier gives initial "
         "logits of std 5-10). Momentum, decay factor, aux weight and sampling are the paper's; every "
         "other value, the warm-up and the classifier initialisation are this project's choices.",
    choices=CHOICES))

ENSEMBLES.register("paper-7", EnsemblePlan(
    id="paper-7", version=1, init_seed=0,
    members=(MemberSpec(1, "paper", 1), MemberSpec(2, "small-crops", 2), MemberSpec(3, "large-crops", 3),
             MemberSpec(4, "no-photometric", 4), MemberSpec(5, "bilinear-only", 5),
             MemberSpec(6, "paper", 6), MemberSpec(7, "paper", 7, width_factor=1.5)),
    note="Section 7: seven GoogLeNets with the same initialisation (by oversight) and learning-rate policy, "
         "differing only in sampling method and image order; one wider. Which sampling each member used "
         "and how much wider the seventh was are not given: this assignment and the x1.5 width are this "
         "project's. The wider member has the same seed but, having other shapes, other initial weights."))
