"""The probability store: every forward pass computed once, kept per model, resumable and shardable.

Layout of a store directory::

    STORE/index.csv                      the dataset's canonical index (filename, wnid, class_index)
    STORE/<model key>/store.json         the spec: everything that changes a stored probability
                                         (model, weights hash, crop scheme, interpolation, backend
                                         and precision, decoding, the data's identity, chunking);
                                         fixed at creation
    STORE/<model key>/chunks/c000012.npz images [12*chunk, 13*chunk): rows, valid, one (n, classes)
                                         float32 array per reduction (uncompressed .npz)
    STORE/<model key>/runs/shard-K-of-N.json  provenance of every run of shard K/N that computed
                                         chunks (device, backend as given, times, failures)
    STORE/<model key>/manifest.json      written once complete: the runs' provenance combined,
                                         counts, sha256 of every chunk
    STORE/<model key>/locks/             one lock file per shard being written

A chunk file appears under its final name only once complete (atomic write), so a run killed at any
point (SIGKILL included) resumes by skipping the chunks present. Chunk boundaries and batches are
fixed by the spec, so a resumed, sharded or repeated run writes bit-identical chunks.

Reading costs what it must: :meth:`ModelStore.load` reads one reduction, straight from each chunk
file into one preallocated array (the chunk's other reductions are not read).
"""
from __future__ import annotations

import fcntl
import hashlib
import io
import json
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from repro.atomic import write_bytes, write_text
from repro.engine.chunk_reader import read_member_into
from repro.engine.identity import DataRecord
from repro.errors import ReproError
from repro.naming import check_safe_name
from repro.npz import read_npz

FORMAT_VERSION = 3  # 3: interpolation, backend and precision, decoding and the data's identity
_CHUNK_RE = re.compile(r"^c(\d{6})\.npz$")
_RUN_RE = re.compile(r"^shard-\d+-of-\d+\.json$")
_REMEDY = "delete it and re-run the same command to recompute it"


@dataclass(frozen=True)
class StoreSpec:
    """What a model's store holds; a run may only add to a store whose spec equals its own.

    Everything that changes a stored probability is here (see :mod:`repro.engine.identity` for the
    backend, decoding and data fields); nothing that only changes how fast it is computed.
    """

    model_key: str
    model_ref: str
    model_id: str
    weights_sha256: str
    classes: int
    width: float
    seed: int
    scheme_id: str
    scheme_version: int
    crop_size: int
    n_crops: int
    reductions: tuple[str, ...]
    interpolation: str
    backend: str  # canonical: id and the options that change numbers (identity.backend_identity)
    precision: str
    exif_orientation: bool
    index_sha256: str
    n_images: int
    data: DataRecord
    chunk_images: int
    batch_images: int
    per_crop: bool = False
    format_version: int = FORMAT_VERSION

    def __post_init__(self) -> None:
        check_safe_name(self.model_key, "model key")
        object.__setattr__(self, "reductions", tuple(self.reductions))
        if isinstance(self.data, dict):
            object.__setattr__(self, "data", DataRecord(**self.data))

    @property
    def n_chunks(self) -> int:
        """Number of chunks covering the dataset."""
        return -(-self.n_images // self.chunk_images)

    def chunk_rows(self, chunk: int) -> range:
        """Dataset rows (positions in the canonical index) of ``chunk``."""
        return range(chunk * self.chunk_images, min((chunk + 1) * self.chunk_images, self.n_images))

    def to_json(self) -> str:
        """Canonical JSON (sorted keys) of the spec."""
        return json.dumps(asdict(self), sort_keys=True, indent=1)


def _flat(record: dict, prefix: str = "") -> dict:
    """``{"data": {"images": ...}}`` -> ``{"data.images": ...}``."""
    flat = {}
    for key, value in record.items():
        if isinstance(value, dict):
            flat.update(_flat(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def spec_differences(existing: dict, wanted: dict) -> list[str]:
    """``"interpolation: store has 'bilinear', this run 'nearest'"`` for every differing setting."""
    old, new = _flat(existing), _flat(wanted)
    return [f"{key}: store has {old.get(key)!r}, this run {new.get(key)!r}"
            for key in sorted(set(old) | set(new)) if old.get(key) != new.get(key)]


def check_format(raw: dict, spec_path: Path) -> None:
    """Refuse a store of another format version, saying how to re-evaluate."""
    found = raw.get("format_version")
    if found != FORMAT_VERSION:
        raise ReproError(f"{spec_path} has store format {found}; this harness reads format "
                         f"{FORMAT_VERSION} (format 3 records the interpolation, backend, decoding "
                         f"and data identity): re-run `repro evaluate` with the same options into a "
                         f"new --store directory, or delete {spec_path.parent} and re-run it there")


def parse_shard(text: str) -> tuple[int, int]:
    """``"K/N"`` -> (K, N), 1 <= K <= N."""
    match = re.fullmatch(r"(\d+)/(\d+)", text.strip())
    if not match or not 1 <= int(match[1]) <= int(match[2]):
        raise ReproError(f"--shard {text!r}: expected K/N with 1 <= K <= N, e.g. 2/4")
    return int(match[1]), int(match[2])


def shard_chunks(n_chunks: int, shard: tuple[int, int]) -> list[int]:
    """Chunks of shard K/N: every N-th chunk starting at K-1 (interleaved, so shards finish together)."""
    k, n = shard
    return list(range(k - 1, n_chunks, n))


class ShardLock:
    """An exclusive, non-blocking lock on one shard of one model's store (released on exit or death)."""

    def __init__(self, path: Path):
        self.path = path
        self._handle = None

    def __enter__(self) -> ShardLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            owner = handle.read().strip() or "another process"
            handle.close()
            raise ReproError(f"{self.path}: this shard is being written by {owner}; run a different "
                             f"--shard, or wait for that run to end") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        self._handle = handle
        return self

    def __exit__(self, *exc) -> None:
        fcntl.flock(self._handle, fcntl.LOCK_UN)
        self._handle.close()


def _read_spec_json(spec_path: Path) -> dict:
    """A store.json as a dict; a damaged one is a ReproError naming it."""
    try:
        raw = json.loads(spec_path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReproError(f"{spec_path} is damaged ({exc}); delete {spec_path.parent} and re-run the "
                         f"evaluation into the store") from exc
    if not isinstance(raw, dict):
        raise ReproError(f"{spec_path} is damaged (not a JSON object); delete {spec_path.parent} and "
                         f"re-run the evaluation into the store")
    return raw


class ModelStore:
    """One model's results in a store directory."""

    def __init__(self, root: Path, spec: StoreSpec):
        self.root, self.spec = Path(root), spec
        self.dir = self.root / spec.model_key
        self._valid: np.ndarray | None = None  # the validity mask, read once (load_valid)

    @classmethod
    def open_or_create(cls, root: str | os.PathLike, spec: StoreSpec) -> ModelStore:
        """Open the store of ``spec.model_key`` under ``root``; create it if absent.

        An existing store made with a different spec (other weights, scheme version, interpolation,
        backend, data, chunking) is an error naming every differing setting, never silently mixed.
        """
        store = cls(Path(root), spec)
        spec_path = store.dir / "store.json"
        if spec_path.exists():
            existing = _read_spec_json(spec_path)
            check_format(existing, spec_path)
            diffs = spec_differences(existing, json.loads(spec.to_json()))
            if diffs:
                raise ReproError(f"{spec_path} was made for a different run ({'; '.join(diffs)}). "
                                 f"Re-run with the store's settings, or use another --store "
                                 f"directory, or delete {store.dir}")
        else:
            write_text(spec_path, spec.to_json())
        (store.dir / "chunks").mkdir(parents=True, exist_ok=True)
        return store

    @classmethod
    def open(cls, root: str | os.PathLike, model_key: str) -> ModelStore:
        """Open an existing model store (for reading); lists the keys present when it is absent."""
        root = Path(root)
        spec_path = root / model_key / "store.json"
        if not spec_path.exists():
            present = list_models(root)
            raise ReproError(f"no model {model_key!r} in store {root}; it holds: "
                             f"{', '.join(present) or 'nothing'}")
        raw = _read_spec_json(spec_path)
        check_format(raw, spec_path)
        try:
            return cls(root, StoreSpec(**raw))
        except TypeError as exc:
            raise ReproError(f"{spec_path} is malformed ({exc}); re-run the evaluation into a new "
                             f"store") from exc

    # -- chunks ------------------------------------------------------------------------------------

    def chunk_path(self, chunk: int) -> Path:
        """File of ``chunk`` (present only when complete)."""
        return self.dir / "chunks" / f"c{chunk:06d}.npz"

    def done_chunks(self) -> set[int]:
        """Chunks already written."""
        found = (_CHUNK_RE.match(p.name) for p in (self.dir / "chunks").iterdir())
        return {int(m[1]) for m in found if m}

    def missing_chunks(self) -> list[int]:
        """Chunks still to compute, ascending."""
        done = self.done_chunks()
        return [c for c in range(self.spec.n_chunks) if c not in done]

    def lock(self, shard: tuple[int, int]) -> ShardLock:
        """The lock a writer of ``shard`` must hold."""
        return ShardLock(self.dir / "locks" / f"shard-{shard[0]}-of-{shard[1]}.lock")

    def write_chunk(self, chunk: int, valid: np.ndarray, arrays: dict[str, np.ndarray]) -> None:
        """Atomically write one complete chunk: the validity mask and every reduction."""
        rows = self.spec.chunk_rows(chunk)
        expected = set(self.spec.reductions) | ({"crops"} if self.spec.per_crop else set())
        if set(arrays) != expected:
            raise ValueError(f"chunk {chunk}: reductions {sorted(arrays)} != {sorted(expected)}")
        self._valid = None
        buffer = io.BytesIO()
        np.savez(buffer, rows=np.arange(rows.start, rows.stop, dtype=np.int64),
                 valid=np.asarray(valid, dtype=bool),
                 **{k: np.ascontiguousarray(v, dtype=np.float32) for k, v in arrays.items()})
        write_bytes(self.chunk_path(chunk), buffer.getvalue())

    def read_chunk(self, chunk: int) -> dict[str, np.ndarray]:
        """All arrays of one chunk; a damaged file is an error naming it."""
        return read_npz(self.chunk_path(chunk), _REMEDY)

    def _check_readable(self, reduction: str) -> None:
        if reduction not in self.spec.reductions and not (reduction == "crops" and self.spec.per_crop):
            raise ReproError(f"store {self.dir} has no reduction {reduction!r}; it has "
                             f"{', '.join(self.spec.reductions)}")
        missing = self.missing_chunks()
        if missing:
            raise ReproError(f"store {self.dir} is incomplete: {len(missing)} of {self.spec.n_chunks} "
                             f"chunks missing (first: {missing[0]}). Finish the run (re-run the same "
                             f"command, or every --shard) before reading it")

    def load_valid(self) -> np.ndarray:
        """The validity mask (n_images,) of a complete store, in index order (read once, then kept
        until this object writes a chunk)."""
        self._check_readable(self.spec.reductions[0])
        if self._valid is None:
            valid = np.empty(self.spec.n_images, dtype=bool)
            for chunk in range(self.spec.n_chunks):
                rows = self.spec.chunk_rows(chunk)
                read_member_into(self.chunk_path(chunk), "valid", valid[rows.start:rows.stop], _REMEDY)
            self._valid = valid
        return self._valid.copy()

    def load(self, reduction: str, out: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(probabilities (n_images, classes), valid mask)`` of one reduction, in index order.

        Only that reduction is read from each chunk, straight into the result (or into ``out``, a
        float32 (n_images, classes) array to reuse); the mask is read once per store object.
        """
        self._check_readable(reduction)
        spec = self.spec
        shape = (spec.n_images, spec.n_crops, spec.classes) if reduction == "crops" else \
            (spec.n_images, spec.classes)
        if out is None:
            out = np.empty(shape, dtype=np.float32)
        elif out.shape != shape or out.dtype != np.float32 or not out.flags.c_contiguous:
            raise ValueError(f"out must be a C-contiguous float32 {shape} array")
        for chunk in range(spec.n_chunks):
            rows = spec.chunk_rows(chunk)
            read_member_into(self.chunk_path(chunk), reduction, out[rows.start:rows.stop], _REMEDY)
        return out, self.load_valid()

    def chunk_hashes(self) -> list[str]:
        """sha256 of every chunk file, in chunk order."""
        return [hashlib.sha256(self.chunk_path(c).read_bytes()).hexdigest()
                for c in range(self.spec.n_chunks)]

    def content_sha256(self) -> str:
        """One hash of the whole store content (spec + chunk hashes): equal stores, equal hash."""
        digest = hashlib.sha256(self.spec.to_json().encode())
        for chunk_hash in self.chunk_hashes():
            digest.update(chunk_hash.encode())
        return digest.hexdigest()

    # -- provenance --------------------------------------------------------------------------------

    def run_path(self, shard: tuple[int, int]) -> Path:
        """Where the provenance of the runs of ``shard`` is kept."""
        return self.dir / "runs" / f"shard-{shard[0]}-of-{shard[1]}.json"

    def add_runs(self, name: str, records: list[dict]) -> None:
        """Append run ``records`` to the run file ``name`` (``shard-K-of-N.json``); a record
        already there is not added twice. The caller holds that shard's lock."""
        path = self.dir / "runs" / name
        kept = self._read_runs(path) if path.exists() else []
        kept += [record for record in records if record not in kept]
        write_text(path, json.dumps(kept, indent=1, sort_keys=True))

    def run_records(self) -> dict[str, list[dict]]:
        """The provenance of every run that computed chunks, by run file (one per shard)."""
        folder = self.dir / "runs"
        if not folder.is_dir():
            return {}
        return {path.name: self._read_runs(path) for path in sorted(folder.iterdir())
                if _RUN_RE.match(path.name)}

    @staticmethod
    def _read_runs(path: Path) -> list[dict]:
        try:
            records = json.loads(path.read_text())
        except ValueError as exc:
            raise ReproError(f"{path} is not readable JSON ({exc}); delete it (it is provenance "
                             f"only) and re-run `repro merge`") from exc
        if not isinstance(records, list):
            raise ReproError(f"{path} is not a list of run records; delete it (it is provenance "
                             f"only) and re-run `repro merge`")
        return records

    def manifest_path(self) -> Path:
        """Where :meth:`write_manifest` writes."""
        return self.dir / "manifest.json"

    def write_manifest(self, provenance: dict) -> dict:
        """Write the manifest of a complete store: ``provenance`` (versions, commit, time of this
        step), the settings of its spec, its runs combined (devices, backends as given, deviations,
        times; the failures of the images it holds as missed), counts and chunk hashes."""
        missing = self.missing_chunks()
        if missing:
            raise ReproError(f"store {self.dir} is incomplete ({len(missing)} chunks missing, first "
                             f"{missing[0]}); finish every shard, then `repro merge`")
        valid = self.load_valid()
        runs = [run for records in self.run_records().values() for run in records]
        missed = {self._filenames()[row] for row in np.flatnonzero(~valid)}
        spec = self.spec
        record = {"spec": json.loads(spec.to_json()), **combined_runs(runs, missed),
                  "backend": spec.backend, "precision": spec.precision,
                  "interpolation": spec.interpolation, "exif_orientation": spec.exif_orientation,
                  "seed": spec.seed, **provenance, "n_runs": len(runs),
                  "n_images": spec.n_images, "n_evaluated": int(valid.sum()),
                  "n_missed": int((~valid).sum()), "chunk_sha256": self.chunk_hashes(),
                  "content_sha256": self.content_sha256()}
        write_text(self.manifest_path(), json.dumps(record, indent=1, sort_keys=True))
        return record

    def _filenames(self) -> tuple[str, ...]:
        from repro.data.ilsvrc.labels import LabelIndex

        index = LabelIndex.from_csv(self.root / "index.csv")
        if index.hash != self.spec.index_sha256:
            raise ReproError(f"{self.root / 'index.csv'} is not the index of store {self.dir} "
                             f"(sha256 {index.hash[:12]} vs {self.spec.index_sha256[:12]})")
        return index.filenames


def combined_runs(runs: list[dict], missed: set[str]) -> dict:
    """The manifest fields of a store computed by ``runs`` (run records): every device and backend
    text used, the model's and scheme's deviations, the failures of the ``missed`` images (a
    failure since fixed and recomputed is not one), the times of the latest run and of all."""
    if not runs:
        return {"failures": {}}
    runs = sorted(runs, key=lambda run: run.get("created_utc", ""))
    latest = runs[-1]
    failures = {name: error for run in runs for name, error in run.get("failures", {}).items()
                if name in missed}
    return {"device": sorted({device for run in runs for device in run.get("device", [])}),
            "backend_given": sorted({run["backend_given"] for run in runs if "backend_given" in run}),
            "model_deviations": latest.get("model_deviations", []),
            "scheme_note": latest.get("scheme_note", ""),
            "scheme_deviation": latest.get("scheme_deviation", ""),
            "failures": dict(sorted(failures.items())),
            "wall_seconds_last_run": latest.get("wall_seconds"),
            "forward_seconds_last_run": latest.get("forward_seconds"),
            "wall_seconds_all_runs": round(sum(run.get("wall_seconds", 0.0) for run in runs), 3)}


def list_models(root: str | os.PathLike) -> list[str]:
    """Model keys present in a store directory."""
    root = Path(root)
    if not root.is_dir():
        return []
    return sorted(p.parent.name for p in root.glob("*/store.json"))
