"""Every invalid fixture desk is rejected with exactly the report stored beside it."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime.config.desk import validate
from runtime.config.errors import render_report
from tests.desk_fixtures import FIXTURES, overlay_desk, snapshot_matches

CASES = sorted(p for p in (FIXTURES / "invalid").iterdir() if p.is_dir())


def test_there_are_at_least_25_invalid_cases() -> None:
    assert len(CASES) >= 25


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_invalid_desk_reports_exact_errors(case: Path, tmp_path: Path) -> None:
    desk, errors = validate(overlay_desk(case, tmp_path / "desk"))
    assert desk is None
    report = render_report(errors)
    assert snapshot_matches(case / "expected.txt", report + "\n"), report
