"""Database engine, sessions and the unit of work.

Services never commit: the caller (an API request, a worker's drain) owns the
transaction through ``unit_of_work``.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker

from greenlight.dialects import capabilities_of
from greenlight.settings import get_settings


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers run beside the single writer; NORMAL is durable across app crashes.
    _switch_to_wal(cursor)
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _switch_to_wal(cursor: Any, attempts: int = 100) -> None:
    """WAL belongs to the file: the first connection to a new file switches it. Two connections
    switching a new file at once deadlock, and SQLite fails one of them at once ("database is
    locked") instead of waiting, so that one tries again (and finds the file switched)."""
    for attempt in range(attempts):
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.01)


# Whether pooled connections are checked before use; see ``retry_instead_of_pre_ping``.
_pool_options = {"pre_ping": True}


def retry_instead_of_pre_ping() -> None:
    """For processes that retry every database use that fails (Celery workers): a connection that
    died in the pool fails one attempt (and the pool is renewed) instead of costing a round trip on
    every checkout (bench/RESULTS.md: measurements behind the code)."""
    _pool_options["pre_ping"] = False
    get_engine.cache_clear()


def _keep_long_statements_parsed() -> None:
    """psycopg parses a statement's placeholders with a regular expression and keeps the result only
    for statements under 4 KB and 50 parameters, so every multi-row INSERT of a group commit or of a
    promotion run was parsed again each time (bench/RESULTS.md: measurements behind the code).
    Those statements have few shapes (one per row count and table, a few hundred), so they are kept
    too, in a cache big enough for all of them."""
    from psycopg import _queries

    names = ("MAX_CACHED_STATEMENT_LENGTH", "MAX_CACHED_STATEMENT_PARAMS", "_query2pg_nocache")
    if not all(hasattr(_queries, name) for name in names):  # another psycopg: leave it as it is
        return
    if _queries.MAX_CACHED_STATEMENT_PARAMS >= 10_000:
        return
    _queries.MAX_CACHED_STATEMENT_LENGTH = max(_queries.MAX_CACHED_STATEMENT_LENGTH, 512 * 1024)
    _queries.MAX_CACHED_STATEMENT_PARAMS = 10_000
    _queries._query2pg = functools.lru_cache(maxsize=1024)(_queries._query2pg_nocache)


def _create_private(path: str) -> None:
    """A database file (and its directory) that Greenlight creates is its user's alone; SQLite gives
    the -wal and -shm files the database file's mode. A file that exists already is left as it is."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), mode=0o700, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = make_url(url).database
        if path and path != ":memory:" and not path.startswith("file:"):
            _create_private(path)
        # Several processes write one file: wait for the lock instead of failing at once. Pooled
        # (SQLAlchemy's default for a file): a new connection re-reads the schema and runs the
        # pragmas, about a millisecond per unit of work. Never shared across a fork (below).
        engine = create_engine(url, connect_args={"timeout": 30}, pool_size=20, max_overflow=10)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    _keep_long_statements_parsed()
    # 20 kept + 10 overflow (30 in all, as before): with 10 kept, an API process under more than 10
    # concurrent requests opened and closed a connection (a new server process) every few requests.
    return create_engine(url, pool_pre_ping=_pool_options["pre_ping"], pool_size=20, max_overflow=10)


@lru_cache(maxsize=1)
def get_engine() -> Engine:
    return make_engine(get_settings().database_url)


def _keep_strongly(session: Session, instance: object) -> None:
    # The identity map holds clean objects weakly: a version read once and dropped would be read
    # again by the next lookup in the same transaction. Our sessions are short, so keep them all.
    session.info.setdefault("loaded", []).append(instance)


@lru_cache(maxsize=1)
def get_sessionmaker() -> sessionmaker[Session]:
    factory = sessionmaker(bind=get_engine(), expire_on_commit=False)
    event.listen(factory, "loaded_as_persistent", _keep_strongly)
    event.listen(factory, "pending_to_persistent", _keep_strongly)
    event.listen(factory, "detached_to_persistent", _keep_strongly)
    return factory


def dispose_engine() -> None:
    """Forget pooled connections; called in forked worker children."""
    if get_engine.cache_info().currsize:
        get_engine().dispose(close=False)


# Whatever forks (Celery's prefork pool, multiprocessing), a child never uses its parent's
# connections: a SQLite or PostgreSQL connection must not be used by two processes.
os.register_at_fork(after_in_child=dispose_engine)


_AFTER_COMMIT = "greenlight.after_commit"


def after_commit(session: Session, action: Callable[[], None]) -> None:
    """Run `action` once this unit of work has committed, and never if it rolls back: what a
    commit makes true (a queued message, a refreshed cache, an announcement) is told only once it
    is true. Actions run in the order they were added, after the session is closed."""
    session.info.setdefault(_AFTER_COMMIT, []).append(action)


@contextmanager
def unit_of_work(*, one_statement: bool = False) -> Iterator[Session]:
    """One transaction: commit when the block ends, roll back if it raises; then the actions
    registered with `after_commit`.

    `one_statement`: the block's writes are one statement, atomic by itself. On PostgreSQL each
    statement then commits on its own (autocommit): no BEGIN or COMMIT round trip for the driver to
    send. The caller must not rely on a second statement seeing the same snapshot, nor on undoing
    an earlier one by raising."""
    session = get_sessionmaker()()
    if one_statement and capabilities_of(session).autocommit_statements:
        session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    committed: list[Callable[[], None]] = []
    try:
        yield session
        session.commit()
        committed = session.info.pop(_AFTER_COMMIT, [])
    except BaseException:
        session.rollback()
        raise
    finally:
        session.info.pop(_AFTER_COMMIT, None)
        session.close()
    for action in committed:
        action()
