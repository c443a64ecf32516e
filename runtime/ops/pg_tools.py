"""PostgreSQL's own client programs (pg_dump, pg_restore), given a SQLAlchemy URL."""

from __future__ import annotations

import os
import shutil

import sqlalchemy as sa


class ToolMissing(RuntimeError):
    """pg_dump or pg_restore is not on PATH."""


def tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        msg = (f"{name} is not on PATH: install PostgreSQL's client programs (Debian: apt-get install "
               f"postgresql-client, of the server's major version or newer)")
        raise ToolMissing(msg)
    return found


def libpq_target(url: str) -> tuple[str, dict[str, str]]:
    """The connection string for libpq without the password, and the environment that carries it instead, so
    the password never shows in the process list."""
    parsed = sa.make_url(url)
    env = dict(os.environ)
    if parsed.password is not None:
        env["PGPASSWORD"] = str(parsed.password)
    bare = parsed.set(drivername="postgresql", password=None)
    return bare.render_as_string(hide_password=False), env
