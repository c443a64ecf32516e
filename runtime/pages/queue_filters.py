"""The queue's filters: read from the page's query string (the state of the page, so a view can be bookmarked,
saved and shared), checked field by field so that a bad value comes back to the form with its reason, and
turned into the ticket listing's ``ListQuery``.

Without a ``category`` the queue shows open tickets, the everyday view; ``category=all`` shows every category.
The canonical query string leaves out defaults and empty fields, so one view has one address.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, replace
from urllib.parse import urlencode

from runtime.config.core_columns import PRIORITIES, STATUS_CATEGORIES
from runtime.tickets.listing import RELEVANCE, ListQuery

DEFAULT_CATEGORY = "open"
ALL = "all"
DEFAULT_SORT = "-created_at"
# The listing's sorts, each both ways; ascending priority is the most urgent first (P0 before P3).
SORTS = ("-created_at", "created_at", "-updated_at", "updated_at", "priority", "-priority", "number", "-number",
         RELEVANCE)
FIELDS = ("category", "status", "priority", "type", "assignee", "team", "tags", "q", "created_from", "created_to",
          "updated_from", "updated_to", "sort")
PAGING = ("cursor", "before")
PAGE_SIZE = 50
MAX_TEXT, MAX_SEARCH, MAX_CURSOR, MAX_TAGS = 200, 500, 1000, 10


@dataclass(frozen=True)
class Choices:
    """What the select fields may hold: the desk's types and states, the agents and teams by id."""

    types: Collection[str]
    statuses: Collection[str]
    agent_ids: Collection[int]
    team_ids: Collection[int]


@dataclass(frozen=True)
class QueueFilters:
    values: dict[str, str]  # every field as the form shows it (typed text, even when it is wrong)
    errors: dict[str, str] = field(default_factory=dict)  # field → key of the reason in the queue catalog
    cursor: str | None = None  # the page after this listing cursor …
    before: str | None = None  # … or the page before this one

    @property
    def category(self) -> str:
        return self.values["category"] or DEFAULT_CATEGORY

    @property
    def sort(self) -> str:
        return self.values["sort"] or (RELEVANCE if self.values["q"] else DEFAULT_SORT)

    @property
    def paged(self) -> bool:
        return bool(self.cursor or self.before)

    def with_error(self, name: str, reason: str) -> QueueFilters:
        return replace(self, errors={**self.errors, name: reason})

    def query_string(self, **changes: str | None) -> str:
        """The canonical query string of this view (no page position unless given in ``changes``)."""
        values = {**self.values, "cursor": None, "before": None, **changes}
        if values.get("category") == DEFAULT_CATEGORY:
            values["category"] = ""
        if values.get("sort") == (RELEVANCE if values.get("q") else DEFAULT_SORT):
            values["sort"] = ""
        return urlencode([(k, v) for k in (*FIELDS, *PAGING) if (v := values.get(k))])

    def link(self, **changes: str | None) -> str:
        query = self.query_string(**changes)
        return f"/queue?{query}" if query else "/queue"

    def list_query(self) -> ListQuery:
        """The listing's query for the first page of this view; only called when there are no errors."""
        values = self.values
        equals = {"status_category": self.category} if self.category != ALL else {}
        equals |= {name: values[name] for name in ("status", "priority", "type") if values[name]}
        return ListQuery(
            equals=equals, assignee=values["assignee"] or None,
            team_id=int(values["team"]) if values["team"] else None, tags=split_tags(values["tags"]),
            created_after=_day(values["created_from"]), created_before=_day(values["created_to"], 1),
            updated_after=_day(values["updated_from"]), updated_before=_day(values["updated_to"], 1),
            text=values["q"] or None, sort=self.sort, limit=PAGE_SIZE)


def split_tags(text: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(tag.strip() for tag in text.split(",") if tag.strip()))


def _day(text: str, plus: int = 0) -> dt.datetime | None:
    """Midnight UTC starting the given day (``plus`` days later: an end date includes its whole day)."""
    if not text:
        return None
    day = dt.date.fromisoformat(text) + dt.timedelta(days=plus)
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def _checks(choices: Choices) -> dict[str, Callable[[str], bool]]:
    """Per field: does a non-empty value fit?"""

    def key_in(ids: Collection[int]) -> Callable[[str], bool]:
        return lambda v: v.isascii() and v.isdigit() and len(v) < 19 and int(v) in ids

    return {
        "category": lambda v: v in (*STATUS_CATEGORIES, ALL),
        "status": lambda v: v in choices.statuses,
        "priority": lambda v: v in PRIORITIES,
        "type": lambda v: v in choices.types,
        "assignee": lambda v: v in ("me", "none") or key_in(choices.agent_ids)(v),
        "team": key_in(choices.team_ids),
        "sort": lambda v: v in SORTS,
    }


def parse(params: Mapping[str, str], choices: Choices) -> QueueFilters:
    """The filters of a query string, with a reason for each field whose value does not fit."""
    values = {name: str(params.get(name) or "").strip() for name in FIELDS}
    errors: dict[str, str] = {}
    for name, value in values.items():
        if "\x00" in value or len(value) > (MAX_SEARCH if name == "q" else MAX_TEXT):
            errors[name] = "queue.error_text"
    checks = _checks(choices)
    for name, fits in checks.items():
        if name not in errors and values[name] and not fits(values[name]):
            errors[name] = "queue.error_choice"
    if "tags" not in errors and len(split_tags(values["tags"])) > MAX_TAGS:
        errors["tags"] = "queue.error_tags"
    for start, end in (("created_from", "created_to"), ("updated_from", "updated_to")):
        moments: dict[str, dt.datetime | None] = {}
        for name, plus in ((start, 0), (end, 1)):
            try:
                moments[name] = _day(values[name], plus) if name not in errors else None
            except (ValueError, OverflowError):
                errors[name] = "queue.error_date"
        low, high = moments.get(start), moments.get(end)
        if low is not None and high is not None and low >= high:
            errors[end] = "queue.error_range"
    cursor, before = (str(params.get(name) or "") or None for name in PAGING)
    if values["sort"] == RELEVANCE and not values["q"] and "sort" not in errors:
        errors["sort"] = "queue.error_relevance"
    if any(c and (len(c) > MAX_CURSOR or not c.isascii()) for c in (cursor, before)) or (
            before and QueueFilters(values).sort == RELEVANCE):  # relevance has no reverse order to page back by
        errors["cursor"] = "queue.error_cursor"
    return QueueFilters(values, errors, cursor, before)


def reversed_sort(sort: str) -> str:
    """The same order backwards: the page before a cursor is the page after it in reverse."""
    return sort[1:] if sort.startswith("-") else f"-{sort}"
