"""Register, get and list specs by id, with did-you-mean errors."""
from __future__ import annotations

import difflib
from typing import Callable, Generic, Iterator, TypeVar

from repro.errors import ReproError

T = TypeVar("T")


class UnknownIdError(ReproError, KeyError):
    """An id that is not registered; the message lists close matches."""

    def __str__(self) -> str:  # KeyError would quote the message
        return self.args[0]


class Registry(Generic[T]):
    """A named table of specs (models, crop schemes, datasets, ...) keyed by lowercase-dash ids."""

    def __init__(self, kind: str):
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, item_id: str, item: T) -> T:
        """Add ``item`` under ``item_id``; registering the same id twice is a programming error."""
        if item_id in self._items:
            raise ValueError(f"{self.kind} id {item_id!r} is already registered")
        self._items[item_id] = item
        return item

    def get(self, item_id: str) -> T:
        """The item registered as ``item_id``, or an error naming the closest ids."""
        try:
            return self._items[item_id]
        except KeyError:
            close = difflib.get_close_matches(item_id, self._items, n=3, cutoff=0.5)
            hint = f" Did you mean {', '.join(close)}?" if close else ""
            raise UnknownIdError(
                f"unknown {self.kind} {item_id!r}.{hint} Known: {', '.join(sorted(self._items))}."
            ) from None

    def ids(self) -> list[str]:
        """All registered ids, sorted."""
        return sorted(self._items)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.ids())


def registering(registry: Registry, item_id: str) -> Callable[[T], T]:
    """Decorator form of :meth:`Registry.register`."""
    def wrap(item: T) -> T:
        registry.register(item_id, item)
        return item
    return wrap
