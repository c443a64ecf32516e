"""Attachments, links and merges through the API (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

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
