"""``cli.py kb reindex``: indexes every article, shows progress on stderr and prints the count and the time."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

import cli
from runtime.kb.commands import Progress
from tests.kb.index_fixtures import kb_desk

SQLITE = "sqlite:///{}/tessera.db"


def test_reindex_counts_every_article_and_reports_progress(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                                           ) -> None:
    url = SQLITE.format(tmp_path)
    desk = kb_desk(tmp_path, url)
    for n in range(3):
        desk.insert(f"Article {n}", "Problem.", "Solution.", status=("published", "draft", "archived")[n])
    assert cli.main(["--root", str(tmp_path / "desk"), "--database-url", url, "kb", "reindex"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("indexed 3 articles in ")
    assert out.rstrip().endswith(" s")
    assert "3/3 articles" in err


def test_progress_redraws_one_line_on_a_terminal_and_writes_lines_elsewhere() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal, log = Terminal(), io.StringIO()
    for stream in (terminal, log):
        progress = Progress(stream, 0.0)
        progress(5, 10)
        progress(10, 10)
    assert terminal.getvalue().count("\r") == 2
    assert terminal.getvalue().split("\r")[-1].startswith("[" + "#" * 30 + "] 10/10 articles")
    assert terminal.getvalue().count("\n") == 1
    assert "\r" not in log.getvalue()
    assert log.getvalue().splitlines()[-1].startswith("10/10 articles")
