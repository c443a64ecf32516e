"""Tessera's command line: validate, plan, generate, check, migrate, serve, worker, demo, token, agent, contact,
sla, import (mail, tickets), export, intake, assign, ai, kb, backup, restore, db copy, bench."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from runtime.ai.commands import add_ai_commands, add_assign_commands
from runtime.errors import ConfigInvalid, DatabaseBehind, GeneratedStale, MigrationRefused
from runtime.intake.commands import add_intake_commands, add_mail_import
from runtime.kb.commands import add_kb_commands
from runtime.ops.commands import add_ops_commands
from runtime.sla.commands import add_sla_commands
from runtime.transfer.commands import add_export_command, add_ticket_import, mail_by_default

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

    compiled = compiled_desk(args)
    project = compiled.definitions.project
    host, port = args.host or project.host, args.port or project.port
    workers = getattr(args, "workers", 1)
    if workers < 1:
        return refuse(f"--workers {workers}: give at least 1")
    from runtime.observe import logs, metrics

    fmt, level = logs.desk_choice(project.observability)
    # uvicorn's access log is off: runtime.observe.request_log writes one line per request, with its id.
    if workers == 1:
        from runtime.web.app import create_app

        logs.configure(fmt, level)
        uvicorn.run(create_app(compiled, engine_for(args, compiled)), host=host, port=port, log_level=level,
                    log_config=None, access_log=False)
        return 0
    # Several processes: each worker imports runtime.web.asgi, which reads the desk and database from these.
    current_engine(args, compiled).dispose()  # refuse here, once, rather than in every worker
    os.environ["TESSERA_ROOT"] = str(compiled.root)
    os.environ["TESSERA_DATABASE_URL"] = database_url(args, compiled)
    ours = metrics.multiprocess_folder() is None
    shared = metrics.prepare_multiprocess()  # where the processes add up their request counters
    from runtime.web import processes

    logs.configure(fmt, level)
    plan = processes.Plan("runtime.web.asgi:app", host, port, workers,
                          {"log_level": level, "log_config": logs.logging_config(fmt, level), "access_log": False})
    try:
        return processes.serve(plan)
    finally:
        if ours:
            metrics.remove_multiprocess(shared)


def cmd_worker(args: argparse.Namespace) -> int:
    from runtime.observe import logs
    from runtime.worker.loop import Worker

    compiled = compiled_desk(args)
    logs.configure(*logs.desk_choice(compiled.definitions.project.observability))
    worker = Worker(compiled, engine_for(args, compiled))
    worker.run(once=args.once)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from runtime.artifacts import migration_paths
    from runtime.db import migrations
    from runtime.demo.accounts import DEMO_PASSWORD, demo_sign_ins
    from runtime.demo.bitext import seed_bitext
    from runtime.demo.seed import seed_demo

    # Someone watches the demo in a terminal: text lines, unless asked for JSON (the worker inherits this).
    os.environ.setdefault("TESSERA_LOG_FORMAT", "text")
    compiled = compiled_desk(args)
    engine = engine_for(args, compiled)
    migrations.upgrade(migration_paths(compiled), engine)
    created = seed_demo(compiled, engine)
    seed_bitext(compiled, engine)
    _train_demo_model(compiled, engine)
    print(f"demo desk ready: {created} sample tickets added" if created else "demo desk ready")
    if args.no_serve:
        return 0
    import datetime as dt

    from runtime.auth.tokens import SCOPES, create_token, find_agent

    project = compiled.definitions.project
    base = f"http://{args.host or project.host}:{args.port or project.port}"
    accounts = demo_sign_ins(compiled, engine)
    if accounts:
        print(f"sign in at {base}/login with the password '{DEMO_PASSWORD}' as "
              + ", ".join(f"{login} ({'agent' if kind == 'agent' else 'requester'})" for kind, login in accounts))
    with engine.begin() as connection:
        agent_id = find_agent(connection, compiled, "alex")
        if agent_id is not None:
            _, token = create_token(connection, compiled, agent_id, "demo", SCOPES, dt.timedelta(days=1))
            print(f"API token for the demo agent alex (valid one day):\n  {token}\n"
                  f"try: curl -H 'Authorization: Bearer {token}' {base}/api/v1/tickets")
    # The desk's background work (triage of new tickets, SLA timers, capture, mail) runs beside the server, as a
    # process of its own as in production, and stops with it.
    import subprocess

    worker = subprocess.Popen([sys.executable, str(HERE / "cli.py"), "--root", str(compiled.root),
                               "--database-url", database_url(args, compiled), "worker"])
    print(f"worker running (pid {worker.pid}): triage, SLA timers, knowledge capture, mail", flush=True)
    try:
        return cmd_serve(args)
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()


def _train_demo_model(compiled: CompiledDesk, engine: sa.Engine) -> None:
    """The first start trains the triage model on the sample history, so that triage has something to go by."""
    from pathlib import Path

    from runtime.ai.local_model import cached
    from runtime.ai.training import train_desk_model

    if cached(Path(compiled.root) / compiled.definitions.project.ai.model_dir) is not None:
        return
    trained = train_desk_model(compiled, engine)
    if trained is not None:
        print(f"triage model trained on {trained[0]} tickets: "
              + ", ".join(f"{r.head} ({len(r.labels)} values)" for r in trained[1] if not r.skipped))


def current_engine(args: argparse.Namespace, compiled: CompiledDesk) -> sa.Engine:
    """The engine, once the database is known to be at the definitions' revision."""
    from runtime.artifacts import migration_paths
    from runtime.db.guard import ensure_current

    engine = engine_for(args, compiled)
    ensure_current(migration_paths(compiled), compiled.schema_snapshot, engine)
    return engine


def refuse(message: str) -> int:
    """Bad input from the operator: one line on stderr and exit code 2, never a traceback."""
    print(message, file=sys.stderr)
    return 2


def cmd_token_create(args: argparse.Namespace) -> int:
    import datetime as dt
    import re

    from runtime.auth.tokens import create_token, find_agent, list_tokens
    from runtime.config.spec import DURATION_PATTERN
    from runtime.config.units import parse_duration

    expires_in = None
    if args.expires is not None:
        seconds = parse_duration(args.expires) if re.match(DURATION_PATTERN, args.expires) else 0
        if not seconds:
            return refuse(f"--expires {args.expires!r} is not a duration such as 90d, 12h or 1w")
        expires_in = dt.timedelta(seconds=seconds)
    compiled = compiled_desk(args)
    with current_engine(args, compiled).begin() as connection:
        agent_id = find_agent(connection, compiled, args.agent)
        if agent_id is None:
            return refuse(f"no agent with username {args.agent!r}")
        try:
            token_id, plaintext = create_token(connection, compiled, agent_id, args.label, args.scope, expires_in)
        except ValueError as exc:
            return refuse(str(exc))
        stored = next(t for t in list_tokens(connection, compiled, agent_id) if t["id"] == token_id)
    expiry = stored["expires_at"].isoformat(timespec="seconds") if stored["expires_at"] else "never"
    print(f"token {token_id} for {args.agent} ({', '.join(stored['scopes'])}), expires: {expiry}")
    print(plaintext)
    print("This is the only time the token is shown: store it now.")
    return 0


def cmd_token_list(args: argparse.Namespace) -> int:
    import datetime as dt

    from runtime.auth.tokens import find_agent, list_tokens

    compiled = compiled_desk(args)
    with current_engine(args, compiled).connect() as connection:
        agent_id = None
        if args.agent is not None:
            agent_id = find_agent(connection, compiled, args.agent)
            if agent_id is None:
                return refuse(f"no agent with username {args.agent!r}")
        tokens = list_tokens(connection, compiled, agent_id)
    if not tokens:
        print("no tokens")
        return 0
    now = dt.datetime.now(dt.UTC)

    def stamp(value: dt.datetime | None) -> str:
        return value.isoformat(timespec="seconds") if value else "-"

    print("id\tagent\tstate\tlabel\tscopes\texpires\tlast used")
    for t in tokens:
        state = ("revoked" if t["revoked_at"] else
                 "expired" if t["expires_at"] and t["expires_at"] <= now else "active")
        print(f"{t['id']}\t{t['agent']}\t{state}\t{t['label']}\t{','.join(t['scopes'] or ())}\t"
              f"{stamp(t['expires_at'])}\t{stamp(t['last_used_at'])}")
    return 0


def cmd_token_revoke(args: argparse.Namespace) -> int:
    from runtime.auth.tokens import revoke_token

    compiled = compiled_desk(args)
    with current_engine(args, compiled).begin() as connection:
        if not revoke_token(connection, compiled, args.id):
            return refuse(f"token {args.id} does not exist or is already revoked")
    print(f"token {args.id} revoked")
    return 0


def cmd_set_password(args: argparse.Namespace) -> int:
    from runtime.auth.accounts import set_password

    kind = "agent" if args.command == "agent" else "contact"
    if sys.stdin.isatty():
        import getpass

        plain = getpass.getpass(f"New password for {args.login}: ")
    else:
        plain = sys.stdin.readline().rstrip("\r\n")
    compiled = compiled_desk(args)
    with current_engine(args, compiled).begin() as connection:
        try:
            found = set_password(connection, compiled, kind, args.login, plain)
        except ValueError as exc:
            return refuse(str(exc))
    if not found:
        return refuse(f"no {kind} with {'username' if kind == 'agent' else 'email'} {args.login!r}")
    print(f"password set for {args.login}; their sessions are signed out")
    return 0


def cmd_agent_create(args: argparse.Namespace) -> int:
    """The first admin of a new desk has no one to add them in the pages: this is how staff starts."""
    from runtime.people.service import PeopleService
    from runtime.tickets.actors import SYSTEM
    from runtime.tickets.errors import InvalidTicket

    compiled = compiled_desk(args)
    known = compiled.definitions.project.roles
    roles = args.role or ["agent"]
    unknown = [r for r in roles if r not in known]
    if unknown:
        return refuse(f"no role {', '.join(map(repr, unknown))} in tessera.yaml; the roles: {', '.join(known)}")
    payload = {"username": args.username, "email": args.email, "name": args.name, "roles": roles,
               "skills": args.skill or [], "capacity": args.capacity}
    if args.language:
        payload["language"] = args.language
    try:
        agent = PeopleService(compiled, current_engine(args, compiled)).create(SYSTEM, "agents", payload)
    except InvalidTicket as exc:
        return refuse("; ".join(f"{e['field']}: {e['reason']}" for e in exc.errors) or str(exc))
    print(f"agent {agent['username']} created (id {agent['id']}, roles {', '.join(agent['roles'])}); "
          f"set a password with: cli.py agent set-password {agent['username']}")
    return 0


def add_auth_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``token create|list|revoke``, ``agent create`` and ``agent|contact set-password``: two-level commands."""
    text = "issue, list and revoke API tokens"
    token = sub.add_parser("token", help=text, description=text).add_subparsers(dest="action", required=True)
    create = token.add_parser("create", help="issue a token (shown once)")
    create.set_defaults(handler=cmd_token_create)
    create.add_argument("--agent", required=True, metavar="USERNAME", help="the agent the token acts as")
    create.add_argument("--label", required=True, metavar="TEXT", help="what the token is for")
    create.add_argument("--scope", required=True, action="append", metavar="SCOPE",
                        help="tickets:read, tickets:write, people:read, people:write, metrics:read or admin; "
                             "repeatable")
    create.add_argument("--expires", metavar="DURATION", help="lifetime such as 90d or 12h (default: never)")
    listing = token.add_parser("list", help="list tokens, without their secrets")
    listing.set_defaults(handler=cmd_token_list)
    listing.add_argument("--agent", metavar="USERNAME", help="only this agent's tokens")
    revoke = token.add_parser("revoke", help="revoke a token for good")
    revoke.set_defaults(handler=cmd_token_revoke)
    revoke.add_argument("id", type=int, metavar="ID")
    for kind, login in (("agent", "USERNAME"), ("contact", "EMAIL")):
        text = f"manage {'agents' if kind == 'agent' else 'requesters'}' sign-in"
        people = sub.add_parser(kind, help=text, description=text).add_subparsers(dest="action", required=True)
        password = people.add_parser("set-password",
                                     help="set a password, read from stdin (one line) or the terminal")
        password.set_defaults(handler=cmd_set_password)
        password.add_argument("login", metavar=login)
        if kind == "agent":
            create = people.add_parser("create", help="add a member of staff (the first admin of a new desk)")
            create.set_defaults(handler=cmd_agent_create)
            create.add_argument("username", metavar=login)
            create.add_argument("--email", required=True)
            create.add_argument("--name", required=True, help="the full name shown to colleagues")
            create.add_argument("--role", action="append", metavar="ROLE",
                                help="a role from tessera.yaml's roles, repeatable (default: agent)")
            create.add_argument("--skill", action="append", metavar="SKILL", help="repeatable")
            create.add_argument("--capacity", type=int, default=10, help="open tickets they carry (default 10)")
            create.add_argument("--language", help="their interface language, e.g. de")


def cmd_bench(args: argparse.Namespace) -> int:
    """The benchmarks live beside the runtime, not in it: a source checkout has them, an installed package not."""
    from bench.run_all import main as run_all

    return run_all(args.bench_args)


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
        if name == "serve":
            command.add_argument("--workers", type=int, default=1, metavar="N",
                                 help="server processes (default 1; more than 1 runs runtime.web.asgi:app)")
        if name == "demo":
            command.add_argument("--no-serve", action="store_true", help="prepare the demo database only")
        if name == "worker":
            command.add_argument("--once", action="store_true", help="run the due jobs once and exit")
    add_auth_commands(sub)
    add_sla_commands(sub, compiled_desk, current_engine)
    text = "import mail, or tickets from another desk or an export ('import PATH...' alone means mail)"
    kinds = sub.add_parser("import", help=text, description=text).add_subparsers(dest="kind", required=True)
    add_mail_import(kinds, compiled_desk, current_engine)
    add_ticket_import(kinds, compiled_desk, current_engine)
    add_export_command(sub, compiled_desk, current_engine)
    add_intake_commands(sub, compiled_desk, current_engine)
    add_assign_commands(sub, compiled_desk, current_engine)
    add_ai_commands(sub, compiled_desk, current_engine)
    add_kb_commands(sub, compiled_desk, current_engine)
    add_ops_commands(sub, compiled_desk, engine_for, current_engine)
    text = "run every benchmark (bench/run_all.py) and print one table of figures, targets and baselines"
    bench = sub.add_parser("bench", help=text, description=text, add_help=False)
    bench.set_defaults(handler=cmd_bench, bench_args=[])  # its options are bench/run_all.py's: see main()
    return root


def main(argv: list[str] | None = None) -> int:
    command_line = parser()
    args, passed_on = command_line.parse_known_args(mail_by_default(sys.argv[1:] if argv is None else argv,
                                                                   ("--root", "--database-url")))
    if passed_on:  # only `bench` hands options on (to bench/run_all.py); anywhere else they are mistakes
        if args.command != "bench":
            command_line.error(f"unrecognized arguments: {' '.join(passed_on)}")
        args.bench_args = passed_on
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
