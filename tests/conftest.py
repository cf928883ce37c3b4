"""Shared fixtures: the path to ../shared/data, skipping with a reason when it is absent."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

import protocols  # noqa: F401  (the paper's registrations, as the CLI makes them)

PROJECT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("REPRO_SHARED_DATA", PROJECT.parent / "shared" / "data"))


def shared_path(*parts: str) -> Path:
    """A path under ../shared/data; the calling test is skipped when it does not exist."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent (the real ILSVRC material in ../shared/data is not on this "
                    f"machine; set REPRO_SHARED_DATA to its folder to run this test)")
    return path


@pytest.fixture
def shared_data():
    """Callable fixture: ``shared_data('ilsvrc2014-devkit', 'data')`` -> existing Path or skip."""
    return shared_path
