"""Log output: one JSON object per line (for a log shipper) or plain text (for a person at a terminal).

Records pass a filter that copies the request's or job's fields (``context``) onto them in the thread that made
them and are formatted there; a thread of their own writes the lines, so that a slow reader of stderr never stalls
the event loop. Fields given with ``extra=`` appear as keys of the JSON object, or as ``key=value`` in text.
"""

from __future__ import annotations

import atexit
import datetime as dt
import json
import logging
import os
import sys
import threading
from collections import deque
from typing import Any

from runtime.config import ir
from runtime.observe.context import current_fields

FORMATS = ("json", "text")
LEVELS = ("debug", "info", "warning", "error")
FORMAT_ENV, LEVEL_ENV = "TESSERA_LOG_FORMAT", "TESSERA_LOG_LEVEL"
FLUSH_SECONDS = 0.05
LINES_KEPT = 100_000
# Attributes every LogRecord has; anything else on a record came from ``extra=`` or the context filter.
# uvicorn's color_message repeats the message with terminal colour codes.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName",
                                                                               "color_message"}
# The keys a JSON line always starts with, in this order.
_HEAD = ("time", "level", "logger", "message", "pid")


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    return {key: value for key, value in vars(record).items() if key not in _STANDARD and not key.startswith("_")}


def _stamp(record: logging.LogRecord) -> str:
    return dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        # The process id tells apart the lines of serve --workers N, which share one stream.
        line: dict[str, Any] = {"time": _stamp(record), "level": record.levelname.lower(), "logger": record.name,
                                "message": record.getMessage(), "pid": record.process}
        for key, value in extra_fields(record).items():
            if key not in _HEAD:
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = record.stack_info
        # default=str: a value nobody thought to make JSON (a datetime, a Decimal) must not lose the line.
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        # Unknown values (an anonymous caller's actor) would only lengthen a line meant for reading.
        extras = {key: value for key, value in extra_fields(record).items() if value is not None}
        request = extras.pop("request_id", None)
        text = f"{_stamp(record)} {record.levelname:<7} {record.name}"
        if request:
            text += f" [{request}]"
        text += f" {record.getMessage()}"
        if extras:
            text += " " + " ".join(f"{key}={value}" for key, value in extras.items())
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


class ContextFilter(logging.Filter):
    """Copies the current request's or job's fields onto each record, never over a field the record has."""

    def filter(self, record: logging.LogRecord) -> bool:
        fields = current_fields()
        if fields:
            for key, value in fields.items():
                if key not in record.__dict__:
                    record.__dict__[key] = value
        return True


class LineWriter(logging.Handler):
    """Formats each record in the thread that made it (where its context is) and keeps the line; a thread of its
    own writes what gathered every ``FLUSH_SECONDS``. Handing each record over at once would wake that thread per
    request, which costs the event loop more than the formatting does."""

    def __init__(self, stream: Any) -> None:
        super().__init__()
        self.stream = stream
        # A reader of stderr that stalls costs the oldest lines, never the process's memory.
        self.lines: deque[str] = deque(maxlen=LINES_KEPT)
        self._stop = threading.Event()
        self._writer = threading.Thread(target=self._run, name="tessera-log-writer", daemon=True)
        self._writer.start()
        atexit.register(self.close)  # what is still kept is written before the process ends

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(self.format(record))
        except Exception:
            self.handleError(record)

    def _run(self) -> None:
        while not self._stop.wait(FLUSH_SECONDS):
            self._write()
        self._write()

    def _write(self) -> None:
        lines = []
        while self.lines:
            lines.append(self.lines.popleft())
        if lines:
            self.stream.write("\n".join(lines) + "\n")
            self.stream.flush()

    def close(self) -> None:
        self._stop.set()
        if self._writer.is_alive() and self._writer is not threading.current_thread():
            self._writer.join(timeout=5)
        super().close()


def queued_handler(fmt: str = "json", stream: Any = None) -> logging.Handler:
    """A handler writing ``fmt`` lines to ``stream`` (stderr); also what uvicorn's ``log_config`` names, so that
    every process of ``serve --workers N`` builds one."""
    handler = LineWriter(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(ContextFilter())
    return handler


def chosen(setting_format: str, setting_level: str) -> tuple[str, str]:
    """The environment's format and level where set (and valid), else the desk's settings."""
    fmt = os.environ.get(FORMAT_ENV, "").strip().lower()
    level = os.environ.get(LEVEL_ENV, "").strip().lower()
    return (fmt if fmt in FORMATS else setting_format), (level if level in LEVELS else setting_level)


def desk_choice(settings: ir.Observability) -> tuple[str, str]:
    return chosen(settings.log_format, settings.log_level)


def logging_config(fmt: str, level: str) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` dict: every record to one queued handler on the root logger, uvicorn's own
    loggers included; uvicorn's access log is off, since ``request_log`` writes a richer line per request."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "handlers": {"tessera": {"()": "runtime.observe.logs.queued_handler", "fmt": fmt}},
        "root": {"handlers": ["tessera"], "level": level.upper()},
        "loggers": {
            "uvicorn": {"handlers": [], "propagate": True},
            "uvicorn.error": {"handlers": [], "propagate": True},
            "uvicorn.access": {"handlers": [], "propagate": False, "level": "WARNING"},
        },
    }


def configure(fmt: str, level: str) -> None:
    import logging.config

    logging.config.dictConfig(logging_config(fmt, level))
