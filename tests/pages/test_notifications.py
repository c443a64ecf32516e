"""In-app notifications: written by the ticket service for assignments by someone else and for @mentions of
colleagues who may see the ticket, listed on /notifications (unread first), marked read one by one or all at
once by their owner only, and counted beside the bell in every page's header."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from runtime.notify.inbox import mentioned_usernames
from runtime.tickets.actors import contact_actor
from tests.pages.queue_fixtures import QueueDesk, queue_desk


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[QueueDesk]:
    with queue_desk(tmp_path_factory.mktemp("notifications")) as built:
        yield built


def notices(desk: QueueDesk, login: str) -> list[sa.Row[tuple[object, ...]]]:
    table = desk.compiled.table("notifications")
    with desk.engine.connect() as connection:
        return list(connection.execute(sa.select(table).where(
            table.c.agent_id == desk.id_of("agents", "username", login)).order_by(table.c.id)))


def unread_badge(html: str) -> int:
    found = re.search(r'<span class="badge" id="unread">(\d+)</span>', html)
    return int(found.group(1)) if found else 0


def clear(desk: QueueDesk, login: str) -> None:
    table = desk.compiled.table("notifications")
    with desk.engine.begin() as connection:
        connection.execute(sa.delete(table).where(table.c.agent_id == desk.id_of("agents", "username", login)))


def test_mentions_are_usernames_after_an_at_that_starts_a_word() -> None:
    assert mentioned_usernames("@Chen could you look? cc @bea. Thanks @chen") == ["chen", "bea"]
    assert mentioned_usernames("mail maria@alex.example.org or write to x@bea") == []
    assert mentioned_usernames("(@alex) and @ alone and @1abc") == ["alex"]


def test_an_agent_assigned_by_someone_else_is_told_and_not_when_taking_it_themselves(desk: QueueDesk) -> None:
    clear(desk, "alex")
    team = desk.team("service_desk")
    alex, chen = desk.id_of("agents", "username", "alex"), desk.id_of("agents", "username", "chen")
    made = desk.new_ticket("chen", "Scanner offline", team_id=team, assignee_id=alex)
    given = notices(desk, "alex")
    assert [(n.kind, n.ticket_id) for n in given] == [("assigned", made["id"])]
    assert given[0].title == f"{made['number']} was assigned to you by chen"
    assert given[0].body == "Scanner offline"
    assert given[0].read_at is None

    own = desk.new_ticket("alex", "Monitor arm wobbles", team_id=team, assignee_id=alex)
    assert len(notices(desk, "alex")) == 1  # taking a ticket oneself tells nobody
    desk.service.update(desk.agent("alex"), own["id"], {"version": own["version"], "assignee_id": chen})
    assert [n.ticket_id for n in notices(desk, "chen") if n.kind == "assigned"][-1] == own["id"]
    current = desk.service.get(desk.agent("alex"), made["id"])
    desk.service.update(desk.agent("alex"), made["id"], {"version": current["version"], "title": "Scanner offline!"})
    assert len(notices(desk, "alex")) == 1  # a change that leaves the assignee alone tells nobody


def test_a_german_speaking_agent_reads_the_notice_in_german(desk: QueueDesk) -> None:
    made = desk.new_ticket("alex", "Forklift battery", assignee_id=desk.id_of("agents", "username", "bea"))
    assert notices(desk, "bea")[-1].title == f"{made['number']} wurde Ihnen von alex zugewiesen"


def test_a_mention_tells_colleagues_who_may_see_the_ticket(desk: QueueDesk) -> None:
    for login in ("alex", "bea", "chen"):
        clear(desk, login)
    # No team yet: every agent may see it. Then one of the customer care's, which the field service may not see.
    shared = desk.new_ticket("alex", "Shared printer question")
    desk.service.comment(desk.agent("alex"), shared["id"], "@chen @bea do you know this printer? (not me: @alex)",
                         public=False)
    assert [(n.kind, n.ticket_id) for n in notices(desk, "chen")] == [("mention", shared["id"])]
    assert notices(desk, "chen")[0].title == f"alex mentioned you in an internal note on {shared['number']}"
    assert "do you know this printer" in notices(desk, "chen")[0].body
    assert len(notices(desk, "bea")) == 1
    assert notices(desk, "alex") == []

    care = desk.new_ticket("chen", "Refund for a broken mug", team_id=desk.team("customer_care"))
    desk.service.comment(desk.agent("chen"), care["id"], "Asking @alex and @bea about it", public=False)
    assert notices(desk, "alex") == []  # neither the service desk …
    assert len(notices(desk, "bea")) == 1  # … nor the field service may see the customer care's ticket


def test_requesters_mention_nobody(desk: QueueDesk) -> None:
    clear(desk, "alex")
    maria = "maria.lopez@northwind.example.org"
    with desk.engine.connect() as connection:
        requester = contact_actor(connection, desk.compiled, desk.id_of("contacts", "email", maria))
    made = desk.service.create(requester, "it_support", {"title": "Mouse", "description": "It squeaks"})
    desk.service.comment(requester, made["id"], "Hello @alex, any news?")
    assert notices(desk, "alex") == []


def test_the_page_lists_unread_first_and_marks_them_read(desk: QueueDesk) -> None:
    clear(desk, "chen")
    team = desk.team("customer_care")
    chen = desk.id_of("agents", "username", "chen")
    first = desk.new_ticket("alex", "Parcel lost", team_id=team, assignee_id=chen)
    second = desk.new_ticket("alex", "Wrong colour delivered", team_id=team, assignee_id=chen)
    token = desk.as_agent("chen")
    page = desk.client.get("/notifications").text
    assert unread_badge(page) == 2
    assert "Unread (2)" in page
    assert page.index(second["number"]) < page.index(first["number"])  # newest first
    assert f'href="/tickets/{first["id"]}"' in page
    oldest, newest = notices(desk, "chen")

    refused = desk.client.post(f"/notifications/{newest.id}/read", data={})
    assert refused.status_code == 403  # no CSRF token
    other = desk.as_agent("alex")
    assert desk.client.post(f"/notifications/{newest.id}/read", data={"csrf_token": other}).status_code == 404
    token = desk.as_agent("chen")
    read = desk.client.post(f"/notifications/{newest.id}/read", data={"csrf_token": token}, follow_redirects=False)
    assert read.status_code == 303
    page = desk.client.get("/notifications").text
    assert unread_badge(page) == 1
    assert unread_badge(desk.client.get("/queue").text) == 1  # the header of every page
    unread_part, earlier_part = page.split('id="notices-read"')
    assert first["number"] in unread_part
    assert second["number"] in earlier_part

    assert desk.client.post("/notifications/read-all", data={}).status_code == 403
    assert notices(desk, "chen")[0].read_at is None  # the oldest is still unread
    done = desk.client.post("/notifications/read-all", data={"csrf_token": token}, follow_redirects=False)
    assert done.status_code == 303
    page = desk.client.get("/notifications").text
    assert unread_badge(page) == 0
    assert "Nothing new." in page
    assert all(n.read_at is not None for n in notices(desk, "chen"))
    assert oldest.id < newest.id


@pytest.mark.parametrize("path", ["/notifications/abc/read", "/notifications/0/read",
                                  "/notifications/99999999999999999999999/read", "/notifications/424242/read"])
def test_marking_a_notice_that_is_not_there_is_a_404(desk: QueueDesk, path: str) -> None:
    token = desk.as_agent("alex")
    assert desk.client.post(path, data={"csrf_token": token}).status_code == 404


def test_older_notices_are_paged(desk: QueueDesk) -> None:
    clear(desk, "alex")
    table = desk.compiled.table("notifications")
    alex = desk.id_of("agents", "username", "alex")
    now = dt.datetime.now(dt.UTC)
    with desk.engine.begin() as connection:
        connection.execute(sa.insert(table), [
            {"agent_id": alex, "ticket_id": None, "kind": "sla", "title": f"Old notice {n:02d}", "body": None,
             "created_at": now, "read_at": now} for n in range(55)])
    desk.as_agent("alex")
    page = desk.client.get("/notifications").text
    assert page.count("Old notice") == 50
    older = re.search(r'href="(/notifications\?before=\d+)" rel="next"', page)
    assert older is not None
    rest = desk.client.get(older.group(1)).text
    assert rest.count("Old notice") == 5
    assert "Old notice 00" in rest
    assert desk.client.get("/notifications?before=x").status_code == 400
