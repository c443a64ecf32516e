"""Full-text search in ticket lists (``q``), on SQLite (FTS5) and PostgreSQL (tsvector and GIN).

Every test makes tickets with its own invented words, so that the tests can share one seeded desk per database.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from runtime.tickets import listing
from runtime.tickets.actors import Actor
from runtime.tickets.errors import InvalidTicket
from runtime.tickets.listing import ListQuery, Page, list_tickets
from runtime.tickets.relations import TicketRelations
from runtime.tickets.search import MAX_WORDS, matches
from tests.tickets.service_fixtures import SeededDesk, seeded_desk

MARIA = "maria.lopez@northwind.example.org"
AIKO = "aiko.tanaka@example.org"


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory, module_database_url: str) -> SeededDesk:
    return seeded_desk(tmp_path_factory.mktemp("search"), module_database_url)


def ticket(desk: SeededDesk, title: str, description: str = "", requester: str | None = None) -> dict[str, Any]:
    fields: dict[str, Any] = {"title": title, "description": description,
                              "team_id": desk.id_of("teams", "name", "service_desk")}
    if requester:
        fields["requester_id"] = desk.id_of("contacts", "email", requester)
    return desk.service.create(desk.agent("alex"), "it_support", fields)


def search(desk: SeededDesk, text: str, who: Actor | None = None, **query: Any) -> Page:
    with desk.engine.connect() as connection:
        return list_tickets(connection, desk.compiled, who or desk.agent("alex"), ListQuery(text=text, **query))


def found(desk: SeededDesk, text: str, who: Actor | None = None, **query: Any) -> list[str]:
    return [str(t["number"]) for t in search(desk, text, who, **query).items]


def assert_index_matches_the_rows(desk: SeededDesk) -> None:
    """SQLite: FTS5 compares its index with the rows it indexes (a trigger that missed a change fails this).
    PostgreSQL maintains its expression indexes itself."""
    if desk.engine.dialect.name == "sqlite":
        for table in ("fts_tickets", "fts_comments"):
            desk.execute(f"INSERT INTO {table}({table}, rank) VALUES ('integrity-check', 1)")


def test_finds_a_word_of_the_title_the_description_or_a_comment(desk: SeededDesk) -> None:
    in_title = ticket(desk, "Quokka sighting near the printer")
    in_description = ticket(desk, "Printer jam", "A quokka sat on the paper tray.")
    in_comment = ticket(desk, "Printer offline")
    desk.service.comment(desk.agent("alex"), in_comment["id"], "The quokka unplugged it.")
    assert set(found(desk, "quokka")) == {in_title["number"], in_description["number"], in_comment["number"]}
    assert set(found(desk, "QUOKKA")) == set(found(desk, "quokka"))
    assert found(desk, "wallaby") == []


def test_the_last_word_is_a_prefix_the_others_are_whole_words(desk: SeededDesk) -> None:
    plotter = ticket(desk, "Plotterwagon smudges the ink")
    assert found(desk, "plotterwa") == [plotter["number"]]
    assert found(desk, "plotterwa ink") == []
    assert found(desk, "ink plotterwa") == [plotter["number"]]


def test_every_word_must_be_found_in_the_ticket_or_one_of_its_comments(desk: SeededDesk) -> None:
    mixed = ticket(desk, "Heliograph blinks")
    desk.service.comment(desk.agent("alex"), mixed["id"], "Seen from Kilimanjaro.")
    ticket(desk, "Heliograph calibrated")
    assert found(desk, "heliograph kilimanjaro") == [mixed["number"]]
    assert found(desk, "kilimanjaro heliograph blinks") == [mixed["number"]]


def test_diacritics_are_ignored_both_ways(desk: SeededDesk) -> None:
    accented = ticket(desk, "Café Zürichsee machine descaling")
    plain = ticket(desk, "Zurichseeboot engine")
    decomposed = ticket(desk, "Zu\u0308richseeufer fence")  # 'ü' as u + combining diaeresis
    assert set(found(desk, "zurichsee")) == {accented["number"], plain["number"], decomposed["number"]}
    assert set(found(desk, "Zürichsee")) == {accented["number"], plain["number"], decomposed["number"]}
    assert found(desk, "cafe zurichsee machine") == [accented["number"]]


def test_finds_a_ticket_by_its_number(desk: SeededDesk) -> None:
    made = ticket(desk, "Numbered")
    number = str(made["number"])  # IT-000123
    digits = number.split("-")[1]
    assert found(desk, number) == [number]
    assert found(desk, number.lower()) == [number]
    assert found(desk, digits) == [number]


def test_relevance_ranks_title_then_description_then_comment(desk: SeededDesk) -> None:
    in_title = ticket(desk, "Gizmotron broken")
    in_description = ticket(desk, "Sprocket stuck", "Stuck since the gizmotron update of last week, twice.")
    in_comment = ticket(desk, "Sprocket squeaks")
    desk.service.comment(desk.agent("alex"), in_comment["id"], "Probably the gizmotron again.")
    best_first = [in_title["number"], in_description["number"], in_comment["number"]]
    assert found(desk, "gizmotron", sort="relevance") == best_first
    assert found(desk, "gizmotron") == best_first[::-1]  # without sort=relevance, still newest first


def test_relevance_pages_cover_every_match_once(desk: SeededDesk) -> None:
    for index in range(7):
        ticket(desk, f"Flumph {index}", "flumph " * index)
    everything = found(desk, "flumph", sort="relevance", limit=50)
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        page = search(desk, "flumph", sort="relevance", limit=3, cursor=cursor)
        seen += [str(t["number"]) for t in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == everything
    assert len(seen) == page.total == 7


def test_a_comment_added_later_becomes_findable(desk: SeededDesk) -> None:
    later = ticket(desk, "Router blinking")
    assert found(desk, "zanzibarian") == []
    desk.service.comment(desk.agent("alex"), later["id"], "Replaced the zanzibarian adapter.")
    assert found(desk, "zanzibarian") == [later["number"]]
    assert_index_matches_the_rows(desk)


def test_an_edited_title_stops_matching_its_old_words(desk: SeededDesk) -> None:
    edited = ticket(desk, "Marmoset keyboard")
    desk.service.update(desk.agent("alex"), edited["id"], {"version": 1, "title": "Capybara keyboard"})
    assert found(desk, "marmoset") == []
    assert found(desk, "capybara") == [edited["number"]]
    assert_index_matches_the_rows(desk)


def test_a_merged_tickets_comments_are_found_on_the_original(desk: SeededDesk) -> None:
    original = ticket(desk, "Monitor flickers")
    duplicate = ticket(desk, "Lemurscreen flickers too")
    desk.service.comment(desk.agent("alex"), duplicate["id"], "Happens near the okapi statue.")
    version = desk.service.get(desk.agent("alex"), duplicate["id"])["version"]
    TicketRelations(desk.compiled, desk.engine).merge(desk.agent("alex"), duplicate["id"], original["id"], version)
    assert found(desk, "okapi") == [original["number"]]
    assert found(desk, "okapi monitor") == [original["number"]]
    assert found(desk, "lemurscreen") == [duplicate["number"]]  # its own text stays its own
    assert_index_matches_the_rows(desk)


def test_deleted_tickets_and_their_comments_leave_the_index(desk: SeededDesk) -> None:
    gone = ticket(desk, "Narwhal projector")
    desk.service.comment(desk.agent("alex"), gone["id"], "The narwhal lamp is dead.")
    desk.execute(f"DELETE FROM tickets WHERE id = {int(gone['id'])}")  # comments go by ON DELETE CASCADE
    assert found(desk, "narwhal") == []
    assert_index_matches_the_rows(desk)


def test_a_requester_finds_neither_internal_notes_nor_others_tickets(desk: SeededDesk) -> None:
    own = ticket(desk, "Badge reader", "It beeps twice.", requester=MARIA)
    desk.service.comment(desk.agent("alex"), own["id"], "Supplier is Wombatronics, do not tell.", public=False)
    desk.service.comment(desk.agent("alex"), own["id"], "Ordered from Pangolin Ltd.")
    theirs = ticket(desk, "Pangolin badge", requester=AIKO)
    maria = desk.contact(MARIA)
    assert found(desk, "wombatronics") == [own["number"]]  # agents search internal notes
    assert found(desk, "wombatronics", maria) == []
    assert found(desk, "badge wombatronics", maria) == []
    assert search(desk, "wombatronics", maria).total == 0
    assert found(desk, "pangolin", maria) == [own["number"]]
    assert set(found(desk, "pangolin")) == {own["number"], theirs["number"]}
    assert found(desk, "pangolin", desk.contact(AIKO)) == [theirs["number"]]


HOSTILE = ['"', "'", '"unbalanced', "a'b", "(", ")", "((a)", "AND", "OR", "NOT", "a AND", "OR b", "NEAR(a b)",
           "a NEAR/2 b", "*", "a*", "*a", "-", "-a", "a -b", "^a", "title:a", "{title}: a", "a:*", "!a", "a & b",
           "a | b", "a <-> b", "\\", "a\\", "%", "_", "' OR 1=1 --", "\u200b", "🙂", "x" * 2000,
           " ".join(["w"] * 2000), "-- ;", "a\u0301"]


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_text_is_only_words_to_look_for(desk: SeededDesk, text: str) -> None:
    for sort in ("-created_at", "relevance"):
        page = search(desk, text, sort=sort)
        assert page.total == len(page.items)


def test_text_with_a_nul_character_is_refused(desk: SeededDesk) -> None:
    with pytest.raises(InvalidTicket) as caught:
        search(desk, "printer\x00")
    assert caught.value.errors[0]["field"] == "q"


def test_more_words_than_a_search_box_takes_are_refused(desk: SeededDesk) -> None:
    with pytest.raises(InvalidTicket) as caught:
        search(desk, " ".join(f"w{i}" for i in range(MAX_WORDS + 1)))
    assert caught.value.errors[0]["field"] == "q"
    assert search(desk, " ".join(f"w{i}" for i in range(MAX_WORDS))).total == 0


def test_text_without_words_matches_nothing_and_blank_text_filters_nothing(desk: SeededDesk) -> None:
    assert search(desk, '"*" -- ()').total == 0
    assert search(desk, "   ").total == search(desk, "").total > 0


def test_relevance_needs_a_search(desk: SeededDesk) -> None:
    for text, sort in (("", "relevance"), ("\t\n ", "relevance"), ("", "-relevance")):
        with pytest.raises(InvalidTicket) as caught:
            search(desk, text, sort=sort)
        assert caught.value.errors[0]["field"] == "sort"
    with pytest.raises(InvalidTicket):
        search(desk, "printer", sort="-relevance")


def test_a_relevance_cursor_is_checked(desk: SeededDesk) -> None:
    for bad in (listing.encode_cursor("x", 1), listing.encode_cursor(float("inf"), 1), "garbage",
                listing.encode_cursor(True, 1)):
        with pytest.raises(InvalidTicket) as caught:
            search(desk, "printer", sort="relevance", cursor=bad)
        assert caught.value.errors[0]["field"] == "cursor"


def test_counts_of_searches_are_exact_below_the_cap_and_cached_per_text(desk: SeededDesk,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    for index in range(3):
        ticket(desk, f"Axolotl tank {index}")
    ticket(desk, "Axolotl food")
    assert search(desk, "axolotl").total == 4
    assert search(desk, "axolotl tank").total == 3
    monkeypatch.setattr(listing, "COUNT_LIMIT", 3)
    capped = search(desk, "axolotl")
    assert (capped.total, capped.total_is_estimate) == (3, True)
    exact = search(desk, "axolotl food")  # another text: not the capped count of the first
    assert (exact.total, exact.total_is_estimate) == (1, False)


def test_searches_answer_from_the_full_text_indexes(desk: SeededDesk) -> None:
    dialect = desk.engine.dialect.name
    subquery = matches(desk.compiled, desk.agent("alex"), "quokka printer", dialect)
    assert subquery is not None
    with desk.engine.connect() as connection:
        statement = sa.select(subquery).compile(connection, compile_kwargs={"literal_binds": True})
        if dialect == "postgresql":
            connection.exec_driver_sql("SET enable_seqscan = off")  # the tables are too small to need an index
            plan = "\n".join(row[0] for row in connection.exec_driver_sql(f"EXPLAIN {statement}"))
            # The query's document expression must be the indexed one, character for character, or this fails.
            assert "Bitmap Index Scan on fts_tickets" in plan
            assert "Bitmap Index Scan on fts_comments" in plan
        else:
            plan = "\n".join(row[-1] for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}"))
            assert "SCAN fts_tickets VIRTUAL TABLE INDEX" in plan
            assert "SCAN fts_comments VIRTUAL TABLE INDEX" in plan
