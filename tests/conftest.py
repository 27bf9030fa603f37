"""Fixtures shared by the whole test suite."""

from pathlib import Path

import numpy as np
import pytest

# Real data for tests lies beside the repository checkout, in shared/data.
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture
def rng():
    """A seeded generator, so every test gets the same random data on every run."""
    return np.random.default_rng(20261204)


@pytest.fixture(scope="session")
def shared_data():
    """The folder of real data sets; tests that need it skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} is absent (it lies beside the repository checkout)")
    return SHARED_DATA
