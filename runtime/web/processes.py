"""Several server processes on one port, each accepting on a listening socket of its own (``SO_REUSEPORT``).

uvicorn's own ``--workers`` hands one listening socket to every process and whichever is awake first accepts, so
connections opened together (a proxy's pool, a client's keep-alive pool) pile onto one process while the others
idle: one core does the work of two. With a socket per process the kernel spreads new connections over the
processes by a hash of their addresses and ports, whatever each process happens to be doing.

The parent only supervises: it checks that the port is free, starts the processes, starts another when one dies,
and on SIGTERM or SIGINT asks each to finish its requests and exit. A process that fails to start (uvicorn's exit
code 3: the app would not load), or processes dying over and over, stop the whole server with an error.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import socket
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from multiprocessing.process import BaseProcess
from typing import Any

log = logging.getLogger("tessera.serve")

BACKLOG = 2048  # uvicorn's default
STARTUP_FAILURE = 3  # uvicorn's exit code when the app cannot be loaded or the server cannot start
GRACE = 30.0  # seconds a process gets to finish its requests after SIGTERM, before it is killed
RESTARTS, RESTART_WINDOW = 5, 60.0  # more restarts than this within the window: something is wrong for good
SUPPORTED = hasattr(socket, "SO_REUSEPORT")


@dataclass(frozen=True)
class Plan:
    """What every process serves, and how: ``app`` is an import string (``module:attribute``), ``options`` are
    keywords for ``uvicorn.Config`` (log level, log config, access log, …)."""

    app: str
    host: str
    port: int
    workers: int
    options: dict[str, Any] = field(default_factory=dict)


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket listening on ``host:port`` that other processes of the same user may listen on too."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        sock.listen(BACKLOG)
    except OSError:
        sock.close()
        raise
    return sock


def port_problem(host: str, port: int) -> str | None:
    """Why ``host:port`` cannot be served, or None. The probe does not ask for ``SO_REUSEPORT``, so it also fails
    when another server (another desk, say) started the same way is listening there: sharing its port would split
    the requests between two desks."""
    if port == 0:
        return "port 0: every process would listen on a port of its own; give a port"
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # connections still closing do not count
        try:
            probe.bind((host, port))
        except OSError as exc:
            return f"cannot listen on {host}:{port}: {exc.strerror or exc}"
    return None


def _leave_with_parent(parent: int) -> None:
    """A process whose supervisor died (killed outright, say) stops too, rather than keep the port on its own."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os.kill(os.getpid(), signal.SIGTERM)


def _serve_one(plan: Plan, parent: int) -> None:
    """One server process: its own listening socket, then uvicorn until it is told to stop."""
    import uvicorn

    threading.Thread(target=_leave_with_parent, args=(parent,), name="parent-watch", daemon=True).start()
    sock = listening_socket(plan.host, plan.port)
    config = uvicorn.Config(plan.app, host=plan.host, port=plan.port, **plan.options)
    uvicorn.Server(config).run(sockets=[sock])


@dataclass
class Supervisor:
    plan: Plan
    processes: list[BaseProcess] = field(default_factory=list)
    restarts: deque[float] = field(default_factory=deque)
    stopping: threading.Event = field(default_factory=threading.Event)

    def _start(self) -> BaseProcess:
        # spawn, not fork: a forked child would inherit the parent's threads' locks (logging's among them).
        process = multiprocessing.get_context("spawn").Process(
            target=_serve_one, args=(self.plan, os.getpid()), name="tessera-web", daemon=False)
        process.start()
        log.info("started server process %s", process.pid)
        return process

    def _replace(self, index: int) -> int | None:
        """Start another process in place of the dead one at ``index``; an exit code to end with when that would
        be pointless."""
        dead = self.processes[index]
        code = dead.exitcode
        if code == STARTUP_FAILURE:
            log.error("server process %s could not start (exit code %s); stopping", dead.pid, code)
            return 1
        now = time.monotonic()
        self.restarts.append(now)
        while self.restarts and self.restarts[0] < now - RESTART_WINDOW:
            self.restarts.popleft()
        if len(self.restarts) > RESTARTS:
            log.error("server processes died %d times within %g s (the last, %s, with exit code %s); stopping",
                      len(self.restarts), RESTART_WINDOW, dead.pid, code)
            return 1
        log.warning("server process %s exited with code %s; starting another", dead.pid, code)
        self.processes[index] = self._start()
        return None

    def _stop_all(self) -> None:
        for process in self.processes:
            if process.is_alive() and process.pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + GRACE
        for process in self.processes:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                log.warning("server process %s did not stop within %g s; killing it", process.pid, GRACE)
                process.kill()
                process.join(5.0)

    def run(self) -> int:
        """Serve until SIGTERM or SIGINT (exit code 0) or until the processes cannot be kept running (1)."""
        problem = port_problem(self.plan.host, self.plan.port)
        if problem:
            log.error("%s", problem)
            return 1
        previous = {sig: signal.signal(sig, lambda *_: self.stopping.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
        code = 0
        try:
            self.processes = [self._start() for _ in range(self.plan.workers)]
            while not self.stopping.wait(0.5):
                for index, process in enumerate(self.processes):
                    if not process.is_alive() and not self.stopping.is_set():
                        failed = self._replace(index)
                        if failed is not None:
                            code = failed
                            self.stopping.set()
                            break
        finally:
            self._stop_all()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        log.info("all server processes stopped")
        return code


def serve(plan: Plan) -> int:
    """Serve ``plan`` with one listening socket per process where the system allows it (Linux, BSDs, macOS), else
    with uvicorn's own workers sharing one socket."""
    if not SUPPORTED:  # pragma: no cover - Windows
        import uvicorn

        uvicorn.run(plan.app, host=plan.host, port=plan.port, workers=plan.workers, **plan.options)
        return 0
    sys.stdout.flush()
    return Supervisor(plan).run()


def main(argv: list[str] | None = None) -> int:
    """``python -m runtime.web.processes module:app --workers N``: any ASGI app served as ``cli.py serve`` serves the
    desk (the benchmarks serve their baseline this way, so that both are measured behind the same sockets)."""
    import argparse

    options = argparse.ArgumentParser(description=main.__doc__)
    options.add_argument("app", help="the app as an import string, module:attribute")
    options.add_argument("--host", default="127.0.0.1")
    options.add_argument("--port", type=int, default=8000)
    options.add_argument("--workers", type=int, default=2)
    options.add_argument("--log-level", default="info")
    args = options.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s %(message)s")
    return serve(Plan(args.app, args.host, args.port, args.workers, {"log_level": args.log_level}))


if __name__ == "__main__":
    sys.exit(main())
