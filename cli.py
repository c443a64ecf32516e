"""Tessera's command line: validate, plan, generate, check, migrate, serve, worker, demo."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from runtime.errors import ConfigInvalid, DatabaseBehind, GeneratedStale, MigrationRefused

if TYPE_CHECKING:
    import sqlalchemy as sa

    from runtime.compile.desk import CompiledDesk

HERE = Path(__file__).resolve().parent


def desk_root(given: str | None) -> Path:
    if given:
        return Path(given).resolve()
    cwd = Path.cwd()
    return cwd if (cwd / "tessera.yaml").exists() else HERE


def database_url(args: argparse.Namespace, compiled: CompiledDesk) -> str:
    return str(args.database_url or os.environ.get("TESSERA_DATABASE_URL")
               or compiled.definitions.project.database_url)


def compiled_desk(args: argparse.Namespace) -> CompiledDesk:
    from runtime.compile.desk import load_compiled

    return load_compiled(desk_root(args.root))


def engine_for(args: argparse.Namespace, compiled: CompiledDesk) -> sa.Engine:
    from runtime.db.engine import make_engine

    return make_engine(database_url(args, compiled), compiled.root)


def cmd_validate(args: argparse.Namespace) -> int:
    from runtime.config.desk import validate
    from runtime.config.errors import render_report

    desk, errors = validate(desk_root(args.root))
    if desk is None:
        print(render_report(errors), file=sys.stderr)
        return 1
    print(f"ok: {len(desk.types)} ticket types, {len(desk.workflows)} workflows, {len(desk.collections)} "
          f"collections, {len(desk.calendars)} calendars, {len(desk.policies)} SLA policies")
    return 0


def cmd_plan(args: argparse.Namespace) -> int:
    from runtime.artifacts import migration_paths
    from runtime.db import migrations

    compiled = compiled_desk(args)
    paths = migration_paths(compiled)
    changes = migrations.pending_changes(paths, compiled.schema_snapshot)
    if changes:
        print(f"Definitions → generated/ ({len(changes)} change{'s' if len(changes) != 1 else ''} to generate):")
        print("\n".join(f"  {c.describe()}" for c in changes))
        if any(c.destructive for c in changes):
            print("Changes marked ! can lose or invalidate data: `generate` needs --allow-destructive.")
    else:
        print("Definitions → generated/: no schema change.")
    try:
        pending = migrations.unapplied(paths, engine_for(args, compiled))
    except Exception as exc:
        print(f"Database: not reachable ({type(exc).__name__}: {exc})")
        return 0
    if pending:
        print(f"Database: {len(pending)} revision{'s' if len(pending) != 1 else ''} to apply with `migrate`:")
        print("\n".join(f"  {line}" for line in pending))
    else:
        print("Database: at the head revision.")
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    from runtime.artifacts import migration_paths, write_derived
    from runtime.db import migrations

    compiled = compiled_desk(args)
    written = migrations.generate(migration_paths(compiled), compiled.schema_snapshot,
                                  allow_destructive=args.allow_destructive, message=args.message)
    changed = write_derived(compiled)
    if written:
        print(f"wrote {written.relative_to(compiled.root)}")
    for path in changed:
        print(f"wrote {path}")
    if not written and not changed:
        print("nothing to generate: generated/ and schemas/ match the definitions")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from runtime.artifacts import stale_files

    stale = stale_files(compiled_desk(args))
    if stale:
        raise GeneratedStale("\n".join(s.render() for s in stale))
    print("ok: definitions valid, schemas/ and generated/ up to date")
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from runtime.artifacts import migration_paths
    from runtime.db import migrations

    compiled = compiled_desk(args)
    paths = migration_paths(compiled)
    engine = engine_for(args, compiled)
    if args.downgrade:
        migrations.downgrade(paths, engine, args.downgrade)
    else:
        changes = migrations.pending_changes(paths, compiled.schema_snapshot)
        if changes:
            msg = ("The definitions have schema changes without a migration. "
                   "Run `python cli.py generate` first (review with `python cli.py plan`).")
            raise DatabaseBehind(msg)
        migrations.upgrade(paths, engine)
    print(f"database at revision {migrations.current_revision(engine)}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from runtime.web.app import create_app

    compiled = compiled_desk(args)
    app = create_app(compiled, engine_for(args, compiled))
    project = compiled.definitions.project
    uvicorn.run(app, host=args.host or project.host, port=args.port or project.port, log_level="info")
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from runtime.worker.loop import Worker

    compiled = compiled_desk(args)
    worker = Worker(compiled, engine_for(args, compiled))
    worker.run(once=args.once)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from runtime.artifacts import migration_paths
    from runtime.db import migrations
    from runtime.demo.seed import seed_demo

    compiled = compiled_desk(args)
    engine = engine_for(args, compiled)
    migrations.upgrade(migration_paths(compiled), engine)
    created = seed_demo(compiled, engine)
    print(f"demo desk ready: {created} sample tickets added" if created else "demo desk ready")
    if args.no_serve:
        return 0
    return cmd_serve(args)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="cli.py", description=__doc__)
    root.add_argument("--root", help="the desk folder (default: the current folder if it has tessera.yaml)")
    root.add_argument("--database-url", help="overrides tessera.yaml and TESSERA_DATABASE_URL")
    sub = root.add_subparsers(dest="command", required=True)
    commands: dict[str, tuple[Callable[[argparse.Namespace], int], str]] = {
        "validate": (cmd_validate, "check the definitions and report every error"),
        "plan": (cmd_plan, "show the schema changes to generate and the migrations to apply"),
        "generate": (cmd_generate, "write the next migration, schemas/ and generated/"),
        "check": (cmd_check, "fail when schemas/ or generated/ are stale"),
        "migrate": (cmd_migrate, "apply the generated migrations to the database"),
        "serve": (cmd_serve, "serve the desk over HTTP"),
        "worker": (cmd_worker, "run background jobs"),
        "demo": (cmd_demo, "migrate, add sample data and serve the demo desk"),
    }
    for name, (handler, text) in commands.items():
        command = sub.add_parser(name, help=text, description=text)
        command.set_defaults(handler=handler)
        if name == "generate":
            command.add_argument("--allow-destructive", action="store_true",
                                 help="allow drops, narrowing and new required fields (data is archived first)")
            command.add_argument("-m", "--message", help="title of the revision")
        if name == "migrate":
            command.add_argument("--downgrade", metavar="REVISION", help="go back to REVISION (or -1, base)")
        if name in ("serve", "demo"):
            command.add_argument("--host")
            command.add_argument("--port", type=int)
        if name == "demo":
            command.add_argument("--no-serve", action="store_true", help="prepare the demo database only")
        if name == "worker":
            command.add_argument("--once", action="store_true", help="run the due jobs once and exit")
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        code: int = args.handler(args)
    except ConfigInvalid as exc:
        print(exc.report, file=sys.stderr)
        return 1
    except (DatabaseBehind, GeneratedStale, MigrationRefused) as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except Exception as exc:
        from alembic.util.exc import CommandError

        if not isinstance(exc, CommandError):
            raise
        print(f"migration failed: {exc}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
