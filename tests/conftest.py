"""Shared pytest fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

# `pytest --hypothesis-profile=thorough` runs every property test with many more examples (a soak run).
settings.register_profile("thorough", max_examples=2000, deadline=None)


def find_shared_data() -> Path | None:
    """The shared real-data directory: ``$SHRIVENQUANT_DATA``, else ``shared/data`` beside the repo root."""
    candidates = []
    env = os.environ.get("SHRIVENQUANT_DATA")
    if env:
        candidates.append(Path(env))
    candidates.append(Path(__file__).resolve().parents[1].parent / "shared" / "data")
    for path in candidates:
        if path.is_dir():
            return path
    return None


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Path of the shared real-data directory; skips the test when it is absent."""
    path = find_shared_data()
    if path is None:
        pytest.skip("shared real data not found: set SHRIVENQUANT_DATA or provide ../shared/data")
    return path
