"""The mapping file's input model: what an operator may write to say how another desk's rows become tickets.

Structure only, as the definitions' Spec models: which keys, which shapes. Whether a named type, field, state or
column exists is the job of ``mapping.check``, which knows the desk and the file's header.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

Name = Annotated[str, Field(min_length=1, max_length=200)]


class Closed(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ColumnSpec(Closed):
    """Where a value comes from: a column (a CSV header, a JSONL key or dotted path), or a fixed value."""

    column: Name | None = Field(None, description="the CSV column, or the JSONL key (a.b for nested keys)")
    value: JsonValue = Field(None, description="a fixed value for every row, instead of a column")
    values: dict[str, JsonValue] = Field(default_factory=dict,
                                         description="the other desk's values → this desk's (others pass as they are)")
    default: JsonValue = Field(None, description="the value when the column is empty")
    by: Name | None = Field(None, description="relations: the target's column to find the row by, e.g. username")


Source = Name | ColumnSpec


class PersonSpec(ColumnSpec):
    """An agent or team, found by a column of theirs (agents: username or email; teams: name)."""

    missing: Literal["reject", "leave_empty"] = Field(
        "reject", description="a value that names nobody in this desk: reject the row, or import it without")


class RequesterSpec(Closed):
    email: Source = Field(description="the requester's email: the contact is found by it, or created")
    name: Source | None = Field(None, description="the name given to a contact created by the import")
    organization: Source | None = Field(
        None, description="the organization (by name, created when missing) of a contact created by the import")


class TimestampsSpec(Closed):
    created_at: Source | None = None
    updated_at: Source | None = None
    status_changed_at: Source | None = None
    first_response_at: Source | None = None
    resolved_at: Source | None = None
    closed_at: Source | None = None
    format: Name | None = Field(None, description="a strptime format such as '%d.%m.%Y %H:%M' (default ISO 8601)")
    timezone: Name = Field("UTC", description="the time zone of values written without an offset")


class CommentsSpec(Closed):
    """A list of comments per ticket: a JSONL key holding a list, or a CSV column holding a JSON list."""

    column: Name
    body: Name = "body"
    html: Name | None = None
    public: Name | None = "public"
    author: Name | None = Field("author", description="an agent's username or email, or a requester's email")
    created_at: Name | None = "created_at"
    channel: Name | None = None


class TypeFieldsSpec(Closed):
    fields: dict[str, Source] = Field(default_factory=dict)


class CsvSpec(Closed):
    delimiter: Annotated[str, Field(min_length=1, max_length=1)] = ","
    encoding: Name = "utf-8-sig"
    list_separator: Annotated[str, Field(min_length=1, max_length=8)] = ";"


class MappingSpec(Closed):
    source: Name = Field(description="the other desk's name, kept as each ticket's source_name")
    external_ref: Source = Field(description="the other desk's id of the ticket: a second import skips it")
    type: Source = Field(description="a ticket type, or a column whose values map to types")
    number: Source | None = Field(None, description="the other desk's ticket number, kept when it fits the prefix")
    status: Source | None = Field(None, description="the state (default: the workflow's initial state)")
    channel: Source = Field("manual", description="form, email, api, webhook or manual")
    fields: dict[str, Source] = Field(default_factory=dict, description="field → where its value comes from")
    types: dict[str, TypeFieldsSpec] = Field(default_factory=dict, description="fields of one type only")
    requester: RequesterSpec | Name | None = None
    assignee: PersonSpec | Name | None = None
    team: PersonSpec | Name | None = None
    timestamps: TimestampsSpec = Field(default_factory=TimestampsSpec)
    comments: CommentsSpec | None = None
    csv: CsvSpec = Field(default_factory=CsvSpec)
