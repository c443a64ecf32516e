"""Shared fixtures: real SQLite files and real PostgreSQL databases, one per test."""

from __future__ import annotations

import gc
import importlib.util
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

from runtime.auth import passwords

PG_URL = os.environ.get("TESSERA_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REQUIRE_ALL = os.environ.get("TESSERA_REQUIRE_ALL") == "1"


def _missing(component: str, reason: str) -> None:
    message = f"{component} is not available: {reason}"
    if REQUIRE_ALL:
        pytest.fail(f"{message} (TESSERA_REQUIRE_ALL=1 forbids skipping)")
    pytest.skip(message)


def require_modules(component: str, *modules: str) -> None:
    """At a test module's top (or in a test): skip when ``modules`` are not installed (an optional extra), or fail
    under TESSERA_REQUIRE_ALL=1, where the test command has installed every extra."""
    missing = [name for name in modules if importlib.util.find_spec(name) is None]
    if not missing:
        return
    message = f"{component} is not available: {', '.join(missing)} not installed"
    if REQUIRE_ALL:
        pytest.fail(f"{message} (TESSERA_REQUIRE_ALL=1 forbids skipping)", pytrace=False)
    pytest.skip(message, allow_module_level=True)


def pytest_sessionfinish() -> None:
    """One garbage collection over what the run leaves, then keep those objects out of later collections.

    At the end pytest collects garbage several times over (``gc_collect_harder``) to report late unraisable
    exceptions. Over an xdist worker's heap after a whole run that took more than the 5 s execnet gives a worker to
    finish once the run is over, and execnet then sends the worker a SIGINT (seen as a ``KeyboardInterrupt`` in
    hypothesis's gc callback). This pass still reports what it finds; pytest's own then cover only newer objects."""
    gc.collect()
    gc.freeze()


# Argon2id at RFC 9106 strength (what the desk stores) costs about 0.3 s of CPU per hash and per sign-in, which
# across the suite's many signed-in tests took minutes; the tests hash with the cheapest parameters instead.
# tests/auth/test_passwords.py puts the real hasher back to test it.
QUICK_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture(scope="session", autouse=True)
def quick_password_hashing() -> Iterator[None]:
    real = passwords._HASHER
    passwords._HASHER = QUICK_HASHER
    yield
    passwords._HASHER = real


@contextmanager
def _pg_database() -> Iterator[str]:
    admin_url = sa.make_url(PG_URL)
    if admin_url.drivername == "postgresql":
        admin_url = admin_url.set(drivername="postgresql+psycopg")
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"tessera_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError as exc:
        admin.dispose()
        _missing("PostgreSQL", str(exc).splitlines()[0])
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for this test, dropped afterwards."""
    with _pg_database() as url:
        yield url


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def module_database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """As ``database_url``, shared by the tests of one module (for read-mostly fixtures that are slow to build)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db')}/tessera.db"
        return
    with _pg_database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """Each test using this runs twice: on a SQLite file and on a PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('db')}/tessera.db"
    url: str = request.getfixturevalue("pg_url")
    return url
