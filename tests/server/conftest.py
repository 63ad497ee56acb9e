"""Fixtures: one real pedal and one real web service per test module."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from server_support import PedalProcess, ServerProcess, launch_chromium


@pytest.fixture(scope="module")
def pedal() -> Iterator[PedalProcess]:
    process = PedalProcess()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def server(pedal: PedalProcess) -> Iterator[ServerProcess]:
    process = ServerProcess(pedal.data_dir)
    yield process
    process.stop()


@pytest.fixture(scope="module")
def token(server: ServerProcess, pedal: PedalProcess) -> str:
    return server.pair(pedal.pair_code())


@pytest.fixture
def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, through playwright."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()
