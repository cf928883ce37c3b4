"""The probability store's read path and format: per-array reads equal the whole-chunk reads they
replace, member sets read each (member, reduction) once per command and give the numbers the old
combine-then-sort path gave, damaged chunks are named, format 2 stores are refused, the spec names
every differing setting and the backend identity keeps only what changes numbers."""
from __future__ import annotations

import importlib.util
import io
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from support import PROJECT

from repro.bench.scale_store import synthetic_index, write_synthetic_store
from repro.cli import main
from repro.engine import store as store_module
from repro.engine.crops import get_scheme
from repro.engine.identity import DataRecord, backend_identity
from repro.engine.members import combine, open_members
from repro.engine.store import FORMAT_VERSION, ModelStore, StoreSpec, list_models, spec_differences
from repro.errors import ReproError
from repro.metrics.classification import label_rank, topk_correct

CLASSES, IMAGES = 12, 150
PREVIOUS_FORMAT_COMMIT = "d61aa49"  # the last commit whose store writer wrote format 2


# -- the read path as it was: whole chunks, concatenated; combine in float64; a full stable sort ----

def old_load(store: ModelStore, reduction: str) -> tuple[np.ndarray, np.ndarray]:
    parts = [store.read_chunk(c) for c in range(store.spec.n_chunks)]
    return np.concatenate([p[reduction] for p in parts]), np.concatenate([p["valid"] for p in parts])


def old_combine(stores, names) -> tuple[np.ndarray, np.ndarray]:
    total, valid = None, None
    for store, name in zip(stores, names):
        probs, ok = old_load(store, name)
        total = probs.astype(np.float64) if total is None else total + probs
        valid = ok if valid is None else valid & ok
    return (total / len(stores)).astype(np.float32), valid


def old_topk_correct(probs, labels, k, valid=None) -> np.ndarray:
    order = np.argsort(-np.nan_to_num(probs, nan=-1.0), axis=1, kind="stable")[:, :k]
    hit = (order == np.asarray(labels)[:, None]).any(axis=1)
    return hit if valid is None else hit & valid


# -- stores written by the real writer ---------------------------------------------------------------

def spec_of(member: int, index, reductions, chunk_images: int = 16, **changes) -> StoreSpec:
    fields = dict(model_key=f"m{member}", model_ref="test", model_id="test",
                  weights_sha256=f"{member:064d}", classes=CLASSES, width=1.0, seed=member,
                  scheme_id="crops-10", scheme_version=1, crop_size=224, n_crops=10,
                  reductions=reductions, interpolation="bilinear", backend="mxnet", precision="fp32",
                  exif_orientation=False, index_sha256=index.hash, n_images=len(index),
                  data=DataRecord("folder", images="images"), chunk_images=chunk_images,
                  batch_images=1)
    return StoreSpec(**{**fields, **changes})


def tied_store(root: Path, members: int = 3) -> Path:
    """Members whose probabilities are coarse (many ties), with NaN rows recorded as misses."""
    index = synthetic_index(IMAGES, CLASSES)
    index.to_csv(root / "index.csv")
    reductions = ("mean-1", "mean-10", "max-10")
    for member in range(members):
        store = ModelStore.open_or_create(root, spec_of(member, index, reductions))
        rng = np.random.default_rng(member)
        for chunk in range(store.spec.n_chunks):
            rows = len(store.spec.chunk_rows(chunk))
            valid = rng.random(rows) > 0.1
            arrays = {}
            for name in reductions:
                probs = (rng.integers(0, 4, size=(rows, CLASSES)) / 8).astype(np.float32)
                probs[~valid] = np.nan
                arrays[name] = probs
            store.write_chunk(chunk, valid, arrays)
    return root


@pytest.fixture(scope="module")
def store_144(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("store144") / "s"
    write_synthetic_store(root, 3, 100, CLASSES, get_scheme("144"), chunk_images=16)
    return root


def test_a_reduction_read_alone_equals_it_read_from_whole_chunks(store_144, tmp_path):
    tied = tied_store(tmp_path / "tied")
    for root in (store_144, tied):
        for key in list_models(root):
            store = ModelStore.open(root, key)
            assert store.spec.n_chunks > 1 and len(store.spec.chunk_rows(store.spec.n_chunks - 1)) < 16
            for reduction in store.spec.reductions:
                new, old = store.load(reduction), old_load(store, reduction)
                np.testing.assert_array_equal(new[0], old[0])  # NaN rows included
                np.testing.assert_array_equal(new[1], old[1])
                assert new[0].dtype == np.float32 and new[1].dtype == bool
            reused = np.zeros((store.spec.n_images, CLASSES), np.float32)
            assert store.load(store.spec.reductions[0], out=reused)[0] is reused
            np.testing.assert_array_equal(reused, old_load(store, store.spec.reductions[0])[0])
            with pytest.raises(ValueError, match="C-contiguous float32"):
                store.load(store.spec.reductions[0], out=np.zeros((3, CLASSES), np.float32))


def test_member_scores_and_combine_equal_the_old_combine_then_sort(tmp_path):
    members = open_members(tied_store(tmp_path / "s"))
    labels = np.asarray(members.index.class_indices)
    for rule in ("mean", "max-mean"):
        for crops in (1, 10):
            name = "mean-1" if crops == 1 else ("mean-10" if rule == "mean" else "max-10")
            for models in (1, 2, 3):
                want, valid = old_combine(members.stores[:models], [name] * models)
                got, got_valid = combine(members, crops, rule, count=models)
                np.testing.assert_array_equal(got, want)
                np.testing.assert_array_equal(got_valid, valid)
                scores = members.scores(models, crops, rule)
                for k in (1, 2, 5):
                    np.testing.assert_array_equal(scores.correct(k), old_topk_correct(want, labels, k, valid))
                assert not scores.correct(CLASSES).all()  # the misses stay wrong at every k


def test_table3_curves_and_ablation_read_each_member_reduction_once(store_144, tmp_path, monkeypatch):
    reads: dict[tuple[str, str], int] = {}
    real = store_module.read_member_into

    def counting(path, name, out, remedy):
        key = (Path(path).parent.parent.name, name)
        reads[key] = reads.get(key, 0) + 1
        return real(path, name, out, remedy)

    monkeypatch.setattr(store_module, "read_member_into", counting)
    assert main(["table", "3", "--store", str(store_144), "--out", str(tmp_path / "out")]) == 0
    spec = ModelStore.open(store_144, "synthetic-m0").spec
    # every reduction of every member is used (Table 3, both curves, the max-mean ablation) ...
    assert set(reads) == {(key, name) for key in list_models(store_144)
                          for name in (*spec.reductions, "valid")}
    # ... and read once, the validity mask too: one read per chunk
    assert set(reads.values()) == {spec.n_chunks}, reads
    reads.clear()
    assert main(["ensemble", "--store", str(store_144), "--crops", "144", "--versus-crops", "10"]) == 0
    assert reads == {(key, name): spec.n_chunks for key in list_models(store_144)
                     for name in ("mean-144", "mean-10", "valid")}


@settings(max_examples=300, deadline=None)
@given(hnp.arrays(np.float32, st.tuples(st.integers(1, 20), st.integers(1, 12)),
                  elements=st.sampled_from([0.0, -0.0, 0.25, 0.5, 1.0, np.nan])),
       st.data())
def test_label_rank_is_the_position_in_the_stable_sort(probs, data):
    labels = np.array(data.draw(st.lists(st.integers(-2, probs.shape[1] + 1), min_size=len(probs),
                                         max_size=len(probs))))
    for k in (1, 2, 5, probs.shape[1] + 3):
        np.testing.assert_array_equal(topk_correct(probs, labels, k), old_topk_correct(probs, labels, k))
    known = (labels >= 0) & (labels < probs.shape[1])
    order = np.argsort(-np.nan_to_num(probs, nan=-1.0), axis=1, kind="stable")
    position = np.array([list(row).index(label) if ok else -1 for row, label, ok in zip(order, labels, known)])
    np.testing.assert_array_equal(label_rank(probs, labels)[known], position[known])


# -- damage, format, identity --------------------------------------------------------------------------

def test_a_damaged_chunk_is_named_whether_cut_short_or_flipped(tmp_path):
    root = tied_store(tmp_path / "s", members=1)
    store = ModelStore.open(root, "m0")
    path = store.chunk_path(1)
    original = path.read_bytes()
    path.write_bytes(original[:len(original) // 2])
    with pytest.raises(ReproError, match=rf"{path} is damaged .*delete it and re-run"):
        store.load("mean-10")
    flipped = bytearray(original)
    with zipfile.ZipFile(io.BytesIO(original)) as archive:
        member = archive.getinfo("max-10.npy")
    flipped[member.header_offset + 300] ^= 0xFF  # past the zip and .npy headers: in the data
    path.write_bytes(bytes(flipped))
    with pytest.raises(ReproError, match=rf"{path} is damaged .*CRC-32"):
        store.load("max-10")


def test_the_spec_names_every_differing_setting(tmp_path):
    index = synthetic_index(IMAGES, CLASSES)
    spec = spec_of(0, index, ("mean-1",))
    ModelStore.open_or_create(tmp_path, spec)
    other = spec_of(0, index, ("mean-1",), interpolation="nearest",
                    data=DataRecord("folder", images="validation"))
    with pytest.raises(ReproError) as error:
        ModelStore.open_or_create(tmp_path, other)
    message = str(error.value)
    assert "interpolation: store has 'bilinear', this run 'nearest'" in message
    assert "data.images: store has 'images', this run 'validation'" in message
    assert len(message.splitlines()) == 1
    assert spec_differences({"a": 1}, {"a": 1}) == []


def _format2_writer():
    """The store module as it was at format 2, read from the project's history."""
    if shutil.which("git") is None or not (PROJECT / ".git").exists():
        pytest.skip("no git checkout: the format 2 writer is read from the project's history")
    shown = subprocess.run(["git", "-C", str(PROJECT), "show", f"{PREVIOUS_FORMAT_COMMIT}:repro/engine/store.py"],
                           capture_output=True, text=True)
    if shown.returncode != 0:
        pytest.skip(f"commit {PREVIOUS_FORMAT_COMMIT} is not in this checkout: {shown.stderr.strip()}")
    spec = importlib.util.spec_from_loader("store_format2", loader=None)
    module = importlib.util.module_from_spec(spec)
    sys.modules["store_format2"] = module  # dataclasses look their module up
    try:
        exec(compile(shown.stdout, "store_format2.py", "exec"), module.__dict__)
    finally:
        del sys.modules["store_format2"]
    assert module.FORMAT_VERSION == 2
    return module


def test_a_store_written_by_format_2_is_refused_saying_how_to_re_evaluate(tmp_path, capsys):
    old = _format2_writer()
    index = synthetic_index(IMAGES, CLASSES)
    index.to_csv(tmp_path / "index.csv")
    spec = old.StoreSpec(model_key="m0", model_ref="test", model_id="test", weights_sha256="0" * 64,
                         classes=CLASSES, width=1.0, seed=0, scheme_id="crops-1", scheme_version=1,
                         crop_size=224, n_crops=1, reductions=("mean-1",), index_sha256=index.hash,
                         n_images=IMAGES, chunk_images=IMAGES, batch_images=1)
    written = old.ModelStore.open_or_create(tmp_path, spec)
    written.write_chunk(0, np.ones(IMAGES, bool), {"mean-1": np.full((IMAGES, CLASSES), 0.5, np.float32)})
    written.write_manifest({})
    spec_path = tmp_path / "m0" / "store.json"
    for attempt in (lambda: ModelStore.open(tmp_path, "m0"),
                    lambda: ModelStore.open_or_create(tmp_path, spec_of(0, index, ("mean-1",)))):
        with pytest.raises(ReproError) as error:
            attempt()
        message = str(error.value)
        assert message.startswith(f"{spec_path} has store format 2; this harness reads format {FORMAT_VERSION}")
        assert "re-run `repro evaluate` with the same options into a new --store directory" in message
        assert len(message.splitlines()) == 1
    assert main(["ensemble", "--store", str(tmp_path), "--crops", "1"]) == 2
    assert "has store format 2" in capsys.readouterr().err


def _jpegs(folder: Path, seed: int, count: int = 3) -> Path:
    folder.mkdir(parents=True)
    rng = np.random.RandomState(seed)
    for i in range(count):
        assert cv2.imwrite(str(folder / f"c{i}.jpg"), rng.randint(0, 256, (40, 50, 3), dtype=np.uint8))
    return folder


def test_the_backend_identity_keeps_what_changes_numbers(tmp_path):
    assert backend_identity("mxnet", 64) == ("mxnet", "fp32")
    assert backend_identity("mxnet:micro_batch=8", 64) == ("mxnet", "fp32")
    assert backend_identity("onnxruntime:threads=1", 64) == ("onnxruntime", "fp32")
    assert backend_identity("mxnet-bf16", 64) == ("mxnet-bf16", "bf16")
    here = _jpegs(tmp_path / "here", seed=0)
    moved = shutil.copytree(here, tmp_path / "elsewhere")
    other = _jpegs(tmp_path / "other", seed=1)
    name, precision = backend_identity(f"mxnet-int8:calibration={here}", 64)
    assert precision == "int8" and str(here) not in name and "calibration_sha256=" in name
    assert "calibration_mode=naive" in name
    assert backend_identity(f"mxnet-int8:calibration={moved},calibration_mode=naive,micro_batch=4",
                            64)[0] == name
    assert backend_identity(f"mxnet-int8:calibration={other}", 64)[0] != name
    assert backend_identity(f"mxnet-int8:calibration={here},calibration_images=2", 64)[0] != name
    assert backend_identity(f"mxnet-int8:calibration={here}", 80)[0] != name  # another crop size
    with pytest.raises(ReproError, match="needs calibration images"):
        backend_identity("mxnet-int8", 64)
