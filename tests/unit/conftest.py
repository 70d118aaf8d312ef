"""The fast tier: pure rules, no services. `pytest tests/unit` starts no Redis and no database
(tests/conftest.py), and a unit test that opens a network connection fails."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest


class ServiceUsed(AssertionError):
    """A unit test reached for a service: it belongs in another tier."""


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    def refuse(self: socket.socket, address: Any) -> None:
        raise ServiceUsed(f"a unit test connected to {address!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    yield
