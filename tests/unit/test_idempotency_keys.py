"""What makes an Idempotency-Key valid, and what makes two requests the same request."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from greenlight.errors import InvalidRequest
from greenlight.idempotency import MAX_KEY_LENGTH, fingerprint, reuse_refusal, validate_key


@pytest.mark.parametrize("key", ["a", "order-42", "é" * MAX_KEY_LENGTH, "with space", "😀"])
def test_printable_keys_up_to_the_limit_are_kept_as_given(key: str) -> None:
    assert validate_key(key) == key


def test_no_key_is_no_key() -> None:
    assert validate_key(None) is None


@pytest.mark.parametrize("key", ["", "x" * (MAX_KEY_LENGTH + 1), "tab\there", "nul\x00", "del\x7f", "\n"])
def test_empty_long_or_control_character_keys_are_refused_as_invalid(key: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        validate_key(key)
    assert refused.value.code == "INVALID_IDEMPOTENCY_KEY"


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=8,
)


@given(st.dictionaries(st.text(max_size=4), JSON, max_size=5))
def test_key_order_does_not_change_the_request(payload: dict[str, object]) -> None:
    reordered = dict(reversed(list(payload.items())))
    assert fingerprint("persona.promote", "p", payload) == fingerprint("persona.promote", "p", reordered)


def test_kind_target_and_payload_each_make_another_request() -> None:
    base = fingerprint("persona.promote", "p1", {"notes": "a"})
    assert base != fingerprint("version.publish", "p1", {"notes": "a"})
    assert base != fingerprint("persona.promote", "p2", {"notes": "a"})
    assert base != fingerprint("persona.promote", "p1", {"notes": "b"})
    assert fingerprint("persona.create", None, {}) == fingerprint("persona.create", "", {})


def test_a_key_reused_for_another_request_is_refused_naming_the_key_and_its_operation() -> None:
    assert reuse_refusal("k", "same", "same", "op-1") is None
    refusal = reuse_refusal("k", "earlier", "other", "op-1")
    assert refusal is not None and refusal.code == "IDEMPOTENCY_KEY_REUSED"
    assert refusal.details == {"idempotency_key": "k", "operation_id": "op-1"}
    stored = reuse_refusal("k", "earlier", "other")
    assert stored is not None and stored.details == {"idempotency_key": "k"}
