"""The notification loops the workers run: relay and dispatch (``pump``), and sending (``deliver``).

Each step is its own short transaction; no transaction is open during an HTTP request. Every send
is recorded durably, so a crash anywhere loses nothing: the database is the source of truth and
beat runs ``pump`` again, which re-claims deliveries whose sender's lease ran out.
"""

from __future__ import annotations

import logging
import random
import time

import redis

from greenlight.db import unit_of_work
from greenlight.dispatch import Dispatcher
from greenlight.notifications import delivery
from greenlight.notifications.delivery import Claim
from greenlight.notifications.relay import Relayed, has_unrelayed, relay_batch
from greenlight.notifications.signing import signature_header
from greenlight.notifications.stream import announce
from greenlight.notifications.transport import AttemptResult, post
from greenlight.redis_client import get_redis
from greenlight.settings import Settings, get_settings

log = logging.getLogger(__name__)

MAX_RELAY_BATCHES = 20
MAX_STREAM_RUN = 100


class Notifier:
    def __init__(self, client: redis.Redis | None = None, settings: Settings | None = None):
        self.redis = client or get_redis()
        self.settings = settings or get_settings()
        self.rng = random.Random()

    def relay(self) -> int:
        """Number and fan out every unrelayed event, announcing each committed batch."""
        total = 0
        for _ in range(MAX_RELAY_BATCHES):
            with unit_of_work() as session:
                if not has_unrelayed(session):
                    break
            with unit_of_work() as session:
                relayed: Relayed = relay_batch(session, self.settings)
            announce(self.redis, relayed)
            total += relayed.count
            if relayed.count < self.settings.outbox_relay_batch_size:
                break
        return total

    def pump(self, dispatcher: Dispatcher) -> int:
        """Relay, then claim the due deliveries and hand each to a sender (after the commit)."""
        relayed = self.relay()
        with unit_of_work() as session:
            claims = delivery.claim_due(session, self.settings)
        for claim in claims:
            dispatcher.enqueue_delivery(claim.delivery_id, claim.token)
        if relayed or claims:
            log.info("relayed %d events, dispatched %d deliveries", relayed, len(claims))
        return relayed + len(claims)

    def deliver(self, claim: Claim) -> int:
        """Send a claimed delivery, then the next events of the same endpoint and persona while each
        finishes (delivered or dead-lettered); stops at the first that will be retried later."""
        sent = 0
        current: Claim | None = claim
        while current is not None and sent < MAX_STREAM_RUN:
            with unit_of_work() as session:
                attempt = delivery.begin_attempt(session, current, self.settings)
            if attempt is None:
                return sent
            timestamp = int(time.time())
            headers = {
                "webhook-id": attempt.message_id,
                "webhook-timestamp": str(timestamp),
                "webhook-signature": signature_header(
                    attempt.secrets, attempt.message_id, timestamp, attempt.body
                ),
            }
            try:
                result = post(
                    attempt.url,
                    attempt.body,
                    headers,
                    timeout=self.settings.webhook_timeout_seconds,
                    allow_private=self.settings.webhook_allow_private,
                )
            except Exception as exc:  # a bug or an odd URL must cost an attempt, not loop forever
                log.exception("webhook %s could not be sent", attempt.message_id)
                result = AttemptResult(None, 0, f"{type(exc).__name__}: {exc}"[:500])
            with unit_of_work() as session:
                finished = delivery.record_attempt(session, current, result, self.settings, self.rng)
            sent += 1
            log.info(
                "webhook %s to endpoint %s: %s in %d ms",
                attempt.message_id,
                attempt.endpoint_id,
                result.status_code or result.error,
                result.latency_ms,
            )
            if not finished:
                return sent
            with unit_of_work() as session:
                current = delivery.claim_next_in_stream(
                    session, attempt.endpoint_id, attempt.persona_id, self.settings
                )
        return sent
