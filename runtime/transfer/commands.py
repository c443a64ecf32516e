"""``cli.py import tickets`` (another desk's history, or a Tessera export) and ``cli.py export`` (this desk's
tickets as JSONL), and the older ``cli.py import PATH...`` for mail, which still means ``import mail``."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import sys
import time
from collections.abc import Iterable
from functools import partial
from pathlib import Path
from typing import IO

from runtime.command_types import LoadDesk, OpenDatabase

IMPORT_KINDS = ("mail", "tickets")


def mail_by_default(argv: list[str], value_options: Iterable[str]) -> list[str]:
    """``import PATH...`` as it was before ``import`` had kinds: a first word that names no kind means mail.
    ``value_options`` are the options before the command that take a value (``--root DIR``)."""
    takes_value = set(value_options)
    position = 0
    while position < len(argv):
        word = argv[position]
        if word in takes_value:
            position += 2
        elif word.startswith("-"):
            position += 1
        else:
            break
    if position < len(argv) and argv[position] == "import":
        following = argv[position + 1] if position + 1 < len(argv) else None
        if following not in (*IMPORT_KINDS, "-h", "--help"):
            return [*argv[:position + 1], "mail", *argv[position + 1:]]
    return argv


def refuse(message: str) -> int:
    print(message, file=sys.stderr)
    return 2


def add_ticket_import(kinds: argparse._SubParsersAction[argparse.ArgumentParser], load_desk: LoadDesk,
                      open_database: OpenDatabase) -> None:
    text = "import tickets from another desk's CSV or JSONL through a mapping, or from a Tessera export"
    command = kinds.add_parser("tickets", help=text, description=text)
    command.set_defaults(handler=partial(cmd_import_tickets, load_desk=load_desk, open_database=open_database))
    command.add_argument("--from", dest="source", required=True, metavar="FILE", help="a .csv or .jsonl file")
    command.add_argument("--mapping", metavar="MAPPING",
                         help="the mapping's YAML file; 'tessera' (the default for JSONL) reads a Tessera export")
    command.add_argument("--dry-run", action="store_true", help="check every row and report, but write nothing")
    command.add_argument("--batch", type=int, default=1000, metavar="N", help="rows per transaction (default 1000)")
    command.add_argument("--report", metavar="PATH",
                         help="where to list the rejected rows, .csv or .jsonl (default: FILE.rejected.csv or "
                              ".jsonl beside the input)")
    command.add_argument("--progress", action="store_true", help="show the progress bar even when stderr is no "
                                                                 "terminal")


def add_export_command(sub: argparse._SubParsersAction[argparse.ArgumentParser], load_desk: LoadDesk,
                       open_database: OpenDatabase) -> None:
    text = "export tickets (with comments, attachments' metadata, audit events and SLA clocks) as JSONL"
    command = sub.add_parser("export", help=text, description=text)
    command.set_defaults(handler=partial(cmd_export, load_desk=load_desk, open_database=open_database))
    command.add_argument("--to", metavar="FILE", help="the .jsonl file to write (default: standard output)")
    command.add_argument("--type", dest="type_name", metavar="TYPE", help="only tickets of this type")
    command.add_argument("--since", metavar="DATE", help="only tickets created since DATE (YYYY-MM-DD, UTC) or an "
                                                         "ISO 8601 time")
    command.add_argument("--progress", action="store_true", help="show the progress bar even when stderr is no "
                                                                 "terminal")


def _shows_progress(args: argparse.Namespace) -> bool:
    return bool(args.progress) or sys.stderr.isatty()


def cmd_import_tickets(args: argparse.Namespace, load_desk: LoadDesk, open_database: OpenDatabase) -> int:
    from runtime.transfer.importer import Importer, Summary
    from runtime.transfer.mapped_rows import MappedRows
    from runtime.transfer.mapping import TESSERA, check_columns, load_mapping
    from runtime.transfer.progress import Progress
    from runtime.transfer.report import Report, default_report
    from runtime.transfer.source_file import SourceFile, kind_of
    from runtime.transfer.tessera_rows import TesseraRows

    path = Path(args.source)
    if not path.is_file():
        return refuse(f"--from {args.source}: no such file")
    kind = kind_of(path)
    if kind is None:
        return refuse(f"--from {args.source}: give a .csv or .jsonl file")
    if args.batch < 1:
        return refuse(f"--batch {args.batch}: give at least 1")
    identity = args.mapping in (None, TESSERA)
    if identity and kind == "csv":
        return refuse("a CSV needs --mapping FILE.yaml: only a Tessera export (JSONL) is read without one")
    compiled = load_desk(args)
    now = dt.datetime.now(dt.UTC)
    rows: MappedRows | TesseraRows
    if identity:
        rows, source = TesseraRows(compiled), SourceFile(path, kind)
    else:
        mapping = load_mapping(Path(args.mapping), compiled)
        source = SourceFile(path, kind, encoding=mapping.csv.encoding, delimiter=mapping.csv.delimiter)
        if kind == "csv":
            check_columns(mapping, source.header())
        rows = MappedRows(compiled, mapping, path, now)
    engine = open_database(args, compiled)
    bar = Progress("import") if _shows_progress(args) else None

    def progress(file: SourceFile, summary: Summary) -> None:
        if bar is not None:
            bar.show(file.position() / max(file.size, 1), summary.rows, "rows")

    report_path = Path(args.report) if args.report else default_report(path)
    started = time.monotonic()
    with Report(report_path) as report:
        importer = Importer(compiled, engine, source, rows, report, dry_run=args.dry_run, batch=args.batch,
                            progress=progress, now=now)
        summary = importer.run()
    seconds = time.monotonic() - started
    if bar is not None:
        bar.done(summary.rows, "rows")
    verb = ("would import", "would skip", "would reject") if args.dry_run else ("imported", "skipped", "rejected")
    print(f"{'dry run: ' if args.dry_run else ''}{verb[0]} {summary.imported:,} tickets, {verb[1]} "
          f"{summary.skipped:,} already there, {verb[2]} {summary.rejected:,} "
          f"({summary.rows:,} rows in {seconds:.1f} s, {summary.rows / max(seconds, 1e-9):,.0f} rows/s)")
    if summary.rejected:
        print(f"rejected rows and their reasons: {report_path}")
    for problem in summary.unresolved[:20]:
        print(f"  not linked: {problem}")
    if args.dry_run:
        print("nothing was written")
    return 0


def cmd_export(args: argparse.Namespace, load_desk: LoadDesk, open_database: OpenDatabase) -> int:
    from runtime.transfer.exporter import export
    from runtime.transfer.progress import Progress

    since = None
    if args.since is not None:
        try:
            since = dt.datetime.fromisoformat(args.since)
        except ValueError:
            return refuse(f"--since {args.since!r} is not a date (YYYY-MM-DD) or an ISO 8601 time")
        since = since if since.tzinfo else since.replace(tzinfo=dt.UTC)
    compiled = load_desk(args)
    if args.type_name is not None and compiled.definitions.ticket_type(args.type_name) is None:
        names = ", ".join(t.name for t in compiled.definitions.types)
        return refuse(f"--type {args.type_name!r}: no such ticket type; there are: {names}")
    engine = open_database(args, compiled)
    bar = Progress("export") if _shows_progress(args) else None

    def progress(done: int, total: int) -> None:
        if bar is not None:
            bar.show(done / max(total, 1), done, "tickets")

    started = time.monotonic()
    with contextlib.ExitStack() as stack:
        out: IO[str] = stack.enter_context(Path(args.to).open("w", encoding="utf-8")) if args.to else sys.stdout
        connection = stack.enter_context(engine.connect())
        written = export(compiled, connection, out, type_name=args.type_name, since=since,
                         progress=progress if bar is not None else None)
    seconds = time.monotonic() - started
    if bar is not None:
        bar.done(written, "tickets")
    # On standard output the lines are the export; the count goes beside them.
    print(f"exported {written:,} tickets in {seconds:.1f} s ({written / max(seconds, 1e-9):,.0f} tickets/s)"
          + (f" to {args.to}" if args.to else ""), file=sys.stdout if args.to else sys.stderr)
    return 0
