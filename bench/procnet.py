"""Which sockets a process holds and which are open on a port, read from Linux's /proc (for the benchmark's
connection split and the tests of ``serve --workers N``)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

LISTEN, ESTABLISHED = "0A", "01"  # TCP states as /proc/net/tcp writes them


def port_sockets(port: int) -> dict[str, set[str]]:
    """The inodes of the TCP sockets on local ``port``, by state (``LISTEN``, ``ESTABLISHED``, …)."""
    found: dict[str, set[str]] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                cells = line.split()
                if int(cells[1].rsplit(":", 1)[1], 16) == port:
                    found.setdefault(cells[3], set()).add(cells[9])  # the socket's inode
    return found


def sockets_of(pid: int) -> set[str]:
    """The inodes of the sockets process ``pid`` holds open (empty once it is gone)."""
    found = set()
    with contextlib.suppress(OSError):
        for fd in os.listdir(f"/proc/{pid}/fd"):
            with contextlib.suppress(OSError):
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                if target.startswith("socket:["):
                    found.add(target[8:-1])
    return found
