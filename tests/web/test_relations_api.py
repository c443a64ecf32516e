"""Attachments, links and merges through the API (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from runtime.tickets.errors import Forbidden, InvalidTicket
from runtime.tickets.files import TicketFiles
from tests.web.api_client import Api, api_for

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def api(tmp_path: Path, database_url: str) -> Iterator[Api]:
    with api_for(tmp_path, database_url) as api:
        yield api


def new_ticket(api: Api, title: str = "Files") -> dict[str, Any]:
    team = api.desk.id_of("teams", "name", "service_desk")
    created = api.call("POST", "/api/v1/types/it_support/tickets", json={"title": title, "team_id": team})
    assert created.status_code == 201, created.text
    body: dict[str, Any] = created.json()
    return body


def test_upload_and_download_as_an_attachment_never_inline(api: Api) -> None:
    ticket = new_ticket(api)
    uploaded = api.call("POST", f"/api/v1/tickets/{ticket['id']}/attachments",
                        files={"data": ("Überweisung März.pdf", PDF, "text/html")})
    assert uploaded.status_code == 201, uploaded.text
    assert uploaded.json()["content_type"] == "application/pdf"  # sniffed, not the declared text/html
    listed = api.call("GET", f"/api/v1/tickets/{ticket['id']}/attachments").json()
    assert [a["filename"] for a in listed] == ["Überweisung März.pdf"]
    download = api.call("GET", f"/api/v1/attachments/{listed[0]['id']}")
    assert download.status_code == 200
    assert download.content == PDF
    assert download.headers["content-disposition"].startswith("attachment;")
    assert download.headers["x-content-type-options"] == "nosniff"
    hidden = api.call("GET", f"/api/v1/attachments/{listed[0]['id']}", username="bea")
    assert hidden.status_code == 404  # bea is not on the service desk team


def test_html_upload_is_served_as_octet_stream(api: Api) -> None:
    ticket = new_ticket(api)
    uploaded = api.call("POST", f"/api/v1/tickets/{ticket['id']}/attachments",
                        files={"data": ("x.html", b"<html><script>alert(1)</script></html>", "text/html")}).json()
    download = api.call("GET", f"/api/v1/attachments/{uploaded['id']}")
    assert download.headers["content-type"] == "application/octet-stream"


def test_links_are_listed_from_both_sides(api: Api) -> None:
    parent, child = new_ticket(api, "Parent"), new_ticket(api, "Child")
    made = api.call("POST", f"/api/v1/tickets/{parent['id']}/links",
                    json={"other_id": child["id"], "relation": "child"})
    assert made.status_code == 201, made.text
    assert api.call("GET", f"/api/v1/tickets/{child['id']}/links").json() == [
        {"other_id": parent["id"], "relation": "parent"}]
    assert api.call("GET", f"/api/v1/tickets/{parent['id']}/links").json() == [
        {"other_id": child["id"], "relation": "child"}]
    bad = api.call("POST", f"/api/v1/tickets/{parent['id']}/links", json={"other_id": parent["id"],
                                                                          "relation": "related"})
    assert bad.status_code == 422


def test_merge_moves_comments_and_attachments_and_closes_the_duplicate(api: Api) -> None:
    original, duplicate = new_ticket(api, "Original"), new_ticket(api, "Duplicate")
    api.call("POST", f"/api/v1/tickets/{duplicate['id']}/comments", json={"body": "more detail"})
    api.call("POST", f"/api/v1/tickets/{duplicate['id']}/attachments", files={"data": ("a.pdf", PDF, None)})
    merged = api.call("POST", f"/api/v1/tickets/{duplicate['id']}/merge", json={"into": original["id"],
                                                                                "version": 2})
    assert merged.status_code == 200, merged.text
    closed = api.call("GET", f"/api/v1/tickets/{duplicate['id']}").json()
    assert (closed["status_category"], closed["duplicate_of_id"]) == ("closed", original["id"])
    assert [c["body"] for c in api.call("GET", f"/api/v1/tickets/{original['id']}/comments").json()] == [
        "more detail"]
    assert len(api.call("GET", f"/api/v1/tickets/{original['id']}/attachments").json()) == 1
    stale = api.call("POST", f"/api/v1/tickets/{duplicate['id']}/merge", json={"into": original["id"], "version": 2})
    assert stale.status_code == 409


def comment(api: Api, ticket_id: int, body: str, *, public: bool, username: str = "alex") -> int:
    made = api.call("POST", f"/api/v1/tickets/{ticket_id}/comments", username=username,
                    json={"body": body, "public": public})
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def test_a_file_on_a_comment_is_listed_with_it_and_hidden_with_an_internal_note(api: Api) -> None:
    maria = api.desk.id_of("contacts", "email", "maria.lopez@northwind.example.org")
    team = api.desk.id_of("teams", "name", "service_desk")
    ticket = api.call("POST", "/api/v1/types/it_support/tickets",
                      json={"title": "Invoice", "team_id": team, "requester_id": maria}).json()
    reply, note = comment(api, ticket["id"], "Here is the form", public=True), comment(api, ticket["id"], "log",
                                                                                          public=False)
    for comment_id, name in ((reply, "form.pdf"), (note, "trace.txt")):
        uploaded = api.call("POST", f"/api/v1/tickets/{ticket['id']}/attachments",
                            files={"data": (name, PDF, None)}, data={"comment_id": str(comment_id)})
        assert uploaded.status_code == 201, uploaded.text
        assert uploaded.json()["comment_id"] == comment_id
    listed = {c["id"]: [a["filename"] for a in c["attachments"]]
              for c in api.call("GET", f"/api/v1/tickets/{ticket['id']}/comments").json()}
    assert listed == {reply: ["form.pdf"], note: ["trace.txt"]}
    # The requester sees the reply's file and not the internal note's, in either list.
    requester = api.desk.contact("maria.lopez@northwind.example.org")
    files = TicketFiles(api.desk.compiled, api.desk.engine)
    assert [row["filename"] for row in files.list(requester, ticket["id"])] == ["form.pdf"]
    assert files.by_comment(requester, ticket["id"]) == {reply: [
        {"id": files.list(requester, ticket["id"])[0]["id"], "filename": "form.pdf",
         "content_type": "application/pdf", "size": len(PDF)}]}


@pytest.mark.parametrize(("comment_id", "status"), [("999999", 422), ("0", 422), ("x", 422)])
def test_a_file_for_an_unknown_comment_is_refused(api: Api, comment_id: str, status: int) -> None:
    ticket = new_ticket(api)
    response = api.call("POST", f"/api/v1/tickets/{ticket['id']}/attachments",
                        files={"data": ("a.pdf", PDF, None)}, data={"comment_id": comment_id})
    assert response.status_code == status, response.text
    assert api.call("GET", f"/api/v1/tickets/{ticket['id']}/attachments").json() == []


def test_a_comment_on_another_ticket_or_by_someone_else_takes_no_files(api: Api) -> None:
    first, second = new_ticket(api, "First"), new_ticket(api, "Second")
    theirs = comment(api, first["id"], "first's note", public=False)
    elsewhere = api.call("POST", f"/api/v1/tickets/{second['id']}/attachments",
                         files={"data": ("a.pdf", PDF, None)}, data={"comment_id": str(theirs)})
    assert elsewhere.status_code == 422
    members = api.desk.compiled.table("team_members")
    with api.desk.engine.begin() as connection:  # bea joins the team, so she sees the ticket but wrote no note
        connection.execute(sa.insert(members).values(team_id=api.desk.id_of("teams", "name", "service_desk"),
                                                     agent_id=api.desk.id_of("agents", "username", "bea")))
    assert api.call("GET", f"/api/v1/tickets/{first['id']}", username="bea").status_code == 200
    foreign = api.call("POST", f"/api/v1/tickets/{first['id']}/attachments", username="bea",
                       files={"data": ("a.pdf", PDF, None)}, data={"comment_id": str(theirs)})
    assert foreign.status_code == 403
    assert foreign.json()["detail"] == "files can be added only to one's own comments"
    assert api.call("GET", f"/api/v1/tickets/{first['id']}/attachments").json() == []


def test_a_requester_adds_files_to_their_own_public_comment_only(api: Api) -> None:
    email = "maria.lopez@northwind.example.org"
    team = api.desk.id_of("teams", "name", "service_desk")
    ticket = api.call("POST", "/api/v1/types/it_support/tickets",
                      json={"title": "Photo", "team_id": team,
                            "requester_id": api.desk.id_of("contacts", "email", email)}).json()
    requester, files = api.desk.contact(email), TicketFiles(api.desk.compiled, api.desk.engine)
    own = api.desk.service.comment(requester, ticket["id"], "photo attached", public=True)["id"]
    agents_reply = comment(api, ticket["id"], "thanks", public=True)
    note = comment(api, ticket["id"], "internal", public=False)
    assert files.attach(requester, ticket["id"], PDF, "photo.pdf", None, comment_id=own)["comment_id"] == own
    with pytest.raises(Forbidden):
        files.attach(requester, ticket["id"], PDF, "x.pdf", None, comment_id=agents_reply)
    with pytest.raises(InvalidTicket):  # an internal note does not exist for a requester
        files.attach(requester, ticket["id"], PDF, "x.pdf", None, comment_id=note)
    assert [row["filename"] for row in files.list(requester, ticket["id"])] == ["photo.pdf"]
