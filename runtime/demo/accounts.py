"""Sign-in for the demo desk: its sample agents and one requester get a known password on the first start, so that
the pages can be tried at once. Only accounts without a password get one; a password someone set stays."""

from __future__ import annotations

import sqlalchemy as sa

from runtime.auth.accounts import set_password
from runtime.auth.passwords import verify_password
from runtime.compile.desk import CompiledDesk

DEMO_PASSWORD = "tessera-demo"  # the demo serves on 127.0.0.1 only, with invented people
DEMO_ACCOUNTS = (("agent", "alex"), ("agent", "bea"), ("agent", "chen"),
                 ("contact", "maria.lopez@northwind.example.org"))


def demo_sign_ins(compiled: CompiledDesk, engine: sa.Engine) -> list[tuple[str, str]]:
    """Give the demo accounts that have none the demo password; the (kind, login) of every demo account that can
    sign in with it."""
    usable: list[tuple[str, str]] = []
    with engine.begin() as connection:
        for kind, login in DEMO_ACCOUNTS:
            table = compiled.table("agents" if kind == "agent" else "contacts")
            key = table.c.username == login if kind == "agent" else table.c.email == login
            row = connection.execute(sa.select(table.c.password_hash).where(key)).first()
            if row is None:
                continue
            if row.password_hash is None:
                set_password(connection, compiled, kind, login, DEMO_PASSWORD)
                usable.append((kind, login))
            elif verify_password(row.password_hash, DEMO_PASSWORD):
                usable.append((kind, login))
    return usable
