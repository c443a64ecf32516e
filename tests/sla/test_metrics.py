"""SLA figures over a scripted history (tests/sla/sla_history.py), checked by hand, on SQLite and PostgreSQL:
compliance, open and overdue clocks, mean and median business times and breaches per grouping; the at-risk
list, soonest due first; and only over tickets the asking agent may see."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from runtime.sla.metrics import GroupFigures, Tally, at_risk, instant, sla_metrics
from runtime.tickets.actors import SYSTEM, Actor
from runtime.tickets.errors import Forbidden, InvalidTicket
from tests.sla.sla_history import HOUR, MARIA, MINUTE, NOW, berlin, scripted_desk
from tests.tickets.service_fixtures import SeededDesk

NONE = Tally()
# Every ticket: A and E met both promises, B breached both, D is 3h past its first response, C on time.
ALL_FIVE = {"first_response": Tally(met=2, breached=1, open=2, open_breached=1, mean_seconds=2600,
                                    median_seconds=30 * MINUTE),  # 30m, 90m and 10m
            "next_response": NONE,
            "resolution": Tally(met=2, breached=1, open=2, mean_seconds=15900,
                                median_seconds=2 * HOUR)}  # 2h, 9h15m and 2h


@pytest.fixture(scope="module")
def history(module_database_url: str, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[tuple[SeededDesk, dict[str, dict[str, Any]]]]:
    desk, tickets = scripted_desk(tmp_path_factory.mktemp("metrics"), module_database_url)
    yield desk, tickets
    desk.engine.dispose()


@pytest.fixture(scope="module")
def desk(history: tuple[SeededDesk, dict[str, dict[str, Any]]]) -> SeededDesk:
    return history[0]


def figures(desk: SeededDesk, actor: Actor, group_by: str, since: dt.datetime | None = None,
            until: dt.datetime | None = None) -> list[GroupFigures]:
    with desk.engine.connect() as connection:
        return sla_metrics(connection, desk.compiled, actor, group_by, since, until, NOW)


def by_name(groups: list[GroupFigures]) -> dict[str | None, dict[str, Tally]]:
    return {group.name: group.metrics for group in groups}


def risks(desk: SeededDesk, actor: Actor, limit: int = 20) -> list[dict[str, Any]]:
    with desk.engine.connect() as connection:
        return at_risk(connection, desk.compiled, actor, limit, NOW)


@pytest.mark.parametrize(("group_by", "name"), [("policy", "standard"), ("team", "service_desk"),
                                                ("type", "IT support")])
def test_one_group_holds_every_ticket_s_figures(desk: SeededDesk, group_by: str, name: str) -> None:
    groups = figures(desk, SYSTEM, group_by)
    assert by_name(groups) == {name: ALL_FIVE}
    assert groups[0].breaches == 3  # B's two, and D's open first response
    assert ALL_FIVE["first_response"].compliance == pytest.approx(2 / 3)


def test_team_and_agent_groups_are_keyed_by_id(desk: SeededDesk) -> None:
    [team] = figures(desk, SYSTEM, "team")
    assert team.key == desk.id_of("teams", "name", "service_desk")
    agents = figures(desk, SYSTEM, "agent")
    assert [(g.key, g.name) for g in agents] == [(desk.id_of("agents", "username", "alex"), "alex"),
                                                 (desk.id_of("agents", "username", "bea"), "bea"), (None, None)]


def test_figures_by_agent(desk: SeededDesk) -> None:
    assert by_name(figures(desk, SYSTEM, "agent")) == {
        "alex": {"first_response": Tally(met=2, mean_seconds=20 * MINUTE, median_seconds=20 * MINUTE),
                 "next_response": NONE,
                 "resolution": Tally(met=2, mean_seconds=2 * HOUR, median_seconds=2 * HOUR)},
        "bea": {"first_response": Tally(breached=1, mean_seconds=90 * MINUTE, median_seconds=90 * MINUTE),
                "next_response": NONE,
                "resolution": Tally(breached=1, mean_seconds=9 * HOUR + 15 * MINUTE,
                                    median_seconds=9 * HOUR + 15 * MINUTE)},
        None: {"first_response": Tally(open=2, open_breached=1), "next_response": NONE,
               "resolution": Tally(open=2)},
    }
    assert [g.breaches for g in figures(desk, SYSTEM, "agent")] == [0, 2, 1]


def test_figures_by_priority(desk: SeededDesk) -> None:
    assert by_name(figures(desk, SYSTEM, "priority")) == {
        "P1": {"first_response": Tally(met=2, breached=1, open=1, open_breached=1, mean_seconds=2600,
                                       median_seconds=30 * MINUTE),
               "next_response": NONE,
               "resolution": Tally(met=2, breached=1, open=1, mean_seconds=15900, median_seconds=2 * HOUR)},
        "P2": {"first_response": Tally(open=1), "next_response": NONE, "resolution": Tally(open=1)},
    }


def test_compliance_is_the_share_of_stopped_clocks_met(desk: SeededDesk) -> None:
    agents = by_name(figures(desk, SYSTEM, "agent"))
    assert [agents[name]["first_response"].compliance for name in ("alex", "bea", None)] == [1.0, 0.0, None]
    assert agents["bea"]["first_response"].as_json() == {
        "met": 0, "breached": 1, "compliance": 0.0, "open": 0, "open_breached": 0, "cancelled": 0,
        "mean_seconds": 5400, "median_seconds": 5400}


def test_an_open_clock_counts_as_breached_once_past_due_even_before_the_sweep_notes_it(desk: SeededDesk) -> None:
    with desk.engine.connect() as connection:
        before = sla_metrics(connection, desk.compiled, SYSTEM, "priority", None, None, berlin(17, 8, 30))
        later = sla_metrics(connection, desk.compiled, SYSTEM, "priority", None, None, berlin(19, 17))
    # At 08:30 on Tuesday D's first response (due 09:00) is still on time; by Thursday evening every promise
    # of C and D has passed.
    assert by_name(before)["P1"]["first_response"].open_breached == 0
    assert [by_name(later)[p][m].open_breached for p in ("P1", "P2") for m in ("first_response", "resolution")] \
        == [1, 1, 1, 1]


def test_since_and_until_select_tickets_by_creation(desk: SeededDesk) -> None:
    tuesday = berlin(17, 0)
    assert by_name(figures(desk, SYSTEM, "policy", since=tuesday)) == {"standard": {
        "first_response": Tally(open=2, open_breached=1), "next_response": NONE, "resolution": Tally(open=2)}}
    monday = by_name(figures(desk, SYSTEM, "policy", until=tuesday))["standard"]
    assert (monday["first_response"].met, monday["first_response"].breached, monday["first_response"].open) == (
        2, 1, 0)
    assert figures(desk, SYSTEM, "policy", since=berlin(18, 0)) == []


def test_an_agent_sees_figures_only_of_the_tickets_they_may_see(desk: SeededDesk) -> None:
    # chen works in customer care: none of these service desk tickets is his.
    chen = desk.agent("chen")
    for group_by in ("policy", "type", "team", "agent", "priority"):
        assert figures(desk, chen, group_by) == []
    assert risks(desk, chen) == []
    # bea is in field service, but B is assigned to her: she sees B and nothing else.
    assert by_name(figures(desk, desk.agent("bea"), "policy")) == {"standard": {
        "first_response": Tally(breached=1, mean_seconds=5400, median_seconds=5400), "next_response": NONE,
        "resolution": Tally(breached=1, mean_seconds=33300, median_seconds=33300)}}
    assert risks(desk, desk.agent("bea")) == []


def test_requesters_get_no_figures(desk: SeededDesk) -> None:
    maria = desk.contact(MARIA)
    with pytest.raises(Forbidden):
        figures(desk, maria, "policy")
    with pytest.raises(Forbidden):
        risks(desk, maria)


def test_the_at_risk_list_shows_running_clocks_soonest_due_first(
        history: tuple[SeededDesk, dict[str, dict[str, Any]]]) -> None:
    desk, tickets = history
    listed = [(item["number"], item["metric"], item["remaining_seconds"], item["due_at"], item["overdue"])
              for item in risks(desk, SYSTEM)]
    c, d = tickets["C"]["number"], tickets["D"]["number"]
    assert listed == [
        (d, "first_response", -3 * HOUR, berlin(17, 9), True),
        (c, "first_response", HOUR, berlin(17, 13, 45), False),
        (d, "resolution", 4 * HOUR, berlin(17, 16, 45), False),
        (c, "resolution", 21 * HOUR, berlin(19, 15, 15), False),
    ]
    assert [item["metric"] for item in risks(desk, desk.agent("alex"), limit=2)] == ["first_response"] * 2
    first = risks(desk, SYSTEM, limit=1)[0]
    assert (first["ticket_id"], first["policy"], first["target_seconds"], first["priority"]) == (
        tickets["D"]["id"], "standard", HOUR, "P1")


@pytest.mark.parametrize(("group_by", "since", "until", "field"), [
    ("status", None, None, "group_by"),
    ("policy", berlin(17, 0), berlin(17, 0), "until"),
    ("policy", berlin(17, 0), berlin(16, 0), "until"),
])
def test_a_bad_grouping_or_window_is_refused(desk: SeededDesk, group_by: str, since: dt.datetime | None,
                                             until: dt.datetime | None, field: str) -> None:
    with pytest.raises(InvalidTicket) as refused:
        figures(desk, SYSTEM, group_by, since, until)
    assert refused.value.errors[0]["field"] == field


@pytest.mark.parametrize("limit", [0, 201])
def test_the_at_risk_limit_is_bounded(desk: SeededDesk, limit: int) -> None:
    with pytest.raises(InvalidTicket):
        risks(desk, SYSTEM, limit)


def test_instants_are_iso_dates_or_times_in_utc_unless_given() -> None:
    assert instant("2026-11-16") == dt.datetime(2026, 11, 16, tzinfo=dt.UTC)
    assert instant("2026-11-16T09:00:00+01:00") == dt.datetime(2026, 11, 16, 8, tzinfo=dt.UTC)
    for bad in ("yesterday", "2026-13-01", "0001-01-01T00:00:00+01:00", "2026-11-16\x00"):
        with pytest.raises(ValueError, match="ISO 8601"):
            instant(bad)
