"""Where the ``local`` triage model learns from: the desk's own history, or a CSV exported from another desk.

From the desk: the examples the ticket types give in YAML (``ai.examples``, for the type only), every resolved or
closed ticket (not a merged duplicate), labelled with the type, category and
priority it ended with, and every ticket whose triage a person reviewed (accepted or overrode), labelled with what
the person chose, even while it is still open: the overrides are the examples a model most needs to see. The most
recent ``limit`` tickets are used, so that training time stays bounded as the desk grows and old habits fade.
"""

from __future__ import annotations

import csv
from pathlib import Path

import sqlalchemy as sa

from runtime.ai.feedback import ACCEPTED, OVERRIDDEN
from runtime.ai.local_model import Example, HeadReport, train
from runtime.ai.triage import KIND
from runtime.compile.desk import CompiledDesk

LIMIT = 50_000


def text_of(title: str | None, description: str | None) -> str:
    """What triage reads of a ticket; training must read the same."""
    return f"{title or ''}\n{description or ''}"


def desk_examples(connection: sa.Connection, compiled: CompiledDesk, limit: int = LIMIT) -> list[Example]:
    t, d = compiled.table("tickets"), compiled.table("ai_decisions")
    reviewed = sa.select(d.c.ticket_id).where(d.c.kind == KIND, d.c.review.in_((ACCEPTED, OVERRIDDEN)))
    query = (sa.select(t.c.title, t.c.description, t.c.type, t.c.category, t.c.priority)
             .where(t.c.duplicate_of_id.is_(None),
                    sa.or_(t.c.status_category.in_(("resolved", "closed")), t.c.id.in_(reviewed)))
             .order_by(t.c.id.desc()).limit(limit))
    history = [Example(text_of(r.title, r.description), {"type": r.type, "category": r.category,
                                                          "priority": r.priority})
               for r in connection.execute(query)]
    return history + yaml_examples(compiled)


def yaml_examples(compiled: CompiledDesk) -> list[Example]:
    """The example requests a builder wrote into a type's ``ai.examples``: labelled with the type only, they
    teach the type head what the desk's history may not show yet."""
    return [Example(text_of(text, ""), {"type": t.name}) for t in compiled.definitions.types for text in t.ai_examples]


def csv_examples(path: Path, text_col: str, columns: dict[str, str]) -> list[Example]:
    """Rows of a CSV with a header: ``text_col`` is the text (or ``title`` and ``description`` when it names two
    columns joined by ``+``), ``columns`` maps a head (type, category, priority) to its column."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        parts = text_col.split("+")
        for name in (*parts, *columns.values()):
            if name not in header:
                msg = f"{path}: no column {name} (the header has {', '.join(header) or 'nothing'})"
                raise ValueError(msg)
        examples = []
        for row in reader:
            text = "\n".join(row[p] or "" for p in parts)
            if text.strip():
                labels = {head: (row[col] or "").strip() or None for head, col in columns.items()}
                examples.append(Example(text, labels))
    return examples


def train_desk_model(compiled: CompiledDesk, engine: sa.Engine, limit: int = LIMIT
                     ) -> tuple[int, list[HeadReport]] | None:
    """Train the desk's triage model from its history and save it where the provider reads it; None when the
    history has nothing to learn yet. Returns the number of examples and a report per head."""
    with engine.connect() as connection:
        examples = desk_examples(connection, compiled, limit)
    model, reports = train(examples, "desk")
    if not model.heads:
        return None
    model.save(Path(compiled.root) / compiled.definitions.project.ai.model_dir)
    return len(examples), reports
