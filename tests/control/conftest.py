"""Fixtures: a real pedal (store, virtual Engine, controller, socket) per test."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from control_support import SECOND_PRESET, TEST_PRESET, Client, Pedal, short_tmpdir


@pytest.fixture
def data_dir() -> Iterator[Path]:
    path = short_tmpdir()
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def pedal(data_dir: Path) -> Iterator[Pedal]:
    pedal = Pedal(data_dir, presets=[TEST_PRESET, SECOND_PRESET])
    assert pedal.controller.preset_id == "test"
    yield pedal
    pedal.close()


@pytest.fixture
def connect(pedal: Pedal) -> Iterator[Callable[[], Client]]:
    clients: list[Client] = []

    def make() -> Client:
        client = Client(pedal.server.path)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()
