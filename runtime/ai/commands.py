"""``cli.py assign rebalance``: move a team's unassigned and overflowing open tickets to agents by its strategy,
printing each decision with its explanation; ``cli.py ai eval|train``: the offline classifier on a CSV. Bad input
is refused with one line on stderr and exit code 2."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from functools import partial

from runtime.command_types import LoadDesk, OpenDatabase


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


def add_ai_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser], load_desk: LoadDesk,
                    open_database: OpenDatabase) -> None:
    """``ai eval`` on a CSV of texts and labels; ``ai train``: the desk's triage model from its history (or a CSV),
    or with ``--label-col`` one classifier from a CSV."""
    text = "the offline provider: train the desk's triage model, or evaluate and train a classifier on a CSV"
    ai = sub.add_parser("ai", help=text, description=text).add_subparsers(dest="action", required=True)
    evaluate = ai.add_parser("eval", help="stratified k-fold cross-validation: accuracy, macro-F1, coverage above "
                             "a confidence threshold, latency, and a report per class")
    evaluate.set_defaults(handler=cmd_eval)
    train = ai.add_parser("train", help="train the desk's triage model (type, category, priority) from its resolved "
                          "and reviewed tickets, or from --data; with --label-col, one classifier from --data")
    train.set_defaults(handler=partial(cmd_train, load_desk=load_desk, open_database=open_database))
    evaluate.add_argument("--data", required=True, metavar="CSV", help="a CSV file with a header row")
    evaluate.add_argument("--label-col", required=True, metavar="NAME", help="the label column")
    train.add_argument("--data", metavar="CSV", help="a CSV file with a header row (default: the desk's own tickets)")
    train.add_argument("--label-col", metavar="NAME", help="train one classifier on this column, written to --out")
    for head in ("type", "category", "priority"):
        train.add_argument(f"--{head}-col", metavar="NAME", help=f"the CSV's {head} column for the triage model")
    train.add_argument("--limit", type=int, default=50_000, metavar="N",
                       help="learn from the desk's most recent N tickets (default 50000)")
    for command in (evaluate, train):
        command.add_argument("--text-col", default="text", metavar="NAME",
                             help="the text column, or two joined by + (title+description); default text")
        command.add_argument("--seed", type=int, default=0, help="fixes folds and training (default 0)")
        command.add_argument("--classifier", choices=("lean", "minilm"),
                             help="the configuration (runtime/ai/presets.py): lean, or minilm with the embeddings "
                             "extra; default: the desk's ai.classifier for the triage model, else lean")
    evaluate.add_argument("--folds", type=int, default=5, metavar="K", help="folds (default 5)")
    evaluate.add_argument("--threshold", type=float, default=0.5, metavar="P",
                          help="the confidence below which a prediction would go to a person (default 0.5)")
    train.add_argument("--out", metavar="PATH", help="where to write: a .npz file with --label-col, else a folder "
                       "(default: the desk's ai.model)")


def _labelled(args: argparse.Namespace) -> tuple[list[str], list[str]] | str:
    """The CSV's texts and labels, or why they cannot be used."""
    from pathlib import Path

    from runtime.ai.evaluate import read_csv

    if not Path(args.data).is_file():
        return f"--data {args.data}: no such file"
    try:
        texts, labels = read_csv(args.data, args.text_col, args.label_col)
    except (ValueError, UnicodeDecodeError) as exc:
        return str(exc)
    if len(set(labels)) < 2:
        return f"--data {args.data}: at least two labels are needed, found {len(set(labels))}"
    return texts, labels


def cmd_eval(args: argparse.Namespace) -> int:
    from collections import Counter

    from runtime.ai import presets
    from runtime.ai.embeddings import MissingExtraError
    from runtime.ai.evaluate import cross_validate, cv_report

    data = _labelled(args)
    if isinstance(data, str):
        print(data, file=sys.stderr)
        return 2
    texts, labels = data
    if args.folds < 2 or not 0 <= args.threshold <= 1:
        print("--folds must be at least 2 and --threshold between 0 and 1", file=sys.stderr)
        return 2
    rarest = min(Counter(labels).values())
    if rarest < args.folds:
        print(f"--folds {args.folds}: the rarest label has only {rarest} rows; use fewer folds", file=sys.stderr)
        return 2
    configuration = args.classifier or "lean"
    try:
        presets.classifier(configuration, seed=args.seed)
    except MissingExtraError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    result = cross_validate(lambda: presets.classifier(configuration, seed=args.seed), texts, labels, k=args.folds,
                            seed=args.seed, threshold=args.threshold)
    print(f"{len(texts)} texts, {len(set(labels))} labels, from {args.data} (classifier {configuration})")
    print(cv_report(result))
    return 0


def cmd_train(args: argparse.Namespace, load_desk: LoadDesk, open_database: OpenDatabase) -> int:
    if args.label_col is None:
        return _train_triage(args, load_desk, open_database)
    if args.out is None:
        print("--label-col trains one classifier: say where to write it with --out", file=sys.stderr)
        return 2
    return _train_one(args)


def _train_triage(args: argparse.Namespace, load_desk: LoadDesk, open_database: OpenDatabase) -> int:
    import time
    from pathlib import Path

    from runtime.ai.embeddings import MissingExtraError
    from runtime.ai.local_model import Example, train
    from runtime.ai.training import csv_examples, desk_examples

    compiled = load_desk(args)
    folder = Path(args.out) if args.out else Path(compiled.root) / compiled.definitions.project.ai.model_dir
    columns = {head: getattr(args, f"{head}_col") for head in ("type", "category", "priority")
               if getattr(args, f"{head}_col")}
    examples: list[Example]
    if args.data:
        if not columns:
            print("--data needs at least one of --type-col, --category-col, --priority-col", file=sys.stderr)
            return 2
        if not Path(args.data).is_file():
            print(f"--data {args.data}: no such file", file=sys.stderr)
            return 2
        try:
            examples = csv_examples(Path(args.data), args.text_col, columns)
        except (ValueError, UnicodeDecodeError) as exc:
            print(str(exc), file=sys.stderr)
            return 2
        source = f"csv:{args.data}"
    else:
        engine = open_database(args, compiled)
        try:
            with engine.connect() as connection:
                examples = desk_examples(connection, compiled, args.limit)
        finally:
            engine.dispose()
        source = "desk"
    configuration = args.classifier or compiled.definitions.project.ai.classifier
    started = time.perf_counter()
    try:
        model, reports = train(examples, source, seed=args.seed, configuration=configuration)
    except MissingExtraError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    if not model.heads:
        print(f"nothing to learn from {len(examples)} tickets: each field needs two values with 3+ tickets each "
              "(resolve or review more tickets first)", file=sys.stderr)
        return 2
    model.save(folder)
    print(f"trained on {len(examples)} tickets from {source} in {time.perf_counter() - started:.1f} s "
          f"(classifier {configuration}): {folder}")
    for r in reports:
        if r.skipped:
            print(f"  {r.head}: not trained, {r.skipped}")
        else:
            rare = f"; too rare to learn: {', '.join(f'{v} ({n})' for v, n in r.left_out)}" if r.left_out else ""
            print(f"  {r.head}: {r.examples} examples, {len(r.labels)} values{rare}")
    return 0


def _train_one(args: argparse.Namespace) -> int:
    import time

    from runtime.ai import presets
    from runtime.ai.embeddings import MissingExtraError

    data = _labelled(args)
    if isinstance(data, str):
        print(data, file=sys.stderr)
        return 2
    texts, labels = data
    try:
        untrained = presets.classifier(args.classifier or "lean", seed=args.seed)
    except MissingExtraError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    started = time.perf_counter()
    model = untrained.fit(texts, labels)
    model.save(args.out)
    print(f"trained on {len(texts)} texts, {len(set(labels))} labels in {time.perf_counter() - started:.1f} s: "
          f"{args.out}")
    return 0
