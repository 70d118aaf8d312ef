"""``client.drafts``: seed 002's composable drafts (``POST /persona/draft``): patch, propose, ack."""

from __future__ import annotations

from typing import Any, Literal, TypedDict, Unpack, overload

from greenlight_client._resource import Resource
from greenlight_client.models import DraftForm, DraftResult, Operation


class DraftPatch(TypedDict, total=False):
    """The fields of a draft patch: text creates a resource, ``*_id`` selects an existing one."""

    name: str
    name_id: str
    description: str
    description_id: str
    color: str
    color_id: str
    icon: str
    icon_id: str
    instructions: str
    instructions_id: str
    flag_ids: list[str]
    active: bool
    examples: list[str]
    example_ids: list[str]
    department_ids: list[str]
    departments: list[str]
    parameter_field_ids: list[str]
    parameter_fields: list[str]
    voice_ids: list[str]
    voices: list[str]
    pending_ids: list[str]


def _result(data: Any) -> DraftResult:
    return DraftResult.model_validate(data)


class Drafts(Resource):
    @overload
    def patch(
        self,
        draft_id: str | None = None,
        *,
        soft: bool = False,
        wait: Literal[True] = True,
        timeout: float | None = None,
        idempotency_key: str | None = None,
        **fields: Unpack[DraftPatch],
    ) -> DraftResult: ...
    @overload
    def patch(
        self,
        draft_id: str | None = None,
        *,
        soft: bool = False,
        wait: Literal[False],
        timeout: float | None = None,
        idempotency_key: str | None = None,
        **fields: Unpack[DraftPatch],
    ) -> Operation: ...
    def patch(
        self,
        draft_id: str | None = None,
        *,
        soft: bool = False,
        wait: bool = True,
        timeout: float | None = None,
        idempotency_key: str | None = None,
        **fields: Unpack[DraftPatch],
    ) -> DraftResult | Operation:
        """Patch draft ``draft_id`` (None creates a persona and its draft); ``soft=True`` stages a
        dormant proposal instead, to be acked with the answer's ``idempotency_key``."""
        body: dict[str, Any] = {**fields}
        if draft_id is not None:
            body["draft_id"] = draft_id
        if soft:
            body["soft"] = True
        return self._change(
            "POST",
            "/persona/draft",
            _result,
            json=body,
            idempotency_key=idempotency_key,
            wait=wait,
            timeout=timeout,
        )

    @overload
    def ack(
        self,
        idempotency_key: str,
        accept: bool,
        *,
        reason: str | None = None,
        force: bool = False,
        wait: Literal[True] = True,
        timeout: float | None = None,
    ) -> DraftResult: ...
    @overload
    def ack(
        self,
        idempotency_key: str,
        accept: bool,
        *,
        reason: str | None = None,
        force: bool = False,
        wait: Literal[False],
        timeout: float | None = None,
    ) -> Operation: ...
    def ack(
        self,
        idempotency_key: str,
        accept: bool,
        *,
        reason: str | None = None,
        force: bool = False,
        wait: bool = True,
        timeout: float | None = None,
    ) -> DraftResult | Operation:
        """Accept (promote) or reject the dormant proposal whose key is ``idempotency_key``;
        ``force`` accepts a stale proposal anyway."""
        body: dict[str, Any] = {"idempotency_key": idempotency_key, "accept": accept}
        if reason is not None:
            body["reason"] = reason
        if force:
            body["force"] = True
        return self._change(
            "POST", "/persona/draft", _result, json=body, idempotency_key=None, wait=wait, timeout=timeout
        )

    def get(self, draft_id: str) -> DraftForm:
        """The draft's complete form state."""
        return DraftForm.model_validate(self._get(f"/persona/draft/{draft_id}"))
