"""``cli.py ai eval`` and ``cli.py ai train`` on a slice of BANKING77 (PolyAI, CC-BY-4.0; see banking77_slice.csv):
a cross-validated report, a model file that answers, and bad input refused with exit code 2."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import cli
from runtime.ai.classifier import TextClassifier

SLICE = Path(__file__).parent / "banking77_slice.csv"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(["ai", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_eval_prints_a_cross_validated_report(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "eval", "--data", str(SLICE), "--label-col", "category", "--folds", "3")
    assert code == 0
    assert out.splitlines()[:2] == [f"320 texts, 8 labels, from {SLICE} (classifier lean)", "3-fold cross-validation"]
    accuracy = re.search(r"^accuracy\s+([\d.]+) %", out, re.MULTILINE)
    assert accuracy is not None
    assert float(accuracy[1]) > 80  # eight distinct intents; a model that learned nothing scores about 12 %


def test_train_writes_a_model_that_answers(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out_file = tmp_path / "model.npz"
    code, out, _ = run(capsys, "train", "--data", str(SLICE), "--label-col", "category", "--out", str(out_file))
    assert code == 0
    assert out.startswith("trained on 320 texts, 8 labels in ")
    model = TextClassifier.load(out_file)
    [answer] = model.predict(["My new card still has not arrived, it has been two weeks"])
    assert answer.label == "card_arrival"


@pytest.mark.parametrize(("args", "reason"), [
    (["--data", "missing.csv", "--label-col", "category"], "no such file"),
    (["--data", str(SLICE), "--label-col", "intent"], "no column intent"),
    (["--data", str(SLICE), "--label-col", "category", "--folds", "100"], "the rarest label has only 40 rows"),
])
def test_bad_input_is_refused_with_the_reason(capsys: pytest.CaptureFixture[str], args: list[str],
                                              reason: str) -> None:
    code, out, err = run(capsys, "eval", *args)
    assert (code, out) == (2, "")
    assert reason in err
