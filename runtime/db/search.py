"""The full-text index's database objects: their names and the SQL that creates and drops them.

A table takes part in search when its ``info["search"]`` maps columns to weights (A most important, then
B, C, D, as in PostgreSQL). Each row is one document: a ticket (number, title, description) or a comment
(body); the query side combines them per ticket. Revisions get this SQL as text, so what is written here
applies to revisions generated from now on; the query side (runtime/tickets/search.py) reads the names.

SQLite: an FTS5 table per searched table, with *external content* (``content='tickets'``): the text stays
in the ticket or comment row alone, FTS5 reads it from there to ``rebuild`` (the backfill) and to check
itself, and triggers keep the index in step with every writer. A contentless table would also store no
text, but SQLite before 3.43 cannot delete from one without being given the old text, which triggers have
anyway, and it cannot rebuild. A merge moves comments by changing ``ticket_id`` only, which the index does
not hold: the query joins the comment row for its ticket, so no trigger is needed for that.

PostgreSQL: a GIN index on an expression over the same columns, so the database keeps it in step itself.
"""

from __future__ import annotations

from typing import Any

from runtime.db.naming import short_name

CONFIG = "tessera_search"  # PostgreSQL text search configuration: 'simple' (no stemming, any language) + unaccent
# Mirrors ts_rank's default weights {D 0.1, C 0.2, B 0.4, A 1.0} as bm25() column multipliers on SQLite.
BM25_WEIGHTS = {"A": 10, "B": 4, "C": 2, "D": 1}
# FTS5 splits words at every character that is not a letter, digit or mark; PostgreSQL's parser keeps
# 'IT-000123', 'a.b@c.org' or '14.6' as one token (or reads '-000123' as a negative number). Turning ASCII
# punctuation into spaces first makes both databases find the same words. (Translate, not a regular
# expression: it is immutable and does not depend on the database's locale.)
ASCII_PUNCTUATION = "".join(chr(c) for c in range(33, 127) if not chr(c).isalnum())
# Marks (M*) count as part of a word so that a decomposed 'é' (e + U+0301) folds to 'e' like a composed one.
SQLITE_TOKENIZER = "unicode61 remove_diacritics 2 categories 'L* N* Co M*'"
_TOKEN_TYPES = ("asciiword, word, numword, asciihword, hword, numhword, hword_asciipart, hword_part, "
                "hword_numpart")

Columns = dict[str, str]  # column → weight letter


def fts_table(table: str) -> str:
    """The FTS5 table on SQLite; FTS5 adds its own tables named ``<this>_data``, ``_idx``, ``_docsize``…"""
    return short_name(f"fts_{table}")


def gin_index(table: str) -> str:
    # Not ix_<table>_search: the naming convention gives that name to an index on a builder's field 'search'.
    return fts_table(table)


def is_search_object(name: str) -> bool:
    """Whether a table or index belongs to a full-text index: the compiled tables do not describe these."""
    return name.startswith("fts_")


def sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def pg_document(columns: Columns, qualifier: str = "") -> str:
    """The tsvector expression the GIN index holds; a query must spell it the same way to use the index."""
    spaces = sql_text(" " * len(ASCII_PUNCTUATION))
    parts = [f"setweight(to_tsvector('{CONFIG}'::regconfig, translate({qualifier}{column}, "
             f"{sql_text(ASCII_PUNCTUATION)}, {spaces})), '{weight}')" for column, weight in columns.items()]
    return " || ".join(parts)


def sqlite_triggers(table: str, columns: Columns) -> list[str]:
    """The triggers alone: SQLite drops them with their table when a batch migration rebuilds it."""
    fts, names = fts_table(table), ", ".join(columns)
    new = ", ".join(f"new.{c}" for c in columns)
    old = ", ".join(f"old.{c}" for c in columns)
    add = f"INSERT INTO {fts}(rowid, {names}) VALUES (new.id, {new});"
    remove = f"INSERT INTO {fts}({fts}, rowid, {names}) VALUES ('delete', old.id, {old});"
    return [
        f"CREATE TRIGGER IF NOT EXISTS {fts}_insert AFTER INSERT ON {table} BEGIN {add} END",
        f"CREATE TRIGGER IF NOT EXISTS {fts}_delete AFTER DELETE ON {table} BEGIN {remove} END",
        f"CREATE TRIGGER IF NOT EXISTS {fts}_update AFTER UPDATE OF {names} ON {table} BEGIN {remove} {add} END",
    ]


def sqlite_create(table: str, columns: Columns) -> list[str]:
    fts = fts_table(table)
    return [
        f"CREATE VIRTUAL TABLE {fts} USING fts5({', '.join(columns)}, content='{table}', content_rowid='id', "
        f"tokenize=\"{SQLITE_TOKENIZER}\")",
        *sqlite_triggers(table, columns),
        # Indexes the rows already there.
        f"INSERT INTO {fts}({fts}) VALUES ('rebuild')",
    ]


def sqlite_drop(table: str) -> list[str]:
    fts = fts_table(table)
    return [*(f"DROP TRIGGER IF EXISTS {fts}_{event}" for event in ("insert", "delete", "update")),
            f"DROP TABLE IF EXISTS {fts}"]


def pg_create(table: str, columns: Columns) -> list[str]:
    # Building the index reads the rows already there: that is the backfill.
    return [f"CREATE INDEX {gin_index(table)} ON {table} USING gin (({pg_document(columns)}))"]


def pg_drop(table: str) -> list[str]:
    return [f"DROP INDEX IF EXISTS {gin_index(table)}"]


def pg_setup() -> list[str]:
    """The text search configuration, before the first index. Without the unaccent extension (it ships with
    PostgreSQL's contrib, but a hosted server may lack it) search still works, only without folding
    diacritics; the migration warns instead of failing."""
    return [
        f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_ts_config WHERE cfgname = '{CONFIG}') THEN "
        f"CREATE TEXT SEARCH CONFIGURATION {CONFIG} (COPY = simple); "
        "BEGIN CREATE EXTENSION IF NOT EXISTS unaccent; "
        f"ALTER TEXT SEARCH CONFIGURATION {CONFIG} ALTER MAPPING FOR {_TOKEN_TYPES} WITH unaccent, simple; "
        "EXCEPTION WHEN OTHERS THEN RAISE WARNING 'unaccent is not available (%): full-text search will not "
        "ignore diacritics', SQLERRM; END; END IF; END $$",
    ]


def pg_teardown() -> list[str]:
    # The unaccent extension stays: other objects may use it, and it holds no data of ours.
    return [f"DROP TEXT SEARCH CONFIGURATION IF EXISTS {CONFIG}"]


def searched(entry: dict[str, Any]) -> Columns:
    """The searched columns of a table's snapshot entry (empty when it is not searched)."""
    return dict(entry.get("info", {}).get("search") or {})
