"""API keys: generated once, stored only as SHA-256 hashes, compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from greenlight.clock import utcnow
from greenlight.errors import NotFound, Unauthorized
from greenlight.models import ApiKey, User

KEY_PREFIX = "gl_"


@dataclass(frozen=True)
class Principal:
    """Who is calling: the user a valid key belongs to."""

    user_id: str
    user_name: str
    key_id: str


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def get_or_create_user(session: Session, name: str) -> User:
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        user = User(name=name)
        session.add(user)
        session.flush()
    return user


def create_key(session: Session, user_name: str) -> tuple[ApiKey, str]:
    """Create a key for the user (creating the user if new); the plaintext is returned only here."""
    user = get_or_create_user(session, user_name)
    raw = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(user_id=user.id, prefix=raw[:10], key_hash=hash_key(raw))
    session.add(key)
    session.flush()
    return key, raw


def list_keys(session: Session, user_name: str | None = None) -> list[tuple[ApiKey, User]]:
    query = select(ApiKey, User).join(User, User.id == ApiKey.user_id).order_by(ApiKey.created_at)
    if user_name is not None:
        query = query.where(User.name == user_name)
    return [(key, user) for key, user in session.execute(query).all()]


def revoke_key(session: Session, key_id_or_prefix: str) -> ApiKey:
    key = session.scalar(
        select(ApiKey).where((ApiKey.id == key_id_or_prefix) | (ApiKey.prefix == key_id_or_prefix))
    )
    if key is None:
        raise NotFound("No such API key", {"key": key_id_or_prefix})
    if key.revoked_at is None:
        key.revoked_at = utcnow()
    return key


def parse_authorization(header: str | None) -> str:
    """Accept the raw key (Bland) or ``Bearer <key>`` (Retell)."""
    if not header or not header.strip():
        raise Unauthorized("API key is missing or invalid.")
    value = header.strip()
    if value[:7].lower() == "bearer ":
        value = value[7:].strip()
    return value


def authenticate(session: Session, header: str | None) -> Principal:
    raw = parse_authorization(header)
    digest = hash_key(raw)
    row = session.execute(
        select(ApiKey, User).join(User, User.id == ApiKey.user_id).where(ApiKey.key_hash == digest)
    ).first()
    # compare_digest keeps the final check constant-time even though the lookup is by index.
    if row is None or not hmac.compare_digest(row[0].key_hash, digest) or row[0].revoked_at is not None:
        raise Unauthorized("API key is missing or invalid.")
    key, user = row
    return Principal(user_id=user.id, user_name=user.name, key_id=key.id)


def principal_of_key(session: Session, key_id: str) -> Principal:
    """The principal of a key known by id (a console session holds the id, never the key); a key
    revoked since is refused like a wrong one."""
    row = session.execute(
        select(ApiKey, User).join(User, User.id == ApiKey.user_id).where(ApiKey.id == key_id)
    ).first()
    if row is None or row[0].revoked_at is not None:
        raise Unauthorized("API key is missing or invalid.")
    key, user = row
    return Principal(user_id=user.id, user_name=user.name, key_id=key.id)
