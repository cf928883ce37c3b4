"""The probability store: every forward pass computed once, kept per model, resumable and shardable.

Layout of a store directory::

    STORE/index.csv                      the dataset's canonical index (filename, wnid, class_index)
    STORE/<model key>/store.json         what the store holds (model, weights hash, crop scheme,
                                         reductions, dataset index hash, chunking); fixed at creation
    STORE/<model key>/chunks/c000012.npz images [12*chunk, 13*chunk): rows, valid, one (n, classes)
                                         float32 array per reduction
    STORE/<model key>/manifest.json      written by finalize(): provenance + sha256 of every chunk
    STORE/<model key>/locks/             one lock file per shard being written

A chunk file appears under its final name only once complete (atomic write), so a run killed at any
point (SIGKILL included) resumes by skipping the chunks present. Chunk boundaries and batches are
fixed by the spec, so a resumed, sharded or repeated run writes bit-identical chunks.
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
from repro.errors import ReproError
from repro.naming import check_safe_name
from repro.npz import read_npz

FORMAT_VERSION = 2  # 2: model width and seed recorded
_CHUNK_RE = re.compile(r"^c(\d{6})\.npz$")


@dataclass(frozen=True)
class StoreSpec:
    """What a model's store holds; a run may only add to a store whose spec equals its own."""

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
    index_sha256: str
    n_images: int
    chunk_images: int
    batch_images: int
    per_crop: bool = False
    format_version: int = FORMAT_VERSION

    def __post_init__(self) -> None:
        check_safe_name(self.model_key, "model key")

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

    @classmethod
    def open_or_create(cls, root: str | os.PathLike, spec: StoreSpec) -> ModelStore:
        """Open the store of ``spec.model_key`` under ``root``; create it if absent.

        An existing store made with a different spec (other weights, scheme version, dataset index,
        chunking) is an error naming both, never silently mixed.
        """
        store = cls(Path(root), spec)
        spec_path = store.dir / "store.json"
        if spec_path.exists():
            existing = _read_spec_json(spec_path)
            wanted = json.loads(spec.to_json())
            diffs = [k for k in sorted(set(existing) | set(wanted)) if existing.get(k) != wanted.get(k)]
            if diffs:
                detail = "; ".join(f"{k}: store has {existing.get(k)!r}, this run {wanted.get(k)!r}"
                                   for k in diffs[:4])
                raise ReproError(f"{spec_path} was made for a different run ({detail}). Use another "
                                 f"--store directory or delete {store.dir}")
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
        raw["reductions"] = tuple(raw["reductions"])
        if raw.get("format_version") != FORMAT_VERSION:
            raise ReproError(f"{spec_path} has store format {raw.get('format_version')}, this "
                             f"version reads {FORMAT_VERSION}: re-run the evaluation into a new store")
        try:
            return cls(root, StoreSpec(**raw))
        except TypeError as exc:
            raise ReproError(f"{spec_path} is malformed ({exc}); re-run the evaluation into a new "
                             f"store") from exc

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
        buffer = io.BytesIO()
        np.savez(buffer, rows=np.arange(rows.start, rows.stop, dtype=np.int64),
                 valid=np.asarray(valid, dtype=bool),
                 **{k: np.ascontiguousarray(v, dtype=np.float32) for k, v in arrays.items()})
        write_bytes(self.chunk_path(chunk), buffer.getvalue())

    def read_chunk(self, chunk: int) -> dict[str, np.ndarray]:
        """All arrays of one chunk; a damaged file is an error naming it."""
        return read_npz(self.chunk_path(chunk), "delete it and re-run the same command to recompute it")

    def load(self, reduction: str) -> tuple[np.ndarray, np.ndarray]:
        """``(probabilities (n_images, classes), valid mask)`` of one reduction, in index order."""
        if reduction not in self.spec.reductions and not (reduction == "crops" and self.spec.per_crop):
            raise ReproError(f"store {self.dir} has no reduction {reduction!r}; it has "
                             f"{', '.join(self.spec.reductions)}")
        missing = self.missing_chunks()
        if missing:
            raise ReproError(f"store {self.dir} is incomplete: {len(missing)} of {self.spec.n_chunks} "
                             f"chunks missing (first: {missing[0]}). Finish the run (re-run the same "
                             f"command, or every --shard) before reading it")
        parts = [self.read_chunk(c) for c in range(self.spec.n_chunks)]
        return (np.concatenate([p[reduction] for p in parts]),
                np.concatenate([p["valid"] for p in parts]))

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

    def manifest_path(self) -> Path:
        """Where :meth:`write_manifest` writes."""
        return self.dir / "manifest.json"

    def write_manifest(self, provenance: dict) -> dict:
        """Write the manifest of a complete store: provenance, chunk hashes, content hash, counts."""
        missing = self.missing_chunks()
        if missing:
            raise ReproError(f"store {self.dir} is incomplete ({len(missing)} chunks missing, first "
                             f"{missing[0]}); finish every shard, then `repro merge`")
        valid = np.concatenate([self.read_chunk(c)["valid"] for c in range(self.spec.n_chunks)])
        record = {"spec": json.loads(self.spec.to_json()), **provenance,
                  "n_images": self.spec.n_images, "n_evaluated": int(valid.sum()),
                  "n_missed": int((~valid).sum()), "chunk_sha256": self.chunk_hashes(),
                  "content_sha256": self.content_sha256()}
        write_text(self.manifest_path(), json.dumps(record, indent=1, sort_keys=True))
        return record


def list_models(root: str | os.PathLike) -> list[str]:
    """Model keys present in a store directory."""
    root = Path(root)
    if not root.is_dir():
        return []
    return sorted(p.parent.name for p in root.glob("*/store.json"))
