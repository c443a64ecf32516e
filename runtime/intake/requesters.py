"""Who wrote: the sender's contact, found by address or created, with the organization owning the domain.

Organizations are only matched, never created from a domain: a new organization per sender domain would put
everyone writing from the same free-mail provider in one organization, and with ``requesters_see_organization``
let them read each other's tickets.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from runtime.compile.desk import CompiledDesk
from runtime.db.engine import write_transaction
from runtime.intake.mail.headers import Address
from runtime.tickets.actors import Actor, contact_actor

NAME_MAX = 200


def parent_domains(domain: str) -> list[str]:
    """``mail.northwind.example.org`` → itself, ``northwind.example.org``, ``example.org``."""
    labels = domain.lower().strip(".").split(".")
    return [".".join(labels[i:]) for i in range(max(len(labels) - 1, 1))]


class Requesters:
    def __init__(self, compiled: CompiledDesk, engine: sa.Engine) -> None:
        self.compiled = compiled
        self.engine = engine
        contacts, organizations = compiled.table("contacts"), compiled.table("organizations")
        self.contacts = contacts
        dialect = sqlite if engine.dialect.name == "sqlite" else postgresql
        self._find = compiled.memo("intake.contact_by_email", lambda: sa.select(contacts.c.id).where(
            contacts.c.email.in_(sa.bindparam("emails", expanding=True))).order_by(contacts.c.id).limit(1))
        self._organization = compiled.memo("intake.organization_by_domain", lambda: sa.select(
            organizations.c.id, organizations.c.domain).where(
            sa.func.lower(organizations.c.domain).in_(sa.bindparam("domains", expanding=True))))
        self._insert = compiled.memo(("intake.insert_contact", engine.dialect.name), lambda: dialect.insert(
            contacts).on_conflict_do_nothing(index_elements=["email"]).returning(contacts.c.id))
        self._bounce = compiled.memo("intake.bounce", lambda: sa.update(contacts).where(
            contacts.c.email.in_(sa.bindparam("emails", expanding=True))))
        self._unbounce = compiled.memo("intake.unbounce", lambda: sa.update(contacts).where(
            contacts.c.id == sa.bindparam("contact"), contacts.c.bounced_at.is_not(None)).values(bounced_at=None))

    def find(self, connection: sa.Connection, address: Address) -> int | None:
        found: Any = connection.execute(self._find, {"emails": sorted({address.email, address.written})}).scalar()
        return None if found is None else int(found)

    def actor(self, address: Address) -> Actor:
        """``address``'s contact (created if new) as the actor that writes what it sent."""
        contact_id = self.identify(address)
        with self.engine.connect() as connection:
            return contact_actor(connection, self.compiled, contact_id)

    def identify(self, address: Address) -> int:
        """The contact id of ``address``, creating the contact (and matching its organization) if new."""
        with self.engine.connect() as connection:
            found = self.find(connection, address)
        if found is not None:
            return found
        now = dt.datetime.now(dt.UTC)
        with write_transaction(self.engine) as connection:
            domain = address.email.rpartition("@")[2]
            candidates = parent_domains(domain)
            organizations = connection.execute(self._organization, {"domains": candidates}).all()
            # The most specific domain wins: a subsidiary's own domain over its parent's.
            organization = min(organizations, key=lambda o: candidates.index(o.domain.lower()), default=None)
            created: Any = connection.execute(self._insert, {
                "email": address.email, "name": address.name[:NAME_MAX] or None,
                "organization_id": organization.id if organization else None, "created_at": now, "updated_at": now,
            }).scalar()
            if created is None:  # someone else created it since we looked
                created = self.find(connection, address)
        return int(created)

    def delivers(self, connection: sa.Connection, contact_id: int) -> None:
        """Mail came from this contact's address, so it works again: clear a bounce recorded on it."""
        connection.execute(self._unbounce, {"contact": contact_id})

    def record_bounces(self, emails: Iterable[str]) -> int:
        """Mark contacts whose address a delivery report says failed; returns how many were marked."""
        wanted = sorted({e.lower() for e in emails})
        if not wanted:
            return 0
        now = dt.datetime.now(dt.UTC)
        with write_transaction(self.engine) as connection:
            marked = connection.execute(self._bounce.values(bounced_at=now, updated_at=now), {"emails": wanted})
        return int(marked.rowcount or 0)
