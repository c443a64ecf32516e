"""How far each polled IMAP folder has been read: the highest UID stored, valid only with its UIDVALIDITY."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from runtime.compile.desk import CompiledDesk
from runtime.db.engine import write_transaction


class Cursors:
    def __init__(self, compiled: CompiledDesk, engine: sa.Engine) -> None:
        self.engine = engine
        table = compiled.table("intake_cursors")
        dialect = sqlite if engine.dialect.name == "sqlite" else postgresql
        self._read = compiled.memo("intake.cursor", lambda: sa.select(table.c.uidvalidity, table.c.last_uid).where(
            table.c.mailbox == sa.bindparam("mailbox"), table.c.folder == sa.bindparam("folder")))

        def upsert() -> sa.Insert:
            insert = dialect.insert(table)
            statement: sa.Insert = insert.on_conflict_do_update(index_elements=["mailbox", "folder"], set_={
                "uidvalidity": insert.excluded.uidvalidity, "last_uid": insert.excluded.last_uid,
                "updated_at": insert.excluded.updated_at})
            return statement
        self._write = compiled.memo(("intake.cursor_write", engine.dialect.name), upsert)

    def start_after(self, mailbox: str, folder: str, uidvalidity: int) -> int:
        """The last UID read from the folder; 0 (read everything) when the server renumbered it since."""
        with self.engine.connect() as connection:
            row = connection.execute(self._read, {"mailbox": mailbox, "folder": folder}).first()
        if row is None or row.uidvalidity != uidvalidity:
            return 0
        return int(row.last_uid)

    def advance(self, mailbox: str, folder: str, uidvalidity: int, last_uid: int) -> None:
        with write_transaction(self.engine) as connection:
            connection.execute(self._write, {"mailbox": mailbox, "folder": folder, "uidvalidity": uidvalidity,
                                             "last_uid": last_uid, "updated_at": dt.datetime.now(dt.UTC)})
