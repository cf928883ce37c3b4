"""Tests generated from the registries: every registered crop scheme, sampling, training recipe,
ensemble plan, detection protocol, dataset and table gets them without being named (as timm's
test_models.py walks its model registry). The model specs' generic tests are test_model_registry.py,
the backends' are in tests/integration/test_backends.py.

The ids are read when the module is collected, so a scheme registered by a plugin or a protocol
module imported before collection is covered too; the last test shows it with a scheme registered
from outside the project."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import cv2
import numpy as np
import pytest
from support import PROJECT, shared_path

from repro.data.datasets import DATASETS
from repro.data.decode import decode_image
from repro.data.ilsvrc.labels import LabelIndex
from repro.detect.specs import DETECTION_PROTOCOLS, LEARNED_PROPOSALS, PROPOSAL_SETS, SELECTIVE_SEARCH
from repro.engine.crops import CROP_SCHEMES, INTERPOLATIONS, KINDS, extract_crops
from repro.engine.evaluate import EvaluationSettings, ImageSource, evaluate
from repro.engine.reductions import reductions_for
from repro.engine.store import ModelStore
from repro.models.refs import load_model, parse_ref
from repro.tables import TABLES
from repro.train.augment import patch_box
from repro.train.config import make_config
from repro.train.recipe import ENSEMBLES, RECIPES, SAMPLINGS

SIZES = ((500, 375), (375, 500), (300, 300), (1000, 200))  # landscape, portrait, square, very long
STORE_CROP = 64  # the narrowest input googlenet-paper takes


def _at(scheme_id: str, size: int | None = None):
    scheme = CROP_SCHEMES.get(scheme_id)
    return scheme if size is None else scheme.for_crop_size(size)


# ---- crop schemes: geometry -----------------------------------------------------------------------

@pytest.mark.parametrize("scheme_id", CROP_SCHEMES.ids())
@pytest.mark.parametrize("size", SIZES)
def test_boxes_lie_in_the_resized_image_in_canonical_order(scheme_id, size):
    scheme = _at(scheme_id)
    crops = scheme.boxes(*size)
    assert len(crops) == scheme.n_crops == len(scheme.keys()) == len(set(scheme.keys()))
    assert [(c.scale, c.square, c.kind, c.mirror) for c in crops] == sorted(
        scheme.keys(), key=lambda k: (k[0], k[1], KINDS.index(k[2]), k[3]))
    for crop in crops:
        width, height = crop.resized
        assert min(width, height) == crop.scale
        x0, y0, x1, y1 = crop.box
        assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height
        side = crop.scale if crop.kind == "full" else scheme.crop_size
        assert (x1 - x0, y1 - y0) == (side, side)


@pytest.mark.parametrize("scheme_id", CROP_SCHEMES.ids())
def test_crops_are_slices_of_the_resized_image_and_mirrors_their_flips(scheme_id):
    scheme = _at(scheme_id, STORE_CROP)
    image = decode_image(shared_path("ilsvrc2012-val-sample", "test_images", "ILSVRC2012_val_00000001.JPEG"))
    crops = extract_crops(image, scheme)
    assert crops.shape == (scheme.n_crops, STORE_CROP, STORE_CROP, 3) and crops.dtype == np.uint8
    height, width = image.shape[:2]
    for i, crop in enumerate(scheme.boxes(width, height)):
        resized = cv2.resize(image, crop.resized, interpolation=INTERPOLATIONS["bilinear"])
        x0, y0, x1, y1 = crop.box
        patch = resized[y0:y1, x0:x1]
        if crop.kind == "full":
            patch = cv2.resize(patch, (STORE_CROP, STORE_CROP), interpolation=INTERPOLATIONS["bilinear"])
        assert np.array_equal(crops[i], patch[:, ::-1] if crop.mirror else patch)


@pytest.mark.parametrize("scheme_id", CROP_SCHEMES.ids())
def test_subsets_and_reductions_are_consistent(scheme_id):
    scheme = _at(scheme_id)
    names = [r.name for r in reductions_for(scheme)]
    assert len(names) == len(set(names)) and f"mean-{scheme.n_crops}" in names
    for subset in scheme.subsets:
        indices = scheme.subset_indices(subset)
        assert len(indices) == subset.n_crops == len(set(indices.tolist()))
        assert f"mean-{subset.n_crops}" in names
    smaller = scheme.for_crop_size(STORE_CROP)
    assert smaller.n_crops == scheme.n_crops and smaller.crop_size == STORE_CROP
    assert [s.n_crops for s in smaller.subsets] == [s.n_crops for s in scheme.subsets]
    assert [r.name for r in reductions_for(smaller)] == names


# ---- crop schemes: a store of each ----------------------------------------------------------------

@pytest.fixture(scope="module")
def two_images(tmp_path_factory):
    """Two real photos (a landscape and a portrait one) and their index."""
    root = tmp_path_factory.mktemp("images")
    rows = []
    for name, wnid, index in (("n01440764_tench.JPEG", "n01440764", 0),
                              ("n01443537_goldfish.JPEG", "n01443537", 1)):
        source = shared_path("imagenet-samples", name)
        (root / name).write_bytes(source.read_bytes())
        rows.append((name, wnid, index))
    return ImageSource(LabelIndex.from_rows(rows), root)


@pytest.mark.parametrize("scheme_id", CROP_SCHEMES.ids())
def test_a_store_keeps_every_reduction_of_the_per_crop_probabilities(scheme_id, two_images, tmp_path):
    scheme = _at(scheme_id, STORE_CROP)
    model = load_model(parse_ref("googlenet-paper", classes=4, width=0.0625, input_size=STORE_CROP))
    settings = EvaluationSettings(batch_size=scheme.n_crops, chunk_min_images=2, per_crop=True,
                                  progress=False)
    result = evaluate(two_images, scheme, [model], tmp_path / "store", settings)
    assert result.complete and not result.failures
    store = ModelStore.open(tmp_path / "store", model.ref.name)
    assert store.spec.reductions == tuple(r.name for r in reductions_for(scheme))
    per_crop, valid = store.load("crops")
    assert per_crop.shape == (2, scheme.n_crops, 4) and valid.all()
    for reduction in reductions_for(scheme):
        stored, _ = store.load(reduction.name)
        np.testing.assert_allclose(stored, reduction.apply(per_crop), rtol=0, atol=1e-6)


# ---- training: samplings, recipes, ensemble plans --------------------------------------------------

@pytest.mark.parametrize("sampling_id", SAMPLINGS.ids())
def test_patches_of_every_sampling_respect_its_ranges(sampling_id):
    spec = SAMPLINGS.get(sampling_id)
    rng = np.random.default_rng(0)
    low, high = spec.area
    for width, height in SIZES:
        for _ in range(200):
            x0, y0, x1, y1 = patch_box(width, height, spec, rng)
            assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height
            w, h = x1 - x0, y1 - y0
            if (w, h) != (width, height):  # the whole image is the documented fallback
                assert low * 0.95 <= w * h / (width * height) <= high * 1.05


@pytest.mark.parametrize("recipe_id", RECIPES.ids())
@pytest.mark.parametrize("sampling_id", SAMPLINGS.ids())
def test_every_recipe_and_sampling_make_a_run_configuration(recipe_id, sampling_id):
    config = make_config("googlenet-paper", recipe_id, sampling_id)
    recipe = RECIPES.get(recipe_id)
    assert config.recipe == recipe and config.sampling == SAMPLINGS.get(sampling_id)
    assert recipe.sampling in SAMPLINGS and recipe.choices, "a recipe states where it fills the paper's gaps"
    record = config.as_json()
    assert "choices" not in record["recipe"]  # documentation, recorded once in the manifest
    assert config.difference(record) is None
    assert recipe.schedule.describe().startswith("SGD momentum")


@pytest.mark.parametrize("plan_id", ENSEMBLES.ids())
def test_every_ensemble_plan_names_registered_samplings_and_distinct_members(plan_id):
    plan = ENSEMBLES.get(plan_id)
    assert all(member.sampling in SAMPLINGS for member in plan.members)
    assert len({m.number for m in plan.members}) == len(plan.members)
    assert len({m.name(1.0) for m in plan.members}) == len(plan.members)
    assert len({m.data_seed for m in plan.members}) == len(plan.members)


# ---- detection, datasets, tables -------------------------------------------------------------------

@pytest.mark.parametrize("protocol_id", DETECTION_PROTOCOLS.ids())
def test_every_detection_protocol_resolves_its_proposal_sources(protocol_id):
    protocol = DETECTION_PROTOCOLS.get(protocol_id)
    for set_id in (protocol.proposals, *protocol.baseline_proposals):
        proposal_set = PROPOSAL_SETS.get(set_id)
        assert proposal_set.sources
        if proposal_set.selective_search:
            SELECTIVE_SEARCH.get(proposal_set.selective_search)
        if proposal_set.learned:
            LEARNED_PROPOSALS.get(proposal_set.learned)
    assert protocol.warp.padding(protocol.warp.reference_size) == protocol.warp.context_pixels
    assert 0 < protocol.finetune.background_iou <= protocol.finetune.positive_iou <= 1


@pytest.mark.parametrize("dataset_id", DATASETS.ids())
def test_every_dataset_says_what_is_missing_and_how_to_get_it(dataset_id, tmp_path):
    spec = DATASETS.get(dataset_id)
    assert spec.missing(tmp_path) == list(spec.layout.required())
    with pytest.raises(Exception, match=rf"dataset {dataset_id}: .* is missing"):
        spec.check(tmp_path)
    for path in spec.layout.required():  # the layout's paths are all it needs
        (tmp_path / path).mkdir(parents=True, exist_ok=True)
    spec.check(tmp_path)


@pytest.mark.parametrize("table_id", TABLES.ids())
def test_every_table_writer_declares_its_options_and_refuses_others(table_id, tmp_path):
    from repro.errors import ReproError
    from repro.tables import write_table

    writer = TABLES.get(table_id)
    assert writer.id == table_id and writer.description and "out" in writer.options + ("csv",)
    with pytest.raises(ReproError, match=r"does not take --no-such-option"):
        write_table(table_id, out=tmp_path, no_such_option=1)


# ---- the generation itself ------------------------------------------------------------------------

@pytest.mark.slow
def test_a_scheme_registered_from_outside_gets_the_generic_tests(tmp_path):
    """A plugin registers `crops-test-2` before collection; the generic tests run on it and pass."""
    (tmp_path / "extra_scheme.py").write_text(textwrap.dedent('''
        from repro.engine.crops import CROP_SCHEMES, CropScheme
        CROP_SCHEMES.register("crops-test-2", CropScheme(
            id="crops-test-2", version=1, crop_size=224, scales=(256,), squares=(1,), kinds=("center",),
            note="a two-crop scheme registered by a test plugin"))
    '''))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")]))}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "extra_scheme",
         str(Path(__file__)), "-k", "crops-test-2"],
        cwd=PROJECT, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    counts = {kind: int(n) for n, kind in re.findall(r"(\d+) (passed|skipped)", result.stdout.strip().splitlines()[-1])}
    # geometry x sizes, slices, subsets, store; the two on real images skip where ../shared/data is absent
    assert counts.get("passed", 0) + counts.get("skipped", 0) == len(SIZES) + 3, result.stdout[-2000:]
    assert counts.get("passed", 0) >= len(SIZES) + 1, result.stdout[-2000:]
    skips = [line for line in result.stdout.splitlines() if line.startswith("SKIPPED")]
    assert all("../shared/data" in line for line in skips), result.stdout[-2000:]
