"""Shared fixtures and the test tiers: every test gets the marker of its folder (unit, integration,
faults); the paper's registrations are made as the CLI makes them."""
from __future__ import annotations

import pytest
from support import shared_path

import protocols  # noqa: F401  (the paper's registrations, as the CLI makes them)

TIERS = ("unit", "integration", "faults")


@pytest.fixture
def shared_data():
    """Callable fixture: ``shared_data('ilsvrc2014-devkit', 'data')`` -> existing Path or skip."""
    return shared_path


def pytest_collection_modifyitems(items):
    """Mark each test with its tier, the folder it lies in."""
    for item in items:
        tier = next((part for part in item.path.parts if part in TIERS), None)
        if tier:
            item.add_marker(getattr(pytest.mark, tier))
