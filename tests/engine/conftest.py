"""Fixtures for the engine tests: one jackd (dummy driver) per test session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from engine_support import JackServer, unique_server_name


@pytest.fixture(scope="session")
def jack_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JackServer]:
    server = JackServer(unique_server_name("test"), tmp_path_factory.mktemp("jack"))
    server.start()
    try:
        yield server
    finally:
        server.stop()
