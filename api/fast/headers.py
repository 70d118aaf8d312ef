"""Reading the few headers an answer ahead of routing needs, exactly as the route would read them."""

from __future__ import annotations

from starlette.types import Scope


class RepeatedHeader(Exception):
    """A header the answer reads came twice: which one counts is the route's to decide."""


def read_headers(scope: Scope, wanted: frozenset[bytes]) -> dict[bytes, str]:
    """The wanted headers (names lower-case, as ASGI gives them), each decoded as Starlette does."""
    found: dict[bytes, str] = {}
    for name, value in scope["headers"]:
        if name in wanted:
            if name in found:
                raise RepeatedHeader(name.decode("latin-1"))
            found[name] = value.decode("latin-1")
    return found
