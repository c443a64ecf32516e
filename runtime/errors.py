"""The root of every exception Tessera raises on purpose."""

from __future__ import annotations


class TesseraError(Exception):
    """Base class: anything raised deliberately by the runtime derives from this."""


class ConfigInvalid(TesseraError):
    """The YAML definitions do not validate; ``errors`` holds every problem found."""

    def __init__(self, errors: list[object], report: str) -> None:
        super().__init__(report)
        self.errors = errors
        self.report = report


class DatabaseBehind(TesseraError):
    """The database has not been migrated to what the definitions describe."""


class MigrationRefused(TesseraError):
    """A schema change would lose data and ``--allow-destructive`` was not given."""


class GeneratedStale(TesseraError):
    """Committed generated files no longer match the definitions."""
