"""``cli.py sla report`` and ``cli.py sla replay`` on the scripted history of tests/sla/sla_history.py (SQLite and
PostgreSQL): the figures as a table, candidate policies compared with the desk's own ticket by ticket, and bad
input or broken candidate files refused with exit code 2."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import cli
from runtime.sla import commands
from tests.sla.sla_history import NOW, scripted_desk
from tests.tickets.service_fixtures import SeededDesk

P1 = "P1: {first_response: 1h, next_response: 2h, resolution: 8h}"
Scripted = tuple[SeededDesk, dict[str, dict[str, Any]], str]


@pytest.fixture(scope="module")
def scripted(module_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scripted]:
    desk, tickets = scripted_desk(tmp_path_factory.mktemp("sla_cli"), module_database_url)
    yield desk, tickets, module_database_url
    desk.engine.dispose()


@pytest.fixture(autouse=True)
def fixed_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(commands, "_now", lambda: NOW)


def run(scripted: Scripted, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    desk, _, url = scripted
    code = cli.main(["--root", str(desk.compiled.root), "--database-url", url, "sla", *args])
    out, err = capsys.readouterr()
    return code, out, err


def candidate(tmp_path: Path, p1: str | None = None) -> Path:
    """A folder with the desk's SLA file, its P1 targets replaced by ``p1`` when given."""
    folder = tmp_path / "candidate"
    folder.mkdir()
    shipped = (cli.HERE / "sla_policies" / "standard.yaml").read_text(encoding="utf-8")
    assert P1 in shipped
    (folder / "standard.yaml").write_text(shipped.replace(P1, p1 or P1), encoding="utf-8")
    return folder


def test_the_report_prints_a_row_per_group_and_metric(scripted: Scripted, capsys: pytest.CaptureFixture[str]
                                                      ) -> None:
    assert run(scripted, capsys, "report", "--group-by", "agent") == (0, (
        "SLA figures by agent, tickets created at any time, as of 2026-11-17T11:00:00+00:00\n"
        "agent   metric          met  breached  compliance  open  overdue     mean   median\n"
        "alex    first_response    2         0      100.0%     0        0  20m 00s  20m 00s\n"
        "alex    resolution        2         0      100.0%     0        0   2h 00m   2h 00m\n"
        "bea     first_response    0         1        0.0%     0        0   1h 30m   1h 30m\n"
        "bea     resolution        0         1        0.0%     0        0   9h 15m   9h 15m\n"
        "(none)  first_response    0         0           -     2        1        -        -\n"
        "(none)  resolution        0         0           -     2        0        -        -\n"), "")


def test_the_report_groups_by_policy_over_a_window(scripted: Scripted, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(scripted, capsys, "report", "--since", "2026-11-16", "--until", "2026-11-17")
    assert code == 0
    assert out.splitlines() == [
        "SLA figures by policy, tickets created from 2026-11-16T00:00:00+00:00 before 2026-11-17T00:00:00+00:00, "
        "as of 2026-11-17T11:00:00+00:00",
        "policy    metric          met  breached  compliance  open  overdue     mean   median",
        "standard  first_response    2         1       66.7%     0        0  43m 20s  30m 00s",
        "standard  resolution        2         1       66.7%     0        0   4h 25m   2h 00m"]
    assert run(scripted, capsys, "report", "--since", "2026-11-18")[1].endswith("\nno SLA clocks on these tickets\n")


@pytest.mark.parametrize(("args", "message"), [
    (["--group-by", "status"], "--group-by 'status': give one of policy, type, team, agent, priority"),
    (["--since", "yesterday"], "--since/--until: 'yesterday' is not an ISO 8601 date or time"),
    (["--since", "2026-11-17", "--until", "2026-11-16"], "--until must be after --since"),
])
def test_the_report_refuses_bad_input_in_one_line(scripted: Scripted, capsys: pytest.CaptureFixture[str],
                                                  args: list[str], message: str) -> None:
    code, out, err = run(scripted, capsys, "report", *args)
    assert (code, out) == (2, "")
    assert err.startswith(message)
    assert err.count("\n") == 1


def test_a_longer_target_turns_the_breached_ticket_into_met(scripted: Scripted, capsys: pytest.CaptureFixture[str],
                                                            tmp_path: Path) -> None:
    folder = candidate(tmp_path, "P1: {first_response: 2h, next_response: 2h, resolution: 10h}")
    b = scripted[1]["B"]["number"]
    assert run(scripted, capsys, "replay", "--policies", str(folder)) == (0, (
        f"Replayed 5 tickets (in all) under the desk's policies (current) and those in {folder} (candidate), as of "
        "2026-11-17T11:00:00+00:00\n"
        "policy    metric          current         candidate           change  open overdue\n"
        "standard  first_response  66.7% (2 of 3)  100.0% (3 of 3)  +33.3 pts  1 → 1\n"
        "standard  resolution      66.7% (2 of 3)  100.0% (3 of 3)  +33.3 pts  0 → 0\n"
        "Outcomes that change (2):\n"
        f"  {b} first_response: breached → met\n"
        f"  {b} resolution: breached → met\n"), "")


def test_a_shorter_target_makes_open_clocks_overdue(scripted: Scripted, capsys: pytest.CaptureFixture[str],
                                                    tmp_path: Path) -> None:
    shipped = (cli.HERE / "sla_policies" / "standard.yaml").read_text(encoding="utf-8")
    p2 = "P2: {first_response: 4h, next_response: 8h, resolution: 24h}"
    assert p2 in shipped
    folder = tmp_path / "candidate"
    folder.mkdir()
    (folder / "standard.yaml").write_text(shipped.replace(p2, p2.replace("first_response: 4h", "first_response: 2h")))
    code, out, _ = run(scripted, capsys, "replay", "--policies", str(folder), "--since", "2026-11-17")
    assert code == 0
    # Only Tuesday's C and D: C (P2, 3h in) is overdue with 2h for its first response, and nothing stopped yet.
    assert out.splitlines()[1:] == [
        "policy    metric          current     candidate   change  open overdue",
        "standard  first_response  - (0 of 0)  - (0 of 0)       -  1 → 2",
        "standard  resolution      - (0 of 0)  - (0 of 0)       -  0 → 0",
        "Outcomes that change (1):",
        f"  {scripted[1]['C']['number']} first_response: running → overdue"]


def test_the_desk_s_own_policies_replay_to_the_live_figures(scripted: Scripted, capsys: pytest.CaptureFixture[str],
                                                           tmp_path: Path) -> None:
    code, out, _ = run(scripted, capsys, "replay", "--policies", str(candidate(tmp_path)))
    assert code == 0
    assert out.splitlines()[2:] == [
        "standard  first_response  66.7% (2 of 3)  66.7% (2 of 3)  +0.0 pts  1 → 1",
        "standard  resolution      66.7% (2 of 3)  66.7% (2 of 3)  +0.0 pts  0 → 0",
        "No ticket's outcome changes."]


def test_a_broken_candidate_file_is_refused_with_its_file_and_line(scripted: Scripted,
                                                                   capsys: pytest.CaptureFixture[str],
                                                                   tmp_path: Path) -> None:
    folder = candidate(tmp_path, "P1: {first_response: 1h, next_response: 2h, resolution: eight}")
    lines = (folder / "standard.yaml").read_text(encoding="utf-8").splitlines()
    line = next(number for number, text in enumerate(lines, start=1) if "eight" in text)
    column = lines[line - 1].index("eight") + 1
    code, out, err = run(scripted, capsys, "replay", "--policies", str(folder))
    assert (code, out) == (2, "")
    assert err == (f"{folder.as_posix()}/standard.yaml:{line}:{column} policies[0].targets.P1.resolution: invalid "
                   "format\n"
                   "    expected: a duration such as 15m, 4h, 3d or 1h30m\n"
                   "    found: 'eight'\n"
                   "    hint: units are w, d, h, m, s\n"
                   "1 error in the definitions\n")


def test_a_candidate_policy_on_an_unknown_calendar_is_refused(scripted: Scripted,
                                                              capsys: pytest.CaptureFixture[str],
                                                              tmp_path: Path) -> None:
    folder = candidate(tmp_path)
    path = folder / "standard.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("calendar: berlin_office\n", "calendar: berlin\n"))
    line = path.read_text(encoding="utf-8").splitlines().index("    calendar: berlin") + 1
    code, out, err = run(scripted, capsys, "replay", "--policies", str(folder))
    assert (code, out) == (2, "")
    assert err.startswith(f"{folder.as_posix()}/standard.yaml:{line}:")
    assert err.endswith("1 error in the definitions\n")


def test_replay_refuses_a_folder_without_policy_files(scripted: Scripted, capsys: pytest.CaptureFixture[str],
                                                      tmp_path: Path) -> None:
    assert run(scripted, capsys, "replay", "--policies", str(tmp_path / "missing")) == (
        2, "", f"--policies {tmp_path / 'missing'}: not a folder\n")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "standard.txt").write_text("P1: 2h\n")
    assert run(scripted, capsys, "replay", "--policies", str(tmp_path / "notes")) == (
        2, "", f"--policies {tmp_path / 'notes'}: no SLA files (*.yaml) in it\n")
