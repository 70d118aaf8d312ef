"""Roles and permissions (greenlight/access.py): the ladder a team reads, and a key's narrower role."""

from __future__ import annotations

import itertools

import pytest

from greenlight.access import PERMISSIONS, Forbidden, Permission, Role, allowed, require, within
from greenlight.keys import Principal


def test_each_role_may_do_what_the_one_before_it_may_and_more() -> None:
    for lower, higher in itertools.pairwise(Role):
        assert PERMISSIONS[lower] < PERMISSIONS[higher]
    assert PERMISSIONS[Role.VIEWER] == {Permission.READ}
    assert PERMISSIONS[Role.PROPOSER] == {Permission.READ, Permission.PROPOSE}
    assert PERMISSIONS[Role.ADMIN] == set(Permission)


def test_a_key_does_what_both_its_role_and_its_members_allow() -> None:
    assert allowed(Role.PUBLISHER, None) == PERMISSIONS[Role.PUBLISHER]
    assert allowed(Role.ADMIN, Role.PROPOSER) == PERMISSIONS[Role.PROPOSER]
    # A member demoted below their key's role: the key narrows with them, at once.
    assert allowed(Role.VIEWER, Role.PUBLISHER) == PERMISSIONS[Role.VIEWER]
    assert within(Role.PROPOSER, Role.EDITOR) and not within(Role.ADMIN, Role.EDITOR)


def test_a_refusal_names_the_permission_needed_and_the_role_acting() -> None:
    principal = Principal("u", "ada", "k", "w", Role.ADMIN, key_role=Role.PROPOSER)
    assert principal.may(Permission.PROPOSE) and not principal.may(Permission.EDIT)
    with pytest.raises(Forbidden) as refused:
        principal.require(Permission.PUBLISH)
    assert refused.value.code == "FORBIDDEN"
    assert refused.value.details == {"permission": "publish", "role": "proposer"}
    require(PERMISSIONS[Role.EDITOR], Role.EDITOR, Permission.EDIT)  # allowed: no exception
