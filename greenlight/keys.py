"""API keys: generated once, stored only as SHA-256 hashes, compared in constant time.

Each API process remembers the principals of keys it has checked, for as long as the key epoch in
Redis stays what it was when it checked them (and at most ``GREENLIGHT_KEY_CACHE_SECONDS``).
Revoking a key bumps the epoch before and after its transaction commits, so a revoked key is
refused by every process as soon as the revocation has committed.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
import time
from dataclasses import dataclass
from functools import lru_cache

import redis
from sqlalchemy import Select, event, select
from sqlalchemy.orm import Session

from greenlight import audit
from greenlight.access import Permission, Role, allowed, require, within
from greenlight.audit import Actor, AuditAction
from greenlight.clock import utcnow
from greenlight.errors import NotFound, Unauthorized, Unprocessable
from greenlight.models import ApiKey, User, Workspace, WorkspaceMember
from greenlight.redis_client import get_redis, key
from greenlight.settings import get_settings
from greenlight.tracked_cache import CacheUnavailable, TrackedCache
from greenlight.workspaces import ensure_member, get_or_create_user, own_workspace, workspace_named

log = logging.getLogger(__name__)

KEY_PREFIX = "gl_"
# Characters of a key kept in clear (`greenlight keys list` shows them; the auth throttle counts by them).
PREFIX_LENGTH = 10


@dataclass(frozen=True)
class Principal:
    """Who is calling: the member a valid key belongs to, in their workspace, with their role."""

    user_id: str
    user_name: str
    key_id: str
    workspace_id: str
    role: Role  # the member's
    key_role: Role | None = None  # the key's own, narrower role, if it was given one

    @property
    def permissions(self) -> frozenset[Permission]:
        return allowed(self.role, self.key_role)

    @property
    def acting_role(self) -> Role:
        """The role the caller acts with (the key's, when it has its own)."""
        return self.key_role or self.role

    def require(self, permission: Permission) -> None:
        """403 ``FORBIDDEN`` unless the caller's role and key allow ``permission``."""
        require(self.permissions, self.acting_role, permission)

    def may(self, permission: Permission) -> bool:
        return permission in self.permissions


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


class RoleTooWide(Unprocessable):
    code = "ROLE_TOO_WIDE"

    def __init__(self, role: Role, member_role: Role) -> None:
        super().__init__(
            f"A key's role cannot be wider than its member's ({member_role})",
            {"role": str(role), "member_role": str(member_role)},
        )


def issue_key(
    session: Session, member: WorkspaceMember, role: Role | None = None, name: str | None = None
) -> tuple[ApiKey, str]:
    """A new key of a member in their workspace; the plaintext is returned only here.

    ``role`` narrows what the key may do below its member's role (an agent's key that only
    proposes); a wider one is refused (422 ``ROLE_TOO_WIDE``)."""
    member_role = Role(member.role)
    if role is not None and not within(role, member_role):
        raise RoleTooWide(role, member_role)
    raw = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        user_id=member.user_id,
        workspace_id=member.workspace_id,
        name=name,
        prefix=raw[:PREFIX_LENGTH],
        key_hash=hash_key(raw),
        role=role,
    )
    session.add(key)
    session.flush()
    return key, raw


def create_key(
    session: Session, user_name: str, role: Role | None = None, workspace: str | None = None
) -> tuple[ApiKey, str]:
    """A key for the user (created if new), the command line's way; the plaintext is returned only here.

    Without ``workspace``: in the user's own workspace (created, the user its admin, if missing),
    ``role`` narrowing the key. With ``workspace`` (a name): the user is made a member if not one
    (``role``, or admin of a workspace this call creates) and the key acts with the member's role;
    for a member already, ``role`` narrows the key."""
    user = get_or_create_user(session, user_name)
    if workspace is None:
        member = ensure_member(session, own_workspace(session, user).id, user.id, Role.ADMIN)
        return issue_key(session, member, role)
    found, created = workspace_named(session, workspace)
    joined_as = Role.ADMIN if created else (role or Role.VIEWER)
    member = ensure_member(session, found.id, user.id, joined_as)
    narrower = None if created or Role(member.role) == role else role
    return issue_key(session, member, narrower)


def list_keys(
    session: Session, user_name: str | None = None, workspace: str | None = None
) -> list[tuple[ApiKey, User, Workspace]]:
    """Every key (the command line's view), with its user and workspace; optionally only a user's,
    or a workspace's (by name)."""
    query = (
        select(ApiKey, User, Workspace)
        .join(User, User.id == ApiKey.user_id)
        .join(Workspace, Workspace.id == ApiKey.workspace_id)
        .order_by(ApiKey.created_at)
    )
    if user_name is not None:
        query = query.where(User.name == user_name)
    if workspace is not None:
        query = query.where(Workspace.name == workspace)
    return [(key, user, found) for key, user, found in session.execute(query).all()]


def revoke_key(session: Session, key_id_or_prefix: str, actor: Actor | None = None) -> ApiKey:
    """Revoke a key (by id or prefix), audited in this transaction; `actor`: who revokes it (None:
    an operator at the command line, audited without a member in the key's workspace)."""
    key = session.scalar(
        select(ApiKey).where((ApiKey.id == key_id_or_prefix) | (ApiKey.prefix == key_id_or_prefix))
    )
    if key is None:
        raise NotFound("No such API key", {"key": key_id_or_prefix})
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        # Before the commit (a process that checks the key meanwhile keeps no copy past the commit)
        # and after it (no process keeps one it made from the state before the commit).
        bump_key_epoch()
        event.listen(session, "after_commit", lambda _session: bump_key_epoch(), once=True)
        actor = actor or Actor(workspace_id=key.workspace_id, user_id=None)
        audit.record(session, actor, AuditAction.KEY_REVOKED, "key", key.id)
    return key


def epoch_key() -> str:
    return key("keys", "epoch")


def bump_key_epoch() -> None:
    try:
        client = get_redis()
        client.incr(epoch_key())
        client.ping()  # by its reply, every process's tracked copy of the epoch is invalidated
    except redis.RedisError:
        # Processes cannot check their copies while Redis is away, and keep none longer than the TTL.
        log.warning("could not bump the key epoch; cached keys expire within the key cache TTL")


def parse_authorization(header: str | None) -> str:
    """Accept the raw key (Bland) or ``Bearer <key>`` (Retell)."""
    if not header or not header.strip():
        raise Unauthorized("API key is missing or invalid.")
    value = header.strip()
    if value[:7].lower() == "bearer ":
        value = value[7:].strip()
    return value


def _with_member() -> Select[ApiKey, User, WorkspaceMember]:
    """A key with its user and the user's membership of the key's workspace: a key whose user is no
    longer a member finds no row, and is refused like a wrong one."""
    return (
        select(ApiKey, User, WorkspaceMember)
        .join(User, User.id == ApiKey.user_id)
        .join(
            WorkspaceMember,
            (WorkspaceMember.workspace_id == ApiKey.workspace_id)
            & (WorkspaceMember.user_id == ApiKey.user_id),
        )
    )


def authenticate(session: Session, header: str | None) -> Principal:
    raw = parse_authorization(header)
    digest = hash_key(raw)
    row = session.execute(_with_member().where(ApiKey.key_hash == digest)).first()
    # compare_digest keeps the final check constant-time even though the lookup is by index.
    if row is None or not hmac.compare_digest(row[0].key_hash, digest) or row[0].revoked_at is not None:
        raise Unauthorized("API key is missing or invalid.")
    key, user, member = row
    return _principal(key, user, member)


def _principal(key: ApiKey, user: User, member: WorkspaceMember) -> Principal:
    """The member's role is read at every check (a demotion narrows every key they hold at once)."""
    return Principal(
        user_id=user.id,
        user_name=user.name,
        key_id=key.id,
        workspace_id=key.workspace_id,
        role=Role(member.role),
        key_role=Role(key.role) if key.role else None,
    )


def principal_of_key(session: Session, key_id: str) -> Principal:
    """The principal of a key known by id (a console session holds the id, never the key); a key
    revoked since, or whose user has left the workspace, is refused like a wrong one."""
    row = session.execute(_with_member().where(ApiKey.id == key_id)).first()
    if row is None or row[0].revoked_at is not None:
        raise Unauthorized("API key is missing or invalid.")
    key, user, member = row
    return _principal(key, user, member)


class PrincipalCache:
    """Principals of keys this process has checked, valid while the key epoch is unchanged."""

    def __init__(self, epochs: TrackedCache[bytes], ttl_seconds: float) -> None:
        self._epochs = epochs
        self._ttl = ttl_seconds
        self._known: dict[str, tuple[Principal, bytes | None, float]] = {}
        self._lock = threading.Lock()

    def cached(self, header: str | None) -> Principal | None:
        """The principal from this process's memory (no database), or None. 401 for no key at all."""
        digest = hash_key(parse_authorization(header))
        known = self._known.get(digest)
        if known is None or self._ttl <= 0:
            return None
        principal, epoch, expires = known
        if time.monotonic() >= expires:
            return None
        try:
            current = self._epochs.get(epoch_key())
        except CacheUnavailable:
            return None
        return principal if current == epoch else None

    def known(self, header: str | None) -> Principal | None:
        """Like ``cached``, but None for a missing key too: for the answers given ahead of routing,
        which leave every other case to the route."""
        try:
            return self.cached(header)
        except Unauthorized:
            return None

    def authenticate(self, session: Session, header: str | None) -> Principal:
        """Check the key in the database and remember the answer (only a valid key is remembered)."""
        try:
            # Read before the database: a revocation committed after this read changes the epoch.
            epoch = self._epochs.get(epoch_key())
            usable = True
        except CacheUnavailable:
            epoch, usable = None, False
        principal = authenticate(session, header)
        if usable and self._ttl > 0:
            with self._lock:
                if len(self._known) > 10_000:
                    self._known.clear()
                digest = hash_key(parse_authorization(header))
                self._known[digest] = (principal, epoch, time.monotonic() + self._ttl)
        return principal


@lru_cache(maxsize=1)
def principal_cache() -> PrincipalCache:
    settings = get_settings()
    return PrincipalCache(TrackedCache(settings.require_redis_url(), bytes), settings.key_cache_seconds)
