"""Running the SMTP listener: an aiosmtpd server on its own event loop thread, with stored mail processed in the
background; ``cli.py intake smtp`` and the tests start it the same way."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading

from aiosmtpd.smtp import SMTP

from runtime.intake.background import BackgroundProcessing
from runtime.intake.pipeline import MailPipeline
from runtime.intake.processing import IntakeProcessor
from runtime.intake.smtp_listener import IntakeHandler

log = logging.getLogger("tessera.intake.smtp")


class SmtpListener:
    def __init__(self, pipeline: MailPipeline, host: str, port: int, max_bytes: int) -> None:
        self.host = host
        self.port = port  # 0: any free port, known once started
        self.max_bytes = max_bytes
        self.background = BackgroundProcessing(IntakeProcessor(pipeline))
        self.handler = IntakeHandler(pipeline, max_bytes, self.background.submit)
        # Named here: aiosmtpd would otherwise ask the resolver for this host's full name on every connection.
        self.hostname = socket.gethostname()
        self.loop = asyncio.new_event_loop()
        self.server: asyncio.Server | None = None
        self.thread: threading.Thread | None = None

    def _session(self) -> SMTP:
        # aiosmtpd refuses DATA beyond the limit while reading it (552), and announces it in EHLO (SIZE).
        return SMTP(self.handler, data_size_limit=self.max_bytes, enable_SMTPUTF8=True, hostname=self.hostname,
                    loop=self.loop)

    def start(self) -> SmtpListener:
        """Listen (raises when the address is taken) and answer sessions in a thread until ``stop``."""
        self.server = server = self.loop.run_until_complete(
            self.loop.create_server(self._session, self.host, self.port))
        self.port = int(server.sockets[0].getsockname()[1])
        self.background.start()
        self.thread = threading.Thread(target=self.loop.run_forever, name="smtp-listener", daemon=True)
        self.thread.start()
        log.info("SMTP listener on %s:%s, messages up to %s bytes", self.host, self.port, self.max_bytes)
        return self

    def stop(self) -> None:
        """Stop answering; messages stored but not yet processed stay ``received`` for the worker."""
        if self.thread is None:
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()
        self.thread = None
        if self.server is not None:
            self.server.close()
        self.loop.run_until_complete(_cut_sessions())
        self.loop.close()
        self.background.stop()


async def _cut_sessions() -> None:
    """Sessions still open are cut: their senders were not told 250, so they send again later."""
    sessions = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    for task in sessions:
        task.cancel()
    await asyncio.gather(*sessions, return_exceptions=True)
