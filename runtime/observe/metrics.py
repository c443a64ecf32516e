"""Request counters and latency histograms (prometheus_client), and the text ``/metrics`` answers with.

``cli.py serve --workers N`` runs N processes behind one port, and a scrape reaches one of them: each would show
only its own share of the requests. With ``PROMETHEUS_MULTIPROC_DIR`` set (``serve`` sets it to a fresh folder
when N > 1) every process writes its figures to files there and each scrape adds all of them up. The desk's
figures (tickets, intake, SLA, AI, jobs) come from the database instead, which every process reads alike.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics, generate_latest
from prometheus_client.registry import Collector

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = "text/plain; version=0.0.4"  # the web framework adds the charset, utf-8
# A *_created series per counter, in single-process mode only: noise for most scrapers, and the processes of
# ``serve --workers N`` would differ in it.
disable_created_metrics()  # type: ignore[no-untyped-call]
# Seconds: a cached read is a few milliseconds, a create tens, a large search or page hundreds.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
UNMATCHED = "(unmatched)"  # the route of a request no route took: its raw path would make a label per URL


def multiprocess_folder() -> str | None:
    return os.environ.get(MULTIPROCESS_ENV) or None


def prepare_multiprocess() -> Path:
    """Before starting several server processes: the folder they share, emptied of a previous run's files
    (its figures would otherwise be counted again). Takes ``PROMETHEUS_MULTIPROC_DIR`` when set, else a new
    temporary folder, which is then also set in the environment the processes inherit."""
    given = multiprocess_folder()
    if given:
        folder = Path(given)
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("*.db"):
            stale.unlink()
        return folder
    folder = Path(tempfile.mkdtemp(prefix="tessera-metrics-"))
    os.environ[MULTIPROCESS_ENV] = str(folder)
    return folder


def remove_multiprocess(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)


class RequestMetrics:
    """The HTTP figures of one app; ``observe`` is called once per request by the request log."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        shared = multiprocess_folder()
        # In multiprocess mode the values live in the folder's files and the scrape reads them from there, so
        # the metrics themselves belong to no registry.
        owner = None if shared else self.registry
        labels = ("method", "route", "status")
        self.requests = Counter("tessera_http_requests", "HTTP requests answered, by route template and status "
                                "class", labels, registry=owner)
        self.latency = Histogram("tessera_http_request_duration_seconds", "Time from a request's arrival to its "
                                 "response's last byte, by route template and status class", labels,
                                 buckets=LATENCY_BUCKETS, registry=owner)
        # The labelled children, kept: looking them up through labels() costs more than the increment itself.
        self._children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}
        if shared:
            from prometheus_client.multiprocess import MultiProcessCollector

            MultiProcessCollector(self.registry, path=shared)  # type: ignore[no-untyped-call]

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status // 100)
        children = self._children.get(key)
        if children is None:
            names = (method, route, f"{key[2]}xx")
            children = self._children[key] = (self.requests.labels(*names), self.latency.labels(*names))
        children[0].inc()
        children[1].observe(seconds)

    def add(self, collectors: Iterable[Collector]) -> None:
        for collector in collectors:
            self.registry.register(collector)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
