"""API routes for a ticket's attachments, links and merging."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import sqlalchemy as sa
from litestar import get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Body, JSONBody
from litestar.response import Stream
from pydantic import BaseModel, ConfigDict, Field

from runtime.compile.desk import CompiledDesk
from runtime.tickets.actors import Actor
from runtime.tickets.attachments import download_headers
from runtime.tickets.audit import json_value
from runtime.tickets.errors import InvalidTicket
from runtime.tickets.files import TicketFiles
from runtime.tickets.relations import TicketRelations
from runtime.web.auth import actor_dependency
from runtime.web.tickets_api import MAX_ID, Id

Json = dict[str, Any]
Who = NamedDependency[Actor]
CHUNK = 64 * 1024


class LinkRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    other_id: Annotated[int, Field(strict=True, ge=1, le=MAX_ID)]
    relation: Annotated[str, Field(description="parent, child, related or duplicate_of")]


class MergeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    into: Annotated[int, Field(strict=True, ge=1, le=MAX_ID, description="the ticket that stays")]
    version: Annotated[int, Field(strict=True, ge=1, description="the duplicate's version")]


@dataclass
class Upload:
    """The multipart form: one part named ``data`` holding the file (a form without it is a 422, not a 500)
    and, to put the file on one of the caller's comments rather than on the ticket, ``comment_id``."""

    data: UploadFile
    comment_id: int | None = None


def _chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            yield chunk


def relation_handlers(compiled: CompiledDesk, engine: sa.Engine) -> list[HTTPRouteHandler]:
    files = TicketFiles(compiled, engine)
    relations = TicketRelations(compiled, engine)
    common: dict[str, Any] = {"sync_to_thread": True, "tags": ["tickets"],
                              "dependencies": {"actor": actor_dependency(compiled, engine)}}

    @post("/api/v1/tickets/{ticket_id:int}/attachments", **common)
    def upload(actor: Who, ticket_id: Id,
               data: Annotated[Upload, Body(media_type=RequestEncodingType.MULTI_PART)]) -> Json:
        upload = data.data
        if data.comment_id is not None and not 1 <= data.comment_id <= MAX_ID:
            reason = f"a comment id from 1 to {MAX_ID}"
            raise InvalidTicket(reason, [{"field": "comment_id", "reason": reason}])
        stored = files.attach(actor, ticket_id, upload.file, upload.filename, upload.content_type,
                              comment_id=data.comment_id)
        return {k: json_value(v) for k, v in stored.items()}

    @get("/api/v1/tickets/{ticket_id:int}/attachments", **common)
    def list_attachments(actor: Who, ticket_id: Id) -> list[Json]:
        return [{k: json_value(v) for k, v in row.items()} for row in files.list(actor, ticket_id)]

    # The file goes out with the type it was stored as (or application/octet-stream), whatever it is.
    @get("/api/v1/attachments/{attachment_id:int}",
         responses={200: ResponseSpec(bytes, generate_examples=False, media_type="*/*",
                                      description="The file, as a download")}, **common)
    def download(actor: Who, attachment_id: Id) -> Stream:
        row, path = files.find(actor, attachment_id)
        headers = download_headers(row["filename"], row["content_type"], row["size"])
        return Stream(_chunks(path), media_type=headers.pop("Content-Type", "application/octet-stream"),
                      headers=headers)

    @post("/api/v1/tickets/{ticket_id:int}/links", **common)
    def link(actor: Who, ticket_id: Id, data: JSONBody[LinkRequest]) -> Json:
        return relations.link(actor, ticket_id, data.other_id, data.relation)

    @get("/api/v1/tickets/{ticket_id:int}/links", **common)
    def links(actor: Who, ticket_id: Id) -> list[Json]:
        return relations.list(actor, ticket_id)

    @post("/api/v1/tickets/{ticket_id:int}/merge", status_code=200, **common)
    def merge(actor: Who, ticket_id: Id, data: JSONBody[MergeRequest]) -> Json:
        return relations.merge(actor, ticket_id, data.into, data.version)

    return [upload, list_attachments, download, link, links, merge]
