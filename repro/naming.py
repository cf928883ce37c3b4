"""Names that become file or directory names (store keys, member names) are checked here, once."""
from __future__ import annotations

import re

from repro.errors import ReproError

SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def check_safe_name(name: str, what: str) -> str:
    """``name`` if it is one path component of letters, digits, '.', '_', '-'; else a ReproError."""
    if not SAFE_NAME.fullmatch(name) or name in (".", ".."):
        raise ReproError(f"{what} {name!r} is not a safe directory name (letters, digits, '.', '_', "
                         f"'-'; no '/' or '..')")
    return name
