"""``cli.py sla report`` and ``cli.py sla replay``: SLA figures as a table, and candidate policies judged on the
desk's history. Bad input is refused with one line on stderr and exit code 2, as every command does."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from runtime.command_types import LoadDesk, OpenDatabase

if TYPE_CHECKING:  # the commands import their machinery when run, so that the CLI starts fast
    from runtime.sla.metrics import Tally
    from runtime.sla.replay import Comparison

CHANGES_SHOWN = 20
PROGRESS_FROM = 5_000  # tickets; smaller replays finish before a progress line would help
PROGRESS_EVERY = 1_000


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def add_sla_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser], load_desk: LoadDesk,
                     open_database: OpenDatabase) -> None:
    """``sla report`` and ``sla replay``; ``load_desk`` and ``open_database`` are the CLI's own (an engine only
    on a database at the definitions' revision)."""
    text = "SLA figures, and candidate policies replayed on the desk's history"
    sla = sub.add_parser("sla", help=text, description=text).add_subparsers(dest="action", required=True)
    report = sla.add_parser("report", help="compliance, response and resolution times, breaches, per group")
    report.set_defaults(handler=partial(cmd_report, load_desk=load_desk, open_database=open_database))
    report.add_argument("--group-by", default="policy", metavar="GROUPING",
                        help="policy (default), type, team, agent or priority")
    report.add_argument("--since", metavar="DATE", help="tickets created from DATE on (ISO 8601; UTC unless given)")
    report.add_argument("--until", metavar="DATE", help="tickets created before DATE")
    replay = sla.add_parser("replay", help="compliance under candidate policies against the current ones")
    replay.set_defaults(handler=partial(cmd_replay, load_desk=load_desk, open_database=open_database))
    replay.add_argument("--policies", required=True, metavar="DIR",
                        help="a folder of SLA files (calendars and policies) to use instead of sla_policies/")
    replay.add_argument("--since", metavar="DATE", help="only tickets created from DATE on (ISO 8601)")


def refuse(message: str) -> int:
    print(message, file=sys.stderr)
    return 2


def cmd_report(args: argparse.Namespace, load_desk: LoadDesk, open_database: OpenDatabase) -> int:
    from runtime.sla.metrics import GROUPINGS, instant, sla_metrics
    from runtime.tickets.actors import SYSTEM

    if args.group_by not in GROUPINGS:
        return refuse(f"--group-by {args.group_by!r}: give one of {', '.join(GROUPINGS)}")
    try:
        since = instant(args.since) if args.since else None
        until = instant(args.until) if args.until else None
    except ValueError as exc:
        return refuse(f"--since/--until: {exc}")
    if since and until and until <= since:
        return refuse("--until must be after --since")
    compiled = load_desk(args)
    now = _now()
    engine = open_database(args, compiled)
    try:
        with engine.connect() as connection:
            groups = sla_metrics(connection, compiled, SYSTEM, args.group_by, since, until, now)
    finally:
        engine.dispose()
    window = f" from {stamp(since)}" if since else ""
    window += f" before {stamp(until)}" if until else ""
    print(f"SLA figures by {args.group_by}, tickets created{window or ' at any time'}, as of {stamp(now)}")
    rows = []
    for group in groups:
        for metric, tally in group.metrics.items():
            if tally.finished or tally.open or tally.cancelled:
                rows.append([group.name or "(none)", metric, str(tally.met), str(tally.breached),
                             percent(tally.compliance), str(tally.open), str(tally.open_breached),
                             duration(tally.mean_seconds), duration(tally.median_seconds)])
    if not rows:
        print("no SLA clocks on these tickets")
        return 0
    print(table([args.group_by, "metric", "met", "breached", "compliance", "open", "overdue", "mean", "median"],
                rows, right=(2, 3, 4, 5, 6, 7, 8)))
    return 0


def cmd_replay(args: argparse.Namespace, load_desk: LoadDesk, open_database: OpenDatabase) -> int:
    from runtime.errors import ConfigInvalid
    from runtime.sla.candidate import load_candidate, policy_files
    from runtime.sla.metrics import instant
    from runtime.sla.replay import replay

    folder = Path(args.policies)
    if not folder.is_dir():
        return refuse(f"--policies {args.policies}: not a folder")
    if not policy_files(folder):
        return refuse(f"--policies {args.policies}: no SLA files (*.yaml) in it")
    try:
        since = instant(args.since) if args.since else None
    except ValueError as exc:
        return refuse(f"--since: {exc}")
    compiled = load_desk(args)
    try:
        candidate = load_candidate(compiled, folder)
    except ConfigInvalid as exc:
        print(exc.report, file=sys.stderr)
        return 2
    now = _now()
    engine = open_database(args, compiled)
    try:
        with engine.connect() as connection:
            comparison = replay(connection, compiled, candidate, since, now, _progress)
    finally:
        engine.dispose()
    window = f"created from {stamp(since)} on" if since else "in all"
    print(f"Replayed {comparison.tickets} tickets ({window}) under the desk's policies (current) and those in "
          f"{args.policies} (candidate), as of {stamp(now)}")
    print(replay_table(comparison))
    if comparison.changed:
        print(f"Outcomes that change ({comparison.changed}):")
        for change in comparison.changes[:CHANGES_SHOWN]:
            print(f"  {change.number} {change.metric}: {', '.join(change.current) or 'no clock'} → "
                  f"{', '.join(change.candidate) or 'no clock'}")
        if comparison.changed > CHANGES_SHOWN:
            print(f"  … and {comparison.changed - CHANGES_SHOWN} more")
    else:
        print("No ticket's outcome changes.")
    return 0


def replay_table(comparison: Comparison) -> str:
    from runtime.sla.policies import METRICS

    keys = sorted(comparison.current.keys() | comparison.candidate.keys(), key=lambda k: (k[0], METRICS.index(k[1])))
    rows = []
    for key in keys:
        before, after = comparison.current.get(key), comparison.candidate.get(key)
        change = "-"
        if before and after and before.compliance is not None and after.compliance is not None:
            change = f"{100 * (after.compliance - before.compliance):+.1f} pts"
        rows.append([key[0], key[1], share(before), share(after), change,
                     f"{before.open_breached if before else '-'} → {after.open_breached if after else '-'}"])
    if not rows:
        return "no SLA clocks under either set of policies"
    return table(["policy", "metric", "current", "candidate", "change", "open overdue"], rows, right=(4,))


def share(tally: Tally | None) -> str:
    if tally is None:
        return "-"
    return f"{percent(tally.compliance)} ({tally.met} of {tally.finished})"


def stamp(instant: dt.datetime) -> str:
    return instant.isoformat(timespec="seconds")


def percent(fraction: float | None) -> str:
    return "-" if fraction is None else f"{100 * fraction:.1f}%"


def duration(seconds: int | None) -> str:
    """Business time as people read it: 45s, 43m 20s, 4h 25m (hours, not days: a business day has no one length)."""
    if seconds is None:
        return "-"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[int] = ()) -> str:
    """Columns padded to their widest cell; the ``right`` ones aligned right (numbers)."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        padded = [cell.rjust(w) if i in right else cell.ljust(w) for i, (cell, w) in enumerate(zip(cells, widths,
                                                                                                   strict=True))]
        return "  ".join(padded).rstrip()

    return "\n".join(line(cells) for cells in (headers, *rows))


def _progress(done: int, total: int) -> None:
    if total >= PROGRESS_FROM and (done % PROGRESS_EVERY == 0 or done == total):
        print(f"replayed {done} of {total} tickets", file=sys.stderr, flush=True)
