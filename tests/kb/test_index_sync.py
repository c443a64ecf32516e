"""The index in a running desk: one per process and database, searched from many threads while articles change,
and not fooled by a change that commits after a later one was already seen (PostgreSQL hands out ids first)."""

from __future__ import annotations

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from runtime.kb.index import index_for
from tests.kb.index_fixtures import KbDesk, kb_desk


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory, module_database_url: str) -> KbDesk:
    return kb_desk(tmp_path_factory.mktemp("kb"), module_database_url)


@pytest.fixture
def desk(shared: KbDesk) -> KbDesk:
    shared.clear()
    return shared


def test_one_index_per_desk_and_database(desk: KbDesk) -> None:
    assert index_for(desk.compiled, desk.engine) is index_for(desk.compiled, desk.engine)


def test_searches_from_many_threads_while_articles_are_written(desk: KbDesk) -> None:
    index = desk.index()
    index.rebuild()
    stop = threading.Event()

    def searcher() -> int:
        done = 0
        while not stop.is_set() or done < 5:
            for hit in index.search("wifi drops", k=3):
                assert hit.passage
            done += 1
        return done

    with ThreadPoolExecutor(4) as pool:
        running = [pool.submit(searcher) for _ in range(4)]
        written = [desk.insert(f"Wifi drops on floor {n}", "The wifi drops.", f"Restart access point {n}.")
                   for n in range(12)]
        stop.set()
        assert all(future.result() >= 5 for future in running)
    assert sorted(h.article_id for h in index.search("wifi drops", k=20)) == written


def test_a_change_committed_after_a_later_one_was_seen_is_still_replayed(desk: KbDesk) -> None:
    index = desk.index()
    index.rebuild()
    first = desk.insert("Printer offline", "The printer shows offline.", "Turn it off and on.")
    a, c = desk.compiled.table("kb_articles"), desk.compiled.table("kb_changes")
    now = dt.datetime.now(dt.UTC)
    with desk.engine.connect() as connection:
        latest = int(connection.execute(sa.select(sa.func.max(c.c.id))).scalar_one())

    def write(change_id: int, title: str) -> None:
        # Explicit change ids, as two transactions that took their ids in one order and committed in the other.
        with desk.engine.begin() as connection:
            article_id = connection.execute(sa.insert(a).values(
                title=title, problem=title, solution="", language="en", status="published", visibility="public",
                keywords=[], version=1, created_at=now, updated_at=now).returning(a.c.id)).scalar_one()
            connection.execute(sa.insert(c).values(id=change_id, article_id=article_id, changed_at=now))

    write(latest + 2, "Scanner jams")
    assert {h.article_id for h in index.search("printer scanner")} == {first, first + 1}
    # The index has now seen change latest + 2 and not latest + 1, which commits only now.
    write(latest + 1, "Plotter jams")
    assert len(index.search("plotter")) == 1
