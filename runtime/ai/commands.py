"""``cli.py assign rebalance``: move a team's unassigned and overflowing open tickets to agents by its strategy,
printing each decision with its explanation. Bad input is refused with one line on stderr and exit code 2."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the commands import their machinery when run, so that the CLI starts fast
    import sqlalchemy as sa

    from runtime.compile.desk import CompiledDesk

LoadDesk = Callable[[argparse.Namespace], "CompiledDesk"]
OpenDatabase = Callable[[argparse.Namespace, "CompiledDesk"], "sa.Engine"]


class _DryRun(Exception):  # not an error: it carries the plan out of the transaction it rolls back
    pass


def add_assign_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser], load_desk: LoadDesk,
                        open_database: OpenDatabase) -> None:
    text = "assignment of tickets to agents"
    assign = sub.add_parser("assign", help=text, description=text).add_subparsers(dest="action", required=True)
    rebalance = assign.add_parser("rebalance", help="move a team's unassigned and overloaded open tickets to agents "
                                  "by the team's strategy")
    rebalance.set_defaults(handler=partial(cmd_rebalance, load_desk=load_desk, open_database=open_database))
    rebalance.add_argument("--team", required=True, metavar="NAME", help="the team's name")
    rebalance.add_argument("--dry-run", action="store_true", help="print the plan and change nothing")


def cmd_rebalance(args: argparse.Namespace, load_desk: LoadDesk, open_database: OpenDatabase) -> int:
    from runtime.ai.rebalance import UnknownTeam, rebalance
    from runtime.tickets.service import TicketService

    compiled = load_desk(args)
    engine = open_database(args, compiled)
    service = TicketService(compiled, engine)
    now = dt.datetime.now(dt.UTC)
    try:
        # A dry run makes every move inside the transaction and rolls it back, so that each decision in the plan
        # sees the loads the earlier ones leave, exactly as a real run would.
        with service.writing() as connection:
            moves = rebalance(service, connection, args.team, now)
            if args.dry_run:
                raise _DryRun
    except _DryRun:
        pass
    except UnknownTeam:
        print(f"--team {args.team!r}: no such team", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    print(f"{'Dry run, nothing changed: ' if args.dry_run else ''}rebalancing {args.team}, "
          f"{len(moves)} ticket{'s' * (len(moves) != 1)} to place")
    for move in moves:
        decision = move.decision
        target = decision.username if move.moved else "stays"
        print(f"  {move.number}: {move.from_agent or 'unassigned'} -> {target} ({decision.strategy}) "
              f"{decision.explanation}")
    moved = sum(m.moved for m in moves)
    print(f"{'would move' if args.dry_run else 'moved'} {moved} of {len(moves)}")
    return 0
