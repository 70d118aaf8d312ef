"""The production read agents make before every conversation: fast (Redis) and never stale.

Cache entries are tagged with the persona's revision. Before a transaction that changes
production commits, the engine writes a tombstone tagged with the new revision; readers
that miss go to the database and may fill the cache only with data at least that new.
So a reader that read the old state before the commit cannot put it back afterwards, and
no reader is served the old version once the promotion has committed.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import redis
from sqlalchemy.orm import Session

from greenlight.drafts.connections import hydrate
from greenlight.models import Persona, PersonaVersion
from greenlight.personas.promotion import etag_of
from greenlight.personas.serialize import version_to_dict
from greenlight.personas.service import get_owned_persona
from greenlight.redis_client import key
from greenlight.settings import get_settings
from greenlight.tenancy import owned_by
from greenlight.tracked_cache import CacheUnavailable, TrackedCache

log = logging.getLogger(__name__)

ENTRY_TTL_SECONDS = 24 * 3600

# Fill only if nothing newer is cached: a tombstone admits its own revision, an entry only newer ones.
_FILL = """
local current = redis.call('GET', KEYS[1])
local revision = tonumber(ARGV[1])
if current then
  local entry = cjson.decode(current)
  if entry.tomb then
    if revision < entry.rev then return 0 end
  elseif revision <= entry.rev then
    return 0
  end
end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 1
"""


def cache_key(persona_id: str) -> str:
    return key("production", persona_id)


def production_body(session: Session, persona: Persona, version: PersonaVersion) -> dict[str, Any]:
    """The resolved configuration: the version's fields and its hydrated resources."""
    resources = hydrate(session, version)
    for routing in ("draft_id", "persona_id", "version_number", "status"):
        resources.pop(routing, None)
    return {
        "persona_id": persona.id,
        "user_id": persona.user_id,
        "workspace_id": persona.workspace_id,
        "version": version_to_dict(version),
        "resources": resources,
    }


class ProductionCache:
    def __init__(self, client: redis.Redis):
        self.redis = client
        self._fill = client.register_script(_FILL)

    def invalidate(self, persona_id: str, new_revision: int) -> None:
        """Before commit. Raises if Redis is down: the caller must not commit then."""
        entry = json.dumps({"rev": new_revision, "tomb": True})
        self.redis.set(cache_key(persona_id), entry, ex=ENTRY_TTL_SECONDS)
        # A later round trip: by its reply, Redis has sent every API process's tracked copy of this
        # entry its invalidation (greenlight/tracked_cache.py), so none is served after the commit.
        self.redis.ping()

    def fill(self, persona_id: str, revision: int, etag: str, body: dict[str, Any]) -> None:
        entry = json.dumps({"rev": revision, "etag": etag, "body": body}, separators=(",", ":"))
        try:
            self._fill(keys=[cache_key(persona_id)], args=[revision, entry, ENTRY_TTL_SECONDS])
        except redis.RedisError:
            log.warning("production cache fill failed for %s", persona_id)

    def get(self, persona_id: str) -> tuple[str, dict[str, Any]] | None:
        try:
            raw = self.redis.get(cache_key(persona_id))
        except redis.RedisError:
            return None
        if raw is None:
            return None
        entry = json.loads(raw)
        if entry.get("tomb"):
            return None
        return str(entry["etag"]), dict(entry["body"])


def load_production(session: Session, persona: Persona) -> tuple[int, str, dict[str, Any]] | None:
    """(revision, etag, body) of the persona as this session holds it (just read, or just changed
    and flushed by the engine, which keeps its revision current), or None if nothing is in production."""
    if persona.current_production_version_id is None:
        return None
    version = session.get(PersonaVersion, persona.current_production_version_id)
    if version is None:
        return None
    return int(persona.revision), etag_of(version.id), production_body(session, persona, version)


def read_production(
    session: Session, cache: ProductionCache, workspace_id: str, persona_id: str
) -> tuple[str, dict[str, Any]] | None:
    cached = cache.get(persona_id)
    if cached is not None:
        etag, body = cached
        if body.get("workspace_id") == workspace_id:
            return cached
    persona = get_owned_persona(session, workspace_id, persona_id)
    loaded = load_production(session, persona)
    if loaded is None:
        return None
    revision, etag, body = loaded
    cache.fill(persona_id, revision, etag, body)
    return etag, body


@dataclass(frozen=True)
class ProductionCopy:
    """A cache entry as the read path serves it: the body already encoded as the API answers it."""

    etag: str
    workspace_id: str
    body_json: bytes


def _copy_of(raw: bytes) -> ProductionCopy | None:
    entry = json.loads(raw)
    if entry.get("tomb"):
        return None
    body = entry["body"]
    # The encoding JSON responses use (compact, UTF-8), done once per cache fill instead of per read.
    encoded = json.dumps(body, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()
    return ProductionCopy(str(entry["etag"]), str(body.get("workspace_id")), encoded)


@lru_cache(maxsize=1)
def production_copies() -> TrackedCache[ProductionCopy | None]:
    """This process's copies of the production cache, dropped by Redis the moment an entry changes."""
    return TrackedCache(get_settings().require_redis_url(), _copy_of)


def cached_production(workspace_id: str, persona_id: str) -> ProductionCopy | None:
    """The production configuration from this process's copy, or None (read the slow path then).

    No database and, while the copy is valid, no Redis round trip: agents read this before every
    conversation. Another workspace's persona is never answered here.
    """
    try:
        copy = production_copies().get(cache_key(persona_id))
    except CacheUnavailable:
        return None
    if copy is None or not owned_by(copy, workspace_id):
        return None
    return copy
