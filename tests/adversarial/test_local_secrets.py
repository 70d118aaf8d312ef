"""Local secrets: no password on any command line, an embedded Redis that asks for one, files only
their user can read, and stored idempotent answers that keep no webhook secret.

`greenlight run` is started as `make run` starts it, in a temporary directory, under umask 022.
"""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import redis
import sqlalchemy as sa

from cli.embedded import free_port
from greenlight.db import unit_of_work
from tests.support.http import create_persona, wait_operation
from tests.support.processes import ARTIFACTS, BIN, wait_until

# Settings that would point `greenlight run` at the suite's own Redis and database.
SUITE_ONLY = ("GREENLIGHT_REDIS_URL", "GREENLIGHT_DATABASE_URL", "GREENLIGHT_FLOWER_PASSWORD")


@dataclass
class RunningStack:
    process: subprocess.Popen[bytes]
    workdir: Path
    api: str
    flower: str
    flower_auth: tuple[str, str]
    redis_url: str
    api_key: str


def _banner_value(text: str, label: str) -> str:
    found = re.search(rf"^\s+{label}:\s+(.+)$", text, re.MULTILINE)
    assert found, f"no {label} line in the banner:\n{text}"
    return found.group(1).strip()


def _start_stack(workdir: Path) -> RunningStack:
    api_port, flower_port = free_port(), free_port()
    env = {name: value for name, value in os.environ.items() if name not in SUITE_ONLY}
    env.update(GREENLIGHT_API_PORT=str(api_port), GREENLIGHT_FLOWER_PORT=str(flower_port))
    ARTIFACTS.mkdir(exist_ok=True)
    log_path = ARTIFACTS / "greenlight-run.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [str(BIN / "greenlight"), "run"],
            cwd=workdir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            umask=0o022,
        )
    deadline = time.monotonic() + 90
    while "Ctrl-C stops everything." not in (text := log_path.read_text(errors="replace")):
        if process.poll() is not None or time.monotonic() > deadline:
            _stop(process)
            raise RuntimeError(f"`greenlight run` did not start; see {log_path}")
        time.sleep(0.2)
    flower = _banner_value(text, "Flower")  # "http://127.0.0.1:5555  user admin password ..."
    user, password = re.fullmatch(r"\S+\s+user (\S+) password (\S+)", flower).groups()  # type: ignore[union-attr]
    return RunningStack(
        process=process,
        workdir=workdir,
        api=f"http://127.0.0.1:{api_port}",
        flower=f"http://127.0.0.1:{flower_port}",
        flower_auth=(user, password),
        redis_url=_banner_value(text, "Redis"),
        api_key=_banner_value(text, "API key"),
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)  # the stack stops its children itself
        try:
            process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    running = _start_stack(tmp_path_factory.mktemp("greenlight-run"))

    def ready() -> bool:
        try:
            return httpx.get(f"{running.api}/readyz", timeout=5).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_until(ready, timeout=60, interval=0.5)
        yield running
    finally:
        _stop(running.process)


def _descendants(root: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat_line = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat_line.rsplit(")", 1)[1].split()[1])
    found, frontier = [], [root]
    while frontier:
        pid = frontier.pop()
        children = [child for child, parent in parents.items() if parent == pid]
        found += children
        frontier += children
    return found


def _command_lines(root: int) -> dict[int, str]:
    lines = {}
    for pid in [root, *_descendants(root)]:
        try:
            lines[pid] = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue  # exited meanwhile
    return lines


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_no_password_on_the_command_line_of_any_process_of_make_run(stack: RunningStack) -> None:
    lines = _command_lines(stack.process.pid)
    assert any(" flower" in line for line in lines.values()), lines
    assert any("redis-server" in line for line in lines.values()), lines
    redis_password = urlsplit(stack.redis_url).password
    for secret in (stack.flower_auth[1], redis_password or ""):
        shown = {pid: line for pid, line in lines.items() if secret and secret in line}
        assert not shown, f"a password is readable by every local user in `ps`: {shown}"
    # Flower still got its credentials (from its environment): closed without them, open with them.
    assert httpx.get(f"{stack.flower}/api/workers", timeout=10).status_code == 401
    assert httpx.get(f"{stack.flower}/api/workers", auth=stack.flower_auth, timeout=10).status_code == 200


def test_greenlight_flower_keeps_its_password_off_its_command_line(services: dict[str, str]) -> None:
    """As compose runs it: `greenlight flower` becomes Flower (exec), the password in its environment."""
    port, password = free_port(), f"pw-{uuid.uuid4().hex}"
    env = {**os.environ, "GREENLIGHT_FLOWER_PORT": str(port), "GREENLIGHT_FLOWER_PASSWORD": password}
    env["GREENLIGHT_FLOWER_USER"] = "ops"
    flower = subprocess.Popen(
        [str(BIN / "greenlight"), "flower"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    try:

        def up() -> bool:
            try:
                return httpx.get(f"{base}/healthcheck", timeout=1).status_code == 200
            except httpx.HTTPError:
                return flower.poll() is not None  # exited: the assertions below say why

        wait_until(up, timeout=60, interval=0.2)
        command_line = _command_lines(flower.pid)[flower.pid]
        assert "flower" in command_line and password not in command_line, command_line
        assert httpx.get(f"{base}/api/workers", timeout=10).status_code == 401
        assert httpx.get(f"{base}/api/workers", auth=("ops", password), timeout=10).status_code == 200
    finally:
        flower.terminate()
        flower.wait(timeout=15)


def test_the_embedded_redis_asks_for_its_password_and_every_client_gives_it(stack: RunningStack) -> None:
    parts = urlsplit(stack.redis_url)
    assert parts.hostname and parts.port
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(host=parts.hostname, port=parts.port, socket_timeout=5).ping()
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(host=parts.hostname, port=parts.port, password="guess", socket_timeout=5).ping()
    # The broker, locks, caches, the event hub and readiness all reach it with the URL's password.
    auth = {"authorization": stack.api_key}
    with httpx.Client(base_url=stack.api, timeout=60) as client:
        persona = create_persona(client, auth)
        accepted = client.post(
            f"/v1/personas/{persona['id']}/versions/promote", headers={**auth, "Prefer": "respond-async"}
        )
        assert accepted.status_code == 202, accepted.text
        assert wait_operation(client, auth, accepted.json()["data"]["id"])["status"] == "succeeded"
        assert client.get("/readyz").status_code == 200


def test_var_and_the_database_of_make_run_are_private(stack: RunningStack) -> None:
    var = stack.workdir / "var"
    assert _mode(var) == 0o700
    assert _mode(var / "redis") == 0o700
    database = var / "greenlight.db"
    assert _mode(database) == 0o600
    for suffix in ("-wal", "-shm"):  # open while the stack runs (WAL)
        assert _mode(Path(f"{database}{suffix}")) == 0o600, suffix
    wait_until(lambda: any(var.glob("celerybeat-schedule*")), timeout=30, interval=0.2)
    schedules = {path.name: oct(_mode(path)) for path in var.glob("celerybeat-schedule*")}
    assert set(schedules.values()) == {"0o600"}, schedules


def _greenlight(args: list[str], cwd: Path, **env: str) -> None:
    clean = {name: value for name, value in os.environ.items() if name not in SUITE_ONLY}
    done = subprocess.run(
        [str(BIN / "greenlight"), *args], cwd=cwd, env={**clean, **env}, umask=0o022, capture_output=True
    )
    assert done.returncode == 0, done.stderr.decode()


def test_migrate_creates_var_and_the_database_private_but_leaves_a_given_file_alone(tmp_path: Path) -> None:
    _greenlight(["migrate"], tmp_path)  # the default database: ./var/greenlight.db
    assert _mode(tmp_path / "var") == 0o700
    assert _mode(tmp_path / "var" / "greenlight.db") == 0o600
    # A database file its owner made is theirs: Greenlight does not change its mode.
    theirs = tmp_path / "theirs.db"
    theirs.touch(mode=0o640)
    theirs.chmod(0o640)
    _greenlight(["migrate"], tmp_path, GREENLIGHT_DATABASE_URL=f"sqlite:///{theirs}")
    assert _mode(theirs) == 0o640


# Stored answers and their replays (through the suite's API).


def _stored_bodies(keys: list[str]) -> list[str]:
    with unit_of_work() as session:
        rows = session.execute(
            sa.text("SELECT body FROM idempotency_records WHERE key IN :keys").bindparams(
                sa.bindparam("keys", expanding=True)
            ),
            {"keys": keys},
        ).scalars()
        return [row if isinstance(row, str) else json.dumps(row) for row in rows]


def _assert_nowhere(secret: str, bodies: list[str]) -> None:
    key_part = secret.removeprefix("whsec_")
    assert bodies and not [body for body in bodies if key_part in body], bodies


def test_stored_answers_keep_no_webhook_secret_and_replays_give_only_the_current_one(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    create_key, rotate_key = f"create-{uuid.uuid4().hex}", f"rotate-{uuid.uuid4().hex}"
    body = {"url": "http://127.0.0.1:9/hook", "event_types": ["version.*"]}
    created = client.post("/v1/webhooks", json=body, headers={**auth, "Idempotency-Key": create_key})
    assert created.status_code == 201, created.text
    first_secret = created.json()["data"]["secret"]
    assert first_secret.startswith("whsec_")
    _assert_nowhere(first_secret, _stored_bodies([create_key]))
    # A client whose answer was lost retries: the same answer, its secret read from the webhook.
    again = client.post("/v1/webhooks", json=body, headers={**auth, "Idempotency-Key": create_key})
    assert again.status_code == 201 and again.json() == created.json()

    rotate_url = f"/v1/webhooks/{created.json()['data']['id']}/rotate-secret"
    rotated = client.post(rotate_url, headers={**auth, "Idempotency-Key": rotate_key})
    assert rotated.status_code == 200, rotated.text
    new_secret = rotated.json()["data"]["secret"]
    assert new_secret.startswith("whsec_") and new_secret != first_secret
    bodies = _stored_bodies([create_key, rotate_key])
    _assert_nowhere(first_secret, bodies)
    _assert_nowhere(new_secret, bodies)
    assert client.post(rotate_url, headers={**auth, "Idempotency-Key": rotate_key}).json() == rotated.json()

    # The creation's secret was rotated away: its replay answers the same, with "secret": null.
    stale = client.post("/v1/webhooks", json=body, headers={**auth, "Idempotency-Key": create_key})
    assert stale.status_code == 201
    assert stale.json()["data"] == {**created.json()["data"], "secret": None}
    # Deleted: no secret at all any more, so none in a replay either.
    assert client.delete(rotate_url.removesuffix("/rotate-secret"), headers=auth).status_code == 200
    gone = client.post(rotate_url, headers={**auth, "Idempotency-Key": rotate_key})
    assert gone.status_code == 200 and gone.json()["data"] == {**rotated.json()["data"], "secret": None}


MIGRATION_CHECK = textwrap.dedent(
    """
    import json, sys
    from sqlalchemy import text
    from greenlight import migrate
    from greenlight.clock import utcnow
    from greenlight.db import unit_of_work
    from greenlight.models import IdempotencyRecord
    from greenlight.models.base import JSONType

    migrate.upgrade("0006")
    with unit_of_work() as session:  # rows as that schema had them, written through SQL
        session.execute(text("INSERT INTO users (id, name, created_at) VALUES ('u1', 'x', '2026-01-01')"))
        answer = {"data": {"id": "w1", "secret": sys.argv[1]}, "errors": None}
        session.execute(
            text(
                "INSERT INTO idempotency_records"
                " (id, user_id, key, request_hash, status_code, body, created_at)"
                " VALUES ('r1', 'u1', 'k', 'h', 201, :body, '2026-01-01')"
            ),
            {"body": json.dumps(answer)},
        )
    migrate.upgrade()
    with unit_of_work() as session:
        print(json.dumps([record.body for record in session.query(IdempotencyRecord)]))
    """
)


def test_the_upgrade_removes_secrets_from_answers_stored_before(tmp_path: Path) -> None:
    secret = "whsec_" + uuid.uuid4().hex
    done = subprocess.run(
        [sys.executable, "-c", MIGRATION_CHECK, secret],
        env={**os.environ, "GREENLIGHT_DATABASE_URL": f"sqlite:///{tmp_path / 'old.db'}"},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert secret.removeprefix("whsec_") not in done.stdout
    (stored,) = json.loads(done.stdout.strip().splitlines()[-1])
    assert stored["data"] == {"id": "w1", "secret": None}
