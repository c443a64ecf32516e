"""The shipped desk, the minimal desk and every valid fixture variant load without errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime.config.desk import validate
from runtime.config.errors import render_report
from tests.desk_fixtures import FIXTURES, MINIMAL, SHIPPED, overlay_desk

CASES = sorted(p for p in (FIXTURES / "valid").iterdir() if p.is_dir())


@pytest.mark.parametrize("root", [SHIPPED, MINIMAL], ids=["shipped", "minimal"])
def test_desk_is_valid(root: Path) -> None:
    desk, errors = validate(root)
    assert desk is not None, render_report(errors)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_valid_variant_loads(case: Path, tmp_path: Path) -> None:
    desk, errors = validate(overlay_desk(case, tmp_path / "desk"))
    assert desk is not None, render_report(errors)
