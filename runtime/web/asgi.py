"""The app as a module-level ASGI object, for servers that start several worker processes.

``uvicorn runtime.web.asgi:app --workers 4`` (or ``cli.py serve --workers 4``) imports this module in
every worker. The desk comes from ``TESSERA_ROOT`` (default: the repository folder) and the database
from ``TESSERA_DATABASE_URL`` (default: the desk's tessera.yaml); like ``create_app`` it refuses to
start on a database behind the definitions.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from runtime.compile.desk import load_compiled
from runtime.db.engine import make_engine
from runtime.observe import logs
from runtime.web.app import create_app

_root = Path(os.environ.get("TESSERA_ROOT") or Path(__file__).resolve().parents[2]).resolve()
_compiled = load_compiled(_root)
if not logging.getLogger().handlers:  # started by a server that set up no logging (cli.py serve does)
    logs.configure(*logs.desk_choice(_compiled.definitions.project.observability))
_url = os.environ.get("TESSERA_DATABASE_URL") or _compiled.definitions.project.database_url
app = create_app(_compiled, make_engine(_url, _compiled.root))
