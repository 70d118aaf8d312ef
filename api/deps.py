"""Request dependencies: who is calling, their idempotency key, and how long they will wait."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

from fastapi import Depends, Header, Request, Security
from fastapi.security import APIKeyHeader
from starlette.concurrency import run_in_threadpool
from starlette.types import Scope

from api.waiter import OperationWaiter
from greenlight.access import Permission
from greenlight.auth_throttle import auth_throttle
from greenlight.db import unit_of_work
from greenlight.idempotency import MAX_KEY_LENGTH
from greenlight.keys import Principal, principal_cache
from greenlight.settings import get_settings

T = TypeVar("T")

# Documented in OpenAPI; the raw key (Bland) and "Bearer <key>" (Retell) are both accepted.
api_key_header = APIKeyHeader(
    name="authorization",
    scheme_name="ApiKey",
    auto_error=False,
    description="The API key in `authorization`, raw (`authorization: gl_...`) or as `Bearer <key>`.",
)


def scope_client(scope: Scope) -> str | None:
    """The caller's address as the server reports it (behind a proxy: set FORWARDED_ALLOW_IPS);
    read from the ASGI scope, so the middlewares that answer ahead of routing read it the same way."""
    client = scope.get("client")
    return str(client[0]) if client else None


def client_address(request: Request) -> str | None:
    return scope_client(request.scope)


def remembered_principal(authorization: str | None, address: str | None) -> Principal | None:
    """The principal of a key this process checked since the last revocation (no database, Redis or
    thread hop), unless this process has refused the caller's address for too many failures."""
    principal = principal_cache().known(authorization)
    if principal is None or auth_throttle().refuses_address(address):
        return None
    return principal


def known_principal(
    authorization: str | None, address: str | None, permission: Permission
) -> Principal | None:
    """A remembered principal that has ``permission``: for the answers given ahead of routing, which
    leave every other case (a refusal included) to the route."""
    principal = remembered_principal(authorization, address)
    return principal if principal is not None and principal.may(permission) else None


def _authenticate(authorization: str | None, address: str | None) -> Principal:
    def check() -> Principal:
        with unit_of_work() as session:
            return principal_cache().authenticate(session, authorization)

    # Refused (429) while the address or the key's prefix has too many recent failures; a failure counts.
    return auth_throttle().guard("api", address, authorization, check)


async def current_principal(
    request: Request, authorization: str | None = Security(api_key_header)
) -> Principal:
    address = client_address(request)
    principal = remembered_principal(authorization, address)
    if principal is None:
        principal = await run_in_threadpool(_authenticate, authorization, address)
    return principal


def requires(permission: Permission) -> Callable[..., Awaitable[Principal]]:
    """The caller, once their role allows ``permission`` (else 403 ``FORBIDDEN``, nothing changed)."""

    async def permitted(principal: Principal = Depends(current_principal)) -> Principal:
        principal.require(permission)
        return principal

    permitted.__name__ = f"requires_{permission}"
    return permitted


# What each route needs, named for the role that first has it (greenlight/access.py).
Reader = Annotated[Principal, Depends(requires(Permission.READ))]
Proposer = Annotated[Principal, Depends(requires(Permission.PROPOSE))]
Editor = Annotated[Principal, Depends(requires(Permission.EDIT))]
Reviewer = Annotated[Principal, Depends(requires(Permission.REVIEW))]
Publisher = Annotated[Principal, Depends(requires(Permission.PUBLISH))]
Admin = Annotated[Principal, Depends(requires(Permission.ADMINISTER))]
# What greenlight/idempotency.py accepts once HTTP has stripped a header value's surrounding spaces.
KEY_PATTERN = "^[^\\x00-\\x20\\x7f]([^\\x00-\\x1f\\x7f]*[^\\x00-\\x20\\x7f])?$"
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Same key, same request: one effect, the same answer. "
        f"1 to {MAX_KEY_LENGTH} characters, no control characters (else 400 INVALID_IDEMPOTENCY_KEY); "
        "spaces at either end are not part of a header's value.",
        # Documented, not enforced here: greenlight/idempotency.py refuses with its own 400.
        json_schema_extra={"minLength": 1, "maxLength": MAX_KEY_LENGTH, "pattern": KEY_PATTERN},
    ),
]
IfMatch = Annotated[
    str | None,
    Header(alias="If-Match", description="The production ETag you expect to replace; 409 if it moved."),
]
PreferHeader = Annotated[
    str | None,
    Header(alias="Prefer", description="`respond-async` for a 202 at once, or `wait=N` (seconds, up to 30)."),
]


def wait_seconds(prefer: str | None, default: float) -> float:
    """RFC 7240: ``respond-async`` means do not wait; ``wait=N`` caps the wait."""
    limit = get_settings().max_wait_seconds
    if not prefer:
        return min(default, limit)
    wait = default
    for token in prefer.split(","):
        name, _, value = token.strip().partition("=")
        name = name.strip().lower()
        if name == "respond-async":
            wait = 0.0
        elif name == "wait":
            try:
                wait = max(0.0, float(value.strip().strip('"')))
            except ValueError:
                continue
    return min(wait, limit)


async def get_waiter(request: Request) -> OperationWaiter:  # async: no thread-pool hop
    waiter: OperationWaiter = request.app.state.waiter
    return waiter


Waiter = Annotated[OperationWaiter, Depends(get_waiter)]


async def in_transaction(work: Callable[..., T], *args: object) -> T:
    """Run a synchronous domain call in its own unit of work, off the event loop."""

    def run() -> T:
        with unit_of_work() as session:
            return work(session, *args)

    return await run_in_threadpool(run)
