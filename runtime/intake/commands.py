"""``cli.py import mail`` (mail files into tickets), ``cli.py intake list|retry`` (the stored messages) and the
channels that run until stopped: ``cli.py intake poll`` (IMAP) and ``cli.py intake smtp`` (the SMTP listener)."""

from __future__ import annotations

import argparse
import sys
import threading
from functools import partial
from pathlib import Path

from runtime.command_types import LoadDesk, OpenDatabase

CHANNELS = ("email", "webhook", "form", "api")
OUTCOME_ORDER = ("ticket", "comment", "duplicate", "ignored", "quarantined", "done before")
DEFAULT_MAX_BYTES = 25 * 1024 * 1024  # as mail.listener.max_size_mb's default, for a listener given by flags


def add_mail_import(kinds: argparse._SubParsersAction[argparse.ArgumentParser], load_desk: LoadDesk,
                    open_database: OpenDatabase) -> None:
    """``import mail``, beside the other kinds of ``import``; ``open_database`` gives an engine on a current database
    only."""
    text = "import mail from .eml files, mbox files and Maildir folders"
    imports = kinds.add_parser("mail", help=text, description=text)
    imports.set_defaults(handler=partial(cmd_import, load_desk=load_desk, open_database=open_database))
    imports.add_argument("paths", nargs="+", metavar="PATH", help="a message, an mbox file or a folder")
    imports.add_argument("--mailbox", metavar="NAME",
                         help="the mailbox the mail arrived at (default: from its recipients)")


def add_intake_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser], load_desk: LoadDesk,
                        open_database: OpenDatabase) -> None:
    """``intake list|retry|poll|smtp``; ``open_database`` gives an engine on a current database only."""
    text = "the inbound messages: list them, retry quarantined ones"
    intake = sub.add_parser("intake", help=text, description=text).add_subparsers(dest="action", required=True)
    listing = intake.add_parser("list", help="stored messages, newest first, with their state and reason")
    listing.set_defaults(handler=partial(cmd_list, load_desk=load_desk, open_database=open_database))
    listing.add_argument("--state", metavar="STATE",
                         help="received, processed, duplicate, ignored or quarantined")
    listing.add_argument("--channel", metavar="CHANNEL", help="email, webhook, form or api")
    listing.add_argument("--limit", type=int, default=50, metavar="N", help="at most N messages (default 50)")
    retry = intake.add_parser("retry", help="process quarantined (or interrupted) messages again")
    retry.set_defaults(handler=partial(cmd_retry, load_desk=load_desk, open_database=open_database))
    retry.add_argument("id", nargs="?", type=int, metavar="ID", help="one message")
    retry.add_argument("--all", action="store_true", help="every quarantined or unfinished message")
    poll = intake.add_parser("poll", help="fetch mail from the IMAP mailboxes (with IDLE where possible) until "
                             "stopped; the worker does this too")
    poll.set_defaults(handler=partial(cmd_poll, load_desk=load_desk, open_database=open_database))
    poll.add_argument("--mailbox", metavar="NAME", help="only this mailbox (default: every one with imap:)")
    poll.add_argument("--once", action="store_true",
                      help="poll once, process what came, and exit (code 1 when a mailbox could not be polled)")
    smtp = intake.add_parser("smtp", help="receive mail for the mailboxes' addresses over SMTP until stopped")
    smtp.set_defaults(handler=partial(cmd_smtp, load_desk=load_desk, open_database=open_database))
    smtp.add_argument("--host", help="the address to listen on (default: mail.listener.host)")
    smtp.add_argument("--port", type=int, help="the port (default: mail.listener.port)")


def refuse(message: str) -> int:
    print(message, file=sys.stderr)
    return 2


def _counts(outcomes: dict[str, int]) -> str:
    order = [*OUTCOME_ORDER, *sorted(set(outcomes) - set(OUTCOME_ORDER))]
    return ", ".join(f"{kind}: {outcomes[kind]}" for kind in order if outcomes.get(kind))


def cmd_import(args: argparse.Namespace, load_desk: LoadDesk, open_database: OpenDatabase) -> int:
    from runtime.intake.importer import import_mail
    from runtime.intake.pipeline import MailPipeline

    paths = [Path(p) for p in args.paths]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        return refuse(f"no such file or folder: {', '.join(missing)}")
    compiled = load_desk(args)
    project = compiled.definitions.project
    if not project.mailboxes:
        return refuse("tessera.yaml declares no inbound mailboxes: add mail.mailboxes and mail.default_mailbox")
    if args.mailbox is not None and project.mailbox(args.mailbox) is None:
        names = ", ".join(m.name for m in project.mailboxes)
        return refuse(f"no mailbox {args.mailbox!r} in tessera.yaml; there are: {names}")
    pipeline = MailPipeline(compiled, open_database(args, compiled))
    report = import_mail(pipeline, paths, source=args.mailbox or "import")
    print(f"{report.total} message{'s' if report.total != 1 else ''}: {_counts(report.outcomes) or 'none found'}")
    for where, reason in report.quarantined:
        print(f"  quarantined {where}: {reason}")
    return 0


def cmd_list(args: argparse.Namespace, load_desk: LoadDesk, open_database: OpenDatabase) -> int:
    from runtime.intake.store import STATES, IntakeStore

    if args.state is not None and args.state not in STATES:
        return refuse(f"--state {args.state!r}: give one of {', '.join(STATES)}")
    if args.channel is not None and args.channel not in CHANNELS:
        return refuse(f"--channel {args.channel!r}: give one of {', '.join(CHANNELS)}")
    compiled = load_desk(args)
    store = IntakeStore(compiled, open_database(args, compiled))
    rows = store.listing(args.state, max(1, args.limit), args.channel)
    if not rows:
        where = [f"in state {args.state}" if args.state else "", f"from channel {args.channel}" if args.channel else ""]
        print(" ".join(["no messages", *filter(None, where)]))
        return 0
    print("id\tstate\tchannel\tsource\treceived\tticket\texternal id\treason")
    for row in rows:
        received = row["received_at"].isoformat(timespec="seconds") if row["received_at"] else "-"
        print(f"{row['id']}\t{row['state']}\t{row['channel']}\t{row['source']}\t{received}\t"
              f"{row['ticket_id'] or '-'}\t{row['external_id']}\t{row['error'] or ''}")
    return 0


def cmd_retry(args: argparse.Namespace, load_desk: LoadDesk, open_database: OpenDatabase) -> int:
    from collections import Counter

    from runtime.intake.api_flow import IN_FLIGHT
    from runtime.intake.claims import claims
    from runtime.intake.pipeline import MailPipeline
    from runtime.intake.store import QUARANTINED, RECEIVED

    if (args.id is None) == (not args.all):
        return refuse("give a message ID or --all")
    compiled = load_desk(args)
    pipeline = MailPipeline(compiled, open_database(args, compiled))
    if args.id is not None:
        message = pipeline.store.load(args.id)
        if message is None:
            return refuse(f"no intake message {args.id}")
        ids = [args.id]
    else:
        # Every channel's; but an API request's row stays quarantined while its own request makes the ticket,
        # so --all leaves those to an explicit retry by ID (after the request has surely stopped).
        in_flight = {row["id"] for row in pipeline.store.listing(QUARANTINED, limit=1_000_000, channel="api")
                     if row["error"] == IN_FLIGHT}
        ids = sorted({*pipeline.store.ids(QUARANTINED), *pipeline.store.ids(RECEIVED)} - in_flight)
    outcomes: Counter[str] = Counter()
    with claims(pipeline.engine) as held:
        for message_id in ids:
            # A worker (or listener) processing the message right now finishes it; a retry beside it could not.
            if not held.claim(message_id):
                outcomes["in progress elsewhere"] += 1
                print(f"message {message_id}: being processed by another process, left to it")
                continue
            try:
                outcome = pipeline.process(message_id)
            finally:
                held.release(message_id)
            outcomes[outcome.kind] += 1
            if outcome.kind in ("quarantined", "done before") or args.id is not None:
                detail = f": {outcome.reason}" if outcome.reason else ""
                ticket = f" (ticket {outcome.ticket_id})" if outcome.ticket_id else ""
                print(f"message {message_id}: {outcome.kind}{ticket}{detail}")
    print(f"{len(ids)} message{'s' if len(ids) != 1 else ''} retried: {_counts(outcomes) or 'none'}")
    return 0


def _log_to_stderr() -> None:
    import logging

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd: a few lines per session otherwise


def _stop_on_signals() -> threading.Event:
    import signal

    stopping = threading.Event()
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: stopping.set())
    return stopping


def cmd_poll(args: argparse.Namespace, load_desk: LoadDesk, open_database: OpenDatabase) -> int:
    from collections import Counter

    from runtime.intake.imap_poll import ImapPolling
    from runtime.intake.pipeline import MailPipeline
    from runtime.intake.processing import IntakeProcessor

    compiled = load_desk(args)
    polled = [m.name for m in compiled.definitions.project.mailboxes if m.imap is not None]
    if args.mailbox is not None and args.mailbox not in polled:
        return refuse(f"no mailbox {args.mailbox!r} with imap: in tessera.yaml; there are: "
                      f"{', '.join(polled) or 'none'}")
    if not polled:
        return refuse("no mailbox in tessera.yaml has imap: settings")
    _log_to_stderr()
    pipeline = MailPipeline(compiled, open_database(args, compiled))
    polling = ImapPolling(pipeline, [args.mailbox] if args.mailbox else None)
    processor = IntakeProcessor(pipeline)
    stopping = _stop_on_signals()
    try:
        while not stopping.is_set():
            stored = polling.poll_due()
            outcomes = Counter(o.kind for o in processor.process([s.id for s in stored]))
            if args.once:
                print(f"{len(stored)} message{'s' if len(stored) != 1 else ''} fetched: "
                      f"{_counts(outcomes) or 'none new'}")
                return 1 if any(p.failing for p in polling.pollers) else 0
            # Short waits, so that a stop signal is heeded within a second; IDLE news ends a wait at once.
            polling.wait(1.0)
    finally:
        polling.close()
    return 0


def cmd_smtp(args: argparse.Namespace, load_desk: LoadDesk, open_database: OpenDatabase) -> int:
    from runtime.intake.pipeline import MailPipeline
    from runtime.intake.smtp_server import SmtpListener

    compiled = load_desk(args)
    project = compiled.definitions.project
    if not project.mailboxes:
        return refuse("tessera.yaml declares no inbound mailboxes: add mail.mailboxes for the listener to take")
    settings = project.listener
    port = args.port if args.port is not None else (settings.port if settings else None)
    if port is None:
        return refuse("tessera.yaml has no mail.listener: add it, or give --port")
    host = args.host or (settings.host if settings else "127.0.0.1")
    max_bytes = settings.max_bytes if settings else DEFAULT_MAX_BYTES
    _log_to_stderr()
    listener = SmtpListener(MailPipeline(compiled, open_database(args, compiled)), host, port, max_bytes)
    try:
        listener.start()
    except OSError as exc:
        return refuse(f"cannot listen on {host}:{port}: {exc.strerror or exc}")
    print(f"listening for mail on {host}:{listener.port}", flush=True)
    stopping = _stop_on_signals()
    while not stopping.wait(1.0):
        pass
    listener.stop()
    return 0
