"""Fixtures shared by the tests of every image."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sapphire_testing.servers import RunningServer, stop


@pytest.fixture
def server_processes() -> Iterator[list[RunningServer]]:
    """Servers a test starts; each is stopped when the test ends."""
    started: list[RunningServer] = []
    yield started
    for server in started:
        stop(server)
