"""The shipped desk, seeded, with its mailboxes fetching mail from test IMAP accounts."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from runtime.artifacts import migration_paths
from runtime.compile.desk import load_compiled
from runtime.db import migrations
from runtime.db.engine import make_engine
from runtime.demo.seed import seed_demo
from runtime.intake.pipeline import MailPipeline
from runtime.tickets.service import TicketService
from tests.desk_fixtures import SHIPPED, copy_shipped_desk
from tests.intake.dovecot import Account
from tests.intake.mail_fixtures import IntakeDesk
from tests.tickets.service_fixtures import SeededDesk

PASSWORD_ENV = "TESSERA_TEST_IMAP_PASSWORD"  # every test account has the same password


def imap_settings(account: Account, **extra: Any) -> dict[str, Any]:
    return {"host": "127.0.0.1", "port": account.port, "ssl": False, "username": account.username,
            "password_env": PASSWORD_ENV, **extra}


def imap_desk(tmp: Path, database_url: str, imap: dict[str, dict[str, Any]],
              listener: dict[str, Any] | None = None) -> IntakeDesk:
    """``imap``: the settings of each mailbox (it, care) that fetches over IMAP."""
    root = copy_shipped_desk(tmp / "desk")
    yaml = YAML()
    yaml.preserve_quotes = True  # the shipped file's patterns are quoted, and must stay so
    yaml.width = 4096
    project = yaml.load(root / "tessera.yaml")
    for name, settings in imap.items():
        project["mail"]["mailboxes"][name]["imap"] = settings
    if listener is not None:
        project["mail"]["listener"] = listener
    yaml.dump(project, root / "tessera.yaml")
    shutil.copytree(SHIPPED / "generated", root / "generated")
    compiled = load_compiled(root)
    engine = make_engine(database_url, root)
    migrations.upgrade(migration_paths(compiled), engine)
    seed_demo(compiled, engine)
    desk = SeededDesk(compiled, engine, TicketService(compiled, engine))
    return IntakeDesk(desk, MailPipeline(compiled, engine, desk.service))
