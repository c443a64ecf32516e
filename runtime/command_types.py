"""What cli.py hands each command group: how to load the desk, and how to open its database once it is known to
be current, both from the parsed arguments. Types only, so that importing them costs the CLI's start nothing."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlalchemy as sa

    from runtime.compile.desk import CompiledDesk

LoadDesk = Callable[[argparse.Namespace], "CompiledDesk"]
OpenDatabase = Callable[[argparse.Namespace, "CompiledDesk"], "sa.Engine"]
