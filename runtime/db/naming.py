"""One naming rule for every constraint and index, identical on SQLite and PostgreSQL.

SQLAlchemy would shorten over-long names only for dialects with a limit, so the same desk would get
different names on SQLite and PostgreSQL; we shorten ourselves, deterministically, for both.
"""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import MetaData

MAX_IDENTIFIER = 63


def short_name(name: str) -> str:
    """``name`` if it fits in 63 bytes, else a prefix plus an 8-character hash of the whole."""
    if len(name.encode()) <= MAX_IDENTIFIER:
        return name
    digest = hashlib.sha1(name.encode()).hexdigest()[:8]
    return f"{name.encode()[: MAX_IDENTIFIER - 9].decode(errors='ignore')}_{digest}"


def _columns(constraint: Any) -> str:
    return "_".join(column.name for column in constraint.columns)


def _pk(_constraint: Any, table: Any) -> str:
    return short_name(f"pk_{table.name}")


def _fk(constraint: Any, table: Any) -> str:
    referred = constraint.elements[0].target_fullname.split(".")[-2] if constraint.elements else "x"
    return short_name(f"fk_{table.name}_{_columns(constraint)}_{referred}")


def _uq(constraint: Any, table: Any) -> str:
    return short_name(f"uq_{table.name}_{_columns(constraint)}")


def _ix(index: Any, table: Any) -> str:
    return short_name(f"ix_{table.name}_{_columns(index)}")


def _ck(constraint: Any, table: Any) -> str:
    return short_name(f"ck_{table.name}_{constraint.name}")


NAMING_CONVENTION: dict[str, Any] = {
    "pk_name": _pk, "fk_name": _fk, "uq_name": _uq, "ix_name": _ix, "ck_name": _ck,
    "pk": "%(pk_name)s", "fk": "%(fk_name)s", "uq": "%(uq_name)s", "ix": "%(ix_name)s", "ck": "%(ck_name)s",
}


def new_metadata() -> MetaData:
    return MetaData(naming_convention=NAMING_CONVENTION)
