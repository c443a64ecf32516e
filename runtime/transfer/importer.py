"""``cli.py import tickets``: rows of a file become tickets, a batch at a time.

For each batch: read and convert the rows (through a mapping, or as a Tessera export), skip those already in the
desk, find the people and rows they name, validate each with its type's create model (the API's), then write the
accepted ones in one transaction. A row that fails anywhere is listed in the report with its reasons and the
import goes on; if the database refuses a batch as a whole, its rows are written one by one so that only the
guilty ones are rejected. A dry run does everything but the writing.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import os
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import sqlalchemy as sa
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from runtime.compile.desk import CompiledDesk
from runtime.db.engine import write_transaction
from runtime.tickets.records import relation_targets
from runtime.transfer.incoming import REJECT, Incoming
from runtime.transfer.mapped_rows import MappedRows
from runtime.transfer.numbers import Numbers, number_value
from runtime.transfer.people import PLACEHOLDER, People
from runtime.transfer.report import Report
from runtime.transfer.source_file import Record, SourceFile
from runtime.transfer.tessera_rows import TesseraRows
from runtime.transfer.writer import BatchWriter

BATCH = 1000
# SQLite's page cache for the import's connection: every batch adds to a dozen indexes of the tickets table, whose
# pages the default 2 MB cache cannot keep between batches.
CACHE_KIB = 64 * 1024
REF_SLOTS = frozenset({"requester_id", "assignee_id", "team_id"})
WHO = {"agents": "agent", "teams": "team", "contacts": "contact", "organizations": "organization"}


@dataclass
class Prepared:
    """A batch read and checked, waiting to be written."""

    rows: list[Incoming]
    accepted: list[Incoming] = field(default_factory=list)
    skipped: int = 0
    taken: set[str] = field(default_factory=set)  # numbers its rows ask for that the desk has already


@dataclass
class Summary:
    rows: int = 0
    imported: int = 0
    skipped: int = 0
    rejected: int = 0
    unresolved: list[str] = field(default_factory=list)  # links and duplicates whose other ticket never came


class Importer:
    def __init__(self, compiled: CompiledDesk, engine: sa.Engine, source: SourceFile,
                 rows: MappedRows | TesseraRows, report: Report, *, dry_run: bool = False, batch: int = BATCH,
                 progress: Callable[[SourceFile, Summary], None] | None = None,
                 now: dt.datetime | None = None) -> None:
        self.compiled, self.engine, self.source, self.rows, self.report = compiled, engine, source, rows, report
        self.dry_run, self.batch, self.progress = dry_run, max(1, batch), progress
        self.now = now or dt.datetime.now(dt.UTC)
        self.mapped = isinstance(rows, MappedRows)
        self.people = People(compiled, engine, dry_run=dry_run)
        self.numbers = Numbers(compiled, engine.dialect.name)
        self.writer = BatchWriter(compiled, engine.dialect)
        self.summary = Summary()
        self.seen: set[str] = set()  # the keys of this run's rows so far: a repeated row is already there
        self.kept_numbers: set[str] = set()  # numbers this run gave
        self.pending: list[tuple[int, Incoming]] = []  # written tickets with links or a duplicate to resolve
        self.prefixes = {t.name: t.number_prefix for t in compiled.definitions.types}
        self.organization_names: dict[int, str | None] = {}

    def run(self) -> Summary:
        """One batch after another, in this thread. (Preparing the next batch in a second thread while the last
        was written gained nothing: only SQLite's own work leaves Python's GIL free, the two threads' handing it
        back and forth cost more CPU than that overlap saved, and on a busy machine the import went slower.)"""
        with young_collections_only():
            for records in self._batches():
                self._settle(self._prepare(records))
                gc.collect(1)
        summary = self._finish()
        self._make_durable()
        return summary

    def _batches(self) -> Iterator[list[Record]]:
        batch: list[Record] = []
        for record in self.source.records():
            batch.append(record)
            if len(batch) >= self.batch:
                yield batch
                batch = []
        if batch:
            yield batch

    def _finish(self) -> Summary:
        if self.pending and not self.dry_run:
            self._resolve_pending()
        return self.summary

    # --- one batch ---------------------------------------------------------------------------------------

    def _prepare(self, records: list[Record]) -> Prepared:
        """Everything but the writing: convert, skip what is there, find the people, validate."""
        rows = [self.rows.convert(record) for record in records]
        prepared = Prepared(rows)
        live = [row for row in rows if not row.reasons]
        with self.engine.connect() as connection:
            live = self._unknown(connection, live, prepared)
            self.people.look_up(connection, [ref for row in live for ref in row.all_refs()])
            for row in live:
                self._check(row)
            self._check_relations(connection, [row for row in live if not row.reasons])
            prepared.accepted = [row for row in live if not row.reasons]
            if not self.dry_run:
                for row in prepared.accepted:
                    self.writer.prepare(row, self._organization_name(connection, row), self.now)
            prepared.taken = set(self.numbers.taken(connection, sorted({
                row.number for row in prepared.accepted
                if row.number is not None and number_value(row.number, self.prefixes[row.type_name]) is not None})))
        return prepared

    def _settle(self, prepared: Prepared) -> None:
        """Write a prepared batch (unless this is a dry run), then count and report its rows."""
        if prepared.accepted and not self.dry_run:
            self._write(prepared.accepted, prepared.taken)
        else:
            self.summary.imported += len(prepared.accepted)
        self.summary.rows += len(prepared.rows)
        self.summary.skipped += prepared.skipped
        for row in prepared.rows:
            if row.reasons:
                self.summary.rejected += 1
                self.report.rejected(row.line, row.key, row.reasons)
        if self.progress is not None:
            self.progress(self.source, self.summary)

    def _unknown(self, connection: sa.Connection, rows: list[Incoming], prepared: Prepared) -> list[Incoming]:
        """The rows that are not in the desk yet: a mapped row by its source and reference, an exported ticket by
        its number and creation time. The same key twice in the file is there the second time."""
        if self.mapped:
            assert isinstance(self.rows, MappedRows)
            tickets = self.compiled.table("tickets")
            refs = sorted({row.key for row in rows})
            there: set[str] = set()
            for start in range(0, len(refs), 500):
                there |= set(connection.execute(sa.select(tickets.c.external_ref).where(
                    tickets.c.source_name == self.rows.mapping.source[:200],
                    tickets.c.external_ref.in_(refs[start:start + 500]))).scalars())
        else:
            taken = self.numbers.taken(connection, sorted({row.key for row in rows if row.key}))
            there = set()
            for row in rows:
                created = taken.get(row.key)
                if created is not None and created == row.master.get("created_at"):
                    there.add(row.key)
                elif created is not None:
                    row.reject(f"number {row.key} belongs to another ticket here (created {created}); a Tessera "
                               "export goes into a desk without those numbers (with a mapping, it gets new ones)")
        fresh = []
        for row in rows:
            if row.reasons:
                continue
            if row.key in there or row.key in self.seen:
                prepared.skipped += 1
                continue
            self.seen.add(row.key)
            fresh.append(row)
        return fresh

    def _check(self, row: Incoming) -> None:
        """The people and rows it names exist (or will be created), and its values pass the type's model."""
        for slot, ref in row.refs.items():
            if ref.absent and ref.missing == REJECT:
                row.reject(f"{slot.removesuffix('_id')}: no {WHO.get(ref.table, ref.table)} with {ref.by} "
                           f"{ref.key!r} in this desk")
            row.values[slot] = None if ref.absent else ref.id
        for comment in row.comments:
            if comment.author is not None and comment.author.absent:
                row.reject(f"comment author: no {WHO.get(comment.author.table, 'person')} {comment.author.key!r}")
        if row.organization is not None and row.organization.absent:
            row.reject(f"organization: no organization {row.organization.key!r}")
        if isinstance(self.rows, MappedRows):
            self.rows.finish(row)
        try:
            row.values = self.compiled.create_models[row.type_name].model_validate(row.values).model_dump()
        except ValidationError as exc:
            row.reasons += [_reason(e) for e in exc.errors()]
            return
        prefix = self.prefixes[row.type_name]
        if not self.mapped and number_value(row.number, prefix) is None:
            row.reject(f"number {row.number!r} is not written as this desk numbers {row.type_name} tickets "
                       f"({prefix}-000123)")

    def _check_relations(self, connection: sa.Connection, rows: list[Incoming]) -> None:
        """Relation fields given as ids (not found through a mapping's ``by``) must point at rows that exist."""
        wanted: dict[str, set[int]] = defaultdict(set)
        checks: list[tuple[Incoming, str, str, int]] = []
        for row in rows:
            for name, table in self._targets(row.type_name).items():
                value = row.values.get(name)
                if name in row.refs or name in REF_SLOTS or not isinstance(value, int) or value == PLACEHOLDER:
                    continue
                wanted[table].add(value)
                checks.append((row, name, table, value))
        found: dict[str, set[int]] = {}
        for table_name, ids in wanted.items():
            target = self.compiled.table(table_name)
            ordered = sorted(ids)
            found[table_name] = set()
            for start in range(0, len(ordered), 500):
                found[table_name] |= set(connection.execute(sa.select(target.c.id).where(
                    target.c.id.in_(ordered[start:start + 500]))).scalars())
        for row, name, table_name, value in checks:
            if value not in found[table_name]:
                row.reject(f"{name}: no {table_name} record with id {value}")

    def _organization_name(self, connection: sa.Connection, row: Incoming) -> str | None:
        """The name of the organization a mapped row's ticket will have (its requester's), for SLA policies that
        select by organization: an existing contact's, or the one a new contact comes with."""
        requester = row.refs.get("requester_id")
        if not self.writer.needs_organization or requester is None or not self.mapped:
            return None
        if requester.id is None or requester.id == PLACEHOLDER:
            return str(requester.organization.key) if requester.organization is not None else None
        organization = self.people.organization_of.get(requester.id)
        if organization is None:
            return None
        if organization not in self.organization_names:
            table = self.compiled.table("organizations")
            self.organization_names[organization] = connection.execute(
                sa.select(table.c.name).where(table.c.id == organization)).scalar()
        return self.organization_names[organization]

    def _targets(self, type_name: str) -> dict[str, str]:
        def build() -> dict[str, str]:
            return relation_targets(self.compiled, type_name)

        return self.compiled.memo(("transfer.relation_targets", type_name), build)

    # --- writing -----------------------------------------------------------------------------------------

    def _write(self, rows: list[Incoming], taken: set[str]) -> None:
        refs = [ref for row in rows for ref in row.all_refs()]
        try:
            # A batch commits without waiting for the disk on SQLite (write_transaction's ``replayable``): the file
            # holds every row, and importing it again adds what a power cut took; ``_make_durable`` waits once.
            with write_transaction(self.engine, replayable=True) as connection:
                if connection.dialect.name == "sqlite":
                    connection.exec_driver_sql(f"PRAGMA cache_size=-{CACHE_KIB}")
                self.people.create(connection, refs, self.now)
                for row in rows:
                    self._fill_created(row)
                numbers = self.numbers.assign(connection, [self._wanted_number(row, taken) for row in rows])
                ids = self.writer.write(connection, rows, numbers, self.now)
        except sa.exc.SQLAlchemyError as exc:
            self.people.rolled_back()
            self.people.forget(refs)
            if len(rows) == 1:
                reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
                rows[0].reject(f"the database refused it: {reason}")
                return
            for row in rows:  # find the rows the database refuses, and write the others
                self._write([row], taken)
            return
        self.people.committed()
        self.kept_numbers.update(numbers)
        self.summary.imported += len(rows)
        self.pending += [(ticket_id, row) for ticket_id, row in zip(ids, rows, strict=True)
                         if row.links or row.duplicate_of]

    def _make_durable(self) -> None:
        """Every batch on disk before the import says it is done: SQLite's file and its write-ahead log are flushed
        (the batches committed without, in synchronous=NORMAL; PostgreSQL's commits waited for the disk already)."""
        database = self.engine.url.database
        if self.dry_run or self.engine.dialect.name != "sqlite" or database in (None, "", ":memory:") \
                or database.startswith("file:"):
            return
        for path in (database, f"{database}-wal"):
            with contextlib.suppress(FileNotFoundError):
                descriptor = os.open(path, os.O_RDONLY)
                try:
                    os.fsync(descriptor)
                finally:
                    os.close(descriptor)

    def _fill_created(self, row: Incoming) -> None:
        """The ticket's organization: as an export says, else its requester's (who may have been created just now;
        the writer takes the ids of the people a row names from its refs)."""
        requester = row.refs.get("requester_id")
        if row.organization is not None or not self.mapped:  # an export says which, none included
            row.master["organization_id"] = row.organization.id if row.organization is not None else None
        elif requester is not None and requester.id is not None:
            row.master["organization_id"] = self.people.organization_of.get(requester.id)
        else:
            row.master["organization_id"] = None

    def _wanted_number(self, row: Incoming, taken: set[str]) -> tuple[str, int | None]:
        """The row's own number where it is written as ours and free (an export's was checked already), else
        None for a new one."""
        prefix = self.prefixes[row.type_name]
        value = number_value(row.number, prefix)
        if value is not None and self.mapped and (row.number in self.kept_numbers or row.number in taken):
            value = None
        return prefix, value

    # --- links between tickets ---------------------------------------------------------------------------

    def _resolve_pending(self) -> None:
        """Links and duplicates name other tickets by number; those may come later in the file, so they are
        written once every ticket is in."""
        numbers = sorted({link["ticket"] for _, row in self.pending for link in row.links if link.get("ticket")}
                         | {row.duplicate_of for _, row in self.pending if row.duplicate_of})
        tickets = self.compiled.table("tickets")
        ids: dict[str, int] = {}
        with self.engine.connect() as connection:
            for start in range(0, len(numbers), 500):
                ids |= {number: ticket_id for ticket_id, number in connection.execute(
                    sa.select(tickets.c.id, tickets.c.number).where(tickets.c.number.in_(numbers[start:start + 500])))}
        links, duplicates = [], []
        for ticket_id, row in self.pending:
            for link in row.links:
                other = ids.get(link.get("ticket") or "")
                if other is None:
                    self.summary.unresolved.append(f"{row.key}: {link['relation']} link to {link.get('ticket')}")
                    continue
                links.append({"ticket_id": ticket_id, "other_id": other, "relation": link["relation"],
                              "created_at": link["created_at"], "score": link.get("score")})
            if row.duplicate_of:
                other = ids.get(row.duplicate_of)
                if other is None:
                    self.summary.unresolved.append(f"{row.key}: duplicate of {row.duplicate_of}")
                else:
                    duplicates.append({"the_ticket": ticket_id, "the_original": other})
        with write_transaction(self.engine) as connection:
            if links:
                connection.execute(sa.insert(self.compiled.table("ticket_links")), links)
            if duplicates:
                connection.execute(sa.update(tickets).where(tickets.c.id == sa.bindparam("the_ticket"))
                                   .values(duplicate_of_id=sa.bindparam("the_original")), duplicates)


@contextlib.contextmanager
def young_collections_only() -> Iterator[None]:
    """Python's automatic garbage collection off for the import, which collects the young objects once per batch
    instead. A batch allocates hundreds of thousands of containers (rows, values, clocks) that live until it is
    written, so the automatic collector ran every few hundred allocations and, now and then, went through every
    object of the process (the compiled desk, the models, SQLAlchemy's tables): about 35 µs per ticket. Cycles a
    batch leaves behind (a caught exception and its frames) are young, so the collection per batch finds them."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _reason(error: ErrorDetails) -> str:
    """A field's problem as the API words it, with the value that has it (a file's values are worth seeing)."""
    field = ".".join(str(p) for p in error["loc"]) or "(row)"
    found = error.get("input")
    shown = f" (found {found!r})" if error["type"] != "missing" and isinstance(found, (str, int, float)) else ""
    return f"{field}: {error['msg']}{shown}"
