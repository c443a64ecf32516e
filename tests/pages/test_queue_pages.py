"""The agents' queue page: filters, access rules in rows and counts, htmx fragments, pages back and forth, bad
filter values answered with their reasons, saved views, and the desk's words in the visitor's language.

The demo's sample tickets: alex (service desk) sees IT-000001 (his), IT-000002, CC-000002 and ADM-000002 (no team
yet) and ADM-000001 (his); the field service's EQ-000001/2 and customer care's resolved CC-000001 are not his."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from tests.pages.browser import AGENT, LiveDesk
from tests.pages.browser import sign_in as browser_sign_in
from tests.pages.queue_fixtures import QueueDesk, category_counts, queue_desk, ticket_numbers

if TYPE_CHECKING:  # Playwright is imported at run time by the one browser test, which the fixtures skip without it
    from playwright.sync_api import Page

ALEX_SEES = {"IT-000001", "IT-000002", "CC-000002", "ADM-000001", "ADM-000002"}
HIDDEN_FROM_ALEX = {"EQ-000001", "EQ-000002", "CC-000001"}
HTMX = {"HX-Request": "true"}


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[QueueDesk]:
    with queue_desk(tmp_path_factory.mktemp("queue")) as built:
        yield built


def rows(desk: QueueDesk, query: str) -> list[str]:
    answer = desk.client.get(f"/queue?{query}")
    assert answer.status_code == 200, answer.text
    return ticket_numbers(answer.text)


def test_filters_narrow_the_rows(desk: QueueDesk) -> None:
    desk.as_agent("alex")
    assert set(rows(desk, "category=all")) == ALEX_SEES
    assert set(rows(desk, "")) == ALEX_SEES - {"ADM-000001"}  # the default: open tickets (ADM-000001 awaits approval)
    assert set(rows(desk, "category=all&priority=P1")) == {"IT-000001", "CC-000002"}
    assert set(rows(desk, "category=all&type=it_support")) == {"IT-000001", "IT-000002"}
    assert set(rows(desk, "category=all&assignee=me")) == {"IT-000001", "ADM-000001"}
    assert set(rows(desk, "category=all&assignee=none")) == {"IT-000002", "CC-000002", "ADM-000002"}
    assert set(rows(desk, f"category=all&team={desk.team('service_desk')}")) == {"IT-000001"}
    assert set(rows(desk, "category=all&status=in_progress")) == {"IT-000001"}
    assert rows(desk, "category=all&q=VPN") == ["IT-000002"]
    assert "1 ticket<" in desk.client.get("/queue?category=all&q=VPN").text
    assert f"{len(ALEX_SEES)} tickets<" in desk.client.get("/queue?category=all").text
    assert rows(desk, "category=all&created_to=2000-01-01") == []
    assert set(rows(desk, "category=all&created_from=2000-01-01&updated_from=2000-01-01")) == ALEX_SEES
    by_priority = rows(desk, "category=all&sort=priority")
    assert by_priority[:2] in (["IT-000001", "CC-000002"], ["CC-000002", "IT-000001"])  # P1 first, P3 last
    assert by_priority[-1] in {"ADM-000001", "ADM-000002"}


def test_tags_filter_keeps_tickets_with_every_tag(desk: QueueDesk) -> None:
    desk.new_ticket("alex", "Docking station flickers", team_id=desk.team("service_desk"), tags=["dock", "screen"])
    desk.new_ticket("alex", "Docking station missing", team_id=desk.team("service_desk"), tags=["dock"])
    desk.as_agent("alex")
    assert len(rows(desk, "tags=dock")) == 2
    assert len(rows(desk, "tags=dock,+screen")) == 1


def test_another_teams_tickets_are_neither_listed_nor_counted(desk: QueueDesk) -> None:
    desk.as_agent("alex")
    everything = desk.client.get("/queue?category=all").text
    assert not HIDDEN_FROM_ALEX & set(ticket_numbers(everything))
    assert rows(desk, "category=all&q=Packaging") == []  # the field service's ticket, searched for by its title
    counts = category_counts(desk.client.get("/queue/counts?category=all").text)
    shown = len(ticket_numbers(everything))
    assert int(counts["all"]) == shown
    assert int(counts["open"]) + int(counts["paused"]) + int(counts["resolved"]) + int(counts["closed"]) == shown
    assert counts["paused"] == "1"  # ADM-000001 awaits approval; the field service's EQ-000002 is not counted
    assert category_counts(desk.client.get("/queue/counts?type=equipment_maintenance").text)["all"] == "0"
    assert category_counts(desk.client.get("/queue/counts?q=Packaging").text) == {}  # a search shows its own total
    desk.as_agent("bea")
    assert {"EQ-000001", "EQ-000002"} <= set(rows(desk, "category=all"))
    assert category_counts(desk.client.get("/queue/counts").text)["paused"] == "2"


def test_htmx_asks_for_the_rows_alone_and_is_told_the_address_to_keep(desk: QueueDesk) -> None:
    desk.as_agent("alex")
    whole = desk.client.get("/queue?priority=P1&status=&sort=-created_at")
    assert whole.text.startswith("<!doctype html>")
    assert 'id="queue-filters"' in whole.text
    assert 'hx-target="#queue-results"' in whole.text
    part = desk.client.get("/queue?priority=P1&status=&sort=-created_at", headers=HTMX)
    assert part.status_code == 200
    assert "<html" not in part.text
    assert 'id="queue-filters"' not in part.text
    assert ticket_numbers(part.text) == ticket_numbers(whole.text) == ["CC-000002", "IT-000001"]
    assert part.headers["HX-Push-Url"] == "/queue?priority=P1"  # empty fields and the default sort left out
    restored = desk.client.get("/queue?priority=P1", headers={**HTMX, "HX-History-Restore-Request": "true"})
    assert restored.text.startswith("<!doctype html>")


@pytest.mark.parametrize(("query", "field"), [
    ("priority=P9", "priority"), ("category=someday", "category"), ("status=nope", "status"),
    ("type=unknown", "type"), ("assignee=999999999999999999999", "assignee"), ("assignee=-1", "assignee"),
    ("team=abc", "team"), ("team=987654", "team"), ("created_from=2024-13-01", "created_from"),
    ("updated_to=yesterday", "updated_to"), ("created_to=9999-12-31", "created_to"),
    ("created_from=2024-05-02&created_to=2024-05-01", "created_to"), ("sort=relevance", "sort"),
    ("sort=title", "sort"), ("q=" + "x" * 501, "q"), ("q=a%00b", "q"), ("tags=" + ",".join("abcdefghijk"), "tags"),
])
def test_a_bad_filter_value_comes_back_beside_its_field(desk: QueueDesk, query: str, field: str) -> None:
    desk.as_agent("alex")
    answer = desk.client.get(f"/queue?{query}")
    assert answer.status_code == 400
    assert f'aria-describedby="queue-{field}-error"' in answer.text
    assert f'id="queue-{field}-error"' in answer.text
    assert 'id="queue-table"' not in answer.text


@pytest.mark.parametrize("query", ["cursor=bm90IGEgY3Vyc29y", "before=W10", "cursor=%C3%A9", "q=vpn&before=W10"])
def test_a_page_link_the_queue_did_not_make_is_refused_with_a_way_back(desk: QueueDesk, query: str) -> None:
    desk.as_agent("alex")
    answer = desk.client.get(f"/queue?{query}")
    assert answer.status_code == 400
    assert 'id="queue-cursor-error"' in answer.text


def test_htmx_gets_the_form_with_its_reasons_in_place_of_the_rows(desk: QueueDesk) -> None:
    desk.as_agent("alex")
    answer = desk.client.get("/queue?priority=P9", headers=HTMX)
    assert answer.status_code == 200  # htmx swaps 2xx answers only
    assert answer.headers["HX-Retarget"] == "#queue-body"
    assert answer.headers["HX-Reswap"] == "outerHTML"
    assert answer.text.lstrip().startswith('<div id="queue-body">')
    assert 'aria-invalid="true" aria-describedby="queue-priority-error"' in answer.text


def test_pages_go_forward_and_back_through_the_same_rows(desk: QueueDesk) -> None:
    care = desk.team("customer_care")
    for n in range(57):
        desk.new_ticket("chen", f"Paged request {n}", team_id=care, tags=["paged"])
    desk.as_agent("chen")
    first = desk.client.get("/queue?tags=paged")
    first_rows = ticket_numbers(first.text)
    assert len(first_rows) == 50
    assert "57 tickets" in first.text
    following = re.search(r'href="([^"]+)" rel="next"', first.text)
    assert following is not None
    assert 'rel="prev"' not in first.text
    second = desk.client.get(following.group(1).replace("&amp;", "&"))
    second_rows = ticket_numbers(second.text)
    assert len(second_rows) == 7
    assert not set(first_rows) & set(second_rows)
    assert 'rel="next"' not in second.text
    back = re.search(r'href="([^"]+)" rel="prev"', second.text)
    assert back is not None
    assert 'rel="first"' in second.text
    returned = desk.client.get(back.group(1).replace("&amp;", "&"), headers=HTMX)
    assert ticket_numbers(returned.text) == first_rows
    assert returned.headers["HX-Push-Url"] == "/queue?tags=paged"  # back at the start: the first page's address
    assert 'rel="first"' not in returned.text
    assert 'rel="prev"' not in returned.text
    oldest = rows(desk, "tags=paged&sort=created_at")
    assert oldest[:7] == second_rows[::-1]


def test_the_desk_words_are_in_the_visitors_language(desk: QueueDesk) -> None:
    desk.as_agent("alex")
    desk.client.cookies.set("tessera_lang", "de")
    page = desk.client.get("/queue?category=all&type=it_support").text
    desk.client.cookies.delete("tessera_lang")
    assert "<h1>Warteschlange</h1>" in page
    assert ">IT-Support<" in page  # the type's label from its YAML
    assert ">In Bearbeitung<" in page  # the state's label from the workflow's YAML
    assert ">P1 · Hoch<" in page
    assert ">Nummer<" in page
    english = desk.client.get("/queue?category=all&type=it_support").text
    assert ">IT support<" in english
    assert ">In progress<" in english


def test_a_saved_view_is_listed_applied_replaced_and_deleted_by_its_owner_only(desk: QueueDesk) -> None:
    token = desk.as_agent("alex")
    saved = desk.client.post("/queue/views", data={"csrf_token": token, "name": "Urgent",
                                                   "query": "priority=P1&status=&category=all&cursor=abc"},
                             follow_redirects=False)
    assert saved.status_code == 303
    assert saved.headers["location"] == "/queue?category=all&priority=P1"  # canonical, without the page position
    page = desk.client.get("/queue").text
    assert '<a href="/queue?category=all&amp;priority=P1">Urgent</a>' in page
    applied = desk.client.get("/queue?category=all&priority=P1").text
    assert 'aria-current="page">Urgent</a>' in applied
    replaced = desk.client.post("/queue/views", data={"csrf_token": token, "name": "Urgent", "query": "priority=P0"},
                                follow_redirects=False)
    assert replaced.status_code == 303
    views = desk.compiled.table("saved_views")
    with desk.engine.connect() as connection:
        stored = connection.execute(sa.select(views.c.id, views.c.query).where(views.c.name == "Urgent")).all()
    assert [row.query for row in stored] == ["priority=P0"]
    view_id = stored[0].id

    other = desk.as_agent("bea")
    refused = desk.client.post(f"/queue/views/{view_id}/delete", data={"csrf_token": other})
    assert refused.status_code == 404
    assert "Urgent" not in desk.client.get("/queue").text  # not listed for anyone else either

    token = desk.as_agent("alex")
    deleted = desk.client.post(f"/queue/views/{view_id}/delete",
                               data={"csrf_token": token, "next": "/queue?priority=P0"}, follow_redirects=False)
    assert deleted.status_code == 303
    assert deleted.headers["location"] == "/queue?priority=P0"
    assert "Urgent" not in desk.client.get("/queue").text
    gone = desk.client.post(f"/queue/views/{view_id}/delete", data={"csrf_token": token})
    assert gone.status_code == 404
    assert desk.client.post("/queue/views/99999999999999999999999/delete",
                            data={"csrf_token": token}).status_code == 404


def test_saving_a_view_without_the_sessions_token_is_refused(desk: QueueDesk) -> None:
    desk.as_agent("alex")
    for data in ({"name": "Sneaky", "query": "priority=P0"},
                 {"name": "Sneaky", "query": "priority=P0", "csrf_token": "forged"}):
        answer = desk.client.post("/queue/views", data=data)
        assert answer.status_code == 403
    views = desk.compiled.table("saved_views")
    with desk.engine.connect() as connection:
        assert connection.execute(sa.select(views.c.id).where(views.c.name == "Sneaky")).first() is None
    assert desk.client.post("/queue/views/1/delete", data={}).status_code == 403


@pytest.mark.parametrize(("data", "reason"), [
    ({"name": "   ", "query": "priority=P0"}, "Give the view a name"),
    ({"name": "x" * 81, "query": "priority=P0"}, "Give the view a name"),
    ({"name": "Broken", "query": "priority=P9"}, "These filters cannot be saved"),
])
def test_a_view_that_cannot_be_saved_says_why(desk: QueueDesk, data: dict[str, str], reason: str) -> None:
    token = desk.as_agent("alex")
    answer = desk.client.post("/queue/views", data={**data, "csrf_token": token})
    assert answer.status_code == 422
    assert reason in answer.text
    assert 'aria-describedby="queue-view-error"' in answer.text


def test_the_queue_is_for_signed_in_agents(desk: QueueDesk) -> None:
    desk.client.cookies.clear()
    answer = desk.client.get("/queue?priority=P1", follow_redirects=False)
    assert answer.status_code == 303
    assert parse_qs(urlsplit(answer.headers["location"]).query)["next"] == ["/queue?priority=P1"]
    assert desk.client.get("/queue/counts", headers=HTMX).status_code == 401


def test_keys_move_a_selection_through_the_rows_and_open_its_ticket(page: Page, live_desk: LiveDesk) -> None:
    from playwright.sync_api import expect

    browser_sign_in(page, live_desk, AGENT)
    page.goto(live_desk.url("/queue?category=all"))
    rows = page.locator("#queue-table tbody tr[data-ticket]")
    for key in ("j", "j", "j", "k"):
        page.keyboard.press(key)
    expect(rows.nth(1)).to_have_class(re.compile(r"\bis-selected\b"))
    expect(rows.nth(1)).to_have_attribute("aria-current", "true")
    expect(page.locator("tr.is-selected")).to_have_count(1)
    expect(rows.nth(1).locator("a.ticket-link")).to_be_focused()
    chosen = rows.nth(1).get_attribute("data-ticket")
    page.keyboard.press("o")
    page.wait_for_url(re.compile(rf"/tickets/{chosen}$"))
    page.go_back()
    page.locator("#queue-table").wait_for()
    page.keyboard.press("/")
    expect(page.locator("#queue-q")).to_be_focused()
