"""Merge shards of a probability store and write its manifest once every chunk is present.

Shards run on one machine into the same --store need only `repro merge --store DIR`; shards run on
other machines are copied in with --from (their specs must equal this store's, chunk by chunk).

Examples:
  repro merge --store stores/val
  repro merge --store stores/val --from /mnt/machine2/stores/val --from /mnt/machine3/stores/val
"""
from __future__ import annotations

NAME = "merge"
HELP = "merge shards (from other store directories) and finalise the store's manifests"


def configure(parser) -> None:
    parser.add_argument("--store", required=True, help="the store directory to complete")
    parser.add_argument("--from", dest="sources", action="append", default=[], metavar="DIR",
                        help="another store directory holding shards of the same run (repeatable)")


def run(args) -> int:
    import shutil
    from pathlib import Path

    from repro.engine.store import ModelStore, list_models
    from repro.errors import ReproError
    from repro.provenance import manifest

    target = Path(args.store)
    for source in map(Path, args.sources):
        keys = list_models(source)
        if not keys:
            raise ReproError(f"{source} holds no model store to merge")
        for key in keys:
            theirs = ModelStore.open(source, key)
            ours = ModelStore.open_or_create(target, theirs.spec)  # refuses a different spec
            index = source / "index.csv"
            if not (target / "index.csv").exists():
                shutil.copyfile(index, target / "index.csv")
            for chunk in sorted(theirs.done_chunks() - ours.done_chunks()):
                ours.write_chunk(chunk, **_split(theirs.read_chunk(chunk)))
    keys = list_models(target)
    if not keys:
        raise ReproError(f"{target} holds no model store")
    incomplete = []
    for key in keys:
        store = ModelStore.open(target, key)
        missing = store.missing_chunks()
        if missing:
            incomplete.append(f"{key}: {len(missing)} of {store.spec.n_chunks} chunks missing "
                              f"(first {missing[0]})")
            continue
        record = _current_manifest(store) or store.write_manifest(
            manifest(merged_from=[str(s) for s in args.sources]))
        print(f"{key}: complete, {record['n_evaluated']}/{record['n_images']} images, "
              f"content sha256 {record['content_sha256'][:16]}")
    if incomplete:
        raise ReproError("store incomplete; run the missing shards:\n  " + "\n  ".join(incomplete))
    return 0


def _current_manifest(store) -> dict | None:
    """The store's manifest if it already describes exactly the chunks present (kept as written)."""
    import json

    path = store.manifest_path()
    if not path.exists():
        return None
    record = json.loads(path.read_text())
    return record if record.get("content_sha256") == store.content_sha256() else None


def _split(arrays: dict) -> dict:
    arrays = dict(arrays)
    arrays.pop("rows")
    return {"valid": arrays.pop("valid"), "arrays": arrays}
