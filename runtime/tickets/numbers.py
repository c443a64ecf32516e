"""Human ticket numbers per type prefix (IT-000123), unique however many writers create at once."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite


def next_number(connection: sa.Connection, counters: sa.Table, prefix: str) -> str:
    """Increment the prefix's counter in this transaction; the row lock serializes concurrent creators."""
    bump = (sa.update(counters).where(counters.c.prefix == prefix)
            .values(last_number=counters.c.last_number + 1).returning(counters.c.last_number))
    number = connection.execute(bump).scalar()
    if number is None:
        insert = (postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert)(counters)
        connection.execute(insert.values(prefix=prefix, last_number=0).on_conflict_do_nothing())
        number = connection.execute(bump).scalar_one()
    return f"{prefix}-{number:06d}"
