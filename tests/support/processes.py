"""Real processes for tests: the API under uvicorn, Celery workers and beat."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx

from cli.embedded import free_port
from cli.processes import ENGINE_QUEUES

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
BIN = Path(sys.executable).parent


class Process:
    def __init__(self, name: str, args: list[str], env: dict[str, str] | None = None):
        ARTIFACTS.mkdir(exist_ok=True)
        self.name = name
        self.log_path = ARTIFACTS / f"{name}.log"
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - lives as long as the process
        self.popen = subprocess.Popen(
            args,
            env={**os.environ, **(env or {})},
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def signal(self, sig: int) -> None:
        os.killpg(self.popen.pid, sig)

    def stop(self, timeout: float = 15) -> None:
        if self.alive():
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.signal(signal.SIGKILL)
                self.popen.wait(timeout=5)
        self._log.close()

    def kill(self) -> None:
        """SIGKILL the whole process group: the parent and every pool child, mid-task."""
        if self.alive():
            self.signal(signal.SIGKILL)
            self.popen.wait(timeout=10)
        self._log.close()


def start_worker(
    concurrency: int = 2,
    queues: str = ENGINE_QUEUES,
    env: dict[str, str] | None = None,
) -> Process:
    name = f"worker-{uuid.uuid4().hex[:6]}"
    args = [
        str(BIN / "celery"), "-A", "workers.app", "worker", "--loglevel", "INFO",
        "--concurrency", str(concurrency), "--pool", "prefork", "-Q", queues, "-n", f"{name}@%h",
        "--without-gossip", "--without-mingle",
    ]  # fmt: skip
    worker = Process(name, args, env)
    _wait_for_log(worker, "ready.", 60)
    return worker


def start_beat(schedule_dir: Path, env: dict[str, str] | None = None) -> Process:
    args = [
        str(BIN / "celery"), "-A", "workers.app", "beat", "--loglevel", "INFO",
        "--schedule", str(schedule_dir / f"beat-{uuid.uuid4().hex[:6]}"),
    ]  # fmt: skip
    return Process(f"beat-{uuid.uuid4().hex[:6]}", args, env)


def start_api(
    env: dict[str, str] | None = None, name: str = "api", gunicorn_workers: int | None = None
) -> tuple[Process, str]:
    """The API under uvicorn, or as in production (`greenlight api`: gunicorn) with ``gunicorn_workers``."""
    port = free_port()
    if gunicorn_workers:
        args = [str(BIN / "greenlight"), "api", "--workers", str(gunicorn_workers), "--host", "127.0.0.1"]
        args += ["--port", str(port)]
    else:
        args = [
            str(BIN / "uvicorn"),
            "api.main:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
        ]
    api = Process(name, args, env)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return api, base
        except httpx.HTTPError:
            pass
        if not api.alive() or time.monotonic() > deadline:
            raise RuntimeError(f"API did not start; see {api.log_path}")
        time.sleep(0.1)


def start_flower(basic_auth: str) -> tuple[Process, str]:
    """Flower against the test broker, as `greenlight flower` runs it (basic auth on, given in its
    environment: never on a command line)."""
    port = free_port()
    args = [
        str(BIN / "celery"), "-A", "workers.app", "flower", f"--port={port}", "--address=127.0.0.1",
    ]  # fmt: skip
    flower = Process("flower", args, {"FLOWER_BASIC_AUTH": basic_auth})
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/healthcheck", timeout=1).status_code == 200:
                return flower, base
        except httpx.HTTPError:
            pass
        if not flower.alive() or time.monotonic() > deadline:
            raise RuntimeError(f"Flower did not start; see {flower.log_path}")
        time.sleep(0.1)


def log_lines(pattern: str = "*.log") -> list[dict[str, object]]:
    """Every JSON line the test processes have written so far (other lines are skipped)."""
    import json

    lines: list[dict[str, object]] = []
    for path in sorted(ARTIFACTS.glob(pattern)):
        for raw in path.read_text(errors="replace").splitlines():
            if raw.startswith("{"):
                try:
                    lines.append(json.loads(raw))
                except ValueError:
                    continue
    return lines


def _wait_for_log(process: Process, text: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in process.log_path.read_text(errors="replace"):
            return
        if not process.alive():
            break
        time.sleep(0.1)
    raise RuntimeError(f"{process.name} did not log {text!r}; see {process.log_path}")


def wait_until(predicate: object, timeout: float = 20.0, interval: float = 0.05) -> None:
    assert callable(predicate)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")
