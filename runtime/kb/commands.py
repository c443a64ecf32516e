"""``cli.py kb reindex``: build the knowledge base's retrieval index from every article, with a progress bar."""

from __future__ import annotations

import argparse
import sys
import time
from functools import partial
from typing import TextIO

from runtime.command_types import LoadDesk, OpenDatabase

BAR_WIDTH = 30


def add_kb_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser], load_desk: LoadDesk,
                    open_database: OpenDatabase) -> None:
    text = "the knowledge base"
    kb = sub.add_parser("kb", help=text, description=text).add_subparsers(dest="action", required=True)
    reindex = kb.add_parser("reindex", help="build the retrieval index from every article and report its speed "
                            "(each process builds its own on first search; this checks that it can)")
    reindex.add_argument("--dense", action="store_true", help="also compute sentence vectors (embeddings extra)")
    reindex.set_defaults(handler=partial(cmd_reindex, load_desk=load_desk, open_database=open_database))


class Progress:
    """count/total and rate on one line redrawn in place on a terminal; a plain line now and then otherwise
    (a log file should not fill with carriage returns)."""

    def __init__(self, stream: TextIO, started: float) -> None:
        self.stream = stream
        self.started = started
        self.tty = stream.isatty()
        self.last = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.perf_counter()
        finished = done >= total
        if not finished and now - self.last < (0.1 if self.tty else 2.0):
            return
        self.last = now
        rate = done / max(now - self.started, 1e-9)
        share = done / total if total else 1.0
        if self.tty:
            filled = round(share * BAR_WIDTH)
            bar = "#" * filled + "." * (BAR_WIDTH - filled)
            self.stream.write(f"\r[{bar}] {done}/{total} articles, {rate:,.0f}/s")
            if finished:
                self.stream.write("\n")
        else:
            self.stream.write(f"{done}/{total} articles, {rate:,.0f}/s\n")
        self.stream.flush()


def cmd_reindex(args: argparse.Namespace, load_desk: LoadDesk, open_database: OpenDatabase) -> int:
    from runtime.ai.embeddings import MissingExtraError
    from runtime.kb.index import KbIndex

    compiled = load_desk(args)
    engine = open_database(args, compiled)
    try:
        try:
            index = KbIndex(compiled, engine, dense=args.dense)
        except MissingExtraError as exc:
            print(str(exc), file=sys.stderr)
            return 2
        started = time.perf_counter()
        count = index.rebuild(Progress(sys.stderr, started))
        seconds = time.perf_counter() - started
    finally:
        engine.dispose()
    print(f"indexed {count} article{'s' * (count != 1)} in {seconds:.2f} s")
    return 0
