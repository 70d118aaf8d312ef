"""``Client``: the entry point, with one namespace per resource."""

from __future__ import annotations

from types import TracebackType

import httpx

from greenlight_client._http import DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT, HTTP
from greenlight_client.drafts import Drafts
from greenlight_client.operations import Operations
from greenlight_client.personas import Personas
from greenlight_client.webhooks import Webhooks


class Client:
    """A synchronous client of one Greenlight server.

    ``timeout``: seconds for each HTTP request (a change that waits asks the server to hold its answer
    at most ``timeout - 5`` s per request); ``max_retries``: how many times a request is retried after
    a connection error, a timeout, a 5xx or a 429, always with the same ``Idempotency-Key``."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._http = HTTP(base_url, api_key, timeout=timeout, max_retries=max_retries, transport=transport)
        self.operations = Operations(self._http)
        self.personas = Personas(self._http, self.operations)
        self.drafts = Drafts(self._http, self.operations)
        self.webhooks = Webhooks(self._http, self.operations)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
