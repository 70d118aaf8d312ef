"""The registered operation kinds keep the rules the engine, the queues and schedules rely on."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import BaseModel

from greenlight.errors import Unprocessable
from greenlight.events import EventType
from greenlight.kinds import REGISTRY
from greenlight.kinds.persona_promote import PERSONA_PROMOTE, PromoteDraft
from greenlight.kinds.promotion_schedule import PROMOTION_SCHEDULE, now_or_at
from greenlight.kinds.promotions import Schedulable
from greenlight.kinds.version_publish import VERSION_PUBLISH, PublishVersion
from greenlight.operations.registry import Registry
from greenlight.queues import Queue


def test_names_are_unique_and_a_second_registration_is_refused() -> None:
    names = [kind.name for kind in REGISTRY]
    assert len(names) == len(set(names)) == len(REGISTRY)
    with pytest.raises(ValueError, match=r"persona\.promote"):
        Registry([PERSONA_PROMOTE, PERSONA_PROMOTE])


def test_every_kind_declares_a_queue_events_and_a_payload_model() -> None:
    for kind in REGISTRY:
        assert isinstance(kind.queue, Queue), kind.name
        assert all(isinstance(event, EventType) for event in kind.emits), kind.name
        assert issubclass(kind.payload, BaseModel), kind.name


def test_schedulable_kinds_carry_what_a_schedule_adds() -> None:
    schedulable = REGISTRY.schedulable()
    assert {kind.name for kind in schedulable} == {"persona.promote", "version.publish"}
    for kind in schedulable:
        assert issubclass(kind.payload, Schedulable), kind.name
        # A due schedule submits the stored payload with its id added: it must still parse.
        assert kind.parse({"version": 2, "schedule_id": "s1"}).schedule_id == "s1"


def test_promotions_apply_as_runs_and_acks_wait_on_their_own_queue() -> None:
    assert REGISTRY.run_handler("persona.promote") is PERSONA_PROMOTE
    assert REGISTRY.run_handler("version.publish") is None
    assert REGISTRY.queue("draft.ack") is Queue.ACKS
    assert REGISTRY.queue("persona.promote") is Queue.OPERATIONS


def test_an_unknown_kind_is_refused_as_before() -> None:
    with pytest.raises(Unprocessable, match=r"Unknown operation kind 'persona\.rename'"):
        REGISTRY.get("persona.rename")


def test_payloads_are_stored_as_sent() -> None:
    # The stored JSON is part of each request's identity: only the fields the request set.
    assert PERSONA_PROMOTE.dump(PromoteDraft.model_validate({"notes": "n"})) == {"notes": "n"}
    publish = PublishVersion.model_validate({"version": 3})
    assert VERSION_PUBLISH.submission(publish, "p").payload == {"version": 3}
    assert VERSION_PUBLISH.submission(publish, "p").check is not None
    assert PERSONA_PROMOTE.submission(PromoteDraft(), "p").check is None


def test_a_time_turns_a_promotion_into_a_schedule() -> None:
    at = datetime(2030, 1, 2, 3, 4, tzinfo=UTC)
    now, scheduled = now_or_at(PERSONA_PROMOTE, PromoteDraft(), "p", "key", None)
    assert (now.kind, scheduled) == ("persona.promote", False)
    later, scheduled = now_or_at(PERSONA_PROMOTE, PromoteDraft(), "p", "key", at)
    assert (later.kind, scheduled) == (PROMOTION_SCHEDULE.name, True)
    assert later.payload == {"kind": "persona.promote", "payload": {}, "run_at": at.isoformat()}


def test_a_payload_its_kind_cannot_read_is_refused_not_a_crash() -> None:
    with pytest.raises(Unprocessable) as refused:
        VERSION_PUBLISH.parse({"notes": "no version"})
    assert refused.value.code == "INVALID_PAYLOAD"
    assert refused.value.details == {"kind": "version.publish", "fields": ["version"]}
