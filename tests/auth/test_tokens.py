"""API tokens: only their hash is stored, and revoked, expired or orphaned tokens grant nothing."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pytest
import sqlalchemy as sa

from runtime.auth.tokens import SCOPES, TokenGrant, authenticate, create_token, list_tokens, revoke_token
from tests.auth import AuthDesk, auth_desk

NOW = dt.datetime.now(dt.UTC)


@pytest.fixture
def desk(tmp_path: Path, database_url: str) -> AuthDesk:
    return auth_desk(tmp_path / "desk", database_url)


def _create(desk: AuthDesk, agent_id: int, scopes: tuple[str, ...] = ("tickets:read",),
            expires_in: dt.timedelta | None = None) -> tuple[int, str]:
    with desk.engine.begin() as connection:
        return create_token(connection, desk.compiled, agent_id, "ci", scopes, expires_in)


def _authenticate(desk: AuthDesk, plaintext: str, now: dt.datetime | None = None) -> TokenGrant | None:
    with desk.engine.begin() as connection:
        return authenticate(connection, desk.compiled, plaintext, now)


def _last_used(desk: AuthDesk, token_id: int) -> dt.datetime | None:
    tokens = desk.compiled.table("api_tokens")
    with desk.engine.connect() as connection:
        stamp: dt.datetime | None = connection.execute(
            sa.select(tokens.c.last_used_at).where(tokens.c.id == token_id)).scalar_one()
        return stamp


def _list(desk: AuthDesk, agent_id: int | None = None) -> list[dict[str, object]]:
    with desk.engine.connect() as connection:
        return list_tokens(connection, desk.compiled, agent_id)


def test_a_new_token_grants_its_agent_and_scopes(desk: AuthDesk) -> None:
    alex = desk.add_agent("alex")
    token_id, plaintext = _create(desk, alex, ("tickets:write", "people:read", "tickets:write"))
    assert plaintext.startswith("tsr_")
    assert len(plaintext) > 40
    assert _authenticate(desk, plaintext) == TokenGrant(token_id, alex, frozenset({"tickets:write", "people:read"}))


def test_every_scope_round_trips(desk: AuthDesk) -> None:
    _, plaintext = _create(desk, desk.add_agent("alex"), SCOPES)
    grant = _authenticate(desk, plaintext)
    assert grant is not None
    assert grant.scopes == frozenset(SCOPES)


def test_only_the_sha256_of_the_token_is_stored(desk: AuthDesk) -> None:
    token_id, plaintext = _create(desk, desk.add_agent("alex"))
    tokens = desk.compiled.table("api_tokens")
    with desk.engine.connect() as connection:
        row = connection.execute(sa.select(tokens).where(tokens.c.id == token_id)).one()
    assert row.token_hash == hashlib.sha256(plaintext.encode()).hexdigest()
    assert plaintext not in [str(value) for value in row]


def test_two_tokens_never_share_a_secret(desk: AuthDesk) -> None:
    alex = desk.add_agent("alex")
    assert _create(desk, alex)[1] != _create(desk, alex)[1]


def test_a_wrong_token_grants_nothing(desk: AuthDesk) -> None:
    _, plaintext = _create(desk, desk.add_agent("alex"))
    altered = plaintext[:-1] + ("A" if plaintext[-1] != "A" else "B")
    assert _authenticate(desk, altered) is None
    assert _authenticate(desk, plaintext.removeprefix("tsr_")) is None
    assert _authenticate(desk, "") is None


def test_a_revoked_token_grants_nothing_and_revoking_is_reported_once(desk: AuthDesk) -> None:
    token_id, plaintext = _create(desk, desk.add_agent("alex"))
    with desk.engine.begin() as connection:
        assert revoke_token(connection, desk.compiled, token_id)
        assert not revoke_token(connection, desk.compiled, token_id)
        assert not revoke_token(connection, desk.compiled, token_id + 1000)
    assert _authenticate(desk, plaintext) is None


def test_a_token_expires_after_its_lifetime(desk: AuthDesk) -> None:
    _, plaintext = _create(desk, desk.add_agent("alex"), expires_in=dt.timedelta(hours=1))
    assert _authenticate(desk, plaintext, NOW + dt.timedelta(minutes=30)) is not None
    assert _authenticate(desk, plaintext, NOW + dt.timedelta(hours=2)) is None


def test_a_token_without_expiry_keeps_working(desk: AuthDesk) -> None:
    _, plaintext = _create(desk, desk.add_agent("alex"))
    assert _authenticate(desk, plaintext, NOW + dt.timedelta(days=3650)) is not None


def test_a_deactivated_agents_tokens_grant_nothing(desk: AuthDesk) -> None:
    alex = desk.add_agent("alex")
    _, plaintext = _create(desk, alex)
    agents = desk.compiled.table("agents")
    with desk.engine.begin() as connection:
        connection.execute(sa.update(agents).where(agents.c.id == alex).values(active=False))
    assert _authenticate(desk, plaintext) is None


@pytest.mark.parametrize(("scopes", "expires_in", "message"), [
    (("tickets:read", "tickets:delete"), None,
     "unknown scope tickets:delete; allowed: tickets:read, tickets:write, people:read, people:write, metrics:read, "
     "admin"),
    ((), None, "at least one scope"),
    (("admin",), dt.timedelta(seconds=-1), "future"),
])
def test_bad_requests_are_refused(desk: AuthDesk, scopes: tuple[str, ...], expires_in: dt.timedelta | None,
                                  message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _create(desk, desk.add_agent("alex"), scopes, expires_in)
    assert _list(desk) == []


def test_inactive_and_unknown_agents_get_no_token(desk: AuthDesk) -> None:
    retired = desk.add_agent("retired", active=False)
    for agent_id in (retired, retired + 1000):
        with pytest.raises(ValueError, match="unknown or inactive"):
            _create(desk, agent_id)


def test_last_use_is_recorded_at_most_once_a_minute(desk: AuthDesk) -> None:
    token_id, plaintext = _create(desk, desk.add_agent("alex"))
    assert _last_used(desk, token_id) is None
    first = NOW + dt.timedelta(minutes=5)
    assert _authenticate(desk, plaintext, first) is not None
    assert _last_used(desk, token_id) == first
    assert _authenticate(desk, plaintext, first + dt.timedelta(seconds=59)) is not None
    assert _last_used(desk, token_id) == first
    later = first + dt.timedelta(seconds=60)
    assert _authenticate(desk, plaintext, later) is not None
    assert _last_used(desk, token_id) == later


def test_listing_shows_each_agents_tokens_without_hashes(desk: AuthDesk) -> None:
    alex, bea = desk.add_agent("alex"), desk.add_agent("bea")
    first, _ = _create(desk, alex, ("admin", "tickets:read"), dt.timedelta(days=1))
    second, _ = _create(desk, bea)
    with desk.engine.begin() as connection:
        revoke_token(connection, desk.compiled, first)
    listed = _list(desk)
    assert [(t["id"], t["agent"], t["scopes"]) for t in listed] == [
        (first, "alex", ["admin", "tickets:read"]), (second, "bea", ["tickets:read"])]
    assert all("token_hash" not in t for t in listed)
    assert listed[0]["revoked_at"] is not None
    assert listed[1]["revoked_at"] is None
    assert [t["id"] for t in _list(desk, bea)] == [second]
