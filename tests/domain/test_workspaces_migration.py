"""Migration 0009 on a database filled by the schema before it (0008), through SQL: every user becomes
a workspace of one with the user's id, the user its admin; every tenant row is that workspace's; every
old key keeps working with the same user, workspace and role. On this run's backend: a fresh SQLite
file, or a fresh PostgreSQL database beside the suite's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from greenlight.settings import get_settings

CHECK = textwrap.dedent(
    """
    import hashlib, json
    from datetime import datetime, UTC
    import sqlalchemy as sa
    from greenlight import migrate
    from greenlight.db import get_engine, unit_of_work
    from greenlight.keys import authenticate

    KEYS = {"u1": "gl_old-key-of-alice-0123456789", "u2": "gl_old-key-of-bob-0123456789abc"}
    TENANT_TABLES = [
        "personas", "resources", "operations", "scheduled_promotions", "promotions", "draft_entries",
        "webhook_endpoints", "webhook_deliveries", "outbox_events", "idempotency_records", "api_keys",
    ]

    def filler(column):
        try:
            kind = column.type.python_type
        except NotImplementedError:
            kind = dict
        if kind is datetime:
            return datetime(2026, 1, 1, tzinfo=UTC)
        return {str: "x", int: 0, bool: False, dict: {}, list: []}.get(kind, "x")

    def insert(connection, table_name, **values):
        table = sa.Table(table_name, sa.MetaData(), autoload_with=connection)
        row = {c.name: filler(c) for c in table.columns if not c.nullable and c.name not in values}
        connection.execute(table.insert().values({**row, **values}))

    migrate.upgrade("0008")
    with get_engine().begin() as c:  # rows as the schema before workspaces had them
        for uid, name in (("u1", "alice"), ("u2", "bob")):
            insert(c, "users", id=uid, name=name)
            digest = hashlib.sha256(KEYS[uid].encode()).hexdigest()
            insert(c, "api_keys", id="k" + uid, user_id=uid, prefix=KEYS[uid][:10], key_hash=digest,
                   role="proposer" if uid == "u2" else None)
            insert(c, "personas", id="p" + uid, user_id=uid, name="P", deleted_at=None)
            insert(c, "operations", id="o" + uid, user_id=uid, persona_id="p" + uid, seq=1,
                   idempotency_key="same-key", status="succeeded")
            insert(c, "idempotency_records", id="r" + uid, user_id=uid, key="same-key")
            insert(c, "resources", id="res" + uid, user_id=uid, kind="name", value="v", value_hash="h")
            insert(c, "scheduled_promotions", id="s" + uid, user_id=uid, persona_id="p" + uid)
            insert(c, "promotions", id="pr" + uid, user_id=uid, persona_id="p" + uid)
            insert(c, "draft_entries", id="d" + uid, user_id=uid, persona_id="p" + uid)
            insert(c, "webhook_endpoints", id="w" + uid, user_id=uid)
            insert(c, "outbox_events", id="e" + uid, user_id=uid, persona_id="p" + uid, persona_seq=1)
            insert(c, "webhook_deliveries", id="wd" + uid, user_id=uid, endpoint_id="w" + uid,
                   event_id="e" + uid, persona_id="p" + uid, persona_seq=1, global_seq=1)
        insert(c, "resources", id="catalogue", user_id=None, kind="flag", value="v", value_hash="h")
    migrate.upgrade()
    with get_engine().connect() as c:
        found = {
            "workspaces": sorted(map(list, c.execute(sa.text("SELECT id, name FROM workspaces")))),
            "members": sorted(map(list, c.execute(
                sa.text("SELECT workspace_id, user_id, role FROM workspace_members")))),
            "rows": {
                t: sorted(map(list, c.execute(sa.text(f"SELECT user_id, workspace_id FROM {t}"))), key=str)
                for t in TENANT_TABLES
            },
        }
    with unit_of_work() as session:
        found["principals"] = {
            uid: [p.user_id, p.user_name, p.workspace_id, str(p.role), p.key_role and str(p.key_role)]
            for uid, p in ((uid, authenticate(session, raw)) for uid, raw in KEYS.items())
        }
    print(json.dumps(found))
    """
)


@pytest.fixture
def old_database(tmp_path: Path) -> Iterator[str]:
    """A database of its own (the suite's is at head already)."""
    url = get_settings().database_url
    if not url.startswith("postgresql"):
        yield f"sqlite:///{tmp_path / 'before-workspaces.db'}"
        return
    name = f"m0009_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_the_upgrade_makes_each_user_a_workspace_and_old_keys_keep_working(old_database: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", CHECK],
        env={**os.environ, "GREENLIGHT_DATABASE_URL": old_database},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["workspaces"] == [["u1", "alice"], ["u2", "bob"]]
    assert found["members"] == [["u1", "u1", "admin"], ["u2", "u2", "admin"]]
    for table, rows in found["rows"].items():
        owned = [row for row in rows if row[0] is not None]
        assert owned == [["u1", "u1"], ["u2", "u2"]], table
        # The flag catalogue (the row made before, and those the upgrade adds) stays nobody's.
        assert all(row == [None, None] for row in rows if row[0] is None), table
        assert (len(rows) > len(owned)) == (table == "resources"), table
    # The same user, the workspace with the user's id, admin as before; the narrower key stays narrower.
    assert found["principals"] == {
        "u1": ["u1", "alice", "u1", "admin", None],
        "u2": ["u2", "bob", "u2", "admin", "proposer"],
    }
