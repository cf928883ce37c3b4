"""Merge shards of a probability store: copy the chunks other store directories hold (their specs
must equal this store's) and the records of the runs that computed them, and write each complete
model's manifest once (devices, backends, deviations and failures of every run kept)."""
from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from repro.engine.store import ModelStore, list_models
from repro.errors import ReproError
from repro.provenance import manifest


@dataclass(frozen=True)
class MergedModel:
    """One model of a merged store: its key and manifest record."""

    key: str
    record: dict


def _current_manifest(store: ModelStore) -> dict | None:
    """The store's manifest if it already describes exactly the chunks present (kept as written)."""
    path = store.manifest_path()
    if not path.exists():
        return None
    record = json.loads(path.read_text())
    return record if record.get("content_sha256") == store.content_sha256() else None


def copy_shards(target: Path, source: Path) -> None:
    """Copy into ``target`` the chunks of every model in ``source`` that ``target`` lacks, and the
    records of the runs of ``source``."""
    keys = list_models(source)
    if not keys:
        raise ReproError(f"{source} holds no model store to merge")
    for key in keys:
        theirs = ModelStore.open(source, key)
        ours = ModelStore.open_or_create(target, theirs.spec)  # refuses a different spec
        if not (target / "index.csv").exists():
            shutil.copyfile(source / "index.csv", target / "index.csv")
        for chunk in sorted(theirs.done_chunks() - ours.done_chunks()):
            arrays = dict(theirs.read_chunk(chunk))
            arrays.pop("rows")
            valid = arrays.pop("valid")
            ours.write_chunk(chunk, valid, arrays)
        for name, records in theirs.run_records().items():
            ours.add_runs(name, records)


def merge_stores(target: str | Path, sources: Sequence[str | Path] = ()) -> list[MergedModel]:
    """Copy the shards of ``sources`` into ``target``, then finalise every complete model (its
    manifest); an incomplete model is an error listing the missing chunks."""
    target = Path(target)
    for source in map(Path, sources):
        copy_shards(target, source)
    keys = list_models(target)
    if not keys:
        raise ReproError(f"{target} holds no model store")
    merged, incomplete = [], []
    for key in keys:
        store = ModelStore.open(target, key)
        missing = store.missing_chunks()
        if missing:
            incomplete.append(f"{key}: {len(missing)} of {store.spec.n_chunks} chunks missing "
                              f"(first {missing[0]})")
            continue
        record = _current_manifest(store) or store.write_manifest(
            manifest(merged_from=[str(s) for s in sources]))
        merged.append(MergedModel(key, record))
    if incomplete:
        raise ReproError("store incomplete; run the missing shards:\n  " + "\n  ".join(incomplete))
    return merged
