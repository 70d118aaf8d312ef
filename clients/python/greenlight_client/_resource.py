"""What every resource shares: the transport, unwrapping answers, and changes that wait for their outcome."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from greenlight_client._http import HTTP, SERVER_MAX_WAIT, Params
from greenlight_client.errors import APIError, WaitTimeoutError
from greenlight_client.models import Operation

if TYPE_CHECKING:
    from greenlight_client.operations import Operations

T = TypeVar("T")
DEFAULT_WAIT_TIMEOUT = 60.0
# Leave the HTTP timeout this much room above the wait the server is asked for.
WAIT_MARGIN = 5.0


def unwrap(response: httpx.Response) -> Any:
    """``data`` of the ``/v1`` envelope; other bodies (the draft API's) as they are."""
    body = response.json()
    if isinstance(body, dict) and "data" in body and "errors" in body:
        return body["data"]
    return body


class Resource:
    def __init__(self, http: HTTP, operations: Operations | None = None) -> None:
        self._http = http
        self._operations = operations

    def _get(self, path: str, params: Params | None = None) -> Any:
        return unwrap(self._http.request("GET", path, params=params))

    def _pages(self, path: str, params: Params, parse: Callable[[Any], T]) -> Iterator[T]:
        """Every item of a ``{items, next_cursor}`` list, fetching the next page when one runs out."""
        cursor: str | None = None
        while True:
            page = self._get(path, {**params, "cursor": cursor})
            yield from (parse(item) for item in page["items"])
            cursor = page.get("next_cursor")
            if not cursor:
                return

    def _change(
        self,
        method: str,
        path: str,
        parse: Callable[[Any], T],
        *,
        json: Any = None,
        idempotency_key: str | None,
        wait: bool,
        timeout: float | None,
    ) -> T | Operation:
        """A change the server applies asynchronously: its outcome (``wait``) or its operation.

        Waiting asks the server to hold the answer (``Prefer: wait=N``); if that runs out, the client
        waits on the operation, then sends the request again with the same key, which the server
        answers with the outcome (a refusal as its typed error) and does not apply twice."""
        key = idempotency_key or str(uuid.uuid4())
        if not wait:
            return self._accepted(method, path, json, key, "respond-async")
        budget = DEFAULT_WAIT_TIMEOUT if timeout is None else timeout
        deadline = time.monotonic() + budget
        finished = False
        while True:
            remaining = deadline - time.monotonic()
            server_wait = min(SERVER_MAX_WAIT, remaining, self._http.timeout - WAIT_MARGIN)
            response = self._send(method, path, json, key, f"wait={max(1, int(server_wait))}")
            if response.status_code != 202:
                return parse(unwrap(response))
            operation = Operation.model_validate(unwrap(response))
            if operation.done:  # finished meanwhile: a replay answers its outcome, once
                if finished:
                    raise APIError(f"202 for finished operation {operation.id}", status=202)
                finished = True
                continue
            if remaining <= 0:
                raise WaitTimeoutError(operation, budget)
            self._wait_for(operation, deadline, budget)

    def _wait_for(self, operation: Operation, deadline: float, budget: float) -> None:
        assert self._operations is not None, "this resource was made without client.operations"
        try:
            self._operations.wait(operation, timeout=max(deadline - time.monotonic(), 0.0))
        except WaitTimeoutError as exc:
            raise WaitTimeoutError(exc.operation, budget) from None

    def _accepted(self, method: str, path: str, json: Any, key: str, prefer: str) -> Operation:
        response = self._send(method, path, json, key, prefer)
        if response.status_code != 202:
            raise APIError(
                f"expected 202 with the operation, got {response.status_code}",
                status=response.status_code,
                request_id=response.headers.get("x-request-id"),
            )
        return Operation.model_validate(unwrap(response))

    def _send(self, method: str, path: str, json: Any, key: str, prefer: str) -> httpx.Response:
        return self._http.request(method, path, json=json, idempotency_key=key, headers={"prefer": prefer})
