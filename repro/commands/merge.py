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
    from repro.commands._types import existing_dir

    parser.add_argument("--store", required=True, type=existing_dir, help="the store directory to complete")
    parser.add_argument("--from", dest="sources", type=existing_dir, action="append", default=[], metavar="DIR",
                        help="another store directory holding shards of the same run (repeatable)")


def run(args) -> int:
    from repro.engine.merge import merge_stores

    for model in merge_stores(args.store, args.sources):
        record = model.record
        print(f"{model.key}: complete, {record['n_evaluated']}/{record['n_images']} images, "
              f"content sha256 {record['content_sha256'][:16]}")
    return 0
