"""Data for the bench: a user and key, personas made the API's way, and long histories made fast.

Long histories are written with SQLAlchemy Core bulk inserts (COPY on PostgreSQL for the largest),
consistent with what promotions would have left: versions numbered 1..N, exactly one published,
the rest archived, one promotion row per publication in time order.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import islice
from typing import Any

import sqlalchemy as sa

from greenlight import kinds
from greenlight.clock import new_id, utcnow
from greenlight.db import get_engine, unit_of_work
from greenlight.keys import Principal, authenticate, create_key
from greenlight.models import Base, Promotion, VersionStatus
from greenlight.operations.engine import submit_inline
from greenlight.operations.submit import Submission
from greenlight.personas.history import _encode_cursor

CHUNK = 5_000
PERSONAS, VERSIONS, PROMOTIONS = (
    Base.metadata.tables[name] for name in ("personas", "persona_versions", "promotions")
)
PROMOTION_COLUMNS = (
    "id", "persona_id", "workspace_id", "user_id", "version_id", "version_number", "previous_version_id",
    "previous_version_number", "promoted_by", "promoted_at",
)  # fmt: skip


@dataclass(frozen=True)
class User:
    principal: Principal
    key: str

    @property
    def id(self) -> str:
        return self.principal.user_id


def make_user(name: str) -> User:
    with unit_of_work() as session:
        _, raw = create_key(session, name)
    with unit_of_work() as session:
        principal = authenticate(session, raw)
    return User(principal, raw)


def make_personas(user: User, count: int, prefix: str) -> list[str]:
    """Personas created as POST /v1/personas creates them, each with its first draft."""
    ids = []
    for n in range(count):
        payload = {
            "name": f"{prefix}-{n}",
            "personality_prompt": "Be concise.",
            "orchestration_prompt": "Help.",
        }
        op = submit_inline(
            kinds.REGISTRY, user.principal, Submission(kind=kinds.PERSONA_CREATE.name, payload=payload)
        )
        ids.append(op.persona_id)
    return ids


def _chunks(rows: Iterable[dict[str, Any]], size: int = CHUNK) -> Iterator[list[dict[str, Any]]]:
    iterator = iter(rows)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _insert(conn: sa.Connection, table: sa.Table, rows: Iterable[dict[str, Any]]) -> None:
    for chunk in _chunks(rows):
        conn.execute(sa.insert(table), chunk)


def _persona_row(user: User, persona_id: str, name: str, at: datetime, **fields: Any) -> dict[str, Any]:
    return {
        "id": persona_id, "workspace_id": user.principal.workspace_id, "user_id": user.id,
        "name": name, "tags": [], "created_at": at, "updated_at": at,
        "deleted_at": None, "revision": 0, "last_version_number": 0, "last_event_seq": 0,
        "current_production_version_id": None, "current_draft_version_id": None, **fields,
    }  # fmt: skip


def persona_with_versions(user: User, versions: int) -> str:
    """A persona with versions 1..N: 1..N-2 archived, N-1 in production, N the draft;
    N-1 promotion rows (version k replaced k-1)."""
    if versions < 3:
        raise ValueError("need at least 3 versions")
    persona_id = new_id()
    ids = [new_id() for _ in range(versions)]
    start = utcnow() - timedelta(seconds=versions + 3600)

    def at(k: int) -> datetime:  # the moment version k (1-based) was promoted
        return start + timedelta(seconds=k)

    def version(k: int) -> dict[str, Any]:
        status = VersionStatus.DRAFT if k == versions else VersionStatus.ARCHIVED
        if k == versions - 1:
            status = VersionStatus.PUBLISHED
        promoted = k < versions
        return {
            "id": ids[k - 1], "persona_id": persona_id, "version_number": k, "status": status.value,
            "orchestration_prompt": "Help.", "personality_prompt": f"Be concise ({k}).",
            "promoted_from_version_id": None, "promoted_at": at(k) if promoted else None,
            "promoted_by": user.id if promoted else None, "created_at": at(k), "updated_at": at(k),
        }  # fmt: skip

    def promotion(k: int) -> dict[str, Any]:
        return {
            "id": new_id(), "persona_id": persona_id, "workspace_id": user.principal.workspace_id,
            "user_id": user.id, "version_id": ids[k - 1],
            "version_number": k, "previous_version_id": ids[k - 2] if k > 1 else None,
            "previous_version_number": k - 1 if k > 1 else None, "promoted_by": user.id, "promoted_at": at(k),
        }  # fmt: skip

    persona = _persona_row(
        user, persona_id, f"versions-{versions}", start,
        current_production_version_id=ids[versions - 2], current_draft_version_id=ids[versions - 1],
        revision=versions - 1, last_version_number=versions,
    )  # fmt: skip
    with get_engine().begin() as conn:
        conn.execute(sa.insert(PERSONAS), [persona])
        _insert(conn, VERSIONS, (version(k) for k in range(1, versions + 1)))
        _insert(conn, PROMOTIONS, (promotion(k) for k in range(1, versions)))
    _analyze()
    return persona_id


@dataclass(frozen=True)
class History:
    persona_id: str
    rows: int
    deep_cursor: str  # the cursor of the page that starts halfway down the history


def persona_with_history(user: User, rows: int) -> History:
    """A persona rolled back and forth `rows` times between its two versions: `rows` promotions."""
    persona_id = new_id()
    v1, v2 = new_id(), new_id()
    start = utcnow() - timedelta(seconds=rows + 3600)
    last_is_v2 = rows % 2 == 0  # row i promotes v2 when i is odd
    persona = _persona_row(
        user, persona_id, f"history-{rows}", start,
        current_production_version_id=v2 if last_is_v2 else v1, revision=rows + 1, last_version_number=2,
    )  # fmt: skip
    live = 2 if last_is_v2 else 1
    versions = [
        {
            "id": vid,
            "persona_id": persona_id,
            "version_number": n,
            "status": (VersionStatus.PUBLISHED if n == live else VersionStatus.ARCHIVED).value,
            "promoted_at": start,
            "promoted_by": user.id,
            "created_at": start,
            "updated_at": start,
        }
        for n, vid in ((1, v1), (2, v2))
    ]
    deep_index = rows - 1 - rows // 2  # the newest-first position rows // 2
    deep: dict[str, Any] = {}

    def promotions() -> Iterator[tuple[Any, ...]]:
        for i in range(rows):
            to_v2 = i % 2 == 1
            row = (
                new_id(), persona_id, user.principal.workspace_id, user.id,
                v2 if to_v2 else v1, 2 if to_v2 else 1,
                (v1 if to_v2 else v2) if i else None, (1 if to_v2 else 2) if i else None,
                user.id, start + timedelta(seconds=i),
            )  # fmt: skip
            if i == deep_index:
                deep.update(id=row[0], promoted_at=row[-1])
            yield row

    engine = get_engine()
    with engine.begin() as conn:
        conn.execute(sa.insert(PERSONAS), [persona])
        conn.execute(sa.insert(VERSIONS), versions)
        if engine.dialect.name != "postgresql":
            rows_as_dicts = (dict(zip(PROMOTION_COLUMNS, row, strict=True)) for row in promotions())
            _insert(conn, PROMOTIONS, rows_as_dicts)
    if engine.dialect.name == "postgresql":
        _copy_promotions(promotions())
    _analyze()
    # The next page after the row just above halfway: what a client paging down would send.
    cursor = _encode_cursor(Promotion(id=deep["id"], promoted_at=deep["promoted_at"]))
    return History(persona_id, rows, cursor)


def _copy_promotions(rows: Iterable[tuple[Any, ...]]) -> None:
    raw = get_engine().raw_connection()
    try:
        cursor = raw.cursor()
        with cursor.copy(f"COPY promotions ({', '.join(PROMOTION_COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        raw.commit()
    finally:
        raw.close()


def _analyze() -> None:
    """Fresh planner statistics, as a long-lived database would have."""
    with get_engine().begin() as conn:
        conn.execute(sa.text("ANALYZE"))
