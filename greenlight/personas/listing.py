"""Read-side queries for browsing: a user's personas with search, and the names behind user ids."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from greenlight.models import Persona, PersonaVersion, Promotion, User
from greenlight.tenancy import visible_to

MAX_PAGE = 100


@dataclass(frozen=True)
class PersonaRow:
    persona: Persona
    production_version: int | None
    draft_version: int | None


def list_personas(
    session: Session, workspace_id: str, search: str | None = None, *, limit: int = 50, offset: int = 0
) -> tuple[list[PersonaRow], int]:
    """The workspace's personas, most recently changed first, whose name or description contains
    ``search`` (case-insensitive); and how many match in all."""
    where = [visible_to(Persona, workspace_id)]
    text = (search or "").strip().lower()
    if text:
        where.append(
            or_(
                func.lower(Persona.name).contains(text, autoescape=True),
                func.lower(func.coalesce(Persona.description, "")).contains(text, autoescape=True),
            )
        )
    total = int(session.scalar(select(func.count()).select_from(Persona).where(*where)) or 0)
    personas = list(
        session.scalars(
            select(Persona)
            .where(*where)
            .order_by(Persona.updated_at.desc(), Persona.id)
            .limit(max(1, min(limit, MAX_PAGE)))
            .offset(max(0, offset))
        )
    )
    ids = [
        vid
        for p in personas
        for vid in (p.current_production_version_id, p.current_draft_version_id)
        if vid is not None
    ]
    numbers: dict[str, int] = {}
    if ids:
        numbers = {
            vid: number
            for vid, number in session.execute(
                select(PersonaVersion.id, PersonaVersion.version_number).where(PersonaVersion.id.in_(ids))
            )
        }
    rows = [
        PersonaRow(
            persona=p,
            production_version=numbers.get(p.current_production_version_id or ""),
            draft_version=numbers.get(p.current_draft_version_id or ""),
        )
        for p in personas
    ]
    return rows, total


def user_names(session: Session, user_ids: Iterable[str | None]) -> dict[str, str]:
    """User id -> name, for the ids that name a user."""
    ids = {uid for uid in user_ids if uid}
    if not ids:
        return {}
    return {uid: name for uid, name in session.execute(select(User.id, User.name).where(User.id.in_(ids)))}


def promoters(session: Session, persona: Persona) -> list[tuple[str, str]]:
    """(user id, name) of everyone who promoted a version of the persona, by name."""
    ids = session.scalars(select(Promotion.promoted_by).where(Promotion.persona_id == persona.id).distinct())
    names = user_names(session, ids)
    return sorted(names.items(), key=lambda item: (item[1].lower(), item[0]))


def promotion_of_operation(session: Session, persona_id: str, operation_id: str) -> Promotion | None:
    """The history row an operation wrote, if it promoted something (found by the persona's index)."""
    return session.scalar(
        select(Promotion).where(Promotion.persona_id == persona_id, Promotion.operation_id == operation_id)
    )
