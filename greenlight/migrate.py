"""Running Alembic migrations from code (the CLI and the tests use the same path)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from greenlight.db import get_engine

ROOT = Path(__file__).resolve().parent.parent


def alembic_config() -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    return config


def upgrade(revision: str = "head") -> None:
    from greenlight.db import unit_of_work
    from greenlight.drafts.catalogue import ensure_catalogue

    command.upgrade(alembic_config(), revision)
    if revision in ("head", head_revision()):  # the catalogue's rows are written in the newest schema
        with unit_of_work() as session:
            ensure_catalogue(session)


@lru_cache(maxsize=1)
def head_revision() -> str | None:
    """The newest migration in this build (it cannot change while the process runs)."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision() -> str | None:
    with get_engine().connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def is_current() -> bool:
    """True when the database is at the newest migration (used by /readyz)."""
    return current_revision() == head_revision()
