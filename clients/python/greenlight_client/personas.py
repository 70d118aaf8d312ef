"""``client.personas``: create, read, edit, promote, publish, roll back; history, production, diff."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any, Literal, TypedDict, Unpack, overload

from greenlight_client._resource import Resource, unwrap
from greenlight_client.models import Diff, Operation, Persona, Production, Promotion, Version


class VersionFields(TypedDict, total=False):
    """The fields of a version a draft edit may set."""

    orchestration_prompt: str | None
    personality_prompt: str | None
    pathway_conditions: Any
    kb_ids: list[str]
    call_config: dict[str, Any] | None
    default_tools: list[Any]
    version_description: str | None


class PersonaFields(VersionFields, total=False):
    """A persona's own fields (and, on an edit, its version's)."""

    role: str | None
    description: str | None
    tags: list[str]
    image_url: str | None


class DraftFields(PersonaFields, total=False):
    name: str


def _persona(data: Any) -> Persona:
    return Persona.model_validate(data)


def _version(data: Any) -> Version:
    return Version.model_validate(data)


def _promotion_body(notes: str | None, expected_production_version_id: str | None) -> dict[str, str] | None:
    body = {"notes": notes, "expected_production_version_id": expected_production_version_id}
    sent = {name: value for name, value in body.items() if value is not None}
    return sent or None


class Personas(Resource):
    def create(
        self, name: str, *, idempotency_key: str | None = None, **fields: Unpack[PersonaFields]
    ) -> Persona:
        """A new persona with its first draft (applied within the request)."""
        body = {"name": name, **fields}
        response = self._http.request("POST", "/v1/personas", json=body, idempotency_key=idempotency_key)
        return _persona(unwrap(response))

    def get(self, persona_id: str) -> Persona:
        return _persona(self._get(f"/v1/personas/{persona_id}"))

    def versions(self, persona_id: str) -> list[Version]:
        """Every version, oldest first."""
        return [_version(item) for item in self._get(f"/v1/personas/{persona_id}/versions")]

    def version(self, persona_id: str, number: int) -> Version:
        return _version(self._get(f"/v1/personas/{persona_id}/versions/{number}"))

    @overload
    def update_draft(
        self,
        persona_id: str,
        *,
        wait: Literal[True] = True,
        timeout: float | None = None,
        idempotency_key: str | None = None,
        **fields: Unpack[DraftFields],
    ) -> Persona: ...
    @overload
    def update_draft(
        self,
        persona_id: str,
        *,
        wait: Literal[False],
        timeout: float | None = None,
        idempotency_key: str | None = None,
        **fields: Unpack[DraftFields],
    ) -> Operation: ...
    def update_draft(
        self,
        persona_id: str,
        *,
        wait: bool = True,
        timeout: float | None = None,
        idempotency_key: str | None = None,
        **fields: Unpack[DraftFields],
    ) -> Persona | Operation:
        """Edit the draft (made from production if there is none); only the fields given change."""
        path = f"/v1/personas/{persona_id}/draft"
        return self._change(
            "PATCH", path, _persona, json=fields, idempotency_key=idempotency_key, wait=wait, timeout=timeout
        )

    @overload
    def promote(
        self,
        persona_id: str,
        *,
        notes: str | None = None,
        expected_production_version_id: str | None = None,
        wait: Literal[True] = True,
        timeout: float | None = None,
        idempotency_key: str | None = None,
    ) -> Persona: ...
    @overload
    def promote(
        self,
        persona_id: str,
        *,
        notes: str | None = None,
        expected_production_version_id: str | None = None,
        wait: Literal[False],
        timeout: float | None = None,
        idempotency_key: str | None = None,
    ) -> Operation: ...
    def promote(
        self,
        persona_id: str,
        *,
        notes: str | None = None,
        expected_production_version_id: str | None = None,
        wait: bool = True,
        timeout: float | None = None,
        idempotency_key: str | None = None,
    ) -> Persona | Operation:
        """The draft's content becomes a new production version (Bland's promote).

        ``expected_production_version_id``: compare-and-swap, :class:`ConflictError` if production moved."""
        body = _promotion_body(notes, expected_production_version_id)
        path = f"/v1/personas/{persona_id}/versions/promote"
        return self._change(
            "POST", path, _persona, json=body, idempotency_key=idempotency_key, wait=wait, timeout=timeout
        )

    @overload
    def publish(
        self,
        persona_id: str,
        number: int,
        *,
        notes: str | None = None,
        expected_production_version_id: str | None = None,
        wait: Literal[True] = True,
        timeout: float | None = None,
        idempotency_key: str | None = None,
    ) -> Persona: ...
    @overload
    def publish(
        self,
        persona_id: str,
        number: int,
        *,
        notes: str | None = None,
        expected_production_version_id: str | None = None,
        wait: Literal[False],
        timeout: float | None = None,
        idempotency_key: str | None = None,
    ) -> Operation: ...
    def publish(
        self,
        persona_id: str,
        number: int,
        *,
        notes: str | None = None,
        expected_production_version_id: str | None = None,
        wait: bool = True,
        timeout: float | None = None,
        idempotency_key: str | None = None,
    ) -> Persona | Operation:
        """Publish draft version ``number`` in place (the guide's promote)."""
        body = _promotion_body(notes, expected_production_version_id)
        path = f"/v1/personas/{persona_id}/versions/{number}/publish"
        return self._change(
            "POST", path, _persona, json=body, idempotency_key=idempotency_key, wait=wait, timeout=timeout
        )

    @overload
    def unarchive(
        self,
        persona_id: str,
        number: int,
        *,
        wait: Literal[True] = True,
        timeout: float | None = None,
        idempotency_key: str | None = None,
    ) -> Version: ...
    @overload
    def unarchive(
        self,
        persona_id: str,
        number: int,
        *,
        wait: Literal[False],
        timeout: float | None = None,
        idempotency_key: str | None = None,
    ) -> Operation: ...
    def unarchive(
        self,
        persona_id: str,
        number: int,
        *,
        wait: bool = True,
        timeout: float | None = None,
        idempotency_key: str | None = None,
    ) -> Version | Operation:
        """Return archived version ``number`` to draft; a rollback is unarchive, then publish."""
        path = f"/v1/personas/{persona_id}/versions/{number}/unarchive"
        return self._change(
            "POST", path, _version, idempotency_key=idempotency_key, wait=wait, timeout=timeout
        )

    def history(
        self,
        persona_id: str,
        *,
        promoted_by: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        page_size: int = 50,
    ) -> Iterator[Promotion]:
        """Every promotion, newest first, fetching page after page as the iteration goes."""
        params = {
            "promoted_by": promoted_by,
            "from": since.isoformat() if since else None,
            "to": until.isoformat() if until else None,
            "limit": page_size,
        }
        return self._pages(f"/v1/personas/{persona_id}/promotions", params, Promotion.model_validate)

    def production(self, persona_id: str, *, at: datetime | None = None) -> Production:
        """What agents run; ``at``: what was in production at that instant."""
        params = {"at": at.isoformat()} if at else None
        response = self._http.request("GET", f"/v1/personas/{persona_id}/production", params=params)
        production = Production.model_validate(unwrap(response))
        production.etag = response.headers.get("etag")
        return production

    def diff(self, persona_id: str, a: int, b: int) -> Diff:
        """Field-by-field difference between versions ``a`` and ``b``."""
        return Diff.model_validate(self._get(f"/v1/personas/{persona_id}/versions/{a}/diff/{b}"))
