"""Argparse types for every option that takes a value: numbers in their domain, paths that must exist
or be writable, non-empty text. A bad value is refused while parsing (exit status 2, one line naming
the option), before any file is read or any network is built.

Every value-taking option of every command uses one of these (or ``choices``); the CLI property test
(tests/faults/test_cli_property.py) walks the parsers and holds each option to its declared domain.
"""
from __future__ import annotations

import argparse
import math
import os
import tempfile
from pathlib import Path


class Number:
    """A number of ``kind`` (int or float) in ``[minimum, maximum]``; floats must be finite."""

    def __init__(self, kind: type, minimum: float | None = None, maximum: float | None = None,
                 above: float | None = None):
        self.kind, self.minimum, self.maximum, self.above = kind, minimum, maximum, above
        self.__name__ = self.describe()  # argparse names the type by it

    def describe(self) -> str:
        """The domain in words, e.g. 'an integer >= 1'."""
        noun = "an integer" if self.kind is int else "a number"
        bounds = [f">= {self.minimum:g}" if self.minimum is not None else "",
                  f"> {self.above:g}" if self.above is not None else "",
                  f"<= {self.maximum:g}" if self.maximum is not None else ""]
        return " ".join([noun, " and ".join(b for b in bounds if b)]).strip()

    def __call__(self, text: str):
        try:
            value = self.kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {self.describe()}") from None
        if self.kind is float and not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text!r} is not {self.describe()} (finite)")
        if ((self.minimum is not None and value < self.minimum)
                or (self.above is not None and value <= self.above)
                or (self.maximum is not None and value > self.maximum)):
            raise argparse.ArgumentTypeError(f"{text} is out of range: expected {self.describe()}")
        return value

    def __repr__(self) -> str:
        return f"Number({self.describe()})"


positive_int = Number(int, minimum=1)
non_negative_int = Number(int, minimum=0)
seed = Number(int, minimum=0, maximum=2**32 - 1)  # numpy's RandomState range
positive_float = Number(float, above=0)
non_negative_float = Number(float, minimum=0)


def int_range(minimum: int, maximum: int) -> Number:
    """An integer in ``[minimum, maximum]``."""
    return Number(int, minimum=minimum, maximum=maximum)


class PositiveIntList:
    """Comma-separated integers >= 1, e.g. ``1,8,32``."""

    __name__ = "comma-separated integers >= 1"

    def __call__(self, text: str) -> tuple[int, ...]:
        try:
            return tuple(positive_int(part) for part in text.split(","))
        except argparse.ArgumentTypeError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {self.__name__}, e.g. 1,8,32") from None


positive_int_list = PositiveIntList()


def text(value: str) -> str:
    """Any non-empty one-line text (an id, a reference, a list of keys)."""
    if not value.strip() or any(ch in value for ch in "\x00\n\r"):
        raise argparse.ArgumentTypeError(f"{value!r} is empty or not one line")
    return value


text.__name__ = "text"


def interpolation(value: str) -> str:
    """A resize interpolation of :data:`repro.engine.crops.INTERPOLATIONS` (bilinear, area, ...)."""
    from repro.engine.crops import INTERPOLATIONS  # OpenCV: imported only when a command parses

    if value not in INTERPOLATIONS:
        import difflib

        close = difflib.get_close_matches(value, INTERPOLATIONS, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise argparse.ArgumentTypeError(f"unknown interpolation {value!r}{hint}; choose one of "
                                         f"{', '.join(INTERPOLATIONS)}")
    return value


interpolation.__name__ = "interpolation"


def shard(value: str) -> tuple[int, int]:
    """``K/N`` with 1 <= K <= N: shard K of N."""
    from repro.engine.store import parse_shard
    from repro.errors import ReproError

    try:
        return parse_shard(value)
    except ReproError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


shard.__name__ = "shard K/N"


# ---- paths ------------------------------------------------------------------------------------

class PathType:
    """A path that must ``exist`` as a file or directory, or that must be ``writable`` (created
    later by the command: its nearest existing ancestor must be a directory this process can
    write into, checked by creating and removing a temporary file there)."""

    def __init__(self, kind: str):
        if kind not in ("file", "dir", "any", "output-file", "output-dir"):
            raise ValueError(kind)
        self.kind = kind
        self.__name__ = {"file": "existing file", "dir": "existing directory", "any": "path",
                         "output-file": "writable file path",
                         "output-dir": "writable directory path"}[kind]

    @property
    def must_exist(self) -> bool:
        """The path names an input that must already be there."""
        return self.kind in ("file", "dir")

    @property
    def writable(self) -> bool:
        """The path names an output the command creates."""
        return self.kind.startswith("output")

    def __call__(self, value: str) -> Path:
        text(value)
        path = Path(value)
        if self.kind == "file" and not path.is_file():
            raise argparse.ArgumentTypeError(
                f"{path} is a directory, not a file" if path.is_dir() else f"{path}: no such file")
        if self.kind == "dir" and not path.is_dir():
            raise argparse.ArgumentTypeError(
                f"{path} is a file, not a directory" if path.exists() else f"{path}: no such directory")
        if self.writable:
            _check_writable(path, directory=self.kind == "output-dir")
        return path

    def __repr__(self) -> str:
        return f"PathType({self.kind})"


def _check_writable(path: Path, directory: bool) -> None:
    if directory and path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{path} is a file, not a directory")
    if not directory and path.is_dir():
        raise argparse.ArgumentTypeError(f"{path} is a directory; name a file")
    ancestor = path if directory and path.is_dir() else path.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise argparse.ArgumentTypeError(f"cannot write {path}: {ancestor} is a file, not a directory")
    try:
        fd, probe = tempfile.mkstemp(prefix=".repro-write-check-", dir=ancestor)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise argparse.ArgumentTypeError(f"cannot write {path}: cannot create a file in {ancestor} "
                                         f"({exc.strerror or exc}); choose another place") from None


existing_file = PathType("file")
existing_dir = PathType("dir")
any_path = PathType("any")  # an input that may be absent (the command says what it does then)
output_file = PathType("output-file")
output_dir = PathType("output-dir")
