"""Bland's promote: the draft's content becomes a new production version and the draft stays.

A persona's queue is applied in groups, so promotions of one persona often come in runs. A run is
promoted in one go: each promotion still makes its own version, history row and events, exactly as
one at a time would, but the whole run is written with a few multi-row Core statements instead of
ORM flushes per promotion (the ORM's unit of work was most of a promotion's cost). A single
promotion is a run of one: there is one implementation of the rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from greenlight.bulk import RowUpdate, Writes
from greenlight.clock import new_id
from greenlight.drafts.connections import link_rows, load_versions, read_slots, remember_slots
from greenlight.errors import FencingError, NoDraftVersion
from greenlight.events import VersionPromoted
from greenlight.models import (
    OutboxEvent,
    Persona,
    PersonaVersion,
    Promotion,
    VersionResource,
    VersionStatus,
)
from greenlight.models.base import table_of
from greenlight.outbox import Pending, event_rows
from greenlight.personas.promotion import (
    PromotionRequest,
    archived_event,
    check_expected_production,
    next_promotion_time,
    promoted_event,
    promotion_row,
    with_proposal,
)
from greenlight.personas.serialize import persona_view
from greenlight.personas.service import content_of

_VERSIONS = table_of(PersonaVersion)
_PROMOTIONS = table_of(Promotion)
_OUTBOX = table_of(OutboxEvent)
_LINKS = table_of(VersionResource)
_VERSION_COLUMNS = tuple(column.key for column in _VERSIONS.columns)


def _draft_and_production(session: Session, persona: Persona) -> tuple[PersonaVersion, PersonaVersion | None]:
    """The draft to promote (NoDraftVersion without one) and the production it replaces, loaded
    with the draft's connections, which the new versions copy."""
    if persona.current_draft_version_id:
        production_id = persona.current_production_version_id
        load_versions(
            session, [production_id] if production_id else [], slots_of=persona.current_draft_version_id
        )
    draft = (
        session.get(PersonaVersion, persona.current_draft_version_id)
        if persona.current_draft_version_id
        else None
    )
    if draft is None:
        raise NoDraftVersion("No draft version to promote", {"persona_id": persona.id})
    production = (
        session.get(PersonaVersion, persona.current_production_version_id)
        if persona.current_production_version_id
        else None
    )
    return draft, production


def promote_drafts(
    session: Session, persona: Persona, requests: Sequence[PromotionRequest], writes: Writes | None = None
) -> list[dict[str, Any]]:
    """Promote the current draft once per request, in order; for each, the persona object as it
    stood right after that promotion. The persona row is locked by the caller, and its changes are
    left on the object for the caller's unit of work to write (the engine writes them with its
    revision bump). The new rows are added to `writes`, for the caller to send with its own (the
    engine's: in one round trip); without it, they are written here. A refusal raises a
    DomainError before anything is written."""
    draft, production = _draft_and_production(session, persona)
    content = content_of(draft)
    archived_at = None  # when the production version found here was archived (by the run's first)
    previous = production
    number = persona.last_version_number
    published: list[PersonaVersion] = []
    promotions: list[dict[str, Any]] = []
    events: list[Pending] = []
    answers: list[dict[str, Any]] = []
    for request in requests:
        check_expected_production(previous.id if previous else None, request)
        now = next_promotion_time(previous.promoted_at if previous else None)
        number += 1
        version = PersonaVersion(
            id=new_id(),
            persona_id=persona.id,
            version_number=number,
            status=VersionStatus.PUBLISHED.value,
            promoted_from_version_id=draft.id,
            promoted_at=now,
            promoted_by=request.actor_id,
            last_proposal_id=None,
            created_at=now,
            updated_at=now,
            **content,
        )
        if previous is production:
            archived_at = now if production is not None else None
        elif previous is not None:  # made earlier in this run: written once, archived
            previous.status = VersionStatus.ARCHIVED.value
            previous.updated_at = now
        request = with_proposal(request, draft)
        promotions.append({"id": new_id(), **promotion_row(persona, version, previous, request, now)})
        events.append((promoted_event(VersionPromoted, version, previous, request), request.operation_id))
        if previous is not None:
            events.append((archived_event(previous, request.operation_id), request.operation_id))
        # Changed on the object: the caller's revision bump writes the row (see `promote_drafts`).
        persona.current_production_version_id = version.id
        persona.updated_at = now
        answers.append(persona_view(persona, version, draft))
        published.append(version)
        previous = version
    pending = Writes() if writes is None else writes
    rows = event_rows(persona, events)
    with session.no_autoflush:  # its one read (the draft's connections) needs none of the changes
        _write(session, pending, production, archived_at, published, promotions, rows, draft.id)
    if writes is None and not pending.send(session.connection()):
        raise FencingError(f"persona {persona.id}: a version promoted or archived under the promotion")
    persona.last_version_number = number
    return answers


def _write(
    session: Session,
    writes: Writes,
    production: PersonaVersion | None,
    archived_at: datetime | None,
    published: list[PersonaVersion],
    promotions: list[dict[str, Any]],
    events: list[dict[str, Any]],
    draft_id: str,
) -> None:
    # A new version carries the draft's connections: they are its content.
    slots = read_slots(session, draft_id)
    if production is not None and archived_at is not None:
        # Before the inserts where statements run in order; where they go together, the database
        # checks "one published version per persona" at the end of the statement (a deferrable
        # constraint, migration 0006), so their order does not matter.
        values = {"status": VersionStatus.ARCHIVED.value, "updated_at": archived_at}
        writes.before.append(RowUpdate(_VERSIONS, production.id, values))
        set_committed_value(production, "status", VersionStatus.ARCHIVED.value)
        set_committed_value(production, "updated_at", archived_at)
    rows = [{column: getattr(version, column) for column in _VERSION_COLUMNS} for version in published]
    writes.inserts += [(_VERSIONS, rows), (_PROMOTIONS, promotions), (_OUTBOX, events)]
    writes.inserts.append((_LINKS, link_rows([version.id for version in published], slots)))
    for version in published:
        remember_slots(session, version.id, slots)
    # The new production version joins the session as the row now stands, so whoever reads it next
    # in this transaction (the production cache's refill, a later operation) needs no query.
    current = published[-1]
    make_transient_to_detached(current)
    session.add(current)
