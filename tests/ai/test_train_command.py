"""``cli.py ai train`` for the desk's triage model: from its own resolved tickets (the worker then triages with
it), from a CSV exported elsewhere, and the refusals when there is nothing to learn."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

import cli
from runtime.ai.local_model import Example, TriageModel
from runtime.ai.training import desk_examples
from tests.ai.triage_fixtures import HISTORY, TriageDesk, triage_desk


@pytest.fixture
def desk(tmp_path: Path, database_url: str) -> TriageDesk:
    return triage_desk(tmp_path, database_url)


def _train(desk: TriageDesk, url: str, *args: str) -> int:
    return cli.main(["--root", str(desk.root), "--database-url", url, "ai", "train", *args])


def test_training_on_the_desks_history_writes_the_model_the_worker_uses(
        desk: TriageDesk, database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert _train(desk, database_url) == 2  # nothing resolved yet
    assert "nothing to learn from" in capsys.readouterr().err

    seeded = len(_examples(desk))  # the demo data holds resolved tickets of its own
    desk.add_history()
    assert _train(desk, database_url) == 0
    out = capsys.readouterr().out
    folder = desk.root / "var" / "ai" / "triage"
    first = out.splitlines()[0]
    assert first.startswith(f"trained on {48 + seeded} tickets from desk in ")
    assert first.endswith(f" s (classifier lean): {folder}")
    assert re.search(r"^  category: 4[89] examples, 4 values", out, re.MULTILINE)
    assert re.search(r"^  priority: 4[89] examples, 3 values", out, re.MULTILINE)
    assert "  type: not trained, needs two values with 3+ tickets each" in out
    model = TriageModel.load(folder)
    assert sorted(model.heads) == ["category", "priority"]
    assert model.meta["source"] == "desk"

    ticket = desk.create("VPN tunnel keeps failing", "The VPN client disconnects all the time.")
    desk.triage_worker().run_round()
    assert desk.ticket(ticket["id"])["category"] == "network"


def test_training_from_a_csv_of_another_desk(desk: TriageDesk, database_url: str, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "export.csv"
    with data.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["subject", "body", "cat"])
        for category, titles in HISTORY.items():
            writer.writerows([title, f"{title}.", category] for title in titles)
    out_dir = tmp_path / "model"
    assert _train(desk, database_url, "--data", str(data), "--text-col", "subject+body", "--category-col", "cat",
                  "--out", str(out_dir)) == 0
    assert "trained on 48 tickets from csv:" in capsys.readouterr().out
    model = TriageModel.load(out_dir)
    assert list(model.heads) == ["category"]
    assert model.distribution("category", "wifi drops in the meeting room")[0][0] == "network"

    assert _train(desk, database_url, "--data", str(data)) == 2
    assert "needs at least one of --type-col" in capsys.readouterr().err
    assert _train(desk, database_url, "--data", str(data), "--text-col", "body", "--category-col", "nope") == 2
    assert "no column nope" in capsys.readouterr().err


def _examples(desk: TriageDesk) -> list[Example]:
    with desk.engine.connect() as connection:
        return desk_examples(connection, desk.compiled)


def test_the_types_own_examples_teach_the_type_head(desk: TriageDesk) -> None:
    from runtime.ai.training import yaml_examples

    examples = yaml_examples(desk.compiled)
    assert [(e.text, e.labels) for e in examples] == [
        ("My laptop shows a blue screen after the update\n", {"type": "it_support"}),
        ("I cannot connect to the VPN from home\n", {"type": "it_support"})]
    assert all(e in _examples(desk) for e in examples)
