"""Passwords are stored as Argon2id hashes, checked without ever raising, and refused when too short."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

from runtime.auth import passwords
from runtime.auth.accounts import set_password
from runtime.auth.passwords import hash_password, needs_rehash, verify_password
from tests.auth import auth_desk

GOOD = "correct horse battery"


@pytest.fixture(autouse=True)
def real_hasher() -> Iterator[None]:
    """The suite hashes cheaply (tests/conftest.py); here the desk's own parameters are under test."""
    quick = passwords._HASHER
    passwords._HASHER = PasswordHasher()
    yield
    passwords._HASHER = quick


def test_a_hash_verifies_its_password_and_no_other() -> None:
    hashed = hash_password(GOOD)
    assert hashed.startswith("$argon2id$")
    assert GOOD not in hashed
    assert verify_password(hashed, GOOD)
    assert not verify_password(hashed, GOOD + "!")
    assert not verify_password(hashed, "")


def test_the_same_password_hashes_differently_each_time() -> None:
    assert hash_password(GOOD) != hash_password(GOOD)


@pytest.mark.parametrize("malformed", ["", "plain text", "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$",
                                       "$argon2id$v=19$m=1,t=1,p=1$zz$zz"])
def test_a_malformed_hash_is_a_mismatch_not_an_error(malformed: str) -> None:
    assert verify_password(malformed, GOOD) is False
    assert needs_rehash(malformed)


def test_hashes_made_with_weaker_parameters_need_rehashing() -> None:
    assert not needs_rehash(hash_password(GOOD))
    assert needs_rehash(PasswordHasher(time_cost=1, memory_cost=8192).hash(GOOD))


@pytest.mark.parametrize(("plain", "reason"), [("", "empty"), ("123456789", "9 characters long; at least 10")])
def test_short_passwords_are_refused_with_the_reason(plain: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        hash_password(plain)


def test_ten_characters_are_enough() -> None:
    assert verify_password(hash_password("0123456789"), "0123456789")


def test_setting_an_agents_password_stores_a_verifiable_hash(tmp_path: Path, database_url: str) -> None:
    desk = auth_desk(tmp_path / "desk", database_url)
    desk.add_agent("alex")
    agents = desk.compiled.table("agents")
    with desk.engine.begin() as connection:
        assert set_password(connection, desk.compiled, "agent", "alex", GOOD)
        assert not set_password(connection, desk.compiled, "agent", "nobody", GOOD)
        stored = connection.execute(sa.select(agents.c.password_hash).where(agents.c.username == "alex")).scalar_one()
    assert verify_password(stored, GOOD)
