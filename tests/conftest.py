"""Shared fixtures."""

from __future__ import annotations

import numpy as np
import pytest

SAMPLE_RATE = 48000


@pytest.fixture
def sample_rate() -> int:
    return SAMPLE_RATE


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)
